// submission.h — internal: the checks shared by submit_return and the portal's validation, so
// a preview and the server's decision can never disagree. Not part of the public API.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/validation.h"

namespace returns {

struct SubmissionCheck {
  std::vector<FieldIssue> issues;  // in refusal order; submit refuses with the first
  const Lead* lead = nullptr;      // set when the lead exists and is the actor's
  const Buyer* buyer = nullptr;
  const Campaign* campaign = nullptr;
  std::optional<PolicyEvaluation> evaluation;  // set when the lead is known
  std::optional<DecisionFacts> facts;          // what the evaluation read (with the lead)
};

SubmissionCheck check_submission(const Actor& actor, const std::string& return_id,
                                 const std::string& lead_id, std::optional<Reason> reason,
                                 const std::string& note, const CaseView& view, Millis now);

// The policy inputs for a return of `lead` decided at `now`: counts come from the view.
PolicyInput policy_input_for(const Lead& lead, const Buyer& buyer, std::optional<Reason> reason,
                             const CaseView& view, Millis now);

}  // namespace returns
