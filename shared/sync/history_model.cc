// history_model.cc — the what-if read model (history_model.h).
#include "sync/history_model.h"

#include <utility>

#include "sync/engine.h"  // replica_ref
#include "sync/row_json.h"

namespace returns::sync {

// The replica rows of one buyer, decoded, as of replica write `writes`: the buyer's leads, the
// buyer's returns, and the ledger rows by return id (filled as asked). Rows that do not parse or
// decode were reported and are left out.
struct HistoryModel::Rows {
  std::uint64_t writes = 0;
  std::string buyer_id;
  std::map<std::string, Lead> leads;                                 // replica id → lead
  std::map<std::string, ReturnCase> returns;                         // replica id → return
  std::map<std::string, std::map<std::string, LedgerEntry>> ledger;  // return id → id → entry
};

HistoryModel::HistoryModel(const Replica& replica, BadRowReport report)
    : replica_(replica), report_(std::move(report)) {}

HistoryModel::~HistoryModel() = default;

template <class T>
std::optional<T> HistoryModel::decode_row(std::string_view entity, std::string_view id,
                                          const std::string& text, Result<T> (*decode)(const Json&),
                                          const std::string* of_buyer) {
  Result<Json> j = parse_json(text);
  if (!j.ok()) {
    report_(entity, id, j.error());
    return std::nullopt;
  }
  if (is_deleted_row(*j)) return std::nullopt;
  if (of_buyer != nullptr && get_or<std::string>(*j, "buyer_id", "") != *of_buyer) {
    return std::nullopt;
  }
  return decoded(entity, *j, decode(*j));
}

template <class T>
std::optional<T> HistoryModel::decoded(std::string_view entity, const Json& data, Result<T> value) {
  if (!value.ok()) {
    report_(entity, get_or<std::string>(data, "id", ""), value.error());
    return std::nullopt;
  }
  return std::move(value).value();
}

// The batch's rows of the kept buyer are decoded (or dropped), so the next what-if does not
// decode the buyer's whole history again. The result is what a rebuild from the replica would
// hold (tests/sync/engine_check_test.cc compares the two).
void HistoryModel::follow(const WriteBatch& batch, std::uint64_t writes) {
  Rows* h = rows_.get();
  if (h == nullptr || h->writes + 1 != writes) return;  // stale: rebuilt when asked
  if (batch.clear_rows) {
    rows_.reset();
    return;
  }
  for (const RowWrite& w : batch.rows) {
    if (w.entity == "ledger") {
      // That return's entries are read again when asked (a deleted row names no return: all are).
      if (w.data) {
        h->ledger.erase(w.ref);
      } else {
        h->ledger.clear();
      }
      continue;
    }
    if (w.entity != "lead" && w.entity != "return") continue;
    const bool lead = w.entity == "lead";
    if (lead) {
      h->leads.erase(w.id);
    } else {
      h->returns.erase(w.id);
    }
    if (!w.data || (lead && w.ref != h->buyer_id)) continue;
    if (lead) {
      if (std::optional<Lead> l = decode_row(w.entity, w.id, *w.data, decode_lead)) {
        h->leads.emplace(w.id, std::move(*l));
      }
    } else if (std::optional<ReturnCase> rc =
                   decode_row(w.entity, w.id, *w.data, decode_return, &h->buyer_id)) {
      h->returns.emplace(w.id, std::move(*rc));
    }
  }
  h->writes = writes;
}

HistoryModel::Rows& HistoryModel::rows_of(const std::string& buyer_id, std::uint64_t writes) {
  if (rows_ && rows_->writes == writes && rows_->buyer_id == buyer_id) return *rows_;
  auto rows = std::make_unique<Rows>();
  rows->writes = writes;
  rows->buyer_id = buyer_id;
  for (const ReplicaRow& r : replica_.rows_by_ref("lead", buyer_id)) {
    if (std::optional<Lead> l = decode_row("lead", r.id, r.data, decode_lead)) {
      rows->leads.emplace(r.id, std::move(*l));
    }
  }
  for (const ReplicaRow& r : replica_.rows("return")) {
    if (std::optional<ReturnCase> rc =
            decode_row("return", r.id, r.data, decode_return, &buyer_id)) {
      rows->returns.emplace(r.id, std::move(*rc));
    }
  }
  rows_ = std::move(rows);
  return *rows_;
}

std::vector<Lead> HistoryModel::leads(const Rows& rows, const OverlayRows* overlay) {
  std::map<std::string, const Lead*> lead_rows;
  for (const auto& [id, l] : rows.leads) lead_rows.emplace(id, &l);
  std::map<std::string, Lead> overlay_leads;
  if (overlay != nullptr) {
    for (const auto& [id, data] : *overlay) {
      lead_rows.erase(id);
      if (!data || replica_ref("lead", *data) != rows.buyer_id) continue;
      if (std::optional<Lead> l = decoded("lead", *data, decode_lead(*data))) {
        lead_rows[id] = &(overlay_leads[id] = std::move(*l));
      }
    }
  }
  std::vector<Lead> out;
  out.reserve(lead_rows.size());
  for (const auto& [id, l] : lead_rows) out.push_back(*l);
  return out;
}

std::map<std::string, ReturnCase> HistoryModel::returns(const Rows& rows,
                                                        const OverlayRows* overlay) {
  std::map<std::string, ReturnCase> out = rows.returns;
  if (overlay == nullptr) return out;
  for (const auto& [id, data] : *overlay) {
    out.erase(id);
    if (!data || get_or<std::string>(*data, "buyer_id", "") != rows.buyer_id) continue;
    if (std::optional<ReturnCase> r = decoded("return", *data, decode_return(*data))) {
      out.emplace(id, std::move(*r));
    }
  }
  return out;
}

const std::map<std::string, LedgerEntry>& HistoryModel::replica_ledger(
    Rows& rows, const std::string& return_id) {
  auto it = rows.ledger.find(return_id);
  if (it != rows.ledger.end()) return it->second;
  std::map<std::string, LedgerEntry> entries;
  for (const ReplicaRow& row : replica_.rows_by_ref("ledger", return_id)) {
    if (std::optional<LedgerEntry> e =
            decode_row("ledger", row.id, row.data, decode_ledger_entry)) {
      entries.emplace(row.id, std::move(*e));
    }
  }
  return rows.ledger.emplace(return_id, std::move(entries)).first->second;
}

std::vector<HistoricalReturn> HistoryModel::history(const std::string& buyer_id, DayRange period,
                                                    std::uint64_t writes,
                                                    const OverlayRowsOf& overlay) {
  Rows& rows = rows_of(buyer_id, writes);
  // The optimistic view = the replica's rows with the overlay's rows replacing those they name:
  // decode only the overlay's few rows.
  const std::vector<Lead> lead_list = leads(rows, overlay("lead"));
  std::map<std::string, ReturnCase> return_rows = returns(rows, overlay("return"));
  const OverlayRows* overlay_ledger = overlay("ledger");
  std::vector<ReturnCase> return_list;
  std::vector<LedgerEntry> ledger;
  return_list.reserve(return_rows.size());
  for (auto& [id, r] : return_rows) {
    if (r.state != ReturnState::draft) {
      const std::map<std::string, LedgerEntry>& kept = replica_ledger(rows, r.id);
      if (overlay_ledger == nullptr) {
        for (const auto& [eid, e] : kept) ledger.push_back(e);
      } else {
        std::map<std::string, LedgerEntry> entries = kept;
        for (const auto& [eid, data] : *overlay_ledger) {
          entries.erase(eid);
          if (!data || replica_ref("ledger", *data) != r.id) continue;
          if (std::optional<LedgerEntry> e = decoded("ledger", *data, decode_ledger_entry(*data))) {
            entries.emplace(eid, std::move(*e));
          }
        }
        for (auto& [eid, e] : entries) ledger.push_back(std::move(e));
      }
    }
    return_list.push_back(std::move(r));
  }
  return historical_returns(buyer_id, lead_list, return_list, ledger, period);
}

}  // namespace returns::sync
