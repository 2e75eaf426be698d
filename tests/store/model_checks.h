// model_checks.h — checks the model test runs on a store after every batch, reading raw SQL:
// the current tables as canonical JSON rows, a replica rebuilt from the event log, aggregate rows
// recounted by brute force from leads/returns/ledger, and the ledger's balancing rules
// (docs/domain.md "Money"). Each check appends human-readable problems; empty means all held.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/codec.h"
#include "core/decision_facts.h"
#include "core/ledger.h"
#include "store/sqlite_case_view.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace returns::store::model {

using Problems = std::vector<std::string>;
using Rows = std::map<std::string, std::string>;  // id -> canonical JSON (Json::dump)
using EntityRows = std::map<std::string, Rows>;   // entity -> rows

inline const std::vector<std::string>& entity_names() {
  static const std::vector<std::string> kNames = {
      "buyer", "supplier", "campaign", "lead", "return", "message", "ledger", "alert", "buyer_day"};
  return kNames;
}

inline EntityRows empty_entity_rows() {
  EntityRows out;
  for (const std::string& e : entity_names()) out[e];
  return out;
}

// Runs `sql` and calls `row(statement)` for each result row; a failed statement is a problem.
template <class RowFn>
void query(Database& db, const std::string& sql, Problems& problems, RowFn row) {
  Result<Statement> st = db.prepare(sql);
  if (!st.ok()) {
    problems.push_back("SQL prepare failed: " + sql + ": " + st.error().message);
    return;
  }
  while (st->step()) row(*st);
  if (!st->status().ok())
    problems.push_back("SQL failed: " + sql + ": " + st->status().error().message);
}

// Canonical JSON of values by id, recomputed only when the value changed (checks run after every
// batch; re-encoding unchanged rows would dominate the run time in Debug builds).
template <class T>
class DumpCache {
 public:
  const std::string& dump(const std::string& id, const T& v) {
    auto it = cache_.find(id);
    if (it == cache_.end() || !(it->second.first == v)) {
      it = cache_.insert_or_assign(id, std::pair<T, std::string>(v, to_json(v).dump())).first;
    }
    return it->second.second;
  }

 private:
  std::map<std::string, std::pair<T, std::string>> cache_;
};

// Decoded rows by id, decoded again only when the stored JSON text changed.
template <class T>
class DecodeCache {
 public:
  template <class Decode>
  Result<T> decode(const std::string& id, const std::string& data, Decode decoder) {
    auto it = cache_.find(id);
    if (it != cache_.end() && it->second.first == data) return it->second.second;
    Result<Json> j = parse_json(data);
    if (!j.ok()) return j.error();
    Result<T> v = decoder(*j);
    if (v.ok()) cache_.insert_or_assign(id, std::pair<std::string, T>(data, *v));
    return v;
  }

 private:
  std::map<std::string, std::pair<std::string, T>> cache_;
};

struct CheckCache {
  DumpCache<Lead> lead_json;
  DecodeCache<ReturnCase> returns;
  DecodeCache<LedgerEntry> ledger;
  DecodeCache<Buyer> buyers;
};

