// engine_test.cc — the client sync engine against hand-written server frames: hello, welcome and
// the outbox, results and drafts, the cursor rule, reset, resends after errors, fatal errors,
// malformed frames (typed error, nothing lost), replica write failures, and the optimistic view.
#include "sync/engine.h"

#include <gtest/gtest.h>

#include "engine_fixture.h"
#include "sync/memory_replica.h"

namespace returns::sync {
namespace {

using namespace returns::sync::testing;

constexpr Millis kNow = kT0 + 2 * kHour;  // local clock; the server clock is the same

class EngineTest : public ::testing::Test {
 protected:
  MemoryReplica replica;
  Engine engine{replica, EngineConfig{"dev-1", "tok-1", 250}};

  void connect(std::int64_t last_seq = 0, Millis server_time = kNow) {
    (void)engine.on_connected(kNow);
    ASSERT_TRUE(engine.on_frame(welcome(last_seq, engine.cursor(), server_time), kNow).ok());
  }
  void sync_world() {
    ASSERT_TRUE(engine.on_frame(world_changes(), kNow).ok());
    ASSERT_TRUE(engine.on_frame(encode_synced(3), kNow).ok());
  }
  DraftInput draft(const std::string& id = "R-1") {
    return DraftInput{id, "L-1", Reason::bad_contact, "Number disconnected"};
  }
};

TEST_F(EngineTest, HelloCarriesClientIdCursorAndLastAcked) {
  const std::string hello = engine.on_connected(kNow);
  Result<ClientMessage> m = parse_client_message(hello);
  ASSERT_TRUE(m.ok()) << hello;
  const auto& h = std::get<Hello>(*m);
  EXPECT_EQ(h.client_id, "dev-1");
  EXPECT_EQ(h.token, "tok-1");
  EXPECT_EQ(h.cursor, 0);
  EXPECT_EQ(h.last_seq, 0);
  EXPECT_EQ(hello.rfind("{\"type\":\"hello\"", 0), 0u);
  EXPECT_EQ(engine.phase(), SyncPhase::hello_sent);
}

TEST_F(EngineTest, OfflineOpsWaitInTheOutboxAndAreResentAfterWelcome) {
  Result<std::int64_t> s1 = engine.save_draft(draft(), kNow);
  Result<std::int64_t> s2 = engine.submit("R-1", kNow);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(*s1, 1);
  EXPECT_EQ(*s2, 2);
  EXPECT_TRUE(engine.take_outgoing().empty());  // not connected: nothing to send
  ASSERT_EQ(replica.outbox().size(), 2u);
  ASSERT_TRUE(replica.draft("R-1").has_value());
  EXPECT_EQ(replica.draft("R-1")->status, DraftStatus::submitting);
  EXPECT_EQ(replica.draft("R-1")->seq, 2);

  connect();
  EXPECT_EQ(engine.phase(), SyncPhase::catching_up);
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{1, 2}));
  // Live ops go out at once.
  ASSERT_TRUE(engine.enqueue("withdraw_return", Json{{"return_id", "R-1"}}, kNow).ok());
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{3}));
}

TEST_F(EngineTest, OpsCoveredByWelcomeLastSeqStayUntilTheirResultArrives) {
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  ASSERT_TRUE(engine.submit("R-1", kNow).ok());
  connect(/*last_seq=*/2);  // the server applied both, we missed the results
  // Both are resent so the server answers from the stored results; nothing dropped yet.
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(replica.outbox().size(), 2u);
  EXPECT_EQ(engine.next_seq(), 3);
  ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
  ASSERT_TRUE(engine.on_frame(refused(2, ErrorCode::WINDOW_CLOSED, "Too late.", 5), kNow).ok());
  EXPECT_TRUE(replica.outbox().empty());
  std::vector<Notice> n = engine.take_notices();
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0].kind, Notice::Kind::op_result);
  EXPECT_TRUE(n[0].applied);
  EXPECT_EQ(n[1].code, ErrorCode::WINDOW_CLOSED);
  EXPECT_EQ(n[1].return_id, "R-1");
  // A second copy of a result (a resend's answer) is not a second notice.
  ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
  EXPECT_TRUE(engine.take_notices().empty());
}

