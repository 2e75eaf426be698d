// replica_sqlite.h — the client Replica (sync/replica.h) in SQLite: server rows, meta, outbox and
// drafts in one database file, each WriteBatch in one transaction. Built natively (tests) and for
// wasm (the browser keeps the file in IndexedDB through IDBFS); no threads, nothing native-only.
#pragma once

#include <memory>
#include <string>

#include "store/sqlite_db.h"
#include "sync/replica.h"

namespace returns::store {

class SqliteReplica final : public sync::Replica {
 public:
  // Opens or creates the replica at `path` (":memory:" works). `wal` false selects
  // journal_mode=DELETE, which the browser needs (no shared memory for WAL there).
  static Result<std::unique_ptr<SqliteReplica>> open(const std::string& path, bool wal = true);
  // Opens a replica held in memory, starting from `image` (what image() returned, e.g. stored by
  // the browser between sign-ins). An image that is not a replica of this schema is refused.
  static Result<std::unique_ptr<SqliteReplica>> open_image(std::string_view image);
  ~SqliteReplica() override;

  Status write(const sync::WriteBatch& batch) override;
  std::optional<std::string> meta(std::string_view key) const override;
  std::optional<std::string> row(std::string_view entity, std::string_view id) const override;
  std::vector<sync::ReplicaRow> rows(std::string_view entity) const override;
  std::vector<sync::ReplicaRow> rows_by_ref(std::string_view entity,
                                            std::string_view ref) const override;
  std::size_t row_count() const override;
  std::vector<sync::OutboxEntry> outbox() const override;
  std::vector<sync::DraftRecord> drafts() const override;
  std::optional<sync::DraftRecord> draft(std::string_view return_id) const override;

  // The whole replica as the bytes of a database file, for open_image().
  Result<std::string> image() { return db_->serialize(); }

  Database& db() { return *db_; }

 private:
  explicit SqliteReplica(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  Status apply(const sync::WriteBatch& batch);
  std::unique_ptr<Database> db_;
};

}  // namespace returns::store
