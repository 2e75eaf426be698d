// hub.cc — one serialisation per audience per commit; catch-up in bounded batches.
#include "server/hub.h"

#include <boost/asio/post.hpp>

namespace returns::server {
namespace {

// Builds the changes frame one principal may see from `events`, or null when nothing is visible.
Frame changes_frame(const std::vector<store::Event>& events, const std::vector<Json>& rows,
                    const sync::Principal& principal, std::int64_t from, std::int64_t to) {
  sync::Changes c;
  c.from = from;
  c.to = to;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const store::Event& e = events[i];
    sync::EventView view{e.entity, e.entity_id, e.buyer_id, &rows[i], e.deleted};
    if (auto row = sync::visible_row(view, principal)) {
      c.items.push_back(sync::ChangeItem{e.version, e.entity, e.entity_id, std::move(*row)});
    }
  }
  if (c.items.empty()) return nullptr;
  return std::make_shared<const std::string>(sync::encode_changes(c));
}

std::vector<Json> parse_rows(const std::vector<store::Event>& events) {
  std::vector<Json> rows;
  rows.reserve(events.size());
  for (const store::Event& e : events) {
    Result<Json> j = parse_json(e.data);
    rows.push_back(j.ok() ? std::move(j).value() : Json::object());
  }
  return rows;
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
  const int window = b != nullptr ? b->policy.window_hours : default_policy().window_hours;
  return clock_.now_ms() - window * kMillisPerHour;
}

void Hub::on_commit(std::int64_t head) {
  if (head <= broadcast_head_) return;
  // Drain everything new in pages; each page is one broadcast.
  while (broadcast_head_ < head) {
    std::vector<store::Event> events = store_.events_since(broadcast_head_, 2000);
    if (events.empty()) break;
    const std::vector<Json> rows = parse_rows(events);
    auto b = std::make_shared<Broadcast>();
    b->from = broadcast_head_;
    b->to = events.back().version;
    sync::Principal op;
    op.role = Role::operator_;
    b->operators = changes_frame(events, rows, op, b->from, b->to);
    std::set<std::string> buyers;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (!events[i].buyer_id.empty()) buyers.insert(events[i].buyer_id);
      if (events[i].entity == "alert") {
        b->alerts.push_back(std::make_shared<const std::string>(sync::encode_alert(rows[i])));
      }
    }
    for (const std::string& buyer : buyers) {
      sync::Principal p;
      p.role = Role::buyer;
      p.buyer_id = buyer;
      p.lead_horizon = lead_horizon(store_, buyer);
      if (Frame f = changes_frame(events, rows, p, b->from, b->to)) b->buyers[buyer] = f;
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
    // Cursor 0 means "from scratch": whatever the log holds is the whole state (a compaction
    // keeps the latest row of every entity), so it never resets — else a reset would loop.
    if (cursor > head || (cursor != 0 && cursor < store.min_version())) {
      out.reset = true;
    } else {
      if (principal.role == Role::buyer)
        principal.lead_horizon = lead_horizon(store, principal.buyer_id);
      std::vector<store::Event> events = store.events_since(cursor, kCatchUpBatch);
      const std::vector<Json> rows = parse_rows(events);
      out.to = events.empty() ? cursor : events.back().version;
      out.frame = changes_frame(events, rows, principal, cursor, out.to);
      out.done = events.size() < kCatchUpBatch || out.to >= head;
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
