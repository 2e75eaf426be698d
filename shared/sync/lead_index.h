// lead_index.h — the sync engine's index of the replica's lead rows, so that its optimistic view
// answers the two lead questions of the core (CaseView::trailing_counts, core/lifecycle.h;
// DeliveryHistory::delivered_before, core/evidence.h) without reading every lead of the buyer:
// per buyer, lead counts per UTC day and delivery times per contact hash.
//
// Answers equal a scan of the buyer's lead rows (rows whose ref is the buyer id; text that is not
// JSON and rows marked deleted skipped; a missing or mistyped field reads as 0 or "") in which
// `overrides` — the rows pending ops wrote in the optimistic view — replace the rows they name.
// The engine keeps it in step with every replica write (apply); it is built from the replica on
// the first question. No I/O beyond reading the replica.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "core/codec.h"
#include "core/policy.h"
#include "sync/replica.h"

namespace returns::sync {

// Lead rows of the optimistic view that differ from the replica: replica id → the row, or nothing
// when the lead is absent there.
using LeadOverrides = std::map<std::string, std::optional<Json>>;

class LeadIndex {
 public:
  // Called for a lead row whose text is not JSON (once per build; the engine deduplicates).
  using BadRow = std::function<void(std::string_view id, const Error& error)>;

  // The replica must outlive the index.
  LeadIndex(const Replica& replica, BadRow on_bad_row);

  // After `batch` was written to the replica: the index follows it.
  void apply(const WriteBatch& batch);

  RateCounts trailing_counts(const std::string& buyer_id, Millis now, int days,
                             const LeadOverrides& overrides) const;
  bool delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                        const std::string& lead_id, Millis delivered_at,
                        const LeadOverrides& overrides) const;

 private:
  // What the two questions read of one lead row.
  struct Entry {
    std::string buyer_id;  // the row's ref
    std::string lead_id;   // the row's "id" field (ties in delivered_before)
    Millis delivered_at = 0;
    bool returned = false;
    std::string contact_hash;
  };
  struct PerBuyer {
    std::map<std::int64_t, RateCounts> by_day;
    // contact hash → (delivered_at, lead id, replica id), ascending.
    std::unordered_map<std::string, std::set<std::tuple<Millis, std::string, std::string>>> by_hash;
  };

  static Entry entry_of(std::string buyer_id, const Json& row);
  void build() const;
  void put(const std::string& id, Entry e) const;
  void remove(const std::string& id) const;

  const Replica& replica_;
  BadRow on_bad_row_;
  // Built lazily: a cache of the replica's rows.
  mutable bool built_ = false;
  mutable std::unordered_map<std::string, PerBuyer> buyers_;
  mutable std::unordered_map<std::string, Entry> by_id_;  // replica id → entry
};

}  // namespace returns::sync
