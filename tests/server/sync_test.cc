// sync_test.cc — the sync protocol end to end against a real returnsd (docs/protocol.md):
// live fan-out, decisions and money as a buyer sees them, resume by cursor, exactly-once ops,
// seq gaps, resets, the hello timeout and the graceful SIGTERM drain.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <thread>

#include "harness.h"

namespace returns::test {
namespace {

// Inserts leads through POST /v1/leads with an operator token.
void ingest(const Server& server, const Json& leads) {
  const HttpReply r = http_post(server.port(), "/v1/leads", leads, server.operator_token());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["inserted"], leads.size()) << r.body;
}

std::int64_t head(const Server& server) {
  const std::int64_t v = server.committed_head();
  EXPECT_GE(v, 0) << "cannot read the head from " << server.db_path();
  return v;
}

Json submit_args(const std::string& return_id, const std::string& lead_id) {
  return Json{{"return_id", return_id}, {"lead_id", lead_id}, {"reason", "bad_contact"}};
}

void expect_applied(const Json& result) {
  EXPECT_EQ(type_of(result), "result") << result.dump();
  EXPECT_EQ(result.value("status", ""), "applied") << result.dump();
}

// Nothing a buyer may not see: supplier identity, cost, charge-backs.
void expect_no_supplier_data(const WsClient& ws) {
  for (const std::string& frame : ws.transcript()) {
    for (const char* secret : {"supplier_chargeback", "supplier_id", "cost_cents", "charged_back",
                               "chargeback_cents", "S-pass", "S-keep", "Supplyco"}) {
      EXPECT_EQ(frame.find(secret), std::string::npos) << secret << " in " << frame;
    }
  }
}

// Items of a client's changes frames with v > cursor, as (v, entity, id, data).
std::vector<Json> items_after(const SyncClient& c, std::int64_t cursor) {
  std::vector<Json> out;
  for (const Json& i : c.items()) {
    if (i.at("v").get<std::int64_t>() > cursor) out.push_back(i);
  }
  return out;
}

// Waits until a live client has received everything up to `version`.
void wait_cursor(SyncClient& c, std::int64_t version) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (c.cursor() < version && std::chrono::steady_clock::now() < deadline) {
    c.ws().next(100ms);
  }
  ASSERT_GE(c.cursor(), version);
}

// Checks a catch-up: welcome{cursor = from}, changes frames chained from `from`, synced{to}.
// Returns the items.
std::vector<Json> expect_catch_up(const std::vector<Json>& frames, std::int64_t from,
                                  std::int64_t to) {
  std::vector<Json> items;
  EXPECT_FALSE(frames.empty());
  if (frames.empty()) return items;
  EXPECT_EQ(type_of(frames.front()), "welcome") << frames.front().dump();
  EXPECT_EQ(frames.front().value("cursor", std::int64_t{-1}), from);
  std::int64_t at = from;
  for (std::size_t i = 1; i + 1 < frames.size(); ++i) {
    const Json& f = frames[i];
    EXPECT_EQ(type_of(f), "changes") << f.dump();
    if (type_of(f) != "changes") continue;
    EXPECT_EQ(f.at("from").get<std::int64_t>(), at) << "frames must chain";
    EXPECT_GT(f.at("to").get<std::int64_t>(), at);
    for (const Json& item : f.at("items")) {
      EXPECT_GT(item.at("v").get<std::int64_t>(), f.at("from").get<std::int64_t>());
      EXPECT_LE(item.at("v").get<std::int64_t>(), f.at("to").get<std::int64_t>());
      items.push_back(item);
    }
    at = f.at("to").get<std::int64_t>();
  }
  EXPECT_EQ(type_of(frames.back()), "synced") << frames.back().dump();
  EXPECT_EQ(frames.back().value("cursor", std::int64_t{-1}), to);
  EXPECT_LE(at, to);
  return items;
}

class SyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Server(Server::Options{.world = standard_world()}); }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->log();
    delete server_;
    server_ = nullptr;
  }
  static Server& server() { return *server_; }
  static unsigned short port() { return server_->port(); }

  static Server* server_;
};

Server* SyncTest::server_ = nullptr;

