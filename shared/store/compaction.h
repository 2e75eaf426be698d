// compaction.h — the event log keeps each entity's newest event. An event that a later event of
// the same entity supersedes adds nothing a client still needs: a client whose cursor is before
// it will receive the later one too, and replicas hold rows, not histories. Dropping superseded
// events keeps every cursor valid (no `reset`), so catch-up from any point sends each changed
// entity once, and a first sign-in reads the current rows rather than every version since the
// beginning. The log's first event is never dropped: it marks where the log begins (a cursor
// before it is older than the log, see Store::min_version).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "store/sqlite_db.h"

namespace returns::store {

struct CompactionPlan {
  std::int64_t head = 0;                 // the last version the plan read
  std::int64_t scanned = 0;              // events read
  std::vector<std::int64_t> superseded;  // versions to drop, ascending
};

// Reads the log in one read transaction on `db` (any connection to the store's file, so the
// writer need not wait for it) and lists the events superseded by a later event of the same
// entity. Memory: one entry per entity in the log.
Result<CompactionPlan> plan_compaction(Database& db);

// Drops `versions` from the log in one transaction on the writer's connection; the number of
// events dropped. Versions already gone are skipped, so a plan may be applied in any chunks.
Result<std::int64_t> drop_events(Database& db, std::span<const std::int64_t> versions);

struct CompactionReport {
  std::int64_t head = 0;     // the last version the plan read
  std::int64_t scanned = 0;  // events read
  std::int64_t planned = 0;  // superseded events the plan listed
  std::int64_t dropped = 0;  // events dropped (planned, less any already gone)
};

// Plans and drops in one go on one connection: `returnsd compact` (server stopped), the demo's
// first start and the simulation. The running server plans on its own connection and drops
// through the writer in chunks instead (store/compactor.h).
Result<CompactionReport> compact_log(Database& db);

}  // namespace returns::store
