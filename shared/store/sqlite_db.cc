// sqlite_db.cc — the SQLite wrapper.
#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>

namespace returns::store {
namespace {
Error sqlite_error(sqlite3* db, std::string_view what) {
  return make_error(
      ErrorCode::INTERNAL, "",
      std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}
}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), status_(std::move(other.status_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    status_ = std::move(other.status_);
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE && status_.ok()) status_ = sqlite_error(db_, "step");
  return false;
}

Status Statement::run() {
  while (step()) {
  }
  Status s = status_;
  reset();
  return s;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  status_ = Status::Ok();
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// Looked up once per statement run on the hot path: hashed, not ordered (an ordered map compared
// long SQL texts that share their first words).
struct SqlHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct Database::Cache {
  std::unordered_map<std::string, Statement, SqlHash, std::equal_to<>> statements;
};

Database::Database(sqlite3* db) : db_(db), cache_(std::make_unique<Cache>()) {}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, Sync sync, bool wal) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw, "open " + path);
    sqlite3_close(raw);
    return e;
  }
  std::unique_ptr<Database> db(new Database(raw));
  sqlite3_busy_timeout(raw, 5000);
  const std::string pragmas =
      std::string(wal ? "PRAGMA journal_mode=WAL;" : "PRAGMA journal_mode=DELETE;") +
      "PRAGMA foreign_keys=ON;" +
      (sync == Sync::full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
  if (Status s = db->exec(pragmas); !s.ok()) return s.error();
  return db;
}

Result<std::string> Database::serialize() {
  sqlite3_int64 size = 0;
  unsigned char* bytes = sqlite3_serialize(db_, "main", &size, 0);
  if (bytes == nullptr) return sqlite_error(db_, "serialize");
  std::string image(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
  sqlite3_free(bytes);
  return image;
}

Status Database::deserialize(std::string_view image) {
  cache_->statements.clear();
  const auto size = static_cast<sqlite3_int64>(image.size());
  // SQLite owns the buffer from here (FREEONCLOSE), also when the call fails.
  auto* buffer =
      static_cast<unsigned char*>(sqlite3_malloc64(std::max<sqlite3_uint64>(1, image.size())));
  if (buffer == nullptr) return make_error(ErrorCode::INTERNAL, "", "deserialize: out of memory");
  std::memcpy(buffer, image.data(), image.size());
  if (sqlite3_deserialize(db_, "main", buffer, size, size,
                          SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) !=
      SQLITE_OK) {
    return sqlite_error(db_, "deserialize");
  }
  return exec("PRAGMA journal_mode=MEMORY;");
}

Database::~Database() {
  cache_.reset();  // finalize statements before closing
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string owned(sql);
  if (sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorCode::INTERNAL, "", "exec: " + message);
  }
  return Status::Ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return sqlite_error(db_, "prepare " + std::string(sql.substr(0, 80)));
  }
  return Statement(db_, stmt);
}

Statement& Database::cached(std::string_view sql) {
  auto it = cache_->statements.find(sql);
  if (it == cache_->statements.end()) {
    Result<Statement> st = prepare(sql);
    // A statement that fails to prepare is a programming error in a fixed SQL string; keep an
    // empty statement whose every step reports the error.
    Statement s = st.ok() ? std::move(st).value() : Statement(db_, nullptr);
    it = cache_->statements.emplace(std::string(sql), std::move(s)).first;
  }
  it->second.reset();
  return it->second;
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Transaction::Transaction(Database& db) : db_(db) { begun_ = db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_ && begun_.ok()) (void)db_.exec("ROLLBACK");
}

Status Transaction::commit() {
  if (!begun_.ok()) return begun_;
  Status s = db_.exec("COMMIT");
  if (s.ok()) done_ = true;
  return s;
}

}  // namespace returns::store
