// reports.cc — report queries over the aggregates, CSV/JSON rendering, spike detection.
#include "store/reports.h"

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
    case Dimension::buyer: return "buyer_id";
    case Dimension::supplier: return "supplier_id";
    case Dimension::campaign: return "campaign_id";
    case Dimension::day: return "day";
    case Dimension::reason: return "reason";
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

// Counts per subject and per (subject, counterpart) over a day range.
struct SpikeSample {
  std::map<std::string, RateCounts> subject;
  std::map<std::pair<std::string, std::string>, RateCounts> pair;
};

Result<SpikeSample> sample(Database& db, const char* subject_col, const char* other_col,
                           std::int64_t from_day, std::int64_t to_day) {
  const std::string sql = std::string("SELECT ") + subject_col + ", " + other_col +
                          ", SUM(leads), SUM(returned) FROM agg_daily WHERE day BETWEEN ?1 AND ?2 "
                          "GROUP BY 1, 2";
  Result<Statement> st = db.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind(1, from_day).bind(2, to_day);
  SpikeSample s;
  while (st->step()) {
    const RateCounts c{st->int64(3), st->int64(2)};
    RateCounts& total = s.subject[st->text(0)];
    total.accepted += c.accepted;
    total.returned += c.returned;
    s.pair[{st->text(0), st->text(1)}] = c;
  }
  if (!st->status().ok()) return st->status().error();
  return s;
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
  const std::int64_t today = utc_day(now);
  return Period{today - days + 1, today};
}

std::string_view to_string(Dimension d) {
  switch (d) {
    case Dimension::buyer: return "buyer";
    case Dimension::supplier: return "supplier";
    case Dimension::campaign: return "campaign";
    case Dimension::reason: return "reason";
    case Dimension::day: return "day";
  }
  return "";
}

std::optional<Dimension> dimension_from_string(std::string_view s) {
  for (Dimension d : {Dimension::buyer, Dimension::supplier, Dimension::campaign,
                      Dimension::reason, Dimension::day}) {
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
    Result<Statement> total = db.prepare(
        "SELECT COALESCE(SUM(leads), 0) FROM agg_daily WHERE day BETWEEN ?1 AND ?2");
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
    return make_error(ErrorCode::INVALID_ENUM, "by", "P&L is reported by day, buyer, supplier or campaign.");
  }
  Table t;
  t.columns = {"key",       "leads",           "returned",   "gross_revenue_cents",
               "returned_revenue_cents", "net_revenue_cents", "cost_cents",
               "chargeback_cents", "net_cost_cents", "margin_cents"};
  const std::string col = key_column(dim);
  Result<Statement> st = db.prepare(
      "SELECT " + col +
      ", SUM(leads), SUM(returned), SUM(revenue_cents), SUM(credited_cents), SUM(cost_cents), "
      "SUM(chargeback_cents) FROM agg_daily WHERE day BETWEEN ?1 AND ?2 GROUP BY 1 ORDER BY 1");
  if (!st.ok()) return st.error();
  st->bind(1, period.from_day).bind(2, period.to_day);
  while (st->step()) {
    const Money gross = st->int64(3), returned = st->int64(4), cost = st->int64(5),
                chargeback = st->int64(6);
    const Money net = gross - returned, net_cost = cost - chargeback;
    Json key = dim == Dimension::day ? Json(st->int64(0)) : Json(st->text(0));
    t.rows.push_back({key, st->int64(1), st->int64(2), gross, returned, net, cost, chargeback,
                      net_cost, net - net_cost});
  }
  if (!st->status().ok()) return st->status().error();
  return t;
}

Result<std::vector<Spike>> find_spikes(Database& db, Millis now, const SpikeConfig& cfg) {
  const std::int64_t today = utc_day(now);
  const std::int64_t recent_from = today - cfg.recent_days + 1;
  const std::int64_t base_to = recent_from - 1;
  const std::int64_t base_from = base_to - cfg.baseline_days + 1;
  std::vector<Spike> out;
  struct Kind {
    const char* kind;
    const char* subject;
    const char* other;
    const char* subject_word;
    const char* other_word;
  };
  for (const Kind& k : {Kind{"supplier_quality_drop", "supplier_id", "buyer_id", "Supplier",
                             "buyers"},
                        Kind{"buyer_intake_change", "buyer_id", "supplier_id", "Buyer",
                             "suppliers"}}) {
    Result<SpikeSample> recent = sample(db, k.subject, k.other, recent_from, today);
    if (!recent.ok()) return recent.error();
    Result<SpikeSample> base = sample(db, k.subject, k.other, base_from, base_to);
    if (!base.ok()) return base.error();
    for (const auto& [subject, r] : recent->subject) {
      const RateCounts b = base->subject.count(subject) ? base->subject.at(subject) : RateCounts{};
      if (r.accepted < cfg.min_leads || b.accepted < cfg.min_leads) continue;
      if (!rate_at_least_factor(r, b, cfg.factor_bp) || !rate_at_least_plus(r, b, cfg.min_jump_bp)) {
        continue;
      }
      Spike s;
      s.kind = k.kind;
      s.subject_id = subject;
      s.recent = r;
      s.baseline = b;
      for (const auto& [key, pr] : recent->pair) {
        if (key.first != subject || pr.accepted < cfg.min_pair_leads) continue;
        auto it = base->pair.find(key);
        const RateCounts pb = it != base->pair.end() ? it->second : b;
        // Each counterpart is compared with its own baseline, falling back to the subject's.
        const RateCounts ref = pb.accepted >= cfg.min_pair_leads ? pb : b;
        if (rate_at_least_factor(pr, ref, cfg.pair_factor_bp)) s.counterparts.push_back(key.second);
      }
      if (static_cast<int>(s.counterparts.size()) < cfg.min_breadth) continue;
      s.sentence = std::string(k.subject_word) + " " + subject + ": 7-day return rate " +
                   rate_percent(r) + " against a 30-day baseline of " + rate_percent(b) +
                   ", across " + std::to_string(s.counterparts.size()) + " " + k.other_word + ".";
      out.push_back(std::move(s));
    }
  }
  return out;
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