// The store's current tables as entity -> id -> canonical JSON. Leads are columns only; they are
// rebuilt with the core codec so they compare with event data and with the model.
inline EntityRows read_tables(Database& db, Problems& problems, CheckCache& cache) {
  EntityRows out = empty_entity_rows();
  const std::vector<std::pair<std::string, std::string>> json_tables = {
      {"buyer", "buyers"},   {"supplier", "suppliers"}, {"campaign", "campaigns"},
      {"return", "returns"}, {"message", "messages"},   {"ledger", "ledger"},
      {"alert", "alerts"}};
  for (const auto& [entity, table] : json_tables) {
    Rows& rows = out[entity];
    query(db, "SELECT id, data FROM " + table, problems,
          [&](const Statement& st) { rows[st.text(0)] = st.text(1); });
  }
  Rows& leads = out["lead"];
  query(db, std::string("SELECT ") + SqliteCaseView::kLeadColumns + " FROM leads", problems,
        [&](const Statement& st) {
          const Lead l = SqliteCaseView::read_lead(st, 0);
          leads[l.id] = cache.lead_json.dump(l.id, l);
        });
  // Decision facts have no table: recounted here from the aggregates and the auto-decided returns.
  std::map<std::pair<std::string, std::int64_t>, BuyerDay> days;
  auto day_at = [&](const std::string& buyer_id, std::int64_t day) -> BuyerDay& {
    BuyerDay& d = days[{buyer_id, day}];
    d.buyer_id = buyer_id;
    d.day = day;
    return d;
  };
  query(db, "SELECT buyer_id, day, SUM(leads), SUM(returned) FROM agg_daily GROUP BY 1, 2",
        problems, [&](const Statement& st) {
          BuyerDay& d = day_at(st.text(0), st.int64(1));
          d.sold = st.int64(2);
          d.returned = st.int64(3);
        });
  query(db, "SELECT buyer_id, data FROM returns WHERE state = 'accepted'", problems,
        [&](const Statement& st) {
          Result<ReturnCase> r =
              cache.returns.decode(st.text(0) + "|" + st.text(1), st.text(1), decode_return);
          if (!r.ok() || !r->decision) return;
          if (std::optional<std::string> rule = auto_rule_of(*r->decision)) {
            ++day_at(r->buyer_id, utc_day(r->decision->at)).auto_accepted[*rule];
          }
        });
  for (const auto& [key, d] : days)
    out["buyer_day"][buyer_day_id(d.buyer_id, d.day)] = to_json(d).dump();
  return out;
}

// A replica's rows without the BuyerDay rows that count nothing (a day whose last auto-accept was
// reopened keeps a zero row; the tables and the model have no row for it).
inline EntityRows without_empty_days(EntityRows rows) {
  std::erase_if(rows["buyer_day"], [](const auto& entry) {
    Result<Json> j = parse_json(entry.second);
    if (!j.ok()) return false;
    Result<BuyerDay> d = decode_buyer_day(*j);
    return d.ok() && d->sold == 0 && d->returned == 0 && d->auto_accepted.empty();
  });
  return rows;
}

// Appends differences between two row sets (at most `limit` lines per call).
inline void diff_rows(const std::string& what, const Rows& want, const Rows& got,
                      Problems& problems, std::size_t limit = 6) {
  std::size_t n = 0;
  auto report = [&](std::string line) {
    if (n++ < limit) problems.push_back(what + ": " + std::move(line));
  };
  for (const auto& [id, data] : want) {
    auto it = got.find(id);
    if (it == got.end()) {
      report("missing " + id + " (expected " + data + ")");
    } else if (it->second != data) {
      report(id + " differs:\n    expected " + data + "\n    actual   " + it->second);
    }
  }
  for (const auto& [id, data] : got) {
    if (want.count(id) == 0) report("unexpected " + id + " = " + data);
  }
  if (n > limit) problems.push_back(what + ": ... " + std::to_string(n - limit) + " more");
}

inline void diff_entities(const std::string& what, const EntityRows& want, const EntityRows& got,
                          Problems& problems) {
  for (const std::string& e : entity_names()) {
    static const Rows kEmpty;
    auto w = want.find(e);
    auto g = got.find(e);
    diff_rows(what + " " + e, w == want.end() ? kEmpty : w->second,
              g == got.end() ? kEmpty : g->second, problems);
  }
}

// A client-side replica built only from the event log: rows upserted by entity and id, removed
// on `deleted` events. Checks that versions strictly increase.
class Replica {
 public:
  Replica() : rows_(empty_entity_rows()) {}

