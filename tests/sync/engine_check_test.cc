// engine_check_test.cc — the engine's operator questions on the optimistic view: check (a dry
// run of enqueue: the core's refusal or ok, nothing written), history (the buyer's past
// returns for the what-if replay, core/return_history.h) and review (a return's evidence and
// policy evaluation at submission, core/validation.h review_return). The world is built by the real
// ops on a MemoryState and handed to the engine as a server's `changes` frame, as an operator sees
// it.
#include <gtest/gtest.h>

#include <functional>

#include "core/lifecycle.h"
#include "core/memory_state.h"
#include "core/validation.h"
#include "engine_fixture.h"
#include "sync/engine.h"
#include "sync/memory_replica.h"

namespace returns::sync {
namespace {

using namespace returns::sync::testing;

constexpr Millis kNow = kT0 + 31 * kHour;

Principal operator_principal() {
  Principal p;
  p.role = Role::operator_;
  p.subject = "op-alice";
  return p;
}

Lead full_lead(const std::string& id) {
  Result<Lead> l = decode_lead(lead_row(id));
  EXPECT_TRUE(l.ok());
  Lead out = *l;
  out.supplier_id = "S-1";
  out.cost_cents = 2000;
  return out;
}

// B-1 (default policy: auto-accept within 24 h, 168 h window), leads L-1..L-3 delivered at kT0
// for 5000 cents. R-1 on L-1 submitted at kT0 + 2 h (auto-accepted), R-2 on L-2 at kT0 + 30 h
// (manual review, pending), R-3 a draft on L-3. Another buyer B-2 with L-9 and a pending R-9.
MemoryState played_world() {
  MemoryState st;
  Buyer b;
  b.id = kBuyer;
  b.name = "Acme Law";
  st.put(b);
  Buyer other;
  other.id = "B-2";
  other.name = "Other";
  st.put(other);
  st.put(Supplier{"S-1", "Supplier", false});
  st.put(Campaign{"C-1", kBuyer, "mva", 5000});
  st.put(Campaign{"C-2", "B-2", "mva", 5000});
  for (const char* id : {"L-1", "L-2", "L-3"}) st.put(full_lead(id));
  Lead other_lead = full_lead("L-9");
  other_lead.buyer_id = "B-2";
  other_lead.campaign_id = "C-2";
  st.put(other_lead);
  auto play = [&](const Actor& a, const OpArgs& args, Millis at) {
    Result<Effects> fx = apply_op(a, args, st, at);
    ASSERT_TRUE(fx.ok()) << fx.error().message;
    st.commit(*fx);
  };
  play(Actor::buyer(kBuyer), SubmitReturnArgs{"R-1", "L-1", Reason::bad_contact, "", 0},
       kT0 + 2 * kHour);
  play(Actor::buyer(kBuyer), SubmitReturnArgs{"R-2", "L-2", Reason::duplicate, "", 0},
       kT0 + 30 * kHour);
  play(Actor::buyer(kBuyer), SaveDraftArgs{"R-3", "L-3", Reason::bad_contact, "", 0},
       kT0 + 30 * kHour);
  play(Actor::buyer("B-2"), SubmitReturnArgs{"R-9", "L-9", Reason::bad_contact, "", 0},
       kT0 + 30 * kHour);
  return st;
}

// Every row of `st` as one `changes` frame, as a server holding it ships it to an operator.
std::string world_frame(const MemoryState& st) {
  Json w = st.replica_world();
  std::vector<ChangeItem> items;
  std::int64_t v = 0;
  const std::pair<const char*, const char*> kinds[] = {
      {"buyers", "buyer"},        {"suppliers", "supplier"}, {"campaigns", "campaign"},
      {"leads", "lead"},          {"returns", "return"},     {"ledger", "ledger"},
      {"buyer_days", "buyer_day"}};
  for (const auto& [key, entity] : kinds) {
    if (!w.contains(key)) continue;
    for (const Json& row : w[key])
      items.push_back(ChangeItem{++v, entity, row["id"].get<std::string>(), row});
  }
  return changes(0, v, std::move(items));
}

class EngineCheck : public ::testing::Test {
 protected:
  MemoryReplica replica;
  Engine engine{replica, EngineConfig{"dash-1", "tok-op", 250}};
  MemoryState world = played_world();

