// alert_test.cc — alerts reach operators live and only operators (docs/reports.md, docs/protocol.md
// `alert`): a buyer returns a lead "out of service area" that really was outside its coverage,
// so the routing filter let it through; every connected operator gets an `alert` frame at once,
// the alert is in GET /v1/reports/alerts, and no buyer session ever sees it. And a supplier
// whose return rate jumps across its buyers: the server's periodic spike detection
// (--spike-every) raises the alert by itself and pushes it to the operators connected.
#include <gtest/gtest.h>

#include <filesystem>

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

// Four buyers (auto-accepting everything) who all buy from one supplier, S-drop.
Json spike_world() {
  const Json policy = {{"mode", "always_accept"}, {"window_hours", 168}};
  Json world = {{"suppliers", Json::array({{{"id", "S-drop"}, {"name", "Supplyco Drop"}}})},
                {"buyers", Json::array()},
                {"campaigns", Json::array()}};
  for (const char* b : {"B-alpha", "B-bravo", "B-charlie", "B-delta"}) {
    world["buyers"].push_back({{"id", b}, {"name", b}, {"billing", "prepaid"}, {"policy", policy}});
    world["campaigns"].push_back({{"id", std::string("C-") + (b + 2)},
                                  {"buyer_id", b},
                                  {"vertical", "solar"},
                                  {"price_cents", 2000}});
  }
  return world;
}

Json spike_lead(const std::string& id, const std::string& buyer, Millis delivered_at) {
  return Json{{"id", id},
              {"buyer_id", buyer},
              {"campaign_id", "C-" + buyer.substr(2)},
              {"vertical", "solar"},
              {"state", "TX"},
              {"zip", "73301"},
              {"contact_hash", "h-" + id},
              {"price_cents", 2000},
              {"cost_cents", 800},
              {"supplier_id", "S-drop"},
              {"delivered_at", delivered_at}};
}

TEST(Alerts, PeriodicSpikeDetectionPushesASupplierQualityDrop) {
  Server server(Server::Options{.world = spike_world(), .args = {"--spike-every", "1"}});
  // Per buyer: 60 leads 15 days ago (the baseline: none returned) and 60 two days ago (recent:
  // 20 returned) — a 0 % → 33 % jump across all four buyers, 240 leads in each period
  // (docs/reports.md: at least 200 per period, 3 buyers, z ≥ 4).
  const Millis now = now_ms();
  Json leads = Json::array();
  for (const char* b : {"B-alpha", "B-bravo", "B-charlie", "B-delta"}) {
    for (int i = 0; i < 60; ++i) {
      std::string base = std::string("L-") + (b + 2) + "-base-";
      base += std::to_string(i);
      std::string recent = std::string("L-") + (b + 2) + "-recent-";
      recent += std::to_string(i);
      leads.push_back(spike_lead(base, b, now - 15 * kMillisPerDay));
      leads.push_back(spike_lead(recent, b, now - 2 * kMillisPerDay));
    }
  }
  const HttpReply ingest = http_post(server.port(), "/v1/leads", leads, server.operator_token());
  ASSERT_EQ(ingest.status, 200) << ingest.body;
  ASSERT_EQ(ingest.json["inserted"], 480) << ingest.body;

  SyncClient op(server.port(), server.operator_token(), "op-spike");
  ASSERT_EQ(type_of(op.hello().back()), "synced");
  // Detection has run on the quiet data by now (every second): nothing to say.
  op.ws().next(1500ms);
  EXPECT_FALSE(mentions(op.ws().transcript(), "\"type\":\"alert\""));

  for (const char* b : {"B-alpha", "B-bravo", "B-charlie", "B-delta"}) {
    SyncClient buyer(server.port(), server.buyer_token(b), std::string("spike-") + b);
    ASSERT_EQ(type_of(buyer.hello().back()), "synced");
    for (int i = 0; i < 20; ++i) {
      std::string lead = std::string("L-") + (b + 2) + "-recent-";
      lead += std::to_string(i);
      const Json r =
          buyer.op("submit_return", {{"return_id", "R-" + lead},
                                     {"lead_id", lead},
                                     {"reason", "other"},
                                     {"note", "The homeowner never asked for a quote."}});
      ASSERT_EQ(r.value("status", ""), "applied") << r.dump();
    }
  }

  // Within a few detection periods the operator is told, with nobody asking.
  const std::vector<Json> frames =
      op.ws().collect_until([](const Json& f) { return type_of(f) == "alert"; }, 10s);
  ASSERT_FALSE(frames.empty());
  ASSERT_EQ(type_of(frames.back()), "alert") << "no alert pushed; log:\n" << server.log();
  const Json& alert = frames.back().at("alert");
  EXPECT_EQ(alert.value("kind", ""), "supplier_quality_drop") << alert.dump();
  EXPECT_EQ(alert.value("subject_id", ""), "S-drop");
  EXPECT_NE(alert.value("sentence", "").find("S-drop"), std::string::npos) << alert.dump();

  // Detection keeps running, but a spike is raised once a day: no second alert.
  op.ws().next(2500ms);
  // (Operators also see the alert row in `changes`; the `alert` frame is the notification.)
  int pushed = 0;
  for (const Json& f : op.ws().frames()) {
    if (type_of(f) == "alert" && f["alert"].value("kind", "") == "supplier_quality_drop") ++pushed;
  }
  EXPECT_EQ(pushed, 1);
  const HttpReply report = http_get(server.port(), "/v1/reports/alerts", server.operator_token());
  ASSERT_EQ(report.status, 200) << report.body;
  int stored = 0;
  for (const Json& row : report.json.at("rows")) {
    if (row.value("kind", "") == "supplier_quality_drop") ++stored;
  }
  EXPECT_EQ(stored, 1) << report.body;
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(Alerts, SpikeEveryRejectsNonsense) {
  // Refused before anything is created (no database), in the test's own folder.
  Server server(Server::Options{.start = false});
  for (const char* bad : {"-1", "abc", "86401", "5s", ""}) {
    std::string out;
    EXPECT_EQ(Server::run_tool({"serve", "--listen", "127.0.0.1:0", "--db", server.db_path(),
                                "--secret-file", server.secret_path(), "--spike-every", bad},
                               &out),
              2)
        << bad;
    EXPECT_NE(out.find("returnsd: --spike-every is seconds, 0 (off) to 86400"), std::string::npos)
        << bad << ": " << out;
    EXPECT_FALSE(std::filesystem::exists(server.db_path())) << bad;
  }
}

}  // namespace
}  // namespace returns::test
