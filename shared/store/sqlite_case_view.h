// sqlite_case_view.h — the core's CaseView answered from the authoritative SQLite tables.
// Rows are decoded on first use and cached until invalidate() or forget_*(); after every op it
// writes the store forgets the rows that op changed, so the core always sees the state as of the
// previous op in the batch (and reference data stays decoded across ops).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/lifecycle.h"
#include "store/sqlite_db.h"

namespace returns::store {

class SqliteCaseView final : public CaseView {
 public:
  explicit SqliteCaseView(Database& db) : db_(db) {}

  void invalidate();
  // Drops one cached lead (after it was inserted or changed) and keeps the rest.
  void forget_lead(const std::string& id) { leads_.erase(id); }
  void forget_return(const std::string& id) { returns_.erase(id); }

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
  // The lead's stored earlier_delivery flag (the fact the replica holds too); the index query
  // below for a lead that is not stored.
  bool delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                        const std::string& lead_id, Millis delivered_at) const override;
  // The rule itself over the leads table (ingest uses it to set the flag).
  bool delivered_before_by_index(const std::string& buyer_id, const std::string& contact_hash,
                                 const std::string& lead_id, Millis delivered_at) const;

  // Reads one lead row from a statement whose columns follow kLeadColumns.
  static Lead read_lead(const Statement& st, int first_column);
  static constexpr const char* kLeadColumns =
      "id, buyer_id, supplier_id, campaign_id, vertical, state, zip, contact_hash, tcpa_flag, "
      "price_cents, cost_cents, delivered_at, status, earlier_delivery, changed_at";

 private:
  Database& db_;
  // Cached decoded rows; nullopt caches a miss. unique_ptr keeps addresses stable.
  mutable std::map<std::string, std::unique_ptr<Lead>> leads_;
  mutable std::map<std::string, std::unique_ptr<Campaign>> campaigns_;
  mutable std::map<std::string, std::unique_ptr<Buyer>> buyers_;
  mutable std::map<std::string, std::unique_ptr<Supplier>> suppliers_;
  mutable std::map<std::string, std::unique_ptr<ReturnCase>> returns_;
};

}  // namespace returns::store
