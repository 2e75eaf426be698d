// store.h — the authoritative state in SQLite (docs/protocol.md, docs/server.md). Applies batches
// of ops from many clients through the core in one transaction each: effects, event log, per-client
// op results and aggregates are written together, so an op is either wholly applied and answered,
// or not at all. Single-threaded: the server's group writer (group_writer.h) is its only caller.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/lifecycle.h"
#include "store/sqlite_db.h"
#include "sync/server_rules.h"

namespace returns::store {

struct StoreOptions {
  Database::Sync sync = Database::Sync::full;  // acknowledged = durable
  // The `at` of the events an upgrade of an older database writes (the server passes its clock).
  Millis upgrade_time = 0;
  // SQLite's page cache for this connection. The default 2 MiB makes every op re-read index
  // pages from the OS once the leads outgrow it.
  int cache_mib = 64;
};

// One op as a client pushed it.
struct OpRequest {
  std::string client_id;
  std::int64_t seq = 0;  // counts up by 1 per client_id
  Actor actor;
  std::string op;  // wire name
  Json args;
  Millis client_time = 0;  // informational
};

// The answer to one op. Stored with the op, so a resend gets the very same answer.
struct OpResult {
  std::string client_id;
  std::int64_t seq = 0;
  std::string op;
  bool applied = false;
  std::optional<ErrorCode> code;  // set when refused; SEQ_GAP results are not stored
  std::string message;
  std::int64_t version = 0;  // event-log version that covers this op's effects
  bool duplicate = false;    // answered from the stored result of an earlier delivery
  // An applied submit_return: how it was decided and on which facts (core SubmitDecision JSON).
  std::optional<Json> decision;
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

struct Event {
  std::int64_t version = 0;
  std::string entity;  // buyer, supplier, campaign, lead, return, message, ledger, alert,
                       // buyer_day
  std::string entity_id;
  std::string buyer_id;  // scope: empty = operators only
  Millis at = 0;
  std::string data;      // the full row as JSON (core codec)
  bool deleted = false;  // a discarded draft: data is {"id": ...}
};

// Events as the sync rules take them (catch-up and fan-out: sync/server_rules.h), the strings
// moved out of the store's events (Store::events_since, take_written_events).
sync::StoredEvent to_stored(Event event);
std::vector<sync::StoredEvent> to_stored(std::vector<Event>&& events);

struct IngestResult {
  int inserted = 0;
  int unchanged = 0;           // identical re-sends (idempotent)
  std::vector<Error> refused;  // field = "leads[i]"; LEAD_CONFLICT for a differing re-send
  std::int64_t version = 0;
};

struct Alert {
  std::string id;
  std::string kind;        // supplier_quality_drop, buyer_intake_change, routing_filter
  std::string subject_id;  // supplier, buyer, or lead id
  Millis created_at = 0;
  Json data;
};

// "operator:<subject>" or "buyer:<buyer id>": the owner of a client id's op log.
std::string principal_key(const Actor& actor);

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options = {});
  ~Store();

  // Reference data: insert or replace, with an event each.
  Status put_buyer(const Buyer& buyer, Millis now);
  Status put_supplier(const Supplier& supplier, Millis now);
  Status put_campaign(const Campaign& campaign, Millis now);

  // Lead ingest in one transaction: new leads inserted; identical re-sends counted unchanged;
  // a re-send that differs, or a lead naming an unknown buyer/supplier/campaign, is refused
  // (that lead only). Statuses other than ACCEPTED are refused: returns happen through ops.
  Result<IngestResult> ingest_leads(std::span<const Lead> leads, Millis now);

  // Applies a batch in one transaction. Per client: seq <= last_seq answers the stored result
  // (duplicate); seq == last_seq + 1 is applied (or refused — the refusal is stored too and
  // advances last_seq); seq > last_seq + 1 is a SEQ_GAP (not stored). An error here means the
  // whole batch was rolled back and nothing was acknowledged.
  Result<std::vector<OpResult>> apply_ops(std::span<const OpRequest> ops, Millis now);

  // Spike detection over the aggregates (docs/reports.md); new alerts are stored with events.
  // Idempotent per UTC day: an alert already raised today for a subject is not raised again.
  Result<std::vector<Alert>> detect_spikes(Millis now);

  std::vector<Event> events_since(std::int64_t cursor, std::size_t limit);
  // The same, only the events scoped to one buyer (the only ones a buyer may see).
  std::vector<Event> buyer_events_since(const std::string& buyer_id, std::int64_t cursor,
                                        std::size_t limit);
  // Every event this connection wrote since the last take (capture on), in the order written,
  // `data` as stored — so the fan-out need not read back what was just committed. Events of a
  // transaction that rolled back are included, and their versions are reused by the next one:
  // the caller keeps a run only when its versions count up by one from where it stands
  // (server/hub.cc) and reads the log otherwise.
  void capture_written_events(bool on);
  std::vector<Event> take_written_events();
  std::int64_t head_version();
  std::int64_t min_version();  // oldest version still in the log (cursors below it reset)
  std::int64_t last_seq(const std::string& client_id);
  // The principal a client id is bound to (by its first op), if any.
  std::optional<std::string> client_principal(const std::string& client_id);
  std::vector<Alert> alerts();

  // A consistent read of the current state (for reports, tests and replay checks). It drops the
  // row cache first, so it also sees what was written through db() directly.
  CaseView& view();
  // One buyer through the row cache, which this store's own writes keep current (no drop): for
  // callers between batches on the writer's thread, per event or per page.
  const Buyer* find_buyer(const std::string& id);
  Database& db() { return *db_; }

 private:
  Store() = default;
  class Impl;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace returns::store
