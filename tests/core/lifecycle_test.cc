// lifecycle_test.cc — the return state machine (shared/core/lifecycle.h) against docs/domain.md
// "Lifecycle" and "Money": every state × op × actor (operator, owning buyer, other buyer) with the
// exact refusal code or resulting state, agreement of transition_allowed/transition_target with
// apply_op, the documented refusal order, submit (content, lead status, window and cool-off at
// exact millisecond boundaries, auto-accept, routing alert, keep_refused_draft), accept (credit
// range, money per billing mode, supplier charge-back default/override/proportional, idempotency),
// reject, withdraw, post_message, discard_draft, reopen (reversals, re-accept) and set_policy.
#include "core/lifecycle.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/memory_state.h"
#include "test_world.h"

namespace returns {
namespace {

using namespace test_world;

std::string repeat(const std::string& unit, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += unit;
  return s;
}
const std::string kEAcute = "\xC3\xA9";  // "é": one code point, two bytes

// Local names so test names and messages never depend on the code under test.
std::string state_name(std::optional<ReturnState> s) {
  if (!s) return "none";
  switch (*s) {
    case ReturnState::draft:
      return "draft";
    case ReturnState::pending:
      return "pending";
    case ReturnState::discussion:
      return "discussion";
    case ReturnState::accepted:
      return "accepted";
    case ReturnState::rejected:
      return "rejected";
    case ReturnState::withdrawn:
      return "withdrawn";
  }
  return "?";
}
std::string op_name(OpKind k) {
  switch (k) {
    case OpKind::save_draft:
      return "save_draft";
    case OpKind::discard_draft:
      return "discard_draft";
    case OpKind::submit_return:
      return "submit_return";
    case OpKind::withdraw_return:
      return "withdraw_return";
    case OpKind::post_message:
      return "post_message";
    case OpKind::accept_return:
      return "accept_return";
    case OpKind::reject_return:
      return "reject_return";
    case OpKind::reopen_return:
      return "reopen_return";
    case OpKind::set_policy:
      return "set_policy";
  }
  return "?";
}

SubmitReturnArgs submit_args(std::string return_id, std::string lead_id,
                             std::optional<Reason> reason = Reason::bad_contact,
                             std::string note = "") {
  SubmitReturnArgs a;
  a.return_id = std::move(return_id);
  a.lead_id = std::move(lead_id);
  a.reason = reason;
  a.note = std::move(note);
  a.drafted_at = kT0 + kHour;
  return a;
}
SaveDraftArgs save_args(std::string return_id, std::string lead_id,
                        std::optional<Reason> reason = Reason::bad_contact, std::string note = "") {
  SaveDraftArgs a;
  a.return_id = std::move(return_id);
  a.lead_id = std::move(lead_id);
  a.reason = reason;
  a.note = std::move(note);
  a.drafted_at = kT0 + kHour;
  return a;
}
AcceptReturnArgs accept_args(std::string return_id, std::optional<Money> credit = std::nullopt,
                             std::optional<bool> charge_back = std::nullopt) {
  AcceptReturnArgs a;
  a.return_id = std::move(return_id);
  a.credit_cents = credit;
  a.charge_back = charge_back;
  a.note = "Verified: number disconnected.";
  return a;
}

// ================================================================================================
// 1. The transition matrix: every state (and "no return yet") × every op × every actor.
// ================================================================================================

enum class Who { operator_, owner, other_buyer };
std::string who_name(Who w) {
  switch (w) {
    case Who::operator_:
      return "operator";
    case Who::owner:
      return "owner";
    case Who::other_buyer:
      return "other_buyer";
  }
  return "?";
}

struct Outcome {
  std::optional<ErrorCode> refusal;  // set: refused with exactly this code
  std::optional<ReturnState> to;     // allowed: the return's state afterwards
  bool deleted = false;              // allowed discard_draft: the return is gone
  bool policy = false;               // allowed set_policy: no return, the buyer changes
};
Outcome to(ReturnState s) { return Outcome{std::nullopt, s, false, false}; }
Outcome refused(ErrorCode c) { return Outcome{c, std::nullopt, false, false}; }
const Outcome kDeleted{std::nullopt, std::nullopt, true, false};
const Outcome kPolicySet{std::nullopt, std::nullopt, false, true};
const Outcome kForbidden = refused(ErrorCode::FORBIDDEN);
const Outcome kBadTransition = refused(ErrorCode::BAD_TRANSITION);
const Outcome kNotFound = refused(ErrorCode::RETURN_NOT_FOUND);
const Outcome kNotYourLead = refused(ErrorCode::NOT_YOUR_LEAD);

struct MatrixRow {
  std::optional<ReturnState> from;  // nullopt: no return with that id exists yet
  OpKind op;
  Outcome by_operator;
  Outcome by_owner;
  Outcome by_other;
};

using RS = ReturnState;
using OK = OpKind;

// From docs/domain.md: the lifecycle table and refusal steps 1 (role), 2 (return absent /
// another buyer's), 3 (state). The world: return R1 on lead L-keep of buyer B-pre; the other buyer
// is B-oth; the clock is 30 h after delivery (inside the window, past the 24 h auto-accept rule,
// so submit goes to manual review → pending).
const std::vector<MatrixRow>& matrix() {
  static const std::vector<MatrixRow> rows = {
      // from           op                   operator          owner                other buyer
      {std::nullopt, OK::save_draft, kForbidden, to(RS::draft), kNotYourLead},
      {std::nullopt, OK::discard_draft, kForbidden, kNotFound, kNotFound},
      {std::nullopt, OK::submit_return, kForbidden, to(RS::pending), kNotYourLead},
      {std::nullopt, OK::withdraw_return, kForbidden, kNotFound, kNotFound},
      {std::nullopt, OK::post_message, kNotFound, kNotFound, kNotFound},
      {std::nullopt, OK::accept_return, kNotFound, kForbidden, kForbidden},
      {std::nullopt, OK::reject_return, kNotFound, kForbidden, kForbidden},
      {std::nullopt, OK::reopen_return, kNotFound, kForbidden, kForbidden},
      {std::nullopt, OK::set_policy, kPolicySet, kForbidden, kForbidden},

      {RS::draft, OK::save_draft, kForbidden, to(RS::draft), kForbidden},
      {RS::draft, OK::discard_draft, kForbidden, kDeleted, kForbidden},
      {RS::draft, OK::submit_return, kForbidden, to(RS::pending), kForbidden},
      {RS::draft, OK::withdraw_return, kForbidden, kBadTransition, kForbidden},
      {RS::draft, OK::post_message, kBadTransition, kBadTransition, kForbidden},
      {RS::draft, OK::accept_return, kBadTransition, kForbidden, kForbidden},
      {RS::draft, OK::reject_return, kBadTransition, kForbidden, kForbidden},
      {RS::draft, OK::reopen_return, kBadTransition, kForbidden, kForbidden},
      {RS::draft, OK::set_policy, kPolicySet, kForbidden, kForbidden},

      {RS::pending, OK::save_draft, kForbidden, kBadTransition, kForbidden},
      {RS::pending, OK::discard_draft, kForbidden, kBadTransition, kForbidden},
      {RS::pending, OK::submit_return, kForbidden, kBadTransition, kForbidden},
      {RS::pending, OK::withdraw_return, kForbidden, to(RS::withdrawn), kForbidden},
      {RS::pending, OK::post_message, to(RS::discussion), to(RS::pending), kForbidden},
      {RS::pending, OK::accept_return, to(RS::accepted), kForbidden, kForbidden},
      {RS::pending, OK::reject_return, to(RS::rejected), kForbidden, kForbidden},
      {RS::pending, OK::reopen_return, kBadTransition, kForbidden, kForbidden},
      {RS::pending, OK::set_policy, kPolicySet, kForbidden, kForbidden},

      {RS::discussion, OK::save_draft, kForbidden, kBadTransition, kForbidden},
      {RS::discussion, OK::discard_draft, kForbidden, kBadTransition, kForbidden},
      {RS::discussion, OK::submit_return, kForbidden, kBadTransition, kForbidden},
      {RS::discussion, OK::withdraw_return, kForbidden, to(RS::withdrawn), kForbidden},
      {RS::discussion, OK::post_message, to(RS::discussion), to(RS::discussion), kForbidden},
      {RS::discussion, OK::accept_return, to(RS::accepted), kForbidden, kForbidden},
      {RS::discussion, OK::reject_return, to(RS::rejected), kForbidden, kForbidden},
      {RS::discussion, OK::reopen_return, kBadTransition, kForbidden, kForbidden},
      {RS::discussion, OK::set_policy, kPolicySet, kForbidden, kForbidden},

      {RS::accepted, OK::save_draft, kForbidden, kBadTransition, kForbidden},
      {RS::accepted, OK::discard_draft, kForbidden, kBadTransition, kForbidden},
      {RS::accepted, OK::submit_return, kForbidden, kBadTransition, kForbidden},
      {RS::accepted, OK::withdraw_return, kForbidden, kBadTransition, kForbidden},
      {RS::accepted, OK::post_message, to(RS::accepted), to(RS::accepted), kForbidden},
      {RS::accepted, OK::accept_return, kBadTransition, kForbidden, kForbidden},
      {RS::accepted, OK::reject_return, kBadTransition, kForbidden, kForbidden},
      {RS::accepted, OK::reopen_return, to(RS::pending), kForbidden, kForbidden},
      {RS::accepted, OK::set_policy, kPolicySet, kForbidden, kForbidden},

      {RS::rejected, OK::save_draft, kForbidden, kBadTransition, kForbidden},
      {RS::rejected, OK::discard_draft, kForbidden, kBadTransition, kForbidden},
      {RS::rejected, OK::submit_return, kForbidden, kBadTransition, kForbidden},
      {RS::rejected, OK::withdraw_return, kForbidden, kBadTransition, kForbidden},
      {RS::rejected, OK::post_message, to(RS::rejected), to(RS::rejected), kForbidden},
      {RS::rejected, OK::accept_return, kBadTransition, kForbidden, kForbidden},
      {RS::rejected, OK::reject_return, kBadTransition, kForbidden, kForbidden},
      {RS::rejected, OK::reopen_return, to(RS::pending), kForbidden, kForbidden},
      {RS::rejected, OK::set_policy, kPolicySet, kForbidden, kForbidden},

      {RS::withdrawn, OK::save_draft, kForbidden, kBadTransition, kForbidden},
      {RS::withdrawn, OK::discard_draft, kForbidden, kBadTransition, kForbidden},
      {RS::withdrawn, OK::submit_return, kForbidden, kBadTransition, kForbidden},
      {RS::withdrawn, OK::withdraw_return, kForbidden, kBadTransition, kForbidden},
      {RS::withdrawn, OK::post_message, kBadTransition, kBadTransition, kForbidden},
      {RS::withdrawn, OK::accept_return, kBadTransition, kForbidden, kForbidden},
      {RS::withdrawn, OK::reject_return, kBadTransition, kForbidden, kForbidden},
      {RS::withdrawn, OK::reopen_return, kBadTransition, kForbidden, kForbidden},
      {RS::withdrawn, OK::set_policy, kPolicySet, kForbidden, kForbidden},
  };
  return rows;
}

OpArgs matrix_args(OpKind op) {
  switch (op) {
    case OK::save_draft:
      return save_args("R1", kLeadKeep);
    case OK::discard_draft:
      return DiscardDraftArgs{"R1"};
    case OK::submit_return:
      return submit_args("R1", kLeadKeep);
    case OK::withdraw_return:
      return WithdrawReturnArgs{"R1"};
    case OK::post_message:
      return PostMessageArgs{"R1", "M1", "Any update on this one?"};
    case OK::accept_return:
      return accept_args("R1");
    case OK::reject_return:
      return RejectReturnArgs{"R1", "The contact answered our QA call."};
    case OK::reopen_return:
      return ReopenReturnArgs{"R1", "Second look."};
    case OK::set_policy:
      return SetPolicyArgs{kPrepaid, default_policy()};
  }
  return DiscardDraftArgs{"R1"};
}

struct MatrixCase {
  MatrixRow row;
  Who who;
  const Outcome& expected() const {
    switch (who) {
      case Who::operator_:
        return row.by_operator;
      case Who::owner:
        return row.by_owner;
      case Who::other_buyer:
        return row.by_other;
    }
    return row.by_operator;
  }
  // The outcome the transition table itself gives this actor's role (ownership aside): the
  // other buyer has the owner's role.
  const Outcome& role_outcome() const {
    return who == Who::operator_ ? row.by_operator : row.by_owner;
  }
  std::string name() const {
    return state_name(row.from) + "_" + op_name(row.op) + "_by_" + who_name(who);
  }
};
void PrintTo(const MatrixCase& c, std::ostream* os) { *os << c.name(); }

std::vector<MatrixCase> matrix_cases() {
  std::vector<MatrixCase> out;
  for (const MatrixRow& row : matrix()) {
    for (Who w : {Who::operator_, Who::owner, Who::other_buyer}) out.push_back({row, w});
  }
  return out;
}

std::string outcome_text(const Outcome& o) {
  if (o.refusal) return "refused " + std::string(to_string(*o.refusal));
  if (o.deleted) return "deleted";
  if (o.policy) return "policy set";
  return "allowed → " + state_name(o.to);
}

class LifecycleMatrix : public ::testing::TestWithParam<MatrixCase> {};

TEST_P(LifecycleMatrix, Row) {
  const MatrixCase& c = GetParam();
  const Outcome& want = c.expected();
  SCOPED_TRACE("row " + c.name() + ": expected " + outcome_text(want));

  MemoryState st = make_world();
  if (c.row.from) put_return(st, "R1", kLeadKeep, *c.row.from);
  const Actor actor = c.who == Who::operator_ ? op_actor()
                      : c.who == Who::owner   ? buyer_actor(kPrepaid)
                                              : buyer_actor(kOtherBuyer);
  const Result<Effects> r = apply_op(actor, matrix_args(c.row.op), st, kManualNow);

  if (want.refusal) {
    EXPECT_TRUE(Refused(r, *want.refusal));
  } else {
    ASSERT_TRUE(Allowed(r));
    EXPECT_EQ(r->op, c.row.op);
    if (want.deleted) {
      EXPECT_TRUE(r->return_deleted);
      st.commit(r.value());
      EXPECT_EQ(st.find_return("R1"), nullptr) << "discarded draft still present";
    } else if (want.policy) {
      EXPECT_FALSE(r->ret.has_value()) << "set_policy carries no return";
      ASSERT_TRUE(r->buyer.has_value());
      EXPECT_EQ(r->buyer->id, kPrepaid);
    } else {
      EXPECT_FALSE(r->return_deleted);
      ASSERT_TRUE(r->ret.has_value());
      EXPECT_EQ(r->ret->id, "R1");
      EXPECT_EQ(r->ret->lead_id, kLeadKeep);
      EXPECT_EQ(r->ret->buyer_id, kPrepaid);
      EXPECT_EQ(state_name(r->ret->state), state_name(want.to));
      st.commit(r.value());
      ASSERT_NE(st.find_return("R1"), nullptr);
      EXPECT_EQ(state_name(st.find_return("R1")->state), state_name(want.to)) << "after commit";
    }
  }

  // transition_allowed / transition_target agree with apply_op for the actor's role. They take a
  // state, so "no return yet" is skipped; set_policy does not act on a return.
  if (c.row.from && c.row.op != OK::set_policy) {
    const Outcome& role = c.role_outcome();
    const bool role_allowed = !role.refusal.has_value();
    EXPECT_EQ(transition_allowed(*c.row.from, c.row.op, actor.role), role_allowed)
        << "transition_allowed disagrees with apply_op";
    const std::optional<ReturnState> target = transition_target(*c.row.from, c.row.op, actor.role);
    if (!role_allowed) {
      EXPECT_FALSE(target.has_value())
          << "transition_target gives " << state_name(target) << " for a refused transition";
    } else if (!role.deleted) {
      EXPECT_EQ(state_name(target), state_name(role.to)) << "transition_target disagrees";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, LifecycleMatrix, ::testing::ValuesIn(matrix_cases()),
                         [](const ::testing::TestParamInfo<MatrixCase>& case_info) {
                           return case_info.param.name();
                         });

TEST(LifecycleMatrixShape, CoversEveryStateAndOp) {
  const std::vector<OpKind>& ops = all_op_kinds();
  const std::vector<ReturnState>& states = all_return_states();
  EXPECT_EQ(ops.size(), 9u);
  EXPECT_EQ(states.size(), 6u);
  std::vector<std::optional<ReturnState>> froms = {std::nullopt};
  for (ReturnState s : states) froms.emplace_back(s);
  for (const auto& from : froms) {
    for (OpKind op : ops) {
      int n = 0;
      for (const MatrixRow& row : matrix()) n += (row.from == from && row.op == op) ? 1 : 0;
      EXPECT_EQ(n, 1) << "matrix rows for " << state_name(from) << " × " << op_name(op);
    }
  }
  EXPECT_EQ(matrix().size(), froms.size() * ops.size());
}

// ================================================================================================
// 2. Refusal order (docs/domain.md, "Refusals, checked in this order"): when several refusals
//    apply, the earliest step is the answer.
// ================================================================================================

struct OrderRow {
  const char* name;
  std::function<void(MemoryState&)> setup;
  Actor actor;
  OpArgs args;
  Millis now;
  ErrorCode expected;
};

TEST(LifecycleRefusalOrder, Table) {
  const Millis late = kT0 + 200 * kHour;  // past the 168 h window
  Policy cool_off = default_policy();
  cool_off.min_age_hours = 2;
  const auto none = [](MemoryState&) {};
  const auto r1 = [](ReturnState s) {
    return [s](MemoryState& st) { put_return(st, "R1", kLeadKeep, s); };
  };
  // An inconsistent world on purpose: L-keep RETURNED by R1 while R2 is still pending.
  const auto accepted_and_pending = [](MemoryState& st) {
    put_return(st, "R1", kLeadKeep, RS::accepted);
    put_return(st, "R2", kLeadKeep, RS::pending);
  };
  const Actor owner = buyer_actor(kPrepaid);
  const Actor other = buyer_actor(kOtherBuyer);
  const std::vector<OrderRow> rows = {
      // 1 (role) before 2 (return).
      {"role_before_return_not_found", none, op_actor(), WithdrawReturnArgs{"nope"}, kManualNow,
       ErrorCode::FORBIDDEN},
      {"buyer_op_role_before_return_not_found", none, owner, accept_args("nope"), kManualNow,
       ErrorCode::FORBIDDEN},
      // 1 (role) before 4 (lead).
      {"role_before_lead_not_found", none, op_actor(), submit_args("R9", "L-missing"), kManualNow,
       ErrorCode::FORBIDDEN},
      {"buyer_set_policy_role_before_buyer_not_found", none, owner,
       SetPolicyArgs{"B-missing", default_policy()}, kManualNow, ErrorCode::FORBIDDEN},
      // 2 (ownership) before 3 (state) and 5 (content).
      {"ownership_before_state", r1(RS::accepted), other, WithdrawReturnArgs{"R1"}, kManualNow,
       ErrorCode::FORBIDDEN},
      {"ownership_before_empty_message", r1(RS::pending), other, PostMessageArgs{"R1", "M1", ""},
       kManualNow, ErrorCode::FORBIDDEN},
      // 2 (duplicate id) before 3 (state) and 4 (lead).
      {"duplicate_id_save_draft_before_state", r1(RS::pending), owner, save_args("R1", kLeadSpare),
       kManualNow, ErrorCode::DUPLICATE_ID},
      {"duplicate_id_submit_from_draft", r1(RS::draft), owner, submit_args("R1", kLeadSpare),
       kManualNow, ErrorCode::DUPLICATE_ID},
      {"duplicate_id_before_lead_not_found", r1(RS::draft), owner, submit_args("R1", "L-missing"),
       kManualNow, ErrorCode::DUPLICATE_ID},
      // 3 (state) before 5 (content).
      {"state_before_empty_message", r1(RS::draft), owner, PostMessageArgs{"R1", "M1", ""},
       kManualNow, ErrorCode::BAD_TRANSITION},
      {"state_before_reject_note", r1(RS::accepted), op_actor(), RejectReturnArgs{"R1", ""},
       kManualNow, ErrorCode::BAD_TRANSITION},
      {"state_before_credit_range", r1(RS::rejected), op_actor(), accept_args("R1", 0), kManualNow,
       ErrorCode::BAD_TRANSITION},
      // 4 (lead) before 5 (content) and 7 (policy).
      {"lead_not_found_before_reason", none, owner, submit_args("R9", "L-missing", std::nullopt),
       kManualNow, ErrorCode::LEAD_NOT_FOUND},
      {"not_your_lead_before_reason", none, owner, submit_args("R9", kLeadOther, std::nullopt),
       kManualNow, ErrorCode::NOT_YOUR_LEAD},
      {"not_your_lead_before_window", none, owner, submit_args("R9", kLeadOther), late,
       ErrorCode::NOT_YOUR_LEAD},
      {"save_draft_lead_not_found", none, owner, save_args("R9", "L-missing"), kManualNow,
       ErrorCode::LEAD_NOT_FOUND},
      {"save_draft_not_your_lead", none, owner, save_args("R9", kLeadOther), kManualNow,
       ErrorCode::NOT_YOUR_LEAD},
      // 5 (content) before 6 (lead status) and 7 (policy).
      {"reason_before_already_returned", r1(RS::accepted), owner,
       submit_args("R2", kLeadKeep, std::nullopt), kManualNow, ErrorCode::REASON_REQUIRED},
      {"note_before_return_open", r1(RS::pending), owner,
       submit_args("R2", kLeadKeep, Reason::other, "too short"), kManualNow,
       ErrorCode::NOTE_REQUIRED},
      {"text_too_long_before_return_open", r1(RS::pending), owner,
       submit_args("R2", kLeadKeep, Reason::bad_contact, repeat("x", 2001)), kManualNow,
       ErrorCode::TEXT_TOO_LONG},
      {"reason_before_window", none, owner, submit_args("R9", kLeadKeep, std::nullopt), late,
       ErrorCode::REASON_REQUIRED},
      {"note_before_window", none, owner, submit_args("R9", kLeadKeep, Reason::other, "short"),
       late, ErrorCode::NOTE_REQUIRED},
      {"credit_range_before_already_returned", accepted_and_pending, op_actor(),
       accept_args("R2", 0), kManualNow, ErrorCode::CREDIT_OUT_OF_RANGE},
      // 6 (lead status) before 7 (policy).
      {"already_returned_before_window", r1(RS::accepted), owner, submit_args("R2", kLeadKeep),
       late, ErrorCode::ALREADY_RETURNED},
      {"return_open_before_window", r1(RS::pending), owner, submit_args("R2", kLeadKeep), late,
       ErrorCode::RETURN_OPEN},
      {"return_open_before_too_early",
       [cool_off](MemoryState& st) {
         set_buyer_policy(st, kPrepaid, cool_off);
         put_return(st, "R1", kLeadKeep, RS::discussion);
       },
       owner, submit_args("R2", kLeadKeep), kT0 + kHour, ErrorCode::RETURN_OPEN},
      {"accept_already_returned", accepted_and_pending, op_actor(), accept_args("R2"), kManualNow,
       ErrorCode::ALREADY_RETURNED},
  };
  for (const OrderRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    row.setup(st);
    EXPECT_TRUE(Refused(apply_op(row.actor, row.args, st, row.now), row.expected));
  }
}

// ================================================================================================
// 3. submit_return
// ================================================================================================

TEST(LifecycleSubmit, NewReturnGoesToManualReview) {
  MemoryState st = make_world();
  const Result<Effects> r =
      apply_op(buyer_actor(kPrepaid), submit_args("R9", kLeadKeep), st, kManualNow);
  ASSERT_TRUE(Allowed(r));
  EXPECT_EQ(r->op, OK::submit_return);
  ASSERT_TRUE(r->ret.has_value());
  const ReturnCase& ret = *r->ret;
  EXPECT_EQ(ret.id, "R9");
  EXPECT_EQ(ret.lead_id, kLeadKeep);
  EXPECT_EQ(ret.buyer_id, kPrepaid);
  ASSERT_TRUE(ret.reason.has_value());
  EXPECT_EQ(*ret.reason, Reason::bad_contact);
  EXPECT_EQ(ret.state, RS::pending);
  EXPECT_EQ(ret.submitted_at, kManualNow) << "submitted_at is the server clock";
  EXPECT_EQ(ret.drafted_at, kT0 + kHour) << "drafted_at is the client's, kept as sent";
  EXPECT_FALSE(ret.decision.has_value());
  EXPECT_EQ(ret.accept_count, 0);
  EXPECT_TRUE(r->ledger.empty()) << "manual review moves no money";
  if (r->lead) {
    EXPECT_EQ(r->lead->status, LeadStatus::accepted);
  }
  ASSERT_TRUE(r->evaluation.has_value());
  EXPECT_EQ(r->evaluation->decision, Verdict::manual_review);
  EXPECT_EQ(r->evaluation->deadline, kT0 + 168 * kHour);
  ASSERT_TRUE(r->evidence.has_value());
  EXPECT_EQ(r->evidence->reason, Reason::bad_contact);
  EXPECT_FALSE(r->alert.has_value());

  st.commit(r.value());
  ASSERT_NE(st.find_return("R9"), nullptr);
  EXPECT_EQ(st.find_return("R9")->state, RS::pending);
  EXPECT_EQ(st.find_lead(kLeadKeep)->status, LeadStatus::accepted);
  EXPECT_TRUE(st.ledger().empty());
}

TEST(LifecycleSubmit, FromDraft) {
  MemoryState st = make_world();
  const Actor owner = buyer_actor(kPrepaid);
  const Result<Effects> saved =
      apply_commit(st, owner, save_args("R1", kLeadKeep, std::nullopt), kT0 + kHour);
  ASSERT_TRUE(Allowed(saved)) << "a draft may lack a reason";
  ASSERT_TRUE(saved->ret.has_value());
  EXPECT_EQ(saved->ret->state, RS::draft);
  EXPECT_EQ(saved->ret->submitted_at, 0) << "0 while a draft";
  ASSERT_NE(st.find_return("R1"), nullptr);
  EXPECT_EQ(st.find_return("R1")->state, RS::draft);

  // Saving again updates the draft.
  ASSERT_TRUE(Allowed(
      apply_commit(st, owner, save_args("R1", kLeadKeep, Reason::tcpa_risk), kT0 + 2 * kHour)));
  ASSERT_TRUE(st.find_return("R1")->reason.has_value());
  EXPECT_EQ(*st.find_return("R1")->reason, Reason::tcpa_risk);
  EXPECT_EQ(st.find_return("R1")->state, RS::draft);

  const Result<Effects> sub =
      apply_commit(st, owner, submit_args("R1", kLeadKeep, Reason::tcpa_risk), kManualNow);
  ASSERT_TRUE(Allowed(sub));
  EXPECT_EQ(sub->ret->state, RS::pending);
  EXPECT_EQ(sub->ret->submitted_at, kManualNow);
  EXPECT_EQ(st.find_return("R1")->state, RS::pending);
  EXPECT_EQ(st.returns_for_lead(kLeadKeep).size(), 1u) << "the draft became the return";
}

struct ContentRow {
  const char* name;
  std::optional<Reason> reason;
  std::string note;
  std::optional<ErrorCode> expected;  // nullopt: allowed (pending)
};

TEST(LifecycleSubmit, ContentTable) {
  const std::vector<ContentRow> rows = {
      {"no_reason", std::nullopt, "", ErrorCode::REASON_REQUIRED},
      {"other_empty_note", Reason::other, "", ErrorCode::NOTE_REQUIRED},
      {"other_9_chars", Reason::other, repeat("a", 9), ErrorCode::NOTE_REQUIRED},
      {"other_10_chars", Reason::other, repeat("a", 10), std::nullopt},
      {"other_9_code_points_18_bytes", Reason::other, repeat(kEAcute, 9), ErrorCode::NOTE_REQUIRED},
      {"other_10_code_points", Reason::other, repeat(kEAcute, 10), std::nullopt},
      {"other_2000_chars", Reason::other, repeat("a", 2000), std::nullopt},
      {"other_2001_chars", Reason::other, repeat("a", 2001), ErrorCode::TEXT_TOO_LONG},
      {"other_2000_code_points_4000_bytes", Reason::other, repeat(kEAcute, 2000), std::nullopt},
      {"other_2001_code_points", Reason::other, repeat(kEAcute, 2001), ErrorCode::TEXT_TOO_LONG},
      {"other_tab_and_newline_allowed", Reason::other, "line one\n\tline two", std::nullopt},
      {"bad_contact_no_note", Reason::bad_contact, "", std::nullopt},
      {"bad_contact_2000_chars", Reason::bad_contact, repeat("b", 2000), std::nullopt},
      {"bad_contact_2001_chars", Reason::bad_contact, repeat("b", 2001), ErrorCode::TEXT_TOO_LONG},
      {"wrong_vertical_2001_chars", Reason::wrong_vertical, repeat("w", 2001),
       ErrorCode::TEXT_TOO_LONG},
      {"duplicate_short_note", Reason::duplicate, "dup", std::nullopt},
      {"tcpa_risk_no_note", Reason::tcpa_risk, "", std::nullopt},
      {"control_character", Reason::bad_contact, "bad\x01note", ErrorCode::INVALID_TEXT},
      {"invalid_utf8", Reason::other, "not utf8 \xFF\xFE here", ErrorCode::INVALID_TEXT},
  };
  for (const ContentRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    const Result<Effects> r = apply_op(
        buyer_actor(kPrepaid), submit_args("R9", kLeadKeep, row.reason, row.note), st, kManualNow);
    if (row.expected) {
      EXPECT_TRUE(Refused(r, *row.expected));
    } else {
      ASSERT_TRUE(Allowed(r));
      ASSERT_TRUE(r->ret.has_value());
      EXPECT_EQ(r->ret->state, RS::pending);
      EXPECT_EQ(r->ret->note, row.note);
    }
  }
}

TEST(LifecycleSubmit, LeadChecks) {
  MemoryState st = make_world();
  EXPECT_TRUE(
      Refused(apply_op(buyer_actor(kPrepaid), submit_args("R9", "L-missing"), st, kManualNow),
              ErrorCode::LEAD_NOT_FOUND));
  EXPECT_TRUE(
      Refused(apply_op(buyer_actor(kPrepaid), submit_args("R9", kLeadOther), st, kManualNow),
              ErrorCode::NOT_YOUR_LEAD));
  EXPECT_TRUE(
      Refused(apply_op(buyer_actor(kOtherBuyer), submit_args("R9", kLeadNet), st, kManualNow),
              ErrorCode::NOT_YOUR_LEAD));
}

TEST(LifecycleSubmit, DuplicateId) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadKeep, RS::pending);
  // Same id, different lead: DUPLICATE_ID, for submit and for save_draft.
  EXPECT_TRUE(
      Refused(apply_op(buyer_actor(kPrepaid), submit_args("R1", kLeadSpare), st, kManualNow),
              ErrorCode::DUPLICATE_ID));
  EXPECT_TRUE(Refused(apply_op(buyer_actor(kPrepaid), save_args("R1", kLeadSpare), st, kManualNow),
                      ErrorCode::DUPLICATE_ID));
}

struct LeadStatusRow {
  const char* name;
  std::optional<ReturnState> earlier;  // state of the earlier return R1 on the same lead
  std::optional<ErrorCode> expected;   // for a new return R2 on the lead
};

TEST(LifecycleSubmit, OneOpenOrAcceptedReturnPerLead) {
  const std::vector<LeadStatusRow> rows = {
      {"no_earlier_return", std::nullopt, std::nullopt},
      {"earlier_draft_does_not_block", RS::draft, std::nullopt},
      {"earlier_pending", RS::pending, ErrorCode::RETURN_OPEN},
      {"earlier_discussion", RS::discussion, ErrorCode::RETURN_OPEN},
      {"earlier_accepted", RS::accepted, ErrorCode::ALREADY_RETURNED},
      {"resubmit_after_rejected", RS::rejected, std::nullopt},
      {"resubmit_after_withdrawn", RS::withdrawn, std::nullopt},
  };
  for (const LeadStatusRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    if (row.earlier) put_return(st, "R1", kLeadKeep, *row.earlier);
    const Result<Effects> r =
        apply_commit(st, buyer_actor(kPrepaid), submit_args("R2", kLeadKeep), kManualNow);
    if (row.expected) {
      EXPECT_TRUE(Refused(r, *row.expected));
      EXPECT_EQ(st.find_return("R2"), nullptr);
    } else {
      ASSERT_TRUE(Allowed(r));
      EXPECT_EQ(r->ret->state, RS::pending);
      ASSERT_NE(st.find_return("R2"), nullptr);
      if (row.earlier) {
        EXPECT_EQ(st.find_return("R1")->state, *row.earlier) << "earlier return untouched";
      }
    }
  }
}

struct ClockRow {
  const char* name;
  std::optional<Policy> policy;  // nullopt: the default policy
  Millis now;
  std::optional<ErrorCode> refusal;
  RS state;                // when allowed
  std::string decided_by;  // when auto-accepted
};

Policy with(std::function<void(Policy&)> edit) {
  Policy p = default_policy();
  edit(p);
  return p;
}

TEST(LifecycleSubmit, WindowCoolOffAndAutoAcceptAtExactMilliseconds) {
  const Policy cool_off = with([](Policy& p) { p.min_age_hours = 2; });
  const Policy short_window = with([](Policy& p) { p.window_hours = 48; });
  const Policy manual = with([](Policy& p) { p.mode = PolicyMode::manual; });
  const Policy always = with([](Policy& p) { p.mode = PolicyMode::always_accept; });
  const std::vector<ClockRow> rows = {
      {"default_at_delivery", std::nullopt, kT0, std::nullopt, RS::accepted, "auto:within_24h"},
      {"default_1ms_before_delivery", std::nullopt, kT0 - 1, ErrorCode::TOO_EARLY, RS::draft, ""},
      {"default_24h_minus_1ms", std::nullopt, kT0 + 24 * kHour - 1, std::nullopt, RS::accepted,
       "auto:within_24h"},
      {"default_24h_exactly", std::nullopt, kT0 + 24 * kHour, std::nullopt, RS::pending, ""},
      {"default_168h_minus_1ms", std::nullopt, kT0 + 168 * kHour - 1, std::nullopt, RS::pending,
       ""},
      {"default_168h_exactly", std::nullopt, kT0 + 168 * kHour, ErrorCode::WINDOW_CLOSED, RS::draft,
       ""},
      {"default_long_after", std::nullopt, kT0 + 5000 * kHour, ErrorCode::WINDOW_CLOSED, RS::draft,
       ""},
      {"cool_off_2h_minus_1ms", cool_off, kT0 + 2 * kHour - 1, ErrorCode::TOO_EARLY, RS::draft, ""},
      {"cool_off_2h_exactly", cool_off, kT0 + 2 * kHour, std::nullopt, RS::accepted,
       "auto:within_24h"},
      {"window_48h_minus_1ms", short_window, kT0 + 48 * kHour - 1, std::nullopt, RS::pending, ""},
      {"window_48h_exactly", short_window, kT0 + 48 * kHour, ErrorCode::WINDOW_CLOSED, RS::draft,
       ""},
      {"manual_mode_within_24h", manual, kAutoNow, std::nullopt, RS::pending, ""},
      {"manual_mode_window_still_applies", manual, kT0 + 168 * kHour, ErrorCode::WINDOW_CLOSED,
       RS::draft, ""},
      {"always_accept_after_24h", always, kT0 + 100 * kHour, std::nullopt, RS::accepted,
       "auto:always_accept"},
      {"always_accept_window_still_applies", always, kT0 + 168 * kHour, ErrorCode::WINDOW_CLOSED,
       RS::draft, ""},
  };
  for (const ClockRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    if (row.policy) set_buyer_policy(st, kPrepaid, *row.policy);
    const Result<Effects> r =
        apply_op(buyer_actor(kPrepaid), submit_args("R9", kLeadKeep), st, row.now);
    if (row.refusal) {
      EXPECT_TRUE(Refused(r, *row.refusal));
      continue;
    }
    ASSERT_TRUE(Allowed(r));
    ASSERT_TRUE(r->ret.has_value());
    EXPECT_EQ(state_name(r->ret->state), state_name(row.state));
    EXPECT_EQ(r->ret->submitted_at, row.now);
    if (row.state == RS::accepted) {
      ASSERT_TRUE(r->ret->decision.has_value());
      EXPECT_EQ(r->ret->decision->by, row.decided_by);
      EXPECT_FALSE(r->ledger.empty()) << "auto-accept moves money";
    } else {
      EXPECT_TRUE(r->ledger.empty());
    }
  }
}

struct AutoAcceptRow {
  const char* name;
  std::string lead;
  std::string buyer;
  std::string supplier;
  Money price;
  Money cost;
  bool prepaid;
  bool charged_back;  // the supplier's pass_through_returns
};

TEST(LifecycleSubmit, AutoAcceptMovesMoney) {
  const std::vector<AutoAcceptRow> rows = {
      {"prepaid_keep_supplier", kLeadKeep, kPrepaid, kKeepSupplier, kPrice, kCost, true, false},
      {"prepaid_pass_supplier", kLeadPass, kPrepaid, kPassSupplier, kPrice, kCost, true, true},
      {"net_terms_pass_supplier", kLeadNet, kNetTerms, kPassSupplier, kNetPrice, kNetCost, false,
       true},
  };
  for (const AutoAcceptRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    const Result<Effects> r =
        apply_op(buyer_actor(row.buyer), submit_args("R9", row.lead), st, kAutoNow);
    ASSERT_TRUE(Allowed(r));
    ASSERT_TRUE(r->ret.has_value());
    const ReturnCase& ret = *r->ret;
    EXPECT_EQ(ret.state, RS::accepted);
    EXPECT_EQ(ret.submitted_at, kAutoNow);
    EXPECT_EQ(ret.accept_count, 1);
    ASSERT_TRUE(ret.decision.has_value());
    EXPECT_EQ(ret.decision->by, "auto:within_24h");
    EXPECT_EQ(ret.decision->at, kAutoNow);
    EXPECT_EQ(ret.decision->credit_cents, row.price) << "auto-accepts use the full price";
    EXPECT_EQ(ret.decision->charged_back, row.charged_back) << "and the supplier's default";
    EXPECT_EQ(ret.decision->chargeback_cents, row.charged_back ? row.cost : 0);
    ASSERT_TRUE(r->evaluation.has_value());
    EXPECT_EQ(r->evaluation->decision, Verdict::auto_accept);
    EXPECT_EQ(r->evaluation->rule, "within_24h");
    ASSERT_TRUE(r->lead.has_value());
    EXPECT_EQ(r->lead->status, LeadStatus::returned);

    const std::string billing_kind = row.prepaid ? "wallet_credit" : "invoice_adjustment";
    ASSERT_EQ(r->ledger.size(), row.charged_back ? 3u : 2u);
    const LedgerEntry* rev = find_kind(r->ledger, EntryKind::revenue_reversal);
    const LedgerEntry* bill = find_kind(
        r->ledger, row.prepaid ? EntryKind::wallet_credit : EntryKind::invoice_adjustment);
    const LedgerEntry* cb = find_kind(r->ledger, EntryKind::supplier_chargeback);
    ASSERT_NE(rev, nullptr);
    ASSERT_NE(bill, nullptr);
    EXPECT_EQ(rev->id, "R9#1/revenue_reversal");
    EXPECT_EQ(rev->amount_cents, -row.price);
    EXPECT_EQ(bill->id, "R9#1/" + billing_kind);
    EXPECT_EQ(bill->amount_cents, row.prepaid ? row.price : -row.price);
    if (row.charged_back) {
      ASSERT_NE(cb, nullptr);
      EXPECT_EQ(cb->id, "R9#1/supplier_chargeback");
      EXPECT_EQ(cb->amount_cents, -row.cost);
      EXPECT_EQ(cb->supplier_id, row.supplier);
    } else {
      EXPECT_EQ(cb, nullptr);
    }
    for (const LedgerEntry& e : r->ledger) {
      EXPECT_EQ(e.return_id, "R9");
      EXPECT_EQ(e.lead_id, row.lead);
      EXPECT_EQ(e.buyer_id, row.buyer);
      EXPECT_EQ(e.at, kAutoNow);
    }

    st.commit(r.value());
    EXPECT_EQ(st.find_lead(row.lead)->status, LeadStatus::returned);
    EXPECT_EQ(st.find_return("R9")->state, RS::accepted);
    EXPECT_EQ(st.balances().wallet(row.buyer), row.prepaid ? row.price : 0);
    EXPECT_EQ(st.balances().accrued_adjustment(row.buyer), row.prepaid ? 0 : -row.price);
    EXPECT_EQ(st.balances().revenue_reversed_for(row.lead), -row.price);
    EXPECT_EQ(st.balances().chargebacks(row.supplier), row.charged_back ? -row.cost : 0);
    EXPECT_EQ(st.ledger_for_return("R9").size(), r->ledger.size());
  }
}

TEST(LifecycleSubmit, RoutingAlertOnSupportedOutOfServiceArea) {
  struct Row {
    const char* name;
    std::string lead;
    Millis now;
    bool alert;
    RS state;
  };
  const std::vector<Row> rows = {
      {"outside_coverage_manual_review", kLeadOutside, kManualNow, true, RS::pending},
      {"outside_coverage_auto_accepted", kLeadOutside, kAutoNow, true, RS::accepted},
      {"inside_coverage_no_alert", kLeadKeep, kManualNow, false, RS::pending},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    const Result<Effects> r =
        apply_op(buyer_actor(kPrepaid), submit_args("R9", row.lead, Reason::out_of_service_area),
                 st, row.now);
    ASSERT_TRUE(Allowed(r));
    EXPECT_EQ(r->ret->state, row.state);
    ASSERT_TRUE(r->evidence.has_value());
    EXPECT_EQ(r->evidence->reason, Reason::out_of_service_area);
    EXPECT_EQ(r->evidence->routing_alert, row.alert);
    if (row.alert) {
      EXPECT_EQ(r->evidence->verdict, EvidenceVerdict::supports);
      EXPECT_EQ(r->evidence->code, "outside_coverage");
      ASSERT_TRUE(r->alert.has_value());
      EXPECT_EQ(r->alert->buyer_id, kPrepaid);
      EXPECT_EQ(r->alert->lead_id, row.lead);
      EXPECT_EQ(r->alert->campaign_id, "C-pre");
      EXPECT_EQ(r->alert->return_id, "R9");
      EXPECT_FALSE(r->alert->sentence.empty());
    } else {
      EXPECT_EQ(r->evidence->verdict, EvidenceVerdict::warns);
      EXPECT_EQ(r->evidence->code, "inside_coverage");
      EXPECT_FALSE(r->alert.has_value());
    }
  }
}

// ================================================================================================
// 4. keep_refused_draft: a refused submit keeps the buyer's work.
// ================================================================================================

TEST(LifecycleKeepRefusedDraft, ExistingDraftKeptWithWindowClosed) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadKeep, RS::draft);
  const Millis late = kT0 + 168 * kHour;  // written offline inside the window, synced at its end
  const SubmitReturnArgs args = submit_args("R1", kLeadKeep);
  const Result<Effects> r = apply_op(buyer_actor(kPrepaid), args, st, late);
  ASSERT_TRUE(Refused(r, ErrorCode::WINDOW_CLOSED));
  EXPECT_EQ(st.find_return("R1")->state, RS::draft) << "a refusal changes nothing";

