// auth_matrix_test.cc — who may do what to buyer A's data, through the real server: every op ×
// {operator, buyer A, buyer B, a bad token, an expired token}, each answered as docs/domain.md
// ("Refusals") and docs/errors.md say, refused ones without any effect. Meanwhile every frame any
// buyer session receives is recorded and scanned: buyer B never sees A's data, and no buyer ever
// sees a supplier, a cost or a charge-back.
#include <gtest/gtest.h>

#include <set>

#include "harness.h"
#include "server/token.h"

namespace returns::test {
namespace {

enum class Who { op, a, b, bad, expired };

std::string who_name(Who w) {
  switch (w) {
    case Who::op:
      return "operator";
    case Who::a:
      return "buyer A";
    case Who::b:
      return "buyer B";
    case Who::bad:
      return "bad token";
    case Who::expired:
      return "expired token";
  }
  return "";
}

class AuthMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(Server::Options{.world = standard_world()});
    Json leads = Json::array();
    for (const char* id :
         {"L-alpha-sd", "L-alpha-dd", "L-alpha-sub", "L-alpha-wd", "L-alpha-acc", "L-alpha-rej"}) {
      leads.push_back(lead_json(id, kBuyerA, "S-pass", 2000, 900));
    }
    leads.push_back(lead_json("L-bravo-own", kBuyerB, "S-keep", 1500, 600));
    const HttpReply r = http_post(server_->port(), "/v1/leads", leads, server_->operator_token());
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json["inserted"], leads.size()) << r.body;

    op_ = connect(server_->operator_token(), "op-matrix");
    a_ = connect(server_->buyer_token(kBuyerA), "a-matrix");
    b_ = connect(server_->buyer_token(kBuyerB), "b-matrix");
  }

  void TearDown() override {
    a_.reset();
    b_.reset();
    op_.reset();
    EXPECT_EQ(server_->stop(), 0) << server_->log();
  }

  std::unique_ptr<SyncClient> connect(const std::string& token, const std::string& client_id) {
    auto c = std::make_unique<SyncClient>(server_->port(), token, client_id);
    const std::vector<Json> frames = c->hello();
    EXPECT_FALSE(frames.empty());
    if (!frames.empty()) {
      EXPECT_EQ(type_of(frames.back()), "synced") << frames.back().dump();
    }
    return c;
  }

  SyncClient& client(Who w) { return w == Who::op ? *op_ : w == Who::a ? *a_ : *b_; }

  // Sends one op as `who` and checks the outcome: "applied", or the refusal code. A refusal has
  // no effect: the event log does not move.
  void expect_outcome(Who who, const std::string& op, const Json& args,
                      const std::string& expected) {
    SCOPED_TRACE(who_name(who) + " " + op + " " + args.dump() + " → " + expected);
    const std::int64_t before = server_->committed_head();
    if (who == Who::bad || who == Who::expired) {
      expect_refused_at_hello(who, op, args, expected);
    } else {
      const Json r = client(who).op(op, args);
      ASSERT_EQ(type_of(r), "result") << r.dump();
      if (expected == "applied") {
        EXPECT_EQ(r["status"], "applied") << r.dump();
        EXPECT_GT(r["version"].get<std::int64_t>(), before);
        EXPECT_TRUE(r["code"].is_null()) << r.dump();
      } else {
        EXPECT_EQ(r["status"], "rejected") << r.dump();
        EXPECT_EQ(r["code"], expected) << r.dump();
      }
    }
    if (expected != "applied") {
      EXPECT_EQ(server_->committed_head(), before) << "a refused op changed something";
    }
  }

  // A hello with a bad or expired token, with the op pipelined right behind it: a fatal error,
  // the close, and no result for the op.
  void expect_refused_at_hello(Who who, const std::string& op, const Json& args,
                               const std::string& expected) {
    std::string token;
    if (who == Who::expired) {
      token = server_->token(Role::operator_, "", "ops-expired", -1000);
    } else {
      // Claims an operator, signed with a secret that is not the server's.
      server::TokenClaims forged{Role::operator_, "", "mallory", now_ms() + 3'600'000};
      token = server::sign_token(forged, "not-the-server-secret-0123456789");
    }
    SyncClient c(server_->port(), token, "bad-" + op);
    c.ws().send(Json{{"type", "hello"},
                     {"proto", 1},
                     {"token", token},
                     {"client_id", "bad-" + op},
                     {"cursor", 0},
                     {"last_seq", 0}});
    c.push(1, op, args);
    EXPECT_TRUE(c.ws().wait_closed());
    const std::vector<Json>& frames = c.ws().frames();
    ASSERT_EQ(frames.size(), 1u) << "only the error may come back";
    EXPECT_TRUE(is_error(frames[0], expected)) << frames[0].dump();
    EXPECT_EQ(frames[0]["fatal"], true);
    EXPECT_EQ(c.ws().close_code(), 1008);
  }

  // Every frame a buyer session received: no supplier data; B's never A's data and vice versa.
  static void scan_buyer_frames(const WsClient& ws, const std::string& other_buyer_marker) {
    for (const std::string& frame : ws.transcript()) {
      for (const char* secret : {"supplier_chargeback", "supplier_id", "cost_cents", "charged_back",
                                 "chargeback_cents", "S-pass", "S-keep", "Supplyco"}) {
        EXPECT_EQ(frame.find(secret), std::string::npos) << secret << " in " << frame;
      }
      EXPECT_EQ(frame.find(other_buyer_marker), std::string::npos)
          << other_buyer_marker << " in " << frame;
    }
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<SyncClient> op_, a_, b_;
};

