// lead_index.cc — per-buyer day counts and contact hashes over the replica's lead rows, for the
// engine's optimistic view (lead_index.h).
#include "sync/lead_index.h"

#include <utility>

#include "sync/engine.h"

namespace returns::sync {
namespace {

// The engine view's typed reads: a wrong type reads as the fallback.
std::string string_of(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Millis millis_of(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<Millis>() : 0;
}

bool is_deleted(const Json& j) {
  auto it = j.find("deleted");
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

LeadIndex::LeadIndex(const Replica& replica, BadRow on_bad_row)
    : replica_(replica), on_bad_row_(std::move(on_bad_row)) {}

LeadIndex::Entry LeadIndex::entry_of(std::string buyer_id, const Json& row) {
  return Entry{std::move(buyer_id), string_of(row, "id"), millis_of(row, "delivered_at"),
               string_of(row, "status") == "RETURNED", string_of(row, "contact_hash")};
}

void LeadIndex::build() const {
  buyers_.clear();
  by_id_.clear();
  built_ = true;
  for (const ReplicaRow& r : replica_.rows("lead")) {
    Result<Json> j = parse_json(r.data);
    if (!j.ok()) {
      if (on_bad_row_) on_bad_row_(r.id, j.error());
      continue;
    }
    if (!is_deleted(*j)) put(r.id, entry_of(r.ref, *j));
  }
}

void LeadIndex::apply(const WriteBatch& batch) {
  if (!built_) return;  // the first question builds it from the replica as written
  if (batch.clear_rows) {
    buyers_.clear();
    by_id_.clear();
  }
  for (const RowWrite& w : batch.rows) {
    if (w.entity != "lead") continue;
    remove(w.id);
    if (!w.data) continue;
    Result<Json> j = parse_json(*w.data);
    if (!j.ok()) {
      if (on_bad_row_) on_bad_row_(w.id, j.error());
      continue;
    }
    if (!is_deleted(*j)) put(w.id, entry_of(w.ref, *j));
  }
}

void LeadIndex::put(const std::string& id, Entry e) const {
  remove(id);
  PerBuyer& b = buyers_[e.buyer_id];
  RateCounts& c = b.by_day[utc_day(e.delivered_at)];
  ++c.accepted;
  if (e.returned) ++c.returned;
  b.by_hash[e.contact_hash].emplace(e.delivered_at, e.lead_id, id);
  by_id_.insert_or_assign(id, std::move(e));
}

void LeadIndex::remove(const std::string& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  const Entry& e = it->second;
  PerBuyer& b = buyers_[e.buyer_id];
  auto day = b.by_day.find(utc_day(e.delivered_at));
  --day->second.accepted;
  if (e.returned) --day->second.returned;
  if (day->second.accepted == 0) b.by_day.erase(day);
  auto hash = b.by_hash.find(e.contact_hash);
  hash->second.erase({e.delivered_at, e.lead_id, id});
  if (hash->second.empty()) b.by_hash.erase(hash);
  if (b.by_day.empty()) buyers_.erase(e.buyer_id);
  by_id_.erase(it);
}

RateCounts LeadIndex::trailing_counts(const std::string& buyer_id, Millis now, int days,
                                      const LeadOverrides& overrides) const {
  if (!built_) build();
  RateCounts c;
  const DayRange period = trailing_days(now, days);
  const std::int64_t first = period.first;
  const std::int64_t last = period.last;
  auto count = [&](const Entry& e, std::int64_t sign) {
    if (e.buyer_id != buyer_id || !period.contains(utc_day(e.delivered_at))) return;
    c.accepted += sign;
    if (e.returned) c.returned += sign;
  };
  if (auto b = buyers_.find(buyer_id); b != buyers_.end() && first <= last) {
    for (auto it = b->second.by_day.lower_bound(first);
         it != b->second.by_day.end() && it->first <= last; ++it) {
      c.accepted += it->second.accepted;
      c.returned += it->second.returned;
    }
  }
  // The optimistic rows replace the replica's rows they name (engine.cc OverlayView::merged).
  for (const auto& [id, row] : overrides) {
    if (auto e = by_id_.find(id); e != by_id_.end()) count(e->second, -1);
    if (row) count(entry_of(replica_ref("lead", *row), *row), +1);
  }
  return c;
}

bool LeadIndex::delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                                 const std::string& lead_id, Millis delivered_at,
                                 const LeadOverrides& overrides) const {
  if (!built_) build();
  auto earlier = [&](Millis at, const std::string& id) {
    return id != lead_id && (at < delivered_at || (at == delivered_at && id < lead_id));
  };
  if (auto b = buyers_.find(buyer_id); b != buyers_.end()) {
    if (auto h = b->second.by_hash.find(contact_hash); h != b->second.by_hash.end()) {
      // Ascending (delivered_at, lead id): the candidates are a prefix.
      for (const auto& [at, id, replica_id] : h->second) {
        if (at > delivered_at || (at == delivered_at && id >= lead_id)) break;
        if (overrides.count(replica_id) == 0 && earlier(at, id)) return true;
      }
    }
  }
  for (const auto& [id, row] : overrides) {
    if (!row) continue;
    const Entry e = entry_of(replica_ref("lead", *row), *row);
    if (e.buyer_id == buyer_id && e.contact_hash == contact_hash &&
        earlier(e.delivered_at, e.lead_id)) {
      return true;
    }
  }
  return false;
}

}  // namespace returns::sync