  // Pulls every event after the cursor in pages of `page` events; returns the new events.
  std::vector<Event> pull(Store& store, std::size_t page, Problems& problems) {
    std::vector<Event> fresh;
    for (;;) {
      std::vector<Event> batch = store.events_since(cursor_, page);
      if (batch.size() > page) problems.push_back("events_since returned more than its limit");
      for (Event& e : batch) {
        apply(e, problems);
        fresh.push_back(std::move(e));
      }
      if (batch.size() < page) break;
    }
    return fresh;
  }

  void apply(const Event& e, Problems& problems) {
    if (e.version <= cursor_) {
      problems.push_back("event versions not strictly increasing: " + std::to_string(e.version) +
                         " after " + std::to_string(cursor_));
    }
    cursor_ = std::max(cursor_, e.version);
    auto it = rows_.find(e.entity);
    if (it == rows_.end()) {
      problems.push_back("event " + std::to_string(e.version) + " has unknown entity " + e.entity);
      return;
    }
    if (e.deleted) {
      if (e.entity != "return") {
        problems.push_back("event " + std::to_string(e.version) + " deletes a " + e.entity);
      }
      if (it->second.erase(e.entity_id) == 0) {
        problems.push_back("event " + std::to_string(e.version) + " deletes unknown " + e.entity +
                           " " + e.entity_id);
      }
    } else {
      it->second[e.entity_id] = e.data;
    }
  }

  std::int64_t cursor() const { return cursor_; }
  const EntityRows& rows() const { return rows_; }

 private:
  std::int64_t cursor_ = 0;
  EntityRows rows_;
};

// --- Aggregates recounted from raw rows --------------------------------------------------------

struct RawLead {
  std::string buyer_id, supplier_id, campaign_id;
  Money price = 0, cost = 0;
  Millis delivered_at = 0;
  bool returned = false;
};

struct RawData {
  std::map<std::string, RawLead> leads;
  std::map<std::string, ReturnCase> returns;
  std::vector<LedgerEntry> ledger;  // in seq order
  std::map<std::string, Buyer> buyers;
};

inline RawData read_raw(Database& db, Problems& problems, CheckCache& cache) {
  RawData raw;
  query(db,
        "SELECT id, buyer_id, supplier_id, campaign_id, price_cents, cost_cents, delivered_at, "
        "status FROM leads",
        problems, [&](const Statement& st) {
          RawLead l;
          l.buyer_id = st.text(1);
          l.supplier_id = st.text(2);
          l.campaign_id = st.text(3);
          l.price = st.int64(4);
          l.cost = st.int64(5);
          l.delivered_at = st.int64(6);
          const std::string status = st.text(7);
          if (status != "ACCEPTED" && status != "RETURNED") {
            problems.push_back("lead " + st.text(0) + " has status " + status);
          }
          l.returned = status == "RETURNED";
          raw.leads[st.text(0)] = l;
        });
  query(db,
        "SELECT id, lead_id, buyer_id, state, reason, submitted_at, decided_by, decided_at, data "
        "FROM returns",
        problems, [&](const Statement& st) {
          const std::string id = st.text(0);
          Result<ReturnCase> r = cache.returns.decode(id, st.text(8), decode_return);
          if (!r.ok()) {
            problems.push_back("return " + id + " data does not decode: " + r.error().message);
            return;
          }
          // Indexed columns must agree with the row data (auto-accept counts read them).
          const ReturnCase& rc = *r;
          const bool cols_ok =
              rc.id == id && rc.lead_id == st.text(1) && rc.buyer_id == st.text(2) &&
              to_string(rc.state) == st.text(3) &&
              (rc.reason ? !st.is_null(4) && st.text(4) == to_string(*rc.reason) : st.is_null(4)) &&
              rc.submitted_at == st.int64(5) &&
              (rc.decision ? !st.is_null(6) && st.text(6) == rc.decision->by &&
                                 st.int64(7) == rc.decision->at
                           : st.is_null(6) && st.is_null(7));
          if (!cols_ok) problems.push_back("return " + id + " columns disagree with its data");
          raw.returns[id] = std::move(r).value();
        });
  query(db,
        "SELECT id, kind, return_id, lead_id, buyer_id, supplier_id, amount_cents, at, reverses, "
        "data FROM ledger ORDER BY seq",
        problems, [&](const Statement& st) {
          const std::string id = st.text(0);
          Result<LedgerEntry> e = cache.ledger.decode(id, st.text(9), decode_ledger_entry);
          if (!e.ok()) {
            problems.push_back("ledger " + id + " data does not decode: " + e.error().message);
            return;
          }
          const LedgerEntry& le = *e;
          const bool cols_ok = le.id == id && to_string(le.kind) == st.text(1) &&
                               le.return_id == st.text(2) && le.lead_id == st.text(3) &&
                               le.buyer_id == st.text(4) && le.supplier_id == st.text(5) &&
                               le.amount_cents == st.int64(6) && le.at == st.int64(7) &&
                               (le.reverses.empty() ? st.is_null(8) : st.text(8) == le.reverses);
          if (!cols_ok) problems.push_back("ledger " + id + " columns disagree with its data");
          raw.ledger.push_back(std::move(e).value());
        });
  query(db, "SELECT id, data FROM buyers", problems, [&](const Statement& st) {
    Result<Buyer> b = cache.buyers.decode(st.text(0), st.text(1), decode_buyer);
    if (!b.ok()) {
      problems.push_back("buyer " + st.text(0) + " data does not decode");
      return;
    }
    raw.buyers[st.text(0)] = std::move(b).value();
  });
  return raw;
}