TEST_F(SyncTest, TokenSubcommandMintsTokensTheServerAccepts) {
  std::string out;
  ASSERT_EQ(Server::run_tool({"token", "--role", "buyer", "--buyer", kBuyerA, "--ttl", "5m",
                              "--secret-file", server().secret_path()},
                             &out),
            0)
      << out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  SyncClient a(port(), out, "a-cli");
  const std::vector<Json> frames = a.hello();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(type_of(frames.front()), "welcome") << frames.front().dump();
  EXPECT_EQ(frames.front()["principal"]["buyer_id"], kBuyerA);
  EXPECT_EQ(type_of(frames.back()), "synced");
}

TEST_F(SyncTest, BuyerSubmitReachesAnOperatorLive) {
  ingest(server(), Json::array({lead_json("L-alpha-live", kBuyerA, "S-pass", 2000, 800)}));
  SyncClient op(port(), server().operator_token(), "op-live");
  ASSERT_EQ(type_of(op.hello().back()), "synced");
  const std::size_t synced_at = op.ws().frames().size();

  SyncClient a(port(), server().buyer_token(kBuyerA), "a-live");
  ASSERT_EQ(type_of(a.hello().back()), "synced");
  const Json r = a.op("submit_return", submit_args("R-alpha-live", "L-alpha-live"));
  expect_applied(r);

  const Json frame = op.wait_item("return", "R-alpha-live");
  ASSERT_FALSE(frame.is_null()) << "the operator never saw the new return";
  // It arrived live (after synced), carrying the submitted return at the op's version.
  const auto& frames = op.ws().frames();
  EXPECT_NE(std::find(frames.begin() + static_cast<std::ptrdiff_t>(synced_at), frames.end(), frame),
            frames.end());
  const Json ret = op.row("return", "R-alpha-live");
  EXPECT_EQ(ret["state"], "pending");
  EXPECT_EQ(ret["buyer_id"], kBuyerA);
  EXPECT_GE(frame["to"].get<std::int64_t>(), r["version"].get<std::int64_t>());
}

TEST_F(SyncTest, PartialCreditAcceptShowsTheBuyerTheMoneyButNoSupplierData) {
  ingest(server(), Json::array({lead_json("L-alpha-credit", kBuyerA, "S-pass", 2000, 800)}));
  SyncClient op(port(), server().operator_token(), "op-credit");
  ASSERT_EQ(type_of(op.hello().back()), "synced");
  SyncClient a(port(), server().buyer_token(kBuyerA), "a-credit");
  ASSERT_EQ(type_of(a.hello().back()), "synced");

  expect_applied(a.op("submit_return", submit_args("R-alpha-credit", "L-alpha-credit")));
  ASSERT_FALSE(op.wait_item("return", "R-alpha-credit").is_null());
  expect_applied(op.op("accept_return", {{"return_id", "R-alpha-credit"},
                                         {"credit_cents", 500},
                                         {"note", "Half the lead was usable."}}));

  // The operator sees the whole decision, including the supplier's proportional charge-back.
  ASSERT_FALSE(op.wait_item("ledger", "R-alpha-credit#1/supplier_chargeback").is_null());
  const Json cb = op.row("ledger", "R-alpha-credit#1/supplier_chargeback");
  EXPECT_EQ(cb["amount_cents"], -200);  // ⌊800 × 500 ÷ 2000⌋
  EXPECT_EQ(cb["supplier_id"], "S-pass");

  // The buyer sees the decision and the money…
  ASSERT_FALSE(a.wait_item("ledger", "R-alpha-credit#1/wallet_credit").is_null());
  const Json credit = a.row("ledger", "R-alpha-credit#1/wallet_credit");
  EXPECT_EQ(credit["amount_cents"], 500);
  EXPECT_EQ(credit["buyer_id"], kBuyerA);
  ASSERT_FALSE(a.wait_item("return", "R-alpha-credit").is_null());
  const Json ret = a.row("return", "R-alpha-credit");
  EXPECT_EQ(ret["state"], "accepted");
  EXPECT_EQ(ret["decision"]["credit_cents"], 500);
  EXPECT_EQ(ret["decision"]["note"], "Half the lead was usable.");
  const Json lead = a.row("lead", "L-alpha-credit");
  EXPECT_EQ(lead["status"], "RETURNED");
  // …but never the charge-back row, the supplier or the cost: live…
  EXPECT_TRUE(a.row("ledger", "R-alpha-credit#1/supplier_chargeback").is_null());
  expect_no_supplier_data(a.ws());
  // …nor in a catch-up from scratch.
  SyncClient again(port(), server().buyer_token(kBuyerA), "a-credit-2");
  expect_catch_up(again.hello(), 0, head(server()));
  EXPECT_EQ(again.row("ledger", "R-alpha-credit#1/wallet_credit")["amount_cents"], 500);
  EXPECT_EQ(again.row("return", "R-alpha-credit")["state"], "accepted");
  expect_no_supplier_data(again.ws());
}

