// overlay_view.h — the client engine's optimistic view (a CaseView): the replica's rows with an
// overlay of the rows pending ops would write, so previews and checks see what the user did
// before the server answered. Built by Engine::rebuild_overlay; header-only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/lifecycle.h"
#include "sync/engine.h"
#include "sync/facts_index.h"
#include "sync/row_json.h"

namespace returns::sync {

// The replica's rows with an overlay of rows written by pending ops. Decoded values are cached by
// id until the overlay changes (CaseView pointers stay valid until then). The decision facts come
// from the replica's facts rows (the engine's facts index) with the overlay's rows as deltas, and
// the lead's own earlier_delivery flag: the server's facts, never a recount of the leads here.
// A row that does not parse or decode reads as absent and is reported.
class OverlayView final : public CaseView {
 public:
  OverlayView(const Replica& replica, const FactsIndex& facts, BadRowReport report)
      : replica_(replica), facts_(facts), report_(std::move(report)) {}

  std::optional<Json> json(std::string_view entity, std::string_view id) const {
    if (auto e = overlay_.find(std::string(entity)); e != overlay_.end()) {
      if (auto r = e->second.find(std::string(id)); r != e->second.end()) return r->second;
    }
    std::optional<std::string> text = replica_.row(entity, id);
    if (!text) return std::nullopt;
    Result<Json> j = parse_json(*text);
    if (!j.ok()) {
      report_(entity, id, j.error());
      return std::nullopt;
    }
    if (is_deleted_row(*j)) return std::nullopt;
    return std::move(j).value();
  }

  std::vector<Json> all(std::string_view entity) const { return merged(entity, nullptr); }
  std::vector<Json> by_ref(std::string_view entity, const std::string& ref) const {
    return merged(entity, &ref);
  }

  // The overlay's rows of `entity` (id → row, or nothing when a pending op deleted it).
  const std::map<std::string, std::optional<Json>>* overlay_rows(const std::string& entity) const {
    auto e = overlay_.find(entity);
    return e != overlay_.end() ? &e->second : nullptr;
  }

  void put(const std::string& entity, const std::string& id, std::optional<Json> data) {
    overlay_[entity][id] = std::move(data);
    leads_.clear();
    campaigns_.clear();
    buyers_.clear();
    suppliers_.clear();
    returns_.clear();
  }

  std::vector<PendingOp> ops;

  const Lead* find_lead(const std::string& id) const override {
    return cached(leads_, "lead", id, decode_lead);
  }
  const Campaign* find_campaign(const std::string& id) const override {
    return cached(campaigns_, "campaign", id, decode_campaign);
  }
  const Buyer* find_buyer(const std::string& id) const override {
    return cached(buyers_, "buyer", id, decode_buyer);
  }
  const Supplier* find_supplier(const std::string& id) const override {
    return cached(suppliers_, "supplier", id, decode_supplier);
  }
  const ReturnCase* find_return(const std::string& id) const override {
    return cached(returns_, "return", id, decode_return);
  }
  std::vector<ReturnCase> returns_for_lead(const std::string& lead_id) const override {
    std::vector<ReturnCase> out;
    for (const Json& j : by_ref("return", lead_id)) {
      Result<ReturnCase> r = decode_return(j);
      if (r.ok()) {
        out.push_back(std::move(r).value());
      } else {
        report_("return", get_or<std::string>(j, "id", ""), r.error());
      }
    }
    return out;
  }
  std::vector<LedgerEntry> ledger_for_return(const std::string& return_id) const override {
    std::vector<LedgerEntry> out;
    for (const Json& j : by_ref("ledger", return_id)) {
      Result<LedgerEntry> e = decode_ledger_entry(j);
      if (e.ok()) {
        out.push_back(std::move(e).value());
      } else {
        report_("ledger", get_or<std::string>(j, "id", ""), e.error());
      }
    }
    return out;
  }
  RateCounts trailing_counts(const std::string& buyer_id, Millis now, int days) const override {
    return facts_.trailing_counts(buyer_id, now, days, overrides("lead"));
  }
  int auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                           std::int64_t day) const override {
    return facts_.auto_accepted_on_day(buyer_id, rule_id, day, overrides("return"));
  }
  // The server's answer, fixed on the lead row (Lead::earlier_delivery); false for a lead that is
  // not here (a buyer's replica has no other buyer's leads to ask about).
  bool delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                        const std::string& lead_id, Millis delivered_at) const override {
    const Lead* l = find_lead(lead_id);
    return l != nullptr && l->buyer_id == buyer_id && l->contact_hash == contact_hash &&
           l->delivered_at == delivered_at && l->earlier_delivery;
  }

 private:
  const RowOverrides& overrides(const std::string& entity) const {
    static const RowOverrides kNone;
    auto e = overlay_.find(entity);
    return e != overlay_.end() ? e->second : kNone;
  }

  std::vector<Json> merged(std::string_view entity, const std::string* ref) const {
    std::map<std::string, Json> rows;
    for (const ReplicaRow& r : ref ? replica_.rows_by_ref(entity, *ref) : replica_.rows(entity)) {
      Result<Json> j = parse_json(r.data);
      if (!j.ok()) {
        report_(entity, r.id, j.error());
      } else if (!is_deleted_row(*j)) {
        rows[r.id] = std::move(j).value();
      }
    }
    if (auto e = overlay_.find(std::string(entity)); e != overlay_.end()) {
      for (const auto& [id, data] : e->second) {
        if (!data) {
          rows.erase(id);
        } else if (ref == nullptr || replica_ref(entity, *data) == *ref) {
          rows[id] = *data;
        } else {
          rows.erase(id);  // the op moved the row away from this ref
        }
      }
    }
    std::vector<Json> out;
    out.reserve(rows.size());
    for (auto& [id, j] : rows) out.push_back(std::move(j));
    return out;
  }

  template <class T, class Decode>
  const T* cached(std::map<std::string, std::optional<T>>& cache, const char* entity,
                  const std::string& id, Decode decode) const {
    auto it = cache.find(id);
    if (it == cache.end()) {
      std::optional<T> value;
      if (std::optional<Json> j = json(entity, id)) {
        Result<T> r = decode(*j);
        if (r.ok()) {
          value = std::move(r).value();
        } else {
          report_(entity, id, r.error());
        }
      }
      it = cache.emplace(id, std::move(value)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  const Replica& replica_;
  const FactsIndex& facts_;
  BadRowReport report_;
  std::map<std::string, RowOverrides> overlay_;
  mutable std::map<std::string, std::optional<Lead>> leads_;
  mutable std::map<std::string, std::optional<Campaign>> campaigns_;
  mutable std::map<std::string, std::optional<Buyer>> buyers_;
  mutable std::map<std::string, std::optional<Supplier>> suppliers_;
  mutable std::map<std::string, std::optional<ReturnCase>> returns_;
};

}  // namespace returns::sync
