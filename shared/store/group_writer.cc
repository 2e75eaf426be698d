// group_writer.cc — the writer thread: drain, apply in one transaction, then complete.
#include "store/group_writer.h"

#include <chrono>

namespace returns::store {

GroupWriter::GroupWriter(Store& store, const Clock& clock, Options options)
    : store_(store), clock_(clock), options_(options), thread_([this] { run(); }) {}

GroupWriter::~GroupWriter() { stop(); }

bool GroupWriter::submit(OpRequest op, Completion done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || ops_.size() >= options_.max_queue) return false;
    ops_.push_back(Pending{std::move(op), std::move(done)});
    stats_.queue_depth = ops_.size();
  }
  cv_.notify_one();
  return true;
}

bool GroupWriter::post(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void GroupWriter::set_on_commit(std::function<void(std::int64_t)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  on_commit_ = std::move(hook);
}

void GroupWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

GroupWriter::Stats GroupWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void GroupWriter::run() {
  for (;;) {
    std::vector<Pending> batch;
    std::deque<Job> jobs;
    std::function<void(std::int64_t)> on_commit;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !ops_.empty() || !jobs_.empty(); });
      if (ops_.empty() && jobs_.empty() && stopping_) return;
      jobs.swap(jobs_);
      while (!ops_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(ops_.front()));
        ops_.pop_front();
      }
      stats_.queue_depth = ops_.size();
      on_commit = on_commit_;
    }
    for (Job& job : jobs) job(store_);
    if (batch.empty()) {
      if (!jobs.empty() && on_commit) on_commit(store_.head_version());
      continue;
    }
    std::vector<OpRequest> ops;
    ops.reserve(batch.size());
    for (Pending& p : batch) ops.push_back(p.op);
    const auto started = std::chrono::steady_clock::now();
    Result<std::vector<OpResult>> results = store_.apply_ops(ops, clock_.now_ms());
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.batches;
      stats_.ops += batch.size();
      if (!results.ok()) ++stats_.failed_batches;
      stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
      for (std::size_t i = 0; i < Stats::kLatencyBoundsMs.size(); ++i) {
        if (ms <= Stats::kLatencyBoundsMs[i]) ++stats_.latency_le[i];
      }
      ++stats_.latency_count;
      stats_.latency_sum_ms += ms;
      for (std::size_t i = 0; i < Stats::kBatchBounds.size(); ++i) {
        if (static_cast<double>(batch.size()) <= Stats::kBatchBounds[i]) ++stats_.batch_le[i];
      }
    }
    // Committed (or wholly rolled back): only now does anyone hear about it.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i].done) continue;
      if (results.ok()) {
        batch[i].done(Result<OpResult>((*results)[i]));
      } else {
        batch[i].done(Result<OpResult>(results.error()));
      }
    }
    if (results.ok() && on_commit) on_commit(store_.head_version());
  }
}

}  // namespace returns::store
