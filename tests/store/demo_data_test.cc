// demo_data_test.cc — the demo data set: with the default config it raises exactly
// the two intended spike alerts (and no spike on any earlier day), it has the believable shape
// the screens rely on, and it is deterministic: the same seed writes the very same tables, a
// different seed different ones.
#include "store/demo_data.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "store/reports.h"
#include "store/temp_db.h"

namespace returns::store {
namespace {

// FNV-1a over every row of every table, in key order.
std::uint64_t hash_tables(Database& db) {
  static const std::vector<std::pair<std::string, std::string>> kTables = {
      {"buyers", "id"},
      {"suppliers", "id"},
      {"campaigns", "id"},
      {"leads", "id"},
      {"returns", "id"},
      {"messages", "id"},
      {"ledger", "id"},
      {"events", "version"},
      {"clients", "client_id"},
      {"op_results", "client_id, seq"},
      {"alerts", "id"},
      {"agg_daily", "day, buyer_id, supplier_id, campaign_id"},
      {"agg_reason", "day, buyer_id, supplier_id, campaign_id, reason"},
  };
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 0x100000001b3ULL;
    }
  };
  for (const auto& [table, order] : kTables) {
    const std::string sql = "SELECT * FROM " + table + " ORDER BY " + order;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    feed(table.data(), table.size());
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* text = sqlite3_column_text(st, c);
        const int n = sqlite3_column_bytes(st, c);
        if (text != nullptr) feed(text, static_cast<std::size_t>(n));
        feed("\x1f", 1);
      }
      feed("\x1e", 1);
    }
    sqlite3_finalize(st);
  }
  return h;
}

std::int64_t count(Database& db, const std::string& sql) {
  Result<Statement> st = db.prepare(sql);
  EXPECT_TRUE(st.ok()) << sql;
  if (!st.ok() || !st->step()) return -1;
  return st->int64(0);
}

// One default demo shared by the tests of this suite (it takes a few seconds to write).
class DemoData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TempDb("demo_default");
    auto s = Store::open(db_->path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value().release();
    auto sum = generate_demo(*store_, DemoConfig{});
    ASSERT_TRUE(sum.ok()) << sum.error().message;
    summary_ = new DemoSummary(std::move(sum).value());
  }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
    delete summary_;
    summary_ = nullptr;
    delete db_;
    db_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(store_, nullptr);
    ASSERT_NE(summary_, nullptr);
  }

  static inline TempDb* db_ = nullptr;
  static inline Store* store_ = nullptr;
  static inline DemoSummary* summary_ = nullptr;
};

TEST_F(DemoData, RaisesExactlyTheTwoIntendedAlerts) {
  const DemoFacts facts = demo_facts();
  std::set<std::pair<std::string, std::string>> raised;
  for (const Alert& a : summary_->alerts) raised.insert({a.kind, a.subject_id});
  const std::set<std::pair<std::string, std::string>> intended = {
      {"supplier_quality_drop", facts.quality_drop_supplier},
      {"buyer_intake_change", facts.intake_change_buyer},
  };
  EXPECT_EQ(summary_->alerts.size(), 2u);
  EXPECT_EQ(raised, intended);

  // Stored as alerts too, next to the routing-filter alerts of out-of-area returns.
  std::set<std::pair<std::string, std::string>> stored;
  std::size_t routing = 0;
  for (const Alert& a : store_->alerts()) {
    if (a.kind == "routing_filter") {
      ++routing;
    } else {
      stored.insert({a.kind, a.subject_id});
    }
  }
  EXPECT_EQ(stored, intended);
  EXPECT_GT(routing, 0u);

  // The alerts say how far each rate jumped, and across whom.
  for (const Alert& a : summary_->alerts) {
    EXPECT_GE(a.data["counterparts"].size(), 3u) << a.data.dump();
    EXPECT_GT(a.data["recent"]["rate"].get<double>(), 2 * a.data["baseline"]["rate"].get<double>());
  }
}

TEST_F(DemoData, NoiseNeverAlerts) {
  // Every day before the last 7 (whose window holds none of the changes): no spike at all, with
  // every figure the database now holds.
  const DemoConfig cfg;
  for (int back = 7; back <= cfg.days; ++back) {
    auto spikes = find_spikes(store_->db(), cfg.now - back * kMillisPerDay);
    ASSERT_TRUE(spikes.ok());
    for (const Spike& s : *spikes) ADD_FAILURE() << back << " days back: " << s.sentence;
  }
  // Today, only the two intended subjects.
  auto now = find_spikes(store_->db(), cfg.now);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->size(), 2u);
}

