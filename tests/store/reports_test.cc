// reports_test.cc — the reports of docs/reports.md on a small hand-built world whose every figure
// is computed by hand below: return rates (per buyer, supplier, campaign, reason, day), the
// buyer × supplier matrix, P&L with partial credit, charge-back overrides, pass-through suppliers
// and a reopen; rate bands at their exact boundaries; CSV rendering; spike rules and alerts.
#include "store/reports.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.h"
#include "store/temp_db.h"

namespace returns::store {
namespace {

constexpr std::int64_t kD0 = 19'675;  // 2023-11-14 (UTC day number)
constexpr Millis kT0 = kD0 * kMillisPerDay + 10 * kMillisPerHour;
constexpr Millis kT1 = kT0 + kMillisPerDay;  // deliveries of day kD0 + 1

// "L7" etc. (appending, not `"L" + std::to_string(n)`, which trips GCC 12's -Wrestrict at -O3).
std::string numbered(const char* prefix, long long n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

class TempStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(db_.path(), StoreOptions{Database::Sync::normal});
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    db_.remove();
  }

  static Lead lead(const std::string& id, const std::string& buyer, const std::string& supplier,
                   const std::string& campaign, Money price, Money cost, Millis at) {
    Lead l;
    l.id = id;
    l.buyer_id = buyer;
    l.supplier_id = supplier;
    l.campaign_id = campaign;
    l.vertical = "mva";
    l.state = "TX";
    l.zip = "75001";
    l.contact_hash = "h-" + id;
    l.price_cents = price;
    l.cost_cents = cost;
    l.delivered_at = at;
    return l;
  }

  // Applies one op and expects it applied.
  void apply(const Actor& actor, const std::string& op, Json args, Millis now) {
    const std::string client = actor.role == Role::operator_ ? "dash" : "portal-" + actor.buyer_id;
    std::vector<OpRequest> batch = {
        OpRequest{client, ++seqs_[client], actor, op, std::move(args), now}};
    auto r = store_->apply_ops(batch, now);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE((*r)[0].applied) << op << ": " << (*r)[0].message;
  }