TEST_F(EngineTest, RefusedSubmitKeepsTheDraftWithItsReason) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  ASSERT_TRUE(engine.submit("R-1", kNow).ok());
  ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
  ASSERT_TRUE(engine
                  .on_frame(refused(2, ErrorCode::WINDOW_CLOSED,
                                    "Submitted outside the 168 h return window.", 5),
                            kNow)
                  .ok());
  std::optional<DraftRecord> d = replica.draft("R-1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->status, DraftStatus::refused);
  EXPECT_EQ(d->refusal, "WINDOW_CLOSED");
  EXPECT_EQ(d->refusal_message, "Submitted outside the 168 h return window.");
  Result<Json> data = parse_json(d->data);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)["lead_id"], "L-1");
  EXPECT_EQ((*data)["reason"], "bad_contact");
}

TEST_F(EngineTest, AppliedSubmitRemovesTheLocalDraft) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  ASSERT_TRUE(engine.submit("R-1", kNow).ok());
  ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
  ASSERT_TRUE(replica.draft("R-1").has_value());  // the submit is still pending
  ASSERT_TRUE(engine.on_frame(applied(2, 6), kNow).ok());
  EXPECT_FALSE(replica.draft("R-1").has_value());
}

TEST_F(EngineTest, AResultWithAnUndecodableDecisionIsRefusedAndChangesNothing) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  ASSERT_TRUE(engine.submit("R-1", kNow).ok());
  const std::size_t writes = replica.writes();
  Json frame = Json::parse(applied(2, 6));
  frame["decision"] = Json{{"outcome", "maybe"}, {"facts", Json::object()}};
  const Status s = engine.on_frame(frame.dump(), kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::INVALID_ENUM);
  EXPECT_EQ(s.error().field, "decision.outcome");
  EXPECT_EQ(replica.writes(), writes) << "nothing written";
  EXPECT_EQ(replica.outbox().size(), 2u) << "the ops stay until a valid answer";
}

TEST_F(EngineTest, DiscardRemovesTheDraftInTheSameWriteAsTheOutboxEntry) {
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  const std::size_t writes = replica.writes();
  ASSERT_TRUE(engine.discard_draft("R-1", kNow).ok());
  EXPECT_EQ(replica.writes(), writes + 1);
  EXPECT_FALSE(replica.draft("R-1").has_value());
  ASSERT_EQ(replica.outbox().size(), 2u);
  EXPECT_EQ(replica.outbox()[1].op, "discard_draft");
}

TEST_F(EngineTest, ChangesFollowTheCursorRule) {
  connect();
  sync_world();
  EXPECT_EQ(engine.cursor(), 3);
  EXPECT_EQ(engine.phase(), SyncPhase::live);
  Json stale = lead_row("L-1");
  stale["status"] = "RETURNED";
  Json ret{{"id", "R-9"}, {"lead_id", "L-1"}, {"buyer_id", kBuyer}, {"state", "draft"}};
  // v3 is not above the cursor: skipped. v5 upserts, v6 deletes the same row: the last wins.
  ASSERT_TRUE(
      engine
          .on_frame(
              changes(2, 7,
                      {ChangeItem{3, "lead", "L-1", stale}, ChangeItem{5, "return", "R-9", ret},
                       ChangeItem{6, "return", "R-9", Json{{"id", "R-9"}, {"deleted", true}}},
                       ChangeItem{7, "lead", "L-2", lead_row("L-2")}}),
              kNow)
          .ok());
  EXPECT_EQ(engine.cursor(), 7);
  EXPECT_EQ(parse_json(*replica.row("lead", "L-1"))->at("status"), "ACCEPTED");
  EXPECT_FALSE(replica.row("return", "R-9").has_value());
  EXPECT_TRUE(replica.row("lead", "L-2").has_value());
  EXPECT_EQ(replica.meta(meta_key::kCursor), "7");
  // An older frame (a duplicate) never moves the cursor back.
  ASSERT_TRUE(engine.on_frame(world_changes(), kNow).ok());
  EXPECT_EQ(engine.cursor(), 7);
}

