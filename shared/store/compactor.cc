// compactor.cc — see compactor.h.
#include "store/compactor.h"

#include <future>
#include <span>

#include "store/compaction.h"
#include "store/store.h"

namespace returns::store {

Result<std::unique_ptr<Compactor>> Compactor::start(GroupWriter& writer, const std::string& path,
                                                    std::chrono::milliseconds every) {
  Result<std::unique_ptr<Database>> own = Database::open(path, Database::Sync::normal);
  if (!own.ok()) return own.error();
  return std::unique_ptr<Compactor>(new Compactor(writer, std::move(own).value(), every));
}

Compactor::Compactor(GroupWriter& writer, std::unique_ptr<Database> own,
                     std::chrono::milliseconds every)
    : writer_(writer), own_(std::move(own)), every_(every) {
  if (every_.count() > 0) thread_ = std::thread([this] { run(); });
}

Compactor::~Compactor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::int64_t> Compactor::run_once() {
  std::lock_guard<std::mutex> round(round_mu_);
  Result<CompactionPlan> plan = plan_compaction(*own_);
  std::int64_t dropped = 0;
  Status failed = Status::Ok();
  if (plan.ok()) {
    const std::span<const std::int64_t> all(plan->superseded);
    for (std::size_t at = 0; at < all.size() && failed.ok(); at += kChunk) {
      const auto chunk = all.subspan(at, std::min(kChunk, all.size() - at));
      std::promise<Result<std::int64_t>> done;
      std::future<Result<std::int64_t>> result = done.get_future();
      const bool queued = writer_.post(
          [chunk, &done](Store& store) { done.set_value(drop_events(store.db(), chunk)); });
      if (!queued) {
        failed = make_error(ErrorCode::INTERNAL, "", "The writer is stopping.");
        break;
      }
      Result<std::int64_t> n = result.get();
      if (n.ok()) {
        dropped += *n;
      } else {
        failed = n.error();
      }
    }
  } else {
    failed = plan.error();
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.runs;
  if (plan.ok()) stats_.scanned += static_cast<std::uint64_t>(plan->scanned);
  stats_.dropped += static_cast<std::uint64_t>(dropped);
  if (!failed.ok()) {
    ++stats_.failures;
    return failed.error();
  }
  return dropped;
}

void Compactor::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, every_, [&] { return stopping_; })) return;
    }
    (void)run_once();  // a failure is counted; the next round starts from the log as it is
  }
}

Compactor::Stats Compactor::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace returns::store
