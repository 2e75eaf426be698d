// facts_index.cc — the replica's buyer_day rows by buyer and day, plus optimistic deltas.
#include "sync/facts_index.h"

#include <utility>

namespace returns::sync {
namespace {

std::optional<Lead> lead_of(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  Result<Json> j = parse_json(*text);
  if (!j.ok()) return std::nullopt;
  Result<Lead> l = decode_lead(*j);
  if (!l.ok()) return std::nullopt;
  return std::move(l).value();
}

std::optional<ReturnCase> return_of(const Json* j) {
  if (j == nullptr) return std::nullopt;
  Result<ReturnCase> r = decode_return(*j);
  if (!r.ok()) return std::nullopt;
  return std::move(r).value();
}

}  // namespace

FactsIndex::FactsIndex(const Replica& replica, BadRow on_bad_row)
    : replica_(replica), on_bad_row_(std::move(on_bad_row)) {}

void FactsIndex::build() const {
  buyers_.clear();
  by_id_.clear();
  built_ = true;
  for (const ReplicaRow& r : replica_.rows("buyer_day")) put(r.id, r.data);
}

void FactsIndex::apply(const WriteBatch& batch) {
  if (!built_) return;  // the first question builds it from the replica as written
  if (batch.clear_rows) {
    buyers_.clear();
    by_id_.clear();
  }
  for (const RowWrite& w : batch.rows) {
    if (w.entity != "buyer_day") continue;
    remove(w.id);
    if (w.data) put(w.id, *w.data);
  }
}

void FactsIndex::put(const std::string& id, const std::string& text) const {
  remove(id);
  Result<Json> j = parse_json(text);
  if (j.ok() && j->is_object() && j->contains("deleted")) return;
  Result<BuyerDay> d = j.ok() ? decode_buyer_day(*j) : Result<BuyerDay>(j.error());
  if (!d.ok()) {
    if (on_bad_row_) on_bad_row_(id, d.error());
    return;
  }
  by_id_[id] = {d->buyer_id, d->day};
  buyers_[d->buyer_id][d->day] = std::move(d).value();
}

void FactsIndex::remove(const std::string& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto b = buyers_.find(it->second.first);
  if (b != buyers_.end()) {
    b->second.erase(it->second.second);
    if (b->second.empty()) buyers_.erase(b);
  }
  by_id_.erase(it);
}

RateCounts FactsIndex::trailing_counts(const std::string& buyer_id, Millis now, int days,
                                       const RowOverrides& leads) const {
  if (!built_) build();
  const DayRange period = trailing_days(now, days);
  RateCounts c;
  if (auto b = buyers_.find(buyer_id); b != buyers_.end()) {
    for (auto it = b->second.lower_bound(period.first);
         it != b->second.end() && it->first <= period.last; ++it) {
      c.accepted += it->second.sold;
      c.returned += it->second.returned;
    }
  }
  // A pending op changed these leads' status in the optimistic view: count what it will change.
  for (const auto& [id, row] : leads) {
    std::optional<Lead> before = lead_of(replica_.row("lead", id));
    std::optional<Lead> after;
    if (row) {
      if (Result<Lead> l = decode_lead(*row); l.ok()) after = std::move(l).value();
    }
    auto returned = [&](const std::optional<Lead>& l) {
      return l && l->buyer_id == buyer_id && period.contains(utc_day(l->delivered_at)) &&
                     l->status == LeadStatus::returned
                 ? 1
                 : 0;
    };
    c.returned += returned(after) - returned(before);
  }
  return c;
}

int FactsIndex::auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                                     std::int64_t day, const RowOverrides& returns) const {
  if (!built_) build();
  int n = 0;
  if (auto b = buyers_.find(buyer_id); b != buyers_.end()) {
    if (auto d = b->second.find(day); d != b->second.end()) {
      if (auto r = d->second.auto_accepted.find(rule_id); r != d->second.auto_accepted.end()) {
        n = r->second;
      }
    }
  }
  for (const auto& [id, row] : returns) {
    std::optional<ReturnCase> before;
    if (std::optional<std::string> text = replica_.row("return", id)) {
      if (Result<Json> j = parse_json(*text); j.ok()) before = return_of(&*j);
    }
    const std::optional<ReturnCase> after = return_of(row ? &*row : nullptr);
    auto counted = [&](const std::optional<ReturnCase>& r) {
      return r && r->buyer_id == buyer_id && counts_as_auto_accept(*r, rule_id, day) ? 1 : 0;
    };
    n += counted(after) - counted(before);
  }
  return n;
}

}  // namespace returns::sync