TEST_F(SyncTest, ReconnectWithAnOldCursorGetsExactlyTheMissedChanges) {
  // Watchers stay connected throughout and see every change live.
  SyncClient watch_op(port(), server().operator_token(), "op-watch");
  ASSERT_EQ(type_of(watch_op.hello().back()), "synced");
  SyncClient watch_a(port(), server().buyer_token(kBuyerA), "a-watch");
  ASSERT_EQ(type_of(watch_a.hello().back()), "synced");

  // Two clients sync, remember their cursors, and go away.
  std::int64_t op_cursor = 0, a_cursor = 0;
  {
    SyncClient op(port(), server().operator_token(), "op-resume");
    ASSERT_EQ(type_of(op.hello().back()), "synced");
    op_cursor = op.cursor();
    SyncClient a(port(), server().buyer_token(kBuyerA), "a-resume");
    ASSERT_EQ(type_of(a.hello().back()), "synced");
    a_cursor = a.cursor();
    op.ws().close();
    a.ws().drop();
  }

  // Changes happen while they are away: leads for both buyers, a submit, a message.
  ingest(server(), Json::array({lead_json("L-alpha-gone-1", kBuyerA, "S-keep", 1000, 300),
                                lead_json("L-alpha-gone-2", kBuyerA, "S-pass", 1000, 300),
                                lead_json("L-bravo-gone-1", kBuyerB, "S-keep", 900, 300)}));
  SyncClient a_writer(port(), server().buyer_token(kBuyerA), "a-writer");
  ASSERT_EQ(type_of(a_writer.hello().back()), "synced");
  expect_applied(a_writer.op("submit_return", submit_args("R-alpha-gone", "L-alpha-gone-1")));
  SyncClient b_writer(port(), server().buyer_token(kBuyerB), "b-writer");
  ASSERT_EQ(type_of(b_writer.hello().back()), "synced");
  expect_applied(b_writer.op("submit_return", submit_args("R-bravo-gone", "L-bravo-gone-1")));
  SyncClient op_writer(port(), server().operator_token(), "op-writer");
  ASSERT_EQ(type_of(op_writer.hello().back()), "synced");
  expect_applied(op_writer.op("post_message", {{"return_id", "R-alpha-gone"},
                                               {"message_id", "M-alpha-gone"},
                                               {"body", "Looking into it."}}));
  const std::int64_t now_head = head(server());
  ASSERT_GT(now_head, op_cursor);
  wait_cursor(watch_op, now_head);
  wait_cursor(watch_a, now_head);

  // The operator resumes: every missed version exactly once, contiguous, then synced.
  SyncClient op(port(), server().operator_token(), "op-resume");
  const std::vector<Json> op_items = expect_catch_up(op.hello(op_cursor), op_cursor, now_head);
  ASSERT_EQ(op_items.size(), static_cast<std::size_t>(now_head - op_cursor));
  for (std::size_t i = 0; i < op_items.size(); ++i) {
    EXPECT_EQ(op_items[i]["v"], op_cursor + 1 + static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(op_items, items_after(watch_op, op_cursor));

  // The buyer resumes: exactly what a connected buyer saw live, none of buyer B's rows.
  SyncClient a(port(), server().buyer_token(kBuyerA), "a-resume");
  const std::vector<Json> a_items = expect_catch_up(a.hello(a_cursor), a_cursor, now_head);
  EXPECT_EQ(a_items, items_after(watch_a, a_cursor));
  std::set<std::string> ids;
  for (const Json& i : a_items) ids.insert(i["id"].get<std::string>());
  EXPECT_TRUE(ids.count("R-alpha-gone") && ids.count("M-alpha-gone") &&
              ids.count("L-alpha-gone-2"));
  for (const std::string& frame : a.ws().transcript()) {
    EXPECT_EQ(frame.find("bravo"), std::string::npos) << frame;
  }
  expect_no_supplier_data(a.ws());
}

TEST_F(SyncTest, CatchUpComesInBoundedBatchesThatChain) {
  Json leads = Json::array();
  for (int i = 0; i < 1200; ++i) {
    leads.push_back(lead_json("L-bravo-bulk-" + std::to_string(i), kBuyerB, "S-keep", 1500, 500));
  }
  ingest(server(), leads);
  const std::int64_t now_head = head(server());
  SyncClient op(port(), server().operator_token(), "op-bulk");
  const std::vector<Json> frames = op.hello(0);
  const std::vector<Json> items = expect_catch_up(frames, 0, now_head);
  ASSERT_EQ(items.size(), static_cast<std::size_t>(now_head));
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i]["v"], i + 1);
  std::size_t batches = 0;
  for (const Json& f : frames) {
    if (type_of(f) != "changes") continue;
    ++batches;
    EXPECT_LE(f["items"].size(), 500u);
  }
  EXPECT_GE(batches, 3u);
}

