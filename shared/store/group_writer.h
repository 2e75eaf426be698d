// group_writer.h — the single writer (docs/server.md). Ops from every connection queue up; one
// thread takes as many as are waiting (up to a batch limit), applies them in one SQLite transaction
// (group commit), and only then runs each op's completion. Native only (it owns a thread).
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace returns::store {

class GroupWriter {
 public:
  // Runs on the writer thread after the op's transaction committed (or failed as a whole).
  using Completion = std::function<void(const Result<OpResult>&)>;
  // Runs on the writer thread with exclusive use of the store (ingest, spike detection, reads).
  using Job = std::function<void(Store&)>;

  struct Options {
    std::size_t max_batch = 1024;     // ops per transaction at most
    std::size_t max_queue = 100'000;  // submit() refuses beyond this (back-pressure)
  };

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t ops = 0;
    std::uint64_t failed_batches = 0;
    std::size_t largest_batch = 0;
    std::size_t queue_depth = 0;
    // Commit latency histogram: counts of batches at or under each bound (ms), cumulative.
    static constexpr std::array<double, 8> kLatencyBoundsMs = {0.5, 1, 2, 5, 10, 25, 100, 1000};
    std::array<std::uint64_t, 8> latency_le{};
    std::uint64_t latency_count = 0;
    double latency_sum_ms = 0;
    // Batch size histogram: batches with size at or under each bound, cumulative.
    static constexpr std::array<double, 6> kBatchBounds = {1, 4, 16, 64, 256, 1024};
    std::array<std::uint64_t, 6> batch_le{};
  };

  GroupWriter(Store& store, const Clock& clock, Options options);
  GroupWriter(Store& store, const Clock& clock) : GroupWriter(store, clock, Options{}) {}
  ~GroupWriter();  // stop(): drains what is queued, then joins
  GroupWriter(const GroupWriter&) = delete;
  GroupWriter& operator=(const GroupWriter&) = delete;

  // Queues one op. False when the queue is full or the writer has stopped; `done` is not called.
  bool submit(OpRequest op, Completion done);
  // Queues a job that runs alone between batches. False when stopped.
  bool post(Job job);
  // Called on the writer thread after every committed batch with the event-log head.
  void set_on_commit(std::function<void(std::int64_t head)> hook);

  // Stops accepting, finishes and commits everything queued, answers it, joins the thread.
  void stop();
  Stats stats() const;

 private:
  struct Pending {
    OpRequest op;
    Completion done;
  };
  void run();

  Store& store_;
  const Clock& clock_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> ops_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::function<void(std::int64_t)> on_commit_;
  Stats stats_;
  std::thread thread_;
};

}  // namespace returns::store
