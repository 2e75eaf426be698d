// facts_index_test.cc — the engine answers the decision facts (docs/decision-facts.md) from the
// server's buyer_day rows and lead flags, not from the leads it holds: a buyer's replica holds
// only the return window's leads, yet its trailing counts, daily auto-accepts and duplicate
// verdicts equal the core's on the whole state — after live frames, a reset, and with pending
// ops laid over the rows. The world is played by the real core ops on a MemoryState.
#include <gtest/gtest.h>

#include <random>

#include "core/decision_facts.h"
#include "core/memory_state.h"
#include "engine_fixture.h"
#include "sync/engine.h"
#include "sync/memory_replica.h"
#include "sync/server_rules.h"

namespace returns::sync {
namespace {

using namespace returns::sync::testing;

constexpr Millis kDay = kMillisPerDay;
constexpr Millis kNow = kT0 + 40 * kDay;

// B-1 with a daily limit on its rule, 60 leads over 40 days sharing 9 contacts, about half
// returned: auto-accepted when young, else accepted or rejected by an operator, a few reopened.
MemoryState played_world(unsigned seed) {
  std::mt19937 rng(seed);
  MemoryState st;
  Buyer b;
  b.id = kBuyer;
  b.name = "Acme Law";
  b.policy.rules[0].max_auto_per_day = 3;
  b.policy.rules[0].max_age_hours = 30;
  st.put(b);
  st.put(Supplier{"S-1", "Supplier", false});
  st.put(Campaign{"C-1", kBuyer, "mva", 5000});
  std::vector<Lead> leads;
  for (int k = 0; k < 60; ++k) {
    Lead l;
    l.id = "L-" + std::to_string(k);
    l.buyer_id = kBuyer;
    l.supplier_id = "S-1";
    l.campaign_id = "C-1";
    l.vertical = "mva";
    l.state = "TX";
    l.contact_hash = "h-" + std::to_string(rng() % 9);
    l.price_cents = 1000 + static_cast<Money>(rng() % 5000);
    l.delivered_at = kNow - static_cast<Millis>(rng() % (40 * 24)) * kHour;
    st.put(l);
    leads.push_back(l);
  }
  // Young leads nobody returned yet, for the pending submits.
  for (int k = 0; k < 4; ++k) {
    Lead l = leads[static_cast<std::size_t>(k)];
    l.id = "Y-" + std::to_string(k);
    l.delivered_at = kNow - (2 + 4 * k) * kHour;
    st.put(l);
  }
  int n = 0;
  for (const Lead& l : leads) {
    if (rng() % 2 == 0) continue;
    const std::string id = "R-" + std::to_string(++n);
    const Millis at = std::min(kNow, l.delivered_at + static_cast<Millis>(rng() % 48) * kHour);
    auto play = [&](const Actor& a, const OpArgs& args, Millis t) {
      Result<Effects> fx = apply_op(a, args, st, t);
      if (fx.ok()) st.commit(*fx);
      return fx.ok();
    };
    if (!play(Actor::buyer(kBuyer), SubmitReturnArgs{id, l.id, Reason::bad_contact, "", 0}, at)) {
      continue;
    }
    const Actor op = Actor::operator_("alice");
    if (st.find_return(id)->state != ReturnState::accepted) {
      if (rng() % 3 == 0) {
        play(op, RejectReturnArgs{id, "no"}, at + kHour);
      } else {
        play(op, AcceptReturnArgs{id, std::nullopt, std::nullopt, ""}, at + kHour);
      }
    }
    if (rng() % 5 == 0) play(op, ReopenReturnArgs{id, "again"}, at + 2 * kHour);
  }
  return st;
}

// What the server sends a buyer: rows within their scope and horizon, leads with the derived
// flag, and the buyer_day rows.
std::vector<ChangeItem> buyer_items(const MemoryState& st, std::int64_t& v, Millis now) {
  Principal p = buyer_principal();
  p.lead_horizon = lead_horizon(st.find_buyer(kBuyer)->policy, now);
  std::vector<ChangeItem> items;
  auto add = [&](const std::string& entity, const std::string& id, const Json& data) {
    EventView e{entity, id, kBuyer, &data, false};
    if (std::optional<Json> row = visible_row(e, p)) {
      items.push_back(ChangeItem{++v, entity, id, *row});
    }
  };
  add("buyer", kBuyer, to_json(*st.find_buyer(kBuyer)));
  add("campaign", "C-1", to_json(*st.find_campaign("C-1")));
  for (const auto& [id, l] : st.leads()) add("lead", id, to_json(st.with_derived(l)));
  for (const auto& [id, r] : st.returns()) add("return", id, to_json(r));
  for (const BuyerDay& d : st.buyer_days()) {
    add("buyer_day", buyer_day_id(d.buyer_id, d.day), to_json(d));
  }
  return items;
}

class FactsIndexRandom : public ::testing::TestWithParam<unsigned> {
 protected:
  MemoryReplica replica;
  Engine engine{replica, EngineConfig{"portal-1", "tok-b1", 250}};
  std::int64_t v = 0;

