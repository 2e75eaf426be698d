// reports.cc — report queries over the aggregates, CSV/JSON rendering, spike detection.
#include "store/reports.h"

#include <cmath>
#include <limits>
#include <map>

namespace returns::store {
namespace {

Json rate_fraction(RateCounts c) {
  if (c.accepted <= 0) return 0.0;
  return static_cast<double>(c.returned) / static_cast<double>(c.accepted);
}

std::string rate_percent(RateCounts c) {
  const BasisPoints bp = rate_bp(c);
  return std::to_string(bp / 100) + "." + std::to_string((bp % 100) / 10) + " %";
}

// The GROUP BY expression of agg_daily for a dimension.
const char* key_column(Dimension dim) {
  switch (dim) {
    case Dimension::buyer:
      return "buyer_id";
    case Dimension::supplier:
      return "supplier_id";
    case Dimension::campaign:
      return "campaign_id";
    case Dimension::day:
      return "day";
    case Dimension::reason:
      return "reason";
  }
  return "buyer_id";
}

std::string csv_cell(const Json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// rate(a) >= rate(b) * factor_bp / 10000, exactly.
bool rate_at_least_factor(RateCounts a, RateCounts b, BasisPoints factor_bp) {
  if (a.accepted <= 0) return false;
  if (b.accepted <= 0) return a.returned > 0;
  // a.r / a.n >= (b.r / b.n) * f / 10000  <=>  a.r * b.n * 10000 >= b.r * a.n * f
  __extension__ typedef __int128 Wide;
  return static_cast<Wide>(a.returned) * b.accepted * kBasisPointsWhole >=
         static_cast<Wide>(b.returned) * a.accepted * factor_bp;
}

// rate(a) >= rate(b) + jump_bp / 10000, exactly.
bool rate_at_least_plus(RateCounts a, RateCounts b, BasisPoints jump_bp) {
  if (a.accepted <= 0) return false;
  __extension__ typedef __int128 Wide;
  const Wide bn = b.accepted > 0 ? b.accepted : 1;
  const Wide br = b.accepted > 0 ? b.returned : 0;
  // a.r/a.n >= b.r/b.n + j/10000  <=>  a.r * b.n * 10000 >= b.r * a.n * 10000 + j * a.n * b.n
  return static_cast<Wide>(a.returned) * bn * kBasisPointsWhole >=
         br * a.accepted * kBasisPointsWhole + static_cast<Wide>(jump_bp) * a.accepted * bn;
}

}  // namespace

std::string band_of(RateCounts counts, const Bands& bands) {
  if (rate_below(counts, bands.watch_from)) return "healthy";
  // alarm when rate > alarm_above, i.e. not (rate <= alarm_above)
  __extension__ typedef __int128 Wide;
  const bool above = static_cast<Wide>(counts.returned) * kBasisPointsWhole >
                     static_cast<Wide>(bands.alarm_above) * counts.accepted;
  return above ? "alarm" : "watch";
}

Period Period::trailing(Millis now, int days) {
  const DayRange days_range = trailing_days(now, days);
  return Period{days_range.first, days_range.last};
}

std::string_view to_string(Dimension d) {
  switch (d) {
    case Dimension::buyer:
      return "buyer";
    case Dimension::supplier:
      return "supplier";
    case Dimension::campaign:
      return "campaign";
    case Dimension::reason:
      return "reason";
    case Dimension::day:
      return "day";
  }
  return "";
}

std::optional<Dimension> dimension_from_string(std::string_view s) {
  for (Dimension d : {Dimension::buyer, Dimension::supplier, Dimension::campaign, Dimension::reason,
                      Dimension::day}) {
    if (to_string(d) == s) return d;
  }
  return std::nullopt;
}

Json to_json(const Table& table) {
  Json rows = Json::array();
  for (const auto& row : table.rows) {
    Json obj = Json::object();
    for (std::size_t i = 0; i < table.columns.size() && i < row.size(); ++i) {
      obj[table.columns[i]] = row[i];
    }
    rows.push_back(std::move(obj));
  }
  return rows;
}

std::string to_csv(const Table& table) {
  std::string out;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_cell(table.columns[i]);
  }
  out += "\r\n";
  for (const auto& row : table.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_cell(row[i]);
    }
    out += "\r\n";
  }
  return out;
}

