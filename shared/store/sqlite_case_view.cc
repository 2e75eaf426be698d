// sqlite_case_view.cc — CaseView queries. Rates come from agg_daily (30 rows, not a scan).
#include "store/sqlite_case_view.h"

#include "core/codec.h"

namespace returns::store {
namespace {

template <class T, class Decode>
const T* cached_json_row(Database& db, std::map<std::string, std::unique_ptr<T>>& cache,
                         const char* sql, const std::string& id, Decode decode) {
  auto it = cache.find(id);
  if (it != cache.end()) return it->second.get();
  Statement& st = db.cached(sql);
  st.bind(1, id);
  std::unique_ptr<T> row;
  if (st.step()) {
    Result<Json> j = parse_json(st.text(0));
    if (j.ok()) {
      Result<T> v = decode(*j);
      if (v.ok()) row = std::make_unique<T>(std::move(v).value());
    }
  }
  st.reset();
  return cache.emplace(id, std::move(row)).first->second.get();
}

}  // namespace

void SqliteCaseView::invalidate() {
  leads_.clear();
  campaigns_.clear();
  buyers_.clear();
  suppliers_.clear();
  returns_.clear();
}

Lead SqliteCaseView::read_lead(const Statement& st, int c) {
  Lead l;
  l.id = st.text(c + 0);
  l.buyer_id = st.text(c + 1);
  l.supplier_id = st.text(c + 2);
  l.campaign_id = st.text(c + 3);
  l.vertical = st.text(c + 4);
  l.state = st.text(c + 5);
  l.zip = st.text(c + 6);
  l.contact_hash = st.text(c + 7);
  l.tcpa_flag = st.int64(c + 8) != 0;
  l.price_cents = st.int64(c + 9);
  l.cost_cents = st.int64(c + 10);
  l.delivered_at = st.int64(c + 11);
  l.status = lead_status_from_string(st.text(c + 12)).value_or(LeadStatus::accepted);
  l.earlier_delivery = st.int64(c + 13) != 0;
  l.changed_at = st.int64(c + 14);
  return l;
}

const Lead* SqliteCaseView::find_lead(const std::string& id) const {
  auto it = leads_.find(id);
  if (it != leads_.end()) return it->second.get();
  Statement& st = db_.cached(std::string("SELECT ") + kLeadColumns + " FROM leads WHERE id = ?1");
  st.bind(1, id);
  std::unique_ptr<Lead> row;
  if (st.step()) row = std::make_unique<Lead>(read_lead(st, 0));
  st.reset();
  return leads_.emplace(id, std::move(row)).first->second.get();
}

const Campaign* SqliteCaseView::find_campaign(const std::string& id) const {
  return cached_json_row(db_, campaigns_, "SELECT data FROM campaigns WHERE id = ?1", id,
                         decode_campaign);
}
const Buyer* SqliteCaseView::find_buyer(const std::string& id) const {
  return cached_json_row(db_, buyers_, "SELECT data FROM buyers WHERE id = ?1", id, decode_buyer);
}
const Supplier* SqliteCaseView::find_supplier(const std::string& id) const {
  return cached_json_row(db_, suppliers_, "SELECT data FROM suppliers WHERE id = ?1", id,
                         decode_supplier);
}
const ReturnCase* SqliteCaseView::find_return(const std::string& id) const {
  return cached_json_row(db_, returns_, "SELECT data FROM returns WHERE id = ?1", id,
                         decode_return);
}

std::vector<ReturnCase> SqliteCaseView::returns_for_lead(const std::string& lead_id) const {
  std::vector<ReturnCase> out;
  Statement& st = db_.cached("SELECT data FROM returns WHERE lead_id = ?1 ORDER BY id");
  st.bind(1, lead_id);
  while (st.step()) {
    Result<Json> j = parse_json(st.text(0));
    if (!j.ok()) continue;
    Result<ReturnCase> r = decode_return(*j);
    if (r.ok()) out.push_back(std::move(r).value());
  }
  st.reset();
  return out;
}

std::vector<LedgerEntry> SqliteCaseView::ledger_for_return(const std::string& return_id) const {
  std::vector<LedgerEntry> out;
  Statement& st = db_.cached("SELECT data FROM ledger WHERE return_id = ?1 ORDER BY seq");
  st.bind(1, return_id);
  while (st.step()) {
    Result<Json> j = parse_json(st.text(0));
    if (!j.ok()) continue;
    Result<LedgerEntry> e = decode_ledger_entry(*j);
    if (e.ok()) out.push_back(std::move(e).value());
  }
  st.reset();
  return out;
}

RateCounts SqliteCaseView::trailing_counts(const std::string& buyer_id, Millis now,
                                           int days) const {
  const DayRange period = trailing_days(now, days);
  Statement& st = db_.cached(
      "SELECT COALESCE(SUM(leads), 0), COALESCE(SUM(returned), 0) FROM agg_daily "
      "WHERE buyer_id = ?1 AND day BETWEEN ?2 AND ?3");
  st.bind(1, buyer_id).bind(2, period.first).bind(3, period.last);
  RateCounts c;
  if (st.step()) {
    c.accepted = st.int64(0);
    c.returned = st.int64(1);
  }
  st.reset();
  return c;
}

int SqliteCaseView::auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                                         std::int64_t day) const {
  Statement& st =
      db_.cached("SELECT accepted FROM agg_auto WHERE buyer_id = ?1 AND day = ?2 AND rule = ?3");
  st.bind(1, buyer_id).bind(2, day).bind(3, rule_id);
  int n = 0;
  if (st.step()) n = static_cast<int>(st.int64(0));
  st.reset();
  return n;
}

bool SqliteCaseView::delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                                      const std::string& lead_id, Millis delivered_at) const {
  if (const Lead* l = find_lead(lead_id); l != nullptr && l->buyer_id == buyer_id &&
                                          l->contact_hash == contact_hash &&
                                          l->delivered_at == delivered_at) {
    return l->earlier_delivery;
  }
  return delivered_before_by_index(buyer_id, contact_hash, lead_id, delivered_at);
}

bool SqliteCaseView::delivered_before_by_index(const std::string& buyer_id,
                                               const std::string& contact_hash,
                                               const std::string& lead_id,
                                               Millis delivered_at) const {
  Statement& st = db_.cached(
      "SELECT 1 FROM leads WHERE buyer_id = ?1 AND contact_hash = ?2 AND id != ?3 AND "
      "(delivered_at < ?4 OR (delivered_at = ?4 AND id < ?3)) LIMIT 1");
  st.bind(1, buyer_id).bind(2, contact_hash).bind(3, lead_id).bind(4, delivered_at);
  const bool found = st.step();
  st.reset();
  return found;
}

}  // namespace returns::store
