// schema.cc — migrations. Append new ones; never edit a migration that has shipped.
//
// Rows are stored as columns for what is queried and as `data` JSON (the core codec's canonical
// form) for what is shipped to clients, so events carry exactly what the codecs produce. Leads,
// the one table that grows to millions of rows, are columns only.
#include "store/schema.h"

#include <algorithm>
#include <array>
#include <string>

namespace returns::store {
namespace {

constexpr std::array<const char*, 4> kMigrations = {
    // 1: everything the first release needs.
    R"sql(
CREATE TABLE buyers (
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE suppliers (
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE campaigns (
  id TEXT PRIMARY KEY,
  buyer_id TEXT NOT NULL REFERENCES buyers(id),
  data TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE leads (
  id TEXT PRIMARY KEY,
  buyer_id TEXT NOT NULL REFERENCES buyers(id),
  supplier_id TEXT NOT NULL REFERENCES suppliers(id),
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  vertical TEXT NOT NULL,
  state TEXT NOT NULL,
  zip TEXT NOT NULL,
  contact_hash TEXT NOT NULL,
  tcpa_flag INTEGER NOT NULL,
  price_cents INTEGER NOT NULL,
  cost_cents INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,
  status TEXT NOT NULL
);
CREATE INDEX leads_by_buyer_contact ON leads(buyer_id, contact_hash, delivered_at);
CREATE INDEX leads_by_buyer_time ON leads(buyer_id, delivered_at);

CREATE TABLE returns (
  id TEXT PRIMARY KEY,
  lead_id TEXT NOT NULL REFERENCES leads(id),
  buyer_id TEXT NOT NULL REFERENCES buyers(id),
  state TEXT NOT NULL,
  reason TEXT,
  submitted_at INTEGER NOT NULL,
  decided_by TEXT,
  decided_at INTEGER,
  data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX returns_by_lead ON returns(lead_id);
CREATE INDEX returns_by_state ON returns(state, submitted_at);
CREATE INDEX returns_auto ON returns(buyer_id, decided_by, decided_at);

CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  return_id TEXT NOT NULL REFERENCES returns(id),
  at INTEGER NOT NULL,
  data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX messages_by_return ON messages(return_id, at);

-- Append-only. Never updated, never deleted: reversals are new rows.
CREATE TABLE ledger (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  return_id TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  buyer_id TEXT NOT NULL,
  supplier_id TEXT NOT NULL,
  amount_cents INTEGER NOT NULL,
  at INTEGER NOT NULL,
  reverses TEXT,
  data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ledger_by_return ON ledger(return_id, seq);

-- Every change, with a global version clients sync from. `buyer_id` scopes the row: NULL means
-- operators only. `data` is the full row as the core's codec writes it.
CREATE TABLE events (
  version INTEGER PRIMARY KEY AUTOINCREMENT,
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  buyer_id TEXT,
  at INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL
);

-- Exactly-once ops: the last applied seq per client and the stored result of each op.
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  last_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE op_results (
  client_id TEXT NOT NULL REFERENCES clients(client_id),
  seq INTEGER NOT NULL,
  op TEXT NOT NULL,
  status TEXT NOT NULL,
  code TEXT,
  message TEXT NOT NULL,
  version INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;

CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  day INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  data TEXT NOT NULL
) WITHOUT ROWID;

-- Aggregates by lead delivery day, maintained in the same transaction as the change.
CREATE TABLE agg_daily (
  day INTEGER NOT NULL,
  buyer_id TEXT NOT NULL,
  supplier_id TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  leads INTEGER NOT NULL DEFAULT 0,
  revenue_cents INTEGER NOT NULL DEFAULT 0,
  cost_cents INTEGER NOT NULL DEFAULT 0,
  returned INTEGER NOT NULL DEFAULT 0,
  credited_cents INTEGER NOT NULL DEFAULT 0,
  chargeback_cents INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, buyer_id, supplier_id, campaign_id)
) WITHOUT ROWID;
CREATE INDEX agg_daily_by_buyer ON agg_daily(buyer_id, day);
CREATE INDEX agg_daily_by_supplier ON agg_daily(supplier_id, day);

CREATE TABLE agg_reason (
  day INTEGER NOT NULL,
  buyer_id TEXT NOT NULL,
  supplier_id TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  returned INTEGER NOT NULL DEFAULT 0,
  credited_cents INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, buyer_id, supplier_id, campaign_id, reason)
) WITHOUT ROWID;
)sql",
    // 2: decision facts (docs/decision-facts.md). Leads carry the server-derived
    // earlier_delivery flag and the time a return last changed their status; a submit's stored
    // result carries how it was decided and on which facts. Store::open re-sends the rows this
    // changes (upgrade_events).
    R"sql(
ALTER TABLE leads ADD COLUMN earlier_delivery INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE op_results ADD COLUMN detail TEXT;
UPDATE leads SET earlier_delivery = 1 WHERE EXISTS (
  SELECT 1 FROM leads o WHERE o.buyer_id = leads.buyer_id AND o.contact_hash = leads.contact_hash
    AND o.id != leads.id
    AND (o.delivered_at < leads.delivered_at OR (o.delivered_at = leads.delivered_at AND o.id < leads.id)));
UPDATE leads SET changed_at = (SELECT MAX(at) FROM ledger WHERE ledger.lead_id = leads.id)
  WHERE id IN (SELECT lead_id FROM ledger);
)sql",
    // 3: auto-accepts counted per buyer, UTC day and rule, maintained with each change of a
    // return (was: counted over the returns table on every decision, a scan of the day's
    // auto-accepts that grew through the day).
    R"sql(
CREATE TABLE agg_auto (
  buyer_id TEXT NOT NULL,
  day INTEGER NOT NULL,
  rule TEXT NOT NULL,
  accepted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (buyer_id, day, rule)
) WITHOUT ROWID;
INSERT INTO agg_auto (buyer_id, day, rule, accepted)
  SELECT buyer_id,
         CASE WHEN decided_at >= 0 THEN decided_at / 86400000
              ELSE -((-decided_at + 86399999) / 86400000) END,
         substr(decided_by, 6), COUNT(*)
  FROM returns
  WHERE decided_by >= 'auto:' AND decided_by < 'auto;' AND state = 'accepted'
  GROUP BY 1, 2, 3;
DROP INDEX returns_auto;
)sql",
    // 4: a buyer's catch-up reads that buyer's events only (was: the whole log, page by page).
    R"sql(
CREATE INDEX events_by_buyer ON events(buyer_id, version) WHERE buyer_id IS NOT NULL;
)sql",
};

}  // namespace

int schema_version() { return static_cast<int>(kMigrations.size()); }

Status migrate(Database& db, int* from_version, int to_version) {
  Result<Statement> st = db.prepare("PRAGMA user_version");
  if (!st.ok()) return st.error();
  int current = 0;
  if (st->step()) current = static_cast<int>(st->int64(0));
  st->reset();  // a statement left running keeps its schema locked (DROP INDEX fails)
  if (from_version != nullptr) *from_version = current;
  if (current > schema_version()) {
    return make_error(ErrorCode::INTERNAL, "",
                      "The database has schema version " + std::to_string(current) +
                          ", newer than this build's " + std::to_string(schema_version()) + ".");
  }
  const int target = to_version < 0 ? schema_version() : std::min(to_version, schema_version());
  for (int v = current; v < target; ++v) {
    Transaction tx(db);
    if (!tx.begun().ok()) return tx.begun();
    if (Status s = db.exec(kMigrations[static_cast<std::size_t>(v)]); !s.ok()) return s;
    if (Status s = db.exec("PRAGMA user_version = " + std::to_string(v + 1)); !s.ok()) return s;
    if (Status s = tx.commit(); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace returns::store
