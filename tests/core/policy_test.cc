// policy_test.cc — the auto-accept policy (docs/domain.md "Policy"): a policy's own
// constraints, the default policy, exact rate comparisons, the evaluator's order and boundaries
// to the millisecond, the duration wording of its sentences, and the what-if replay.
//
// Expectations come from docs/domain.md and the header contracts, not from the implementation.
#include "core/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace returns {
namespace {

constexpr Millis kH = kMillisPerHour;
constexpr Millis kMin = kMillisPerMinute;
constexpr Millis kDay0 = 19'700 * kMillisPerDay;  // a UTC midnight
constexpr Millis kT0 = kDay0 + 2 * kH;            // delivered_at used by most rows

PolicyRule rule(std::string id) {
  PolicyRule r;
  r.id = std::move(id);
  return r;
}

Policy policy_with(PolicyMode mode, int window, int min_age, std::vector<PolicyRule> rules = {},
                   std::optional<BasisPoints> cap = std::nullopt) {
  Policy p;
  p.mode = mode;
  p.window_hours = window;
  p.min_age_hours = min_age;
  p.rules = std::move(rules);
  p.cap_rate = cap;
  return p;
}

Policy rules_policy(std::vector<PolicyRule> rules, std::optional<BasisPoints> cap = std::nullopt) {
  return policy_with(PolicyMode::rules, 168, 0, std::move(rules), cap);
}

// ---------------------------------------------------------------------------------------------
// validate_policy: window 1..8760, 0 <= min_age < window, <= 32 rules with unique valid ids,
// max_age 1..window, price >= 0, rates 0..10000 bp, per-day >= 0.

struct ValidateRow {
  std::string name;
  Policy policy;
  // Empty: the policy is valid. Otherwise INVALID_POLICY whose field contains each fragment in
  // order (the docs promise a dotted path naming the field; array index style is not fixed).
  std::vector<std::string> field_fragments;
};

std::ostream& operator<<(std::ostream& os, const ValidateRow& r) { return os << r.name; }

bool contains_in_order(const std::string& s, const std::vector<std::string>& fragments) {
  std::size_t pos = 0;
  for (const auto& f : fragments) {
    auto at = s.find(f, pos);
    if (at == std::string::npos) return false;
    pos = at + f.size();
  }
  return true;
}

Policy with_rule_ids(int n) {
  std::vector<PolicyRule> rules;
  for (int i = 0; i < n; ++i) rules.push_back(rule("r" + std::to_string(i)));
  return rules_policy(std::move(rules));
}

Policy one_rule(PolicyRule r, int window = 168) {
  return policy_with(PolicyMode::rules, window, 0, {std::move(r)});
}

PolicyRule rule_age(int h) {
  auto r = rule("r");
  r.max_age_hours = h;
  return r;
}
PolicyRule rule_price(Money c) {
  auto r = rule("r");
  r.max_price_cents = c;
  return r;
}
PolicyRule rule_rate(BasisPoints bp) {
  auto r = rule("r");
  r.max_return_rate = bp;
  return r;
}
PolicyRule rule_per_day(int n) {
  auto r = rule("r");
  r.max_auto_per_day = n;
  return r;
}

std::vector<ValidateRow> validate_rows() {
  std::vector<ValidateRow> rows = {
      {"default_policy", default_policy(), {}},
      {"window_0", policy_with(PolicyMode::rules, 0, 0), {"window_hours"}},
      {"window_negative", policy_with(PolicyMode::rules, -1, 0), {"window_hours"}},
      {"window_1", policy_with(PolicyMode::rules, 1, 0), {}},
      {"window_8760", policy_with(PolicyMode::rules, 8760, 0), {}},
      {"window_8761", policy_with(PolicyMode::rules, 8761, 0), {"window_hours"}},
      {"window_8761_manual_mode", policy_with(PolicyMode::manual, 8761, 0), {"window_hours"}},
      {"window_8761_always_accept",
       policy_with(PolicyMode::always_accept, 8761, 0),
       {"window_hours"}},
      {"min_age_0", policy_with(PolicyMode::rules, 168, 0), {}},
      {"min_age_window_minus_1", policy_with(PolicyMode::rules, 168, 167), {}},
      {"min_age_equals_window", policy_with(PolicyMode::rules, 168, 168), {"min_age_hours"}},
      {"min_age_above_window", policy_with(PolicyMode::rules, 168, 500), {"min_age_hours"}},
      {"min_age_negative", policy_with(PolicyMode::rules, 168, -1), {"min_age_hours"}},
      {"window_1_min_age_1", policy_with(PolicyMode::rules, 1, 1), {"min_age_hours"}},
      {"rules_0", with_rule_ids(0), {}},
      {"rules_32", with_rule_ids(32), {}},
      {"rules_33", with_rule_ids(33), {"rules"}},
      {"duplicate_rule_ids", rules_policy({rule("a"), rule("b"), rule("a")}), {"rules"}},
      {"rule_id_empty", rules_policy({rule("")}), {"rules", "id"}},
      {"rule_id_space", rules_policy({rule("bad id")}), {"rules", "id"}},
      {"rule_id_slash", rules_policy({rule("a/b")}), {"rules", "id"}},
      {"rule_id_65_chars", rules_policy({rule(std::string(65, 'r'))}), {"rules", "id"}},
      {"rule_id_64_chars", rules_policy({rule(std::string(64, 'r'))}), {}},
      {"rule_id_all_allowed_chars", rules_policy({rule("Az09._:-")}), {}},
      {"max_age_0", one_rule(rule_age(0)), {"rules", "max_age_hours"}},
      {"max_age_negative", one_rule(rule_age(-24)), {"rules", "max_age_hours"}},
      {"max_age_1", one_rule(rule_age(1)), {}},
      {"max_age_equals_window", one_rule(rule_age(168)), {}},
      {"max_age_above_window", one_rule(rule_age(169)), {"rules", "max_age_hours"}},
      {"max_age_24_window_1", one_rule(rule_age(24), 1), {"rules", "max_age_hours"}},
      {"max_price_negative", one_rule(rule_price(-1)), {"rules", "max_price_cents"}},
      {"max_price_0", one_rule(rule_price(0)), {}},
      {"max_price_large", one_rule(rule_price(kMaxMoney)), {}},
      {"max_return_rate_minus_1bp", one_rule(rule_rate(-1)), {"rules", "max_return_rate"}},
      {"max_return_rate_0", one_rule(rule_rate(0)), {}},
      {"max_return_rate_10000", one_rule(rule_rate(10'000)), {}},
      {"max_return_rate_10001", one_rule(rule_rate(10'001)), {"rules", "max_return_rate"}},
      {"cap_rate_minus_1bp", rules_policy({}, -1), {"cap_rate"}},
      {"cap_rate_0", rules_policy({}, 0), {}},
      {"cap_rate_10000", rules_policy({}, 10'000), {}},
      {"cap_rate_10001", rules_policy({}, 10'001), {"cap_rate"}},
      {"max_auto_per_day_negative", one_rule(rule_per_day(-1)), {"rules", "max_auto_per_day"}},
      {"max_auto_per_day_0", one_rule(rule_per_day(0)), {}},
      {"max_auto_per_day_1000", one_rule(rule_per_day(1000)), {}},
  };
  // An invalid limit in the second rule is still found.
  {
    auto p = rules_policy({rule("ok"), rule_price(-5)});
    rows.push_back({"second_rule_bad_price", p, {"rules", "max_price_cents"}});
  }
  // Every limit set at once, all in range.
  {
    auto r = rule("all_limits");
    r.max_age_hours = 24;
    r.reasons = {Reason::bad_contact, Reason::duplicate};
    r.max_price_cents = 5000;
    r.max_return_rate = 1500;
    r.max_auto_per_day = 20;
    rows.push_back({"every_limit_in_range", rules_policy({r}, 2500), {}});
  }
  return rows;
}

class PolicyValidateTable : public ::testing::TestWithParam<ValidateRow> {};

TEST_P(PolicyValidateTable, Row) {
  const ValidateRow& row = GetParam();
  Status st = validate_policy(row.policy);
  if (row.field_fragments.empty()) {
    EXPECT_TRUE(st.ok()) << row.name << ": expected valid, got " << to_string(st.error().code)
                         << " field=" << st.error().field << " msg=" << st.error().message;
    return;
  }
  ASSERT_FALSE(st.ok()) << row.name << ": expected INVALID_POLICY, got ok";
  EXPECT_EQ(st.error().code, ErrorCode::INVALID_POLICY)
      << row.name << ": got " << to_string(st.error().code);
  EXPECT_TRUE(contains_in_order(st.error().field, row.field_fragments))
      << row.name << ": field \"" << st.error().field << "\" does not name the offending field";
  EXPECT_FALSE(st.error().message.empty()) << row.name;
}

INSTANTIATE_TEST_SUITE_P(Policy, PolicyValidateTable, ::testing::ValuesIn(validate_rows()),
                         [](const auto& row_info) { return row_info.param.name; });

// ---------------------------------------------------------------------------------------------
// default_policy: rules mode, 168 h window, one rule within_24h with max_age_hours 24.

TEST(PolicyDefault, IsSevenDayWindowWithOneTwentyFourHourRule) {
  Policy p = default_policy();
  EXPECT_EQ(p.mode, PolicyMode::rules);
  EXPECT_EQ(p.window_hours, 168);
  EXPECT_EQ(p.min_age_hours, 0);
  EXPECT_FALSE(p.cap_rate.has_value());
  ASSERT_EQ(p.rules.size(), 1u);
  const PolicyRule& r = p.rules[0];
  EXPECT_EQ(r.id, "within_24h");
  ASSERT_TRUE(r.max_age_hours.has_value());
  EXPECT_EQ(*r.max_age_hours, 24);
  // "one rule auto-accepting within 24 h of delivery": no other limit.
  EXPECT_TRUE(r.reasons.empty());
  EXPECT_FALSE(r.max_price_cents.has_value());
  EXPECT_FALSE(r.max_return_rate.has_value());
  EXPECT_FALSE(r.max_auto_per_day.has_value());
  EXPECT_TRUE(validate_policy(p).ok());
}

TEST(PolicyDefault, NewBuyerGetsDefaultPolicy) {
  // The documented default for a buyer whose policy is not given.
  Policy a = default_policy();
  Policy b = default_policy();
  EXPECT_EQ(a, b);
}

TEST(PolicyDefault, ModeNamesRoundTrip) {
  const std::vector<std::pair<PolicyMode, std::string>> names = {
      {PolicyMode::always_accept, "always_accept"},
      {PolicyMode::manual, "manual"},
      {PolicyMode::rules, "rules"}};
  for (const auto& [mode, name] : names) {
    SCOPED_TRACE(name);
    EXPECT_EQ(to_string(mode), name);
    EXPECT_EQ(policy_mode_from_string(name), mode);
  }
  EXPECT_FALSE(policy_mode_from_string("auto").has_value());
  EXPECT_FALSE(policy_mode_from_string("Rules").has_value());
  EXPECT_FALSE(policy_mode_from_string("").has_value());
}

TEST(PolicyDefault, VerdictNamesRoundTrip) {
  const std::vector<std::pair<Verdict, std::string>> names = {
      {Verdict::auto_accept, "auto_accept"},
      {Verdict::manual_review, "manual_review"},
      {Verdict::refused, "refused"}};
  for (const auto& [v, name] : names) {
    SCOPED_TRACE(name);
    EXPECT_EQ(to_string(v), name);
    EXPECT_EQ(verdict_from_string(name), v);
  }
  EXPECT_FALSE(verdict_from_string("accepted").has_value());
}

// ---------------------------------------------------------------------------------------------
// rate_bp (rounded down, 0 when nothing sold) and rate_below (exact).

TEST(PolicyRate, RateBasisPointsTable) {
  struct Row {
    const char* name;
    RateCounts c;
    BasisPoints bp;
  };
  const Row rows[] = {
      {"nothing_sold", {0, 0}, 0},
      {"nothing_returned", {0, 100}, 0},
      {"ten_percent", {10, 100}, 1000},
      {"fifteen_percent", {15, 100}, 1500},
      {"one_third_rounds_down", {1, 3}, 3333},
      {"two_thirds_rounds_down", {2, 3}, 6666},
      {"one_in_ten_thousand", {1, 10'000}, 1},
      {"below_one_bp", {1, 10'001}, 0},
      {"everything_returned", {7, 7}, 10'000},
      {"large_counts", {123'456'789, 1'000'000'000}, 1234},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(rate_bp(r.c), r.bp) << r.name;
  }
}

TEST(PolicyRate, RateBelowIsExact) {
  struct Row {
    const char* name;
    RateCounts c;
    BasisPoints limit;
    bool below;
  };
  const Row rows[] = {
      {"15_of_100_vs_1500_not_below", {15, 100}, 1500, false},
      {"14_of_100_vs_1500_below", {14, 100}, 1500, true},
      {"16_of_100_vs_1500_not_below", {16, 100}, 1500, false},
      {"14_9999pct_vs_1500_below", {149'999, 1'000'000}, 1500, true},
      {"15_0001pct_vs_1500_not_below", {150'001, 1'000'000}, 1500, false},
      {"one_third_vs_3333_not_below", {1, 3}, 3333, false},
      {"one_third_vs_3334_below", {1, 3}, 3334, true},
      {"nothing_sold_vs_0_not_below", {0, 0}, 0, false},
      {"nothing_sold_vs_1_below", {0, 0}, 1, true},
      {"nothing_sold_vs_1500_below", {0, 0}, 1500, true},
      {"zero_rate_vs_0_not_below", {0, 50}, 0, false},
      {"all_returned_vs_10000_not_below", {5, 5}, 10'000, false},
      {"almost_all_vs_10000_below", {99, 100}, 10'000, true},
      {"large_counts_exact", {150'000'000'000, 1'000'000'000'000}, 1500, false},
      {"large_counts_just_below", {149'999'999'999, 1'000'000'000'000}, 1500, true},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(rate_below(r.c, r.limit), r.below) << r.name;
  }
}

// ---------------------------------------------------------------------------------------------
// evaluate_policy.

struct EvalRow {
  std::string name;
  Policy policy;
  PolicyInput input;
  Verdict decision;
  std::string rule;                  // expected evaluation.rule
  std::optional<ErrorCode> refusal;  // expected refusal
};

std::ostream& operator<<(std::ostream& os, const EvalRow& r) { return os << r.name; }

PolicyInput input_at(Millis age, Reason reason = Reason::bad_contact, Money price = 1000) {
  PolicyInput in;
  in.delivered_at = kT0;
  in.now = kT0 + age;
  in.reason = reason;
  in.price_cents = price;
  return in;
}

PolicyInput with_counts(PolicyInput in, RateCounts c) {
  in.trailing_30d = c;
  return in;
}

PolicyInput with_today(PolicyInput in, std::map<std::string, int> today) {
  in.auto_accepted_today = std::move(today);
  return in;
}

PolicyInput with_price(PolicyInput in, Money price) {
  in.price_cents = price;
  return in;
}

PolicyRule named(PolicyRule r, std::string id) {
  r.id = std::move(id);
  return r;
}

PolicyRule reasons_rule(std::string id, std::vector<Reason> reasons) {
  auto r = rule(std::move(id));
  r.reasons = std::move(reasons);
  return r;
}

const Verdict AUTO = Verdict::auto_accept;
const Verdict MANUAL = Verdict::manual_review;
const Verdict REFUSED = Verdict::refused;

std::vector<EvalRow> eval_rows() {
  const Policy plain = rules_policy({});  // rules mode, no rules: manual when not refused
  const Policy anyrule = rules_policy({rule("any")});
  const Policy manual = policy_with(PolicyMode::manual, 168, 0, {rule("any")});
  const Policy always = policy_with(PolicyMode::always_accept, 168, 0);
  const Policy cool = policy_with(PolicyMode::rules, 168, 2, {rule("any")});
  const Policy r24 = rules_policy({named(rule_age(24), "r24")});
  const Policy price = rules_policy({named(rule_price(5000), "cheap")});
  const Policy rate = rules_policy({named(rule_rate(1500), "healthy")});
  const Policy rate0 = rules_policy({named(rule_rate(0), "never")});
  const Policy rate3334 = rules_policy({named(rule_rate(3334), "third")});
  const Policy rate3333 = rules_policy({named(rule_rate(3333), "third")});
  const Policy perday = rules_policy({named(rule_per_day(3), "daily")});
  const Policy perday0 = rules_policy({named(rule_per_day(0), "daily")});
  const Policy reasons =
      rules_policy({reasons_rule("contact_or_dup", {Reason::bad_contact, Reason::duplicate})});
  auto dup_only = reasons_rule("r1", {Reason::duplicate});
  auto within48 = named(rule_age(48), "r2");
  const Policy ordered = rules_policy({dup_only, within48, rule("r3")});
  const Policy nomatch = rules_policy({dup_only, named(rule_age(1), "r2")});
  auto combo = rule("combo");
  combo.max_age_hours = 24;
  combo.max_price_cents = 5000;
  const Policy combined = rules_policy({combo});
  const Policy capped = rules_policy({rule("any")}, 2500);
  const Policy capped0 = rules_policy({rule("any")}, 0);
  const Policy cap3333 = rules_policy({rule("any")}, 3333);
  const Policy cap3334 = rules_policy({rule("any")}, 3334);
  const Policy always_capped = policy_with(PolicyMode::always_accept, 168, 0, {}, 2500);
  const Policy manual_capped = policy_with(PolicyMode::manual, 168, 0, {}, 2500);
  const Policy window1 = policy_with(PolicyMode::always_accept, 1, 0);

  using E = ErrorCode;
  return {
      // 1. Window: age >= window refused, to the millisecond.
      {"window_age_window_minus_1ms", plain, input_at(168 * kH - 1), MANUAL, "", {}},
      {"window_age_equals_window", plain, input_at(168 * kH), REFUSED, "", E::WINDOW_CLOSED},
      {"window_age_far_past", plain, input_at(400 * kH), REFUSED, "", E::WINDOW_CLOSED},
      {"window_1h_minus_1ms", window1, input_at(kH - 1), AUTO, "always_accept", {}},
      {"window_1h_exact", window1, input_at(kH), REFUSED, "", E::WINDOW_CLOSED},
      {"window_before_manual_mode", manual, input_at(168 * kH), REFUSED, "", E::WINDOW_CLOSED},
      {"window_before_always_accept", always, input_at(168 * kH), REFUSED, "", E::WINDOW_CLOSED},
      {"window_before_rules", anyrule, input_at(168 * kH), REFUSED, "", E::WINDOW_CLOSED},
      // 2. Cool-off: age < min_age refused; negative age refused.
      {"cool_off_minus_1ms", cool, input_at(2 * kH - 1), REFUSED, "", E::TOO_EARLY},
      {"cool_off_exact", cool, input_at(2 * kH), AUTO, "any", {}},
      {"cool_off_zero_age", cool, input_at(0), REFUSED, "", E::TOO_EARLY},
      {"negative_age_1ms", anyrule, input_at(-1), REFUSED, "", E::TOO_EARLY},
      {"negative_age_days", always, input_at(-3 * kMillisPerDay), REFUSED, "", E::TOO_EARLY},
      {"zero_age_no_cool_off", anyrule, input_at(0), AUTO, "any", {}},
      // 3. Manual mode.
      {"manual_mode", manual, input_at(kH), MANUAL, "", {}},
      {"manual_mode_cap_not_hit",
       manual_capped,
       with_counts(input_at(kH), {1, 100}),
       MANUAL,
       "",
       {}},
      {"manual_mode_cap_hit", manual_capped, with_counts(input_at(kH), {50, 100}), MANUAL, "", {}},
      // 4. Cap: rate >= cap goes to manual review whatever the mode or rules say.
      {"cap_below", capped, with_counts(input_at(kH), {24, 100}), AUTO, "any", {}},
      {"cap_just_below", capped, with_counts(input_at(kH), {2499, 10'000}), AUTO, "any", {}},
      {"cap_at", capped, with_counts(input_at(kH), {25, 100}), MANUAL, "", {}},
      {"cap_above", capped, with_counts(input_at(kH), {60, 100}), MANUAL, "", {}},
      {"cap_nothing_sold", capped, with_counts(input_at(kH), {0, 0}), AUTO, "any", {}},
      {"cap_zero_nothing_sold", capped0, with_counts(input_at(kH), {0, 0}), MANUAL, "", {}},
      {"cap_exact_one_third_vs_3333", cap3333, with_counts(input_at(kH), {1, 3}), MANUAL, "", {}},
      {"cap_exact_one_third_vs_3334", cap3334, with_counts(input_at(kH), {1, 3}), AUTO, "any", {}},
      {"cap_overrides_always_accept",
       always_capped,
       with_counts(input_at(kH), {25, 100}),
       MANUAL,
       "",
       {}},
      {"cap_below_always_accept",
       always_capped,
       with_counts(input_at(kH), {24, 100}),
       AUTO,
       "always_accept",
       {}},
      {"cap_does_not_override_window", always_capped, with_counts(input_at(168 * kH), {90, 100}),
       REFUSED, "", E::WINDOW_CLOSED},
      // 5. always_accept.
      {"always_accept",
       always,
       input_at(100 * kH, Reason::other, 999'999),
       AUTO,
       "always_accept",
       {}},
      // 6. Rule limits at their boundaries.
      {"max_age_23h59m59s999", r24, input_at(24 * kH - 1), AUTO, "r24", {}},
      {"max_age_24h00m00s000", r24, input_at(24 * kH), MANUAL, "", {}},
      {"max_age_zero_age", r24, input_at(0), AUTO, "r24", {}},
      {"max_price_equal", price, with_price(input_at(kH), 5000), AUTO, "cheap", {}},
      {"max_price_plus_1", price, with_price(input_at(kH), 5001), MANUAL, "", {}},
      {"max_price_zero_price", price, with_price(input_at(kH), 0), AUTO, "cheap", {}},
      {"max_rate_at_limit", rate, with_counts(input_at(kH), {15, 100}), MANUAL, "", {}},
      {"max_rate_below", rate, with_counts(input_at(kH), {14, 100}), AUTO, "healthy", {}},
      {"max_rate_just_below",
       rate,
       with_counts(input_at(kH), {149'999, 1'000'000}),
       AUTO,
       "healthy",
       {}},
      {"max_rate_nothing_sold", rate, with_counts(input_at(kH), {0, 0}), AUTO, "healthy", {}},
      {"max_rate_zero_limit_never", rate0, with_counts(input_at(kH), {0, 0}), MANUAL, "", {}},
      {"max_rate_one_third_vs_3334",
       rate3334,
       with_counts(input_at(kH), {1, 3}),
       AUTO,
       "third",
       {}},
      {"max_rate_one_third_vs_3333", rate3333, with_counts(input_at(kH), {1, 3}), MANUAL, "", {}},
      {"per_day_below", perday, with_today(input_at(kH), {{"daily", 2}}), AUTO, "daily", {}},
      {"per_day_at_limit", perday, with_today(input_at(kH), {{"daily", 3}}), MANUAL, "", {}},
      {"per_day_none_yet", perday, input_at(kH), AUTO, "daily", {}},
      {"per_day_other_rule_counts_ignored",
       perday,
       with_today(input_at(kH), {{"other", 50}, {"daily", 0}}),
       AUTO,
       "daily",
       {}},
      {"per_day_zero_limit_never", perday0, input_at(kH), MANUAL, "", {}},
      {"reasons_listed_first",
       reasons,
       input_at(kH, Reason::bad_contact),
       AUTO,
       "contact_or_dup",
       {}},
      {"reasons_listed_second",
       reasons,
       input_at(kH, Reason::duplicate),
       AUTO,
       "contact_or_dup",
       {}},
      {"reasons_not_listed", reasons, input_at(kH, Reason::tcpa_risk), MANUAL, "", {}},
      {"reasons_empty_means_any", anyrule, input_at(kH, Reason::other), AUTO, "any", {}},
      {"all_limits_must_hold", combined, with_price(input_at(5 * kH), 6000), MANUAL, "", {}},
      {"all_limits_hold", combined, with_price(input_at(5 * kH), 5000), AUTO, "combo", {}},
      // Order: first matching rule wins.
      {"first_rule_matches", ordered, input_at(10 * kH, Reason::duplicate), AUTO, "r1", {}},
      {"second_rule_matches", ordered, input_at(10 * kH, Reason::bad_contact), AUTO, "r2", {}},
      {"third_rule_matches", ordered, input_at(50 * kH, Reason::bad_contact), AUTO, "r3", {}},
      {"no_rule_matches", nomatch, input_at(10 * kH, Reason::bad_contact), MANUAL, "", {}},
      {"rules_mode_without_rules", plain, input_at(kH), MANUAL, "", {}},
      // Default policy.
      {"default_5h", default_policy(), input_at(5 * kH), AUTO, "within_24h", {}},
      {"default_24h", default_policy(), input_at(24 * kH), MANUAL, "", {}},
      {"default_168h", default_policy(), input_at(168 * kH), REFUSED, "", E::WINDOW_CLOSED},
  };
}

int rank_of(const std::string& check) {
  if (check == "window") return 0;
  if (check == "cool_off") return 1;
  if (check == "mode" || check == "cap_rate") return 2;
  if (check.rfind("rule:", 0) == 0) return 3;
  if (check == "rules") return 4;  // policy.h: the closing "no rule matched" check
  return -1;
}

// Structural promises every evaluation keeps, whatever the row.
void expect_well_formed(const std::string& name, const Policy& p, const PolicyInput& in,
                        const PolicyEvaluation& ev) {
  SCOPED_TRACE(name);
  EXPECT_EQ(ev.deadline, in.delivered_at + p.window_hours * kH) << "deadline";
  ASSERT_FALSE(ev.checks.empty()) << "every evaluation explains itself";
  EXPECT_EQ(ev.checks.front().check, "window") << "the window is checked first";
  int last_rank = -1;
  std::vector<std::string> seen;
  for (const PolicyCheck& c : ev.checks) {
    EXPECT_FALSE(c.sentence.empty()) << "check " << c.check << " has no sentence";
    int rank = rank_of(c.check);
    EXPECT_GE(rank, 0) << "unknown check name " << c.check;
    EXPECT_GE(rank, last_rank) << "check " << c.check << " out of evaluation order";
    last_rank = std::max(last_rank, rank);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), c.check), 0) << "check twice: " << c.check;
    seen.push_back(c.check);
  }
  // Rule checks: a prefix of the policy's rules, in order.
  std::vector<std::string> rule_checks;
  for (const auto& c : ev.checks)
    if (c.check.rfind("rule:", 0) == 0) rule_checks.push_back(c.check);
  ASSERT_LE(rule_checks.size(), p.rules.size());
  for (std::size_t i = 0; i < rule_checks.size(); ++i)
    EXPECT_EQ(rule_checks[i], "rule:" + p.rules[i].id) << "rule checks follow the rule order";

  switch (ev.decision) {
    case Verdict::refused:
      ASSERT_TRUE(ev.refusal.has_value());
      EXPECT_TRUE(ev.rule.empty());
      EXPECT_FALSE(ev.checks.back().passed) << "the refusing check failed";
      EXPECT_EQ(ev.checks.back().check,
                *ev.refusal == ErrorCode::WINDOW_CLOSED ? "window" : "cool_off");
      EXPECT_TRUE(rule_checks.empty()) << "no rule is evaluated after a refusal";
      break;
    case Verdict::auto_accept:
      EXPECT_FALSE(ev.refusal.has_value());
      EXPECT_TRUE(ev.checks.front().passed) << "window passed";
      if (ev.rule != "always_accept") {
        ASSERT_FALSE(rule_checks.empty());
        EXPECT_EQ(ev.checks.back().check, "rule:" + ev.rule) << "the matching rule is last";
        EXPECT_TRUE(ev.checks.back().passed);
        for (const auto& c : ev.checks) {
          if (c.check.rfind("rule:", 0) == 0 && c.check != "rule:" + ev.rule) {
            EXPECT_FALSE(c.passed) << "an earlier rule matched too: " << c.check;
          }
        }
      } else {
        EXPECT_EQ(p.mode, PolicyMode::always_accept);
        EXPECT_TRUE(rule_checks.empty());
      }
      break;
    case Verdict::manual_review:
      EXPECT_FALSE(ev.refusal.has_value());
      EXPECT_TRUE(ev.rule.empty());
      EXPECT_TRUE(ev.checks.front().passed) << "window passed";
      for (const auto& c : ev.checks) {
        if (c.check.rfind("rule:", 0) == 0) {
          EXPECT_FALSE(c.passed) << c.check;
        }
      }
      break;
  }
}

class PolicyEvaluateTable : public ::testing::TestWithParam<EvalRow> {};

TEST_P(PolicyEvaluateTable, Row) {
  const EvalRow& row = GetParam();
  ASSERT_TRUE(validate_policy(row.policy).ok()) << row.name << ": test policy must be valid";
  PolicyEvaluation ev = evaluate_policy(row.policy, row.input);
  EXPECT_EQ(ev.decision, row.decision)
      << row.name << ": decision " << to_string(ev.decision) << " rule=" << ev.rule;
  EXPECT_EQ(ev.rule, row.rule) << row.name;
  EXPECT_EQ(ev.refusal, row.refusal)
      << row.name << ": refusal " << (ev.refusal ? to_string(*ev.refusal) : "none");
  expect_well_formed(row.name, row.policy, row.input, ev);
  // Same inputs, same answer, sentence for sentence.
  EXPECT_EQ(evaluate_policy(row.policy, row.input), ev) << row.name;
}

INSTANTIATE_TEST_SUITE_P(Policy, PolicyEvaluateTable, ::testing::ValuesIn(eval_rows()),
                         [](const auto& row_info) { return row_info.param.name; });

const PolicyCheck* find_check(const PolicyEvaluation& ev, const std::string& name) {
  for (const auto& c : ev.checks)
    if (c.check == name) return &c;
  return nullptr;
}

TEST(PolicyEvaluate, DeadlineIsDeliveredPlusWindowForEveryDecision) {
  for (int window : {1, 24, 168, 8760}) {
    Policy p = policy_with(PolicyMode::manual, window, 0);
    for (Millis age : {Millis{-5}, Millis{0}, window * kH - 1, window * kH, window * kH * 3}) {
      auto ev = evaluate_policy(p, input_at(age));
      EXPECT_EQ(ev.deadline, kT0 + window * kH) << "window " << window << " age " << age;
    }
  }
}

TEST(PolicyEvaluate, RefusedOnlyAtOrAfterWindow) {
  // Sweep around the boundary with a policy that would otherwise always accept.
  Policy p = policy_with(PolicyMode::always_accept, 48, 0);
  for (Millis delta : {Millis{-1000}, Millis{-2}, Millis{-1}, Millis{0}, Millis{1}, Millis{2}}) {
    auto ev = evaluate_policy(p, input_at(48 * kH + delta));
    if (delta < 0) {
      EXPECT_EQ(ev.decision, Verdict::auto_accept) << "delta " << delta;
      EXPECT_FALSE(ev.refusal.has_value()) << "delta " << delta;
    } else {
      EXPECT_EQ(ev.decision, Verdict::refused) << "delta " << delta;
      EXPECT_EQ(ev.refusal, ErrorCode::WINDOW_CLOSED) << "delta " << delta;
    }
  }
}

TEST(PolicyEvaluate, RefusedWhileCoolingOff) {
  Policy p = policy_with(PolicyMode::always_accept, 48, 6);
  for (Millis delta : {Millis{-1000}, Millis{-1}, Millis{0}, Millis{1}}) {
    auto ev = evaluate_policy(p, input_at(6 * kH + delta));
    if (delta < 0) {
      EXPECT_EQ(ev.refusal, ErrorCode::TOO_EARLY) << "delta " << delta;
      EXPECT_EQ(ev.decision, Verdict::refused) << "delta " << delta;
    } else {
      EXPECT_FALSE(ev.refusal.has_value()) << "delta " << delta;
      EXPECT_EQ(ev.decision, Verdict::auto_accept) << "delta " << delta;
    }
  }
}

TEST(PolicyEvaluate, ChecksGrowWithRulesEvaluated) {
  // Three rules that fail in turn, then one that matches: four rule checks; with the matching
  // rule first, one rule check.
  auto r1 = reasons_rule("r1", {Reason::duplicate});
  auto r2 = named(rule_price(10), "r2");
  auto r3 = named(rule_age(1), "r3");
  auto r4 = rule("r4");
  auto late = evaluate_policy(rules_policy({r1, r2, r3, r4}), input_at(5 * kH));
  auto early = evaluate_policy(rules_policy({r4, r1, r2, r3}), input_at(5 * kH));
  auto count_rules = [](const PolicyEvaluation& ev) {
    return std::count_if(ev.checks.begin(), ev.checks.end(),
                         [](const PolicyCheck& c) { return c.check.rfind("rule:", 0) == 0; });
  };
  EXPECT_EQ(late.rule, "r4");
  EXPECT_EQ(early.rule, "r4");
  EXPECT_EQ(count_rules(late), 4);
  EXPECT_EQ(count_rules(early), 1);
  EXPECT_GT(late.checks.size(), early.checks.size());
  ASSERT_NE(find_check(late, "rule:r1"), nullptr);
  EXPECT_FALSE(find_check(late, "rule:r1")->passed);
  EXPECT_FALSE(find_check(late, "rule:r2")->passed);
  EXPECT_FALSE(find_check(late, "rule:r3")->passed);
  EXPECT_TRUE(find_check(late, "rule:r4")->passed);
  EXPECT_EQ(find_check(early, "rule:r1"), nullptr) << "rules after the match are not evaluated";

  // No match: every rule is a check.
  auto none = evaluate_policy(rules_policy({r1, r2, r3}), input_at(5 * kH));
  EXPECT_EQ(none.decision, Verdict::manual_review);
  EXPECT_EQ(count_rules(none), 3);
}

TEST(PolicyEvaluate, CapHitShowsAFailedCapCheckAndNoRules) {
  Policy p = rules_policy({rule("any")}, 2000);
  auto ev = evaluate_policy(p, with_counts(input_at(kH), {20, 100}));
  EXPECT_EQ(ev.decision, Verdict::manual_review);
  const PolicyCheck* cap = find_check(ev, "cap_rate");
  ASSERT_NE(cap, nullptr);
  EXPECT_FALSE(cap->passed);
  EXPECT_EQ(find_check(ev, "rule:any"), nullptr);

  auto ok = evaluate_policy(p, with_counts(input_at(kH), {19, 100}));
  EXPECT_EQ(ok.decision, Verdict::auto_accept);
  ASSERT_NE(find_check(ok, "cap_rate"), nullptr) << "a set cap is a check";
  EXPECT_TRUE(find_check(ok, "cap_rate")->passed);
}

TEST(PolicyEvaluate, DocumentedSentences) {
  // docs/domain.md: "Submitted 5 h after delivery, within the 168 h return window." and
  // "Submitted 5 h after delivery, within the 24 h auto-accept rule within_24h."
  auto ev = evaluate_policy(default_policy(), input_at(5 * kH));
  ASSERT_EQ(ev.decision, Verdict::auto_accept);
  const PolicyCheck* window = find_check(ev, "window");
  ASSERT_NE(window, nullptr);
  EXPECT_TRUE(window->passed);
  EXPECT_NE(window->sentence.find("5 h"), std::string::npos) << window->sentence;
  EXPECT_NE(window->sentence.find("168 h"), std::string::npos) << window->sentence;
  const PolicyCheck* r = find_check(ev, "rule:within_24h");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->passed);
  EXPECT_NE(r->sentence.find("5 h"), std::string::npos) << r->sentence;
  EXPECT_NE(r->sentence.find("24 h"), std::string::npos) << r->sentence;
  EXPECT_NE(r->sentence.find("within_24h"), std::string::npos) << r->sentence;
}

TEST(PolicyEvaluate, SentencesDifferBetweenPassAndFail) {
  // A failed check must not read like a passed one.
  auto pass = evaluate_policy(default_policy(), input_at(5 * kH));
  auto fail = evaluate_policy(default_policy(), input_at(30 * kH));
  const PolicyCheck* a = find_check(pass, "rule:within_24h");
  const PolicyCheck* b = find_check(fail, "rule:within_24h");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(a->passed);
  EXPECT_FALSE(b->passed);
  EXPECT_NE(a->sentence, b->sentence);
}

// ---------------------------------------------------------------------------------------------
// format_duration: "5 h", "23 h 59 min", "2 d 3 h", "under 1 min" (header comment).

TEST(FormatDuration, Table) {
  struct Row {
    const char* name;
    Millis ms;
    const char* text;
  };
  const Row rows[] = {
      // Documented in the header comment.
      {"zero", 0, "under 1 min"},
      {"one_ms", 1, "under 1 min"},
      {"59_999_ms", kMin - 1, "under 1 min"},
      {"five_hours", 5 * kH, "5 h"},
      {"23h59", 23 * kH + 59 * kMin, "23 h 59 min"},
      {"2d3h", 2 * kMillisPerDay + 3 * kH, "2 d 3 h"},
      // Same style, inferred: whole units, rounded down (a 24 h rule at 23:59:59.999 must not be
      // described as "24 h").
      {"one_minute", kMin, "1 min"},
      {"45_minutes", 45 * kMin, "45 min"},
      {"five_hours_and_seconds", 5 * kH + 59'999, "5 h"},
      {"just_under_a_day", 24 * kH - 1, "23 h 59 min"},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(format_duration(r.ms), r.text) << r.name << " (" << r.ms << " ms)";
  }
}

TEST(FormatDuration, NeverEmpty) {
  for (Millis ms :
       {Millis{0}, Millis{1}, kMin, kH, kMillisPerDay, 400 * kMillisPerDay, kMaxMillis}) {
    EXPECT_FALSE(format_duration(ms).empty()) << ms;
  }
}

// ---------------------------------------------------------------------------------------------
// what_if: replay in submitted_at order (ties by return id), per-day limits count the new
// policy's own auto-accepts, summary totals.

HistoricalReturn past(std::string id, Millis delivered, Millis submitted, Money price,
                      Verdict actual, Reason reason = Reason::bad_contact) {
  HistoricalReturn h;
  h.return_id = std::move(id);
  h.delivered_at = delivered;
  h.submitted_at = submitted;
  h.reason = reason;
  h.price_cents = price;
  h.actual = actual;
  h.credit_cents = actual == Verdict::auto_accept ? price : 0;
  return h;
}

std::vector<std::string> ids_of(const WhatIfReport& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items) out.push_back(i.return_id);
  return out;
}

const WhatIfItem* item(const WhatIfReport& r, const std::string& id) {
  for (const auto& i : r.items)
    if (i.return_id == id) return &i;
  return nullptr;
}

TEST(WhatIf, ItemsInSubmissionOrderTiesByReturnId) {
  Policy p = rules_policy({rule("any")});
  const Millis day = kDay0 + 10 * kMillisPerDay;
  std::vector<HistoricalReturn> h = {
      past("c", day, day + 3 * kH, 100, MANUAL),
      past("b", day, day + 1 * kH, 100, MANUAL),
      past("z", day, day + 2 * kH, 100, MANUAL),
      past("a", day, day + 2 * kH, 100, MANUAL),
  };
  auto rep = what_if(p, h);
  EXPECT_EQ(ids_of(rep), (std::vector<std::string>{"b", "a", "z", "c"}));
  EXPECT_EQ(rep.summary.total, 4);
}

TEST(WhatIf, PerDayLimitCountsTheNewPolicysOwnAutoAccepts) {
  // Two auto-accepts a day by rule "daily". History is given shuffled; the replay must still
  // decide a and b (first two of the day) auto, c manual, and d on the next UTC day auto.
  Policy p = rules_policy({named(rule_per_day(2), "daily")});
  const Millis d = kDay0 + 20 * kMillisPerDay;  // UTC midnight
  std::vector<HistoricalReturn> h = {
      past("d", d - kH, d + kMillisPerDay, 4000, MANUAL),    // next day 00:00:00.000
      past("c", d - kH, d + kMillisPerDay - 1, 3000, AUTO),  // 23:59:59.999
      past("a", d - kH, d + 9 * kH, 1000, MANUAL),
      past("b", d - kH, d + 10 * kH, 2000, AUTO),
  };
  auto rep = what_if(p, h);
  ASSERT_EQ(ids_of(rep), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(item(rep, "a")->after, AUTO);
  EXPECT_EQ(item(rep, "b")->after, AUTO);
  EXPECT_EQ(item(rep, "c")->after, MANUAL) << "third auto-accept of the day exceeds the limit";
  EXPECT_EQ(item(rep, "d")->after, AUTO) << "a new UTC day starts a new count";
  EXPECT_EQ(item(rep, "a")->rule, "daily");
  EXPECT_EQ(item(rep, "c")->rule, "");
  EXPECT_EQ(item(rep, "a")->before, MANUAL);
  EXPECT_EQ(item(rep, "b")->before, AUTO);
  EXPECT_EQ(item(rep, "c")->before, AUTO);

  EXPECT_EQ(rep.summary.total, 4);
  EXPECT_EQ(rep.summary.auto_accept, 3);
  EXPECT_EQ(rep.summary.manual_review, 1);
  EXPECT_EQ(rep.summary.refused, 0);
  EXPECT_EQ(rep.summary.changed, 3);  // a, c, d changed; b did not
  EXPECT_EQ(rep.summary.auto_accept_cents, 1000 + 2000 + 4000);
}

TEST(WhatIf, PerDayIsCountedPerRule) {
  // r1 takes one a day; the next bad_contact falls through to r2 (price <= 1000); a third one
  // priced above r2's limit goes to manual review.
  auto r1 = reasons_rule("r1", {Reason::bad_contact});
  r1.max_auto_per_day = 1;
  auto r2 = reasons_rule("r2", {Reason::bad_contact});
  r2.max_price_cents = 1000;
  Policy p = rules_policy({r1, r2});
  const Millis d = kDay0 + 30 * kMillisPerDay;
  auto rep =
      what_if(p, {past("x", d, d + 1 * kH, 500, MANUAL), past("y", d, d + 2 * kH, 500, MANUAL),
                  past("z", d, d + 3 * kH, 2000, MANUAL)});
  ASSERT_EQ(rep.items.size(), 3u);
  EXPECT_EQ(item(rep, "x")->rule, "r1");
  EXPECT_EQ(item(rep, "y")->rule, "r2");
  EXPECT_EQ(item(rep, "z")->after, MANUAL);
  EXPECT_EQ(item(rep, "z")->rule, "");
  EXPECT_EQ(rep.summary.auto_accept, 2);
  EXPECT_EQ(rep.summary.auto_accept_cents, 1000);
  EXPECT_EQ(rep.summary.changed, 2);
}

TEST(WhatIf, RefusalsAndRatesUseEachReturnsOwnFacts) {
  auto healthy = named(rule_rate(1000), "healthy");
  Policy p = policy_with(PolicyMode::rules, 48, 0, {healthy});
  const Millis d = kDay0 + 40 * kMillisPerDay;
  auto late = past("late", d, d + 48 * kH, 700, AUTO);  // at the window: refused
  auto low = past("low", d, d + 1 * kH, 800, MANUAL);
  low.trailing_30d = {5, 100};  // 5 % < 10 %: auto
  auto high = past("high", d, d + 2 * kH, 900, AUTO);
  high.trailing_30d = {10, 100};  // 10 %, not below: manual
  auto rep = what_if(p, {late, low, high});
  ASSERT_EQ(rep.items.size(), 3u);
  EXPECT_EQ(item(rep, "late")->after, REFUSED);
  EXPECT_EQ(item(rep, "low")->after, AUTO);
  EXPECT_EQ(item(rep, "high")->after, MANUAL);
  EXPECT_EQ(rep.summary.total, 3);
  EXPECT_EQ(rep.summary.auto_accept, 1);
  EXPECT_EQ(rep.summary.manual_review, 1);
  EXPECT_EQ(rep.summary.refused, 1);
  EXPECT_EQ(rep.summary.changed, 3);
  EXPECT_EQ(rep.summary.auto_accept_cents, 800);
  EXPECT_EQ(rep.summary.auto_accept + rep.summary.manual_review + rep.summary.refused,
            rep.summary.total);
}

TEST(WhatIf, UnchangedPolicyChangesNothing) {
  Policy p = default_policy();
  const Millis d = kDay0 + 50 * kMillisPerDay;
  auto rep =
      what_if(p, {past("a", d, d + 5 * kH, 100, AUTO), past("b", d, d + 30 * kH, 100, MANUAL),
                  past("c", d, d + 200 * kH, 100, REFUSED)});
  EXPECT_EQ(rep.summary.changed, 0);
  EXPECT_EQ(rep.summary.auto_accept, 1);
  EXPECT_EQ(rep.summary.manual_review, 1);
  EXPECT_EQ(rep.summary.refused, 1);
  EXPECT_EQ(rep.summary.auto_accept_cents, 100);
  EXPECT_EQ(item(rep, "a")->rule, "within_24h");
}

TEST(WhatIf, EmptyHistory) {
  auto rep = what_if(default_policy(), {});
  EXPECT_TRUE(rep.items.empty());
  EXPECT_EQ(rep.summary, WhatIfSummary{});
}

TEST(WhatIf, ManualPolicySendsEverythingToReview) {
  Policy p = policy_with(PolicyMode::manual, 168, 0);
  const Millis d = kDay0 + 60 * kMillisPerDay;
  auto rep = what_if(p, {past("a", d, d + kH, 100, AUTO), past("b", d, d + 2 * kH, 200, AUTO)});
  EXPECT_EQ(rep.summary.manual_review, 2);
  EXPECT_EQ(rep.summary.auto_accept, 0);
  EXPECT_EQ(rep.summary.changed, 2);
  EXPECT_EQ(rep.summary.auto_accept_cents, 0);
}

}  // namespace
}  // namespace returns