  const std::optional<Effects> kept =
      keep_refused_draft(buyer_actor(kPrepaid), args, r.error(), st, late);
  ASSERT_TRUE(kept.has_value());
  ASSERT_TRUE(kept->ret.has_value());
  EXPECT_EQ(kept->ret->id, "R1");
  EXPECT_EQ(kept->ret->lead_id, kLeadKeep);
  EXPECT_EQ(kept->ret->buyer_id, kPrepaid);
  EXPECT_EQ(kept->ret->state, RS::draft);
  ASSERT_TRUE(kept->ret->refusal.has_value());
  EXPECT_EQ(*kept->ret->refusal, ErrorCode::WINDOW_CLOSED);
  EXPECT_EQ(kept->ret->refusal_message, r.error().message);
  EXPECT_FALSE(kept->ret->refusal_message.empty());
  EXPECT_FALSE(kept->return_deleted);
  EXPECT_TRUE(kept->ledger.empty());

  st.commit(*kept);
  ASSERT_NE(st.find_return("R1"), nullptr);
  EXPECT_EQ(st.find_return("R1")->state, RS::draft);
  ASSERT_TRUE(st.find_return("R1")->refusal.has_value());
  EXPECT_EQ(*st.find_return("R1")->refusal, ErrorCode::WINDOW_CLOSED);
}