TEST_F(EngineTest, ResetDropsRowsButKeepsOutboxAndDrafts) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  (void)engine.take_outgoing();
  engine.on_disconnected();
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(engine.on_frame(encode_reset(0), kNow).ok());
  EXPECT_EQ(engine.cursor(), 0);
  EXPECT_EQ(replica.row_count(), 0u);
  EXPECT_EQ(replica.outbox().size(), 1u);
  EXPECT_TRUE(replica.draft("R-1").has_value());
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{1}));
  std::vector<Notice> n = engine.take_notices();
  ASSERT_FALSE(n.empty());
  EXPECT_EQ(n.back().kind, Notice::Kind::reset);
}

TEST_F(EngineTest, WelcomeWithAnOlderCursorStartsOver) {
  connect();
  sync_world();
  engine.on_disconnected();
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
  EXPECT_EQ(engine.cursor(), 0);
  EXPECT_EQ(replica.row_count(), 0u);
}

TEST_F(EngineTest, SeqGapSchedulesAResendOfTheWholeOutbox) {
  connect();
  ASSERT_TRUE(engine.save_draft(draft("R-1"), kNow).ok());
  ASSERT_TRUE(engine.save_draft(draft("R-2"), kNow).ok());
  (void)engine.take_outgoing();
  ASSERT_TRUE(
      engine.on_frame(encode_error(ErrorCode::SEQ_GAP, "Expected seq 1.", false), kNow).ok());
  EXPECT_EQ(engine.next_wakeup(), kNow + 250);
  engine.tick(kNow + 100);
  EXPECT_TRUE(engine.take_outgoing().empty());
  engine.tick(kNow + 250);
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{1, 2}));
  EXPECT_FALSE(engine.next_wakeup().has_value());
  std::vector<Notice> n = engine.take_notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].code, ErrorCode::SEQ_GAP);
  EXPECT_FALSE(n[0].fatal);
}

// Found by the simulation: answers arriving out of order leave holes in the outbox, and one push
// with a seq gap is refused as a whole. Each run of consecutive seqs goes in its own push.
TEST_F(EngineTest, ResendSplitsTheOutboxIntoConsecutiveRuns) {
  connect();
  for (const char* id : {"R-1", "R-2", "R-3", "R-4"})
    ASSERT_TRUE(engine.save_draft(draft(id), kNow).ok());
  (void)engine.take_outgoing();
  ASSERT_TRUE(engine.on_frame(applied(2, 5), kNow).ok());  // 2 answered before 1
  engine.on_disconnected();
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
  const std::vector<std::string> frames = engine.take_outgoing();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(pushed_seqs({frames[0]}), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(pushed_seqs({frames[1]}), (std::vector<std::int64_t>{3, 4}));
}

TEST_F(EngineTest, FatalAuthErrorsStopTheEngineUntilANewToken) {
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(
      engine.on_frame(encode_error(ErrorCode::TOKEN_EXPIRED, "The token has expired.", true), kNow)
          .ok());
  EXPECT_EQ(engine.phase(), SyncPhase::stopped);
  engine.on_disconnected();
  EXPECT_EQ(engine.phase(), SyncPhase::stopped);
  engine.set_token("tok-2");
  EXPECT_EQ(engine.phase(), SyncPhase::disconnected);
  Result<ClientMessage> m = parse_client_message(engine.on_connected(kNow));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<Hello>(*m).token, "tok-2");
}

