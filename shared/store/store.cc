// store.cc — op application, lead ingest and the event log over SQLite. Every write path goes
// through write_effects(), which keeps rows, events and aggregates in step.
#include "store/store.h"

#include <map>
#include <set>

#include "core/decision_facts.h"
#include "store/reports.h"
#include "store/schema.h"
#include "store/sqlite_case_view.h"

namespace returns::store {

std::string principal_key(const Actor& a) {
  return a.role == Role::operator_ ? "operator:" + a.subject : "buyer:" + a.buyer_id;
}

class Store::Impl {
 public:
  explicit Impl(Database& db) : db_(db), view_(db) {}

  Database& db_;
  SqliteCaseView view_;
  std::int64_t ledger_seq_ = 0;
  std::int64_t head_ = 0;
  // Events as written, for the fan-out (Store::take_written_events); rolled-back ones included.
  bool capture_ = false;
  std::vector<Event> written_;
  // (buyer, UTC day) whose BuyerDay row changed in the current op or ingest: flush_days() sends
  // them before the op's result (or the ingest's commit) so its version covers them.
  std::set<std::pair<std::string, std::int64_t>> dirty_days_;

  Status load_counters() {
    Result<Statement> st = db_.prepare("SELECT COALESCE(MAX(seq), 0) FROM ledger");
    if (!st.ok()) return st.error();
    if (st->step()) ledger_seq_ = st->int64(0);
    Result<Statement> hv = db_.prepare("SELECT COALESCE(MAX(version), 0) FROM events");
    if (!hv.ok()) return hv.error();
    if (hv->step()) head_ = hv->int64(0);
    // AUTOINCREMENT never reuses versions, even after compaction; keep head in step with it.
    Result<Statement> seqst = db_.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
    if (seqst.ok() && seqst->step()) head_ = std::max(head_, seqst->int64(0));
    return Status::Ok();
  }

