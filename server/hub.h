// hub.h — fan-out between the writer and the sync sessions. After every commit the writer thread
// takes the events it has just written (read back from the log only when they do not add up)
// and posts them to the I/O thread, which builds one immutable frame per audience (all operators
// share one, each buyer gets one of their own rows) and hands it to every session of that
// audience. Catch-up reads also run on the writer thread and post their events the same way, so
// they are ordered with the broadcasts and a session never misses or repeats a change; building
// frames on the I/O thread keeps the writer (the one thread every op waits for) on SQLite work.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/clock.h"
#include "server/metrics.h"
#include "store/group_writer.h"
#include "sync/protocol.h"

namespace returns::server {

using Frame = std::shared_ptr<const std::string>;

// One commit's worth of frames, per audience.
struct Broadcast {
  std::int64_t from = 0;
  std::int64_t to = 0;
  Frame operators;                      // changes for operators (null when nothing)
  std::map<std::string, Frame> buyers;  // buyer id -> that buyer's changes
  std::vector<Frame> alerts;            // alert frames for operators
};

// A sync session as the hub sees it, whatever its transport (SyncSession<Stream>). I/O thread.
class SyncSubscriber {
 public:
  virtual ~SyncSubscriber() = default;
  // A commit's frames; the session picks its audience's.
  virtual void on_broadcast(const Broadcast& b) = 0;
  // Finish what is queued, then close normally (shutdown).
  virtual void close_gracefully() = 0;
};

// What a catch-up read found for one session.
struct CatchUp {
  bool reset = false;   // the cursor is unknown or compacted away
  std::int64_t to = 0;  // the cursor after `frame`
  Frame frame;          // changes (null when no visible items)
  bool done = false;    // reached the head: send synced, go live
};

class Hub {
 public:
  Hub(boost::asio::io_context& ioc, store::Store& store, store::GroupWriter& writer,
      const Clock& clock, Metrics& metrics);

  // I/O thread.
  void join(const std::shared_ptr<SyncSubscriber>& session);
  void leave(SyncSubscriber* session);
  void close_all();  // graceful shutdown: every session closes after its queue drains
  std::size_t session_count() const { return sessions_.size(); }

  // Runs on the writer thread after each commit (GroupWriter::set_on_commit).
  void on_commit(std::int64_t head);

  // Reads up to one batch after `cursor` for `principal` on the writer thread, then calls `done`
  // on the I/O thread. False when the writer has stopped.
  bool catch_up(sync::Principal principal, std::int64_t cursor, std::function<void(CatchUp)> done);

  // Runs `job` on the writer thread, then `done` on the I/O thread.
  bool with_store(std::function<void(store::Store&)> job, std::function<void()> done = {});

  // A buyer's horizon for leads: now minus their return window (writer thread).
  Millis lead_horizon(store::Store& store, const std::string& buyer_id) const;

  store::GroupWriter& writer() { return writer_; }
  const Clock& clock() const { return clock_; }
  Metrics& metrics() { return metrics_; }

 private:
  struct Page;
  void broadcast(const Page& page);  // I/O thread

  boost::asio::io_context& ioc_;
  store::Store& store_;
  store::GroupWriter& writer_;
  const Clock& clock_;
  Metrics& metrics_;
  std::set<SyncSubscriber*> sessions_;                             // I/O thread only
  std::map<SyncSubscriber*, std::weak_ptr<SyncSubscriber>> weak_;  // I/O thread only
  std::int64_t broadcast_head_ = 0;                                // writer thread only
};

}  // namespace returns::server