TEST_F(EngineTest, MalformedFramesAreTypedErrorsAndChangeNothing) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  (void)engine.take_outgoing();
  (void)engine.take_notices();
  const std::size_t writes = replica.writes();
  struct Case {
    std::string frame;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"not json", ErrorCode::BAD_JSON},
      {"[1,2]", ErrorCode::BAD_TYPE},
      {R"({"type":"nonsense"})", ErrorCode::INVALID_ENUM},
      {R"({"type":"changes","from":3,"to":4})", ErrorCode::MISSING_FIELD},
      {R"({"type":"changes","from":3,"to":4,"items":{}})", ErrorCode::BAD_TYPE},
      {R"({"type":"changes","from":5,"to":4,"items":[]})", ErrorCode::INVALID_AMOUNT},
      {R"({"type":"changes","from":3,"to":9,"items":[{"v":5,"entity":"lead","id":"L-9","data":{}},{"v":4,"entity":"lead","id":"L-8","data":{}}]})",
       ErrorCode::INVALID_AMOUNT},
      {R"({"type":"changes","from":3,"to":9,"items":[{"v":5,"entity":"lead","id":"L-9","data":{}},{"v":6,"entity":"planet","id":"x","data":{}}]})",
       ErrorCode::INVALID_ENUM},
      {R"({"type":"changes","from":3,"to":9,"items":[{"v":5,"entity":"lead","id":"L-9","data":[]}]})",
       ErrorCode::BAD_TYPE},
      {R"({"type":"changes","from":3,"to":-1,"items":[]})", ErrorCode::INVALID_AMOUNT},
      {R"({"type":"changes","from":3,"to":4.5,"items":[]})", ErrorCode::BAD_TYPE},
      {R"({"type":"result","seq":1,"status":"maybe","code":null,"message":"","version":4})",
       ErrorCode::INVALID_ENUM},
      {R"({"type":"result","seq":1,"status":"rejected","code":"NO_SUCH_CODE","message":"","version":4})",
       ErrorCode::INVALID_ENUM},
      {R"({"type":"result","seq":1,"status":"rejected","code":null,"message":"","version":4})",
       ErrorCode::MISSING_FIELD},
      {R"({"type":"result","status":"applied","code":null,"message":"","version":4})",
       ErrorCode::MISSING_FIELD},
      {R"({"type":"welcome","server_time":1,"last_seq":0,"cursor":0})", ErrorCode::MISSING_FIELD},
      {R"({"type":"welcome","server_time":1,"principal":{"role":"king"},"last_seq":0,"cursor":0})",
       ErrorCode::INVALID_ENUM},
      {R"({"type":"welcome","server_time":1,"principal":{"role":"buyer","subject":"x","buyer_id":"B-1"},"last_seq":0,"cursor":99})",
       ErrorCode::INVALID_AMOUNT},
      {R"({"type":"synced"})", ErrorCode::MISSING_FIELD},
      {R"({"type":"error","code":"WHAT","message":"x","fatal":true})", ErrorCode::INVALID_ENUM},
      {R"({"type":"error","code":"SEQ_GAP","message":"x","fatal":"yes"})", ErrorCode::BAD_TYPE},
      {R"({"type":"alert","alert":"x"})", ErrorCode::BAD_TYPE},
  };
  for (const Case& c : cases) {
    Status s = engine.on_frame(c.frame, kNow);
    ASSERT_FALSE(s.ok()) << c.frame;
    EXPECT_EQ(s.error().code, c.code) << c.frame << " -> " << s.error().message;
  }
  EXPECT_EQ(replica.writes(), writes);
  EXPECT_EQ(engine.cursor(), 3);
  EXPECT_EQ(replica.outbox().size(), 1u);
  EXPECT_TRUE(replica.draft("R-1").has_value());
  EXPECT_EQ(engine.phase(), SyncPhase::live);
  EXPECT_TRUE(engine.take_notices().empty());
  EXPECT_TRUE(engine.take_outgoing().empty());
}