using AggKey = std::tuple<std::int64_t, std::string, std::string, std::string>;
using ReasonKey = std::tuple<std::int64_t, std::string, std::string, std::string, std::string>;
struct DailyRow {
  std::int64_t leads = 0, revenue = 0, cost = 0, returned = 0, credited = 0, chargeback = 0;
  bool zero() const {
    return leads == 0 && revenue == 0 && cost == 0 && returned == 0 && credited == 0 &&
           chargeback == 0;
  }
  friend bool operator==(const DailyRow&, const DailyRow&) = default;
};
struct ReasonRow {
  std::int64_t returned = 0, credited = 0;
  bool zero() const { return returned == 0 && credited == 0; }
  friend bool operator==(const ReasonRow&, const ReasonRow&) = default;
};

inline std::string key_text(const AggKey& k) {
  return "day " + std::to_string(std::get<0>(k)) + " " + std::get<1>(k) + "/" + std::get<2>(k) +
         "/" + std::get<3>(k);
}
inline std::string daily_text(const DailyRow& r) {
  return "{leads " + std::to_string(r.leads) + ", revenue " + std::to_string(r.revenue) +
         ", cost " + std::to_string(r.cost) + ", returned " + std::to_string(r.returned) +
         ", credited " + std::to_string(r.credited) + ", chargeback " +
         std::to_string(r.chargeback) + "}";
}

template <class K, class V, class KeyText, class RowText>
void diff_aggregate(const std::string& what, const std::map<K, V>& want, const std::map<K, V>& got,
                    Problems& problems, KeyText key_text_fn, RowText row_text) {
  // Missing rows count as zero rows.
  std::set<K> keys;
  for (const auto& [k, v] : want) keys.insert(k);
  for (const auto& [k, v] : got) keys.insert(k);
  int n = 0;
  for (const K& k : keys) {
    auto w = want.find(k);
    auto g = got.find(k);
    const V wv = w == want.end() ? V{} : w->second;
    const V gv = g == got.end() ? V{} : g->second;
    if (!(wv == gv) && n++ < 6) {
      problems.push_back(what + " " + key_text_fn(k) + ": recount " + row_text(wv) + ", stored " +
                         row_text(gv));
    }
  }
}