  TempDb db_{"reports"};
  std::unique_ptr<Store> store_;
  std::map<std::string, std::int64_t> seqs_;
};

// Buyer BP (prepaid) and BN (net terms), both manual review so the operator decides everything.
// Supplier S1 keeps its payout on returns; S2 passes returns through.
//   day 0: BP via S1, L1..L10 (price 100.00, cost 60.00); BP via S2, L11..L15 (same prices)
//   day 1: BN via S1, L16..L25 (price 50.00, cost 30.00)
// Returns:
//   L1  bad_contact          accepted, full credit 10000, no charge-back (S1)
//   L2  duplicate            accepted, partial 4000, charge-back override: 6000*4000/10000 = 2400
//   L3  bad_contact          rejected
//   L11 tcpa_risk            accepted, full; S2 passes through: charge-back 6000
//   L12 other                accepted, full (10000, charge-back 6000), reopened, rejected: 0 net
//   L13 out_of_service_area  accepted, full; charge-back 6000
//   L16 wrong_vertical       accepted, full 5000, no charge-back
//   L17 bad_contact          accepted, full 5000, charge-back override: 3000
//   L18 bad_contact          rejected
class Reports : public TempStore {
 protected:
  void SetUp() override {
    TempStore::SetUp();
    Policy manual = default_policy();
    manual.mode = PolicyMode::manual;
    ASSERT_TRUE(store_->put_buyer({"BP", "Prepaid Buyer", Billing::prepaid, {}, manual}, 0).ok());
    ASSERT_TRUE(store_->put_buyer({"BN", "Net Buyer", Billing::net_terms, {}, manual}, 0).ok());
    ASSERT_TRUE(store_->put_supplier({"S1", "Keeps payout", false}, 0).ok());
    ASSERT_TRUE(store_->put_supplier({"S2", "Passes through", true}, 0).ok());
    ASSERT_TRUE(store_->put_campaign({"CP", "BP", "mva", 10000}, 0).ok());
    ASSERT_TRUE(store_->put_campaign({"CN", "BN", "mva", 5000}, 0).ok());
    std::vector<Lead> leads;
    for (int i = 1; i <= 25; ++i) {
      const std::string id = numbered("L", i);
      if (i <= 10)
        leads.push_back(lead(id, "BP", "S1", "CP", 10000, 6000, kT0 + i));
      else if (i <= 15)
        leads.push_back(lead(id, "BP", "S2", "CP", 10000, 6000, kT0 + i));
      else
        leads.push_back(lead(id, "BN", "S1", "CN", 5000, 3000, kT1 + i));
    }
    auto ing = store_->ingest_leads(leads, kT1 + 100);
    ASSERT_TRUE(ing.ok());
    ASSERT_EQ(ing->inserted, 25);

    const Actor bp = Actor::buyer("BP"), bn = Actor::buyer("BN"), op = Actor::operator_("ann");
    Millis t = kT1 + kMillisPerHour;
    auto submit = [&](const Actor& who, const std::string& ret, const std::string& lead_id,
                      const std::string& reason, const std::string& note = "") {
      Json args{{"return_id", ret}, {"lead_id", lead_id}, {"reason", reason}};
      if (!note.empty()) args["note"] = note;
      apply(who, "submit_return", args, t += kMillisPerMinute);
    };
    submit(bp, "R1", "L1", "bad_contact");
    submit(bp, "R2", "L2", "duplicate");
    submit(bp, "R3", "L3", "bad_contact");
    submit(bp, "R11", "L11", "tcpa_risk");
    submit(bp, "R12", "L12", "other", "Consumer is already represented.");
    submit(bp, "R13", "L13", "out_of_service_area");
    submit(bn, "R16", "L16", "wrong_vertical");
    submit(bn, "R17", "L17", "bad_contact");
    submit(bn, "R18", "L18", "bad_contact");
    auto decide = [&](const std::string& op_name, Json args) {
      apply(op, op_name, std::move(args), t += kMillisPerMinute);
    };
    decide("accept_return", {{"return_id", "R1"}});
    decide("accept_return", {{"return_id", "R2"}, {"credit_cents", 4000}, {"charge_back", true}});
    decide("reject_return", {{"return_id", "R3"}, {"note", "Recording shows a real call."}});
    decide("accept_return", {{"return_id", "R11"}});
    decide("accept_return", {{"return_id", "R12"}});
    decide("accept_return", {{"return_id", "R13"}});
    decide("accept_return", {{"return_id", "R16"}});
    decide("accept_return", {{"return_id", "R17"}, {"charge_back", true}});
    decide("reject_return", {{"return_id", "R18"}, {"note", "Number connects."}});
    decide("reopen_return", {{"return_id", "R12"}, {"note", "Supplier dispute."}});
    decide("reject_return", {{"return_id", "R12"}, {"note", "Consumer was not represented."}});
  }

