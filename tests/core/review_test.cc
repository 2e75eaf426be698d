// review_test.cc — review_return (core/validation.h): what the operator dashboard shows beside an
// existing return. The evidence is the one submit computed; the evaluation is the buyer's current
// policy at submitted_at (the same evaluation submit made, as long as the policy is unchanged),
// or at `now` for a draft; who may ask; the counts at submission; every refusal's typed code.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "core/validation.h"
#include "test_world.h"

namespace returns {
namespace {

using namespace test_world;

// A buyer submits `return_id` for `lead_id` at `at` through the real op; returns its effects.
Effects submit(MemoryState& st, const std::string& return_id, const std::string& lead_id,
               Reason reason, Millis at) {
  const std::string buyer = st.find_lead(lead_id)->buyer_id;
  Result<Effects> r = apply_commit(
      st, buyer_actor(buyer), OpArgs{SubmitReturnArgs{return_id, lead_id, reason, "", at}}, at);
  EXPECT_TRUE(Allowed(r));
  return r.ok() ? *r : Effects{};
}

TEST(Review, OperatorSeesTheEvidenceAndTheEvaluationSubmitMade) {
  MemoryState st = make_world();
  // NV is outside B-pre's coverage: the evidence supports the reason and raises a routing alert.
  const Effects fx = submit(st, "R-1", kLeadOutside, Reason::out_of_service_area, kManualNow);
  ASSERT_TRUE(fx.evaluation.has_value());
  ASSERT_TRUE(fx.evidence.has_value());

  Result<ReturnReview> r = review_return(op_actor(), "R-1", st, kManualNow + 50 * kHour);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->return_id, "R-1");
  EXPECT_TRUE(r->at_submission);
  EXPECT_EQ(r->evaluated_at, kManualNow);
  ASSERT_TRUE(r->evidence.has_value());
  EXPECT_EQ(*r->evidence, *fx.evidence);
  EXPECT_EQ(r->evidence->verdict, EvidenceVerdict::supports);
  EXPECT_EQ(r->evidence->code, "outside_coverage");
  EXPECT_TRUE(r->evidence->routing_alert);
  EXPECT_EQ(r->evaluation, *fx.evaluation);
  EXPECT_EQ(r->evaluation.decision, Verdict::manual_review);
  EXPECT_EQ(r->evaluation.deadline, kT0 + 168 * kHour);

  // The owning buyer may ask too, and sees the same.
  Result<ReturnReview> own = review_return(buyer_actor(kPrepaid), "R-1", st, kManualNow);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->evaluation, r->evaluation);
  EXPECT_EQ(own->evidence, r->evidence);
}

TEST(Review, EvidenceForEachReasonIsComputeEvidence) {
  for (Reason reason : {Reason::wrong_vertical, Reason::duplicate, Reason::tcpa_risk,
                        Reason::bad_contact, Reason::out_of_service_area}) {
    SCOPED_TRACE(to_string(reason));
    MemoryState st = make_world();
    submit(st, "R-1", kLeadKeep, reason, kManualNow);
    Result<ReturnReview> r = review_return(op_actor(), "R-1", st, kManualNow);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->evidence.has_value());
    const Lead& lead = *st.find_lead(kLeadKeep);
    EXPECT_EQ(*r->evidence, compute_evidence(reason, lead, *st.find_campaign(lead.campaign_id),
                                             *st.find_buyer(kPrepaid), st));
  }
}

TEST(Review, TheBuyersCurrentPolicyDecidesAtSubmission) {
  MemoryState st = make_world();
  submit(st, "R-1", kLeadKeep, Reason::bad_contact, kManualNow);  // 30 h: manual review
  Policy p = default_policy();
  p.rules[0].max_age_hours = 48;
  set_buyer_policy(st, kPrepaid, p);
  // Long after the window closed: still evaluated at submission, under the edited policy.
  Result<ReturnReview> r = review_return(op_actor(), "R-1", st, kT0 + 400 * kHour);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->evaluated_at, kManualNow);
  EXPECT_EQ(r->evaluation.decision, Verdict::auto_accept);
  EXPECT_EQ(r->evaluation.rule, "within_24h");
}