TEST_F(AuthMatrixTest, EveryOpByEveryPrincipalOnBuyerAsData) {
  const Json manual = {{"mode", "manual"}, {"window_hours", 72}};
  auto submit = [](const std::string& ret, const std::string& lead) {
    return Json{{"return_id", ret}, {"lead_id", lead}, {"reason", "bad_contact"}};
  };
  // Buyer B has data of its own in flight, so there is something for A not to see either.
  expect_outcome(Who::b, "submit_return", submit("R-bravo-own", "L-bravo-own"), "applied");
  expect_outcome(Who::op, "post_message",
                 {{"return_id", "R-bravo-own"}, {"message_id", "M-bravo-op"}, {"body", "On it."}},
                 "applied");
  // Buyer A's returns in the states the ops need.
  expect_outcome(Who::a, "save_draft", {{"return_id", "R-alpha-dd"}, {"lead_id", "L-alpha-dd"}},
                 "applied");
  for (const char* n : {"wd", "acc", "rej"}) {
    expect_outcome(Who::a, "submit_return",
                   submit(std::string("R-alpha-") + n, std::string("L-alpha-") + n), "applied");
  }

  // Each op: every principal that must be refused, then the one(s) allowed.
  struct Cell {
    Who who;
    std::string op;
    Json args;
    std::string expected;
  };
  const Json sd = {{"return_id", "R-alpha-sd"}, {"lead_id", "L-alpha-sd"}};
  const Json dd = {{"return_id", "R-alpha-dd"}};
  const Json wd = {{"return_id", "R-alpha-wd"}};
  const Json msg_b = {{"return_id", "R-alpha-sub"}, {"message_id", "M-bravo-x"}, {"body", "Hi"}};
  const Json acc = {{"return_id", "R-alpha-acc"}, {"credit_cents", 1000}};
  const Json rej = {{"return_id", "R-alpha-rej"}, {"note", "The number answered."}};
  const Json reo = {{"return_id", "R-alpha-acc"}, {"note", "Second look."}};
  const Json pol = {{"buyer_id", kBuyerA}, {"policy", manual}};
  const std::vector<Cell> cells = {
      {Who::bad, "save_draft", sd, "UNAUTHORIZED"},
      {Who::expired, "save_draft", sd, "TOKEN_EXPIRED"},
      {Who::op, "save_draft", {{"return_id", "R-op-sd"}, {"lead_id", "L-alpha-sd"}}, "FORBIDDEN"},
      {Who::b,
       "save_draft",
       {{"return_id", "R-bravo-sd"}, {"lead_id", "L-alpha-sd"}},
       "NOT_YOUR_LEAD"},
      {Who::a, "save_draft", sd, "applied"},

      {Who::bad, "discard_draft", dd, "UNAUTHORIZED"},
      {Who::expired, "discard_draft", dd, "TOKEN_EXPIRED"},
      {Who::op, "discard_draft", dd, "FORBIDDEN"},
      {Who::b, "discard_draft", dd, "FORBIDDEN"},
      {Who::a, "discard_draft", dd, "applied"},

      {Who::bad, "submit_return", submit("R-alpha-sub", "L-alpha-sub"), "UNAUTHORIZED"},
      {Who::expired, "submit_return", submit("R-alpha-sub", "L-alpha-sub"), "TOKEN_EXPIRED"},
      {Who::op, "submit_return", submit("R-op-sub", "L-alpha-sub"), "FORBIDDEN"},
      {Who::b, "submit_return", submit("R-bravo-sub", "L-alpha-sub"), "NOT_YOUR_LEAD"},
      {Who::a, "submit_return", submit("R-alpha-sub", "L-alpha-sub"), "applied"},

      {Who::bad, "withdraw_return", wd, "UNAUTHORIZED"},
      {Who::expired, "withdraw_return", wd, "TOKEN_EXPIRED"},
      {Who::op, "withdraw_return", wd, "FORBIDDEN"},
      {Who::b, "withdraw_return", wd, "FORBIDDEN"},
      {Who::a, "withdraw_return", wd, "applied"},

      {Who::bad, "post_message", msg_b, "UNAUTHORIZED"},
      {Who::expired, "post_message", msg_b, "TOKEN_EXPIRED"},
      {Who::b, "post_message", msg_b, "FORBIDDEN"},
      {Who::op,
       "post_message",
       {{"return_id", "R-alpha-sub"}, {"message_id", "M-alpha-op"}, {"body", "Checking."}},
       "applied"},
      {Who::a,
       "post_message",
       {{"return_id", "R-alpha-sub"}, {"message_id", "M-alpha-a"}, {"body", "Thanks."}},
       "applied"},

      {Who::bad, "accept_return", acc, "UNAUTHORIZED"},
      {Who::expired, "accept_return", acc, "TOKEN_EXPIRED"},
      {Who::a, "accept_return", acc, "FORBIDDEN"},
      {Who::b, "accept_return", acc, "FORBIDDEN"},
      {Who::op, "accept_return", acc, "applied"},

      {Who::bad, "reject_return", rej, "UNAUTHORIZED"},
      {Who::expired, "reject_return", rej, "TOKEN_EXPIRED"},
      {Who::a, "reject_return", rej, "FORBIDDEN"},
      {Who::b, "reject_return", rej, "FORBIDDEN"},
      {Who::op, "reject_return", rej, "applied"},

      {Who::bad, "reopen_return", reo, "UNAUTHORIZED"},
      {Who::expired, "reopen_return", reo, "TOKEN_EXPIRED"},
      {Who::a, "reopen_return", reo, "FORBIDDEN"},
      {Who::b, "reopen_return", reo, "FORBIDDEN"},
      {Who::op, "reopen_return", reo, "applied"},

      {Who::bad, "set_policy", pol, "UNAUTHORIZED"},
      {Who::expired, "set_policy", pol, "TOKEN_EXPIRED"},
      {Who::a, "set_policy", pol, "FORBIDDEN"},
      {Who::b, "set_policy", pol, "FORBIDDEN"},
      {Who::b, "set_policy", {{"buyer_id", kBuyerB}, {"policy", manual}}, "FORBIDDEN"},
      {Who::op, "set_policy", pol, "applied"},
  };
  std::set<std::string> ops_covered;
  for (const Cell& c : cells) {
    expect_outcome(c.who, c.op, c.args, c.expected);
    ops_covered.insert(c.op);
  }
  EXPECT_EQ(ops_covered.size(), 9u);

  // The state after the matrix, from a fresh operator replica: exactly the allowed effects.
  SyncClient check(server_->port(), server_->operator_token(), "op-check");
  ASSERT_EQ(type_of(check.hello().back()), "synced");
  EXPECT_EQ(check.row("return", "R-alpha-sd")["state"], "draft");
  EXPECT_EQ(check.row("return", "R-alpha-dd")["deleted"], true);
  EXPECT_EQ(check.row("return", "R-alpha-sub")["state"], "discussion");
  EXPECT_EQ(check.row("return", "R-alpha-wd")["state"], "withdrawn");
  EXPECT_EQ(check.row("return", "R-alpha-acc")["state"], "pending");
  EXPECT_EQ(check.row("return", "R-alpha-rej")["state"], "rejected");
  EXPECT_EQ(check.row("buyer", kBuyerA)["policy"]["window_hours"], 72);
  for (const char* never : {"R-op-sd", "R-bravo-sd", "R-op-sub", "R-bravo-sub"}) {
    EXPECT_TRUE(check.row("return", never).is_null()) << never;
  }
  EXPECT_TRUE(check.row("message", "M-bravo-x").is_null());
  // The operator's replica does hold what buyers must not see (so the scans below mean something).
  EXPECT_FALSE(check.row("ledger", "R-alpha-acc#1/supplier_chargeback").is_null());

  // Buyer A saw its own decisions live, including the credit.
  ASSERT_FALSE(a_->wait_item("ledger", "R-alpha-acc#1/wallet_credit").is_null());
  EXPECT_EQ(a_->row("ledger", "R-alpha-acc#1/wallet_credit")["amount_cents"], 1000);

  // Fresh catch-ups of both buyers, then the scans of every buyer session of the test.
  SyncClient a_fresh(server_->port(), server_->buyer_token(kBuyerA), "a-fresh");
  ASSERT_EQ(type_of(a_fresh.hello().back()), "synced");
  EXPECT_EQ(a_fresh.row("return", "R-alpha-acc")["state"], "pending");
  SyncClient b_fresh(server_->port(), server_->buyer_token(kBuyerB), "b-fresh");
  ASSERT_EQ(type_of(b_fresh.hello().back()), "synced");
  EXPECT_EQ(b_fresh.row("return", "R-bravo-own")["state"], "discussion");
  // Decision facts (docs/decision-facts.md): each buyer receives its own per-day counts and never
  // the other's; the operator receives both.
  auto fact_owners = [](const SyncClient& c) {
    std::set<std::string> owners;
    for (const Json& i : c.items()) {
      if (i.value("entity", "") == "buyer_day") owners.insert(i["data"].value("buyer_id", ""));
    }
    return owners;
  };
  EXPECT_EQ(fact_owners(a_fresh), std::set<std::string>{kBuyerA});
  EXPECT_EQ(fact_owners(b_fresh), std::set<std::string>{kBuyerB});
  EXPECT_EQ(fact_owners(check), (std::set<std::string>{kBuyerA, kBuyerB}));
  // Let the live sessions take in every commit before scanning them: each buyer posts a last
  // message and waits for it to come back; broadcasts arrive in commit order, so every earlier
  // commit has been delivered (or withheld) by then.
  expect_outcome(Who::a, "post_message",
                 {{"return_id", "R-alpha-sub"}, {"message_id", "M-alpha-end"}, {"body", "Bye."}},
                 "applied");
  expect_outcome(Who::b, "post_message",
                 {{"return_id", "R-bravo-own"}, {"message_id", "M-bravo-end"}, {"body", "Bye."}},
                 "applied");
  EXPECT_FALSE(a_->wait_item("message", "M-alpha-end").is_null());
  EXPECT_FALSE(b_->wait_item("message", "M-bravo-end").is_null());
  EXPECT_TRUE(a_->row("message", "M-bravo-end").is_null());
  EXPECT_TRUE(b_->row("message", "M-alpha-end").is_null());
  EXPECT_FALSE(b_->row("return", "R-bravo-own").is_null());
  scan_buyer_frames(a_->ws(), "bravo");
  scan_buyer_frames(a_fresh.ws(), "bravo");
  scan_buyer_frames(b_->ws(), "alpha");
  scan_buyer_frames(b_fresh.ws(), "alpha");
}