Result<Table> return_rates(Database& db, Dimension dim, Period period, const Bands& bands) {
  Table t;
  t.columns = {"key", "accepted", "returned", "rate", "band"};
  if (dim == Dimension::reason) {
    Result<Statement> total =
        db.prepare("SELECT COALESCE(SUM(leads), 0) FROM agg_daily WHERE day BETWEEN ?1 AND ?2");
    if (!total.ok()) return total.error();
    total->bind(1, period.from_day).bind(2, period.to_day);
    std::int64_t accepted = 0;
    if (total->step()) accepted = total->int64(0);
    Result<Statement> st = db.prepare(
        "SELECT reason, SUM(returned) FROM agg_reason WHERE day BETWEEN ?1 AND ?2 "
        "GROUP BY reason HAVING SUM(returned) != 0 ORDER BY reason");
    if (!st.ok()) return st.error();
    st->bind(1, period.from_day).bind(2, period.to_day);
    while (st->step()) {
      const RateCounts c{st->int64(1), accepted};
      t.rows.push_back({st->text(0), c.accepted, c.returned, rate_fraction(c), band_of(c, bands)});
    }
    if (!st->status().ok()) return st->status().error();
    return t;
  }
  const std::string col = key_column(dim);
  Result<Statement> st = db.prepare("SELECT " + col +
                                    ", SUM(leads), SUM(returned) FROM agg_daily "
                                    "WHERE day BETWEEN ?1 AND ?2 GROUP BY 1 ORDER BY 1");
  if (!st.ok()) return st.error();
  st->bind(1, period.from_day).bind(2, period.to_day);
  while (st->step()) {
    const RateCounts c{st->int64(2), st->int64(1)};
    Json key = dim == Dimension::day ? Json(st->int64(0)) : Json(st->text(0));
    t.rows.push_back({key, c.accepted, c.returned, rate_fraction(c), band_of(c, bands)});
  }
  if (!st->status().ok()) return st->status().error();
  return t;
}

Result<Table> rate_matrix(Database& db, Period period, const Bands& bands) {
  Table t;
  t.columns = {"buyer_id", "supplier_id", "accepted", "returned", "rate", "band"};
  Result<Statement> st = db.prepare(
      "SELECT buyer_id, supplier_id, SUM(leads), SUM(returned) FROM agg_daily "
      "WHERE day BETWEEN ?1 AND ?2 GROUP BY 1, 2 ORDER BY 1, 2");
  if (!st.ok()) return st.error();
  st->bind(1, period.from_day).bind(2, period.to_day);
  while (st->step()) {
    const RateCounts c{st->int64(3), st->int64(2)};
    t.rows.push_back(
        {st->text(0), st->text(1), c.accepted, c.returned, rate_fraction(c), band_of(c, bands)});
  }
  if (!st->status().ok()) return st->status().error();
  return t;
}