TEST(Review, ADraftIsEvaluatedNow) {
  MemoryState st = make_world();
  put_return(st, "R-d", kLeadKeep, ReturnState::draft, kAutoNow, Reason::duplicate);
  Result<ReturnReview> r = review_return(op_actor(), "R-d", st, kT0 + 200 * kHour);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->at_submission);
  EXPECT_EQ(r->evaluated_at, kT0 + 200 * kHour);
  EXPECT_EQ(r->evaluation.decision, Verdict::refused);
  EXPECT_EQ(r->evaluation.refusal, ErrorCode::WINDOW_CLOSED);
  ASSERT_TRUE(r->evidence.has_value());

  ReturnCase no_reason = *st.find_return("R-d");
  no_reason.reason.reset();
  st.put(no_reason);
  r = review_return(op_actor(), "R-d", st, kAutoNow);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->evidence.has_value()) << "evidence needs a reason";
  EXPECT_EQ(r->evaluation.decision, Verdict::auto_accept);
}

TEST(Review, CountsAtSubmissionComeFromTheCallerForSubmittedReturnsOnly) {
  MemoryState st = make_world();
  Policy p = default_policy();
  p.rules[0].max_return_rate = 5000;  // auto-accept while the trailing rate is below 50 %
  set_buyer_policy(st, kPrepaid, p);
  submit(st, "R-1", kLeadKeep, Reason::bad_contact, kAutoNow);
  int asked = 0;
  CountsAtSubmission high = [&](const ReturnCase& ret) -> std::optional<RateCounts> {
    ++asked;
    EXPECT_EQ(ret.id, "R-1");
    return RateCounts{3, 4};  // 3 of 4 returned: 75 %
  };
  Result<ReturnReview> r = review_return(op_actor(), "R-1", st, kAutoNow, high);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(r->evaluation.decision, Verdict::manual_review);
  // No answer: the view's counts at submitted_at (R-1's own lead is RETURNED now: 1 of 4).
  CountsAtSubmission none = [](const ReturnCase&) { return std::optional<RateCounts>(); };
  r = review_return(op_actor(), "R-1", st, kAutoNow, none);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->evaluation.decision, Verdict::auto_accept);

  put_return(st, "R-d", kLeadSpare, ReturnState::draft, kAutoNow);
  asked = 0;
  r = review_return(op_actor(), "R-d", st, kAutoNow, high);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(asked, 0) << "a draft is evaluated now, on the view";
}

TEST(Review, ItsOwnAutoAcceptIsNotInItsPerDayCount) {
  MemoryState st = make_world();
  Policy p = default_policy();
  p.rules[0].max_auto_per_day = 1;
  set_buyer_policy(st, kPrepaid, p);
  const Effects fx = submit(st, "R-1", kLeadKeep, Reason::bad_contact, kAutoNow);
  ASSERT_EQ(fx.ret->state, ReturnState::accepted);
  Result<ReturnReview> r = review_return(op_actor(), "R-1", st, kAutoNow + kHour);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->evaluation, *fx.evaluation);
  EXPECT_EQ(r->evaluation.decision, Verdict::auto_accept);
  // A second return the same day finds the first one's auto-accept in the count.
  const Effects second = submit(st, "R-2", kLeadPass, Reason::bad_contact, kAutoNow + kHour);
  ASSERT_EQ(second.ret->state, ReturnState::pending);
  r = review_return(op_actor(), "R-2", st, kAutoNow + 2 * kHour);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->evaluation, *second.evaluation);
  EXPECT_EQ(r->evaluation.decision, Verdict::manual_review);
}

TEST(Review, Refusals) {
  MemoryState st = make_world();
  submit(st, "R-1", kLeadKeep, Reason::bad_contact, kManualNow);
  auto code_of = [&](const Actor& a, const std::string& id) {
    Result<ReturnReview> r = review_return(a, id, st, kManualNow);
    EXPECT_FALSE(r.ok()) << id;
    return r.ok() ? std::string("ok")
                  : std::string(to_string(r.error().code)) + "/" + r.error().field;
  };
  EXPECT_EQ(code_of(op_actor(), "R-none"), "RETURN_NOT_FOUND/return_id");
  EXPECT_EQ(code_of(op_actor(), ""), "INVALID_ID/return_id");
  EXPECT_EQ(code_of(op_actor(), "bad id!"), "INVALID_ID/return_id");
  EXPECT_EQ(code_of(buyer_actor(kOtherBuyer), "R-1"), "FORBIDDEN/return_id");
  EXPECT_EQ(code_of(buyer_actor(kOtherBuyer), "R-none"), "RETURN_NOT_FOUND/return_id");

  // A return whose lead the view does not hold (a buyer's lead past the horizon).
  ReturnCase orphan = *st.find_return("R-1");
  orphan.id = "R-orphan";
  orphan.lead_id = "L-gone";
  st.put(orphan);
  EXPECT_EQ(code_of(op_actor(), "R-orphan"), "LEAD_NOT_FOUND/lead_id");
}

}  // namespace
}  // namespace returns
