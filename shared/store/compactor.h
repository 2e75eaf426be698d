// compactor.h — log compaction (store/compaction.h) on a schedule, off the writer: a thread of
// its own reads the log on its own connection and lists the superseded events; the writer then
// drops them in small transactions queued between op batches, so no batch waits long for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"
#include "store/group_writer.h"
#include "store/sqlite_db.h"

namespace returns::store {

class Compactor {
 public:
  struct Stats {
    std::uint64_t runs = 0;
    std::uint64_t scanned = 0;  // events read, summed over runs
    std::uint64_t dropped = 0;  // events dropped, summed over runs
    std::uint64_t failures = 0;
  };
  static constexpr std::size_t kChunk = 2000;  // versions dropped per writer transaction

  // `path` is the store's file, opened again here. Every `every` (zero: never on its own; run
  // with run_once) the thread runs one round. The writer must outlive the compactor.
  static Result<std::unique_ptr<Compactor>> start(GroupWriter& writer, const std::string& path,
                                                  std::chrono::milliseconds every);
  ~Compactor();
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // One round on the calling thread: plan, then drop through the writer, waiting for each chunk.
  // The number of events dropped.
  Result<std::int64_t> run_once();
  Stats stats() const;

 private:
  Compactor(GroupWriter& writer, std::unique_ptr<Database> own, std::chrono::milliseconds every);
  void run();

  GroupWriter& writer_;
  std::unique_ptr<Database> own_;
  std::chrono::milliseconds every_;
  std::mutex round_mu_;  // one round at a time (the thread's or a caller's)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace returns::store
