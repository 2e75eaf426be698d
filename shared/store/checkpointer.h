// checkpointer.h — WAL checkpoints off the writer's thread. SQLite's automatic checkpoint runs
// inside the COMMIT that crosses its threshold, so the single writer (and every op waiting behind
// it) pays for copying pages into the database file and its fsync. The checkpointer turns that
// off on the writer's connection, listens to its commits (sqlite3_wal_hook) and runs a PASSIVE
// checkpoint on its own connection and thread once the WAL holds `threshold_frames` frames.
// PASSIVE never blocks the writer: pages still in use by a reader stay in the WAL for the next
// round, and the WAL restarts from its beginning once a checkpoint has copied everything.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"
#include "store/sqlite_db.h"

namespace returns::store {

class Checkpointer {
 public:
  struct Stats {
    std::uint64_t checkpoints = 0;
    std::uint64_t frames_copied = 0;
    std::uint64_t failures = 0;
  };

  // One checkpoint on the checkpointer's own connection: an SQLite result code, the WAL's size
  // and the frames copied (as sqlite3_wal_checkpoint_v2). The default is a PASSIVE checkpoint;
  // tests put in one that fails, to see failures counted and the next round go on.
  using CheckpointFn = std::function<int(Database& own, int* log_frames, int* copied)>;

  // `writer` is the connection that commits (the Store's); `path` its database file, opened
  // again here. The writer's hook is removed again by the destructor.
  static Result<std::unique_ptr<Checkpointer>> start(Database& writer, const std::string& path,
                                                     int threshold_frames = 1000,
                                                     CheckpointFn checkpoint = {});
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  Stats stats() const;
  // Blocks until `rounds` checkpoints have been tried since start (succeeded or failed).
  Stats wait_for_rounds(std::uint64_t rounds) const;

 private:
  Checkpointer(Database& writer, std::unique_ptr<Database> own, int threshold_frames,
               CheckpointFn checkpoint);
  static int on_wal_commit(void* self, struct sqlite3* db, const char* name, int frames);
  void run();

  Database& writer_;
  std::unique_ptr<Database> own_;
  int threshold_;
  CheckpointFn checkpoint_;
  mutable std::mutex mu_;
  std::condition_variable cv_;               // work wanted, or stop
  mutable std::condition_variable done_cv_;  // a round ended
  bool wanted_ = false;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace returns::store