TEST(LifecycleKeepRefusedDraft, BrandNewSubmitCreatesTheDraft) {
  struct Row {
    const char* name;
    std::optional<Policy> policy;
    Millis now;
    ErrorCode code;
  };
  Policy cool_off = default_policy();
  cool_off.min_age_hours = 2;
  const std::vector<Row> rows = {
      {"window_closed", std::nullopt, kT0 + 169 * kHour, ErrorCode::WINDOW_CLOSED},
      {"too_early", cool_off, kT0 + kHour, ErrorCode::TOO_EARLY},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    if (row.policy) set_buyer_policy(st, kPrepaid, *row.policy);
    const SubmitReturnArgs args =
        submit_args("R7", kLeadKeep, Reason::other, "Wrong person answered twice.");
    const Result<Effects> r = apply_op(buyer_actor(kPrepaid), args, st, row.now);
    ASSERT_TRUE(Refused(r, row.code));
    const std::optional<Effects> kept =
        keep_refused_draft(buyer_actor(kPrepaid), args, r.error(), st, row.now);
    ASSERT_TRUE(kept.has_value());
    ASSERT_TRUE(kept->ret.has_value());
    EXPECT_EQ(kept->ret->id, "R7");
    EXPECT_EQ(kept->ret->lead_id, kLeadKeep);
    EXPECT_EQ(kept->ret->buyer_id, kPrepaid);
    EXPECT_EQ(kept->ret->state, RS::draft);
    ASSERT_TRUE(kept->ret->reason.has_value());
    EXPECT_EQ(*kept->ret->reason, Reason::other);
    EXPECT_EQ(kept->ret->note, "Wrong person answered twice.");
    ASSERT_TRUE(kept->ret->refusal.has_value());
    EXPECT_EQ(*kept->ret->refusal, row.code);
    EXPECT_EQ(kept->ret->refusal_message, r.error().message);
    EXPECT_TRUE(kept->ledger.empty());
    st.commit(*kept);
    ASSERT_NE(st.find_return("R7"), nullptr);
    EXPECT_EQ(st.find_return("R7")->state, RS::draft);
  }
}

