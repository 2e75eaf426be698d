// reports.h — return rates, the buyer × supplier matrix, P&L and spike detection (SPEC §5), all
// answered from the aggregate tables (agg_daily, agg_reason), never from a scan of leads.
// Every report is a table that renders as JSON or CSV. docs/reports.md defines the figures.
#pragma once

#include <string>
#include <vector>

#include "core/codec.h"
#include "core/policy.h"
#include "store/sqlite_db.h"

namespace returns::store {

// Rate bands: healthy < watch_from, watch from watch_from up to alarm_above inclusive,
// alarm > alarm_above. Defaults: healthy < 8 %, watch 8–15 %, alarm > 15 %.
struct Bands {
  BasisPoints watch_from = 800;
  BasisPoints alarm_above = 1500;
};
std::string band_of(RateCounts counts, const Bands& bands);

// Inclusive range of UTC days (lead delivery days).
struct Period {
  std::int64_t from_day = 0;
  std::int64_t to_day = 0;
  // The `days` days ending with now's day (today included).
  static Period trailing(Millis now, int days);
};

enum class Dimension { buyer, supplier, campaign, reason, day };
std::string_view to_string(Dimension);
std::optional<Dimension> dimension_from_string(std::string_view);

// A report: column names and rows of cells (strings or integers), rendered by to_json/to_csv.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Json>> rows;
};
Json to_json(const Table& table);  // [{column: value, ...}, ...]
std::string to_csv(const Table& table);  // RFC 4180, header line first

// Return rate per key over a period: columns key, accepted, returned, rate (fraction), band.
// For the reason dimension, `accepted` is every lead of the period and `returned` those
// returned for that reason, so the reason rates add up to the overall rate.
Result<Table> return_rates(Database& db, Dimension dim, Period period, const Bands& bands = {});

// buyer × supplier: columns buyer_id, supplier_id, accepted, returned, rate, band.
Result<Table> rate_matrix(Database& db, Period period, const Bands& bands = {});

// P&L per key: columns key, leads, returned, gross_revenue_cents, returned_revenue_cents,
// net_revenue_cents, cost_cents, chargeback_cents, net_cost_cents, margin_cents.
// Dimension reason is not a P&L key (INVALID_ENUM).
Result<Table> pnl(Database& db, Dimension dim, Period period);

// Spike detection. "Recent" is the last 7 days (today included); the baseline is the 30 days
// before them. A subject spikes when its recent rate is at least `factor_bp`/10000 times its
// baseline rate and `min_jump_bp` above it, both samples have at least `min_leads` leads, and
// the jump shows across at least `min_breadth` counterparts (buyers for a supplier, suppliers
// for a buyer), each with at least `min_pair_leads` recent leads.
struct SpikeConfig {
  int recent_days = 7;
  int baseline_days = 30;
  std::int64_t min_leads = 200;
  std::int64_t min_pair_leads = 20;
  BasisPoints factor_bp = 20'000;  // 2×
  BasisPoints min_jump_bp = 500;   // +5 percentage points
  BasisPoints pair_factor_bp = 15'000;
  int min_breadth = 3;
};

struct Spike {
  std::string kind;        // supplier_quality_drop | buyer_intake_change
  std::string subject_id;  // supplier or buyer
  RateCounts recent;
  RateCounts baseline;
  std::vector<std::string> counterparts;  // buyers (or suppliers) where the jump shows
  std::string sentence;
};

Result<std::vector<Spike>> find_spikes(Database& db, Millis now, const SpikeConfig& config = {});
Json to_json(const Spike& spike);

}  // namespace returns::store
