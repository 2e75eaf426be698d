// policy.h — a buyer's return policy (docs/domain.md "Policy") as data, and the evaluator that
// decides a return under it: refused (window, cool-off), auto-accepted by a rule, or sent to manual
// review.
//
// The same evaluator runs in the browser (preview) and on the server (decision); given the same
// inputs and the same clock it answers the same, sentence for sentence.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/types.h"

namespace returns {

// Rates are held in basis points (1 % = 100 bp) so comparisons are exact integers.
using BasisPoints = std::int32_t;
inline constexpr BasisPoints kBasisPointsWhole = 10'000;
inline constexpr int kMaxPolicyHours = 8760;  // one year
inline constexpr std::size_t kMaxPolicyRules = 32;

enum class PolicyMode { always_accept, manual, rules };
std::string_view to_string(PolicyMode);
std::optional<PolicyMode> policy_mode_from_string(std::string_view);

// One auto-accept rule. Every limit that is set must hold for the rule to match.
struct PolicyRule {
  std::string id;                              // names the decision: decided by "auto:<id>"
  std::optional<int> max_age_hours;            // age < max_age_hours (strict)
  std::vector<Reason> reasons;                 // empty = any reason
  std::optional<Money> max_price_cents;        // lead price <= max (inclusive)
  std::optional<BasisPoints> max_return_rate;  // trailing-30-day rate < max (strict)
  std::optional<int> max_auto_per_day;         // auto-accepts by this rule today (UTC) < max
  friend bool operator==(const PolicyRule&, const PolicyRule&) = default;
};

struct Policy {
  PolicyMode mode = PolicyMode::rules;
  int window_hours = 168;               // submissions at age >= window are refused
  int min_age_hours = 0;                // submissions at age < min_age are refused
  std::vector<PolicyRule> rules;        // ordered; first match auto-accepts
  std::optional<BasisPoints> cap_rate;  // rate >= cap: manual review, whatever the rules say
  friend bool operator==(const Policy&, const Policy&) = default;
};

// A new buyer's policy: rules mode, 7-day window, auto-accept within 24 h of delivery.
Policy default_policy();

// REQUIRES nothing; returns INVALID_POLICY (with the field) when the policy contradicts itself:
// window 1..8760 h, 0 <= min_age < window, at most 32 rules with unique valid ids, each limit in
// range (max_age 1..window, price >= 0, rates 0..10000 bp, per-day >= 0).
Status validate_policy(const Policy& policy);

// Counts behind a trailing return rate: leads delivered in the period, and how many of those
// were returned (accepted returns). Rate = returned / accepted; 0 when nothing was sold.
struct RateCounts {
  std::int64_t returned = 0;
  std::int64_t accepted = 0;
  friend bool operator==(const RateCounts&, const RateCounts&) = default;
};
// Rate in basis points, rounded down. 0 when accepted == 0.
BasisPoints rate_bp(RateCounts c);
// Exact "rate < limit" without rounding.
bool rate_below(RateCounts c, BasisPoints limit);

// The UTC days [first, last] of a trailing period: the `days` days ending with now's day (today
// included). The one definition of "trailing N days" behind CaseView::trailing_counts (every
// store and view), the reports' periods and the what-if period.
struct DayRange {
  std::int64_t first = 0;
  std::int64_t last = 0;
  bool contains(std::int64_t day) const { return first <= day && day <= last; }
  friend bool operator==(const DayRange&, const DayRange&) = default;
};
DayRange trailing_days(Millis now, int days);
// The policy's return-rate period (max_return_rate, cap_rate): 30 days.
inline constexpr int kTrailingRateDays = 30;

// Everything the evaluator reads besides the policy. `now` is the server clock on the server and
// the local clock in a preview.
struct PolicyInput {
  Millis delivered_at = 0;
  Millis now = 0;
  std::optional<Reason> reason;
  Money price_cents = 0;
  RateCounts trailing_30d;                         // the buyer's, before this return
  std::map<std::string, int> auto_accepted_today;  // rule id -> auto-accepts today (UTC)
};

// Everything a return's decision reads besides the lead, the reason and the clock (functions in
// core/decision_facts.h): the server computes them from its store, the portal from its replica.
struct DecisionFacts {
  std::string buyer_id;
  std::string lead_id;
  RateCounts trailing_30d;                         // the buyer's, before this return
  std::map<std::string, int> auto_accepted_today;  // rules with max_auto_per_day: today's count
  bool earlier_delivery = false;                   // the duplicate evidence's one question
  Policy policy;
  friend bool operator==(const DecisionFacts&, const DecisionFacts&) = default;
};

enum class Verdict { auto_accept, manual_review, refused };
std::string_view to_string(Verdict);
std::optional<Verdict> verdict_from_string(std::string_view);

// One line of the explanation: which check, whether it passed, and a human sentence.
struct PolicyCheck {
  std::string check;  // "window", "cool_off", "mode", "cap_rate", "rule:<id>", "rules" (none
                      // matched)
  bool passed = false;
  std::string sentence;
  friend bool operator==(const PolicyCheck&, const PolicyCheck&) = default;
};

struct PolicyEvaluation {
  Verdict decision = Verdict::manual_review;
  std::string rule;                  // matching rule id when auto-accepted by a rule,
                                     // "always_accept" in that mode, else empty
  std::optional<ErrorCode> refusal;  // WINDOW_CLOSED or TOO_EARLY when refused
  Millis deadline = 0;              // delivered_at + window: submissions at or after it are refused
  std::vector<PolicyCheck> checks;  // in evaluation order; explanation = their sentences
  friend bool operator==(const PolicyEvaluation&, const PolicyEvaluation&) = default;
};

PolicyEvaluation evaluate_policy(const Policy& policy, const PolicyInput& input);

// The end of the return window of a lead delivered at `delivered_at` under `policy`: a return
// submitted at or after it is refused with WINDOW_CLOSED (evaluate_policy's `deadline`).
Millis return_deadline(const Policy& policy, Millis delivered_at);

// Durations as the sentences say them, rounded down: "under 1 min", "42 min", "5 h",
// "23 h 59 min" below 48 h; "2 d 3 h", "7 d" from 48 h on.
std::string format_duration(Millis ms);

// --- What-if: how past returns would have been decided under another policy. -----------------

struct HistoricalReturn {
  std::string return_id;
  Millis delivered_at = 0;
  Millis submitted_at = 0;
  Reason reason = Reason::other;
  Money price_cents = 0;
  RateCounts trailing_30d;                  // the buyer's counts at submission time
  Verdict actual = Verdict::manual_review;  // how it was decided then
  Money credit_cents = 0;                   // credit granted then (0 if not accepted)
};

struct WhatIfItem {
  std::string return_id;
  Verdict before = Verdict::manual_review;
  Verdict after = Verdict::manual_review;
  std::string rule;
  friend bool operator==(const WhatIfItem&, const WhatIfItem&) = default;
};

struct WhatIfSummary {
  int total = 0;
  int auto_accept = 0;
  int manual_review = 0;
  int refused = 0;
  int changed = 0;              // items whose decision differs from `before`
  Money auto_accept_cents = 0;  // price of the leads the new policy would auto-accept
  friend bool operator==(const WhatIfSummary&, const WhatIfSummary&) = default;
};

struct WhatIfReport {
  std::vector<WhatIfItem> items;  // in submitted_at order
  WhatIfSummary summary;
};

// Replays `history` in submitted_at order (ties by return id) so per-day limits count the
// auto-accepts the new policy itself would have made that day.
WhatIfReport what_if(const Policy& policy, std::vector<HistoricalReturn> history);

}  // namespace returns