// A buyer's catch-up reads that buyer's events only (an index), page by page: with the other
// buyer's leads interleaved, it gets exactly its own rows, in order, chained, and goes live at
// the head of the whole log.
TEST_F(SyncTest, ABuyersCatchUpPagesThroughItsOwnEventsAndEndsAtTheHead) {
  Json leads = Json::array();
  for (int i = 0; i < 1300; ++i) {
    leads.push_back(
        i % 2 == 0 ? lead_json("L-alpha-page-" + std::to_string(i), kBuyerA, "S-keep", 2000, 700)
                   : lead_json("L-bravo-page-" + std::to_string(i), kBuyerB, "S-keep", 1500, 500));
  }
  ingest(server(), leads);
  const std::int64_t now_head = head(server());
  SyncClient b(port(), server().buyer_token(kBuyerB), "bravo-paging");
  const std::vector<Json> frames = b.hello(0);
  const std::vector<Json> items = expect_catch_up(frames, 0, now_head);
  std::size_t pages = 0;
  for (const Json& f : frames) {
    if (type_of(f) != "changes") continue;
    ++pages;
    EXPECT_LE(f["items"].size(), 500u);
  }
  EXPECT_GE(pages, 2u) << "650 of this buyer's leads take more than one page";
  std::int64_t last = 0;
  int paged_leads = 0;
  for (const Json& item : items) {
    EXPECT_GT(item["v"].get<std::int64_t>(), last);
    last = item["v"].get<std::int64_t>();
    const std::string id = item.value("id", "");
    EXPECT_EQ(id.find("alpha"), std::string::npos) << id;
    if (id.rfind("L-bravo-page-", 0) == 0) ++paged_leads;
  }
  EXPECT_EQ(paged_leads, 650);
  // Live from the head: a new lead of this buyer arrives as a live change.
  ingest(server(), Json::array({lead_json("L-bravo-page-live", kBuyerB, "S-keep", 1500, 500)}));
  const std::vector<Json> live = b.ws().collect_until([](const Json& f) {
    return type_of(f) == "changes" && f.dump().find("L-bravo-page-live") != std::string::npos;
  });
  ASSERT_FALSE(live.empty());
  EXPECT_EQ(live.back().value("from", std::int64_t{-1}), now_head);
}