TEST(LifecycleKeepRefusedDraft, NothingToKeep) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadKeep, RS::pending);  // no longer a draft
  put_return(st, "R2", kLeadOther, RS::draft);   // another buyer's draft
  const Millis late = kT0 + 200 * kHour;
  {
    SCOPED_TRACE("no longer a draft");
    const SubmitReturnArgs args = submit_args("R1", kLeadKeep);
    const Result<Effects> r = apply_op(buyer_actor(kPrepaid), args, st, late);
    ASSERT_TRUE(Refused(r, ErrorCode::BAD_TRANSITION));
    EXPECT_FALSE(keep_refused_draft(buyer_actor(kPrepaid), args, r.error(), st, late).has_value());
  }
  {
    SCOPED_TRACE("another buyer's draft");
    const SubmitReturnArgs args = submit_args("R2", kLeadOther);
    const Result<Effects> r = apply_op(buyer_actor(kPrepaid), args, st, late);
    ASSERT_TRUE(Refused(r, ErrorCode::FORBIDDEN));
    EXPECT_FALSE(keep_refused_draft(buyer_actor(kPrepaid), args, r.error(), st, late).has_value());
  }
}

// ================================================================================================
// 5. accept_return: credit range, money, charge-back, idempotency.
// ================================================================================================