  const Period both_{kD0, kD0 + 1};
};

// key -> row as JSON object.
std::map<std::string, Json> by_key(const Table& t, const std::string& key = "key") {
  std::map<std::string, Json> out;
  for (const Json& row : to_json(t)) {
    const Json& k = row.at(key);
    out[k.is_string() ? k.get<std::string>() : k.dump()] = row;
  }
  return out;
}

void expect_rate(const Json& row, std::int64_t accepted, std::int64_t returned,
                 const std::string& band) {
  EXPECT_EQ(row.at("accepted"), accepted) << row.dump();
  EXPECT_EQ(row.at("returned"), returned) << row.dump();
  EXPECT_DOUBLE_EQ(row.at("rate").get<double>(),
                   static_cast<double>(returned) / static_cast<double>(accepted));
  EXPECT_EQ(row.at("band"), band) << row.dump();
}

TEST_F(Reports, RatesPerBuyerSupplierCampaignDay) {
  auto buyers = return_rates(store_->db(), Dimension::buyer, both_);
  ASSERT_TRUE(buyers.ok());
  auto b = by_key(*buyers);
  ASSERT_EQ(b.size(), 2u);
  expect_rate(b["BP"], 15, 4, "alarm");  // L1, L2, L11, L13 (L12 reopened, L3 rejected)
  expect_rate(b["BN"], 10, 2, "alarm");  // L16, L17

  auto suppliers = return_rates(store_->db(), Dimension::supplier, both_);
  ASSERT_TRUE(suppliers.ok());
  auto s = by_key(*suppliers);
  expect_rate(s["S1"], 20, 4, "alarm");  // L1, L2, L16, L17
  expect_rate(s["S2"], 5, 2, "alarm");   // L11, L13

  auto campaigns = return_rates(store_->db(), Dimension::campaign, both_);
  ASSERT_TRUE(campaigns.ok());
  auto c = by_key(*campaigns);
  expect_rate(c["CP"], 15, 4, "alarm");
  expect_rate(c["CN"], 10, 2, "alarm");

  // By lead delivery day: BP's leads on day 0, BN's on day 1, whenever the returns came.
  auto days = return_rates(store_->db(), Dimension::day, both_);
  ASSERT_TRUE(days.ok());
  auto d = by_key(*days);
  expect_rate(d[std::to_string(kD0)], 15, 4, "alarm");
  expect_rate(d[std::to_string(kD0 + 1)], 10, 2, "alarm");
  EXPECT_TRUE(to_json(*days)[0]["key"].is_number());

  // A period holding only day 1; an empty period has no rows.
  auto one = return_rates(store_->db(), Dimension::buyer, Period{kD0 + 1, kD0 + 1});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->rows.size(), 1u);
  expect_rate(by_key(*one)["BN"], 10, 2, "alarm");
  auto none = return_rates(store_->db(), Dimension::buyer, Period{kD0 + 5, kD0 + 9});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rows.empty());
}

TEST_F(Reports, ReasonRatesAddUpToTheOverallRate) {
  auto reasons = return_rates(store_->db(), Dimension::reason, both_);
  ASSERT_TRUE(reasons.ok());
  auto r = by_key(*reasons);
  // `other` (L12) was reopened and rejected: no returned lead left, no row.
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.count("other"), 0u);
  expect_rate(r["bad_contact"], 25, 2, "watch");  // L1, L17: exactly 8 %
  expect_rate(r["duplicate"], 25, 1, "healthy");
  expect_rate(r["tcpa_risk"], 25, 1, "healthy");
  expect_rate(r["out_of_service_area"], 25, 1, "healthy");
  expect_rate(r["wrong_vertical"], 25, 1, "healthy");
  std::int64_t returned = 0;
  double rate = 0;
  for (const auto& [k, row] : r) {
    returned += row["returned"].get<std::int64_t>();
    rate += row["rate"].get<double>();
  }
  EXPECT_EQ(returned, 6);
  EXPECT_NEAR(rate, 6.0 / 25.0, 1e-12);
  auto buyers = return_rates(store_->db(), Dimension::buyer, both_);
  ASSERT_TRUE(buyers.ok());
  std::int64_t overall = 0;
  for (const Json& row : to_json(*buyers)) overall += row["returned"].get<std::int64_t>();
  EXPECT_EQ(overall, returned);
}

TEST_F(Reports, MatrixIsTheDrillDown) {
  auto m = rate_matrix(store_->db(), both_);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->columns, (std::vector<std::string>{"buyer_id", "supplier_id", "accepted", "returned",
                                                  "rate", "band"}));
  Json rows = to_json(*m);
  ASSERT_EQ(rows.size(), 3u);  // BN×S1, BP×S1, BP×S2 (ordered by buyer, supplier)
  EXPECT_EQ(rows[0]["buyer_id"], "BN");
  expect_rate(rows[0], 10, 2, "alarm");
  EXPECT_EQ(rows[1]["buyer_id"], "BP");
  EXPECT_EQ(rows[1]["supplier_id"], "S1");
  expect_rate(rows[1], 10, 2, "alarm");  // L1, L2
  EXPECT_EQ(rows[2]["supplier_id"], "S2");
  expect_rate(rows[2], 5, 2, "alarm");  // L11, L13
}

