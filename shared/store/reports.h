// reports.h — return rates, the buyer × supplier matrix, P&L and spike detection (docs/reports.md),
// all answered from the aggregate tables (agg_daily, agg_reason), never from a scan of leads. Every
// report is a table that renders as JSON or CSV. docs/reports.md defines the figures.
#pragma once

#include <map>
#include <string>
#include <utility>
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
  // The sums of the rows for reports that have them (P&L): the first cell is "total".
  std::optional<std::vector<Json>> total;
};
Json to_json(const Table& table);        // [{column: value, ...}, ...]
std::string to_csv(const Table& table);  // RFC 4180, header line first

// Return rate per key over a period: columns key, accepted, returned, rate (fraction), band.
// For the reason dimension, `accepted` is every lead of the period and `returned` those
// returned for that reason, so the reason rates add up to the overall rate.
Result<Table> return_rates(Database& db, Dimension dim, Period period, const Bands& bands = {});

// buyer × supplier: columns buyer_id, supplier_id, accepted, returned, rate, band.
Result<Table> rate_matrix(Database& db, Period period, const Bands& bands = {});

// P&L per key: columns key, leads, returned, gross_revenue_cents, returned_revenue_cents,
// net_revenue_cents, cost_cents, chargeback_cents, net_cost_cents, margin_cents; `total` holds
// the sums over the keys (served as "total" beside the rows in JSON).
// Dimension reason is not a P&L key (INVALID_ENUM).
Result<Table> pnl(Database& db, Dimension dim, Period period);

// Spike detection (docs/reports.md). "Recent" is the last `recent_days` UTC days (today
// included); the baseline is the `baseline_days` days before them. A subject (a supplier, or a
// buyer) spikes when
//   1. both samples have at least `min_leads` leads;
//   2. its recent rate is at least `factor_bp`/10000 times its baseline rate, at least
//      `min_jump_bp` above it, and the difference is significant: the two-proportion z-score
//      (pooled) is at least `min_z`, so a short or small sample cannot alert by chance;
//   3. the jump shows across at least `min_breadth` counterparts (buyers of a supplier, suppliers
//      of a buyer): counterparts with at least `min_pair_leads` recent leads whose recent rate is
//      at least `pair_factor_bp`/10000 times their own baseline (the subject's baseline when the
//      pair's own has under `min_pair_leads` leads);
//   4. the jump is not the work of one counterpart: without the counterpart that adds the most
//      returns above the baseline rate, the rest of the subject still passes rule 2.
// Rule 4 keeps a buyer whose intake changed from making each of its suppliers look bad (and a
// bad supplier from making its biggest buyers look bad); rule 3 alone does not, because small
// pairs cross 1.5× by chance.
struct SpikeConfig {
  int recent_days = 7;
  int baseline_days = 30;
  std::int64_t min_leads = 200;
  std::int64_t min_pair_leads = 20;
  BasisPoints factor_bp = 20'000;  // 2×
  BasisPoints min_jump_bp = 500;   // +5 percentage points
  BasisPoints pair_factor_bp = 15'000;
  double min_z = 4.0;
  int min_breadth = 3;
  bool exclude_top_counterpart = true;  // rule 4
};

struct Spike {
  std::string kind;        // supplier_quality_drop | buyer_intake_change
  std::string subject_id;  // supplier or buyer
  RateCounts recent;
  RateCounts baseline;
  std::vector<std::string> counterparts;  // buyers (or suppliers) where the jump shows
  std::string sentence;
};

// The two periods spike detection compares at `now`.
Period spike_recent_period(Millis now, const SpikeConfig& config = {});
Period spike_baseline_period(Millis now, const SpikeConfig& config = {});

// Leads and returned leads per (buyer_id, supplier_id) over a period, from agg_daily.
using PairCounts = std::map<std::pair<std::string, std::string>, RateCounts>;
Result<PairCounts> buyer_supplier_counts(Database& db, Period period);

// The rules above over counts from any source (the aggregates, or a scan that must agree).
// Supplier spikes first, then buyer spikes, each in id order.
std::vector<Spike> spikes_from_counts(const PairCounts& recent, const PairCounts& baseline,
                                      const SpikeConfig& config = {});

// buyer_supplier_counts for both periods, then spikes_from_counts.
Result<std::vector<Spike>> find_spikes(Database& db, Millis now, const SpikeConfig& config = {});
Json to_json(const Spike& spike);

}  // namespace returns::store
