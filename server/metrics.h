// metrics.h — counters the server exposes on GET /metrics in Prometheus text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "store/checkpointer.h"
#include "store/compactor.h"
#include "store/group_writer.h"

namespace returns::server {

struct Metrics {
  std::atomic<std::int64_t> connections{0};  // open WebSocket sync sessions
  std::atomic<std::int64_t> connections_total{0};
  std::atomic<std::int64_t> ops_applied{0};
  std::atomic<std::int64_t> ops_refused{0};
  std::atomic<std::int64_t> ops_duplicate{0};
  std::atomic<std::int64_t> ops_rate_limited{0};
  std::atomic<std::int64_t> frames_sent{0};
  std::atomic<std::int64_t> send_queue_frames{0};  // frames waiting in session queues, summed
  std::atomic<std::int64_t> slow_consumers_cut{0};
  std::atomic<std::int64_t> protocol_errors{0};
  std::atomic<std::int64_t> http_requests{0};
  std::atomic<std::int64_t> head_version{0};

  // WAL checkpoints off the writer (none when the server runs without a checkpointer).
  const store::Checkpointer* checkpointer = nullptr;
  // Log compaction (none when the server runs without a compactor).
  const store::Compactor* compactor = nullptr;

  std::string render(const store::GroupWriter::Stats& writer) const;
};

}  // namespace returns::server