TEST_F(DemoData, HasTheShapeTheScreensNeed) {
  const DemoSummary& s = *summary_;
  Database& db = store_->db();
  EXPECT_EQ(s.leads, 45'000);  // 500 a day on average over 90 days
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM leads"), s.leads);
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT buyer_id) FROM leads"), 8);
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT supplier_id) FROM leads"), 10);
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT vertical) FROM leads"), 6);
  EXPECT_GE(count(db, "SELECT MIN(delivered_at) FROM leads"),
            (utc_day(kDemoDefaultNow) - 89) * kMillisPerDay);
  EXPECT_LT(count(db, "SELECT MAX(delivered_at) FROM leads"), kDemoDefaultNow);
  EXPECT_GT(s.duplicate_leads, 0);
  EXPECT_GT(s.tcpa_leads, 0);
  EXPECT_GT(s.out_of_coverage_leads, 0);
  EXPECT_GT(s.wrong_vertical_leads, 0);

  // Returns are 5–10 % of leads; every reason and every state occurs.
  const std::int64_t submitted = count(db, "SELECT COUNT(*) FROM returns WHERE submitted_at > 0");
  EXPECT_GT(submitted, s.leads * 5 / 100);
  EXPECT_LT(submitted, s.leads * 10 / 100);
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT reason) FROM returns WHERE state = 'accepted'"), 6);
  for (const char* state :
       {"draft", "pending", "discussion", "accepted", "rejected", "withdrawn"}) {
    EXPECT_GT(s.returns_by_state.count(state) ? s.returns_by_state.at(state) : 0, 0) << state;
  }
  // Auto-accepts and operator decisions; partial credit and charge-back overrides; reopens.
  EXPECT_GT(count(db, "SELECT COUNT(*) FROM returns WHERE decided_by LIKE 'auto:%'"), 0);
  EXPECT_GT(count(db,
                  "SELECT COUNT(*) FROM returns WHERE state IN ('accepted', 'rejected') AND "
                  "decided_by NOT LIKE 'auto:%'"),
            0);
  EXPECT_GT(count(db,
                  "SELECT COUNT(*) FROM ledger l JOIN leads d ON d.id = l.lead_id WHERE "
                  "l.kind = 'revenue_reversal' AND -l.amount_cents < d.price_cents AND "
                  "l.reverses IS NULL"),
            0);
  EXPECT_GT(count(db, "SELECT COUNT(*) FROM ledger WHERE reverses IS NOT NULL"), 0);
  EXPECT_GT(count(db, "SELECT COUNT(*) FROM ledger WHERE kind = 'wallet_credit'"), 0);
  EXPECT_GT(count(db, "SELECT COUNT(*) FROM ledger WHERE kind = 'invoice_adjustment'"), 0);
  EXPECT_GT(count(db, "SELECT COUNT(*) FROM ledger WHERE kind = 'supplier_chargeback'"), 0);
  EXPECT_GT(s.ops_by_kind.at("reopen_return"), 0);
  EXPECT_GT(s.ops_by_kind.at("reject_return"), 0);
  EXPECT_GT(s.ops_by_kind.at("withdraw_return"), 0);
  EXPECT_GT(s.ops_by_kind.at("discard_draft"), 0);
  EXPECT_EQ(s.ops_by_kind.at("set_policy"), 2);
  EXPECT_GT(s.messages, 0);
  EXPECT_GT(count(db, "SELECT COUNT(*) FROM returns WHERE state = 'discussion'"), 0);

  // The only refusals are the intended ones: submissions after the window, kept as drafts.
  ASSERT_EQ(s.refused.size(), 1u);
  EXPECT_GT(s.refused.at("WINDOW_CLOSED"), 0);
  EXPECT_EQ(count(db,
                  "SELECT COUNT(*) FROM returns WHERE state = 'draft' AND "
                  "data LIKE '%\"refusal\":\"WINDOW_CLOSED\"%'"),
            s.refused.at("WINDOW_CLOSED"));
  EXPECT_EQ(s.ops, s.ops_applied + s.refused.at("WINDOW_CLOSED"));

  // Rates sit where the bands are interesting: overall healthy, some buyers on watch.
  auto buyers = return_rates(db, Dimension::buyer, Period::trailing(kDemoDefaultNow, 90));
  ASSERT_TRUE(buyers.ok());
  std::set<std::string> bands;
  for (const Json& row : to_json(*buyers)) bands.insert(row["band"].get<std::string>());
  EXPECT_TRUE(bands.count("healthy"));
  EXPECT_TRUE(bands.count("watch"));
}