TEST_F(EngineTest, FramesWithoutAConnectionAreRefused) {
  Status s = engine.on_frame(world_changes(), kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(replica.row_count(), 0u);
}

TEST_F(EngineTest, LocalOpsThatDoNotDecodeAreRefusedAndNothingIsWritten) {
  Result<std::int64_t> bad = engine.enqueue("submit_return", Json{{"lead_id", "L-1"}}, kNow);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::MISSING_FIELD);
  Result<std::int64_t> unknown = engine.enqueue("fly", Json::object(), kNow);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::UNKNOWN_OP);
  Result<std::int64_t> not_object = engine.enqueue("withdraw_return", Json::array(), kNow);
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.error().code, ErrorCode::BAD_TYPE);
  Result<std::int64_t> missing = engine.submit("R-404", kNow);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::RETURN_NOT_FOUND);
  EXPECT_TRUE(replica.outbox().empty());
  EXPECT_EQ(engine.next_seq(), 1);
}

TEST_F(EngineTest, ReplicaWriteFailuresLoseNothing) {
  connect();
  sync_world();
  replica.fail_next_write();
  Result<std::int64_t> r = engine.save_draft(draft(), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::INTERNAL);
  EXPECT_EQ(engine.next_seq(), 1);  // the seq was not used
  EXPECT_TRUE(engine.take_outgoing().empty());
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  (void)engine.take_outgoing();
  // A failed changes write leaves the cursor where the replica is.
  replica.fail_next_write();
  Status s = engine.on_frame(changes(3, 4, {ChangeItem{4, "lead", "L-2", lead_row("L-2")}}), kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::INTERNAL);
  EXPECT_EQ(engine.cursor(), 3);
  EXPECT_FALSE(replica.row("lead", "L-2").has_value());
  // A failed result write keeps the op in the outbox (the answer comes again on resend).
  (void)engine.take_notices();
  replica.fail_next_write();
  ASSERT_FALSE(engine.on_frame(applied(1, 5), kNow).ok());
  EXPECT_EQ(replica.outbox().size(), 1u);
  EXPECT_TRUE(engine.take_notices().empty());
}

TEST_F(EngineTest, ServerThatLostOpsGetsTheOutboxRenumbered) {
  ASSERT_TRUE(engine.save_draft(draft("R-1"), kNow).ok());
  ASSERT_TRUE(engine.save_draft(draft("R-2"), kNow).ok());
  ASSERT_TRUE(engine.save_draft(draft("R-3"), kNow).ok());
  connect();
  (void)engine.take_outgoing();
  ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
  engine.on_disconnected();
  // The server came back from a backup that never saw seq 1: ops 2 and 3 become 1 and 2.
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(engine.next_seq(), 3);
  EXPECT_EQ(replica.draft("R-3")->seq, 2);
  ASSERT_TRUE(engine.on_frame(applied(2, 9), kNow).ok());
  EXPECT_FALSE(replica.draft("R-3").has_value());
}

TEST_F(EngineTest, ServerAheadOfTheReplicaNumbersNewOpsAfterIt) {
  connect(/*last_seq=*/41);
  EXPECT_EQ(engine.next_seq(), 42);
  Result<std::int64_t> seq = engine.save_draft(draft(), kNow);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 42);
}

