// return_history_test.cc — historical_returns (core/return_history.h): a buyer's past returns
// rebuilt from the rows a replica holds must carry the very inputs the server decided them on.
//
// The world is played forward with the real ops (apply_op + commit on a MemoryState, as the store
// does): at every submission the test records what the server's policy_input_for read —
// CaseView::trailing_counts(buyer, now, 30) just before the op — and how the policy decided.
// Afterwards only the final rows are left (leads, returns, ledger: reopens cleared decisions,
// leads changed status, later leads arrived), and historical_returns must give back exactly the
// recorded counts and decisions.
#include "core/return_history.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/lifecycle.h"
#include "core/memory_state.h"

namespace returns {
namespace {

constexpr Millis kH = kMillisPerHour;
constexpr Millis kD = kMillisPerDay;
constexpr Millis kDay0 = 19'700 * kMillisPerDay;  // a UTC midnight
constexpr Millis kT0 = kDay0 + 2 * kH;
constexpr Money kPrice = 10'000;
const std::string kBuyer = "B-1";

Lead lead(const std::string& id, const std::string& buyer, Millis delivered) {
  Lead l;
  l.id = id;
  l.buyer_id = buyer;
  l.supplier_id = "S-1";
  l.campaign_id = buyer == kBuyer ? "C-1" : "C-2";
  l.vertical = "mva";
  l.state = "CA";
  l.zip = "90001";
  l.contact_hash = "h-" + id;
  l.price_cents = kPrice;
  l.cost_cents = 4'000;
  l.delivered_at = delivered;
  return l;
}

// Auto-accepts within 24 h of delivery while the trailing rate is below 40 %; 7-day window.
Policy buyer_policy() {
  Policy p;
  p.mode = PolicyMode::rules;
  p.window_hours = 168;
  PolicyRule r;
  r.id = "within_24h";
  r.max_age_hours = 24;
  r.max_return_rate = 4'000;
  p.rules = {r};
  return p;
}

struct Recorded {
  RateCounts counts;
  Verdict verdict = Verdict::manual_review;
};

class History : public ::testing::Test {
 protected:
  void SetUp() override {
    Buyer b;
    b.id = kBuyer;
    b.name = "Buyer One";
    b.policy = buyer_policy();
    st.put(b);
    Buyer other;
    other.id = "B-2";
    other.name = "Buyer Two";
    st.put(other);
    st.put(Supplier{"S-1", "Supplier", false});
    st.put(Campaign{"C-1", kBuyer, "mva", kPrice});
    st.put(Campaign{"C-2", "B-2", "mva", kPrice});
    // Leads arrive when they are delivered, like the platform's ingest: a lead delivered later
    // the same day was not there at an earlier submission.
    st.put(lead("L1", kBuyer, kT0 - 40 * kD));  // outside every 30-day period below
    st.put(lead("L2", kBuyer, kT0));
    st.put(lead("L3", kBuyer, kT0 + 1 * kH));
    st.put(lead("L4", kBuyer, kT0 + 2 * kH));
    st.put(lead("O1", "B-2", kT0));  // another buyer's lead: never counted

    // Played in time order, like the server's writer.
    submit("R1", "L2", kT0 + 5 * kH);  // auto (5 h)
    st.put(lead("L5", kBuyer, kT0 + 1 * kD));
    submit("R2", "L3", kT0 + 30 * kH);  // manual (29 h)
    op(Actor::operator_("op"), AcceptReturnArgs{"R2", 6'000, std::nullopt, ""}, kT0 + 31 * kH);
    op(Actor::operator_("op"), ReopenReturnArgs{"R1", "wrongly auto-accepted"}, kT0 + 2 * kD);
    st.put(lead("L6", kBuyer, kT0 + 3 * kD + 10 * kH));
    submit("R3", "L4", kT0 + 3 * kD + 12 * kH);  // manual (3 d 10 h)
    op(Actor::operator_("op"), RejectReturnArgs{"R3", "Contact reached."}, kT0 + 3 * kD + 13 * kH);
    submit("R5", "L6", kT0 + 3 * kD + 14 * kH);  // auto (4 h), rate 1/5
    st.put(lead("L7", kBuyer, kT0 + 3 * kD + 20 * kH));
    submit("R6", "L7", kT0 + 4 * kD);  // auto (4 h), rate 2/6
    op(Actor::operator_("op"), ReopenReturnArgs{"R6", ""}, kT0 + 4 * kD + 1 * kH);
    op(Actor::buyer(kBuyer), WithdrawReturnArgs{"R6"}, kT0 + 4 * kD + 2 * kH);
    submit("R4", "L5", kT0 + 8 * kD);  // WINDOW_CLOSED (7 d): the draft is kept
    st.put(lead("L8", kBuyer, kT0 + 20 * kD));
    submit("R7", "L8", kT0 + 20 * kD + 1 * kH);  // auto, rate 2/7
    op(Actor::buyer(kBuyer), SaveDraftArgs{"R8", "L1", Reason::bad_contact, "", kT0 + 21 * kD},
       kT0 + 21 * kD);
    op(Actor::buyer("B-2"), SubmitReturnArgs{"O-R1", "O1", Reason::bad_contact, "", 0},
       kT0 + 5 * kH);
  }

  void submit(const std::string& id, const std::string& lead_id, Millis now) {
    // What policy_input_for reads at this instant (core/submission.h).
    const RateCounts counts = st.trailing_counts(kBuyer, now, kTrailingRateDays);
    const SubmitReturnArgs args{id, lead_id, Reason::bad_contact, "", now - kH};
    Result<Effects> fx = apply_op(Actor::buyer(kBuyer), args, st, now);
    if (fx.ok()) {
      ASSERT_TRUE(fx->evaluation.has_value());
      recorded[id] = Recorded{counts, fx->evaluation->decision};
      st.commit(*fx);
      return;
    }
    ASSERT_EQ(fx.error().code, ErrorCode::WINDOW_CLOSED) << id;
    recorded[id] = Recorded{counts, Verdict::refused};
    std::optional<Effects> kept =
        keep_refused_draft(Actor::buyer(kBuyer), args, fx.error(), st, now);
    ASSERT_TRUE(kept.has_value());
    st.commit(*kept);
  }

  void op(const Actor& actor, const OpArgs& args, Millis now) {
    Result<Effects> fx = apply_op(actor, args, st, now);
    ASSERT_TRUE(fx.ok()) << fx.error().message;
    st.commit(*fx);
  }

  std::vector<HistoricalReturn> history(DayRange period) const {
    std::vector<Lead> leads;
    for (const auto& [id, l] : st.leads()) leads.push_back(l);
    std::vector<ReturnCase> returns;
    for (const auto& [id, r] : st.returns()) returns.push_back(r);
    return historical_returns(kBuyer, leads, returns, st.ledger(), period);
  }

  static DayRange everything() { return DayRange{utc_day(kT0) - 100, utc_day(kT0) + 100}; }

  MemoryState st;
  std::map<std::string, Recorded> recorded;
};

TEST_F(History, TheScenarioIsWhatTheTestSaysItIs) {
  // The final rows lost what the server saw: R1 and R6 were auto-accepted, then reopened.
  EXPECT_EQ(st.find_return("R1")->state, ReturnState::pending);
  EXPECT_FALSE(st.find_return("R1")->decision.has_value());
  EXPECT_EQ(st.find_return("R6")->state, ReturnState::withdrawn);
  EXPECT_EQ(st.find_return("R4")->state, ReturnState::draft);
  EXPECT_EQ(st.find_return("R4")->refusal, ErrorCode::WINDOW_CLOSED);
  EXPECT_EQ(st.find_lead("L2")->status, LeadStatus::accepted);
  EXPECT_EQ(st.find_lead("L7")->status, LeadStatus::accepted);
  // Hand-checked counts at each submission (returned, accepted).
  EXPECT_EQ(recorded["R1"].counts, (RateCounts{0, 3}));  // L2 L3 L4
  EXPECT_EQ(recorded["R2"].counts, (RateCounts{1, 4}));  // + L5; L2 returned by R1
  EXPECT_EQ(recorded["R3"].counts, (RateCounts{1, 5}));  // + L6 (not L7 yet); L2 reopened
  EXPECT_EQ(recorded["R5"].counts, (RateCounts{1, 5}));
  EXPECT_EQ(recorded["R6"].counts, (RateCounts{2, 6}));  // + L7; L6 returned by R5
  EXPECT_EQ(recorded["R4"].counts, (RateCounts{2, 6}));  // L7 reopened
  EXPECT_EQ(recorded["R7"].counts, (RateCounts{2, 7}));  // + L8
  EXPECT_EQ(recorded["R1"].verdict, Verdict::auto_accept);
  EXPECT_EQ(recorded["R2"].verdict, Verdict::manual_review);
  EXPECT_EQ(recorded["R3"].verdict, Verdict::manual_review);
  EXPECT_EQ(recorded["R5"].verdict, Verdict::auto_accept);
  EXPECT_EQ(recorded["R6"].verdict, Verdict::auto_accept);
  EXPECT_EQ(recorded["R7"].verdict, Verdict::auto_accept);
}

TEST_F(History, RebuildsTheCountsAndDecisionsTheServerUsed) {
  const std::vector<HistoricalReturn> h = history(everything());
  std::vector<std::string> ids;
  for (const HistoricalReturn& r : h) ids.push_back(r.return_id);
  // Submission order; the never-submitted draft R8 and the other buyer's return are not there.
  EXPECT_EQ(ids, (std::vector<std::string>{"R1", "R2", "R3", "R5", "R6", "R4", "R7"}));
  for (const HistoricalReturn& r : h) {
    SCOPED_TRACE(r.return_id);
    const Lead& l = *st.find_lead(st.find_return(r.return_id)->lead_id);
    EXPECT_EQ(r.trailing_30d, recorded[r.return_id].counts);
    EXPECT_EQ(r.actual, recorded[r.return_id].verdict);
    EXPECT_EQ(r.delivered_at, l.delivered_at);
    EXPECT_EQ(r.price_cents, kPrice);
    EXPECT_EQ(r.reason, Reason::bad_contact);
  }
  EXPECT_EQ(h[0].submitted_at, kT0 + 5 * kH);
  EXPECT_EQ(h[5].submitted_at, kT0 + 8 * kD);  // the refused draft: when it was refused
  // Credit only while accepted: R2 (partial), R5, R7; R1 and R6 were reopened.
  std::map<std::string, Money> credit;
  for (const HistoricalReturn& r : h) credit[r.return_id] = r.credit_cents;
  EXPECT_EQ(credit, (std::map<std::string, Money>{{"R1", 0},
                                                  {"R2", 6'000},
                                                  {"R3", 0},
                                                  {"R4", 0},
                                                  {"R5", kPrice},
                                                  {"R6", 0},
                                                  {"R7", kPrice}}));
}

TEST_F(History, ReplayingTheSamePolicyChangesNothing) {
  const WhatIfReport rep = what_if(buyer_policy(), history(everything()));
  EXPECT_EQ(rep.summary, (WhatIfSummary{7, 4, 2, 1, 0, 4 * kPrice}));
}

TEST_F(History, ARateLimitBelowTheRebuiltRateFlipsExactlyThatReturn) {
  Policy p = buyer_policy();
  p.rules[0].max_return_rate = 3'000;  // R6 was decided at 2/6 = 33 %; R7 at 2/7 = 28 %
  const WhatIfReport rep = what_if(p, history(everything()));
  EXPECT_EQ(rep.summary.changed, 1);
  for (const WhatIfItem& i : rep.items) {
    SCOPED_TRACE(i.return_id);
    if (i.return_id == "R6") {
      EXPECT_EQ(i.before, Verdict::auto_accept);
      EXPECT_EQ(i.after, Verdict::manual_review);
    } else {
      EXPECT_EQ(i.before, i.after);
    }
  }
}

TEST_F(History, PeriodCountsTheDayOfTheDecision) {
  // The UTC days of R6 (kT0 + 4 d) to R4 (kT0 + 8 d): R6 and R4 only.
  const std::vector<HistoricalReturn> h =
      history(DayRange{utc_day(kT0 + 4 * kD), utc_day(kT0 + 8 * kD)});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].return_id, "R6");
  EXPECT_EQ(h[1].return_id, "R4");
  EXPECT_TRUE(history(DayRange{utc_day(kT0) + 50, utc_day(kT0) + 60}).empty());
}

TEST_F(History, WithoutLedgerRowsAnAcceptedDecisionStillMarksItsLead) {
  // A replica holding no ledger rows: accepted returns still count from their decision; the
  // reopened auto-accepts R1 and R6 can no longer be told apart from manual ones.
  std::vector<Lead> leads;
  for (const auto& [id, l] : st.leads()) leads.push_back(l);
  std::vector<ReturnCase> returns;
  for (const auto& [id, r] : st.returns()) returns.push_back(r);
  const std::vector<HistoricalReturn> h =
      historical_returns(kBuyer, leads, returns, {}, everything());
  std::map<std::string, HistoricalReturn> by_id;
  for (const HistoricalReturn& r : h) by_id[r.return_id] = r;
  EXPECT_EQ(by_id["R7"].trailing_30d, (RateCounts{2, 7}));  // L3 (R2) and L6 (R5)
  EXPECT_EQ(by_id["R5"].trailing_30d, (RateCounts{1, 5}));  // L3
  EXPECT_EQ(by_id["R1"].actual, Verdict::manual_review);
  EXPECT_EQ(by_id["R5"].actual, Verdict::auto_accept);
}

TEST_F(History, LeadsOfOtherBuyersAndMissingLeadsAreLeftOut) {
  std::vector<Lead> leads;
  for (const auto& [id, l] : st.leads()) {
    if (id != "L8") leads.push_back(l);  // R7's lead is not in the replica
  }
  std::vector<ReturnCase> returns;
  for (const auto& [id, r] : st.returns()) returns.push_back(r);
  const std::vector<HistoricalReturn> h =
      historical_returns(kBuyer, leads, returns, st.ledger(), everything());
  EXPECT_EQ(h.size(), 6u);
  for (const HistoricalReturn& r : h) EXPECT_NE(r.return_id, "R7");
  EXPECT_TRUE(historical_returns("B-nobody", leads, returns, st.ledger(), everything()).empty());
}

TEST(TrailingDays, IsThirtyWholeUtcDaysEndingToday) {
  const DayRange r = trailing_days(kDay0 + 5 * kH, 30);
  EXPECT_EQ(r.last, utc_day(kDay0));
  EXPECT_EQ(r.first, utc_day(kDay0) - 29);
  EXPECT_TRUE(r.contains(r.first));
  EXPECT_FALSE(r.contains(r.first - 1));
  EXPECT_FALSE(r.contains(r.last + 1));
}

}  // namespace
}  // namespace returns
