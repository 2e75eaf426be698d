// server_rules_test.cc — the server side's pure rules (sync/server_rules.h) at their boundaries:
// the lead horizon agrees with the core's return_deadline to the millisecond, and a lead whose
// status a return changed reaches its buyer wherever the window stands.
#include "sync/server_rules.h"

#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace returns::sync {
namespace {

using namespace returns::sync::testing;

std::optional<Json> as_buyer_at(const Json& lead, Millis now) {
  Principal p = buyer_principal();
  p.lead_horizon = lead_horizon(default_policy(), now);
  EventView e{"lead", lead["id"].get<std::string>(), kBuyer, &lead, false};
  return visible_row(e, p);
}

TEST(ServerRules, LeadHorizonIsTheCoresReturnDeadline) {
  const Millis now = kT0 + 400 * kHour;
  const Policy policy = default_policy();
  // Delivered exactly one window ago: the window closed at `now` (a submit now is refused).
  const Json closed = lead_row("L-closed", now - policy.window_hours * kHour);
  ASSERT_EQ(return_deadline(policy, closed["delivered_at"].get<Millis>()), now);
  EXPECT_FALSE(as_buyer_at(closed, now).has_value());
  // One millisecond later: still open, and sent.
  const Json open = lead_row("L-open", now - policy.window_hours * kHour + 1);
  ASSERT_GT(return_deadline(policy, open["delivered_at"].get<Millis>()), now);
  EXPECT_TRUE(as_buyer_at(open, now).has_value());
}

TEST(ServerRules, ALeadWhoseStatusAReturnChangedAlwaysReachesItsBuyer) {
  const Millis now = kT0 + 4000 * kHour;  // long past the window
  Json lead = lead_row("L-old");
  EXPECT_FALSE(as_buyer_at(lead, now).has_value()) << "untouched and past the window";
  lead["status"] = "RETURNED";
  lead["changed_at"] = kT0 + 2 * kHour;
  EXPECT_TRUE(as_buyer_at(lead, now).has_value());
  // Reopened and rejected: ACCEPTED again, and the buyer must learn it.
  lead["status"] = "ACCEPTED";
  lead["changed_at"] = kT0 + 3000 * kHour;
  const std::optional<Json> row = as_buyer_at(lead, now);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ((*row)["status"], "ACCEPTED");
}

}  // namespace
}  // namespace returns::sync
