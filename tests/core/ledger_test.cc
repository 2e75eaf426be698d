// ledger_test.cc — the money side of returns (shared/core/ledger.h, docs/domain.md "Money"):
// the supplier charge-back rounding table, accept_entries per billing mode (ids, kinds, signs),
// reversal_entries (only unreversed originals), and Balances (idempotent apply, its return value,
// the sign conventions of every balance).
#include "core/ledger.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "test_world.h"

namespace returns {
namespace {

using namespace test_world;

// --- chargeback_for: −⌊cost × c ÷ price⌋ is written, chargeback_for gives the magnitude. ---------

struct ChargebackRow {
  const char* name;
  Money credit;
  Money price;
  Money cost;
  Money expected;
};

const ChargebackRow kChargebackRows[] = {
    {"full_credit_whole_cost", 10'000, 10'000, 4'000, 4'000},
    {"half_credit_half_cost", 5'000, 10'000, 4'000, 2'000},
    {"one_cent_rounds_down_to_zero", 1, 10'000, 4'000, 0},
    {"third_rounds_down", 3'333, 10'000, 4'000, 1'333},        // 1333.2
    {"almost_full_rounds_down", 9'999, 10'000, 4'000, 3'999},  // 3999.6
    {"one_of_three_cents", 1, 3, 2, 0},                        // 0.67
    {"two_of_three_cents", 2, 3, 2, 1},                        // 1.33
    {"three_of_three_cents_whole", 3, 3, 2, 2},
    {"zero_cost", 5'000, 10'000, 0, 0},
    {"cost_above_price_full_credit", 500, 500, 700, 700},  // the whole cost at full credit
    {"cost_above_price_partial", 250, 500, 701, 350},      // 350.5
    {"exact_division", 2'500, 10'000, 4'000, 1'000},
    {"one_cent_lead_full", 1, 1, 1, 1},
    // Inputs go up to 10^13 cents: cost × credit needs more than 64 bits and must stay exact.
    {"huge_half_rounds_down", 5'000'000'000'000, 10'000'000'000'000, 9'999'999'999'999,
     4'999'999'999'999},  // ...999.5
    {"huge_full_credit", 10'000'000'000'000, 10'000'000'000'000, 10'000'000'000'000,
     10'000'000'000'000},
    {"huge_one_cent_short", 9'999'999'999'999, 10'000'000'000'000, 10'000'000'000'000,
     9'999'999'999'999},
};

TEST(LedgerChargeback, RoundingTable) {
  for (const ChargebackRow& row : kChargebackRows) {
    EXPECT_EQ(chargeback_for(row.credit, row.price, row.cost), row.expected)
        << "row " << row.name << ": chargeback_for(credit=" << row.credit << ", price=" << row.price
        << ", cost=" << row.cost << ")";
  }
}

TEST(LedgerChargeback, NeverMoreThanTheRefundedShare) {
  // For every credit 1..price the supplier pays back at most cost × credit / price, and the
  // amount never decreases as the credit grows.
  const Money price = 997;
  const Money cost = 613;
  Money previous = 0;
  for (Money credit = 1; credit <= price; ++credit) {
    const Money cb = chargeback_for(credit, price, cost);
    EXPECT_LE(cb * price, cost * credit) << "credit " << credit;
    EXPECT_GT((cb + 1) * price, cost * credit) << "credit " << credit << " not rounded down";
    EXPECT_GE(cb, previous) << "credit " << credit;
    previous = cb;
  }
  EXPECT_EQ(previous, cost);
}

// --- accept_entries ---------------------------------------------------------------------------

struct AcceptFixture {
  ReturnCase ret;
  Lead lead;
  Buyer buyer;
};

AcceptFixture accept_fixture(Billing billing) {
  AcceptFixture f;
  f.buyer.id = billing == Billing::prepaid ? "B-pre" : "B-net";
  f.buyer.name = "Buyer";
  f.buyer.billing = billing;
  f.lead = make_lead("L-7", f.buyer.id, "S-9", "C-1", "CA", 10'000, 4'000, "h7");
  f.ret.id = "ret-42";
  f.ret.lead_id = f.lead.id;
  f.ret.buyer_id = f.buyer.id;
  f.ret.reason = Reason::bad_contact;
  f.ret.state = ReturnState::pending;
  f.ret.submitted_at = kT0 + kHour;
  return f;
}

struct AcceptEntriesRow {
  const char* name;
  Billing billing;
  Money credit;
  Money chargeback;
  int accept_number;
  // expected entries by kind and amount (ids are "ret-42#<n>/<kind>")
  std::vector<std::pair<EntryKind, Money>> expected;
};

const std::vector<AcceptEntriesRow>& accept_rows() {
  static const std::vector<AcceptEntriesRow> rows = {
      {"prepaid_full_no_chargeback",
       Billing::prepaid,
       10'000,
       0,
       1,
       {{EntryKind::revenue_reversal, -10'000}, {EntryKind::wallet_credit, 10'000}}},
      {"prepaid_full_chargeback",
       Billing::prepaid,
       10'000,
       4'000,
       1,
       {{EntryKind::revenue_reversal, -10'000},
        {EntryKind::wallet_credit, 10'000},
        {EntryKind::supplier_chargeback, -4'000}}},
      {"prepaid_partial_chargeback",
       Billing::prepaid,
       2'500,
       1'000,
       1,
       {{EntryKind::revenue_reversal, -2'500},
        {EntryKind::wallet_credit, 2'500},
        {EntryKind::supplier_chargeback, -1'000}}},
      {"net_terms_full_no_chargeback",
       Billing::net_terms,
       10'000,
       0,
       1,
       {{EntryKind::revenue_reversal, -10'000}, {EntryKind::invoice_adjustment, -10'000}}},
      {"net_terms_one_cent_no_chargeback",
       Billing::net_terms,
       1,
       0,
       1,
       {{EntryKind::revenue_reversal, -1}, {EntryKind::invoice_adjustment, -1}}},
      {"net_terms_full_chargeback_second_accept",
       Billing::net_terms,
       10'000,
       4'000,
       2,
       {{EntryKind::revenue_reversal, -10'000},
        {EntryKind::invoice_adjustment, -10'000},
        {EntryKind::supplier_chargeback, -4'000}}},
      {"prepaid_third_accept",
       Billing::prepaid,
       7'000,
       0,
       3,
       {{EntryKind::revenue_reversal, -7'000}, {EntryKind::wallet_credit, 7'000}}},
  };
  return rows;
}

std::string kind_name(EntryKind k) {
  switch (k) {
    case EntryKind::revenue_reversal:
      return "revenue_reversal";
    case EntryKind::wallet_credit:
      return "wallet_credit";
    case EntryKind::invoice_adjustment:
      return "invoice_adjustment";
    case EntryKind::supplier_chargeback:
      return "supplier_chargeback";
  }
  return "?";
}

TEST(LedgerAcceptEntries, PerBillingModeTable) {
  const Millis at = kT0 + 40 * kHour;
  for (const AcceptEntriesRow& row : accept_rows()) {
    SCOPED_TRACE(std::string("row ") + row.name);
    const AcceptFixture f = accept_fixture(row.billing);
    const std::vector<LedgerEntry> entries =
        accept_entries(f.ret, f.lead, f.buyer, row.credit, row.chargeback, row.accept_number, at);
    ASSERT_EQ(entries.size(), row.expected.size());
    for (const auto& [kind, amount] : row.expected) {
      SCOPED_TRACE("kind " + kind_name(kind));
      ASSERT_EQ(count_kind(entries, kind), 1);
      const LedgerEntry& e = *find_kind(entries, kind);
      EXPECT_EQ(e.id, "ret-42#" + std::to_string(row.accept_number) + "/" + kind_name(kind));
      EXPECT_EQ(e.amount_cents, amount);
      EXPECT_EQ(e.return_id, "ret-42");
      EXPECT_EQ(e.lead_id, "L-7");
      EXPECT_EQ(e.buyer_id, f.buyer.id);
      EXPECT_EQ(e.at, at);
      EXPECT_TRUE(e.reverses.empty());
      if (kind == EntryKind::supplier_chargeback) {
        EXPECT_EQ(e.supplier_id, "S-9");
      }
    }
    // A prepaid buyer never gets an invoice adjustment and a net-terms buyer never a wallet
    // credit.
    EXPECT_EQ(count_kind(entries, row.billing == Billing::prepaid ? EntryKind::invoice_adjustment
                                                                  : EntryKind::wallet_credit),
              0);
  }
}

TEST(LedgerAcceptEntries, DeterministicIds) {
  const AcceptFixture f = accept_fixture(Billing::prepaid);
  const auto a = accept_entries(f.ret, f.lead, f.buyer, 10'000, 4'000, 1, kT0 + 50 * kHour);
  const auto b = accept_entries(f.ret, f.lead, f.buyer, 10'000, 4'000, 1, kT0 + 50 * kHour);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a, b);
  // A different accept number gives different ids for every entry.
  const auto c = accept_entries(f.ret, f.lead, f.buyer, 10'000, 4'000, 2, kT0 + 50 * kHour);
  ASSERT_EQ(c.size(), 3u);
  for (const LedgerEntry& x : a) {
    for (const LedgerEntry& y : c) EXPECT_NE(x.id, y.id);
  }
}

// --- reversal_entries -------------------------------------------------------------------------

LedgerEntry entry(std::string id, EntryKind kind, Money amount, std::string reverses = "") {
  LedgerEntry e;
  e.id = std::move(id);
  e.kind = kind;
  e.return_id = "ret-1";
  e.lead_id = "L-1";
  e.buyer_id = "B-1";
  e.supplier_id = kind == EntryKind::supplier_chargeback ? "S-1" : "";
  e.amount_cents = amount;
  e.at = kT0;
  e.reverses = std::move(reverses);
  return e;
}

const LedgerEntry kRev1 = entry("ret-1#1/revenue_reversal", EntryKind::revenue_reversal, -900);
const LedgerEntry kWal1 = entry("ret-1#1/wallet_credit", EntryKind::wallet_credit, 900);
const LedgerEntry kChb1 =
    entry("ret-1#1/supplier_chargeback", EntryKind::supplier_chargeback, -300);
LedgerEntry reversal_of(const LedgerEntry& e) {
  return entry(e.id + "/reversal", e.kind, -e.amount_cents, e.id);
}

struct ReversalRow {
  const char* name;
  std::vector<LedgerEntry> input;
  std::vector<std::string> expected_reversed;  // ids of the originals that get reversed
};

TEST(LedgerReversalEntries, OnlyUnreversedOriginals) {
  const LedgerEntry rev2 = entry("ret-1#2/revenue_reversal", EntryKind::revenue_reversal, -500);
  const LedgerEntry wal2 = entry("ret-1#2/wallet_credit", EntryKind::wallet_credit, 500);
  const std::vector<ReversalRow> rows = {
      {"empty", {}, {}},
      {"all_three_of_one_accept", {kRev1, kWal1, kChb1}, {kRev1.id, kWal1.id, kChb1.id}},
      {"one_already_reversed", {kRev1, kWal1, kChb1, reversal_of(kWal1)}, {kRev1.id, kChb1.id}},
      {"all_reversed", {kRev1, kWal1, reversal_of(kRev1), reversal_of(kWal1)}, {}},
      {"reversals_only", {reversal_of(kRev1)}, {}},
      {"second_accept_after_reopen",
       {kRev1, kWal1, reversal_of(kRev1), reversal_of(kWal1), rev2, wal2},
       {rev2.id, wal2.id}},
  };
  const Millis at = kT0 + 99 * kHour;
  for (const ReversalRow& row : rows) {
    SCOPED_TRACE(std::string("row ") + row.name);
    const std::vector<LedgerEntry> out = reversal_entries(row.input, at);
    ASSERT_EQ(out.size(), row.expected_reversed.size());
    for (const std::string& original_id : row.expected_reversed) {
      SCOPED_TRACE("reversing " + original_id);
      const LedgerEntry* original = nullptr;
      for (const LedgerEntry& e : row.input) {
        if (e.id == original_id) original = &e;
      }
      ASSERT_NE(original, nullptr);
      const LedgerEntry* rev = nullptr;
      for (const LedgerEntry& e : out) {
        if (e.reverses == original_id) rev = &e;
      }
      ASSERT_NE(rev, nullptr) << "no reversal for " << original_id;
      EXPECT_EQ(rev->id, original_id + "/reversal");
      EXPECT_EQ(rev->kind, original->kind);
      EXPECT_EQ(rev->amount_cents, -original->amount_cents);
      EXPECT_EQ(rev->return_id, original->return_id);
      EXPECT_EQ(rev->lead_id, original->lead_id);
      EXPECT_EQ(rev->buyer_id, original->buyer_id);
      EXPECT_EQ(rev->supplier_id, original->supplier_id);
      EXPECT_EQ(rev->at, at);
    }
  }
}

// --- Balances ---------------------------------------------------------------------------------

TEST(LedgerBalances, ApplyCountsNewEntriesAndIgnoresSeenIds) {
  Balances b;
  const std::vector<LedgerEntry> accept = {kRev1, kWal1, kChb1};
  EXPECT_EQ(b.apply(accept), 3);
  EXPECT_EQ(b.entry_count(), 3u);
  EXPECT_EQ(b.apply(accept), 0);  // same ids: nothing moves
  EXPECT_EQ(b.entry_count(), 3u);
  EXPECT_EQ(b.wallet("B-1"), 900);
  EXPECT_EQ(b.revenue_reversed(), -900);
  EXPECT_EQ(b.revenue_reversed_for("L-1"), -900);
  EXPECT_EQ(b.chargebacks("S-1"), -300);

  // A batch holding one new entry and one seen entry counts only the new one.
  const std::vector<LedgerEntry> mixed = {kWal1, reversal_of(kWal1)};
  EXPECT_EQ(b.apply(mixed), 1);
  EXPECT_EQ(b.wallet("B-1"), 0);
  EXPECT_EQ(b.entry_count(), 4u);

  // The same id twice within one batch counts once.
  Balances c;
  const std::vector<LedgerEntry> twice = {kWal1, kWal1};
  EXPECT_EQ(c.apply(twice), 1);
  EXPECT_EQ(c.wallet("B-1"), 900);

  // An empty batch.
  EXPECT_EQ(c.apply(std::span<const LedgerEntry>{}), 0);
}

TEST(LedgerBalances, SameIdWithDifferentAmountIsStillIgnored) {
  // Ids identify entries: a second entry under a seen id never moves money.
  Balances b;
  const std::vector<LedgerEntry> first = {kWal1};
  ASSERT_EQ(b.apply(first), 1);
  LedgerEntry forged = kWal1;
  forged.amount_cents = 123'456;
  const std::vector<LedgerEntry> second = {forged};
  EXPECT_EQ(b.apply(second), 0);
  EXPECT_EQ(b.wallet("B-1"), 900);
}

TEST(LedgerBalances, SignConventionsPerBillingMode) {
  // Sign conventions from ledger.h: revenue_reversal −credit, wallet_credit +credit,
  // invoice_adjustment −credit, supplier_chargeback −chargeback.
  const Millis at = kT0 + 10 * kHour;
  const AcceptFixture pre = accept_fixture(Billing::prepaid);
  AcceptFixture net = accept_fixture(Billing::net_terms);
  net.ret.id = "ret-43";
  net.lead.id = "L-8";
  net.ret.lead_id = "L-8";

  Balances b;
  const auto pre_entries = accept_entries(pre.ret, pre.lead, pre.buyer, 6'000, 2'400, 1, at);
  const auto net_entries = accept_entries(net.ret, net.lead, net.buyer, 10'000, 0, 1, at);
  EXPECT_EQ(b.apply(pre_entries), 3);
  EXPECT_EQ(b.apply(net_entries), 2);

  EXPECT_EQ(b.wallet("B-pre"), 6'000);  // prepaid: wallet credited
  EXPECT_EQ(b.accrued_adjustment("B-pre"), 0);
  EXPECT_EQ(b.wallet("B-net"), 0);
  EXPECT_EQ(b.accrued_adjustment("B-net"), -10'000);  // net terms: accrued spend reduced
  EXPECT_EQ(b.revenue_reversed(), -16'000);
  EXPECT_LE(b.revenue_reversed(), 0);
  EXPECT_EQ(b.revenue_reversed_for("L-7"), -6'000);
  EXPECT_EQ(b.revenue_reversed_for("L-8"), -10'000);
  EXPECT_EQ(b.chargebacks("S-9"), -2'400);
  // Unknown keys are zero.
  EXPECT_EQ(b.wallet("nobody"), 0);
  EXPECT_EQ(b.accrued_adjustment("nobody"), 0);
  EXPECT_EQ(b.revenue_reversed_for("no-lead"), 0);
  EXPECT_EQ(b.chargebacks("no-supplier"), 0);

  // Reversing everything brings every balance back to zero.
  std::vector<LedgerEntry> all = pre_entries;
  all.insert(all.end(), net_entries.begin(), net_entries.end());
  const auto reversals = reversal_entries(all, at + kHour);
  EXPECT_EQ(b.apply(reversals), 5);
  EXPECT_EQ(b.apply(reversals), 0);
  EXPECT_EQ(b.wallet("B-pre"), 0);
  EXPECT_EQ(b.accrued_adjustment("B-net"), 0);
  EXPECT_EQ(b.revenue_reversed(), 0);
  EXPECT_EQ(b.revenue_reversed_for("L-7"), 0);
  EXPECT_EQ(b.chargebacks("S-9"), 0);
  EXPECT_EQ(b.entry_count(), 10u);
}

}  // namespace
}  // namespace returns