TEST(LifecycleAccept, CreditRange) {
  struct Row {
    const char* name;
    std::optional<Money> credit;
    std::optional<Money> granted;  // nullopt: refused
  };
  const std::vector<Row> rows = {
      {"default_full_price", std::nullopt, kPrice},
      {"zero", 0, std::nullopt},
      {"one_cent", 1, 1},
      {"half", 5'000, 5'000},
      {"price", kPrice, kPrice},
      {"price_plus_one", kPrice + 1, std::nullopt},
      {"negative", -1, std::nullopt},
      {"very_negative", -kPrice, std::nullopt},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    put_return(st, "R1", kLeadKeep, RS::pending);
    const Result<Effects> r =
        apply_commit(st, op_actor(), accept_args("R1", row.credit), kManualNow);
    if (!row.granted) {
      // Outside 1…price, negative included (docs/domain.md refusal step 5).
      EXPECT_TRUE(Refused(r, ErrorCode::CREDIT_OUT_OF_RANGE));
      EXPECT_TRUE(st.ledger().empty());
      EXPECT_EQ(st.find_return("R1")->state, RS::pending);
      EXPECT_EQ(st.find_lead(kLeadKeep)->status, LeadStatus::accepted);
      continue;
    }
    ASSERT_TRUE(Allowed(r));
    EXPECT_EQ(r->ret->state, RS::accepted);
    ASSERT_TRUE(r->ret->decision.has_value());
    EXPECT_EQ(r->ret->decision->credit_cents, *row.granted);
    const LedgerEntry* rev = find_kind(r->ledger, EntryKind::revenue_reversal);
    ASSERT_NE(rev, nullptr);
    EXPECT_EQ(rev->amount_cents, -*row.granted);
    EXPECT_EQ(st.balances().wallet(kPrepaid), *row.granted);
    EXPECT_EQ(st.find_lead(kLeadKeep)->status, LeadStatus::returned);
  }
}

