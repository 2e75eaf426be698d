// demo_data.h — the demo data set: a deterministic generator that fills a Store with
// a believable world (8 buyers, 10 suppliers, campaigns in six verticals, ~90 days of leads,
// returns with every reason, operator decisions, threads, reopens), including one supplier whose
// quality drops in the last 7 days and one buyer whose intake changes in the last 7 days.
//
// Everything derives from the seed through a self-written splitmix64 generator (never the std::
// distributions, which differ between standard libraries), so the same seed and config give the
// same database on every platform. Returns go through Store::apply_ops as buyers and operators
// would send them, so every figure on screen comes from the real code paths.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "store/store.h"

namespace returns::store {

// 2024-06-14T15:00:00Z: a fixed "now" for tests and benchmarks (returnsd --demo passes its clock).
inline constexpr Millis kDemoDefaultNow = 1'718'377'200'000;

struct DemoProgress {
  int day = 0;  // days done, 1..days
  int days = 0;
  std::int64_t leads = 0;  // leads ingested so far
  std::int64_t ops = 0;    // ops applied or refused so far
  double seconds = 0;      // since the start
};

struct DemoConfig {
  std::uint64_t seed = 42;
  Millis now = kDemoDefaultNow;  // the last lead is delivered before now; no op happens after it
  int days = 90;                 // leads delivered on the `days` UTC days ending with now's day
  int leads_per_day = 500;       // average; weekends are quieter, the last day is partial
  std::int64_t total_leads = 0;  // > 0: exactly this many leads (overrides leads_per_day)
  // Fast path for scale. Leads go in ingest_leads calls of this size (one transaction each);
  // ops whose times fall in the same window share one apply_ops call at the window's last time,
  // like the server's group commit.
  int ingest_batch = 10'000;
  Millis op_group_ms = 60'000;
  // While loading (all restored afterwards): synchronous=NORMAL (WAL: no fsync per commit), a
  // checkpoint every 64 MiB of WAL instead of 4, and a page cache of this many MiB (give it about
  // 1 MiB per 10,000 leads: the contact-hash index takes random inserts).
  bool sync_normal_while_loading = true;
  int cache_mib = 64;
  bool detect_spikes = true;                          // Store::detect_spikes(now) at the end
  std::function<void(const DemoProgress&)> progress;  // called after every day, if set
};

// A login the demo offers (returnsd --demo prints a token for each).
struct DemoLogin {
  Role role = Role::buyer;
  std::string subject;   // who acts, for the audit trail
  std::string buyer_id;  // buyers only
  std::string name;      // display name
  std::string about;     // one line: what this login shows off
};

// The fixed cast of the demo (the same for every seed; the seed drives leads and returns).
struct DemoFacts {
  std::vector<Buyer> buyers;  // with their initial policies (two change later through set_policy)
  std::vector<Supplier> suppliers;
  std::vector<Campaign> campaigns;
  std::vector<DemoLogin> logins;      // operators first, then one per buyer
  std::string quality_drop_supplier;  // the supplier whose quality drops in the last 7 days
  std::string intake_change_buyer;    // the buyer whose intake changes in the last 7 days
};
DemoFacts demo_facts();

struct DemoSummary {
  std::int64_t leads = 0;
  std::int64_t duplicate_leads = 0;  // contact_hash delivered to the same buyer before
  std::int64_t tcpa_leads = 0;
  std::int64_t out_of_coverage_leads = 0;
  std::int64_t wrong_vertical_leads = 0;
  std::int64_t ops = 0;
  std::int64_t ops_applied = 0;
  std::map<std::string, std::int64_t> refused;  // error code -> count (expected: WINDOW_CLOSED)
  std::map<std::string, std::int64_t> ops_by_kind;
  std::map<std::string, std::int64_t> returns_by_state;  // at the end
  std::int64_t ledger_entries = 0;
  std::int64_t messages = 0;
  std::vector<Alert> alerts;  // raised by detect_spikes at the end
  double ingest_seconds = 0;
  double ops_seconds = 0;
  double total_seconds = 0;
};

// Fills an empty store (refused with INTERNAL when it already holds leads). Deterministic: the
// same config gives the same rows, events and versions.
Result<DemoSummary> generate_demo(Store& store, const DemoConfig& config);

}  // namespace returns::store