TEST(DemoFacts, LoginsAndCast) {
  const DemoFacts f = demo_facts();
  EXPECT_EQ(f.buyers.size(), 8u);
  EXPECT_EQ(f.suppliers.size(), 10u);
  EXPECT_GE(f.campaigns.size(), 10u);
  std::set<Billing> billing;
  std::set<PolicyMode> modes;
  bool cap = false, pass_through = false;
  for (const Buyer& b : f.buyers) {
    billing.insert(b.billing);
    modes.insert(b.policy.mode);
    cap = cap || b.policy.cap_rate.has_value();
    EXPECT_TRUE(validate_policy(b.policy).ok()) << b.id;
  }
  for (const Supplier& s : f.suppliers) pass_through = pass_through || s.pass_through_returns;
  EXPECT_EQ(billing.size(), 2u);
  EXPECT_EQ(modes.size(), 3u);
  EXPECT_TRUE(cap);
  EXPECT_TRUE(pass_through);
  std::size_t operators = 0, buyers = 0;
  for (const DemoLogin& l : f.logins) {
    EXPECT_FALSE(l.subject.empty());
    if (l.role == Role::operator_) {
      ++operators;
    } else {
      ++buyers;
      EXPECT_TRUE(std::any_of(f.buyers.begin(), f.buyers.end(),
                              [&](const Buyer& b) { return b.id == l.buyer_id; }));
    }
  }
  EXPECT_GE(operators, 1u);
  EXPECT_EQ(buyers, f.buyers.size());
  EXPECT_TRUE(std::any_of(f.suppliers.begin(), f.suppliers.end(),
                          [&](const Supplier& s) { return s.id == f.quality_drop_supplier; }));
  EXPECT_TRUE(std::any_of(f.buyers.begin(), f.buyers.end(),
                          [&](const Buyer& b) { return b.id == f.intake_change_buyer; }));
}

struct Generated {
  std::uint64_t hash = 0;
  DemoSummary summary;
};

Generated generate(const std::string& name, const DemoConfig& cfg) {
  const TempDb db("demo_" + name);
  Generated g;
  {
    auto s = Store::open(db.path());
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return g;
    auto sum = generate_demo(**s, cfg);
    EXPECT_TRUE(sum.ok()) << sum.error().message;
    if (sum.ok()) g.summary = std::move(sum).value();
    g.hash = hash_tables((*s)->db());
    // A store that holds leads is not filled again.
    auto again = generate_demo(**s, cfg);
    EXPECT_FALSE(again.ok());
  }
  return g;
}

TEST(DemoDeterminism, SameSeedSameTablesOtherSeedDiffers) {
  DemoConfig small;
  small.days = 12;
  small.leads_per_day = 150;
  const Generated a = generate("det_a", small);
  const Generated b = generate("det_b", small);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.summary.leads, b.summary.leads);
  EXPECT_EQ(a.summary.ops, b.summary.ops);
  EXPECT_EQ(a.summary.ops_by_kind, b.summary.ops_by_kind);
  EXPECT_EQ(a.summary.returns_by_state, b.summary.returns_by_state);
  EXPECT_EQ(a.summary.ledger_entries, b.summary.ledger_entries);
  EXPECT_EQ(a.summary.leads, 12 * 150);

  DemoConfig other = small;
  other.seed = small.seed + 1;
  const Generated c = generate("det_c", other);
  EXPECT_NE(a.hash, c.hash);
  EXPECT_EQ(c.summary.leads, a.summary.leads);  // the count is asked for, the rest is drawn
  EXPECT_NE(a.summary.ops_by_kind, c.summary.ops_by_kind);

  // An exact total, however the days are weighted.
  DemoConfig exact = small;
  exact.total_leads = 1'234;
  EXPECT_EQ(generate("det_d", exact).summary.leads, 1'234);
}

}  // namespace
}  // namespace returns::store