// Every aggregate row equals a recount from leads, returns and ledger.
inline void check_aggregates(Database& db, const RawData& raw, Problems& problems) {
  std::map<AggKey, DailyRow> daily;
  std::map<ReasonKey, ReasonRow> by_reason;
  auto key_of = [&](const RawLead& l) {
    return AggKey{utc_day(l.delivered_at), l.buyer_id, l.supplier_id, l.campaign_id};
  };
  auto reason_key = [&](const RawLead& l, const std::string& reason) {
    return ReasonKey{utc_day(l.delivered_at), l.buyer_id, l.supplier_id, l.campaign_id, reason};
  };
  std::map<std::string, std::vector<const ReturnCase*>> accepted_by_lead;
  for (const auto& [id, r] : raw.returns) {
    if (r.state == ReturnState::accepted) accepted_by_lead[r.lead_id].push_back(&r);
  }
  for (const auto& [id, l] : raw.leads) {
    DailyRow& d = daily[key_of(l)];
    d.leads += 1;
    d.revenue += l.price;
    d.cost += l.cost;
    if (l.returned) {
      d.returned += 1;
      auto it = accepted_by_lead.find(id);
      if (it != accepted_by_lead.end() && it->second.size() == 1 && it->second[0]->reason) {
        by_reason[reason_key(l, std::string(to_string(*it->second[0]->reason)))].returned += 1;
      }  // otherwise check_ledger reports the lead
    }
  }
  for (const LedgerEntry& e : raw.ledger) {
    auto lit = raw.leads.find(e.lead_id);
    if (lit == raw.leads.end()) {
      problems.push_back("ledger " + e.id + " names unknown lead " + e.lead_id);
      continue;
    }
    if (e.kind == EntryKind::revenue_reversal) {
      daily[key_of(lit->second)].credited -= e.amount_cents;
      auto rit = raw.returns.find(e.return_id);
      if (rit == raw.returns.end() || !rit->second.reason) {
        problems.push_back("ledger " + e.id + " names a return without a reason: " + e.return_id);
        continue;
      }
      by_reason[reason_key(lit->second, std::string(to_string(*rit->second.reason)))].credited -=
          e.amount_cents;
    } else if (e.kind == EntryKind::supplier_chargeback) {
      daily[key_of(lit->second)].chargeback -= e.amount_cents;
    }
  }
  std::map<AggKey, DailyRow> stored_daily;
  query(db,
        "SELECT day, buyer_id, supplier_id, campaign_id, leads, revenue_cents, cost_cents, "
        "returned, credited_cents, chargeback_cents FROM agg_daily",
        problems, [&](const Statement& st) {
          DailyRow r{st.int64(4), st.int64(5), st.int64(6), st.int64(7), st.int64(8), st.int64(9)};
          stored_daily[AggKey{st.int64(0), st.text(1), st.text(2), st.text(3)}] = r;
        });
  std::map<ReasonKey, ReasonRow> stored_reason;
  query(db,
        "SELECT day, buyer_id, supplier_id, campaign_id, reason, returned, credited_cents "
        "FROM agg_reason",
        problems, [&](const Statement& st) {
          stored_reason[ReasonKey{st.int64(0), st.text(1), st.text(2), st.text(3), st.text(4)}] =
              ReasonRow{st.int64(5), st.int64(6)};
        });
  diff_aggregate("agg_daily", daily, stored_daily, problems, key_text, daily_text);
  diff_aggregate(
      "agg_reason", by_reason, stored_reason, problems,
      [](const ReasonKey& k) {
        return key_text(AggKey{std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k)}) +
               " " + std::get<4>(k);
      },
      [](const ReasonRow& r) {
        return "{returned " + std::to_string(r.returned) + ", credited " +
               std::to_string(r.credited) + "}";
      });
}