  void connect(const MemoryState& st) {
    (void)engine.on_connected(kNow);
    ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
    std::vector<ChangeItem> items = buyer_items(st, v, kNow);
    ASSERT_TRUE(engine.on_frame(changes(0, v, std::move(items)), kNow).ok());
    ASSERT_TRUE(engine.on_frame(encode_synced(v), kNow).ok());
    (void)engine.take_outgoing();
    (void)engine.take_notices();
  }

  // Every fact the engine's view answers equals the core's on `st`, on every day of the period.
  void expect_facts(const MemoryState& st, const std::string& when) {
    const CaseView& view = engine.view(kNow);
    for (int d = 0; d < 35; ++d) {
      const Millis now = kNow - d * kDay;
      for (int days : {1, 7, 30}) {
        EXPECT_EQ(view.trailing_counts(kBuyer, now, days), st.trailing_counts(kBuyer, now, days))
            << when << ": " << days << " days ending " << d << " days ago";
      }
      EXPECT_EQ(view.auto_accepted_on_day(kBuyer, "within_24h", utc_day(now)),
                st.auto_accepted_on_day(kBuyer, "within_24h", utc_day(now)))
          << when << ": auto-accepts " << d << " days ago";
    }
    for (const auto& [id, l] : st.leads()) {
      if (view.find_lead(id) == nullptr) continue;  // past the horizon: not the portal's
      EXPECT_EQ(view.delivered_before(kBuyer, l.contact_hash, id, l.delivered_at),
                st.delivered_before(kBuyer, l.contact_hash, id, l.delivered_at))
          << when << ": duplicate verdict of " << id;
    }
  }
};

TEST_P(FactsIndexRandom, EqualTheCoreOnTheWholeStateThoughTheReplicaHoldsOnlyTheWindow) {
  MemoryState world = played_world(GetParam());
  connect(world);
  EXPECT_LT(engine.rows("lead", kNow).size(), world.leads().size())
      << "the horizon must leave history out, or this test proves nothing";
  expect_facts(world, "after catch-up");

  // Pending ops of the buyer: submits of young leads the policy would auto-accept. The view
  // counts them as the server will once applied.
  MemoryState after = world;
  int submitted = 0;
  for (const auto& [id, l] : world.leads()) {
    if (kNow - l.delivered_at >= 20 * kHour || l.status == LeadStatus::returned) continue;
    bool open = false;
    for (const ReturnCase& r : world.returns_for_lead(id))
      open = open || r.state != ReturnState::rejected;
    if (open) continue;
    const std::string rid = "P-" + id;
    const SubmitReturnArgs args{rid, id, Reason::tcpa_risk, "", 0};
    ASSERT_TRUE(engine.enqueue("submit_return", to_json(OpArgs{args})["args"], kNow).ok());
    Result<Effects> fx = apply_op(Actor::buyer(kBuyer), args, after, engine.server_now(kNow));
    ASSERT_TRUE(fx.ok()) << fx.error().message;
    after.commit(*fx);
    ++submitted;
  }
  ASSERT_GT(submitted, 0) << "no young lead to submit: the pending case proves nothing";
  expect_facts(after, "with " + std::to_string(submitted) + " submits pending");

  // A reset: the server starts the replica over; the index follows.
  ASSERT_TRUE(engine.on_frame(encode_reset(v), kNow).ok());
  v = 0;
  (void)engine.on_connected(kNow);
  connect(world);
  expect_facts(after, "after a reset, submits still pending");
}

INSTANTIATE_TEST_SUITE_P(Seeds, FactsIndexRandom, ::testing::Values(1u, 2u, 3u, 42u, 2026u));

TEST(FactsIndex, UndecodableFactsRowsReadAsAbsentAndAreReported) {
  MemoryReplica replica;
  Engine engine{replica, EngineConfig{"portal-1", "tok-b1", 250}};
  (void)engine.on_connected(kT0);
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kT0), kT0).ok());
  const std::int64_t day = utc_day(kT0);
  Json bad{{"id", buyer_day_id(kBuyer, day)},
           {"buyer_id", kBuyer},
           {"day", day},
           {"sold", -1},
           {"returned", 0}};
  ASSERT_TRUE(engine
                  .on_frame(changes(0, 2,
                                    {ChangeItem{1, "buyer", kBuyer, buyer_row()},
                                     ChangeItem{2, "buyer_day", buyer_day_id(kBuyer, day), bad}}),
                            kT0)
                  .ok());
  EXPECT_EQ(engine.view(kT0).trailing_counts(kBuyer, kT0, 30), RateCounts{});
  bool reported = false;
  for (const Notice& n : engine.take_notices()) {
    reported = reported || (n.kind == Notice::Kind::error && n.code == ErrorCode::INTERNAL &&
                            n.message.find("buyer_day") != std::string::npos);
  }
  EXPECT_TRUE(reported);
}

}  // namespace
}  // namespace returns::sync