TEST_F(SyncTest, TheSameOpTwiceHasOneEffectAndTheSameResult) {
  ingest(server(), Json::array({lead_json("L-alpha-dup", kBuyerA, "S-keep", 2000, 700)}));
  SyncClient op(port(), server().operator_token(), "op-dup-watch");
  ASSERT_EQ(type_of(op.hello().back()), "synced");

  Json first_submit, first_message;
  {
    SyncClient a(port(), server().buyer_token(kBuyerA), "a-dup");
    ASSERT_EQ(type_of(a.hello().back()), "synced");
    first_submit = a.op("submit_return", submit_args("R-alpha-dup", "L-alpha-dup"));
    expect_applied(first_submit);
    const std::int64_t after_submit = head(server());
    // The same op again in the same session: the stored result, nothing new.
    a.push(1, "submit_return", submit_args("R-alpha-dup", "L-alpha-dup"));
    EXPECT_EQ(a.result(1), first_submit);
    EXPECT_EQ(head(server()), after_submit);
    first_message = a.op("post_message", {{"return_id", "R-alpha-dup"},
                                          {"message_id", "M-alpha-dup"},
                                          {"body", "It was a fax machine."}});
    expect_applied(first_message);
    EXPECT_EQ(first_message["seq"], 2);
    EXPECT_GT(head(server()), after_submit);
    a.ws().drop();  // lost before the client could record the result
  }
  const std::int64_t before = head(server());

  // Reconnect with the same client id: the server remembers seq 2, and resends get the very
  // same results (even with a changed body: the seq identifies the op).
  SyncClient a(port(), server().buyer_token(kBuyerA), "a-dup");
  const std::vector<Json> frames = a.hello(0, 0);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.front()["last_seq"], 2);
  a.push(2, "post_message",
         {{"return_id", "R-alpha-dup"},
          {"message_id", "M-alpha-dup"},
          {"body", "It was a fax machine."}});
  EXPECT_EQ(a.result(2), first_message);
  a.push(1, "submit_return", submit_args("R-alpha-dup", "L-alpha-dup"));
  EXPECT_EQ(a.result(1), first_submit);
  EXPECT_EQ(head(server()), before);

  // One message, one submit, as every replica sees it.
  SyncClient fresh(port(), server().operator_token(), "op-dup-fresh");
  expect_catch_up(fresh.hello(0), 0, before);
  // One message; two return events: the submit and the message touching the return.
  int messages = 0, return_events = 0;
  for (const Json& i : fresh.items()) {
    if (i["entity"] == "message" && i["id"] == "M-alpha-dup") ++messages;
    if (i["entity"] == "return" && i["id"] == "R-alpha-dup") ++return_events;
  }
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(return_events, 2);
  // The next new op continues at seq 3.
  expect_applied(a.op("post_message", {{"return_id", "R-alpha-dup"},
                                       {"message_id", "M-alpha-dup-2"},
                                       {"body", "And a second note."}}));
}

TEST_F(SyncTest, ASeqGapIsAnErrorAndTheSessionGoesOn) {
  ingest(server(), Json::array({lead_json("L-alpha-gap", kBuyerA, "S-keep", 2000, 700)}));
  SyncClient a(port(), server().buyer_token(kBuyerA), "a-gap");
  ASSERT_EQ(type_of(a.hello().back()), "synced");
  expect_applied(a.op("save_draft", {{"return_id", "R-alpha-gap"}, {"lead_id", "L-alpha-gap"}}));
  a.push(3, "save_draft",
         {{"return_id", "R-alpha-gap"}, {"lead_id", "L-alpha-gap"}, {"reason", "duplicate"}});
  const Json gap = a.result(3);
  EXPECT_TRUE(is_error(gap, "SEQ_GAP")) << gap.dump();
  EXPECT_EQ(gap["fatal"], false);
  EXPECT_FALSE(a.ws().closed());
  // Nothing was stored for seq 3: seq 2 is next, then 3 applies.
  a.set_seq(1);
  expect_applied(
      a.op("save_draft",
           {{"return_id", "R-alpha-gap"}, {"lead_id", "L-alpha-gap"}, {"reason", "bad_contact"}}));
  const Json third = a.op("discard_draft", {{"return_id", "R-alpha-gap"}});
  expect_applied(third);
  EXPECT_EQ(third["seq"], 3);
  a.ws().close();
  SyncClient again(port(), server().buyer_token(kBuyerA), "a-gap");
  EXPECT_EQ(again.hello().front()["last_seq"], 3);
}

