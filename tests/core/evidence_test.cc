// evidence_test.cc — what the core says about a return reason from data it already has
// (docs/domain.md "Reasons and evidence"): every reason × verdict with its exact code, the
// routing alert, buyer coverage, and duplicate detection over the buyer's delivery history
// (MemoryState as the DeliveryHistory).
#include "core/evidence.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/memory_state.h"

namespace returns {
namespace {

constexpr Millis kT0 = 1'700'000'000'000;

Buyer make_buyer(std::string id, Coverage coverage = {}) {
  Buyer b;
  b.id = std::move(id);
  b.name = "Buyer " + b.id;
  b.coverage = std::move(coverage);
  return b;
}

Campaign make_campaign(std::string id, std::string buyer, std::string vertical) {
  return Campaign{std::move(id), std::move(buyer), std::move(vertical), 5000};
}

Lead make_lead(std::string id, std::string buyer, std::string hash, Millis at) {
  Lead l;
  l.id = std::move(id);
  l.buyer_id = std::move(buyer);
  l.supplier_id = "s1";
  l.campaign_id = "c1";
  l.vertical = "mva";
  l.state = "CA";
  l.zip = "90012";
  l.contact_hash = std::move(hash);
  l.price_cents = 5000;
  l.cost_cents = 2000;
  l.delivered_at = at;
  return l;
}

// ---------------------------------------------------------------------------------------------
// Every reason × verdict, codes exact.

struct EvidenceRow {
  std::string name;
  Reason reason;
  std::function<void(Lead&, Campaign&, Buyer&)> arrange;
  EvidenceVerdict verdict;
  std::string code;
  bool routing_alert;
};

TEST(Evidence, EveryReasonAndVerdict) {
  const auto nothing = [](Lead&, Campaign&, Buyer&) {};
  const std::vector<EvidenceRow> rows = {
      {"bad_contact", Reason::bad_contact, nothing, EvidenceVerdict::none, "no_automatic_check",
       false},
      {"bad_contact_even_if_flagged", Reason::bad_contact,
       [](Lead& l, Campaign&, Buyer&) { l.tcpa_flag = true; }, EvidenceVerdict::none,
       "no_automatic_check", false},
      {"wrong_vertical_mismatch", Reason::wrong_vertical,
       [](Lead& l, Campaign&, Buyer&) { l.vertical = "solar"; }, EvidenceVerdict::supports,
       "vertical_mismatch", false},
      {"wrong_vertical_matches", Reason::wrong_vertical, nothing, EvidenceVerdict::warns,
       "vertical_matches", false},
      {"duplicate_no_earlier_delivery", Reason::duplicate, nothing, EvidenceVerdict::cannot_verify,
       "other_source", false},
      {"tcpa_flagged", Reason::tcpa_risk, [](Lead& l, Campaign&, Buyer&) { l.tcpa_flag = true; },
       EvidenceVerdict::supports, "tcpa_flagged", false},
      {"tcpa_not_flagged", Reason::tcpa_risk, nothing, EvidenceVerdict::warns, "tcpa_not_flagged",
       false},
      {"outside_coverage_state", Reason::out_of_service_area,
       [](Lead& l, Campaign&, Buyer&) { l.state = "TX"; }, EvidenceVerdict::supports,
       "outside_coverage", true},
      {"outside_coverage_zip", Reason::out_of_service_area,
       [](Lead& l, Campaign&, Buyer&) { l.zip = "94105"; }, EvidenceVerdict::supports,
       "outside_coverage", true},
      {"inside_coverage", Reason::out_of_service_area, nothing, EvidenceVerdict::warns,
       "inside_coverage", false},
      {"inside_coverage_everywhere", Reason::out_of_service_area,
       [](Lead& l, Campaign&, Buyer& b) {
         l.state = "TX";
         b.coverage = Coverage{};
       },
       EvidenceVerdict::warns, "inside_coverage", false},
      {"other", Reason::other, nothing, EvidenceVerdict::none, "free_text", false},
  };
  for (const EvidenceRow& row : rows) {
    SCOPED_TRACE(row.name);
    MemoryState state;
    Buyer buyer = make_buyer("b1", Coverage{{"CA", "NV"}, {"900", "901"}});
    Campaign campaign = make_campaign("c1", "b1", "mva");
    Lead lead = make_lead("l1", "b1", "hash-1", kT0);
    row.arrange(lead, campaign, buyer);
    state.put(buyer);
    state.put(campaign);
    state.put(lead);
    Evidence ev = compute_evidence(row.reason, lead, campaign, buyer, state);
    EXPECT_EQ(ev.reason, row.reason) << row.name;
    EXPECT_EQ(ev.verdict, row.verdict) << row.name << ": got " << to_string(ev.verdict);
    EXPECT_EQ(ev.code, row.code) << row.name;
    EXPECT_EQ(ev.routing_alert, row.routing_alert) << row.name;
    EXPECT_FALSE(ev.sentence.empty()) << row.name;
  }
}

TEST(Evidence, RoutingAlertOnlyForSupportedOutOfServiceArea) {
  // Every reason on a lead outside coverage and with every other signal present: only
  // out_of_service_area raises the routing alert.
  MemoryState state;
  Buyer buyer = make_buyer("b1", Coverage{{"NY"}, {}});
  Campaign campaign = make_campaign("c1", "b1", "solar");
  Lead earlier = make_lead("l0", "b1", "hash-x", kT0 - 1000);
  Lead lead = make_lead("l1", "b1", "hash-x", kT0);
  lead.tcpa_flag = true;
  state.put(buyer);
  state.put(campaign);
  state.put(earlier);
  state.put(lead);
  for (Reason r : all_reasons()) {
    Evidence ev = compute_evidence(r, lead, campaign, buyer, state);
    EXPECT_EQ(ev.routing_alert, r == Reason::out_of_service_area) << to_string(r);
    EXPECT_EQ(ev.reason, r);
  }
}

TEST(Evidence, SentencesDifferByVerdict) {
  MemoryState state;
  Buyer buyer = make_buyer("b1");
  Campaign campaign = make_campaign("c1", "b1", "mva");
  Lead match = make_lead("l1", "b1", "h", kT0);
  Lead mismatch = make_lead("l2", "b1", "h2", kT0);
  mismatch.vertical = "solar";
  state.put(buyer);
  state.put(campaign);
  state.put(match);
  state.put(mismatch);
  auto a = compute_evidence(Reason::wrong_vertical, match, campaign, buyer, state);
  auto b = compute_evidence(Reason::wrong_vertical, mismatch, campaign, buyer, state);
  EXPECT_NE(a.sentence, b.sentence);
}

TEST(Evidence, VerdictNames) {
  EXPECT_EQ(to_string(EvidenceVerdict::supports), "supports");
  EXPECT_EQ(to_string(EvidenceVerdict::warns), "warns");
  EXPECT_EQ(to_string(EvidenceVerdict::cannot_verify), "cannot_verify");
  EXPECT_EQ(to_string(EvidenceVerdict::none), "none");
}

// ---------------------------------------------------------------------------------------------
// Duplicate: same contact_hash delivered to this buyer strictly earlier; ties by lead id.

class EvidenceDuplicate : public ::testing::Test {
 protected:
  void SetUp() override {
    state.put(make_buyer("b1"));
    state.put(make_buyer("b2"));
    state.put(make_campaign("c1", "b1", "mva"));
    state.put(make_campaign("c2", "b2", "mva"));
  }
  Lead add(std::string id, std::string buyer, std::string hash, Millis at) {
    Lead l = make_lead(std::move(id), std::move(buyer), std::move(hash), at);
    if (l.buyer_id == "b2") l.campaign_id = "c2";
    state.put(l);
    return l;
  }
  Evidence dup(const Lead& l) {
    const Buyer* b = state.find_buyer(l.buyer_id);
    const Campaign* c = state.find_campaign(l.campaign_id);
    EXPECT_NE(b, nullptr);
    EXPECT_NE(c, nullptr);
    return compute_evidence(Reason::duplicate, l, *c, *b, state);
  }
  void expect_supported(const Lead& l, bool supported) {
    Evidence ev = dup(l);
    if (supported) {
      EXPECT_EQ(ev.verdict, EvidenceVerdict::supports) << l.id;
      EXPECT_EQ(ev.code, "earlier_delivery") << l.id;
    } else {
      EXPECT_EQ(ev.verdict, EvidenceVerdict::cannot_verify) << l.id;
      EXPECT_EQ(ev.code, "other_source") << l.id;
    }
    EXPECT_FALSE(ev.routing_alert);
  }
  MemoryState state;
};

TEST_F(EvidenceDuplicate, EarlierDeliveryToSameBuyerSupports) {
  Lead first = add("l-first", "b1", "hash-a", kT0);
  Lead second = add("l-second", "b1", "hash-a", kT0 + 60'000);
  expect_supported(second, true);
  expect_supported(first, false);  // a later delivery does not make the first a duplicate
}

TEST_F(EvidenceDuplicate, EarlierByOneMillisecondSupports) {
  Lead first = add("l-z", "b1", "hash-a", kT0 - 1);  // id sorts last, but time decides
  Lead second = add("l-a", "b1", "hash-a", kT0);
  expect_supported(second, true);
  expect_supported(first, false);
}

TEST_F(EvidenceDuplicate, AnotherBuyersDeliveryDoesNotCount) {
  add("l-other", "b2", "hash-b", kT0 - 86'400'000);
  Lead mine = add("l-mine", "b1", "hash-b", kT0);
  expect_supported(mine, false);
}

TEST_F(EvidenceDuplicate, DifferentContactDoesNotCount) {
  add("l-1", "b1", "hash-c", kT0 - 1000);
  Lead l = add("l-2", "b1", "hash-d", kT0);
  expect_supported(l, false);
}

TEST_F(EvidenceDuplicate, ALeadIsNotItsOwnDuplicate) {
  Lead only = add("l-only", "b1", "hash-e", kT0);
  expect_supported(only, false);
}

TEST_F(EvidenceDuplicate, SameMillisecondTieBrokenByLeadId) {
  Lead a = add("lead-a", "b1", "hash-f", kT0);
  Lead b = add("lead-b", "b1", "hash-f", kT0);
  expect_supported(b, true);   // lead-a sorts first, so lead-b is the duplicate
  expect_supported(a, false);  // exactly one of the two
}

TEST_F(EvidenceDuplicate, DeliveredBeforeTable) {
  add("x1", "b1", "h", kT0);
  add("x2", "b1", "h", kT0);
  add("x3", "b1", "h", kT0 + 5);
  add("y1", "b2", "h", kT0 - 100);
  struct Row {
    const char* name;
    const char* buyer;
    const char* lead;
    Millis at;
    bool expected;
  };
  const Row rows[] = {
      {"x1_tie_sorts_first", "b1", "x1", kT0, false},
      {"x2_tie_sorts_second", "b1", "x2", kT0, true},
      {"x3_later", "b1", "x3", kT0 + 5, true},
      {"hypothetical_before_all", "b1", "x0", kT0 - 1, false},
      {"hypothetical_same_ms_sorting_before_x1", "b1", "x0", kT0, false},
      {"hypothetical_same_ms_sorting_after_x2", "b1", "x9", kT0, true},
      {"other_buyer_only_earlier", "b2", "y2", kT0 - 50, true},
      {"other_buyer_first", "b2", "y1", kT0 - 100, false},
      {"unknown_buyer", "b3", "z1", kT0 + 1'000'000, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(state.delivered_before(r.buyer, "h", r.lead, r.at), r.expected) << r.name;
  }
  EXPECT_FALSE(state.delivered_before("b1", "other-hash", "x3", kT0 + 5));
}

// ---------------------------------------------------------------------------------------------
// Coverage::covers: empty states = every state; zip prefixes narrow the state list.

TEST(Coverage, CoversTable) {
  struct Row {
    const char* name;
    Coverage cov;
    const char* state;
    const char* zip;
    bool covered;
  };
  const Row rows[] = {
      {"empty_covers_everything", {}, "TX", "75001", true},
      {"empty_covers_missing_zip", {}, "AK", "", true},
      {"state_listed", {{"CA", "NV"}, {}}, "NV", "89101", true},
      {"state_not_listed", {{"CA", "NV"}, {}}, "TX", "75001", false},
      {"state_listed_no_zip", {{"CA"}, {}}, "CA", "", true},
      {"zip_prefix_matches", {{"CA"}, {"900", "91"}}, "CA", "90012", true},
      {"second_zip_prefix_matches", {{"CA"}, {"900", "91"}}, "CA", "91101", true},
      {"zip_prefix_no_match", {{"CA"}, {"900", "91"}}, "CA", "93001", false},
      {"zip_prefix_does_not_add_other_state", {{"CA"}, {"900"}}, "NV", "90012", false},
      {"zip_prefixes_with_all_states", {{}, {"100"}}, "NY", "10001", true},
      {"zip_prefixes_with_all_states_no_match", {{}, {"100"}}, "CA", "90001", false},
      {"zip_prefix_full_five_digits", {{}, {"90012"}}, "CA", "90012", true},
      {"zip_prefix_longer_than_zip", {{}, {"90012"}}, "CA", "9001", false},
      {"missing_zip_with_prefixes", {{"CA"}, {"9"}}, "CA", "", false},
      {"prefix_is_prefix_not_substring", {{}, {"001"}}, "CA", "90012", false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(r.cov.covers(r.state, r.zip), r.covered) << r.name;
  }
}

}  // namespace
}  // namespace returns
