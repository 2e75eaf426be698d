// schema_upgrade_test.cc — a database written by the first release (schema 1) opened by this one:
// the decision facts the new schema adds (docs/decision-facts.md) are derived for the rows already
// there — each lead's earlier_delivery flag and changed_at, a buyer_day row per day — and sent as
// events, so replicas that synced before the upgrade receive them too.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/codec.h"
#include "core/decision_facts.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/temp_db.h"

namespace returns::store {
namespace {

constexpr Millis kT0 = 1'700'000'000'000;
constexpr Millis kUpgrade = kT0 + 40 * kMillisPerDay;

TEST(SchemaUpgrade, FromTheFirstReleaseDerivesAndSendsTheDecisionFacts) {
  const TempDb db_file("schema_upgrade");
  const std::string& path = db_file.path();
  const std::string day = std::to_string(utc_day(kT0));
  {
    auto db = Database::open(path);
    ASSERT_TRUE(db.ok()) << db.error().message;
    int found = -1;
    ASSERT_TRUE(migrate(**db, &found, 1).ok());
    EXPECT_EQ(found, 0);
    Buyer b{"B1", "Buyer", Billing::prepaid, {}, default_policy()};
    const std::string lead_cols =
        "INSERT INTO leads (id, buyer_id, supplier_id, campaign_id, vertical, state, zip, "
        "contact_hash, tcpa_flag, price_cents, cost_cents, delivered_at, status) VALUES ";
    for (const std::string& sql : {
             "INSERT INTO buyers (id, data) VALUES ('B1', '" + to_json(b).dump() + "')",
             std::string("INSERT INTO suppliers (id, data) VALUES ('S1', '{\"id\":\"S1\",\"name\":"
                         "\"S\",\"pass_through_returns\":false}')"),
             std::string("INSERT INTO campaigns (id, buyer_id, data) VALUES ('C1', 'B1', "
                         "'{\"buyer_id\":\"B1\",\"id\":\"C1\",\"price_cents\":5000,\"vertical\":"
                         "\"mva\"}')"),
             lead_cols + "('L1','B1','S1','C1','mva','TX','','same',0,5000,2000," +
                 std::to_string(kT0) + ",'ACCEPTED')",
             lead_cols + "('L2','B1','S1','C1','mva','TX','','same',0,5000,2000," +
                 std::to_string(kT0 + kMillisPerHour) + ",'ACCEPTED')",
             lead_cols + "('L3','B1','S1','C1','mva','TX','','other',0,5000,2000," +
                 std::to_string(kT0) + ",'RETURNED')",
             std::string("INSERT INTO ledger (id, seq, kind, return_id, lead_id, buyer_id, "
                         "supplier_id, amount_cents, at, data) VALUES ('R3#1/revenue_reversal', "
                         "1, 'revenue_reversal', 'R3', 'L3', 'B1', 'S1', -5000, ") +
                 std::to_string(kT0 + 2 * kMillisPerHour) + ", '{}')",
             "INSERT INTO agg_daily (day, buyer_id, supplier_id, campaign_id, leads, "
             "revenue_cents, cost_cents, returned) VALUES (" +
                 day + ", 'B1', 'S1', 'C1', 3, 15000, 6000, 1)",
         }) {
      ASSERT_TRUE((*db)->exec(sql).ok()) << sql;
    }
  }

  StoreOptions options;
  options.upgrade_time = kUpgrade;
  auto opened = Store::open(path, options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& store = **opened;
  CaseView& view = store.view();
  EXPECT_FALSE(view.find_lead("L1")->earlier_delivery);
  EXPECT_TRUE(view.find_lead("L2")->earlier_delivery) << "the same contact was delivered before";
  EXPECT_EQ(view.find_lead("L3")->changed_at, kT0 + 2 * kMillisPerHour);
  EXPECT_EQ(view.find_lead("L1")->changed_at, 0);

  // The upgrade's events: the leads whose derived fields changed, and the day's facts.
  std::map<std::string, Json> sent;
  for (const Event& e : store.events_since(0, 1000)) {
    EXPECT_EQ(e.at, kUpgrade);
    Result<Json> j = parse_json(e.data);
    ASSERT_TRUE(j.ok());
    sent[e.entity + " " + e.entity_id] = *j;
  }
  ASSERT_EQ(sent.size(), 3u) << "L2, L3 and one buyer_day row";
  EXPECT_EQ(sent["lead L2"]["earlier_delivery"], true);
  EXPECT_EQ(sent["lead L3"]["changed_at"], kT0 + 2 * kMillisPerHour);
  Result<BuyerDay> d = decode_buyer_day(sent["buyer_day B1:" + day]);
  ASSERT_TRUE(d.ok()) << sent["buyer_day B1:" + day].dump();
  EXPECT_EQ(d->sold, 3);
  EXPECT_EQ(d->returned, 1);

  // Opening it again changes nothing.
  const std::int64_t head = store.head_version();
  opened->reset();
  auto again = Store::open(path, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->head_version(), head);
  again->reset();
}

// Schema 3 counts auto-accepts per buyer, day and rule in agg_auto: the upgrade counts the
// accepted returns an automatic rule decided (not a manual decision, not a reopened one, each on
// the day it was decided), and the counts answer the decision facts from then on.
TEST(SchemaUpgrade, ToSchemaThreeCountsTheAutoAcceptsAlreadyDecided) {
  const TempDb db_file("schema_upgrade3");
  const std::string& path = db_file.path();
  const std::int64_t day = utc_day(kT0);
  const Millis midnight = day * kMillisPerDay;
  {
    auto db = Database::open(path);
    ASSERT_TRUE(db.ok()) << db.error().message;
    int found = -1;
    ASSERT_TRUE(migrate(**db, &found, 2).ok());
    EXPECT_EQ(found, 0);
    Buyer b{"B1", "Buyer", Billing::prepaid, {}, default_policy()};
    ASSERT_TRUE(
        (*db)
            ->exec("INSERT INTO buyers (id, data) VALUES ('B1', '" + to_json(b).dump() + "')")
            .ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO suppliers (id, data) VALUES ('S1', '{}')").ok());
    ASSERT_TRUE(
        (*db)->exec("INSERT INTO campaigns (id, buyer_id, data) VALUES ('C1','B1','{}')").ok());
    auto ret = [&](const std::string& id, const std::string& state, const std::string& by,
                   Millis at) {
      const std::string lead = "L" + id;
      ASSERT_TRUE((*db)
                      ->exec("INSERT INTO leads (id, buyer_id, supplier_id, campaign_id, vertical, "
                             "state, zip, contact_hash, tcpa_flag, price_cents, cost_cents, "
                             "delivered_at, status) VALUES ('" +
                             lead + "','B1','S1','C1','mva','TX','','h" + id + "',0,5000,2000," +
                             std::to_string(kT0) + ",'ACCEPTED')")
                      .ok());
      ASSERT_TRUE((*db)
                      ->exec("INSERT INTO returns (id, lead_id, buyer_id, state, reason, "
                             "submitted_at, decided_by, decided_at, data) VALUES ('" +
                             id + "','" + lead + "','B1','" + state + "','bad_contact'," +
                             std::to_string(at) + ",'" + by + "'," + std::to_string(at) + ",'{}')")
                      .ok());
    };
    ret("R1", "accepted", "auto:fast", midnight + kMillisPerHour);
    ret("R2", "accepted", "auto:fast", midnight + 23 * kMillisPerHour);
    ret("R3", "accepted", "auto:trusted", midnight + 3 * kMillisPerHour);
    ret("R4", "accepted", "auto:fast", midnight + kMillisPerDay);  // the next day
    ret("R5", "accepted", "ops-anna", midnight + kMillisPerHour);  // decided by a person
    ret("R6", "pending", "auto:fast", midnight + kMillisPerHour);  // reopened: no longer counts
  }
  auto opened = Store::open(path, StoreOptions{});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  CaseView& view = (*opened)->view();
  EXPECT_EQ(view.auto_accepted_on_day("B1", "fast", day), 2);
  EXPECT_EQ(view.auto_accepted_on_day("B1", "trusted", day), 1);
  EXPECT_EQ(view.auto_accepted_on_day("B1", "fast", day + 1), 1);
  EXPECT_EQ(view.auto_accepted_on_day("B1", "fast", day + 2), 0);
  EXPECT_EQ(view.auto_accepted_on_day("B2", "fast", day), 0);
  opened->reset();
}

}  // namespace
}  // namespace returns::store
