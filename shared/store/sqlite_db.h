// sqlite_db.h — a thin RAII layer over the SQLite C API: one connection, prepared statements with
// typed binds and reads, transactions. Errors become Status values (code INTERNAL with SQLite's
// message); nothing here knows about returns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace returns::store {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based like SQLite's. Strings are copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind_null(int index);

  // Steps once: true when a row is available, false when done. Errors are kept in status().
  bool step();
  // Runs to completion (for writes). Returns the status.
  Status run();
  void reset();

  std::int64_t int64(int column) const;
  std::string text(int column) const;
  bool is_null(int column) const;

  const Status& status() const { return status_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

class Database {
 public:
  enum class Sync { full, normal };

  // Opens (creating if needed) with WAL journaling, foreign keys and a busy timeout.
  // `wal` false selects journal_mode=DELETE (the browser build, which has no shared memory).
  static Result<std::unique_ptr<Database>> open(const std::string& path, Sync sync = Sync::full,
                                                bool wal = true);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // A statement prepared once and reused; reset before it is returned.
  Statement& cached(std::string_view sql);

  std::int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() { return db_; }

  // The main database as the bytes of a database file (sqlite3_serialize).
  Result<std::string> serialize();
  // Replaces the main database with `image` (the bytes of a database file), which lives in memory
  // from then on, grows as needed and keeps its journal in memory (sqlite3_deserialize). Drops
  // the statement cache. A malformed image is reported by the first statement that reads it.
  Status deserialize(std::string_view image);

 private:
  explicit Database(sqlite3* db);
  sqlite3* db_ = nullptr;
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& begun() const { return begun_; }
  Status commit();

 private:
  Database& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace returns::store
