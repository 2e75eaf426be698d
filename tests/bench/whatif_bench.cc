// whatif_bench.cc — the operator dashboard's what-if at demo size, natively: an operator replica
// (SQLite in memory, as the wasm portal opens it) with `--buyers` buyers of `--leads-per-buyer`
// leads over 90 days and about 400 returns each (~150 in the last 30 days, with ledger entries),
// then Engine::history + core what_if for one buyer, `--runs` times. A program to run by hand
// (BENCHMARKS.md); prints the median and the report's summary so a change can be checked to give
// the same answer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.h"
#include "core/codec.h"
#include "core/ledger.h"
#include "store/replica_sqlite.h"
#include "sync/engine.h"
#include "sync/protocol.h"

using namespace returns;

namespace {

std::uint64_t g_seed = 88172645463325252ull;
double rnd() {
  g_seed ^= g_seed << 13;
  g_seed ^= g_seed >> 7;
  g_seed ^= g_seed << 17;
  return static_cast<double>(g_seed >> 11) / 9007199254740992.0;
}

int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int buyers = arg(argc, argv, "--buyers", 10);
  const int per_buyer = arg(argc, argv, "--leads-per-buyer", 4500);
  const int returns_per_buyer = arg(argc, argv, "--returns-per-buyer", 400);
  const int runs = arg(argc, argv, "--runs", 9);
  const Millis now = 1'717'200'000'000;  // 2024-06-01
  const Millis day = kMillisPerDay;

  auto replica = store::SqliteReplica::open(":memory:", false);
  if (!replica.ok()) return 1;
  sync::WriteBatch batch;
  auto put = [&](const char* entity, const std::string& id, const Json& j) {
    batch.rows.push_back(sync::RowWrite{entity, id, sync::replica_ref(entity, j), j.dump()});
  };
  const char* reasons[] = {"bad_contact", "wrong_vertical", "duplicate", "tcpa_risk"};
  for (int b = 0; b < buyers; ++b) {
    Buyer buyer;
    buyer.id = "B" + std::to_string(b);
    buyer.name = "Buyer " + std::to_string(b);
    buyer.policy.rules[0].max_return_rate = BasisPoints{2000};
    put("buyer", buyer.id, to_json(buyer));
    Campaign c{"C" + std::to_string(b), buyer.id, "mva", 5000};
    put("campaign", c.id, to_json(c));
    std::vector<Lead> leads;
    for (int i = 0; i < per_buyer; ++i) {
      Lead l;
      l.id = buyer.id + "-L" + std::to_string(i);
      l.buyer_id = buyer.id;
      l.supplier_id = "S1";
      l.campaign_id = c.id;
      l.vertical = "mva";
      l.state = "TX";
      l.zip = "75001";
      l.contact_hash = "h" + std::to_string(static_cast<int>(rnd() * per_buyer));
      l.price_cents = 5000;
      l.cost_cents = 2000;
      l.delivered_at = now - static_cast<Millis>(rnd() * 90 * day);
      leads.push_back(l);
    }
    for (int k = 0; k < returns_per_buyer; ++k) {
      Lead& l = leads[static_cast<std::size_t>(k) * (per_buyer / returns_per_buyer)];
      ReturnCase r;
      r.id = buyer.id + "-R" + std::to_string(k);
      r.lead_id = l.id;
      r.buyer_id = buyer.id;
      r.reason = reason_from_string(reasons[k % 4]);
      r.submitted_at = std::min(now - 1, l.delivered_at + static_cast<Millis>(rnd() * 60 * 3600e3));
      r.updated_at = r.submitted_at;
      const double u = rnd();
      if (u < 0.6) {
        const bool autod = r.submitted_at - l.delivered_at < 24 * kMillisPerHour;
        r.state = ReturnState::accepted;
        r.accept_count = 1;
        const Millis at = autod ? r.submitted_at : r.submitted_at + 3 * kMillisPerHour;
        r.decision = Decision{autod ? "auto:within_24h" : "op-1", at, "", 5000, false, 0};
        l.status = LeadStatus::returned;
        for (const LedgerEntry& e : accept_entries(r, l, buyer, 5000, 0, 1, at)) {
          put("ledger", e.id, to_json(e));
        }
      } else if (u < 0.8) {
        r.state = ReturnState::rejected;
        r.decision = Decision{"op-1", r.submitted_at + kMillisPerHour, "no", 0, false, 0};
      } else {
        r.state = ReturnState::pending;
      }
      put("return", r.id, to_json(r));
    }
    for (const Lead& l : leads) put("lead", l.id, to_json(l));
  }
  if (!(*replica)->write(batch).ok()) return 1;

  sync::Engine engine(**replica, sync::EngineConfig{"bench", "", 250});
  Policy edited = default_policy();
  edited.rules[0].max_age_hours = 72;
  edited.rules[0].max_return_rate = BasisPoints{1500};
  std::vector<double> ms;
  WhatIfReport report;
  std::size_t items = 0;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = bench::SteadyClock::now();
    auto history = engine.history("B3", 30, now + i);
    if (!history.ok()) return 2;
    items = history->size();
    report = what_if(edited, std::move(history).value());
    ms.push_back(bench::ms_between(t0, bench::SteadyClock::now()));
  }
  const bench::Percentiles p = bench::percentiles(ms);
  std::printf("rows %zu, history items %zu, what_if median %.2f ms (min %.2f, max %.2f)\n",
              batch.rows.size(), items, p.p50, p.min, p.max);
  std::printf("summary %s\n", to_json(report).at("summary").dump().c_str());

  // Live changes reach the dashboard all the time: one frame with a new return of this buyer and
  // one of another, then the next what-if (its decoded rows follow the write, not rebuilt).
  (void)engine.on_connected(now);
  sync::Welcome welcome;
  welcome.server_time = now;
  welcome.principal.role = Role::operator_;
  welcome.principal.subject = "bench";
  welcome.cursor = engine.cursor();
  if (!engine.on_frame(sync::encode_welcome(welcome), now).ok()) return 3;
  std::vector<double> after_write;
  for (int i = 0; i < runs; ++i) {
    sync::Changes c;
    c.from = engine.cursor();
    for (const char* b : {"B3", "B4"}) {
      ReturnCase r;
      r.id = std::string(b) + "-live-" + std::to_string(i);
      r.lead_id = std::string(b) + "-L" + std::to_string(per_buyer - 1 - i);
      r.buyer_id = b;
      r.reason = Reason::bad_contact;
      r.state = ReturnState::pending;
      r.submitted_at = now - kMillisPerHour;
      r.updated_at = r.submitted_at;
      c.items.push_back(sync::ChangeItem{c.from + static_cast<std::int64_t>(c.items.size()) + 1,
                                         "return", r.id, to_json(r)});
    }
    c.to = c.from + static_cast<std::int64_t>(c.items.size());
    if (!engine.on_frame(sync::encode_changes(c), now).ok()) return 4;
    const auto t0 = bench::SteadyClock::now();
    auto history = engine.history("B3", 30, now + i);
    if (!history.ok()) return 5;
    report = what_if(edited, std::move(history).value());
    after_write.push_back(bench::ms_between(t0, bench::SteadyClock::now()));
  }
  const bench::Percentiles w = bench::percentiles(after_write);
  std::printf("what_if after a live write: median %.2f ms (min %.2f, max %.2f)\n", w.p50, w.min,
              w.max);
  std::printf("report %s\n",
              std::to_string(std::hash<std::string>{}(to_json(report).dump())).c_str());
  return 0;
}
