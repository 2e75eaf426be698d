// ledger.cc — ledger entries for accepts and reopens, and idempotent balances.
#include "core/ledger.h"

#include <set>

namespace returns {

std::string_view to_string(EntryKind k) {
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
  return "";
}

std::optional<EntryKind> entry_kind_from_string(std::string_view s) {
  for (EntryKind k : {EntryKind::revenue_reversal, EntryKind::wallet_credit,
                      EntryKind::invoice_adjustment, EntryKind::supplier_chargeback}) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

Money chargeback_for(Money credit_cents, Money price_cents, Money cost_cents) {
  if (credit_cents <= 0 || cost_cents <= 0 || price_cents <= 0) return 0;
  if (credit_cents >= price_cents) return cost_cents;
  // Both factors are below 10^13, but their product may not fit in int64: use 128 bits.
  __extension__ typedef __int128 Wide;
  const Wide scaled = static_cast<Wide>(cost_cents) * credit_cents / price_cents;
  return static_cast<Money>(scaled);
}

std::vector<LedgerEntry> accept_entries(const ReturnCase& ret, const Lead& lead, const Buyer& buyer,
                                        Money credit_cents, Money chargeback_cents,
                                        int accept_number, Millis at) {
  std::vector<LedgerEntry> out;
  auto add = [&](EntryKind kind, Money amount) {
    LedgerEntry e;
    e.id = ret.id + "#" + std::to_string(accept_number) + "/" + std::string(to_string(kind));
    e.kind = kind;
    e.return_id = ret.id;
    e.lead_id = lead.id;
    e.buyer_id = lead.buyer_id;
    e.supplier_id = lead.supplier_id;
    e.amount_cents = amount;
    e.at = at;
    out.push_back(std::move(e));
  };
  add(EntryKind::revenue_reversal, -credit_cents);
  if (buyer.billing == Billing::prepaid) {
    add(EntryKind::wallet_credit, credit_cents);
  } else {
    add(EntryKind::invoice_adjustment, -credit_cents);
  }
  if (chargeback_cents > 0) add(EntryKind::supplier_chargeback, -chargeback_cents);
  return out;
}

std::vector<LedgerEntry> reversal_entries(std::span<const LedgerEntry> entries, Millis at) {
  std::set<std::string> reversed;
  for (const LedgerEntry& e : entries) {
    if (!e.reverses.empty()) reversed.insert(e.reverses);
  }
  std::vector<LedgerEntry> out;
  for (const LedgerEntry& e : entries) {
    if (!e.reverses.empty() || reversed.count(e.id) != 0) continue;
    LedgerEntry r = e;
    r.id = e.id + "/reversal";
    r.amount_cents = -e.amount_cents;
    r.at = at;
    r.reverses = e.id;
    out.push_back(std::move(r));
  }
  return out;
}

int Balances::apply(std::span<const LedgerEntry> entries) {
  int added = 0;
  for (const LedgerEntry& e : entries) {
    if (!seen_.insert(e.id).second) continue;
    ++added;
    switch (e.kind) {
      case EntryKind::revenue_reversal:
        revenue_reversed_ += e.amount_cents;
        reversed_by_lead_[e.lead_id] += e.amount_cents;
        break;
      case EntryKind::wallet_credit:
        wallet_[e.buyer_id] += e.amount_cents;
        break;
      case EntryKind::invoice_adjustment:
        accrued_[e.buyer_id] += e.amount_cents;
        break;
      case EntryKind::supplier_chargeback:
        chargeback_[e.supplier_id] += e.amount_cents;
        break;
    }
  }
  return added;
}

namespace {
Money lookup(const std::map<std::string, Money>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}
}  // namespace

Money Balances::wallet(const std::string& buyer_id) const { return lookup(wallet_, buyer_id); }
Money Balances::accrued_adjustment(const std::string& buyer_id) const {
  return lookup(accrued_, buyer_id);
}
Money Balances::revenue_reversed() const { return revenue_reversed_; }
Money Balances::revenue_reversed_for(const std::string& lead_id) const {
  return lookup(reversed_by_lead_, lead_id);
}
Money Balances::chargebacks(const std::string& supplier_id) const {
  return lookup(chargeback_, supplier_id);
}

}  // namespace returns
