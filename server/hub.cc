// hub.cc — one serialisation per audience per commit; catch-up in bounded batches.
#include "server/hub.h"

#include <boost/asio/post.hpp>

#include "sync/server_rules.h"

namespace returns::server {
namespace {

// The events with their rows parsed once, for every audience of a page.
std::vector<sync::StoredEvent> parse_rows(std::vector<store::Event>&& events) {
  std::vector<sync::StoredEvent> out;
  out.reserve(events.size());
  for (store::Event& e : events) {
    Result<Json> j = parse_json(e.data);
    out.push_back(sync::StoredEvent{e.version, std::move(e.entity), std::move(e.entity_id),
                                    std::move(e.buyer_id),
                                    j.ok() ? std::move(j).value() : Json::object(), e.deleted});
  }
  return out;
}

// The changes frame one principal may see (the rule lives in sync/server_rules.h), shared.
Frame shared_changes_frame(const std::vector<sync::StoredEvent>& events,
                           const sync::Principal& principal, std::int64_t from, std::int64_t to) {
  std::optional<std::string> frame = sync::changes_frame(events, principal, from, to);
  if (!frame) return nullptr;
  return std::make_shared<const std::string>(std::move(*frame));
}

}  // namespace

Hub::Hub(boost::asio::io_context& ioc, store::Store& store, store::GroupWriter& writer,
         const Clock& clock, Metrics& metrics)
    : ioc_(ioc), store_(store), writer_(writer), clock_(clock), metrics_(metrics) {
  broadcast_head_ = store_.head_version();
  metrics_.head_version = broadcast_head_;
}

void Hub::join(const std::shared_ptr<SyncSubscriber>& session) {
  sessions_.insert(session.get());
  weak_[session.get()] = session;
  ++metrics_.connections;
  ++metrics_.connections_total;
}

void Hub::leave(SyncSubscriber* session) {
  if (sessions_.erase(session) > 0) --metrics_.connections;
  weak_.erase(session);
}

void Hub::close_all() {
  for (auto& [ptr, weak] : weak_) {
    if (auto s = weak.lock()) s->close_gracefully();
  }
}

Millis Hub::lead_horizon(store::Store& store, const std::string& buyer_id) const {
  const Buyer* b = store.view().find_buyer(buyer_id);
  return sync::lead_horizon(b != nullptr ? b->policy : default_policy(), clock_.now_ms());
}

void Hub::on_commit(std::int64_t head) {
  if (head <= broadcast_head_) return;
  // Drain everything new in pages; each page is one broadcast.
  while (broadcast_head_ < head) {
    const std::vector<sync::StoredEvent> events =
        parse_rows(store_.events_since(broadcast_head_, sync::kLivePage));
    if (events.empty()) break;
    auto b = std::make_shared<Broadcast>();
    b->from = broadcast_head_;
    b->to = events.back().version;
    sync::Principal op;
    op.role = Role::operator_;
    b->operators = shared_changes_frame(events, op, b->from, b->to);
    std::set<std::string> buyers;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (!events[i].buyer_id.empty()) buyers.insert(events[i].buyer_id);
      if (events[i].entity == "alert") {
        b->alerts.push_back(
            std::make_shared<const std::string>(sync::encode_alert(events[i].data)));
      }
    }
    for (const std::string& buyer : buyers) {
      sync::Principal p;
      p.role = Role::buyer;
      p.buyer_id = buyer;
      p.lead_horizon = lead_horizon(store_, buyer);
      if (Frame f = shared_changes_frame(events, p, b->from, b->to)) b->buyers[buyer] = f;
    }
    broadcast_head_ = b->to;
    metrics_.head_version = broadcast_head_;
    boost::asio::post(ioc_, [this, b] {
      for (auto& [ptr, weak] : weak_) {
        if (auto s = weak.lock()) s->on_broadcast(*b);
      }
    });
  }
}

bool Hub::catch_up(sync::Principal principal, std::int64_t cursor,
                   std::function<void(CatchUp)> done) {
  return writer_.post([this, principal, cursor,
                       done = std::move(done)](store::Store& store) mutable {
    CatchUp out;
    const std::int64_t head = store.head_version();
    if (sync::cursor_needs_reset(cursor, head, store.min_version())) {
      out.reset = true;
    } else {
      if (principal.role == Role::buyer)
        principal.lead_horizon = lead_horizon(store, principal.buyer_id);
      const std::vector<sync::StoredEvent> events =
          parse_rows(store.events_since(cursor, sync::kCatchUpBatch));
      out.to = events.empty() ? cursor : events.back().version;
      out.frame = shared_changes_frame(events, principal, cursor, out.to);
      out.done = events.size() < sync::kCatchUpBatch || out.to >= head;
    }
    boost::asio::post(
        ioc_, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
  });
}

bool Hub::with_store(std::function<void(store::Store&)> job, std::function<void()> done) {
  return writer_.post([this, job = std::move(job), done = std::move(done)](store::Store& s) {
    job(s);
    if (done) boost::asio::post(ioc_, done);
  });
}

}  // namespace returns::server
