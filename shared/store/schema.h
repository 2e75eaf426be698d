// schema.h — the authoritative database's tables and their migrations, versioned with
// PRAGMA user_version. Each migration runs once, in order, inside a transaction.
#pragma once

#include "store/sqlite_db.h"

namespace returns::store {

// The version this build writes. Opening a newer database is refused.
int schema_version();

// Brings the database up to schema_version() (or `to_version`, for tests of an upgrade).
// Idempotent. `from_version` (if given) receives the version it found.
Status migrate(Database& db, int* from_version = nullptr, int to_version = -1);

}  // namespace returns::store
