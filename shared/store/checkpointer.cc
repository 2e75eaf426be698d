// checkpointer.cc — a thread that checkpoints the WAL when the writer's commits have grown it.
#include "store/checkpointer.h"

#include <sqlite3.h>

namespace returns::store {

namespace {

int passive_checkpoint(Database& own, int* log_frames, int* copied) {
  return sqlite3_wal_checkpoint_v2(own.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, log_frames,
                                   copied);
}

}  // namespace

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(Database& writer, const std::string& path,
                                                          int threshold_frames,
                                                          CheckpointFn checkpoint) {
  Result<std::unique_ptr<Database>> own = Database::open(path, Database::Sync::full);
  if (!own.ok()) return own.error();
  if (!checkpoint) checkpoint = passive_checkpoint;
  return std::unique_ptr<Checkpointer>(
      new Checkpointer(writer, std::move(own).value(), threshold_frames, std::move(checkpoint)));
}

Checkpointer::Checkpointer(Database& writer, std::unique_ptr<Database> own, int threshold_frames,
                           CheckpointFn checkpoint)
    : writer_(writer),
      own_(std::move(own)),
      threshold_(threshold_frames),
      checkpoint_(std::move(checkpoint)) {
  // Replaces SQLite's automatic checkpoint (itself a WAL hook) on the writer's connection.
  sqlite3_wal_hook(writer_.handle(), &Checkpointer::on_wal_commit, this);
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_autocheckpoint(writer_.handle(), 1000);  // back to SQLite's own
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

// On the writer's thread, after each commit, with the WAL's size in frames.
int Checkpointer::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  if (frames < c->threshold_) return SQLITE_OK;
  {
    std::lock_guard<std::mutex> lock(c->mu_);
    c->wanted_ = true;
  }
  c->cv_.notify_one();
  return SQLITE_OK;
}

void Checkpointer::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
    }
    int log_frames = 0;
    int copied = 0;
    const int rc = checkpoint_(*own_, &log_frames, &copied);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (rc == SQLITE_OK) {
        ++stats_.checkpoints;
        stats_.frames_copied += static_cast<std::uint64_t>(copied > 0 ? copied : 0);
      } else {
        ++stats_.failures;  // SQLITE_BUSY at worst: the next commit over the threshold retries
      }
    }
    done_cv_.notify_all();
  }
}

Checkpointer::Stats Checkpointer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Checkpointer::Stats Checkpointer::wait_for_rounds(std::uint64_t rounds) const {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return stats_.checkpoints + stats_.failures >= rounds; });
  return stats_;
}

}  // namespace returns::store
