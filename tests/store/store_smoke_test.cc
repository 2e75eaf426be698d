// store_smoke_test.cc — the store end to end on a small world: ingest, submit (manual review and
// auto-accept), accept with partial credit, resend, seq gap, reopen, and the aggregates after it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/reports.h"
#include "store/store.h"
#include "store/temp_db.h"

namespace returns::store {
namespace {

constexpr Millis kDay0 = 1'700'000'000'000;  // 2023-11-14

class StoreSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(db_.path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    Buyer b{"B1", "Buyer One", Billing::prepaid, {}, default_policy()};
    Buyer manual{"B2", "Buyer Two", Billing::net_terms, {}, default_policy()};
    manual.policy.mode = PolicyMode::manual;
    ASSERT_TRUE(store_->put_buyer(b, kDay0).ok());
    ASSERT_TRUE(store_->put_buyer(manual, kDay0).ok());
    ASSERT_TRUE(store_->put_supplier({"S1", "Supplier", true}, kDay0).ok());
    ASSERT_TRUE(store_->put_campaign({"C1", "B1", "mva", 5000}, kDay0).ok());
    ASSERT_TRUE(store_->put_campaign({"C2", "B2", "solar", 8000}, kDay0).ok());
    std::vector<Lead> leads = {lead("L1", "B1", "C1"), lead("L2", "B2", "C2")};
    auto r = store_->ingest_leads(leads, kDay0);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->inserted, 2);
  }
  void TearDown() override {
    store_.reset();
    db_.remove();
  }
  static Lead lead(const std::string& id, const std::string& buyer, const std::string& campaign) {
    Lead l;
    l.id = id;
    l.buyer_id = buyer;
    l.supplier_id = "S1";
    l.campaign_id = campaign;
    l.vertical = buyer == "B1" ? "mva" : "solar";
    l.state = "TX";
    l.zip = "75001";
    l.contact_hash = "h-" + id;
    l.price_cents = buyer == "B1" ? 5000 : 8000;
    l.cost_cents = 3000;
    l.delivered_at = kDay0;
    return l;
  }
  OpRequest op(const std::string& client, std::int64_t seq, Actor actor, const std::string& name,
               Json args) {
    return OpRequest{client, seq, std::move(actor), name, std::move(args), 0};
  }

  TempDb db_{"store_smoke"};
  std::unique_ptr<Store> store_;
};

// The fan-out reads a buyer's policy per page through the row cache (Store::find_buyer): the
// store's own writes keep that cache current, so an edited policy is seen at once.
TEST_F(StoreSmoke, FindBuyerSeesTheStoresOwnWritesThroughTheCache) {
  const Buyer* b = store_->find_buyer("B1");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->policy.mode, default_policy().mode);
  Buyer edited = *b;
  edited.policy.mode = PolicyMode::manual;
  ASSERT_TRUE(store_->put_buyer(edited, kDay0 + 1).ok());
  const Buyer* again = store_->find_buyer("B1");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->policy.mode, PolicyMode::manual);
  EXPECT_EQ(store_->find_buyer("B-none"), nullptr);
}

TEST_F(StoreSmoke, SubmitAcceptResendGapReopen) {
  // B1's default policy auto-accepts within 24 h; B2 is manual.
  std::vector<OpRequest> batch = {
      op("c1", 1, Actor::buyer("B1"), "submit_return",
         {{"return_id", "R1"}, {"lead_id", "L1"}, {"reason", "bad_contact"}}),
      op("c2", 1, Actor::buyer("B2"), "submit_return",
         {{"return_id", "R2"}, {"lead_id", "L2"}, {"reason", "tcpa_risk"}}),
  };
  auto res = store_->apply_ops(batch, kDay0 + 5 * kMillisPerHour);
  ASSERT_TRUE(res.ok()) << res.error().message;
  ASSERT_EQ(res->size(), 2u);
  EXPECT_TRUE((*res)[0].applied);
  EXPECT_TRUE((*res)[1].applied);
  EXPECT_EQ(store_->view().find_return("R1")->state, ReturnState::accepted);
  EXPECT_EQ(store_->view().find_return("R2")->state, ReturnState::pending);

  // Operator accepts R2 with partial credit; the same op resent answers the stored result.
  std::vector<OpRequest> accept = {op("op1", 1, Actor::operator_("ann"), "accept_return",
                                      {{"return_id", "R2"}, {"credit_cents", 4000}})};
  auto a1 = store_->apply_ops(accept, kDay0 + 6 * kMillisPerHour);
  ASSERT_TRUE(a1.ok());
  EXPECT_TRUE((*a1)[0].applied);
  auto a2 = store_->apply_ops(accept, kDay0 + 7 * kMillisPerHour);
  ASSERT_TRUE(a2.ok());
  EXPECT_TRUE((*a2)[0].duplicate);
  EXPECT_EQ((*a2)[0].version, (*a1)[0].version);
  EXPECT_EQ(store_->last_seq("op1"), 1);

  // A gap is refused and not stored.
  std::vector<OpRequest> gap = {
      op("op1", 3, Actor::operator_("ann"), "reopen_return", {{"return_id", "R2"}})};
  auto g = store_->apply_ops(gap, kDay0 + 8 * kMillisPerHour);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)[0].code, ErrorCode::SEQ_GAP);
  EXPECT_EQ(store_->last_seq("op1"), 1);

  // Reports: B1 returned 1 of 1, B2 returned 1 of 1; P&L reflects partial credit + charge-back.
  const Period p{utc_day(kDay0), utc_day(kDay0)};
  auto pl = pnl(store_->db(), Dimension::buyer, p);
  ASSERT_TRUE(pl.ok());
  Json rows = to_json(*pl);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["key"], "B2");
  EXPECT_EQ(rows[1]["returned_revenue_cents"], 4000);
  EXPECT_EQ(rows[1]["chargeback_cents"], 1500);  // 3000 * 4000 / 8000
  EXPECT_EQ(rows[1]["margin_cents"], 8000 - 4000 - (3000 - 1500));

  // Reopen R2: money reversed, lead back, aggregates back.
  std::vector<OpRequest> reopen = {
      op("op1", 2, Actor::operator_("ann"), "reopen_return", {{"return_id", "R2"}})};
  auto ro = store_->apply_ops(reopen, kDay0 + 9 * kMillisPerHour);
  ASSERT_TRUE(ro.ok());
  EXPECT_TRUE((*ro)[0].applied) << (*ro)[0].message;
  auto pl2 = pnl(store_->db(), Dimension::buyer, p);
  ASSERT_TRUE(pl2.ok());
  Json rows2 = to_json(*pl2);
  EXPECT_EQ(rows2[1]["returned"], 0);
  EXPECT_EQ(rows2[1]["returned_revenue_cents"], 0);
  EXPECT_EQ(rows2[1]["chargeback_cents"], 0);
  EXPECT_EQ(store_->view().find_lead("L2")->status, LeadStatus::accepted);
  EXPECT_GT(store_->head_version(), 0);
  EXPECT_FALSE(store_->events_since(0, 1000).empty());
}

}  // namespace
}  // namespace returns::store