TEST_F(EngineTest, OptimisticViewAppliesPendingOpsAndRebasesOnServerChanges) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  std::optional<Json> row = engine.row("return", "R-1", kNow);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ((*row)["state"], "draft");
  ASSERT_TRUE(engine.submit("R-1", kNow).ok());
  // Two hours after delivery: the default policy auto-accepts, and the lead shows RETURNED.
  row = engine.row("return", "R-1", kNow);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ((*row)["state"], "accepted");
  EXPECT_EQ(engine.row("lead", "L-1", kNow)->at("status"), "RETURNED");
  EXPECT_EQ(engine.rows("ledger", kNow).size(), 2u);  // revenue reversal + wallet credit
  std::vector<PendingOp> pending = engine.pending(kNow);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_FALSE(pending[1].predicted_refusal.has_value());
  // Nothing of it is in the replica itself.
  EXPECT_FALSE(replica.row("return", "R-1").has_value());

  // Results arrive before their changes: the view keeps showing the effects meanwhile.
  ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
  ASSERT_TRUE(engine.on_frame(applied(2, 5), kNow).ok());
  EXPECT_EQ(engine.row("return", "R-1", kNow)->at("state"), "accepted");
  ASSERT_EQ(engine.pending(kNow).size(), 2u);
  EXPECT_TRUE(engine.pending(kNow)[0].answered);

  // The server decided differently (say an operator policy change): the server row wins.
  Json server_ret{{"id", "R-1"},        {"lead_id", "L-1"},        {"buyer_id", kBuyer},
                  {"state", "pending"}, {"reason", "bad_contact"}, {"note", "Number disconnected"},
                  {"drafted_at", kNow}, {"submitted_at", kNow},    {"updated_at", kNow},
                  {"accept_count", 0}};
  ASSERT_TRUE(
      engine.on_frame(changes(3, 5, {ChangeItem{5, "return", "R-1", server_ret}}), kNow).ok());
  EXPECT_TRUE(engine.pending(kNow).empty());
  EXPECT_EQ(engine.row("return", "R-1", kNow)->at("state"), "pending");
  EXPECT_EQ(engine.row("lead", "L-1", kNow)->at("status"), "ACCEPTED");
  EXPECT_TRUE(engine.rows("ledger", kNow).empty());
}

TEST_F(EngineTest, OptimisticViewPredictsTheWindowWithTheServerClock) {
  // The device clock says two hours after delivery, the server says eight days.
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kT0 + 8 * 24 * kHour), kNow).ok());
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  ASSERT_TRUE(engine.submit("R-1", kNow).ok());
  std::vector<PendingOp> pending = engine.pending(kNow);
  ASSERT_EQ(pending.size(), 2u);
  ASSERT_TRUE(pending[1].predicted_refusal.has_value());
  EXPECT_EQ(pending[1].predicted_refusal->code, ErrorCode::WINDOW_CLOSED);
  // The kept draft shows its predicted refusal, as the server will store it.
  std::optional<Json> row = engine.row("return", "R-1", kNow);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ((*row)["state"], "draft");
  EXPECT_EQ((*row)["refusal"], "WINDOW_CLOSED");
  EXPECT_EQ(engine.server_now(kNow), kT0 + 8 * 24 * kHour);
  Preview p = engine.preview(draft(), kNow);
  EXPECT_FALSE(p.validation.ok);
}

TEST_F(EngineTest, AlertsAndPongsAreHandled) {
  connect();
  ASSERT_TRUE(engine.on_frame(encode_alert(Json{{"id", "a-1"}, {"sentence", "Look."}}), kNow).ok());
  std::vector<Notice> n = engine.take_notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].kind, Notice::Kind::alert);
  EXPECT_EQ(n[0].message, "Look.");
  // Sent at kNow - 100, received at kNow, the server said kNow + 950: offset 1000.
  ASSERT_TRUE(engine.on_frame(encode_pong(Json(kNow - 100), kNow + 950), kNow).ok());
  EXPECT_EQ(engine.server_now(kNow), kNow + 1000);
}

TEST_F(EngineTest, StateSurvivesANewEngineOnTheSameReplica) {
  connect();
  sync_world();
  ASSERT_TRUE(engine.save_draft(draft(), kNow).ok());
  Engine again(replica, EngineConfig{"dev-1", "tok-1", 250});
  EXPECT_EQ(again.cursor(), 3);
  EXPECT_EQ(again.next_seq(), 2);
  ASSERT_TRUE(again.principal().has_value());
  EXPECT_EQ(again.principal()->buyer_id, kBuyer);
  Result<ClientMessage> m = parse_client_message(again.on_connected(kNow));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<Hello>(*m).cursor, 3);
}

}  // namespace
}  // namespace returns::sync
