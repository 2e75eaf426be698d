// validation.h — what the Client Portal shows while a buyer drafts a return: field errors that
// would block submission, warnings that would not, and the preview (evidence for the chosen
// reason plus how the buyer's policy would decide it and by when).
//
// validate_draft runs the same checks submit_return runs, so a clean validation on the same
// inputs and clock means the server will not refuse the submission for the draft's content.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/lifecycle.h"

namespace returns {

struct DraftInput {
  std::string return_id;
  std::string lead_id;
  std::optional<Reason> reason;
  std::string note;
};

struct FieldIssue {
  std::string field;  // "lead_id", "reason", "note", "return_id", "" for the whole draft
  ErrorCode code = ErrorCode::INTERNAL;  // errors: the code submit would refuse with
  std::string message;
  friend bool operator==(const FieldIssue&, const FieldIssue&) = default;
};

// Warning codes (not errors: submission still possible).
//   "evidence_contradicts"  the lead's data contradicts the reason (evidence verdict warns)
//   "window_closing"        under 24 h left in the return window
//   "manual_review"         the policy will send this return to review, not auto-accept
struct Warning {
  std::string code;
  std::string message;
  friend bool operator==(const Warning&, const Warning&) = default;
};

struct Validation {
  bool ok = false;  // no errors
  std::vector<FieldIssue> errors;
  std::vector<Warning> warnings;
};

Validation validate_draft(const Actor& actor, const DraftInput& draft, const CaseView& view,
                          Millis now);

struct Preview {
  Validation validation;
  std::optional<Evidence> evidence;            // when lead and reason are known
  std::optional<PolicyEvaluation> evaluation;  // when the lead is known
  std::optional<DecisionFacts> facts;          // what the evaluation read (with the lead)
};

Preview preview_draft(const Actor& actor, const DraftInput& draft, const CaseView& view,
                      Millis now);

// What the operator's dashboard shows beside a return under review: the same reason evidence the
// buyer's preview showed, and how the buyer's *current* policy decides the return.
//  - evidence: compute_evidence for the return's reason and lead, against the lead's buyer, its
//    campaign and the view's delivery history; absent when the return has no reason (a draft) or
//    the lead's campaign is unknown.
//  - evaluation: evaluate_policy with the buyer's current policy on policy_input_for(lead,
//    buyer, reason, view, t) — the input submit_return builds — at t = submitted_at for a
//    submitted return (state other than draft, submitted_at set), else at `now` (a draft: what
//    submitting it now would give, as preview_draft says). For a submitted return the trailing
//    30-day counts are `counts_at_submission(ret)` when it answers (the counts as the server read
//    them at submission, core/return_history.h), else the view's counts at t; the per-day counts
//    of max_auto_per_day rules are the view's for t's day, without the return's own auto-accept.
// Errors: INVALID_ID / RETURN_NOT_FOUND (field return_id); FORBIDDEN (return_id) when a buyer
// asks about another buyer's return; LEAD_NOT_FOUND (lead_id) when the view lacks the lead (a
// buyer's lead past the horizon); BUYER_NOT_FOUND (buyer_id) when it lacks the buyer.
struct ReturnReview {
  std::string return_id;
  Millis evaluated_at = 0;
  bool at_submission = false;  // evaluated_at is the return's submitted_at (else `now`)
  std::optional<Evidence> evidence;
  PolicyEvaluation evaluation;
};
using CountsAtSubmission = std::function<std::optional<RateCounts>(const ReturnCase&)>;
Result<ReturnReview> review_return(const Actor& actor, const std::string& return_id,
                                   const CaseView& view, Millis now,
                                   const CountsAtSubmission& counts_at_submission = nullptr);

// Checks a note for the given reason; shared by validation and submit. `other` needs 10..2000
// chars, every other reason accepts 0..2000. Counts Unicode code points; rejects invalid UTF-8.
Status check_note(std::optional<Reason> reason, const std::string& note);
// Valid UTF-8 without control characters other than tab and newline; length in code points.
bool is_clean_text(const std::string& text, std::size_t* code_points = nullptr);

}  // namespace returns