void expect_pnl(const Json& row, std::int64_t leads, std::int64_t returned, Money gross,
                Money returned_revenue, Money cost, Money chargeback) {
  EXPECT_EQ(row.at("leads"), leads) << row.dump();
  EXPECT_EQ(row.at("returned"), returned) << row.dump();
  EXPECT_EQ(row.at("gross_revenue_cents"), gross) << row.dump();
  EXPECT_EQ(row.at("returned_revenue_cents"), returned_revenue) << row.dump();
  EXPECT_EQ(row.at("net_revenue_cents"), gross - returned_revenue) << row.dump();
  EXPECT_EQ(row.at("cost_cents"), cost) << row.dump();
  EXPECT_EQ(row.at("chargeback_cents"), chargeback) << row.dump();
  EXPECT_EQ(row.at("net_cost_cents"), cost - chargeback) << row.dump();
  EXPECT_EQ(row.at("margin_cents"), (gross - returned_revenue) - (cost - chargeback)) << row.dump();
}

TEST_F(Reports, ProfitAndLossWithPartialCreditChargeBackAndReopen) {
  auto buyers = pnl(store_->db(), Dimension::buyer, both_);
  ASSERT_TRUE(buyers.ok());
  auto b = by_key(*buyers);
  // BP: credits 10000 + 4000 + 10000 + 10000 (+ 10000 - 10000 for the reopened L12);
  //     charge-backs 2400 (override, partial) + 6000 + 6000 (S2) (+ 6000 - 6000 for L12).
  expect_pnl(b["BP"], 15, 4, 150000, 34000, 90000, 14400);
  EXPECT_EQ(b["BP"]["margin_cents"], 40400);
  // BN: credits 5000 + 5000; charge-back 3000 (override on S1).
  expect_pnl(b["BN"], 10, 2, 50000, 10000, 30000, 3000);
  EXPECT_EQ(b["BN"]["margin_cents"], 13000);

  auto suppliers = pnl(store_->db(), Dimension::supplier, both_);
  ASSERT_TRUE(suppliers.ok());
  auto s = by_key(*suppliers);
  expect_pnl(s["S1"], 20, 4, 150000, 24000, 90000, 5400);
  expect_pnl(s["S2"], 5, 2, 50000, 20000, 30000, 12000);

  auto days = pnl(store_->db(), Dimension::day, both_);
  ASSERT_TRUE(days.ok());
  auto d = by_key(*days);
  expect_pnl(d[std::to_string(kD0)], 15, 4, 150000, 34000, 90000, 14400);
  expect_pnl(d[std::to_string(kD0 + 1)], 10, 2, 50000, 10000, 30000, 3000);

  auto campaigns = pnl(store_->db(), Dimension::campaign, both_);
  ASSERT_TRUE(campaigns.ok());
  expect_pnl(by_key(*campaigns)["CN"], 10, 2, 50000, 10000, 30000, 3000);

  // Margins add up the same whichever way the P&L is cut.
  Money by_buyer = 0, by_supplier = 0;
  for (const Json& row : to_json(*buyers)) by_buyer += row["margin_cents"].get<Money>();
  for (const Json& row : to_json(*suppliers)) by_supplier += row["margin_cents"].get<Money>();
  EXPECT_EQ(by_buyer, 53400);
  EXPECT_EQ(by_supplier, 53400);
  // The report's own total row says the same, whichever way it is cut.
  for (const auto* t : {&*buyers, &*suppliers, &*days, &*campaigns}) {
    ASSERT_TRUE(t->total.has_value());
    EXPECT_EQ(t->total->front(), "total");
  }
  Table total_only = *buyers;
  total_only.rows = {*buyers->total};
  expect_pnl(to_json(total_only).at(0), 25, 6, 200000, 44000, 120000, 17400);
  EXPECT_EQ((*suppliers->total)[9], 53400);
}