Result<Table> pnl(Database& db, Dimension dim, Period period) {
  if (dim == Dimension::reason) {
    return make_error(ErrorCode::INVALID_ENUM, "by",
                      "P&L is reported by day, buyer, supplier or campaign.");
  }
  Table t;
  t.columns = {"key",
               "leads",
               "returned",
               "gross_revenue_cents",
               "returned_revenue_cents",
               "net_revenue_cents",
               "cost_cents",
               "chargeback_cents",
               "net_cost_cents",
               "margin_cents"};
  const std::string col = key_column(dim);
  Result<Statement> st = db.prepare(
      "SELECT " + col +
      ", SUM(leads), SUM(returned), SUM(revenue_cents), SUM(credited_cents), SUM(cost_cents), "
      "SUM(chargeback_cents) FROM agg_daily WHERE day BETWEEN ?1 AND ?2 GROUP BY 1 ORDER BY 1");
  if (!st.ok()) return st.error();
  st->bind(1, period.from_day).bind(2, period.to_day);
  std::vector<std::int64_t> sums(t.columns.size(), 0);
  while (st->step()) {
    const Money gross = st->int64(3), returned = st->int64(4), cost = st->int64(5),
                chargeback = st->int64(6);
    const Money net = gross - returned, net_cost = cost - chargeback;
    Json key = dim == Dimension::day ? Json(st->int64(0)) : Json(st->text(0));
    t.rows.push_back({key, st->int64(1), st->int64(2), gross, returned, net, cost, chargeback,
                      net_cost, net - net_cost});
    for (std::size_t c = 1; c < sums.size(); ++c) sums[c] += t.rows.back()[c].get<std::int64_t>();
  }
  if (!st->status().ok()) return st->status().error();
  t.total = std::vector<Json>{"total"};
  for (std::size_t c = 1; c < sums.size(); ++c) t.total->push_back(sums[c]);
  return t;
}

Period spike_recent_period(Millis now, const SpikeConfig& cfg) {
  return Period::trailing(now, cfg.recent_days);
}

Period spike_baseline_period(Millis now, const SpikeConfig& cfg) {
  const std::int64_t to = utc_day(now) - cfg.recent_days;
  return Period{to - cfg.baseline_days + 1, to};
}

Result<PairCounts> buyer_supplier_counts(Database& db, Period period) {
  Result<Statement> st = db.prepare(
      "SELECT buyer_id, supplier_id, SUM(leads), SUM(returned) FROM agg_daily "
      "WHERE day BETWEEN ?1 AND ?2 GROUP BY 1, 2");
  if (!st.ok()) return st.error();
  st->bind(1, period.from_day).bind(2, period.to_day);
  PairCounts out;
  while (st->step()) out[{st->text(0), st->text(1)}] = RateCounts{st->int64(3), st->int64(2)};
  if (!st->status().ok()) return st->status().error();
  return out;
}

namespace {

// Counts of one kind of subject (suppliers or buyers): per subject, and per subject and
// counterpart.
struct Sample {
  std::map<std::string, RateCounts> subject;
  std::map<std::string, std::map<std::string, RateCounts>> pair;  // subject -> other -> counts
};

Sample regroup(const PairCounts& counts, bool by_supplier) {
  Sample s;
  for (const auto& [key, c] : counts) {
    const std::string& subject = by_supplier ? key.second : key.first;
    const std::string& other = by_supplier ? key.first : key.second;
    RateCounts& total = s.subject[subject];
    total.accepted += c.accepted;
    total.returned += c.returned;
    s.pair[subject][other] = c;
  }
  return s;
}

RateCounts minus(RateCounts a, RateCounts b) {
  return RateCounts{a.returned - b.returned, a.accepted - b.accepted};
}

// Two-proportion z-score of recent over base, pooled variance. Plain IEEE arithmetic and sqrt
// (correctly rounded), so every platform agrees.
double z_score(RateCounts recent, RateCounts base) {
  if (recent.accepted <= 0 || base.accepted <= 0) return 0;
  const double n1 = static_cast<double>(recent.accepted), n0 = static_cast<double>(base.accepted);
  const double p1 = static_cast<double>(recent.returned) / n1;
  const double p0 = static_cast<double>(base.returned) / n0;
  const double p = static_cast<double>(recent.returned + base.returned) / (n1 + n0);
  const double se = std::sqrt(p * (1 - p) * (1 / n1 + 1 / n0));
  if (se <= 0) return p1 > p0 ? std::numeric_limits<double>::infinity() : 0;
  return (p1 - p0) / se;
}

bool jumps(RateCounts recent, RateCounts base, const SpikeConfig& cfg) {
  return rate_at_least_factor(recent, base, cfg.factor_bp) &&
         rate_at_least_plus(recent, base, cfg.min_jump_bp) && z_score(recent, base) >= cfg.min_z;
}

}  // namespace

