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

// The reference: each stored row parsed, filtered by visible_row, encoded by encode_changes.
std::optional<std::string> reference_frame(const std::vector<StoredEvent>& events,
                                           const Principal& p, std::int64_t from, std::int64_t to) {
  Changes c;
  c.from = from;
  c.to = to;
  for (const StoredEvent& e : events) {
    const Json data = Json::parse(e.data);
    EventView view{e.entity, e.entity_id, e.buyer_id, &data, e.deleted};
    if (std::optional<Json> row = visible_row(view, p)) {
      c.items.push_back(ChangeItem{e.version, e.entity, e.entity_id, std::move(*row)});
    }
  }
  if (c.items.empty()) return std::nullopt;
  return encode_changes(c);
}

TEST(ServerRules, ChangesFramesFromStoredTextEqualTheEncodedRowsForEveryAudience) {
  const Millis now = kT0 + 400 * kHour;
  Json old_lead = lead_row("L-old", now - 2000 * kHour);  // past the window: not for the buyer
  Json returned = lead_row("L-ret", now - 2000 * kHour);
  returned["status"] = "RETURNED";
  returned["changed_at"] = now - kHour;
  Json other = lead_row("L-other");
  other["buyer_id"] = "B-2";
  const Json chargeback = {{"id", "E-2"},          {"kind", "supplier_chargeback"},
                           {"amount_cents", -900}, {"buyer_id", kBuyer},
                           {"supplier_id", "S-1"}, {"return_id", "R-1"}};
  const Json credit = {{"id", "E-1"},        {"kind", "revenue_reversal"}, {"amount_cents", -2000},
                       {"buyer_id", kBuyer}, {"supplier_id", "S-1"},       {"return_id", "R-1"}};
  const Json ret = {
      {"id", "R-1"},
      {"buyer_id", kBuyer},
      {"state", "accepted"},
      {"note", "Ünïcode \"quoted\" note"},
      {"decision", {{"credit_cents", 2000}, {"charged_back", true}, {"chargeback_cents", 900}}}};
  std::vector<StoredEvent> events = {
      {11, "buyer", kBuyer, kBuyer, buyer_row().dump(), false},
      {12, "supplier", "S-1", "", Json{{"id", "S-1"}, {"name", "Supplyco"}}.dump(), false},
      {13, "lead", "L-1", kBuyer, lead_row("L-1", now - kHour).dump(), false},
      {14, "lead", "L-old", kBuyer, old_lead.dump(), false},
      {15, "lead", "L-ret", kBuyer, returned.dump(), false},
      {16, "lead", "L-other", "B-2", other.dump(), false},
      {17, "return", "R-1", kBuyer, ret.dump(), false},
      {18, "ledger", "E-1", kBuyer, credit.dump(), false},
      {19, "ledger", "E-2", "", chargeback.dump(), false},
      {20, "return", "R-2", kBuyer, Json{{"id", "R-2"}, {"deleted", true}}.dump(), true},
      {21, "alert", "A-1", "", Json{{"id", "A-1"}, {"kind", "spike"}}.dump(), false},
  };
  Principal op;
  op.role = Role::operator_;
  Principal buyer = buyer_principal();
  buyer.lead_horizon = lead_horizon(default_policy(), now);
  Principal b2 = buyer;
  b2.buyer_id = "B-2";
  Principal nobody = buyer;
  nobody.buyer_id = "B-9";
  for (const Principal& p : {op, buyer, b2, nobody}) {
    SCOPED_TRACE(p.buyer_id.empty() ? "operator" : p.buyer_id);
    EXPECT_EQ(changes_frame(events, p, 10, 21), reference_frame(events, p, 10, 21));
  }
  // What the buyer's frame holds and leaves out, spelled out once.
  const std::string frame = *changes_frame(events, buyer, 10, 21);
  EXPECT_EQ(frame.find("Supplyco"), std::string::npos);
  EXPECT_EQ(frame.find("L-old"), std::string::npos);
  EXPECT_EQ(frame.find("L-other"), std::string::npos);
  EXPECT_EQ(frame.find("supplier_chargeback"), std::string::npos);
  EXPECT_EQ(frame.find("chargeback_cents"), std::string::npos);
  EXPECT_NE(frame.find("L-ret"), std::string::npos);
  EXPECT_FALSE(changes_frame(events, nobody, 10, 21).has_value());
}

std::vector<StoredEvent> written(std::initializer_list<std::int64_t> versions) {
  std::vector<StoredEvent> out;
  int n = 0;
  for (std::int64_t v : versions) {
    out.push_back(StoredEvent{v, "return", "R" + std::to_string(n++), "B1", "{}", false});
  }
  return out;
}

std::vector<std::string> ids(const std::optional<std::vector<StoredEvent>>& run) {
  std::vector<std::string> out;
  if (run) {
    for (const StoredEvent& e : *run) out.push_back(std::to_string(e.version) + ":" + e.entity_id);
  }
  return out;
}

// The fan-out takes the events the writer captured instead of reading the log back, only when
// they are exactly the committed ones; otherwise it reads the log (nullopt).
TEST(ServerRules, ACommittedRunIsTheLastEventsCountingUpToTheHead) {
  // Plain: everything written was committed.
  EXPECT_EQ(ids(committed_run(written({11, 12, 13}), 10, 13)),
            (std::vector<std::string>{"11:R0", "12:R1", "13:R2"}));
  // A rolled-back batch wrote 11..13; the retry committed 11..12 reusing its versions: the
  // retry's events are the committed ones, not the rolled-back ones.
  EXPECT_EQ(ids(committed_run(written({11, 12, 13, 11, 12}), 10, 12)),
            (std::vector<std::string>{"11:R3", "12:R4"}));
  // A rolled-back batch after the commit (never committed, versions past the head) is dropped.
  EXPECT_EQ(ids(committed_run(written({11, 12, 13, 14}), 10, 12)),
            (std::vector<std::string>{"11:R0", "12:R1"}));
  // Nothing new.
  ASSERT_TRUE(committed_run(written({}), 10, 10).has_value());
  EXPECT_TRUE(committed_run(written({}), 10, 10)->empty());
}

TEST(ServerRules, ACaptureThatMissedAnEventGivesNoRunSoTheLogIsRead) {
  EXPECT_FALSE(committed_run(written({11, 13}), 10, 13).has_value());      // a gap
  EXPECT_FALSE(committed_run(written({12, 13}), 10, 13).has_value());      // too few
  EXPECT_FALSE(committed_run(written({11, 12, 12}), 10, 13).has_value());  // out of step
  EXPECT_FALSE(committed_run(written({11}), 12, 11).has_value());          // head behind
}

}  // namespace
}  // namespace returns::sync
