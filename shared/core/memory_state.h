// memory_state.h — a complete in-memory CaseView that can commit Effects: the reference model
// for tests, golden vectors and the deterministic simulation. No I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/decision_facts.h"
#include "core/lifecycle.h"

namespace returns {

class MemoryState final : public CaseView {
 public:
  // World JSON: {"buyers":[...], "suppliers":[...], "campaigns":[...], "leads":[...],
  //              "returns":[...], "ledger":[...]} — every key optional.
  static Result<MemoryState> from_json(const Json& world);
  Json to_json() const;  // same shape, plus "balances"

  void put(Buyer b) { buyers_[b.id] = std::move(b); }
  void put(Supplier s) { suppliers_[s.id] = std::move(s); }
  void put(Campaign c) { campaigns_[c.id] = std::move(c); }
  void put(Lead l) { leads_[l.id] = std::move(l); }
  void put(ReturnCase r) { returns_[r.id] = std::move(r); }

  // Writes an op's effects: rows replaced, ledger appended idempotently, messages appended.
  void commit(const Effects& effects);

  // CaseView
  const Lead* find_lead(const std::string& id) const override;
  const Campaign* find_campaign(const std::string& id) const override;
  const Buyer* find_buyer(const std::string& id) const override;
  const Supplier* find_supplier(const std::string& id) const override;
  const ReturnCase* find_return(const std::string& id) const override;
  std::vector<ReturnCase> returns_for_lead(const std::string& lead_id) const override;
  std::vector<LedgerEntry> ledger_for_return(const std::string& return_id) const override;
  RateCounts trailing_counts(const std::string& buyer_id, Millis now, int days) const override;
  int auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                           std::int64_t day) const override;
  bool delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                        const std::string& lead_id, Millis delivered_at) const override;

  // The decision-facts rows a replica of this state holds (core/decision_facts.h): one per buyer
  // and UTC day with leads or auto-accepts.
  std::vector<BuyerDay> buyer_days() const;
  // The lead with the fields the server derives (earlier_delivery) set from this state.
  Lead with_derived(const Lead& lead) const;
  // What a server holding this state ships to an operator's replica: the world (to_json without
  // balances) with the derived lead fields set and the decision-facts rows as "buyer_days".
  Json replica_world() const;

  const std::map<std::string, Lead>& leads() const { return leads_; }
  const std::map<std::string, ReturnCase>& returns() const { return returns_; }
  const std::vector<LedgerEntry>& ledger() const { return ledger_; }
  const std::vector<Message>& messages() const { return messages_; }
  const Balances& balances() const { return balances_; }

 private:
  std::map<std::string, Buyer> buyers_;
  std::map<std::string, Supplier> suppliers_;
  std::map<std::string, Campaign> campaigns_;
  std::map<std::string, Lead> leads_;
  std::map<std::string, ReturnCase> returns_;
  std::vector<LedgerEntry> ledger_;
  std::vector<Message> messages_;
  Balances balances_;
};

}  // namespace returns
