// replica.h — the storage a client sync engine keeps: the server rows it may see (by entity and
// id, as JSON text), its cursor and other small facts (meta), the outbox of ops not yet answered,
// and the buyer's local drafts. Every write is one WriteBatch, applied all or nothing, so an op
// enters the outbox in the same transaction as the draft change it belongs to, and a `changes`
// frame lands in the same transaction as the cursor that covers it.
//
// Two implementations: MemoryReplica (sync/memory_replica.h; tests, the simulation, the load
// generator) and SqliteReplica (store/replica_sqlite.h; the browser through wasm, native tests).
// Neither does any I/O beyond its own storage, and neither knows the protocol: the engine
// (sync/engine.h) decides what to write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/types.h"

namespace returns::sync {

// One server row. `ref` is a secondary key the engine derives from the row so that lookups the
// core needs stay indexed: lead_id for returns, return_id for ledger entries and messages,
// buyer_id for leads and campaigns, empty otherwise.
struct ReplicaRow {
  std::string entity;
  std::string id;
  std::string ref;
  std::string data;  // JSON text of the full row as the server sent it
  friend bool operator==(const ReplicaRow&, const ReplicaRow&) = default;
};

// One op waiting in the outbox for its result.
struct OutboxEntry {
  std::int64_t seq = 0;
  std::string op;    // wire name
  std::string args;  // JSON object text
  Millis client_time = 0;
  friend bool operator==(const OutboxEntry&, const OutboxEntry&) = default;
};

// A draft as the buyer left it on this device.
enum class DraftStatus {
  saved,       // saved locally; a save_draft op carries it to the server
  submitting,  // a submit_return op is in the outbox
  refused,     // the server refused the last op on it; refusal says why
};
std::string_view to_string(DraftStatus status);
std::optional<DraftStatus> draft_status_from_string(std::string_view name);

struct DraftRecord {
  std::string return_id;
  std::string data;  // JSON object: {return_id, lead_id, reason?, note, drafted_at}
  DraftStatus status = DraftStatus::saved;
  std::string refusal;  // error code wire name when refused, else empty
  std::string refusal_message;
  std::int64_t seq = 0;   // seq of the last op written for this draft
  Millis updated_at = 0;  // local clock, informational
  friend bool operator==(const DraftRecord&, const DraftRecord&) = default;
};

// Well-known meta keys (values are text; integers in decimal).
namespace meta_key {
inline constexpr std::string_view kCursor = "cursor";             // last server version applied
inline constexpr std::string_view kNextSeq = "next_seq";          // seq the next op gets
inline constexpr std::string_view kLastAcked = "last_acked";      // highest seq answered
inline constexpr std::string_view kPrincipal = "principal";       // welcome.principal JSON
inline constexpr std::string_view kClockOffset = "clock_offset";  // server − local, ms
}  // namespace meta_key

// One row write: `data` set = upsert, unset = delete.
struct RowWrite {
  std::string entity;
  std::string id;
  std::string ref;
  std::optional<std::string> data;
};

// Everything one engine step changes, applied in this order: clear_rows, rows (in order, so the
// last write of a row wins), meta, outbox_remove, outbox_add, draft_remove, draft_put.
struct WriteBatch {
  bool clear_rows = false;  // `reset`: drop every server row (outbox and drafts stay)
  std::vector<RowWrite> rows;
  std::vector<std::pair<std::string, std::string>> meta;  // key, value (upsert)
  std::vector<std::int64_t> outbox_remove;                // seqs
  std::vector<OutboxEntry> outbox_add;
  std::vector<std::string> draft_remove;  // return ids
  std::vector<DraftRecord> draft_put;     // upsert by return id
  bool empty() const {
    return !clear_rows && rows.empty() && meta.empty() && outbox_remove.empty() &&
           outbox_add.empty() && draft_remove.empty() && draft_put.empty();
  }
};

class Replica {
 public:
  virtual ~Replica() = default;

  // Applies the whole batch or nothing (INTERNAL with the storage's message on failure).
  virtual Status write(const WriteBatch& batch) = 0;

  virtual std::optional<std::string> meta(std::string_view key) const = 0;
  // The row's JSON text, or nothing.
  virtual std::optional<std::string> row(std::string_view entity, std::string_view id) const = 0;
  // Every row of an entity, by id.
  virtual std::vector<ReplicaRow> rows(std::string_view entity) const = 0;
  // Rows of an entity whose ref equals `ref`, by id.
  virtual std::vector<ReplicaRow> rows_by_ref(std::string_view entity,
                                              std::string_view ref) const = 0;
  virtual std::size_t row_count() const = 0;
  virtual std::vector<OutboxEntry> outbox() const = 0;  // by seq
  virtual std::vector<DraftRecord> drafts() const = 0;  // by return id
  virtual std::optional<DraftRecord> draft(std::string_view return_id) const = 0;
};

}  // namespace returns::sync
