// report_bench.cc — how fast the reports answer from the aggregates (agg_daily, agg_reason)
// compared with the same figures computed by a naive scan over leads, returns and ledger, on a
// demo database of N leads (default 10 million). Checks that both give the same numbers.
//
//   report_bench [--leads N] [--db PATH] [--seed S] [--days D] [--repeat K]
//                [--naive-repeat K] [--cache-mib M] [--op-group-ms MS] [--regen]
//
// The database (default: <temp dir>/returns_bench_<N>.db) is generated once and reused while a
// sidecar file PATH.params records the same parameters. See BENCHMARKS.md for measured numbers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "store/demo_data.h"
#include "store/reports.h"
#include "store/store.h"

namespace {

using namespace returns;
using namespace returns::store;
namespace fs = std::filesystem;

// Bump when the generator changes, so an old database is not reused by mistake.
constexpr int kBenchFormat = 1;

struct Options {
  std::int64_t leads = 10'000'000;
  std::string db;
  std::uint64_t seed = 42;
  int days = 90;
  int repeat = 5;
  int naive_repeat = 3;
  int cache_mib = 0;             // 0: leads / 10,000 MiB, at least 64 (1 GiB at 10 million)
  Millis op_group_ms = 300'000;  // ops of a 5-minute window share a transaction at this scale
  bool regen = false;
};

[[noreturn]] void usage(const char* why) {
  std::cerr
      << "report_bench: " << why << "\n"
      << "usage: report_bench [--leads N] [--db PATH] [--seed S] [--days D] [--repeat K]\n"
      << "                    [--naive-repeat K] [--cache-mib M] [--op-group-ms MS] [--regen]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--leads") {
      o.leads = std::stoll(value());
    } else if (a == "--db") {
      o.db = value();
    } else if (a == "--seed") {
      o.seed = std::stoull(value());
    } else if (a == "--days") {
      o.days = std::stoi(value());
    } else if (a == "--repeat") {
      o.repeat = std::max(1, std::stoi(value()));
    } else if (a == "--naive-repeat") {
      o.naive_repeat = std::max(1, std::stoi(value()));
    } else if (a == "--cache-mib") {
      o.cache_mib = std::stoi(value());
    } else if (a == "--op-group-ms") {
      o.op_group_ms = std::max<Millis>(1, std::stoll(value()));
    } else if (a == "--regen") {
      o.regen = true;
    } else {
      usage(("unknown flag " + a).c_str());
    }
  }
  if (o.leads < 1000) usage("--leads must be at least 1000");
  if (o.cache_mib <= 0)
    o.cache_mib = static_cast<int>(std::max<std::int64_t>(64, o.leads / 10'000));
  if (o.db.empty()) {
    o.db =
        (fs::temp_directory_path() / ("returns_bench_" + std::to_string(o.leads) + ".db")).string();
  }
  return o;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::uintmax_t db_bytes(const std::string& path) {
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto n = fs::file_size(path + suffix, ec);
    if (!ec) total += n;
  }
  return total;
}

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "report_bench: " << what << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) fail(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

// --- Generation (or reuse). ----------------------------------------------------------------

std::string params_line(const Options& o) {
  std::ostringstream s;
  s << "format=" << kBenchFormat << " leads=" << o.leads << " seed=" << o.seed << " days=" << o.days
    << " now=" << kDemoDefaultNow << " op_group_ms=" << o.op_group_ms;
  return s.str();
}

void ensure_database(const Options& o) {
  const std::string sidecar = o.db + ".params";
  const std::string want = params_line(o);
  if (!o.regen && fs::exists(o.db)) {
    std::ifstream in(sidecar);
    std::string have, stats;
    std::getline(in, have);
    std::getline(in, stats);
    if (have == want) {
      std::printf("Reusing %s (%s)\n  generated earlier: %s\n  size: %.2f GiB\n\n", o.db.c_str(),
                  want.c_str(), stats.c_str(),
                  static_cast<double>(db_bytes(o.db)) / (1024.0 * 1024 * 1024));
      return;
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", ".params"}) fs::remove(o.db + suffix);
  std::printf("Generating %s: %lld leads over %d days, seed %llu\n", o.db.c_str(),
              static_cast<long long>(o.leads), o.days, static_cast<unsigned long long>(o.seed));
  std::unique_ptr<Store> store = must(Store::open(o.db), "open");
  DemoConfig cfg;
  cfg.seed = o.seed;
  cfg.days = o.days;
  cfg.total_leads = o.leads;
  cfg.cache_mib = o.cache_mib;
  cfg.op_group_ms = o.op_group_ms;
  cfg.progress = [&](const DemoProgress& p) {
    if (p.day % 10 == 0 || p.day == p.days) {
      std::printf("  day %3d/%d  %11lld leads  %10lld ops  %8.1f s  (%.0f leads/s)\n", p.day,
                  p.days, static_cast<long long>(p.leads), static_cast<long long>(p.ops), p.seconds,
                  static_cast<double>(p.leads) / std::max(p.seconds, 1e-9));
      std::fflush(stdout);
    }
  };
  const DemoSummary sum = must(generate_demo(*store, cfg), "generate");
  store.reset();
  std::int64_t returns = 0;
  for (const auto& [state, n] : sum.returns_by_state) returns += n;
  std::ostringstream stats;
  stats << sum.leads << " leads, " << returns << " returns, " << sum.ops << " ops, "
        << sum.ledger_entries << " ledger entries in " << static_cast<long long>(sum.total_seconds)
        << " s (" << static_cast<long long>(static_cast<double>(sum.leads) / sum.total_seconds)
        << " leads/s overall; ingest " << static_cast<long long>(sum.ingest_seconds)
        << " s = " << static_cast<long long>(static_cast<double>(sum.leads) / sum.ingest_seconds)
        << " leads/s; ops " << static_cast<long long>(sum.ops_seconds)
        << " s = " << static_cast<long long>(static_cast<double>(sum.ops) / sum.ops_seconds)
        << " ops/s)";
  std::printf("Generated: %s\n  size: %.2f GiB\n  alerts:", stats.str().c_str(),
              static_cast<double>(db_bytes(o.db)) / (1024.0 * 1024 * 1024));
  for (const Alert& a : sum.alerts) std::printf(" %s/%s", a.kind.c_str(), a.subject_id.c_str());
  std::printf("\n\n");
  std::ofstream out(sidecar);
  out << want << "\n" << stats.str() << "\n";
}

// --- Figures in a comparable form. ------------------------------------------------------------

// key -> numbers, from either side.
using Figures = std::map<std::string, std::vector<std::int64_t>>;

std::string key_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Picks named integer columns of a report table, keyed by the first `key_columns` columns.
Figures from_table(const Table& t, int key_columns, const std::vector<std::string>& columns) {
  Figures f;
  std::vector<std::size_t> idx;
  for (const std::string& c : columns) {
    idx.push_back(static_cast<std::size_t>(std::find(t.columns.begin(), t.columns.end(), c) -
                                           t.columns.begin()));
  }
  for (const auto& row : t.rows) {
    std::string key;
    for (int k = 0; k < key_columns; ++k) {
      if (k > 0) key += '|';
      key += key_text(row[static_cast<std::size_t>(k)]);
    }
    std::vector<std::int64_t> nums;
    for (std::size_t i : idx) nums.push_back(row[i].get<std::int64_t>());
    f[key] = std::move(nums);
  }
  return f;
}

// Runs a naive query: ?1/?2 are the period's bounds in ms; the first `key_columns` columns form
// the key, the next `value_columns` are integers.
Figures from_query(Database& db, const std::string& sql, Period p, int key_columns,
                   int value_columns) {
  Statement st = must(db.prepare(sql), "prepare naive query");
  st.bind(1, p.from_day * kMillisPerDay).bind(2, (p.to_day + 1) * kMillisPerDay);
  Figures f;
  while (st.step()) {
    std::string key;
    for (int k = 0; k < key_columns; ++k) {
      if (k > 0) key += '|';
      key += st.text(k);
    }
    std::vector<std::int64_t> nums;
    for (int c = key_columns; c < key_columns + value_columns; ++c) nums.push_back(st.int64(c));
    f[key] = std::move(nums);
  }
  if (!st.status().ok()) fail("naive query: " + st.status().error().message);
  return f;
}

Figures from_spikes(const std::vector<Spike>& spikes) {
  Figures f;
  for (const Spike& s : spikes) {
    f[s.kind + "|" + s.subject_id] = {s.recent.accepted, s.recent.returned, s.baseline.accepted,
                                      s.baseline.returned,
                                      static_cast<std::int64_t>(s.counterparts.size())};
  }
  return f;
}

PairCounts naive_pairs(Database& db, Period p) {
  const Figures f = from_query(db,
                               "SELECT buyer_id, supplier_id, COUNT(*), SUM(status = 'RETURNED') "
                               "FROM leads WHERE delivered_at >= ?1 AND delivered_at < ?2 "
                               "GROUP BY 1, 2",
                               p, 2, 2);
  PairCounts out;
  for (const auto& [key, v] : f) {
    const auto bar = key.find('|');
    out[{key.substr(0, bar), key.substr(bar + 1)}] = RateCounts{v[1], v[0]};
  }
  return out;
}

// The lead column (naive side) of a dimension.
std::string lead_key(Dimension d) {
  switch (d) {
    case Dimension::buyer:
      return "buyer_id";
    case Dimension::supplier:
      return "supplier_id";
    case Dimension::campaign:
      return "campaign_id";
    case Dimension::day:
      return "delivered_at / 86400000";
    case Dimension::reason:
      break;
  }
  return "buyer_id";
}

std::string naive_rates_sql(Dimension d) {
  if (d == Dimension::reason) {
    return "SELECT r.reason, (SELECT COUNT(*) FROM leads WHERE delivered_at >= ?1 AND "
           "delivered_at < ?2), COUNT(*) FROM returns r JOIN leads l ON l.id = r.lead_id "
           "WHERE r.state = 'accepted' AND l.delivered_at >= ?1 AND l.delivered_at < ?2 "
           "GROUP BY 1";
  }
  return "SELECT " + lead_key(d) +
         ", COUNT(*), SUM(status = 'RETURNED') FROM leads "
         "WHERE delivered_at >= ?1 AND delivered_at < ?2 GROUP BY 1";
}

std::string naive_pnl_sql(Dimension d) {
  const std::string k = lead_key(d);
  return "WITH l AS (SELECT " + k +
         " AS k, COUNT(*) AS leads, SUM(status = 'RETURNED') AS returned, "
         "SUM(price_cents) AS gross, SUM(cost_cents) AS cost FROM leads "
         "WHERE delivered_at >= ?1 AND delivered_at < ?2 GROUP BY 1), "
         "g AS (SELECT l." +
         (d == Dimension::day ? std::string("delivered_at / 86400000") : k) +
         " AS k, "
         "SUM(CASE WHEN g.kind = 'revenue_reversal' THEN -g.amount_cents ELSE 0 END) AS credited, "
         "SUM(CASE WHEN g.kind = 'supplier_chargeback' THEN -g.amount_cents ELSE 0 END) AS cb "
         "FROM ledger g JOIN leads l ON l.id = g.lead_id "
         "WHERE l.delivered_at >= ?1 AND l.delivered_at < ?2 GROUP BY 1) "
         "SELECT l.k, l.leads, l.returned, l.gross, COALESCE(g.credited, 0), "
         "l.gross - COALESCE(g.credited, 0), l.cost, COALESCE(g.cb, 0), "
         "l.cost - COALESCE(g.cb, 0), "
         "(l.gross - COALESCE(g.credited, 0)) - (l.cost - COALESCE(g.cb, 0)) "
         "FROM l LEFT JOIN g ON g.k = l.k";
}

const std::vector<std::string> kPnlColumns = {"leads",
                                              "returned",
                                              "gross_revenue_cents",
                                              "returned_revenue_cents",
                                              "net_revenue_cents",
                                              "cost_cents",
                                              "chargeback_cents",
                                              "net_cost_cents",
                                              "margin_cents"};

struct Timed {
  double median_ms = 0;
  Figures figures;
};

Timed time_it(int repeat, const std::function<Figures()>& run) {
  std::vector<double> ms;
  Timed t;
  for (int i = 0; i < repeat; ++i) {
    const double t0 = now_seconds();
    t.figures = run();
    ms.push_back((now_seconds() - t0) * 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  t.median_ms = ms[ms.size() / 2];
  return t;
}

struct Case {
  std::string name;
  std::function<Figures()> aggregate;
  std::function<Figures()> naive;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  ensure_database(o);
  std::unique_ptr<Store> store =
      must(Store::open(o.db, StoreOptions{Database::Sync::normal}), "open");
  Database& db = store->db();
  if (Status s = db.exec("PRAGMA cache_size = -" + std::to_string(o.cache_mib * 1024)); !s.ok()) {
    fail(s.error().message);
  }
  const Millis now = kDemoDefaultNow;
  const Period all = Period::trailing(now, o.days);
  const Period last7 = Period::trailing(now, 7);
  const Period last30 = Period::trailing(now, 30);

  std::vector<Case> cases;
  auto rates = [&](std::string name, Dimension d, Period p) {
    cases.push_back(Case{std::move(name),
                         [&db, d, p] {
                           return from_table(must(return_rates(db, d, p), "return_rates"), 1,
                                             {"accepted", "returned"});
                         },
                         [&db, d, p] { return from_query(db, naive_rates_sql(d), p, 1, 2); }});
  };
  rates("rates by buyer (90 d)", Dimension::buyer, all);
  rates("rates by supplier (90 d)", Dimension::supplier, all);
  rates("rates by campaign (90 d)", Dimension::campaign, all);
  rates("rates by reason (90 d)", Dimension::reason, all);
  rates("rates by day (90 d)", Dimension::day, all);
  rates("trailing 7 d by buyer", Dimension::buyer, last7);
  rates("trailing 30 d by buyer", Dimension::buyer, last30);
  rates("trailing 30 d by supplier", Dimension::supplier, last30);
  cases.push_back(Case{
      "buyer x supplier matrix (90 d)",
      [&db, all] {
        return from_table(must(rate_matrix(db, all), "rate_matrix"), 2, {"accepted", "returned"});
      },
      [&db, all] {
        return from_query(db,
                          "SELECT buyer_id, supplier_id, COUNT(*), SUM(status = 'RETURNED') "
                          "FROM leads WHERE delivered_at >= ?1 AND delivered_at < ?2 "
                          "GROUP BY 1, 2",
                          all, 2, 2);
      }});
  for (Dimension d : {Dimension::day, Dimension::buyer, Dimension::supplier, Dimension::campaign}) {
    cases.push_back(
        Case{"P&L by " + std::string(to_string(d)) + " (90 d)",
             [&db, d, all] { return from_table(must(pnl(db, d, all), "pnl"), 1, kPnlColumns); },
             [&db, d, all] { return from_query(db, naive_pnl_sql(d), all, 1, 9); }});
  }
  cases.push_back(
      Case{"spike detection (7 d vs 30 d)",
           [&db, now] { return from_spikes(must(find_spikes(db, now), "find_spikes")); },
           [&db, now] {
             return from_spikes(spikes_from_counts(naive_pairs(db, spike_recent_period(now)),
                                                   naive_pairs(db, spike_baseline_period(now))));
           }});

  std::int64_t lead_count = 0, agg_rows = 0;
  if (Result<Statement> st = db.prepare("SELECT COUNT(*) FROM leads"); st.ok() && st->step()) {
    lead_count = st->int64(0);
  }
  if (Result<Statement> st = db.prepare("SELECT COUNT(*) FROM agg_daily"); st.ok() && st->step()) {
    agg_rows = st->int64(0);
  }
  std::printf(
      "%lld leads; agg_daily holds %lld rows. Median of %d runs (aggregates) and %d runs "
      "(naive scans), warm cache.\n\n",
      static_cast<long long>(lead_count), static_cast<long long>(agg_rows), o.repeat,
      o.naive_repeat);
  std::printf("%-32s %14s %14s %10s %6s %6s\n", "report", "aggregate ms", "naive scan ms", "ratio",
              "rows", "agree");
  bool all_agree = true;
  for (const Case& c : cases) {
    const Timed agg = time_it(o.repeat, c.aggregate);
    const Timed naive = time_it(o.naive_repeat, c.naive);
    const bool agree = agg.figures == naive.figures;
    all_agree = all_agree && agree;
    std::printf("%-32s %14.3f %14.1f %9.0fx %6zu %6s\n", c.name.c_str(), agg.median_ms,
                naive.median_ms, naive.median_ms / std::max(agg.median_ms, 1e-6),
                agg.figures.size(), agree ? "yes" : "NO");
    std::fflush(stdout);
  }
  std::printf("\n%s\n", all_agree ? "Aggregates and scans agree on every report."
                                  : "MISMATCH between aggregates and scans.");
  return all_agree ? 0 : 1;
}
