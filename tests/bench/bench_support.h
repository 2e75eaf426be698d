// What the benchmark programs share: time and percentiles, the server's /metrics, CPU and load
// figures, and the shape of a load world (buyers with one campaign each, two suppliers).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/codec.h"

namespace returns::bench {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

double ms_between(TimePoint a, TimePoint b);

// Nearest-rank percentiles of a sample (all zero when it is empty).
struct Percentiles {
  std::size_t n = 0;
  double min = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> v);

// GET /metrics as `name{labels}` → value, and the change of one series between two scrapes
// (a series missing from a scrape counts as zero).
using Metrics = std::map<std::string, double>;
Metrics scrape_metrics(unsigned short port);
double metric_delta(const Metrics& before, const Metrics& after, const std::string& series);

// User + system CPU seconds: of another process (from /proc), and of this one.
double process_cpu_seconds(pid_t pid);
double self_cpu_seconds();
// The 1, 5 and 15 minute load averages, as "0.12 0.34 0.56".
std::string load_average();

// A load world: `buyers` buyers `<prefix>-<b>`, each with campaign `C-<prefix>-<b>` at 20.00,
// billing alternating prepaid / net terms, a policy and a vertical chosen per buyer; suppliers
// `S-<prefix>-pass` (returns passed through) and `S-<prefix>-keep`.
struct WorldShape {
  std::string prefix;  // e.g. "ll" → buyers "B-ll-0", …
  std::string label;   // e.g. "Lean" → "Lean buyer 0"
  std::function<Json(int)> policy;
  std::function<std::string(int)> vertical;
};
std::string buyer_id(const std::string& prefix, int b);
Json world_json(const WorldShape& shape, int buyers);

}  // namespace returns::bench