  Status event(std::string_view entity, const std::string& id, const std::string& buyer_id,
               Millis at, const Json& data, bool deleted = false) {
    return event_text(entity, id, buyer_id, at, data.dump(), deleted);
  }
  // The same with the row already serialized (when the table row stores the same text).
  Status event_text(std::string_view entity, const std::string& id, const std::string& buyer_id,
                    Millis at, std::string text, bool deleted = false) {
    Statement& st = db_.cached(
        "INSERT INTO events (entity, entity_id, buyer_id, at, deleted, data) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st.bind(1, entity).bind(2, id).bind(4, at).bind(5, deleted ? 1 : 0).bind(6, text);
    if (buyer_id.empty()) {
      st.bind_null(3);
    } else {
      st.bind(3, buyer_id);
    }
    Status s = st.run();
    if (!s.ok()) return s;
    head_ = db_.last_insert_rowid();
    if (capture_) {
      written_.push_back(
          Event{head_, std::string(entity), id, buyer_id, at, std::move(text), deleted});
    }
    return s;
  }

  // Adds deltas to the aggregate row of a lead (keyed by its delivery day).
  Status add_daily(const Lead& l, std::int64_t leads, Money revenue, Money cost,
                   std::int64_t returned, Money credited, Money chargeback) {
    Statement& st = db_.cached(
        "INSERT INTO agg_daily (day, buyer_id, supplier_id, campaign_id, leads, revenue_cents, "
        "cost_cents, returned, credited_cents, chargeback_cents) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
        "ON CONFLICT (day, buyer_id, supplier_id, campaign_id) DO UPDATE SET "
        "leads = leads + excluded.leads, revenue_cents = revenue_cents + excluded.revenue_cents, "
        "cost_cents = cost_cents + excluded.cost_cents, returned = returned + excluded.returned, "
        "credited_cents = credited_cents + excluded.credited_cents, "
        "chargeback_cents = chargeback_cents + excluded.chargeback_cents");
    st.bind(1, utc_day(l.delivered_at))
        .bind(2, l.buyer_id)
        .bind(3, l.supplier_id)
        .bind(4, l.campaign_id)
        .bind(5, leads)
        .bind(6, revenue)
        .bind(7, cost)
        .bind(8, returned)
        .bind(9, credited)
        .bind(10, chargeback);
    return st.run();
  }

  Status add_reason(const Lead& l, std::string_view reason, std::int64_t returned, Money credited) {
    Statement& st = db_.cached(
        "INSERT INTO agg_reason (day, buyer_id, supplier_id, campaign_id, reason, returned, "
        "credited_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (day, buyer_id, supplier_id, campaign_id, reason) DO UPDATE SET "
        "returned = returned + excluded.returned, "
        "credited_cents = credited_cents + excluded.credited_cents");
    st.bind(1, utc_day(l.delivered_at))
        .bind(2, l.buyer_id)
        .bind(3, l.supplier_id)
        .bind(4, l.campaign_id)
        .bind(5, reason)
        .bind(6, returned)
        .bind(7, credited);
    return st.run();
  }

  Status upsert_return(const ReturnCase& r, const std::string& text) {
    Statement& st = db_.cached(
        "INSERT INTO returns (id, lead_id, buyer_id, state, reason, submitted_at, decided_by, "
        "decided_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (id) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
        "submitted_at = excluded.submitted_at, decided_by = excluded.decided_by, "
        "decided_at = excluded.decided_at, data = excluded.data");
    st.bind(1, r.id)
        .bind(2, r.lead_id)
        .bind(3, r.buyer_id)
        .bind(4, to_string(r.state))
        .bind(6, r.submitted_at)
        .bind(9, text);
    if (r.reason) {
      st.bind(5, to_string(*r.reason));
    } else {
      st.bind_null(5);
    }
    if (r.decision) {
      st.bind(7, r.decision->by).bind(8, r.decision->at);
    } else {
      st.bind_null(7).bind_null(8);
    }
    return st.run();
  }

  Status insert_lead(const Lead& l) {
    Statement& st = db_.cached(
        "INSERT INTO leads (id, buyer_id, supplier_id, campaign_id, vertical, state, zip, "
        "contact_hash, tcpa_flag, price_cents, cost_cents, delivered_at, status, "
        "earlier_delivery, changed_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
    st.bind(1, l.id)
        .bind(2, l.buyer_id)
        .bind(3, l.supplier_id)
        .bind(4, l.campaign_id)
        .bind(5, l.vertical)
        .bind(6, l.state)
        .bind(7, l.zip)
        .bind(8, l.contact_hash)
        .bind(9, l.tcpa_flag ? 1 : 0)
        .bind(10, l.price_cents)
        .bind(11, l.cost_cents)
        .bind(12, l.delivered_at)
        .bind(13, to_string(l.status))
        .bind(14, l.earlier_delivery ? 1 : 0)
        .bind(15, l.changed_at);
    return st.run();
  }

  // The buyer's facts row for one UTC day, from the aggregates and the auto-decided returns.
  BuyerDay buyer_day(const std::string& buyer_id, std::int64_t day) {
    BuyerDay d;
    d.buyer_id = buyer_id;
    d.day = day;
    Statement& agg = db_.cached(
        "SELECT COALESCE(SUM(leads), 0), COALESCE(SUM(returned), 0) FROM agg_daily "
        "WHERE buyer_id = ?1 AND day = ?2");
    agg.bind(1, buyer_id).bind(2, day);
    if (agg.step()) {
      d.sold = agg.int64(0);
      d.returned = agg.int64(1);
    }
    agg.reset();
    Statement& autos = db_.cached(
        "SELECT rule, accepted FROM agg_auto WHERE buyer_id = ?1 AND day = ?2 AND accepted > 0");
    autos.bind(1, buyer_id).bind(2, day);
    while (autos.step()) d.auto_accepted[autos.text(0)] = static_cast<int>(autos.int64(1));
    autos.reset();
    return d;
  }

  void touch_day(const std::string& buyer_id, std::int64_t day) {
    dirty_days_.insert({buyer_id, day});
  }
  // A return as the per-day auto-accept counts see it: `delta` +1 for its state after a change,
  // -1 for its state before, so agg_auto counts the accepted returns an automatic rule decided.
  Status count_auto(const ReturnCase& r, std::int64_t delta) {
    if (r.state != ReturnState::accepted || !r.decision) return Status::Ok();
    const std::optional<std::string> rule = auto_rule_of(*r.decision);
    if (!rule) return Status::Ok();
    const std::int64_t day = utc_day(r.decision->at);
    touch_day(r.buyer_id, day);
    Statement& st = db_.cached(
        "INSERT INTO agg_auto (buyer_id, day, rule, accepted) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (buyer_id, day, rule) DO UPDATE SET accepted = accepted + excluded.accepted");
    st.bind(1, r.buyer_id).bind(2, day).bind(3, *rule).bind(4, delta);
    return st.run();
  }

  Status flush_days(Millis now) {
    for (const auto& [buyer_id, day] : dirty_days_) {
      const BuyerDay d = buyer_day(buyer_id, day);
      if (Status s = event("buyer_day", buyer_day_id(buyer_id, day), buyer_id, now, to_json(d));
          !s.ok()) {
        return s;
      }
    }
    dirty_days_.clear();
    return Status::Ok();
  }

  // A new lead's earlier_delivery flag, and the flag of the lead that was the earliest delivery
  // of its contact until now (set when the new lead sorts before it: late ingest).
  Status mark_earlier_deliveries(Lead& l, Millis now) {
    l.earlier_delivery =
        view_.delivered_before_by_index(l.buyer_id, l.contact_hash, l.id, l.delivered_at);
    if (l.earlier_delivery) return Status::Ok();
    Statement& later = db_.cached(
        "SELECT id FROM leads WHERE buyer_id = ?1 AND contact_hash = ?2 AND id != ?3 AND "
        "earlier_delivery = 0 AND (delivered_at > ?4 OR (delivered_at = ?4 AND id > ?3))");
    later.bind(1, l.buyer_id).bind(2, l.contact_hash).bind(3, l.id).bind(4, l.delivered_at);
    std::vector<std::string> ids;
    while (later.step()) ids.push_back(later.text(0));
    later.reset();
    for (const std::string& id : ids) {
      Statement& up =
          db_.cached("UPDATE leads SET earlier_delivery = 1, changed_at = ?2 WHERE id = ?1");
      up.bind(1, id).bind(2, now);
      if (Status s = up.run(); !s.ok()) return s;
      view_.forget_lead(id);
      const Lead* changed = view_.find_lead(id);
      if (changed == nullptr) continue;
      if (Status s = event("lead", id, changed->buyer_id, now, to_json(*changed)); !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }

  // One op's moves of the aggregates, summed per lead and written once per row (an accept
  // moves the same agg_daily row for the return and for the credit).
  struct AggDelta {
    Lead lead;
    std::int64_t returned = 0;
    Money credited = 0;
    Money chargeback = 0;
    std::map<std::string, std::pair<std::int64_t, Money>> reasons;  // returned, credited
  };
  struct AggDeltas {
    std::map<std::string, AggDelta> by_lead;
    AggDelta& of(const Lead& l) {
      auto [it, fresh] = by_lead.try_emplace(l.id);
      if (fresh) it->second.lead = l;
      return it->second;
    }
    Status write(Impl& store) {
      for (const auto& [id, d] : by_lead) {
        if (d.returned != 0 || d.credited != 0 || d.chargeback != 0) {
          if (Status s = store.add_daily(d.lead, 0, 0, 0, d.returned, d.credited, d.chargeback);
              !s.ok()) {
            return s;
          }
        }
        for (const auto& [reason, moved] : d.reasons) {
          if (Status s = store.add_reason(d.lead, reason, moved.first, moved.second); !s.ok()) {
            return s;
          }
        }
      }
      return Status::Ok();
    }
  };

  Status write_effects(const Effects& fx, Millis now) {
    AggDeltas deltas;
    // The lead as it was before this op: its key for aggregates.
    std::optional<Lead> before;
    if (fx.ret) {
      if (const Lead* l = view_.find_lead(fx.ret->lead_id)) before = *l;
      if (const ReturnCase* r = view_.find_return(fx.ret->id)) {
        if (Status s = count_auto(*r, -1); !s.ok()) return s;
      }
      if (!fx.return_deleted) {
        if (Status s = count_auto(*fx.ret, +1); !s.ok()) return s;
      }
    }
    if (fx.ret) {
      if (fx.return_deleted) {
        Statement& st = db_.cached("DELETE FROM returns WHERE id = ?1");
        st.bind(1, fx.ret->id);
        if (Status s = st.run(); !s.ok()) return s;
        if (Status s = event("return", fx.ret->id, fx.ret->buyer_id, now,
                             Json{{"id", fx.ret->id}, {"deleted", true}}, true);
            !s.ok()) {
          return s;
        }
      } else {
        std::string text = to_json(*fx.ret).dump();
        if (Status s = upsert_return(*fx.ret, text); !s.ok()) return s;
        if (Status s = event_text("return", fx.ret->id, fx.ret->buyer_id, now, std::move(text));
            !s.ok()) {
          return s;
        }
      }
    }
    if (fx.lead) {
      Lead lead = *fx.lead;
      if (before && before->status != lead.status) lead.changed_at = now;
      Statement& st = db_.cached("UPDATE leads SET status = ?2, changed_at = ?3 WHERE id = ?1");
      st.bind(1, lead.id).bind(2, to_string(lead.status)).bind(3, lead.changed_at);
      if (Status s = st.run(); !s.ok()) return s;
      if (Status s = event("lead", lead.id, lead.buyer_id, now, to_json(lead)); !s.ok()) {
        return s;
      }
      touch_day(lead.buyer_id, utc_day(lead.delivered_at));
      if (before && before->status != fx.lead->status && fx.ret && fx.ret->reason) {
        const std::int64_t delta = fx.lead->status == LeadStatus::returned ? 1 : -1;
        AggDelta& d = deltas.of(*fx.lead);
        d.returned += delta;
        d.reasons[std::string(to_string(*fx.ret->reason))].first += delta;
      }
    }
    for (const LedgerEntry& e : fx.ledger) {
      Statement& st = db_.cached(
          "INSERT OR IGNORE INTO ledger (id, seq, kind, return_id, lead_id, buyer_id, "
          "supplier_id, amount_cents, at, reverses, data) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      std::string text = to_json(e).dump();
      st.bind(1, e.id)
          .bind(2, ledger_seq_ + 1)
          .bind(3, to_string(e.kind))
          .bind(4, e.return_id)
          .bind(5, e.lead_id)
          .bind(6, e.buyer_id)
          .bind(7, e.supplier_id)
          .bind(8, e.amount_cents)
          .bind(9, e.at)
          .bind(11, text);
      if (e.reverses.empty()) {
        st.bind_null(10);
      } else {
        st.bind(10, e.reverses);
      }
      if (Status s = st.run(); !s.ok()) return s;
      if (db_.changes() == 0) continue;  // already applied: money moves once
      ++ledger_seq_;
      // Charge-backs reveal supplier cost: operators only.
      const std::string scope = e.kind == EntryKind::supplier_chargeback ? "" : e.buyer_id;
      if (Status s = event_text("ledger", e.id, scope, now, std::move(text)); !s.ok()) return s;
      const Lead* lead = view_.find_lead(e.lead_id);
      if (lead == nullptr) continue;
      if (e.kind == EntryKind::revenue_reversal) {
        AggDelta& d = deltas.of(*lead);
        d.credited -= e.amount_cents;
        const ReturnCase* r = fx.ret && fx.ret->id == e.return_id ? &*fx.ret : nullptr;
        if (r != nullptr && r->reason) {
          d.reasons[std::string(to_string(*r->reason))].second -= e.amount_cents;
        }
      } else if (e.kind == EntryKind::supplier_chargeback) {
        deltas.of(*lead).chargeback -= e.amount_cents;
      }
    }
    if (Status s = deltas.write(*this); !s.ok()) return s;
    if (fx.message) {
      Statement& st = db_.cached(
          "INSERT OR IGNORE INTO messages (id, return_id, at, data) VALUES (?1, ?2, ?3, ?4)");
      st.bind(1, fx.message->id)
          .bind(2, fx.message->return_id)
          .bind(3, fx.message->at)
          .bind(4, to_json(*fx.message).dump());
      if (Status s = st.run(); !s.ok()) return s;
      if (db_.changes() > 0) {
        const std::string scope = fx.ret ? fx.ret->buyer_id : "";
        if (Status s = event("message", fx.message->id, scope, now, to_json(*fx.message));
            !s.ok()) {
          return s;
        }
      }
    }
    if (fx.buyer) {
      if (Status s = put_buyer_row(*fx.buyer, now); !s.ok()) return s;
    }
    if (fx.alert) {
      Json data = to_json(*fx.alert);
      const std::string id = "routing:" + fx.alert->return_id;
      if (Status s = insert_alert(id, "routing_filter", fx.alert->lead_id, now, data); !s.ok()) {
        return s;
      }
    }
    // Forget what this op changed; the buyer's row (a policy) is forgotten by put_buyer_row.
    if (fx.ret) {
      view_.forget_return(fx.ret->id);
      view_.forget_lead(fx.ret->lead_id);
    }
    if (fx.lead) view_.forget_lead(fx.lead->id);
    return Status::Ok();
  }

  Status insert_alert(const std::string& id, std::string_view kind, const std::string& subject,
                      Millis now, Json data) {
    data["id"] = id;
    data["kind"] = kind;
    data["subject_id"] = subject;
    data["created_at"] = now;
    Statement& st = db_.cached(
        "INSERT OR IGNORE INTO alerts (id, kind, subject_id, day, created_at, data) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st.bind(1, id)
        .bind(2, kind)
        .bind(3, subject)
        .bind(4, utc_day(now))
        .bind(5, now)
        .bind(6, data.dump());
    if (Status s = st.run(); !s.ok()) return s;
    if (db_.changes() == 0) return Status::Ok();
    return event("alert", id, "", now, data);
  }

  Status put_buyer_row(const Buyer& b, Millis now) {
    Statement& st = db_.cached(
        "INSERT INTO buyers (id, data) VALUES (?1, ?2) "
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data");
    const Json j = to_json(b);
    st.bind(1, b.id).bind(2, j.dump());
    if (Status s = st.run(); !s.ok()) return s;
    view_.invalidate();
    return event("buyer", b.id, b.id, now, j);
  }

  std::int64_t last_seq(const std::string& client_id, std::string* principal) {
    Statement& st = db_.cached("SELECT last_seq, principal FROM clients WHERE client_id = ?1");
    st.bind(1, client_id);
    std::int64_t seq = 0;
    if (st.step()) {
      seq = st.int64(0);
      if (principal != nullptr) *principal = st.text(1);
    }
    st.reset();
    return seq;
  }

  std::optional<OpResult> stored_result(const std::string& client_id, std::int64_t seq) {
    Statement& st = db_.cached(
        "SELECT op, status, code, message, version, detail FROM op_results "
        "WHERE client_id = ?1 AND seq = ?2");
    st.bind(1, client_id).bind(2, seq);
    std::optional<OpResult> r;
    if (st.step()) {
      r = OpResult{};
      r->client_id = client_id;
      r->seq = seq;
      r->op = st.text(0);
      r->applied = st.text(1) == "applied";
      if (!st.is_null(2)) r->code = error_code_from_string(st.text(2));
      r->message = st.text(3);
      r->version = st.int64(4);
      if (!st.is_null(5)) {
        if (Result<Json> d = parse_json(st.text(5)); d.ok()) r->decision = std::move(d).value();
      }
      r->duplicate = true;
    }
    st.reset();
    return r;
  }

  Status record_result(const OpResult& r, const std::string& principal, Millis now) {
    Statement& up = db_.cached(
        "INSERT INTO clients (client_id, principal, last_seq) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq");
    up.bind(1, r.client_id).bind(2, principal).bind(3, r.seq);
    if (Status s = up.run(); !s.ok()) return s;
    Statement& st = db_.cached(
        "INSERT INTO op_results (client_id, seq, op, status, code, message, version, at, detail) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    st.bind(1, r.client_id)
        .bind(2, r.seq)
        .bind(3, r.op)
        .bind(4, r.applied ? "applied" : "rejected")
        .bind(6, r.message)
        .bind(7, r.version)
        .bind(8, now);
    if (r.code) {
      st.bind(5, to_string(*r.code));
    } else {
      st.bind_null(5);
    }
    if (r.decision) {
      st.bind(9, r.decision->dump());
    } else {
      st.bind_null(9);
    }
    return st.run();
  }

  // Applies one op whose seq is next for its client. Refusals are results, not errors; an
  // error means a write failed and the batch must roll back.
  Result<OpResult> apply_one(const OpRequest& req, Millis now) {
    OpResult res;
    res.client_id = req.client_id;
    res.seq = req.seq;
    res.op = req.op;
    Result<OpArgs> args = decode_op_args(req.op, req.args);
    if (!args.ok()) {
      res.code = args.error().code;
      res.message = args.error().message;
    } else {
      Result<Effects> fx = apply_op(req.actor, *args, view_, now);
      if (fx.ok()) {
        if (Status s = write_effects(*fx, now); !s.ok()) return s.error();
        res.applied = true;
        res.message = "applied";
        if (std::optional<SubmitDecision> d = submit_decision(*fx)) res.decision = to_json(*d);
      } else {
        res.code = fx.error().code;
        res.message = fx.error().message;
        if (const auto* submit = std::get_if<SubmitReturnArgs>(&*args)) {
          if (auto kept = keep_refused_draft(req.actor, *submit, fx.error(), view_, now)) {
            if (Status s = write_effects(*kept, now); !s.ok()) return s.error();
          }
        }
      }
    }
    if (Status s = flush_days(now); !s.ok()) return s.error();
    res.version = head_;
    return res;
  }

  // After an upgrade to schema 2: the lead rows whose derived fields the migration set, and a
  // BuyerDay row for every day with leads or auto-accepts, as events, so replicas receive them.
  Status upgrade_events(Millis now) {
    Transaction tx(db_);
    if (!tx.begun().ok()) return tx.begun();
    const std::int64_t head_before = head_;
    auto fail = [&](const Status& s) {
      head_ = head_before;
      dirty_days_.clear();
      return s;
    };
    std::vector<Lead> changed;
    {
      Statement& st = db_.cached(std::string("SELECT ") + SqliteCaseView::kLeadColumns +
                                 " FROM leads WHERE earlier_delivery = 1 OR changed_at > 0");
      while (st.step()) changed.push_back(SqliteCaseView::read_lead(st, 0));
      st.reset();
    }
    for (const Lead& l : changed) {
      if (Status s = event("lead", l.id, l.buyer_id, now, to_json(l)); !s.ok()) return fail(s);
    }
    {
      Statement& st = db_.cached(
          "SELECT buyer_id, day FROM agg_daily UNION SELECT buyer_id, decided_at / 86400000 "
          "FROM returns WHERE decided_by >= 'auto:' AND decided_by < 'auto;' AND state = "
          "'accepted'");
      while (st.step()) touch_day(st.text(0), st.int64(1));
      st.reset();
    }
    if (Status s = flush_days(now); !s.ok()) return fail(s);
    if (Status s = tx.commit(); !s.ok()) return fail(s);
    return Status::Ok();
  }
};

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  Result<std::unique_ptr<Database>> db = Database::open(path, options.sync);
  if (!db.ok()) return db.error();
  if (Status s = (*db)->exec("PRAGMA cache_size = -" + std::to_string(options.cache_mib * 1024));
      !s.ok()) {
    return s.error();
  }
  int found_version = 0;
  if (Status s = migrate(**db, &found_version); !s.ok()) return s.error();
  std::unique_ptr<Store> store(new Store());
  store->db_ = std::move(db).value();
  store->impl_ = std::make_unique<Impl>(*store->db_);
  if (Status s = store->impl_->load_counters(); !s.ok()) return s.error();
  if (found_version == 1) {
    if (Status s = store->impl_->upgrade_events(options.upgrade_time); !s.ok()) return s.error();
  }
  return store;
}

Store::~Store() = default;

CaseView& Store::view() {
  impl_->view_.invalidate();
  return impl_->view_;
}

const Buyer* Store::find_buyer(const std::string& id) { return impl_->view_.find_buyer(id); }

Status Store::put_buyer(const Buyer& buyer, Millis now) {
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun();
  if (Status s = impl_->put_buyer_row(buyer, now); !s.ok()) return s;
  return tx.commit();
}

Status Store::put_supplier(const Supplier& supplier, Millis now) {
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun();
  Statement& st = db_->cached(
      "INSERT INTO suppliers (id, data) VALUES (?1, ?2) "
      "ON CONFLICT (id) DO UPDATE SET data = excluded.data");
  const Json j = to_json(supplier);
  st.bind(1, supplier.id).bind(2, j.dump());
  if (Status s = st.run(); !s.ok()) return s;
  if (Status s = impl_->event("supplier", supplier.id, "", now, j); !s.ok()) return s;
  impl_->view_.invalidate();
  return tx.commit();
}

Status Store::put_campaign(const Campaign& campaign, Millis now) {
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun();
  if (impl_->view_.find_buyer(campaign.buyer_id) == nullptr) {
    return make_error(ErrorCode::BUYER_NOT_FOUND, "buyer_id", "No buyer with this id.");
  }
  Statement& st = db_->cached(
      "INSERT INTO campaigns (id, buyer_id, data) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET buyer_id = excluded.buyer_id, data = excluded.data");
  const Json j = to_json(campaign);
  st.bind(1, campaign.id).bind(2, campaign.buyer_id).bind(3, j.dump());
  if (Status s = st.run(); !s.ok()) return s;
  if (Status s = impl_->event("campaign", campaign.id, campaign.buyer_id, now, j); !s.ok()) {
    return s;
  }
  impl_->view_.invalidate();
  return tx.commit();
}

Result<IngestResult> Store::ingest_leads(std::span<const Lead> leads, Millis now) {
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun().error();
  IngestResult out;
  SqliteCaseView& view = impl_->view_;
  const std::int64_t head_before = impl_->head_;
  auto fail = [&](const Error& e) -> Result<IngestResult> {
    impl_->head_ = head_before;  // rolled back with the transaction
    impl_->dirty_days_.clear();
    view.invalidate();
    return e;
  };
  view.invalidate();
  for (std::size_t i = 0; i < leads.size(); ++i) {
    const Lead& l = leads[i];
    const std::string field = "leads[" + std::to_string(i) + "]";
    auto refuse = [&](ErrorCode code, std::string message) {
      out.refused.push_back(make_error(code, field, "Lead " + l.id + ": " + std::move(message)));
    };
    if (const Lead* existing = view.find_lead(l.id)) {
      Lead as_sent = l;
      // The platform knows nothing of returns or of the fields the server derives.
      as_sent.status = existing->status;
      as_sent.changed_at = existing->changed_at;
      as_sent.earlier_delivery = existing->earlier_delivery;
      if (as_sent == *existing) {
        ++out.unchanged;
      } else {
        refuse(ErrorCode::LEAD_CONFLICT, "a lead with this id was ingested with other values.");
      }
      continue;
    }
    if (l.status != LeadStatus::accepted) {
      refuse(ErrorCode::INVALID_ENUM, "leads are ingested as ACCEPTED; returns come through ops.");
      continue;
    }
    if (view.find_buyer(l.buyer_id) == nullptr) {
      refuse(ErrorCode::BUYER_NOT_FOUND, "unknown buyer " + l.buyer_id + ".");
      continue;
    }
    if (view.find_supplier(l.supplier_id) == nullptr) {
      refuse(ErrorCode::SUPPLIER_NOT_FOUND, "unknown supplier " + l.supplier_id + ".");
      continue;
    }
    const Campaign* c = view.find_campaign(l.campaign_id);
    if (c == nullptr || c->buyer_id != l.buyer_id) {
      refuse(ErrorCode::CAMPAIGN_NOT_FOUND,
             "campaign " + l.campaign_id + " is unknown or belongs to another buyer.");
      continue;
    }
    Lead lead = l;
    lead.changed_at = 0;
    if (Status s = impl_->mark_earlier_deliveries(lead, now); !s.ok()) return fail(s.error());
    if (Status s = impl_->insert_lead(lead); !s.ok()) return fail(s.error());
    if (Status s = impl_->event("lead", lead.id, lead.buyer_id, now, to_json(lead)); !s.ok()) {
      return fail(s.error());
    }
    if (Status s = impl_->add_daily(lead, 1, lead.price_cents, lead.cost_cents, 0, 0, 0); !s.ok()) {
      return fail(s.error());
    }
    impl_->touch_day(lead.buyer_id, utc_day(lead.delivered_at));
    view.forget_lead(l.id);  // the next lead in the batch may be a re-send of this one
    ++out.inserted;
  }
  if (Status s = impl_->flush_days(now); !s.ok()) return fail(s.error());
  if (Status s = tx.commit(); !s.ok()) return fail(s.error());
  out.version = impl_->head_;
  return out;
}

Result<std::vector<OpResult>> Store::apply_ops(std::span<const OpRequest> ops, Millis now) {
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun().error();
  impl_->view_.invalidate();
  const std::int64_t head_before = impl_->head_;
  const std::int64_t ledger_seq_before = impl_->ledger_seq_;
  // A rolled-back batch leaves no trace, counters included.
  auto roll_back = [&] {
    impl_->head_ = head_before;
    impl_->ledger_seq_ = ledger_seq_before;
    impl_->dirty_days_.clear();
    impl_->view_.invalidate();
  };
  std::vector<OpResult> results;
  results.reserve(ops.size());
  for (const OpRequest& req : ops) {
    std::string principal;
    const std::int64_t last = impl_->last_seq(req.client_id, &principal);
    const std::string who = principal_key(req.actor);
    if (!principal.empty() && principal != who) {
      results.push_back(OpResult{req.client_id, req.seq, req.op, false, ErrorCode::FORBIDDEN,
                                 "This client id belongs to another principal.", impl_->head_,
                                 false, std::nullopt});
      continue;
    }
    if (req.seq <= last) {
      if (auto stored = impl_->stored_result(req.client_id, req.seq)) {
        results.push_back(*stored);
      } else {
        results.push_back(OpResult{req.client_id, req.seq, req.op, false, ErrorCode::SEQ_GAP,
                                   "This seq is older than the stored results.", impl_->head_, true,
                                   std::nullopt});
      }
      continue;
    }
    if (req.seq != last + 1) {
      results.push_back(OpResult{req.client_id, req.seq, req.op, false, ErrorCode::SEQ_GAP,
                                 "Expected seq " + std::to_string(last + 1) + ".", impl_->head_,
                                 false, std::nullopt});
      continue;
    }
    Result<OpResult> r = impl_->apply_one(req, now);
    if (!r.ok()) {
      roll_back();
      return r.error();
    }
    if (Status s = impl_->record_result(*r, who, now); !s.ok()) {
      roll_back();
      return s.error();
    }
    results.push_back(std::move(r).value());
  }
  if (Status s = tx.commit(); !s.ok()) {
    roll_back();
    return s.error();
  }
  return results;
}

Result<std::vector<Alert>> Store::detect_spikes(Millis now) {
  Result<std::vector<Spike>> spikes = find_spikes(*db_, now);
  if (!spikes.ok()) return spikes.error();
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun().error();
  const std::int64_t head_before = impl_->head_;
  std::vector<Alert> raised;
  for (const Spike& s : *spikes) {
    const std::string id = s.kind + ":" + s.subject_id + ":" + std::to_string(utc_day(now));
    const std::int64_t before = impl_->head_;
    if (Status st = impl_->insert_alert(id, s.kind, s.subject_id, now, to_json(s)); !st.ok()) {
      impl_->head_ = head_before;
      return st.error();
    }
    if (impl_->head_ != before) raised.push_back(Alert{id, s.kind, s.subject_id, now, to_json(s)});
  }
  if (Status st = tx.commit(); !st.ok()) {
    impl_->head_ = head_before;
    return st.error();
  }
  return raised;
}

namespace {

std::vector<Event> read_events(Statement& st) {
  std::vector<Event> out;
  while (st.step()) {
    Event e;
    e.version = st.int64(0);
    e.entity = st.text(1);
    e.entity_id = st.text(2);
    e.buyer_id = st.is_null(3) ? std::string() : st.text(3);
    e.at = st.int64(4);
    e.deleted = st.int64(5) != 0;
    e.data = st.text(6);
    out.push_back(std::move(e));
  }
  st.reset();
  return out;
}

}  // namespace

std::vector<Event> Store::events_since(std::int64_t cursor, std::size_t limit) {
  Statement& st = db_->cached(
      "SELECT version, entity, entity_id, buyer_id, at, deleted, data FROM events "
      "WHERE version > ?1 ORDER BY version LIMIT ?2");
  st.bind(1, cursor).bind(2, static_cast<std::int64_t>(limit));
  return read_events(st);
}

std::vector<Event> Store::buyer_events_since(const std::string& buyer_id, std::int64_t cursor,
                                             std::size_t limit) {
  Statement& st = db_->cached(
      "SELECT version, entity, entity_id, buyer_id, at, deleted, data FROM events "
      "WHERE buyer_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3");
  st.bind(1, buyer_id).bind(2, cursor).bind(3, static_cast<std::int64_t>(limit));
  return read_events(st);
}

sync::StoredEvent to_stored(Event event) {
  return sync::StoredEvent{event.version,
                           std::move(event.entity),
                           std::move(event.entity_id),
                           std::move(event.buyer_id),
                           std::move(event.data),
                           event.deleted};
}

std::vector<sync::StoredEvent> to_stored(std::vector<Event>&& events) {
  std::vector<sync::StoredEvent> out;
  out.reserve(events.size());
  for (Event& e : events) out.push_back(to_stored(std::move(e)));
  return out;
}

std::int64_t Store::head_version() { return impl_->head_; }

void Store::capture_written_events(bool on) {
  impl_->capture_ = on;
  impl_->written_.clear();
}

std::vector<Event> Store::take_written_events() {
  std::vector<Event> out;
  out.swap(impl_->written_);
  return out;
}

std::int64_t Store::min_version() {
  Statement& st = db_->cached("SELECT MIN(version) FROM events");
  std::int64_t v = impl_->head_;
  if (st.step() && !st.is_null(0)) v = st.int64(0) - 1;
  st.reset();
  return v;
}

std::optional<std::string> Store::client_principal(const std::string& client_id) {
  std::string principal;
  impl_->last_seq(client_id, &principal);
  if (principal.empty()) return std::nullopt;
  return principal;
}

std::int64_t Store::last_seq(const std::string& client_id) {
  return impl_->last_seq(client_id, nullptr);
}

std::vector<Alert> Store::alerts() {
  std::vector<Alert> out;
  Statement& st = db_->cached(
      "SELECT id, kind, subject_id, created_at, data FROM alerts ORDER BY created_at, id");
  while (st.step()) {
    Alert a;
    a.id = st.text(0);
    a.kind = st.text(1);
    a.subject_id = st.text(2);
    a.created_at = st.int64(3);
    Result<Json> j = parse_json(st.text(4));
    if (j.ok()) a.data = std::move(j).value();
    out.push_back(std::move(a));
  }
  st.reset();
  return out;
}

}  // namespace returns::store