TEST_F(Reports, ProfitAndLossByReasonIsRefused) {
  auto r = pnl(store_->db(), Dimension::reason, both_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::INVALID_ENUM);
}

TEST_F(Reports, CsvHasTheHeaderAndOneLinePerRow) {
  auto buyers = return_rates(store_->db(), Dimension::buyer, both_);
  ASSERT_TRUE(buyers.ok());
  EXPECT_EQ(to_csv(*buyers),
            "key,accepted,returned,rate,band\r\n"
            "BN,10,2,0.2,alarm\r\n"
            "BP,15,4," +
                Json(4.0 / 15.0).dump() + ",alarm\r\n");
}

TEST(ReportBands, BoundariesAreExact) {
  const Bands bands;  // healthy < 8 %, watch 8–15 % inclusive, alarm > 15 %
  EXPECT_EQ(band_of({0, 0}, bands), "healthy");  // nothing sold
  EXPECT_EQ(band_of({0, 100}, bands), "healthy");
  EXPECT_EQ(band_of({7, 100}, bands), "healthy");
  EXPECT_EQ(band_of({7999, 100000}, bands), "healthy");  // 7.999 %
  EXPECT_EQ(band_of({8, 100}, bands), "watch");          // exactly 8 %
  EXPECT_EQ(band_of({2, 25}, bands), "watch");           // exactly 8 %
  EXPECT_EQ(band_of({15, 100}, bands), "watch");         // exactly 15 %
  EXPECT_EQ(band_of({3, 20}, bands), "watch");           // exactly 15 %
  EXPECT_EQ(band_of({15001, 100000}, bands), "alarm");   // 15.001 %
  EXPECT_EQ(band_of({16, 100}, bands), "alarm");
  EXPECT_EQ(band_of({100, 100}, bands), "alarm");
  // Configurable.
  const Bands strict{500, 1000};
  EXPECT_EQ(band_of({4, 100}, strict), "healthy");
  EXPECT_EQ(band_of({5, 100}, strict), "watch");
  EXPECT_EQ(band_of({10, 100}, strict), "watch");
  EXPECT_EQ(band_of({11, 100}, strict), "alarm");
}

TEST(ReportCsv, QuotesCommasQuotesAndNewlines) {
  Table t;
  t.columns = {"key", "note, with comma", "n"};
  t.rows = {
      {"plain", "a,b", 1},
      {"say \"hi\"", "two\nlines", -5},
      {"cr\rhere", "", 0.25},
  };
  EXPECT_EQ(to_csv(t),
            "key,\"note, with comma\",n\r\n"
            "plain,\"a,b\",1\r\n"
            "\"say \"\"hi\"\"\",\"two\nlines\",-5\r\n"
            "\"cr\rhere\",,0.25\r\n");
  Table empty;
  empty.columns = {"key"};
  EXPECT_EQ(to_csv(empty), "key\r\n");
}