TEST_F(SyncTest, ACursorAheadOfTheHeadResets) {
  const std::int64_t now_head = head(server());
  SyncClient op(port(), server().operator_token(), "op-ahead");
  const std::vector<Json> frames = op.hello(now_head + 1000);
  ASSERT_GE(frames.size(), 3u);
  EXPECT_EQ(type_of(frames[0]), "reset") << frames[0].dump();
  const std::vector<Json> rest(frames.begin() + 1, frames.end());
  const std::vector<Json> items = expect_catch_up(rest, 0, head(server()));
  EXPECT_GE(items.size(), static_cast<std::size_t>(now_head));
}

TEST_F(SyncTest, NoHelloWithinFiveSecondsIsFatal) {
  WsClient ws(port());
  const auto start = std::chrono::steady_clock::now();
  const std::optional<Json> frame = ws.next(8s);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(frame.has_value());
  EXPECT_TRUE(is_error(*frame, "HELLO_REQUIRED")) << frame->dump();
  EXPECT_EQ((*frame)["fatal"], true);
  EXPECT_GE(waited, 4500ms);
  EXPECT_LE(waited, 7000ms);
  EXPECT_TRUE(ws.wait_closed());
  EXPECT_EQ(ws.close_code(), 1008);
}

// --- Each with a server of its own ---------------------------------------------------------------