std::vector<Spike> spikes_from_counts(const PairCounts& recent_counts,
                                      const PairCounts& baseline_counts, const SpikeConfig& cfg) {
  __extension__ typedef __int128 Wide;
  std::vector<Spike> out;
  struct Kind {
    const char* kind;
    bool by_supplier;
    const char* subject_word;
    const char* other_word;
  };
  for (const Kind& k : {Kind{"supplier_quality_drop", true, "Supplier", "buyers"},
                        Kind{"buyer_intake_change", false, "Buyer", "suppliers"}}) {
    const Sample recent = regroup(recent_counts, k.by_supplier);
    const Sample base = regroup(baseline_counts, k.by_supplier);
    for (const auto& [subject, r] : recent.subject) {
      auto bit = base.subject.find(subject);
      const RateCounts b = bit != base.subject.end() ? bit->second : RateCounts{};
      // Rules 1 and 2.
      if (r.accepted < cfg.min_leads || b.accepted < cfg.min_leads) continue;
      if (!jumps(r, b, cfg)) continue;
      const auto& rpairs = recent.pair.at(subject);
      static const std::map<std::string, RateCounts> kNone;
      auto bp = base.pair.find(subject);
      const auto& bpairs = bp != base.pair.end() ? bp->second : kNone;
      Spike s;
      s.kind = k.kind;
      s.subject_id = subject;
      s.recent = r;
      s.baseline = b;
      // Rule 3: breadth. Rule 4: the counterpart adding the most returns above the baseline.
      std::string top;
      Wide top_excess = 0;
      for (const auto& [other, pr] : rpairs) {
        auto it = bpairs.find(other);
        const RateCounts pb = it != bpairs.end() ? it->second : RateCounts{};
        // excess * b.accepted = pr.returned * b.accepted - pr.accepted * b.returned
        const Wide excess = static_cast<Wide>(pr.returned) * b.accepted -
                            static_cast<Wide>(pr.accepted) * b.returned;
        if (top.empty() || excess > top_excess) {
          top = other;
          top_excess = excess;
        }
        if (pr.accepted < cfg.min_pair_leads) continue;
        const RateCounts ref = pb.accepted >= cfg.min_pair_leads ? pb : b;
        if (rate_at_least_factor(pr, ref, cfg.pair_factor_bp)) s.counterparts.push_back(other);
      }
      if (static_cast<int>(s.counterparts.size()) < cfg.min_breadth) continue;
      if (cfg.exclude_top_counterpart) {
        auto it = bpairs.find(top);
        const RateCounts rest_r = minus(r, rpairs.at(top));
        const RateCounts rest_b = minus(b, it != bpairs.end() ? it->second : RateCounts{});
        if (rest_r.accepted <= 0 || rest_b.accepted <= 0 || !jumps(rest_r, rest_b, cfg)) continue;
      }
      s.sentence = std::string(k.subject_word) + " " + subject + ": " +
                   std::to_string(cfg.recent_days) + "-day return rate " + rate_percent(r) +
                   " against a " + std::to_string(cfg.baseline_days) + "-day baseline of " +
                   rate_percent(b) + ", across " + std::to_string(s.counterparts.size()) + " " +
                   k.other_word + ".";
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<std::vector<Spike>> find_spikes(Database& db, Millis now, const SpikeConfig& cfg) {
  Result<PairCounts> recent = buyer_supplier_counts(db, spike_recent_period(now, cfg));
  if (!recent.ok()) return recent.error();
  Result<PairCounts> base = buyer_supplier_counts(db, spike_baseline_period(now, cfg));
  if (!base.ok()) return base.error();
  return spikes_from_counts(*recent, *base, cfg);
}

Json to_json(const Spike& s) {
  auto counts = [](RateCounts c) {
    return Json{{"accepted", c.accepted}, {"returned", c.returned}, {"rate", rate_fraction(c)}};
  };
  return Json{{"kind", s.kind},
              {"subject_id", s.subject_id},
              {"recent", counts(s.recent)},
              {"baseline", counts(s.baseline)},
              {"counterparts", s.counterparts},
              {"sentence", s.sentence}};
}

}  // namespace returns::store