struct MoneyRow {
  const char* name;
  std::string lead;
  std::optional<Money> credit;
  std::optional<bool> charge_back;
  // expected
  std::string buyer;
  std::string supplier;
  bool prepaid;
  Money credit_granted;
  bool charged_back;
  Money chargeback;  // positive: taken back from the supplier
};

TEST(LifecycleAccept, MoneyTable) {
  // L-keep / L-pass: price 10000, cost 4000, prepaid buyer; L-net: price 8000, cost 3000, net
  // terms, pass-through supplier.
  const std::vector<MoneyRow> rows = {
      {"prepaid_keep_default", kLeadKeep, std::nullopt, std::nullopt, kPrepaid, kKeepSupplier, true,
       10'000, false, 0},
      {"prepaid_pass_default", kLeadPass, std::nullopt, std::nullopt, kPrepaid, kPassSupplier, true,
       10'000, true, 4'000},
      {"prepaid_keep_override_true", kLeadKeep, std::nullopt, true, kPrepaid, kKeepSupplier, true,
       10'000, true, 4'000},
      {"prepaid_pass_override_false", kLeadPass, std::nullopt, false, kPrepaid, kPassSupplier, true,
       10'000, false, 0},
      {"prepaid_pass_partial_rounds_down", kLeadPass, 3'333, std::nullopt, kPrepaid, kPassSupplier,
       true, 3'333, true, 1'333},
      {"prepaid_keep_override_true_partial", kLeadKeep, 7'777, true, kPrepaid, kKeepSupplier, true,
       7'777, true, 3'110},  // 3110.8
      {"prepaid_pass_partial_override_false", kLeadPass, 5'000, false, kPrepaid, kPassSupplier,
       true, 5'000, false, 0},
      {"net_terms_pass_default", kLeadNet, std::nullopt, std::nullopt, kNetTerms, kPassSupplier,
       false, 8'000, true, 3'000},
      {"net_terms_partial_rounds_down", kLeadNet, 1'234, std::nullopt, kNetTerms, kPassSupplier,
       false, 1'234, true, 462},  // 462.75
      {"net_terms_override_false", kLeadNet, 4'000, false, kNetTerms, kPassSupplier, false, 4'000,
       false, 0},
  };
  const Millis now = kT0 + 300 * kHour;  // after the window: it limits buyers, not the operator
  for (const MoneyRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    put_return(st, "R1", row.lead, RS::discussion);
    const Result<Effects> r =
        apply_op(op_actor(), accept_args("R1", row.credit, row.charge_back), st, now);
    ASSERT_TRUE(Allowed(r));
    ASSERT_TRUE(r->ret.has_value());
    EXPECT_EQ(r->ret->state, RS::accepted);
    EXPECT_EQ(r->ret->accept_count, 1);
    ASSERT_TRUE(r->ret->decision.has_value());
    const Decision& d = *r->ret->decision;
    EXPECT_EQ(d.by, kOperatorSubject);
    EXPECT_EQ(d.at, now);
    EXPECT_EQ(d.note, "Verified: number disconnected.");
    EXPECT_EQ(d.credit_cents, row.credit_granted);
    EXPECT_EQ(d.charged_back, row.charged_back);
    EXPECT_EQ(d.chargeback_cents, row.chargeback);
    ASSERT_TRUE(r->lead.has_value());
    EXPECT_EQ(r->lead->id, row.lead);
    EXPECT_EQ(r->lead->status, LeadStatus::returned);

    ASSERT_EQ(r->ledger.size(), row.charged_back ? 3u : 2u);
    EXPECT_EQ(count_kind(r->ledger, EntryKind::revenue_reversal), 1);
    EXPECT_EQ(count_kind(r->ledger,
                         row.prepaid ? EntryKind::wallet_credit : EntryKind::invoice_adjustment),
              1);
    const LedgerEntry* rev = find_kind(r->ledger, EntryKind::revenue_reversal);
    const LedgerEntry* wal = find_kind(r->ledger, EntryKind::wallet_credit);
    const LedgerEntry* inv = find_kind(r->ledger, EntryKind::invoice_adjustment);
    const LedgerEntry* cb = find_kind(r->ledger, EntryKind::supplier_chargeback);
    ASSERT_NE(rev, nullptr);
    EXPECT_EQ(rev->id, "R1#1/revenue_reversal");
    EXPECT_EQ(rev->amount_cents, -row.credit_granted);
    if (row.prepaid) {
      ASSERT_NE(wal, nullptr);
      EXPECT_EQ(wal->id, "R1#1/wallet_credit");
      EXPECT_EQ(wal->amount_cents, row.credit_granted);
      EXPECT_EQ(inv, nullptr);
    } else {
      ASSERT_NE(inv, nullptr);
      EXPECT_EQ(inv->id, "R1#1/invoice_adjustment");
      EXPECT_EQ(inv->amount_cents, -row.credit_granted);
      EXPECT_EQ(wal, nullptr);
    }
    if (row.charged_back) {
      ASSERT_NE(cb, nullptr);
      EXPECT_EQ(cb->id, "R1#1/supplier_chargeback");
      EXPECT_EQ(cb->amount_cents, -row.chargeback);
      EXPECT_EQ(cb->supplier_id, row.supplier);
    } else {
      EXPECT_EQ(cb, nullptr);
    }
    for (const LedgerEntry& e : r->ledger) {
      EXPECT_EQ(e.return_id, "R1");
      EXPECT_EQ(e.lead_id, row.lead);
      EXPECT_EQ(e.buyer_id, row.buyer);
      EXPECT_EQ(e.at, now);
      EXPECT_TRUE(e.reverses.empty());
    }

    st.commit(r.value());
    EXPECT_EQ(st.find_lead(row.lead)->status, LeadStatus::returned);
    EXPECT_EQ(st.balances().wallet(row.buyer), row.prepaid ? row.credit_granted : 0);
    EXPECT_EQ(st.balances().accrued_adjustment(row.buyer), row.prepaid ? 0 : -row.credit_granted);
    EXPECT_EQ(st.balances().revenue_reversed_for(row.lead), -row.credit_granted);
    EXPECT_EQ(st.balances().chargebacks(row.supplier), -row.chargeback);
  }
}

TEST(LifecycleAccept, DoubleAcceptIsRefusedAndMovesMoneyOnce) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadPass, RS::pending);
  ASSERT_TRUE(Allowed(apply_commit(st, op_actor(), accept_args("R1"), kManualNow)));
  const std::size_t entries = st.ledger().size();
  EXPECT_EQ(entries, 3u);
  EXPECT_EQ(st.balances().wallet(kPrepaid), kPrice);

  EXPECT_TRUE(Refused(apply_commit(st, op_actor(), accept_args("R1"), kManualNow + kHour),
                      ErrorCode::BAD_TRANSITION));
  EXPECT_EQ(st.ledger().size(), entries);
  EXPECT_EQ(st.balances().wallet(kPrepaid), kPrice);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), -kCost);
  EXPECT_EQ(st.find_return("R1")->accept_count, 1);
}

TEST(LifecycleAccept, SameAcceptEffectsAppliedTwiceMoveMoneyOnce) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadPass, RS::pending);
  // The same accept computed twice (e.g. a resent op decided again) has identical entry ids.
  const Result<Effects> a = apply_op(op_actor(), accept_args("R1"), st, kManualNow);
  const Result<Effects> b = apply_op(op_actor(), accept_args("R1"), st, kManualNow);
  ASSERT_TRUE(Allowed(a));
  ASSERT_TRUE(Allowed(b));
  ASSERT_EQ(a->ledger.size(), 3u);
  EXPECT_EQ(a->ledger, b->ledger);

  st.commit(a.value());
  st.commit(a.value());
  st.commit(b.value());
  EXPECT_EQ(st.ledger().size(), 3u);
  EXPECT_EQ(st.ledger_for_return("R1").size(), 3u);
  EXPECT_EQ(st.balances().wallet(kPrepaid), kPrice);
  EXPECT_EQ(st.balances().revenue_reversed_for(kLeadPass), -kPrice);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), -kCost);
  EXPECT_EQ(st.balances().entry_count(), 3u);

  // Balances on their own: the second apply of the same entries is a no-op.
  Balances bal;
  EXPECT_EQ(bal.apply(a->ledger), 3);
  EXPECT_EQ(bal.apply(b->ledger), 0);
  EXPECT_EQ(bal.wallet(kPrepaid), kPrice);
}

// ================================================================================================
// 6. reject, withdraw, post_message, discard_draft
// ================================================================================================

