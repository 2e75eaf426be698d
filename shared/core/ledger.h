// ledger.h — the money side of returns (docs/domain.md): the append-only entries an accept writes,
// the reversal entries a reopen writes, and balances that apply entries idempotently by id.
//
// Sign conventions (amounts are cents):
//   revenue_reversal     −credit        on the revenue account of the lead
//   wallet_credit        +credit        prepaid buyer's wallet balance
//   invoice_adjustment   −credit        net-terms buyer's accrued spend
//   supplier_chargeback  −chargeback    the supplier's payout for the lead
// A reversal entry has the same kind, the negated amount, and `reverses` = the original's id.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/domain.h"

namespace returns {

enum class EntryKind { revenue_reversal, wallet_credit, invoice_adjustment, supplier_chargeback };
std::string_view to_string(EntryKind);
std::optional<EntryKind> entry_kind_from_string(std::string_view);

struct LedgerEntry {
  std::string id;  // "<return id>#<accept number>/<kind>", reversals add "/reversal"
  EntryKind kind = EntryKind::revenue_reversal;
  std::string return_id;
  std::string lead_id;
  std::string buyer_id;
  std::string supplier_id;
  Money amount_cents = 0;
  Millis at = 0;
  std::string reverses;  // id of the entry this one reverses, empty otherwise
  friend bool operator==(const LedgerEntry&, const LedgerEntry&) = default;
};

// Supplier charge-back for a (possibly partial) credit: the lead's cost scaled by
// credit / price, rounded down; the full cost when credit == price.
Money chargeback_for(Money credit_cents, Money price_cents, Money cost_cents);

// Entries for the `accept_number`-th accept of `ret` (1-based). Deterministic ids: computing the
// same accept twice yields the same ids, so applying both moves money once.
std::vector<LedgerEntry> accept_entries(const ReturnCase& ret, const Lead& lead, const Buyer& buyer,
                                        Money credit_cents, Money chargeback_cents,
                                        int accept_number, Millis at);

// Reversals for every entry in `entries` that is not itself a reversal and is not yet reversed
// within `entries`.
std::vector<LedgerEntry> reversal_entries(std::span<const LedgerEntry> entries, Millis at);

// Running balances. apply() ignores entries whose id it has already seen.
class Balances {
 public:
  // Returns how many entries were new.
  int apply(std::span<const LedgerEntry> entries);
  Money wallet(const std::string& buyer_id) const;              // sum of wallet_credit
  Money accrued_adjustment(const std::string& buyer_id) const;  // sum of invoice_adjustment
  Money revenue_reversed() const;                               // sum of revenue_reversal (<= 0)
  Money revenue_reversed_for(const std::string& lead_id) const;
  Money chargebacks(const std::string& supplier_id) const;  // sum of supplier_chargeback
  std::size_t entry_count() const { return seen_.size(); }

 private:
  std::set<std::string> seen_;
  std::map<std::string, Money> wallet_, accrued_, chargeback_, reversed_by_lead_;
  Money revenue_reversed_ = 0;
};

}  // namespace returns