// The ledger's rules (docs/domain.md "Money"), return/lead consistency and the one-open-or-
// accepted-return-per-lead rule.
inline void check_ledger(const RawData& raw, Problems& problems) {
  std::map<std::string, const LedgerEntry*> by_id;
  std::set<std::string> reversed;  // ids of originals that have a reversal
  for (const LedgerEntry& e : raw.ledger) {
    if (!by_id.emplace(e.id, &e).second) problems.push_back("ledger id twice: " + e.id);
  }
  for (const LedgerEntry& e : raw.ledger) {
    if (e.reverses.empty()) continue;
    auto it = by_id.find(e.reverses);
    if (it == by_id.end()) {
      problems.push_back("reversal " + e.id + " reverses unknown entry " + e.reverses);
      continue;
    }
    const LedgerEntry& o = *it->second;
    if (!o.reverses.empty() || e.id != o.id + "/reversal" || e.kind != o.kind ||
        e.amount_cents != -o.amount_cents || e.return_id != o.return_id || e.lead_id != o.lead_id ||
        e.buyer_id != o.buyer_id || e.supplier_id != o.supplier_id) {
      problems.push_back("reversal " + e.id + " does not mirror " + o.id);
    }
    if (!reversed.insert(o.id).second) problems.push_back(o.id + " reversed twice");
  }

  struct Sums {
    Money revenue = 0, wallet = 0, invoice = 0, chargeback = 0;
  };
  std::map<std::string, Sums> per_return, per_lead;
  Sums total;
  std::map<std::string, std::vector<const LedgerEntry*>> by_return;
  for (const LedgerEntry& e : raw.ledger) {
    by_return[e.return_id].push_back(&e);
    for (Sums* s : {&per_return[e.return_id], &per_lead[e.lead_id], &total}) {
      switch (e.kind) {
        case EntryKind::revenue_reversal:
          s->revenue += e.amount_cents;
          break;
        case EntryKind::wallet_credit:
          s->wallet += e.amount_cents;
          break;
        case EntryKind::invoice_adjustment:
          s->invoice += e.amount_cents;
          break;
        case EntryKind::supplier_chargeback:
          s->chargeback += e.amount_cents;
          break;
      }
    }
  }
  // Revenue reversed = -(wallet credits - invoice adjustments): each accept writes -c against
  // +c (prepaid) or -c (net terms), and reversals negate both sides.
  auto balanced = [](const Sums& s) { return s.revenue == -(s.wallet - s.invoice); };
  if (!balanced(total)) {
    problems.push_back("ledger does not balance: revenue " + std::to_string(total.revenue) +
                       ", wallet " + std::to_string(total.wallet) + ", invoice " +
                       std::to_string(total.invoice));
  }

  for (const auto& [rid, entries] : by_return) {
    auto rit = raw.returns.find(rid);
    if (rit == raw.returns.end()) {
      problems.push_back("ledger entries for unknown return " + rid);
      continue;
    }
    const ReturnCase& r = rit->second;
    if (!balanced(per_return[rid])) problems.push_back("return " + rid + " does not balance");
    for (const LedgerEntry* e : entries) {
      if (!e->reverses.empty()) continue;
      // "<return>#<n>/<kind>"
      const std::string prefix = rid + "#";
      const std::size_t slash = e->id.find('/', prefix.size());
      int n = 0;
      bool parsed = e->id.compare(0, prefix.size(), prefix) == 0 && slash != std::string::npos &&
                    e->id.substr(slash + 1) == to_string(e->kind);
      if (parsed) {
        const std::string num = e->id.substr(prefix.size(), slash - prefix.size());
        parsed = !num.empty() && num.size() < 7 &&
                 std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (parsed) n = std::stoi(num);
      }
      if (!parsed || n < 1 || n > r.accept_count) {
        problems.push_back("ledger id " + e->id + " does not fit return " + rid +
                           " (accept_count " + std::to_string(r.accept_count) + ")");
        continue;
      }
      const bool live = reversed.count(e->id) == 0;
      const bool should_be_live = r.state == ReturnState::accepted && n == r.accept_count;
      if (live != should_be_live) {
        problems.push_back("ledger " + e->id + (live ? " is unreversed" : " is reversed") +
                           " but return " + rid + " is " + std::string(to_string(r.state)) +
                           " with accept_count " + std::to_string(r.accept_count));
      }
    }
  }

  std::map<std::string, std::vector<const ReturnCase*>> by_lead;
  for (const auto& [id, r] : raw.returns) by_lead[r.lead_id].push_back(&r);
  for (const auto& [id, r] : raw.returns) {
    if (!raw.leads.count(r.lead_id)) problems.push_back("return " + id + " names unknown lead");
    if (raw.leads.count(r.lead_id) && raw.leads.at(r.lead_id).buyer_id != r.buyer_id) {
      problems.push_back("return " + id + " buyer differs from its lead's buyer");
    }
    const Sums s = per_return.count(id) ? per_return.at(id) : Sums{};
    if (r.state == ReturnState::accepted) {
      if (!r.decision) {
        problems.push_back("accepted return " + id + " has no decision");
        continue;
      }
      const Decision& d = *r.decision;
      auto bit = raw.buyers.find(r.buyer_id);
      const bool prepaid = bit != raw.buyers.end() && bit->second.billing == Billing::prepaid;
      const Money c = d.credit_cents;
      if (s.revenue != -c || s.wallet != (prepaid ? c : 0) || s.invoice != (prepaid ? 0 : -c) ||
          s.chargeback != -d.chargeback_cents) {
        problems.push_back("accepted return " + id + " money differs from its decision (credit " +
                           std::to_string(c) + ", net revenue " + std::to_string(s.revenue) + ")");
      }
      if (raw.leads.count(r.lead_id)) {
        const RawLead& l = raw.leads.at(r.lead_id);
        const Money expect_cb = d.charged_back ? chargeback_for(c, l.price, l.cost) : 0;
        if (d.chargeback_cents != expect_cb) {
          problems.push_back("return " + id + " charge-back " + std::to_string(d.chargeback_cents) +
                             ", expected " + std::to_string(expect_cb));
        }
        if (c < (l.price > 0 ? 1 : 0) || c > l.price) {
          problems.push_back("return " + id + " credit out of range");
        }
      }
    } else if (s.revenue != 0 || s.wallet != 0 || s.invoice != 0 || s.chargeback != 0) {
      problems.push_back("return " + id + " is " + std::string(to_string(r.state)) +
                         " but has net money");
    }
  }

  for (const auto& [lid, l] : raw.leads) {
    int accepted = 0, blocking = 0;
    const ReturnCase* acc = nullptr;
    if (auto it = by_lead.find(lid); it != by_lead.end()) {
      for (const ReturnCase* r : it->second) {
        if (r->state == ReturnState::accepted) {
          ++accepted;
          acc = r;
        }
        if (blocks_new_return(r->state)) ++blocking;
      }
    }
    if (blocking > 1) {
      problems.push_back("lead " + lid + " has " + std::to_string(blocking) +
                         " open-or-accepted returns");
    }
    const Sums s = per_lead.count(lid) ? per_lead.at(lid) : Sums{};
    if (l.returned) {
      if (accepted != 1) {
        problems.push_back("RETURNED lead " + lid + " has " + std::to_string(accepted) +
                           " accepted returns");
      } else if (acc->decision && -s.revenue != acc->decision->credit_cents) {
        problems.push_back("RETURNED lead " + lid + " net credit " + std::to_string(-s.revenue) +
                           " != decision credit " + std::to_string(acc->decision->credit_cents));
      }
    } else {
      if (accepted != 0) problems.push_back("ACCEPTED lead " + lid + " has an accepted return");
      if (s.revenue != 0 || s.wallet != 0 || s.invoice != 0 || s.chargeback != 0) {
        problems.push_back("ACCEPTED lead " + lid + " has net money");
      }
    }
  }
}

}  // namespace returns::store::model
