// alert_test.cc — alerts reach operators live and only operators (SPEC §5, docs/protocol.md
// `alert`): a buyer returns a lead "out of service area" that really was outside its coverage,
// so the routing filter let it through; every connected operator gets an `alert` frame at once,
// the alert is in GET /v1/reports/alerts, and no buyer session ever sees it.
#include <gtest/gtest.h>

#include "harness.h"

namespace returns::test {
namespace {

// The standard world with buyer A covering California only (the harness's leads are in TX).
Json world_with_coverage() {
  Json world = standard_world();
  for (Json& b : world["buyers"]) {
    if (b["id"] == kBuyerA) b["coverage"] = {{"states", Json::array({"CA"})}};
  }
  return world;
}

bool mentions(const std::vector<std::string>& transcript, const std::string& needle) {
  for (const std::string& frame : transcript) {
    if (frame.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(Alerts, RoutingAlertReachesOperatorsLiveAndNeverBuyers) {
  Server server(Server::Options{.world = world_with_coverage()});
  const Json leads = Json::array({lead_json("L-alpha-tx", kBuyerA, "S-keep", 2000, 700),
                                  lead_json("L-alpha-tx-2", kBuyerA, "S-keep", 2000, 700)});
  const HttpReply ingest = http_post(server.port(), "/v1/leads", leads, server.operator_token());
  ASSERT_EQ(ingest.status, 200) << ingest.body;

  SyncClient op1(server.port(), server.operator_token("ops-1"), "op-alert-1");
  SyncClient op2(server.port(), server.operator_token("ops-2"), "op-alert-2");
  SyncClient a(server.port(), server.buyer_token(kBuyerA), "a-alert");
  SyncClient b(server.port(), server.buyer_token(kBuyerB), "b-alert");
  for (SyncClient* c : {&op1, &op2, &a, &b}) ASSERT_EQ(type_of(c->hello().back()), "synced");

  // A return for another reason on an out-of-coverage lead raises nothing.
  Json r = a.op(
      "submit_return",
      {{"return_id", "R-alpha-contact"}, {"lead_id", "L-alpha-tx-2"}, {"reason", "bad_contact"}});
  ASSERT_EQ(r.value("status", ""), "applied") << r.dump();
  ASSERT_FALSE(op1.wait_item("return", "R-alpha-contact").is_null());
  EXPECT_FALSE(mentions(op1.ws().transcript(), "\"type\":\"alert\""));

  r = a.op("submit_return", {{"return_id", "R-alpha-area"},
                             {"lead_id", "L-alpha-tx"},
                             {"reason", "out_of_service_area"}});
  ASSERT_EQ(r.value("status", ""), "applied") << r.dump();

  // Both operators get the alert frame, naming the lead, the buyer and the campaign to fix.
  for (SyncClient* c : {&op1, &op2}) {
    const std::vector<Json> frames = c->ws().collect_until(is_type("alert"));
    ASSERT_FALSE(frames.empty());
    const Json& f = frames.back();
    ASSERT_EQ(type_of(f), "alert") << f.dump();
    const Json& alert = f.at("alert");
    EXPECT_EQ(alert.value("kind", ""), "routing_filter");
    EXPECT_EQ(alert.value("subject_id", ""), "L-alpha-tx");
    EXPECT_EQ(alert.value("buyer_id", ""), kBuyerA);
    EXPECT_EQ(alert.value("campaign_id", ""), "C-alpha");
    EXPECT_NE(alert.value("sentence", "").find("outside its coverage"), std::string::npos)
        << alert.dump();
  }

  // The buyer who returned it sees its return, not the alert; the other buyer sees neither.
  ASSERT_FALSE(a.wait_item("return", "R-alpha-area").is_null());
  b.ws().next(300ms);  // give a stray frame the chance to arrive
  a.ws().next(300ms);
  for (SyncClient* c : {&a, &b}) {
    EXPECT_FALSE(mentions(c->ws().transcript(), "\"type\":\"alert\""));
    EXPECT_FALSE(mentions(c->ws().transcript(), "routing_filter"));
  }
  EXPECT_FALSE(mentions(b.ws().transcript(), "R-alpha-area"));

  // A catch-up from scratch replays the alert to an operator, never to a buyer.
  SyncClient op3(server.port(), server.operator_token("ops-3"), "op-alert-3");
  op3.hello();
  EXPECT_TRUE(mentions(op3.ws().transcript(), "routing_filter"));
  SyncClient a2(server.port(), server.buyer_token(kBuyerA), "a-alert-2");
  a2.hello();
  EXPECT_FALSE(mentions(a2.ws().transcript(), "routing_filter"));

  // It is stored: the alerts report lists it once, for operators only.
  const HttpReply report = http_get(server.port(), "/v1/reports/alerts", server.operator_token());
  ASSERT_EQ(report.status, 200) << report.body;
  int found = 0;
  for (const Json& row : report.json.at("rows")) {
    if (row.value("subject_id", "") == "L-alpha-tx") ++found;
  }
  EXPECT_EQ(found, 1) << report.body;
  EXPECT_EQ(http_get(server.port(), "/v1/reports/alerts", server.buyer_token(kBuyerA)).status, 403);

  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace returns::test