TEST_F(AuthMatrixTest, EveryKindOfBadTokenIsRefusedAtHello) {
  const std::string good = server_->buyer_token(kBuyerA);
  const std::string payload = good.substr(0, good.find('.'));
  const std::string mac = good.substr(good.find('.') + 1);
  // The same signature on claims raised to operator.
  const std::string raised =
      server::base64url_encode(R"({"exp":99999999999999,"role":"operator","sub":"B-alpha"})") +
      "." + mac;
  const std::vector<std::pair<std::string, std::string>> tokens = {
      {"", "UNAUTHORIZED"},
      {"garbage", "UNAUTHORIZED"},
      {payload, "UNAUTHORIZED"},
      {payload + ".", "UNAUTHORIZED"},
      {good + "x", "UNAUTHORIZED"},
      {raised, "UNAUTHORIZED"},
      {server_->token(Role::buyer, kBuyerA, kBuyerA, -1), "TOKEN_EXPIRED"},
  };
  for (const auto& [token, code] : tokens) {
    SCOPED_TRACE(token);
    SyncClient c(server_->port(), token, "a-bad-token");
    const std::vector<Json> frames = c.hello();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_TRUE(is_error(frames[0], code)) << frames[0].dump();
    EXPECT_EQ(frames[0]["fatal"], true);
    EXPECT_TRUE(c.ws().wait_closed());
  }
}

