// policy.cc — policy validation, the evaluator and the what-if replay. See docs/domain.md
// "Policy" for the order of checks; this file is that order.
#include "core/policy.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace returns {
namespace {

constexpr std::array<std::pair<PolicyMode, std::string_view>, 3> kModes = {{
    {PolicyMode::always_accept, "always_accept"},
    {PolicyMode::manual, "manual"},
    {PolicyMode::rules, "rules"},
}};
constexpr std::array<std::pair<Verdict, std::string_view>, 3> kVerdicts = {{
    {Verdict::auto_accept, "auto_accept"},
    {Verdict::manual_review, "manual_review"},
    {Verdict::refused, "refused"},
}};

Error policy_error(std::string field, std::string message) {
  return make_error(ErrorCode::INVALID_POLICY, std::move(field), std::move(message));
}

std::string hours_text(int hours) { return std::to_string(hours) + " h"; }

// "12.5 %" from basis points.
std::string percent_text(BasisPoints bp) {
  std::string s = std::to_string(bp / 100);
  const int frac = bp % 100;
  if (frac != 0) {
    s += '.';
    s += static_cast<char>('0' + frac / 10);
    if (frac % 10 != 0) s += static_cast<char>('0' + frac % 10);
  }
  return s + " %";
}

std::string money_text(Money cents) {
  const Money abs = cents < 0 ? -cents : cents;
  std::string s = std::to_string(abs / 100) + ".";
  const Money c = abs % 100;
  s += static_cast<char>('0' + c / 10);
  s += static_cast<char>('0' + c % 10);
  return (cents < 0 ? "-$" : "$") + s;
}

std::string rate_text(RateCounts c) {
  return percent_text(rate_bp(c)) + " (" + std::to_string(c.returned) + " of " +
         std::to_string(c.accepted) + ")";
}

// Checks one rule; appends its sentence. True when every limit holds.
bool rule_matches(const PolicyRule& rule, const PolicyInput& in, Millis age,
                  std::vector<PolicyCheck>& checks) {
  const std::string name = "rule:" + rule.id;
  auto fail = [&](std::string sentence) {
    checks.push_back(PolicyCheck{name, false, std::move(sentence)});
    return false;
  };
  const std::string prefix = "Rule " + rule.id + " does not apply: ";
  if (rule.max_age_hours && age >= *rule.max_age_hours * kMillisPerHour) {
    return fail(prefix + "submitted " + format_duration(age) + " after delivery, not within " +
                hours_text(*rule.max_age_hours) + ".");
  }
  if (!rule.reasons.empty()) {
    const bool listed = in.reason && std::find(rule.reasons.begin(), rule.reasons.end(),
                                               *in.reason) != rule.reasons.end();
    if (!listed) {
      return fail(prefix + "reason " +
                  (in.reason ? std::string(to_string(*in.reason)) : std::string("(none)")) +
                  " is not one it covers.");
    }
  }
  if (rule.max_price_cents && in.price_cents > *rule.max_price_cents) {
    return fail(prefix + "lead price " + money_text(in.price_cents) + " is above " +
                money_text(*rule.max_price_cents) + ".");
  }
  if (rule.max_return_rate && !rate_below(in.trailing_30d, *rule.max_return_rate)) {
    return fail(prefix + "the 30-day return rate " + rate_text(in.trailing_30d) + " is not below " +
                percent_text(*rule.max_return_rate) + ".");
  }
  int today = 0;
  if (auto it = in.auto_accepted_today.find(rule.id); it != in.auto_accepted_today.end()) {
    today = it->second;
  }
  if (rule.max_auto_per_day && today >= *rule.max_auto_per_day) {
    return fail(prefix + "it already auto-accepted " + std::to_string(today) +
                " returns today, its daily limit is " + std::to_string(*rule.max_auto_per_day) +
                ".");
  }
  std::string sentence = "Submitted " + format_duration(age) + " after delivery";
  if (rule.max_age_hours) {
    sentence += ", within the " + hours_text(*rule.max_age_hours) + " auto-accept rule " + rule.id;
  } else {
    sentence += ", auto-accepted by rule " + rule.id;
  }
  checks.push_back(PolicyCheck{name, true, sentence + "."});
  return true;
}

}  // namespace

std::string_view to_string(PolicyMode m) {
  for (const auto& [v, n] : kModes) {
    if (v == m) return n;
  }
  return "";
}
std::optional<PolicyMode> policy_mode_from_string(std::string_view s) {
  for (const auto& [v, n] : kModes) {
    if (n == s) return v;
  }
  return std::nullopt;
}
std::string_view to_string(Verdict d) {
  for (const auto& [v, n] : kVerdicts) {
    if (v == d) return n;
  }
  return "";
}
std::optional<Verdict> verdict_from_string(std::string_view s) {
  for (const auto& [v, n] : kVerdicts) {
    if (n == s) return v;
  }
  return std::nullopt;
}