  void SetUp() override {
    (void)engine.on_connected(kNow);
    Welcome w;
    w.server_time = kNow;
    w.principal = operator_principal();
    ASSERT_TRUE(engine.on_frame(encode_welcome(w), kNow).ok());
    const std::string frame = world_frame(world);
    ASSERT_TRUE(engine.on_frame(frame, kNow).ok());
    ASSERT_TRUE(engine.on_frame(encode_synced(engine.cursor()), kNow).ok());
    (void)engine.take_outgoing();
    (void)engine.take_notices();
  }

  ErrorCode refusal(const std::string& op, const Json& args) {
    Status s = engine.check(op, args, kNow);
    EXPECT_FALSE(s.ok()) << op << " " << args.dump();
    return s.ok() ? ErrorCode::INTERNAL : s.error().code;
  }
};

TEST_F(EngineCheck, AnswersTheCoresRefusalOrOk) {
  EXPECT_TRUE(engine.check("accept_return", Json{{"return_id", "R-2"}}, kNow).ok());
  EXPECT_TRUE(
      engine.check("accept_return", Json{{"return_id", "R-2"}, {"credit_cents", 5000}}, kNow).ok());
  EXPECT_TRUE(
      engine.check("reject_return", Json{{"return_id", "R-2"}, {"note", "Reached."}}, kNow).ok());

  Status s =
      engine.check("accept_return", Json{{"return_id", "R-2"}, {"credit_cents", 5001}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::CREDIT_OUT_OF_RANGE);
  EXPECT_EQ(s.error().field, "credit_cents");
  EXPECT_EQ(refusal("accept_return", Json{{"return_id", "R-2"}, {"credit_cents", 0}}),
            ErrorCode::CREDIT_OUT_OF_RANGE);

  // A rejection needs a note: absent, the codec refuses it; blank, the core does.
  s = engine.check("reject_return", Json{{"return_id", "R-2"}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::MISSING_FIELD);
  EXPECT_EQ(s.error().field, "args.note");
  s = engine.check("reject_return", Json{{"return_id", "R-2"}, {"note", "  "}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::NOTE_REQUIRED);
  EXPECT_EQ(s.error().field, "note");

  // R-1 was auto-accepted: accepting it again is a bad transition; R-404 does not exist.
  EXPECT_EQ(refusal("accept_return", Json{{"return_id", "R-1"}}), ErrorCode::BAD_TRANSITION);
  EXPECT_EQ(refusal("accept_return", Json{{"return_id", "R-404"}}), ErrorCode::RETURN_NOT_FOUND);
  // Operators may not submit.
  EXPECT_EQ(refusal("submit_return", Json{{"return_id", "R-3"}, {"lead_id", "L-3"}}),
            ErrorCode::FORBIDDEN);
}

TEST_F(EngineCheck, SetPolicyIsCheckedByTheCoreCodecAndTheCore) {
  const Json good{{"mode", "rules"}, {"window_hours", 72}};
  EXPECT_TRUE(engine.check("set_policy", Json{{"buyer_id", kBuyer}, {"policy", good}}, kNow).ok());

  Status s = engine.check(
      "set_policy",
      Json{{"buyer_id", kBuyer}, {"policy", {{"mode", "rules"}, {"window_hours", 0}}}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::INVALID_POLICY);
  EXPECT_EQ(s.error().field, "args.policy.window_hours");
  EXPECT_EQ(refusal("set_policy", Json{{"buyer_id", kBuyer},
                                       {"policy", {{"mode", "sometimes"}, {"window_hours", 5}}}}),
            ErrorCode::INVALID_ENUM);
  EXPECT_EQ(refusal("set_policy", Json{{"buyer_id", "B-404"}, {"policy", good}}),
            ErrorCode::BUYER_NOT_FOUND);
}

TEST_F(EngineCheck, MalformedOpsAreTypedErrors) {
  EXPECT_EQ(refusal("nope", Json::object()), ErrorCode::UNKNOWN_OP);
  Status s = engine.check("accept_return", Json::array(), kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::BAD_TYPE);
  EXPECT_EQ(s.error().field, "args");
  s = engine.check("accept_return", Json{{"return_id", "R-2"}, {"credit_cents", "12"}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::BAD_TYPE);
  EXPECT_EQ(s.error().field, "args.credit_cents");
  EXPECT_EQ(refusal("accept_return", Json::object()), ErrorCode::MISSING_FIELD);
  EXPECT_EQ(refusal("accept_return", Json{{"return_id", "R-2"}, {"x", 1}}),
            ErrorCode::UNKNOWN_FIELD);
}

TEST_F(EngineCheck, WritesAndQueuesNothing) {
  const std::size_t writes = replica.writes();
  const std::int64_t next = engine.next_seq();
  EXPECT_TRUE(engine.check("accept_return", Json{{"return_id", "R-2"}}, kNow).ok());
  EXPECT_FALSE(engine.check("reject_return", Json{{"return_id", "R-2"}}, kNow).ok());
  EXPECT_EQ(replica.writes(), writes);
  EXPECT_EQ(engine.next_seq(), next);
  EXPECT_TRUE(engine.outbox().empty());
  EXPECT_TRUE(engine.take_outgoing().empty());
  EXPECT_TRUE(engine.pending(kNow).empty());
  EXPECT_EQ(engine.row("return", "R-2", kNow)->at("state"), "pending");
}

TEST_F(EngineCheck, UsesTheOptimisticView) {
  // An accept of R-2 waits in the outbox: on the view R-2 is accepted already.
  ASSERT_TRUE(engine.enqueue("accept_return", Json{{"return_id", "R-2"}}, kNow).ok());
  EXPECT_EQ(refusal("accept_return", Json{{"return_id", "R-2"}}), ErrorCode::BAD_TRANSITION);
  EXPECT_TRUE(engine.check("reopen_return", Json{{"return_id", "R-2"}}, kNow).ok());
}

TEST_F(EngineCheck, ActsAsThePrincipalOrTheGivenActor) {
  // A buyer may not accept.
  Status s = engine.check(Actor::buyer(kBuyer), "accept_return", Json{{"return_id", "R-2"}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::FORBIDDEN);
  // Before any welcome there is no principal.
  MemoryReplica empty;
  Engine fresh{empty, EngineConfig{"dash-2", "", 250}};
  s = fresh.check("accept_return", Json{{"return_id", "R-2"}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::UNAUTHORIZED);
  s = fresh.check(Actor::operator_("op"), "accept_return", Json{{"return_id", "R-2"}}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::RETURN_NOT_FOUND);
}

TEST_F(EngineCheck, HistoryReadsTheBuyersReturnsFromTheView) {
  Result<std::vector<HistoricalReturn>> h = engine.history(kBuyer, 30, kNow);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);  // R-3 is a draft; R-9 is B-2's
  const HistoricalReturn& r1 = (*h)[0];
  EXPECT_EQ(r1.return_id, "R-1");
  EXPECT_EQ(r1.actual, Verdict::auto_accept);
  EXPECT_EQ(r1.submitted_at, kT0 + 2 * kHour);
  EXPECT_EQ(r1.delivered_at, kT0);
  EXPECT_EQ(r1.price_cents, 5000);
  EXPECT_EQ(r1.credit_cents, 5000);
  EXPECT_EQ(r1.trailing_30d, (RateCounts{0, 3}));
  const HistoricalReturn& r2 = (*h)[1];
  EXPECT_EQ(r2.return_id, "R-2");
  EXPECT_EQ(r2.actual, Verdict::manual_review);
  EXPECT_EQ(r2.reason, Reason::duplicate);
  EXPECT_EQ(r2.credit_cents, 0);
  EXPECT_EQ(r2.trailing_30d, (RateCounts{1, 3}));  // L-1 returned by R-1
  // The server's own counts at those instants agree.
  EXPECT_EQ(r2.trailing_30d, world.trailing_counts(kBuyer, kT0 + 30 * kHour, 30));

  // A pending partial accept shows on the view.
  ASSERT_TRUE(
      engine.enqueue("accept_return", Json{{"return_id", "R-2"}, {"credit_cents", 2500}}, kNow)
          .ok());
  h = engine.history(kBuyer, 30, kNow);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)[1].credit_cents, 2500);
  EXPECT_EQ((*h)[1].actual, Verdict::manual_review);

  // Today is kT0 + 31 h; R-1 was submitted the day before: days = 1 keeps only R-2.
  ASSERT_EQ(utc_day(kT0 + 2 * kHour) + 1, utc_day(kNow));
  h = engine.history(kBuyer, 1, kNow);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].return_id, "R-2");
}

TEST_F(EngineCheck, HistoryRefusesUnknownBuyersAndBadPeriods) {
  auto code = [&](const std::string& buyer, int days) {
    Result<std::vector<HistoricalReturn>> h = engine.history(buyer, days, kNow);
    EXPECT_FALSE(h.ok());
    return h.ok() ? ErrorCode::INTERNAL : h.error().code;
  };
  EXPECT_EQ(code("B-404", 30), ErrorCode::BUYER_NOT_FOUND);
  EXPECT_EQ(code("", 30), ErrorCode::INVALID_ID);
  EXPECT_EQ(code("bad id!", 30), ErrorCode::INVALID_ID);
  EXPECT_EQ(code(kBuyer, 0), ErrorCode::INVALID_AMOUNT);
  EXPECT_EQ(code(kBuyer, Engine::kMaxWhatIfDays + 1), ErrorCode::INVALID_AMOUNT);
  EXPECT_TRUE(engine.history(kBuyer, Engine::kMaxWhatIfDays, kNow).ok());
  EXPECT_TRUE(engine.history("B-2", 30, kNow).ok());
}

TEST_F(EngineCheck, ReviewShowsTheEvidenceAndTheEvaluationAtSubmission) {
  Result<ReturnReview> r = engine.review("R-2", kNow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->return_id, "R-2");
  EXPECT_TRUE(r->at_submission);
  EXPECT_EQ(r->evaluated_at, kT0 + 30 * kHour);
  ASSERT_TRUE(r->evidence.has_value());
  EXPECT_EQ(r->evidence->reason, Reason::duplicate);
  EXPECT_EQ(r->evidence->verdict, EvidenceVerdict::cannot_verify);
  EXPECT_EQ(r->evaluation.decision, Verdict::manual_review);  // 30 h: past the 24 h rule
  // The same answer the core gives on the server's state (the counts agree there).
  Result<ReturnReview> server = review_return(Actor::operator_("op"), "R-2", world, kNow);
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(r->evaluation, server->evaluation);
  EXPECT_EQ(r->evidence, server->evidence);

  // A draft: evaluated at the estimated server clock.
  r = engine.review("R-3", kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->at_submission);
  EXPECT_EQ(r->evaluated_at, engine.server_now(kNow));
}

TEST_F(EngineCheck, ReviewReadsTheCountsTheServerReadAtSubmission) {
  // The buyer's policy now auto-accepts within 48 h while the trailing rate is below 40 %.
  Buyer b = *world.find_buyer(kBuyer);
  b.policy.rules[0].max_age_hours = 48;
  b.policy.rules[0].max_return_rate = 4000;
  const std::int64_t v = engine.cursor() + 1;
  ASSERT_TRUE(
      engine.on_frame(changes(v - 1, v, {ChangeItem{v, "buyer", kBuyer, to_json(b)}}), kNow).ok());
  // An accept of R-2 pending: on the view L-2 is RETURNED now (2 of 3), but when R-2 was
  // submitted only L-1 was (1 of 3, 33 %).
  ASSERT_TRUE(engine.enqueue("accept_return", Json{{"return_id", "R-2"}}, kNow).ok());
  Result<ReturnReview> r = engine.review("R-2", kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->evaluation.decision, Verdict::auto_accept);
  EXPECT_EQ(r->evaluation.rule, "within_24h");
  // On the view's counts of today the rule would fail: the engine did not use them.
  Result<ReturnReview> on_view =
      review_return(Actor::operator_("op"), "R-2", engine.view(kNow), engine.server_now(kNow));
  ASSERT_TRUE(on_view.ok());
  EXPECT_EQ(on_view->evaluation.decision, Verdict::manual_review);
}

TEST_F(EngineCheck, ReviewRefusals) {
  auto code = [&](Result<ReturnReview> r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string("ok")
                  : std::string(to_string(r.error().code)) + "/" + r.error().field;
  };
  EXPECT_EQ(code(engine.review("R-404", kNow)), "RETURN_NOT_FOUND/return_id");
  EXPECT_EQ(code(engine.review("bad id!", kNow)), "INVALID_ID/return_id");
  EXPECT_EQ(code(engine.review(Actor::buyer("B-2"), "R-2", kNow)), "FORBIDDEN/return_id");
  EXPECT_TRUE(engine.review(Actor::buyer(kBuyer), "R-2", kNow).ok()) << "the owning buyer";
  EXPECT_TRUE(engine.review(Actor::buyer("B-2"), "R-9", kNow).ok());
  MemoryReplica empty;
  Engine fresh{empty, EngineConfig{"dash-2", "", 250}};
  EXPECT_EQ(code(fresh.review("R-2", kNow)), "UNAUTHORIZED/");
  EXPECT_EQ(code(fresh.review(Actor::operator_("op"), "R-2", kNow)), "RETURN_NOT_FOUND/return_id");
}

// The what-if's decoded rows are kept in step with live changes rather than rebuilt: after every
// frame the history equals what an engine reading the same replica afresh answers.
TEST_F(EngineCheck, HistoryFollowsLiveChangesAsAFreshReadingWould) {
  auto as_json = [](const std::vector<HistoricalReturn>& h) {
    Json out = Json::array();
    for (const HistoricalReturn& r : h) {
      out.push_back(Json{{"id", r.return_id},
                         {"delivered_at", r.delivered_at},
                         {"submitted_at", r.submitted_at},
                         {"reason", to_string(r.reason)},
                         {"price", r.price_cents},
                         {"trailing", {r.trailing_30d.accepted, r.trailing_30d.returned}},
                         {"actual", to_string(r.actual)},
                         {"credit", r.credit_cents}});
    }
    return out;
  };
  auto fresh_history = [&](const std::string& buyer) {
    Engine fresh{replica, EngineConfig{"dash-fresh", "tok-op", 250}};
    (void)fresh.on_connected(kNow);
    Welcome w;
    w.server_time = kNow;
    w.principal = operator_principal();
    w.cursor = engine.cursor();
    EXPECT_TRUE(fresh.on_frame(encode_welcome(w), kNow).ok());
    Result<std::vector<HistoricalReturn>> h = fresh.history(buyer, 30, kNow);
    EXPECT_TRUE(h.ok());
    return h.ok() ? as_json(*h) : Json();
  };
  ASSERT_TRUE(engine.history(kBuyer, 30, kNow).ok());  // the cache is built
  // Each step changes the world the server holds and ships its rows again.
  auto play = [&](const Actor& a, const OpArgs& args, Millis at) {
    Result<Effects> fx = apply_op(a, args, world, at);
    ASSERT_TRUE(fx.ok()) << fx.error().message;
    world.commit(*fx);
    Result<Json> frame = parse_json(world_frame(world));
    ASSERT_TRUE(frame.ok());
    const std::int64_t from = engine.cursor();
    std::vector<ChangeItem> items;
    for (const Json& item : (*frame)["items"]) {
      items.push_back(ChangeItem{from + item["v"].get<std::int64_t>(), item["entity"], item["id"],
                                 item["data"]});
    }
    const std::int64_t to = from + static_cast<std::int64_t>(items.size());
    ASSERT_TRUE(engine.on_frame(changes(from, to, std::move(items)), kNow).ok());
  };
  const Actor op = Actor::operator_("op-alice");
  const std::vector<std::function<void()>> steps = {
      [&] {
        play(op, AcceptReturnArgs{"R-2", 2500, true, ""}, kT0 + 31 * kHour);
      },
      [&] {
        play(Actor::buyer(kBuyer), SubmitReturnArgs{"R-3", "L-3", Reason::duplicate, "", 0},
             kT0 + 31 * kHour);
      },
      [&] {
        play(op, ReopenReturnArgs{"R-1", ""}, kT0 + 31 * kHour);
      },
      [&] {
        play(op, AcceptReturnArgs{"R-9", std::nullopt, false, ""}, kT0 + 31 * kHour);
      },  // the other buyer
      [&] {
        play(op, RejectReturnArgs{"R-3", "Reached them."}, kT0 + 31 * kHour);
      },
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    steps[i]();
    Result<std::vector<HistoricalReturn>> kept = engine.history(kBuyer, 30, kNow);
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ(as_json(*kept), fresh_history(kBuyer)) << "after step " << i;
    EXPECT_EQ(as_json(*engine.history("B-2", 30, kNow)), fresh_history("B-2"))
        << "after step " << i;
    ASSERT_TRUE(engine.history(kBuyer, 30, kNow).ok());  // back to following kBuyer
  }
}

}  // namespace
}  // namespace returns::sync
