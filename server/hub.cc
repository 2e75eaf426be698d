// hub.cc — one serialisation per audience per commit; catch-up in bounded batches.
#include "server/hub.h"

#include <boost/asio/post.hpp>
#include <iterator>

#include "store/store.h"
#include "sync/server_rules.h"

namespace returns::server {
namespace {

using store::to_stored;

Frame shared(std::optional<std::string>&& frame) {
  if (!frame) return nullptr;
  return std::make_shared<const std::string>(std::move(*frame));
}

}  // namespace

// One page of committed events with what the frames need from the store, read on the writer
// thread; the frames themselves are built on the I/O thread (Hub::broadcast).
struct Hub::Page {
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::vector<sync::StoredEvent> events;
  std::map<std::string, Millis> horizons;  // buyer id → lead horizon
};

Hub::Hub(boost::asio::io_context& ioc, store::Store& store, store::GroupWriter& writer,
         const Clock& clock, Metrics& metrics)
    : ioc_(ioc), store_(store), writer_(writer), clock_(clock), metrics_(metrics) {
  broadcast_head_ = store_.head_version();
  metrics_.head_version = broadcast_head_;
  store_.capture_written_events(true);
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
  const Buyer* b = store.find_buyer(buyer_id);
  return sync::lead_horizon(b != nullptr ? b->policy : default_policy(), clock_.now_ms());
}

void Hub::on_commit(std::int64_t head) {
  std::vector<store::Event> written = store_.take_written_events();
  if (head <= broadcast_head_) return;
  std::vector<sync::StoredEvent> events;
  if (auto run = sync::committed_run(to_stored(std::move(written)), broadcast_head_, head)) {
    events = std::move(*run);
  } else {
    for (std::int64_t at = broadcast_head_; at < head;) {
      std::vector<sync::StoredEvent> more =
          to_stored(store_.events_since(at, static_cast<std::size_t>(head - at)));
      if (more.empty()) break;
      at = more.back().version;
      for (sync::StoredEvent& e : more) events.push_back(std::move(e));
    }
  }
  // Pages of at most kLivePage events, each one broadcast.
  for (std::size_t first = 0; first < events.size(); first += sync::kLivePage) {
    const std::size_t last = std::min(events.size(), first + sync::kLivePage);
    auto page = std::make_shared<Page>();
    page->from = broadcast_head_;
    page->to = events[last - 1].version;
    page->events.assign(
        std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(first)),
        std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(last)));
    for (const sync::StoredEvent& e : page->events) {
      if (!e.buyer_id.empty() && !page->horizons.count(e.buyer_id)) {
        page->horizons[e.buyer_id] = lead_horizon(store_, e.buyer_id);
      }
    }
    broadcast_head_ = page->to;
    metrics_.head_version = broadcast_head_;
    boost::asio::post(ioc_, [this, page] { broadcast(*page); });
  }
}

// I/O thread: one frame per audience, then every session picks its own.
void Hub::broadcast(const Page& page) {
  Broadcast b;
  b.from = page.from;
  b.to = page.to;
  std::vector<const sync::StoredEvent*> all;
  std::map<std::string, std::vector<const sync::StoredEvent*>> by_buyer;
  all.reserve(page.events.size());
  for (const sync::StoredEvent& e : page.events) {
    all.push_back(&e);
    if (!e.buyer_id.empty()) by_buyer[e.buyer_id].push_back(&e);
    if (e.entity == "alert") {
      if (Result<Json> alert = parse_json(e.data); alert.ok()) {
        b.alerts.push_back(std::make_shared<const std::string>(sync::encode_alert(*alert)));
      }
    }
  }
  sync::Principal op;
  op.role = Role::operator_;
  b.operators = shared(sync::changes_frame(all, op, b.from, b.to));
  for (const auto& [buyer, events] : by_buyer) {
    sync::Principal p;
    p.role = Role::buyer;
    p.buyer_id = buyer;
    p.lead_horizon = page.horizons.at(buyer);
    if (Frame f = shared(sync::changes_frame(events, p, b.from, b.to))) b.buyers[buyer] = f;
  }
  for (auto& [ptr, weak] : weak_) {
    if (auto s = weak.lock()) s->on_broadcast(b);
  }
}

bool Hub::catch_up(sync::Principal principal, std::int64_t cursor,
                   std::function<void(CatchUp)> done) {
  return writer_.post([this, principal, cursor,
                       done = std::move(done)](store::Store& store) mutable {
    auto out = std::make_shared<CatchUp>();
    auto events = std::make_shared<std::vector<sync::StoredEvent>>();
    const std::int64_t head = store.head_version();
    if (sync::cursor_needs_reset(cursor, head, store.min_version())) {
      out->reset = true;
    } else {
      if (principal.role == Role::buyer) {
        // Only the buyer's own events can be visible to them: read those (an index).
        principal.lead_horizon = lead_horizon(store, principal.buyer_id);
        *events =
            to_stored(store.buyer_events_since(principal.buyer_id, cursor, sync::kCatchUpBatch));
      } else {
        *events = to_stored(store.events_since(cursor, sync::kCatchUpBatch));
      }
      const sync::CatchUpPage page =
          sync::catch_up_page(events->size(), events->empty() ? cursor : events->back().version,
                              head, sync::kCatchUpBatch);
      out->to = page.to;
      out->done = page.done;
    }
    // The frame is built on the I/O thread; the writer goes on with the next batch.
    boost::asio::post(ioc_, [done = std::move(done), out, events, principal, cursor]() mutable {
      if (!out->reset)
        out->frame = shared(sync::changes_frame(*events, principal, cursor, out->to));
      done(std::move(*out));
    });
  });
}

bool Hub::with_store(std::function<void(store::Store&)> job, std::function<void()> done) {
  return writer_.post([this, job = std::move(job), done = std::move(done)](store::Store& s) {
    job(s);
    if (done) boost::asio::post(ioc_, done);
  });
}

}  // namespace returns::server