Policy default_policy() {
  Policy p;
  p.mode = PolicyMode::rules;
  p.window_hours = 168;
  p.min_age_hours = 0;
  PolicyRule r;
  r.id = "within_24h";
  r.max_age_hours = 24;
  p.rules.push_back(r);
  return p;
}

Status validate_policy(const Policy& p) {
  if (p.window_hours < 1 || p.window_hours > kMaxPolicyHours) {
    return policy_error("window_hours", "The return window must be 1 to 8760 hours.");
  }
  if (p.min_age_hours < 0 || p.min_age_hours >= p.window_hours) {
    return policy_error("min_age_hours",
                        "The cool-off must be at least 0 hours and shorter than the window.");
  }
  if (p.cap_rate && (*p.cap_rate < 0 || *p.cap_rate > kBasisPointsWhole)) {
    return policy_error("cap_rate", "The cap rate must be between 0 and 1.");
  }
  if (p.rules.size() > kMaxPolicyRules) {
    return policy_error("rules", "A policy holds at most 32 rules.");
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < p.rules.size(); ++i) {
    const PolicyRule& r = p.rules[i];
    const std::string at = "rules[" + std::to_string(i) + "].";
    if (!is_valid_id(r.id)) return policy_error(at + "id", "A rule needs a valid id.");
    if (!ids.insert(r.id).second) {
      return policy_error(at + "id", "Rule id " + r.id + " is used twice.");
    }
    if (r.max_age_hours && (*r.max_age_hours < 1 || *r.max_age_hours > p.window_hours)) {
      return policy_error(at + "max_age_hours",
                          "A rule's age limit must be 1 hour to the window length.");
    }
    if (r.max_price_cents && (*r.max_price_cents < 0 || *r.max_price_cents > kMaxMoney)) {
      return policy_error(at + "max_price_cents", "A rule's price limit must not be negative.");
    }
    if (r.max_return_rate && (*r.max_return_rate < 0 || *r.max_return_rate > kBasisPointsWhole)) {
      return policy_error(at + "max_return_rate", "A rule's rate limit must be between 0 and 1.");
    }
    if (r.max_auto_per_day && *r.max_auto_per_day < 0) {
      return policy_error(at + "max_auto_per_day", "A rule's daily limit must not be negative.");
    }
    std::set<Reason> seen;
    for (Reason reason : r.reasons) {
      if (!seen.insert(reason).second) {
        return policy_error(at + "reasons",
                            "A rule lists reason " + std::string(to_string(reason)) + " twice.");
      }
    }
  }
  return Status::Ok();
}

BasisPoints rate_bp(RateCounts c) {
  if (c.accepted <= 0) return 0;
  return static_cast<BasisPoints>(c.returned * kBasisPointsWhole / c.accepted);
}

bool rate_below(RateCounts c, BasisPoints limit) {
  if (c.accepted <= 0) return 0 < limit;
  // returned / accepted < limit / 10000  <=>  returned * 10000 < limit * accepted
  return c.returned * kBasisPointsWhole < static_cast<std::int64_t>(limit) * c.accepted;
}

std::string format_duration(Millis ms) {
  if (ms < 0) return "-" + format_duration(-ms);
  if (ms < kMillisPerMinute) return "under 1 min";
  const Millis days = ms / kMillisPerDay;
  const Millis hours = (ms % kMillisPerDay) / kMillisPerHour;
  const Millis minutes = (ms % kMillisPerHour) / kMillisPerMinute;
  // Below two days hours read best ("47 h"), from then on days and hours.
  if (ms < 48 * kMillisPerHour) {
    const Millis h = ms / kMillisPerHour;
    if (h == 0) return std::to_string(minutes) + " min";
    if (minutes == 0) return std::to_string(h) + " h";
    return std::to_string(h) + " h " + std::to_string(minutes) + " min";
  }
  if (hours == 0) return std::to_string(days) + " d";
  return std::to_string(days) + " d " + std::to_string(hours) + " h";
}

Millis return_deadline(const Policy& policy, Millis delivered_at) {
  return delivered_at + policy.window_hours * kMillisPerHour;
}

