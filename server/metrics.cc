// metrics.cc — Prometheus text exposition.
#include "server/metrics.h"

#include <sstream>

namespace returns::server {
namespace {

void counter(std::ostringstream& out, const char* name, const char* help, const char* type,
             std::int64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
      << name << ' ' << value << '\n';
}

template <std::size_t N>
void histogram(std::ostringstream& out, const char* name, const char* help,
               const std::array<double, N>& bounds, const std::array<std::uint64_t, N>& le,
               std::uint64_t count, double sum) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
  for (std::size_t i = 0; i < N; ++i) {
    out << name << "_bucket{le=\"" << bounds[i] << "\"} " << le[i] << '\n';
  }
  out << name << "_bucket{le=\"+Inf\"} " << count << '\n'
      << name << "_sum " << sum << '\n'
      << name << "_count " << count << '\n';
}

}  // namespace

std::string Metrics::render(const store::GroupWriter::Stats& w) const {
  std::ostringstream out;
  counter(out, "returns_connections", "Open sync WebSocket sessions.", "gauge", connections);
  counter(out, "returns_connections_total", "Sync sessions accepted since start.", "counter",
          connections_total);
  counter(out, "returns_ops_applied_total", "Ops applied.", "counter", ops_applied);
  counter(out, "returns_ops_refused_total", "Ops refused with a domain error.", "counter",
          ops_refused);
  counter(out, "returns_ops_duplicate_total", "Resent ops answered from stored results.", "counter",
          ops_duplicate);
  counter(out, "returns_ops_rate_limited_total", "Ops refused by the per-connection rate limit.",
          "counter", ops_rate_limited);
  counter(out, "returns_frames_sent_total", "WebSocket frames sent.", "counter", frames_sent);
  counter(out, "returns_send_queue_frames", "Frames waiting in session send queues.", "gauge",
          send_queue_frames);
  counter(out, "returns_slow_consumers_total", "Sessions cut off for a full send queue.", "counter",
          slow_consumers_cut);
  counter(out, "returns_protocol_errors_total", "Frames answered with a protocol error.", "counter",
          protocol_errors);
  counter(out, "returns_http_requests_total", "HTTP requests served.", "counter", http_requests);
  counter(out, "returns_event_head", "Latest event-log version.", "gauge", head_version);
  counter(out, "returns_writer_queue_depth", "Ops waiting for the writer.", "gauge",
          static_cast<std::int64_t>(w.queue_depth));
  counter(out, "returns_writer_batches_total", "Transactions committed by the writer.", "counter",
          static_cast<std::int64_t>(w.batches));
  counter(out, "returns_writer_failed_batches_total", "Writer transactions rolled back.", "counter",
          static_cast<std::int64_t>(w.failed_batches));
  const store::Checkpointer::Stats c =
      checkpointer != nullptr ? checkpointer->stats() : store::Checkpointer::Stats{};
  counter(out, "returns_wal_checkpoints_total", "WAL checkpoints run off the writer.", "counter",
          static_cast<std::int64_t>(c.checkpoints));
  counter(out, "returns_wal_frames_checkpointed_total", "WAL frames copied into the database.",
          "counter", static_cast<std::int64_t>(c.frames_copied));
  counter(out, "returns_wal_checkpoint_failures_total",
          "WAL checkpoints that failed (retried at the next commit over the threshold).", "counter",
          static_cast<std::int64_t>(c.failures));
  const store::Compactor::Stats k =
      compactor != nullptr ? compactor->stats() : store::Compactor::Stats{};
  counter(out, "returns_log_compactions_total", "Log compaction rounds run.", "counter",
          static_cast<std::int64_t>(k.runs));
  counter(out, "returns_log_events_dropped_total", "Superseded events dropped from the log.",
          "counter", static_cast<std::int64_t>(k.dropped));
  counter(out, "returns_log_compaction_failures_total", "Log compaction rounds that failed.",
          "counter", static_cast<std::int64_t>(k.failures));
  histogram(out, "returns_commit_batch_size", "Ops per committed transaction.",
            store::GroupWriter::Stats::kBatchBounds, w.batch_le, w.batches,
            static_cast<double>(w.ops));
  histogram(out, "returns_commit_latency_ms", "Time to apply and commit one batch.",
            store::GroupWriter::Stats::kLatencyBoundsMs, w.latency_le, w.latency_count,
            w.latency_sum_ms);
  return out.str();
}

}  // namespace returns::server
