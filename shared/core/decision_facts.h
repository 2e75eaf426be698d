// decision_facts.h — everything a return's decision reads besides the lead, the reason and the
// clock, named in one type: the buyer's trailing 30-day counts, today's auto-accepts per rule,
// whether the contact was delivered to the buyer before, and the policy. The server computes them
// from its store and the Client Portal from its replica through the same function
// (decision_facts over a CaseView), so a preview and the decision can only differ when the facts
// differ — and then the digest shows it and explain_facts_change says what changed.
//
// The replica holds the facts as small rows (docs/decision-facts.md): per buyer and UTC day the
// leads sold, how many of them are returned, and the returns auto-accepted that day per rule
// (BuyerDay); per lead the server-derived `earlier_delivery` flag. Never the raw history.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/lifecycle.h"

namespace returns {

// struct DecisionFacts is declared in core/policy.h (the evaluator's input types).

// The facts of a return of `lead` (the buyer's) decided at `now`, read from `view`.
DecisionFacts decision_facts(const Lead& lead, const Buyer& buyer, const CaseView& view,
                             Millis now);
// The evaluator's input for those facts.
PolicyInput policy_input(const Lead& lead, const DecisionFacts& facts, std::optional<Reason> reason,
                         Millis now);

Json to_json(const DecisionFacts& v);
Result<DecisionFacts> decode_decision_facts(const Json& j);
// A short stable fingerprint of the facts (16 hex digits of FNV-1a 64 over the canonical JSON).
std::string facts_digest(const DecisionFacts& facts);
// One sentence per fact that differs, as the portal explains a decision that differs from its
// preview ("Your 30-day return rate rose from 14.8 % (…) to 16.1 % (…) since the preview.").
std::vector<std::string> explain_facts_change(const DecisionFacts& preview,
                                              const DecisionFacts& decision);

// How a submit was decided, as its `result` carries it: the outcome, the matching rule, the
// credit, the evidence verdict, and the facts the decision read.
struct SubmitDecision {
  Verdict outcome = Verdict::manual_review;
  std::string rule;
  Money credit_cents = 0;  // auto-accepted: the credit granted; else 0
  std::optional<Evidence> evidence;
  DecisionFacts facts;
  friend bool operator==(const SubmitDecision&, const SubmitDecision&) = default;
};
// From an applied submit's effects; nothing for any other op.
std::optional<SubmitDecision> submit_decision(const Effects& effects);
Json to_json(const SubmitDecision& v);
Result<SubmitDecision> decode_submit_decision(const Json& j);

// --- The facts as replica rows ----------------------------------------------------------------

// One buyer's counts for one UTC day: leads delivered that day (sold), how many of those are
// returned now, and the returns auto-accepted on that day (by decision time) that are still
// accepted, per rule id. Entity "buyer_day", id buyer_day_id(buyer, day), scoped to the buyer.
struct BuyerDay {
  std::string buyer_id;
  std::int64_t day = 0;
  std::int64_t sold = 0;
  std::int64_t returned = 0;
  std::map<std::string, int> auto_accepted;
  friend bool operator==(const BuyerDay&, const BuyerDay&) = default;
};
std::string buyer_day_id(const std::string& buyer_id, std::int64_t day);
Json to_json(const BuyerDay& v);
Result<BuyerDay> decode_buyer_day(const Json& j);

// The rule id of an auto-decision ("auto:<rule>"), or nothing for an operator's decision.
std::optional<std::string> auto_rule_of(const Decision& decision);
// Does `ret` count as an auto-accept by `rule_id` on `day`? (accepted, decided by that rule then)
bool counts_as_auto_accept(const ReturnCase& ret, const std::string& rule_id, std::int64_t day);

}  // namespace returns