TEST_F(AuthMatrixTest, HttpEndpointsAreForOperatorsOnly) {
  const Json lead = Json::array({lead_json("L-alpha-http", kBuyerA, "S-keep", 1000, 100)});
  const std::string expired = server_->token(Role::operator_, "", "ops", -1);
  const std::string forged =
      server::sign_token(server::TokenClaims{Role::operator_, "", "mallory", now_ms() + 3'600'000},
                         "not-the-server-secret-0123456789");
  struct Case {
    std::string token;
    int status;
    std::string code;
  };
  for (const Case& c : std::vector<Case>{{"", 401, "UNAUTHORIZED"},
                                         {forged, 401, "UNAUTHORIZED"},
                                         {expired, 401, "TOKEN_EXPIRED"},
                                         {server_->buyer_token(kBuyerA), 403, "FORBIDDEN"}}) {
    SCOPED_TRACE(c.code);
    const HttpReply ingest = http_post(server_->port(), "/v1/leads", lead, c.token);
    EXPECT_EQ(ingest.status, c.status) << ingest.body;
    EXPECT_EQ(ingest.json["error"]["code"], c.code) << ingest.body;
    const HttpReply report = http_get(server_->port(), "/v1/reports/pnl", c.token);
    EXPECT_EQ(report.status, c.status) << report.body;
    EXPECT_EQ(report.json["error"]["code"], c.code) << report.body;
  }
  EXPECT_EQ(http_post(server_->port(), "/v1/leads", lead, server_->operator_token()).status, 200);
}

}  // namespace
}  // namespace returns::test
