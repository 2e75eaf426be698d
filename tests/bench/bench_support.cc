// bench_support.cc — see bench_support.h.
#include "bench_support.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness.h"

namespace returns::bench {

double ms_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least q of the sample at or below it.
  auto rank = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  p.min = v.front();
  p.p50 = rank(0.50);
  p.p95 = rank(0.95);
  p.p99 = rank(0.99);
  p.max = v.back();
  return p;
}

Metrics scrape_metrics(unsigned short port) {
  Metrics out;
  std::istringstream in(test::http_get(port, "/metrics").body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

double metric_delta(const Metrics& before, const Metrics& after, const std::string& series) {
  const auto ia = before.find(series);
  const auto ib = after.find(series);
  return (ib == after.end() ? 0 : ib->second) - (ia == before.end() ? 0 : ia->second);
}

double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name is in parentheses and may hold spaces: count fields after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  // From the state (field 3 in proc(5)): utime is field 14, stime field 15.
  if (f.size() < 13) return 0;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "unknown";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return buf;
}

std::string buyer_id(const std::string& prefix, int b) {
  return "B-" + prefix + "-" + std::to_string(b);
}

Json world_json(const WorldShape& shape, int buyers) {
  Json bs = Json::array();
  Json cs = Json::array();
  for (int b = 0; b < buyers; ++b) {
    bs.push_back({{"id", buyer_id(shape.prefix, b)},
                  {"name", shape.label + " buyer " + std::to_string(b)},
                  {"billing", b % 2 == 0 ? "prepaid" : "net_terms"},
                  {"policy", shape.policy(b)}});
    cs.push_back({{"id", "C-" + shape.prefix + "-" + std::to_string(b)},
                  {"buyer_id", buyer_id(shape.prefix, b)},
                  {"vertical", shape.vertical(b)},
                  {"price_cents", 2000}});
  }
  const std::string s = "S-" + shape.prefix;
  return Json{
      {"suppliers", Json::array({{{"id", s + "-pass"},
                                  {"name", shape.label + " supplier pass-through"},
                                  {"pass_through_returns", true}},
                                 {{"id", s + "-keep"}, {"name", shape.label + " supplier"}}})},
      {"buyers", bs},
      {"campaigns", cs}};
}

}  // namespace returns::bench