TEST(ReportPeriods, TrailingAndSpikeWindows) {
  const Millis now = 19'700 * kMillisPerDay + 15 * kMillisPerHour;
  EXPECT_EQ(Period::trailing(now, 7).from_day, 19'694);
  EXPECT_EQ(Period::trailing(now, 7).to_day, 19'700);
  EXPECT_EQ(Period::trailing(now, 30).from_day, 19'671);
  EXPECT_EQ(spike_recent_period(now).from_day, 19'694);
  EXPECT_EQ(spike_baseline_period(now).to_day, 19'693);
  EXPECT_EQ(spike_baseline_period(now).from_day, 19'664);
}

// --- Spike rules on hand-made counts. -----------------------------------------------------------

PairCounts counts(std::initializer_list<std::tuple<const char*, const char*, int, int>> rows) {
  PairCounts c;
  for (const auto& [buyer, supplier, accepted, returned] : rows) {
    c[{buyer, supplier}] = RateCounts{returned, accepted};
  }
  return c;
}

TEST(ReportSpikeRules, SupplierDropAcrossBuyers) {
  // SX triples across four buyers; the buyers also buy from SY, which is stable.
  const PairCounts base = counts({{"B1", "SX", 300, 15},
                                  {"B2", "SX", 300, 15},
                                  {"B3", "SX", 300, 15},
                                  {"B4", "SX", 300, 15},
                                  {"B1", "SY", 300, 15},
                                  {"B2", "SY", 300, 15},
                                  {"B3", "SY", 300, 15},
                                  {"B4", "SY", 300, 15}});
  const PairCounts recent = counts({{"B1", "SX", 70, 12},
                                    {"B2", "SX", 70, 11},
                                    {"B3", "SX", 70, 12},
                                    {"B4", "SX", 70, 10},
                                    {"B1", "SY", 70, 4},
                                    {"B2", "SY", 70, 3},
                                    {"B3", "SY", 70, 4},
                                    {"B4", "SY", 70, 3}});
  const std::vector<Spike> s = spikes_from_counts(recent, base);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, "supplier_quality_drop");
  EXPECT_EQ(s[0].subject_id, "SX");
  EXPECT_EQ(s[0].recent, (RateCounts{45, 280}));
  EXPECT_EQ(s[0].baseline, (RateCounts{60, 1200}));
  EXPECT_EQ(s[0].counterparts, (std::vector<std::string>{"B1", "B2", "B3", "B4"}));
  EXPECT_EQ(s[0].sentence,
            "Supplier SX: 7-day return rate 16.0 % against a 30-day baseline of 5.0 %, across 4 "
            "buyers.");

  // Too few recent leads: no alert.
  SpikeConfig big;
  big.min_leads = 281;
  EXPECT_TRUE(spikes_from_counts(recent, base, big).empty());
  // Not enough breadth.
  SpikeConfig wide;
  wide.min_breadth = 5;
  EXPECT_TRUE(spikes_from_counts(recent, base, wide).empty());
  // A smaller jump than asked for.
  SpikeConfig steep;
  steep.factor_bp = 40'000;
  EXPECT_TRUE(spikes_from_counts(recent, base, steep).empty());
}

TEST(ReportSpikeRules, OneCounterpartDoesNotMakeASpike) {
  // SX's rate doubles overall, but only because of B1 (whose intake changed); B2 and B3 cross
  // 1.5× by chance on small samples. Breadth alone would alert; rule 4 does not.
  const PairCounts base = counts(
      {{"B1", "SX", 600, 30}, {"B2", "SX", 300, 15}, {"B3", "SX", 300, 15}, {"B4", "SX", 300, 15}});
  const PairCounts recent = counts(
      {{"B1", "SX", 140, 42}, {"B2", "SX", 30, 3}, {"B3", "SX", 30, 3}, {"B4", "SX", 70, 3}});
  SpikeConfig without_rule4;
  without_rule4.exclude_top_counterpart = false;
  const auto loose = spikes_from_counts(recent, base, without_rule4);
  ASSERT_EQ(loose.size(), 1u);
  EXPECT_EQ(loose[0].counterparts, (std::vector<std::string>{"B1", "B2", "B3"}));
  EXPECT_TRUE(spikes_from_counts(recent, base).empty());
}

TEST(ReportSpikeRules, BuyerIntakeChangeAcrossSuppliers) {
  const PairCounts base = counts(
      {{"B1", "S1", 400, 24}, {"B1", "S2", 400, 24}, {"B1", "S3", 400, 24}, {"B2", "S1", 400, 24}});
  const PairCounts recent = counts(
      {{"B1", "S1", 90, 18}, {"B1", "S2", 90, 17}, {"B1", "S3", 90, 19}, {"B2", "S1", 90, 5}});
  const std::vector<Spike> s = spikes_from_counts(recent, base);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, "buyer_intake_change");
  EXPECT_EQ(s[0].subject_id, "B1");
  EXPECT_EQ(s[0].counterparts, (std::vector<std::string>{"S1", "S2", "S3"}));
}

// --- detect_spikes through the store. -----------------------------------------------------------

// Four buyers take leads from a good supplier SG and a supplier SX; SX's leads of the last 7 days
// come back five times as often. All buyers auto-accept, so each return is one submit.
class ReportSpikeStore : public TempStore {
 protected:
  void SetUp() override {
    TempStore::SetUp();
    Policy always = default_policy();
    always.mode = PolicyMode::always_accept;
    ASSERT_TRUE(store_->put_supplier({"SG", "Good", false}, 0).ok());
    ASSERT_TRUE(store_->put_supplier({"SX", "Dropping", false}, 0).ok());
    const std::int64_t today = utc_day(now_);
    std::vector<Lead> leads;
    std::vector<std::pair<Lead, Millis>> returns;
    int n = 0;
    for (int b = 1; b <= 4; ++b) {
      const std::string buyer = numbered("B", b);
      ASSERT_TRUE(store_->put_buyer({buyer, buyer, Billing::prepaid, {}, always}, 0).ok());
      ASSERT_TRUE(store_->put_campaign({"C" + buyer, buyer, "mva", 1000}, 0).ok());
      for (std::int64_t day = today - 36; day <= today; ++day) {
        const bool recent = day > today - 7;
        for (const std::string supplier : {"SG", "SX"}) {
          // 10 leads a day per pair. Returned: one lead every other day (5 %), and for SX's
          // recent days three a day (30 %).
          for (int i = 0; i < 10; ++i) {
            Lead l = lead(numbered("L", ++n), buyer, supplier, "C" + buyer, 1000, 600,
                          day * kMillisPerDay + (i + 1) * kMillisPerHour);
            leads.push_back(l);
            const bool returned = recent && supplier == "SX" ? i % 4 == 0 : i == 0 && day % 2 == 0;
            if (returned) returns.push_back({l, l.delivered_at + kMillisPerHour});
          }
        }
      }
    }
    auto ing = store_->ingest_leads(leads, now_);
    ASSERT_TRUE(ing.ok());
    ASSERT_TRUE(ing->refused.empty());
    std::sort(returns.begin(), returns.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    for (const auto& [l, at] : returns) {
      apply(Actor::buyer(l.buyer_id), "submit_return",
            {{"return_id", "R-" + l.id}, {"lead_id", l.id}, {"reason", "bad_contact"}}, at);
    }
  }
  const Millis now_ = 19'700 * kMillisPerDay + 23 * kMillisPerHour;
};

TEST_F(ReportSpikeStore, DetectSpikesIsIdempotentPerDay) {
  auto first = store_->detect_spikes(now_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].kind, "supplier_quality_drop");
  EXPECT_EQ((*first)[0].subject_id, "SX");
  EXPECT_EQ((*first)[0].data["counterparts"].size(), 4u);
  const std::int64_t head = store_->head_version();

  // Later the same UTC day: nothing new, no event.
  auto again = store_->detect_spikes(now_ + 30 * kMillisPerMinute);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(store_->head_version(), head);
  std::size_t spikes = 0;
  for (const Alert& a : store_->alerts()) spikes += a.kind == "supplier_quality_drop";
  EXPECT_EQ(spikes, 1u);

  // The next day it is still there, and is raised for that day.
  auto next = store_->detect_spikes(now_ + kMillisPerDay);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_NE((*next)[0].id, (*first)[0].id);
  EXPECT_GT(store_->head_version(), head);
}

}  // namespace
}  // namespace returns::store
