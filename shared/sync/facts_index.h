// facts_index.h — the decision facts in the client's replica (core/decision_facts.h), indexed for
// the engine's optimistic view: the buyer's per-day rows (entity "buyer_day": leads sold, returned,
// auto-accepted per rule) by buyer and day, so CaseView::trailing_counts and auto_accepted_on_day
// read ~30 rows, never the leads. The rows are the server's; the pending ops laid over them in the
// optimistic view (a return accepted or reopened locally) are added as deltas, read from the rows
// they override, so a preview counts what the server will count once those ops are applied.
//
// Kept in step with every replica write (apply); built from the replica on the first question.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/decision_facts.h"
#include "sync/replica.h"

namespace returns::sync {

// Rows of the optimistic view that differ from the replica: replica id → the row, or nothing when
// it is absent there (per entity).
using RowOverrides = std::map<std::string, std::optional<Json>>;

class FactsIndex {
 public:
  // Called for a buyer_day row that does not decode (once per build; the engine deduplicates).
  using BadRow = std::function<void(std::string_view id, const Error& error)>;

  // The replica must outlive the index.
  FactsIndex(const Replica& replica, BadRow on_bad_row);

  // After `batch` was written to the replica: the index follows it.
  void apply(const WriteBatch& batch);

  // The buyer's sold/returned counts over the `days` UTC days ending with now's day, with the
  // optimistic lead rows' status changes on top.
  RateCounts trailing_counts(const std::string& buyer_id, Millis now, int days,
                             const RowOverrides& leads) const;
  // Returns auto-accepted by `rule_id` on `day`, with the optimistic return rows on top.
  int auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                           std::int64_t day, const RowOverrides& returns) const;

 private:
  void build() const;
  void put(const std::string& id, const std::string& text) const;
  void remove(const std::string& id) const;

  const Replica& replica_;
  BadRow on_bad_row_;
  mutable bool built_ = false;
  mutable std::unordered_map<std::string, std::map<std::int64_t, BuyerDay>> buyers_;
  mutable std::unordered_map<std::string, std::pair<std::string, std::int64_t>> by_id_;
};

}  // namespace returns::sync