TEST(LifecycleReject, NoteRequired) {
  struct Row {
    const char* name;
    RS from;
    std::string note;
    std::optional<ErrorCode> expected;
  };
  const std::vector<Row> rows = {
      {"empty_note", RS::pending, "", ErrorCode::NOTE_REQUIRED},
      {"note_2001_chars", RS::pending, repeat("n", 2001), ErrorCode::TEXT_TOO_LONG},
      {"note_2000_chars", RS::pending, repeat("n", 2000), std::nullopt},
      {"short_note_from_pending", RS::pending, "No.", std::nullopt},
      {"from_discussion", RS::discussion, "Contact confirmed the inquiry.", std::nullopt},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    put_return(st, "R1", kLeadPass, row.from);
    const Result<Effects> r =
        apply_commit(st, op_actor(), RejectReturnArgs{"R1", row.note}, kManualNow);
    if (row.expected) {
      EXPECT_TRUE(Refused(r, *row.expected));
      EXPECT_EQ(st.find_return("R1")->state, row.from);
      continue;
    }
    ASSERT_TRUE(Allowed(r));
    EXPECT_EQ(r->ret->state, RS::rejected);
    ASSERT_TRUE(r->ret->decision.has_value());
    EXPECT_EQ(r->ret->decision->by, kOperatorSubject);
    EXPECT_EQ(r->ret->decision->at, kManualNow);
    EXPECT_EQ(r->ret->decision->note, row.note);
    EXPECT_EQ(r->ret->decision->credit_cents, 0);
    EXPECT_TRUE(r->ledger.empty()) << "a rejection moves no money";
    if (r->lead) {
      EXPECT_EQ(r->lead->status, LeadStatus::accepted);
    }
    EXPECT_EQ(st.find_lead(kLeadPass)->status, LeadStatus::accepted);
    EXPECT_TRUE(st.ledger().empty());
  }
}

TEST(LifecycleWithdraw, OwnerOnlyFromOpenStates) {
  for (RS from : {RS::pending, RS::discussion}) {
    SCOPED_TRACE("from " + state_name(from));
    MemoryState st = make_world();
    put_return(st, "R1", kLeadKeep, from);
    EXPECT_TRUE(
        Refused(apply_op(buyer_actor(kOtherBuyer), WithdrawReturnArgs{"R1"}, st, kManualNow),
                ErrorCode::FORBIDDEN));
    EXPECT_TRUE(Refused(apply_op(op_actor(), WithdrawReturnArgs{"R1"}, st, kManualNow),
                        ErrorCode::FORBIDDEN));
    const Result<Effects> r =
        apply_commit(st, buyer_actor(kPrepaid), WithdrawReturnArgs{"R1"}, kManualNow);
    ASSERT_TRUE(Allowed(r));
    EXPECT_EQ(r->ret->state, RS::withdrawn);
    EXPECT_TRUE(r->ledger.empty());
    EXPECT_EQ(st.find_return("R1")->state, RS::withdrawn);
    EXPECT_EQ(st.find_lead(kLeadKeep)->status, LeadStatus::accepted);
    // Withdrawing frees the lead for a new return inside the window.
    EXPECT_TRUE(Allowed(
        apply_op(buyer_actor(kPrepaid), submit_args("R2", kLeadKeep), st, kManualNow + kHour)));
  }
}

TEST(LifecyclePostMessage, Table) {
  struct Row {
    const char* name;
    RS from;
    Who who;
    std::string body;
    std::optional<ErrorCode> expected;
    RS to;  // when allowed
  };
  const std::vector<Row> rows = {
      {"operator_on_pending_opens_discussion", RS::pending, Who::operator_,
       "Can you share the call log?", std::nullopt, RS::discussion},
      {"operator_on_discussion", RS::discussion, Who::operator_, "Thanks.", std::nullopt,
       RS::discussion},
      {"operator_on_accepted", RS::accepted, Who::operator_, "Credited.", std::nullopt,
       RS::accepted},
      {"buyer_on_pending_keeps_state", RS::pending, Who::owner, "Any news?", std::nullopt,
       RS::pending},
      {"buyer_on_discussion", RS::discussion, Who::owner, "Attached the log.", std::nullopt,
       RS::discussion},
      {"buyer_on_rejected", RS::rejected, Who::owner, "Please reconsider.", std::nullopt,
       RS::rejected},
      {"buyer_2000_chars", RS::pending, Who::owner, repeat("m", 2000), std::nullopt, RS::pending},
      {"buyer_empty_body", RS::pending, Who::owner, "", ErrorCode::NOTE_REQUIRED, RS::pending},
      {"operator_empty_body", RS::pending, Who::operator_, "", ErrorCode::NOTE_REQUIRED,
       RS::pending},
      {"buyer_2001_chars", RS::pending, Who::owner, repeat("m", 2001), ErrorCode::TEXT_TOO_LONG,
       RS::pending},
      {"other_buyer_forbidden", RS::pending, Who::other_buyer, "Hello?", ErrorCode::FORBIDDEN,
       RS::pending},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    put_return(st, "R1", kLeadKeep, row.from);
    const Actor actor = row.who == Who::operator_ ? op_actor()
                        : row.who == Who::owner   ? buyer_actor(kPrepaid)
                                                  : buyer_actor(kOtherBuyer);
    const Result<Effects> r =
        apply_commit(st, actor, PostMessageArgs{"R1", "M-1", row.body}, kManualNow);
    if (row.expected) {
      EXPECT_TRUE(Refused(r, *row.expected));
      EXPECT_TRUE(st.messages().empty());
      EXPECT_EQ(st.find_return("R1")->state, row.from);
      continue;
    }
    ASSERT_TRUE(Allowed(r));
    ASSERT_TRUE(r->ret.has_value());
    EXPECT_EQ(state_name(r->ret->state), state_name(row.to));
    ASSERT_TRUE(r->message.has_value());
    EXPECT_EQ(r->message->id, "M-1");
    EXPECT_EQ(r->message->return_id, "R1");
    EXPECT_EQ(r->message->author_role, actor.role);
    EXPECT_EQ(r->message->author, actor.subject);
    EXPECT_EQ(r->message->body, row.body);
    EXPECT_EQ(r->message->at, kManualNow);
    EXPECT_TRUE(r->ledger.empty());
    ASSERT_EQ(st.messages().size(), 1u);
    EXPECT_EQ(st.messages().front().body, row.body);
    EXPECT_EQ(state_name(st.find_return("R1")->state), state_name(row.to));
  }
}

TEST(LifecycleDiscardDraft, DeletesTheDraft) {
  MemoryState st = make_world();
  const Actor owner = buyer_actor(kPrepaid);
  ASSERT_TRUE(Allowed(apply_commit(st, owner, save_args("R1", kLeadKeep), kT0 + kHour)));
  ASSERT_NE(st.find_return("R1"), nullptr);
  EXPECT_TRUE(Refused(apply_op(buyer_actor(kOtherBuyer), DiscardDraftArgs{"R1"}, st, kManualNow),
                      ErrorCode::FORBIDDEN));
  const Result<Effects> r = apply_commit(st, owner, DiscardDraftArgs{"R1"}, kManualNow);
  ASSERT_TRUE(Allowed(r));
  EXPECT_TRUE(r->return_deleted);
  EXPECT_TRUE(r->ledger.empty());
  EXPECT_EQ(st.find_return("R1"), nullptr);
  EXPECT_TRUE(st.returns_for_lead(kLeadKeep).empty());
  // Gone: discarding again finds nothing.
  EXPECT_TRUE(Refused(apply_op(owner, DiscardDraftArgs{"R1"}, st, kManualNow),
                      ErrorCode::RETURN_NOT_FOUND));
}

// ================================================================================================
// 7. reopen_return
// ================================================================================================

