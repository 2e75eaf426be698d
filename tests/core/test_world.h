// test_world.h — a small MemoryState world for the lifecycle and ledger suites: buyers (prepaid,
// net terms, another buyer), suppliers with and without pass_through_returns, campaigns, leads,
// and helpers that put a return straight into any state or apply-and-commit an op.
// Shared by tests/core/lifecycle_test.cc, ledger_test.cc and review_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "core/ledger.h"
#include "core/lifecycle.h"
#include "core/memory_state.h"

namespace returns::test_world {

// Most leads were delivered at kT0 (2023-11-14T22:13:20Z).
inline constexpr Millis kT0 = 1'700'000'000'000;
inline constexpr Millis kHour = kMillisPerHour;
// Inside the default policy's 24 h auto-accept rule.
inline constexpr Millis kAutoNow = kT0 + 5 * kHour;
// Past the 24 h rule, inside the 168 h window: the default policy sends it to manual review.
inline constexpr Millis kManualNow = kT0 + 30 * kHour;

// Buyers.
inline const std::string kPrepaid = "B-pre";   // prepaid, default policy, covers CA only
inline const std::string kNetTerms = "B-net";  // net terms, default policy, covers every state
inline const std::string kOtherBuyer = "B-oth";
// Suppliers.
inline const std::string kPassSupplier = "S-pass";  // pass_through_returns = true
inline const std::string kKeepSupplier = "S-keep";  // pass_through_returns = false
// Leads of kPrepaid (price 10000, cost 4000, delivered kT0, in CA).
inline const std::string kLeadKeep = "L-keep";    // supplier S-keep
inline const std::string kLeadPass = "L-pass";    // supplier S-pass
inline const std::string kLeadSpare = "L-spare";  // supplier S-keep
inline const std::string kLeadOutside = "L-nv";   // in NV: outside kPrepaid's coverage
// Lead of kNetTerms (price 8000, cost 3000, supplier S-pass).
inline const std::string kLeadNet = "L-net";
// Lead of kOtherBuyer (price 5000, cost 2000, supplier S-keep).
inline const std::string kLeadOther = "L-oth";

inline constexpr Money kPrice = 10'000;
inline constexpr Money kCost = 4'000;
inline constexpr Money kNetPrice = 8'000;
inline constexpr Money kNetCost = 3'000;

inline const std::string kOperatorSubject = "op-alice";

inline Actor op_actor() { return Actor::operator_(kOperatorSubject); }
inline Actor buyer_actor(const std::string& id) { return Actor::buyer(id, "user-" + id); }

inline Lead make_lead(std::string id, std::string buyer_id, std::string supplier_id,
                      std::string campaign_id, std::string state, Money price, Money cost,
                      std::string contact_hash) {
  Lead l;
  l.id = std::move(id);
  l.buyer_id = std::move(buyer_id);
  l.supplier_id = std::move(supplier_id);
  l.campaign_id = std::move(campaign_id);
  l.vertical = "mva";
  l.state = std::move(state);
  l.zip = l.state == "CA" ? "90001" : "89101";
  l.contact_hash = std::move(contact_hash);
  l.tcpa_flag = false;
  l.price_cents = price;
  l.cost_cents = cost;
  l.delivered_at = kT0;
  l.status = LeadStatus::accepted;
  return l;
}

inline MemoryState make_world() {
  MemoryState st;
  Buyer pre;
  pre.id = kPrepaid;
  pre.name = "Prepaid Law Group";
  pre.billing = Billing::prepaid;
  pre.coverage.states = {"CA"};
  pre.policy = default_policy();
  st.put(pre);

  Buyer net;
  net.id = kNetTerms;
  net.name = "Net Terms Injury";
  net.billing = Billing::net_terms;
  net.policy = default_policy();
  st.put(net);

  Buyer oth;
  oth.id = kOtherBuyer;
  oth.name = "Other Buyer LLC";
  oth.billing = Billing::prepaid;
  oth.policy = default_policy();
  st.put(oth);

  st.put(Supplier{kPassSupplier, "Pass Media", true});
  st.put(Supplier{kKeepSupplier, "Keep Media", false});

  st.put(Campaign{"C-pre", kPrepaid, "mva", kPrice});
  st.put(Campaign{"C-net", kNetTerms, "mva", kNetPrice});
  st.put(Campaign{"C-oth", kOtherBuyer, "mva", 5'000});

  st.put(make_lead(kLeadKeep, kPrepaid, kKeepSupplier, "C-pre", "CA", kPrice, kCost, "h-keep"));
  st.put(make_lead(kLeadPass, kPrepaid, kPassSupplier, "C-pre", "CA", kPrice, kCost, "h-pass"));
  st.put(make_lead(kLeadSpare, kPrepaid, kKeepSupplier, "C-pre", "CA", kPrice, kCost, "h-spare"));
  st.put(make_lead(kLeadOutside, kPrepaid, kKeepSupplier, "C-pre", "NV", kPrice, kCost, "h-nv"));
  st.put(
      make_lead(kLeadNet, kNetTerms, kPassSupplier, "C-net", "CA", kNetPrice, kNetCost, "h-net"));
  st.put(make_lead(kLeadOther, kOtherBuyer, kKeepSupplier, "C-oth", "CA", 5'000, 2'000, "h-oth"));
  return st;
}

inline void set_buyer_policy(MemoryState& st, const std::string& buyer_id, Policy policy) {
  Buyer b = *st.find_buyer(buyer_id);
  b.policy = std::move(policy);
  st.put(b);
}

// Puts return `id` for `lead_id` into `state` directly, as if it had got there the normal way:
// a draft has no submitted_at; a decided return has a decision; an accepted one has accept 1's
// ledger entries (full price, supplier default charge-back) and its lead RETURNED.
inline ReturnCase put_return(MemoryState& st, const std::string& id, const std::string& lead_id,
                             ReturnState state, Millis at = kT0 + 26 * kHour,
                             Reason reason = Reason::bad_contact) {
  const Lead lead = *st.find_lead(lead_id);
  ReturnCase r;
  r.id = id;
  r.lead_id = lead_id;
  r.buyer_id = lead.buyer_id;
  r.reason = reason;
  r.state = state;
  r.drafted_at = at - kHour;
  r.submitted_at = state == ReturnState::draft ? 0 : at;
  r.updated_at = at;
  if (state == ReturnState::rejected) {
    r.decision = Decision{kOperatorSubject, at, "Contact reached on first call.", 0, false, 0};
  }
  if (state == ReturnState::accepted) {
    const Supplier* sup = st.find_supplier(lead.supplier_id);
    const bool charge = sup != nullptr && sup->pass_through_returns;
    const Money cb = charge ? lead.cost_cents : 0;
    r.decision = Decision{kOperatorSubject, at, "", lead.price_cents, charge, cb};
    r.accept_count = 1;
    Lead returned = lead;
    returned.status = LeadStatus::returned;
    Effects e;
    e.op = OpKind::accept_return;
    e.ret = r;
    e.lead = returned;
    e.ledger = accept_entries(r, lead, *st.find_buyer(lead.buyer_id), lead.price_cents, cb, 1, at);
    st.commit(e);
  }
  st.put(r);
  return r;
}

// "ok" or "CODE: message" — for failure messages.
inline std::string describe(const Result<Effects>& r) {
  if (r.ok()) {
    std::ostringstream os;
    os << "ok";
    if (r->ret) os << " (state " << to_string(r->ret->state) << ")";
    if (r->return_deleted) os << " (deleted)";
    return os.str();
  }
  return std::string(to_string(r.error().code)) + ": " + r.error().message;
}

// Passes when `r` is a refusal with exactly `want`.
inline ::testing::AssertionResult Refused(const Result<Effects>& r, ErrorCode want) {
  if (!r.ok() && r.error().code == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected refusal " << to_string(want) << ", got " << describe(r);
}

// Passes when `r` is allowed.
inline ::testing::AssertionResult Allowed(const Result<Effects>& r) {
  if (r.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected the op to be allowed, got " << describe(r);
}

// Applies `args` as `actor` at `now` and commits the effects when allowed.
inline Result<Effects> apply_commit(MemoryState& st, const Actor& actor, const OpArgs& args,
                                    Millis now) {
  Result<Effects> r = apply_op(actor, args, st, now);
  if (r.ok()) st.commit(r.value());
  return r;
}

// Finds the entry of `kind` in `entries`; nullptr when absent.
template <class Entries>
const LedgerEntry* find_kind(const Entries& entries, EntryKind kind) {
  for (const LedgerEntry& e : entries) {
    if (e.kind == kind) return &e;
  }
  return nullptr;
}

template <class Entries>
int count_kind(const Entries& entries, EntryKind kind) {
  int n = 0;
  for (const LedgerEntry& e : entries) n += e.kind == kind ? 1 : 0;
  return n;
}

}  // namespace returns::test_world