PolicyEvaluation evaluate_policy(const Policy& policy, const PolicyInput& in) {
  PolicyEvaluation ev;
  const Millis window = policy.window_hours * kMillisPerHour;
  const Millis age = in.now - in.delivered_at;
  ev.deadline = return_deadline(policy, in.delivered_at);
  const std::string window_text = hours_text(policy.window_hours);

  if (age >= window) {
    ev.decision = Verdict::refused;
    ev.refusal = ErrorCode::WINDOW_CLOSED;
    ev.checks.push_back({"window", false,
                         "Submitted " + format_duration(age) + " after delivery, outside the " +
                             window_text + " return window."});
    return ev;
  }
  if (age < 0) {
    // Clock skew: the lead is recorded as delivered after now. Nothing can be filed yet.
    ev.decision = Verdict::refused;
    ev.refusal = ErrorCode::TOO_EARLY;
    ev.checks.push_back({"window", true, "The " + window_text + " return window is open."});
    ev.checks.push_back({"cool_off", false,
                         "The lead's delivery time is " + format_duration(-age) +
                             " in the future; a return cannot be filed yet."});
    return ev;
  }
  ev.checks.push_back({"window", true,
                       "Submitted " + format_duration(age) + " after delivery, within the " +
                           window_text + " return window."});
  if (policy.min_age_hours > 0) {
    const Millis cool_off = policy.min_age_hours * kMillisPerHour;
    if (age < cool_off) {
      ev.decision = Verdict::refused;
      ev.refusal = ErrorCode::TOO_EARLY;
      ev.checks.push_back({"cool_off", false,
                           "Returns can be filed " + hours_text(policy.min_age_hours) +
                               " after delivery; " + format_duration(cool_off - age) + " to go."});
      return ev;
    }
    ev.checks.push_back(
        {"cool_off", true, "The " + hours_text(policy.min_age_hours) + " cool-off has passed."});
  }
  if (policy.mode == PolicyMode::manual) {
    ev.decision = Verdict::manual_review;
    ev.checks.push_back({"mode", true, "This buyer's policy sends every return to review."});
    return ev;
  }
  if (policy.cap_rate && !rate_below(in.trailing_30d, *policy.cap_rate)) {
    ev.decision = Verdict::manual_review;
    ev.checks.push_back({"cap_rate", false,
                         "The 30-day return rate " + rate_text(in.trailing_30d) +
                             " is at or above the " + percent_text(*policy.cap_rate) +
                             " cap, so the return goes to review."});
    return ev;
  }
  if (policy.cap_rate) {
    ev.checks.push_back({"cap_rate", true,
                         "The 30-day return rate " + rate_text(in.trailing_30d) + " is below the " +
                             percent_text(*policy.cap_rate) + " cap."});
  }
  if (policy.mode == PolicyMode::always_accept) {
    ev.decision = Verdict::auto_accept;
    ev.rule = "always_accept";
    ev.checks.push_back({"mode", true, "This buyer's policy accepts every return in the window."});
    return ev;
  }
  for (const PolicyRule& rule : policy.rules) {
    if (rule_matches(rule, in, age, ev.checks)) {
      ev.decision = Verdict::auto_accept;
      ev.rule = rule.id;
      return ev;
    }
  }
  ev.decision = Verdict::manual_review;
  ev.checks.push_back(
      {"rules", false,
       policy.rules.empty()
           ? std::string("No auto-accept rule is set, so the return goes to review.")
           : std::string("No auto-accept rule applies, so the return goes to "
                         "review.")});
  return ev;
}

DayRange trailing_days(Millis now, int days) {
  const std::int64_t last = utc_day(now);
  return DayRange{last - days + 1, last};
}

WhatIfReport what_if(const Policy& policy, std::vector<HistoricalReturn> history) {
  std::stable_sort(history.begin(), history.end(),
                   [](const HistoricalReturn& a, const HistoricalReturn& b) {
                     if (a.submitted_at != b.submitted_at) return a.submitted_at < b.submitted_at;
                     return a.return_id < b.return_id;
                   });
  WhatIfReport report;
  std::map<std::pair<std::int64_t, std::string>, int> per_day;  // (day, rule) -> count
  for (const HistoricalReturn& h : history) {
    PolicyInput in;
    in.delivered_at = h.delivered_at;
    in.now = h.submitted_at;
    in.reason = h.reason;
    in.price_cents = h.price_cents;
    in.trailing_30d = h.trailing_30d;
    const std::int64_t day = utc_day(h.submitted_at);
    for (const PolicyRule& rule : policy.rules) {
      auto it = per_day.find({day, rule.id});
      if (it != per_day.end()) in.auto_accepted_today[rule.id] = it->second;
    }
    const PolicyEvaluation ev = evaluate_policy(policy, in);
    if (ev.decision == Verdict::auto_accept) {
      ++per_day[{day, ev.rule}];
      ++report.summary.auto_accept;
      report.summary.auto_accept_cents += h.price_cents;
    } else if (ev.decision == Verdict::manual_review) {
      ++report.summary.manual_review;
    } else {
      ++report.summary.refused;
    }
    if (ev.decision != h.actual) ++report.summary.changed;
    ++report.summary.total;
    report.items.push_back(WhatIfItem{h.return_id, h.actual, ev.decision, ev.rule});
  }
  return report;
}

}  // namespace returns