TEST(LifecycleReopen, ReversesMoneyAndAcceptsAgainWithFreshIds) {
  MemoryState st = make_world();
  const Actor owner = buyer_actor(kPrepaid);
  ASSERT_TRUE(Allowed(apply_commit(st, owner, submit_args("R1", kLeadPass), kManualNow)));
  ASSERT_EQ(st.find_return("R1")->state, RS::pending);
  const Result<Effects> acc1 = apply_commit(st, op_actor(), accept_args("R1"), kManualNow + kHour);
  ASSERT_TRUE(Allowed(acc1));
  ASSERT_EQ(acc1->ledger.size(), 3u);  // revenue, wallet, charge-back (pass-through supplier)
  EXPECT_EQ(st.balances().wallet(kPrepaid), kPrice);
  EXPECT_EQ(st.find_lead(kLeadPass)->status, LeadStatus::returned);

  // Reopen: back to pending, one reversal per entry, lead ACCEPTED, balances zero.
  const Millis reopen_at = kManualNow + 2 * kHour;
  const Result<Effects> re =
      apply_commit(st, op_actor(), ReopenReturnArgs{"R1", "Buyer sent new evidence."}, reopen_at);
  ASSERT_TRUE(Allowed(re));
  ASSERT_TRUE(re->ret.has_value());
  EXPECT_EQ(re->ret->state, RS::pending);
  EXPECT_EQ(re->ret->accept_count, 1) << "accepts so far";
  ASSERT_TRUE(re->lead.has_value());
  EXPECT_EQ(re->lead->status, LeadStatus::accepted);
  ASSERT_EQ(re->ledger.size(), acc1->ledger.size());
  for (const LedgerEntry& original : acc1->ledger) {
    SCOPED_TRACE("reversal of " + original.id);
    const LedgerEntry* rev = nullptr;
    for (const LedgerEntry& e : re->ledger) {
      if (e.reverses == original.id) rev = &e;
    }
    ASSERT_NE(rev, nullptr);
    EXPECT_EQ(rev->id, original.id + "/reversal");
    EXPECT_EQ(rev->kind, original.kind);
    EXPECT_EQ(rev->amount_cents, -original.amount_cents);
    EXPECT_EQ(rev->return_id, "R1");
    EXPECT_EQ(rev->lead_id, kLeadPass);
    EXPECT_EQ(rev->at, reopen_at);
  }
  EXPECT_EQ(st.find_return("R1")->state, RS::pending);
  EXPECT_EQ(st.find_lead(kLeadPass)->status, LeadStatus::accepted);
  EXPECT_EQ(st.balances().wallet(kPrepaid), 0);
  EXPECT_EQ(st.balances().revenue_reversed_for(kLeadPass), 0);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), 0);
  EXPECT_EQ(st.ledger().size(), 6u) << "append-only: originals stay, reversals added";
  // Committing the reopen again moves nothing.
  st.commit(re.value());
  EXPECT_EQ(st.ledger().size(), 6u);
  EXPECT_EQ(st.balances().wallet(kPrepaid), 0);

  // Accept again (partial, after the window: operators are not limited by it): accept #2.
  const Millis late = kT0 + 500 * kHour;
  const Result<Effects> acc2 = apply_op(op_actor(), accept_args("R1", 5'000), st, late);
  ASSERT_TRUE(Allowed(acc2));
  EXPECT_EQ(acc2->ret->state, RS::accepted);
  EXPECT_EQ(acc2->ret->accept_count, 2);
  ASSERT_EQ(acc2->ledger.size(), 3u);
  for (const LedgerEntry& e : acc2->ledger) {
    EXPECT_EQ(e.id.rfind("R1#2/", 0), 0u) << "fresh id " << e.id;
    for (const LedgerEntry& old : st.ledger()) EXPECT_NE(e.id, old.id);
  }
  EXPECT_EQ(find_kind(acc2->ledger, EntryKind::revenue_reversal)->amount_cents, -5'000);
  EXPECT_EQ(find_kind(acc2->ledger, EntryKind::wallet_credit)->amount_cents, 5'000);
  ASSERT_NE(find_kind(acc2->ledger, EntryKind::supplier_chargeback), nullptr);
  EXPECT_EQ(find_kind(acc2->ledger, EntryKind::supplier_chargeback)->amount_cents, -2'000);
  st.commit(acc2.value());
  st.commit(acc2.value());  // exactly once
  EXPECT_EQ(st.ledger().size(), 9u);
  EXPECT_EQ(st.ledger_for_return("R1").size(), 9u);
  EXPECT_EQ(st.balances().wallet(kPrepaid), 5'000);
  EXPECT_EQ(st.balances().revenue_reversed_for(kLeadPass), -5'000);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), -2'000);
  EXPECT_EQ(st.find_return("R1")->accept_count, 2);
  EXPECT_EQ(st.find_lead(kLeadPass)->status, LeadStatus::returned);

  // Reopen again: only accept #2's entries are reversed.
  const Result<Effects> re2 = apply_commit(st, op_actor(), ReopenReturnArgs{"R1", ""}, late + 1);
  ASSERT_TRUE(Allowed(re2));
  ASSERT_EQ(re2->ledger.size(), 3u);
  for (const LedgerEntry& e : re2->ledger) {
    EXPECT_EQ(e.reverses.rfind("R1#2/", 0), 0u) << e.id << " reverses " << e.reverses;
  }
  EXPECT_EQ(st.balances().wallet(kPrepaid), 0);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), 0);
  EXPECT_EQ(st.balances().revenue_reversed_for(kLeadPass), 0);
  EXPECT_EQ(st.ledger().size(), 12u);
}

TEST(LifecycleReopen, NetTermsReversalRestoresAccruedSpend) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadNet, RS::pending);
  ASSERT_TRUE(Allowed(apply_commit(st, op_actor(), accept_args("R1", 2'000), kManualNow)));
  EXPECT_EQ(st.balances().accrued_adjustment(kNetTerms), -2'000);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), -750);  // ⌊3000 × 2000 ÷ 8000⌋
  ASSERT_TRUE(Allowed(apply_commit(st, op_actor(), ReopenReturnArgs{"R1", ""}, kManualNow + 1)));
  EXPECT_EQ(st.balances().accrued_adjustment(kNetTerms), 0);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), 0);
  EXPECT_EQ(st.balances().revenue_reversed_for(kLeadNet), 0);
}

TEST(LifecycleReopen, RejectedGoesBackToPendingWithoutMoney) {
  MemoryState st = make_world();
  put_return(st, "R1", kLeadKeep, RS::rejected);
  const Result<Effects> r = apply_commit(st, op_actor(), ReopenReturnArgs{"R1", ""}, kManualNow);
  ASSERT_TRUE(Allowed(r));
  EXPECT_EQ(r->ret->state, RS::pending);
  EXPECT_TRUE(r->ledger.empty());
  EXPECT_EQ(st.find_lead(kLeadKeep)->status, LeadStatus::accepted);
  EXPECT_TRUE(st.ledger().empty());
}

TEST(LifecycleReopen, RefusedWhenAnotherReturnOpenedOrAcceptedSince) {
  struct Row {
    const char* name;
    RS reopened;  // R1
    RS since;     // R2, the newer return of the same lead
    ErrorCode expected;
  };
  const std::vector<Row> rows = {
      {"rejected_then_pending", RS::rejected, RS::pending, ErrorCode::RETURN_OPEN},
      {"rejected_then_discussion", RS::rejected, RS::discussion, ErrorCode::RETURN_OPEN},
      {"rejected_then_accepted", RS::rejected, RS::accepted, ErrorCode::ALREADY_RETURNED},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    put_return(st, "R1", kLeadPass, row.reopened, kT0 + 20 * kHour);
    put_return(st, "R2", kLeadPass, row.since, kT0 + 25 * kHour);
    const std::size_t ledger_before = st.ledger().size();
    EXPECT_TRUE(Refused(apply_commit(st, op_actor(), ReopenReturnArgs{"R1", ""}, kManualNow),
                        row.expected));
    EXPECT_EQ(st.find_return("R1")->state, row.reopened);
    EXPECT_EQ(st.ledger().size(), ledger_before);
  }
  // The normal path: R1 rejected, R2 submitted (pending) through apply_op, then reopen R1.
  MemoryState st = make_world();
  put_return(st, "R1", kLeadKeep, RS::rejected);
  ASSERT_TRUE(
      Allowed(apply_commit(st, buyer_actor(kPrepaid), submit_args("R2", kLeadKeep), kManualNow)));
  EXPECT_TRUE(Refused(apply_op(op_actor(), ReopenReturnArgs{"R1", ""}, st, kManualNow + 1),
                      ErrorCode::RETURN_OPEN));
}

// ================================================================================================
// 8. set_policy
// ================================================================================================

TEST(LifecycleSetPolicy, OperatorSetsAndSubmitUsesIt) {
  MemoryState st = make_world();
  Policy manual = default_policy();
  manual.mode = PolicyMode::manual;
  EXPECT_TRUE(
      Refused(apply_op(buyer_actor(kPrepaid), SetPolicyArgs{kPrepaid, manual}, st, kManualNow),
              ErrorCode::FORBIDDEN));
  const Result<Effects> r =
      apply_commit(st, op_actor(), SetPolicyArgs{kPrepaid, manual}, kManualNow);
  ASSERT_TRUE(Allowed(r));
  EXPECT_EQ(r->op, OK::set_policy);
  EXPECT_FALSE(r->ret.has_value());
  ASSERT_TRUE(r->buyer.has_value());
  EXPECT_EQ(r->buyer->id, kPrepaid);
  EXPECT_EQ(r->buyer->policy, manual);
  EXPECT_EQ(r->buyer->billing, Billing::prepaid) << "only the policy changes";
  EXPECT_EQ(r->buyer->name, st.find_buyer(kPrepaid)->name);
  EXPECT_EQ(st.find_buyer(kPrepaid)->policy, manual);
  // Within 24 h, but the buyer is now on manual review.
  const Result<Effects> sub =
      apply_op(buyer_actor(kPrepaid), submit_args("R9", kLeadKeep), st, kAutoNow);
  ASSERT_TRUE(Allowed(sub));
  EXPECT_EQ(sub->ret->state, RS::pending);
  // Other buyers keep theirs.
  EXPECT_EQ(st.find_buyer(kNetTerms)->policy, default_policy());
}

TEST(LifecycleSetPolicy, RefusalsTable) {
  struct Row {
    const char* name;
    std::string buyer;
    Policy policy;
    ErrorCode expected;
  };
  const std::vector<Row> rows = {
      {"unknown_buyer", "B-missing", default_policy(), ErrorCode::BUYER_NOT_FOUND},
      {"window_zero", kPrepaid, with([](Policy& p) { p.window_hours = 0; }),
       ErrorCode::INVALID_POLICY},
      {"window_over_a_year", kPrepaid, with([](Policy& p) { p.window_hours = 8761; }),
       ErrorCode::INVALID_POLICY},
      {"min_age_equals_window", kPrepaid, with([](Policy& p) { p.min_age_hours = 168; }),
       ErrorCode::INVALID_POLICY},
      {"negative_min_age", kPrepaid, with([](Policy& p) { p.min_age_hours = -1; }),
       ErrorCode::INVALID_POLICY},
      {"duplicate_rule_ids", kPrepaid, with([](Policy& p) { p.rules.push_back(p.rules.front()); }),
       ErrorCode::INVALID_POLICY},
      {"cap_rate_over_one", kPrepaid, with([](Policy& p) { p.cap_rate = 10'001; }),
       ErrorCode::INVALID_POLICY},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    MemoryState st = make_world();
    EXPECT_TRUE(
        Refused(apply_commit(st, op_actor(), SetPolicyArgs{row.buyer, row.policy}, kManualNow),
                row.expected));
    EXPECT_EQ(st.find_buyer(kPrepaid)->policy, default_policy()) << "nothing changed";
  }
}

TEST(LifecycleSetPolicy, AlwaysAcceptAutoAcceptsAfter24h) {
  MemoryState st = make_world();
  Policy always = default_policy();
  always.mode = PolicyMode::always_accept;
  ASSERT_TRUE(Allowed(apply_commit(st, op_actor(), SetPolicyArgs{kNetTerms, always}, kT0)));
  const Result<Effects> r =
      apply_commit(st, buyer_actor(kNetTerms), submit_args("R9", kLeadNet), kT0 + 100 * kHour);
  ASSERT_TRUE(Allowed(r));
  EXPECT_EQ(r->ret->state, RS::accepted);
  ASSERT_TRUE(r->ret->decision.has_value());
  EXPECT_EQ(r->ret->decision->by, "auto:always_accept");
  EXPECT_EQ(st.balances().accrued_adjustment(kNetTerms), -kNetPrice);
  EXPECT_EQ(st.balances().chargebacks(kPassSupplier), -kNetCost);
}

}  // namespace
}  // namespace returns