TEST(SyncCompaction, ACursorOlderThanTheLogResets) {
  Server server(Server::Options{.world = standard_world()});
  Json leads = Json::array();
  for (int i = 0; i < 6; ++i) {
    leads.push_back(lead_json("L-alpha-c" + std::to_string(i), kBuyerA, "S-keep", 1000, 100));
  }
  ingest(server, leads);
  const std::int64_t now_head = head(server);
  ASSERT_GE(now_head, 12);
  // Compaction as a future store may do it: the oldest events leave the log.
  const std::int64_t dropped = now_head - 4;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(server.db_path().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const std::string sql = "DELETE FROM events WHERE version <= " + std::to_string(dropped);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  // Older than the log: reset, then everything that is left from scratch.
  SyncClient old(server.port(), server.operator_token(), "op-old");
  const std::vector<Json> frames = old.hello(dropped - 1);
  ASSERT_GE(frames.size(), 3u);
  EXPECT_EQ(type_of(frames[0]), "reset") << frames[0].dump();
  const std::vector<Json> rest(frames.begin() + 1, frames.end());
  const std::vector<Json> items = expect_catch_up(rest, 0, now_head);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items.front()["v"], dropped + 1);
  std::size_t resets = 0;
  for (const Json& f : old.ws().frames()) resets += type_of(f) == "reset";
  EXPECT_EQ(resets, 1u);

  // Exactly at the oldest kept boundary: no reset.
  SyncClient edge(server.port(), server.operator_token(), "op-edge");
  const std::vector<Json> edge_frames = edge.hello(dropped);
  EXPECT_EQ(expect_catch_up(edge_frames, dropped, now_head).size(), 4u);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// `returnsd compact` drops the superseded events: a catch-up from scratch then sends each entity
// once (its newest row), and a client at an old cursor carries on without a reset.
TEST(SyncCompaction, SupersededEventsGoAndEveryCursorStaysValid) {
  Server server(Server::Options{.world = standard_world()});
  ingest(server, Json::array({lead_json("L-alpha-k", kBuyerA, "S-keep", 1000, 100)}));
  SyncClient a(server.port(), server.buyer_token(kBuyerA), "a-compact");
  a.hello(0);
  const std::int64_t old_cursor = head(server);
  for (int i = 0; i < 4; ++i) {
    expect_applied(a.op("save_draft", {{"return_id", "R-alpha-k"},
                                       {"lead_id", "L-alpha-k"},
                                       {"note", "edit " + std::to_string(i)}}));
  }
  const std::int64_t now_head = head(server);
  SyncClient before(server.port(), server.operator_token(), "op-before");
  const std::vector<Json> full = expect_catch_up(before.hello(0), 0, now_head);
  ASSERT_EQ(server.stop(), 0) << server.log();

  std::string out;
  ASSERT_EQ(Server::run_tool({"compact", "--db", server.db_path()}, &out), 0) << out;
  EXPECT_NE(out.find(" 3 superseded events dropped"), std::string::npos) << out;
  server.start();

  SyncClient after(server.port(), server.operator_token(), "op-after");
  const std::vector<Json> items = expect_catch_up(after.hello(0), 0, now_head);
  EXPECT_EQ(items.size() + 3, full.size());
  int drafts = 0;
  for (const Json& item : items) {
    if (item.value("id", "") != "R-alpha-k") continue;
    ++drafts;
    EXPECT_EQ(item.at("data").value("note", ""), "edit 3") << item.dump();
  }
  EXPECT_EQ(drafts, 1);
  // A cursor from before the edits: no reset, and the draft arrives once, as it is now.
  SyncClient resume(server.port(), server.buyer_token(kBuyerA), "a-compact-2");
  const std::vector<Json> rest = expect_catch_up(resume.hello(old_cursor), old_cursor, now_head);
  int resumed = 0;
  for (const Json& item : rest) resumed += item.value("id", "") == "R-alpha-k";
  EXPECT_EQ(resumed, 1);
  const std::string metrics = http_get(server.port(), "/metrics").body;
  EXPECT_NE(metrics.find("returns_log_compactions_total "), std::string::npos);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(SyncDrain, OpsPushedJustBeforeSigtermAreAnsweredAndCommitted) {
  Server server(Server::Options{.world = standard_world()});
  constexpr int kClients = 4;
  constexpr int kOps = 100;
  Json leads = Json::array();
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kOps; ++i) {
      leads.push_back(lead_json("L-alpha-d" + std::to_string(c) + "-" + std::to_string(i), kBuyerA,
                                "S-keep", 1000, 100));
    }
  }
  ingest(server, leads);
  std::vector<std::unique_ptr<SyncClient>> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(std::make_unique<SyncClient>(server.port(), server.buyer_token(kBuyerA),
                                                   "a-drain-" + std::to_string(c)));
    ASSERT_EQ(type_of(clients.back()->hello().back()), "synced");
  }
  // Each client pushes a frame of drafts, then a ping: the pong proves the server has read the
  // push (frames are handled in order) and queued its ops for the writer.
  for (int c = 0; c < kClients; ++c) {
    Json ops = Json::array();
    for (int i = 0; i < kOps; ++i) {
      const std::string n = std::to_string(c) + "-" + std::to_string(i);
      ops.push_back({{"seq", i + 1},
                     {"op", "save_draft"},
                     {"args", {{"return_id", "R-alpha-d" + n}, {"lead_id", "L-alpha-d" + n}}}});
    }
    clients[c]->ws().send(Json{{"type", "push"}, {"ops", ops}});
    clients[c]->ws().send(Json{{"type", "ping"}, {"t", c}});
  }
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(type_of(clients[c]->ws().collect_until(is_type("pong")).back()), "pong");
  }
  const int code = server.stop();
  EXPECT_EQ(code, 0) << server.log();

  // Every op was answered before the close.
  for (int c = 0; c < kClients; ++c) {
    WsClient& ws = clients[c]->ws();
    EXPECT_TRUE(ws.wait_closed());
    EXPECT_EQ(ws.close_code(), 1001);
    std::set<std::int64_t> applied;
    for (const Json& f : ws.frames()) {
      if (type_of(f) == "result" && f["status"] == "applied")
        applied.insert(f["seq"].get<std::int64_t>());
    }
    EXPECT_EQ(applied.size(), static_cast<std::size_t>(kOps)) << "client " << c;
  }

  // …and committed: after a restart the server remembers every seq and every draft.
  server.start();
  SyncClient op(server.port(), server.operator_token(), "op-after");
  const std::vector<Json> frames = op.hello();
  ASSERT_EQ(type_of(frames.back()), "synced");
  std::set<std::string> drafts;
  for (const Json& i : op.items()) {
    if (i["entity"] == "return" && i["data"]["state"] == "draft")
      drafts.insert(i["id"].get<std::string>());
  }
  EXPECT_EQ(drafts.size(), static_cast<std::size_t>(kClients * kOps));
  for (int c = 0; c < kClients; ++c) {
    SyncClient again(server.port(), server.buyer_token(kBuyerA), "a-drain-" + std::to_string(c));
    EXPECT_EQ(again.hello().front()["last_seq"], kOps);
  }
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace returns::test
