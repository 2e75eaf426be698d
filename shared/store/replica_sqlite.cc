// replica_sqlite.cc — the SQLite client replica. Schema (version 1, in replica_meta 'schema'):
//   replica_rows (entity, id, ref, data)       server rows; (entity, ref) indexed
//   replica_meta (key, value)                  cursor, next_seq, last_acked, principal, …
//   replica_outbox (seq, op, args, client_time)
//   replica_drafts (return_id, data, status, refusal, refusal_message, seq, updated_at)
#include "store/replica_sqlite.h"

namespace returns::store {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS replica_rows (
  entity TEXT NOT NULL,
  id TEXT NOT NULL,
  ref TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL,
  PRIMARY KEY (entity, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replica_rows_by_ref ON replica_rows (entity, ref);
CREATE TABLE IF NOT EXISTS replica_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS replica_outbox (
  seq INTEGER PRIMARY KEY,
  op TEXT NOT NULL,
  args TEXT NOT NULL,
  client_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS replica_drafts (
  return_id TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  status TEXT NOT NULL,
  refusal TEXT NOT NULL DEFAULT '',
  refusal_message TEXT NOT NULL DEFAULT '',
  seq INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT OR IGNORE INTO replica_meta (key, value) VALUES ('schema', '1');
)sql";

std::vector<sync::ReplicaRow> read_rows(Statement& st) {
  std::vector<sync::ReplicaRow> out;
  while (st.step()) out.push_back(sync::ReplicaRow{st.text(0), st.text(1), st.text(2), st.text(3)});
  st.reset();
  return out;
}

sync::DraftRecord read_draft(const Statement& st) {
  sync::DraftRecord d;
  d.return_id = st.text(0);
  d.data = st.text(1);
  d.status = sync::draft_status_from_string(st.text(2)).value_or(sync::DraftStatus::saved);
  d.refusal = st.text(3);
  d.refusal_message = st.text(4);
  d.seq = st.int64(5);
  d.updated_at = st.int64(6);
  return d;
}

constexpr std::string_view kDraftColumns =
    "return_id, data, status, refusal, refusal_message, seq, updated_at";

// Whether `image` is as long as its database header says (page size × page count): a cut-short
// image (a write interrupted, storage trimmed) is refused before SQLite reads past its end.
bool whole_image(std::string_view image) {
  if (image.size() < 100 || image.substr(0, 16) != std::string_view("SQLite format 3\0", 16)) {
    return false;
  }
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(image[i]));
  };
  auto be32 = [&](std::size_t i) {
    return byte(i) << 24 | byte(i + 1) << 16 | byte(i + 2) << 8 | byte(i + 3);
  };
  const std::uint32_t page_size = byte(16) << 8 | byte(17);
  const std::uint64_t size = page_size == 1 ? 65536 : page_size;
  // The page count in the header is valid when its change counter equals "version valid for".
  if (be32(24) != be32(92)) return false;
  return size * be32(28) == image.size();
}

}  // namespace

Result<std::unique_ptr<SqliteReplica>> SqliteReplica::open(const std::string& path, bool wal) {
  Result<std::unique_ptr<Database>> db = Database::open(path, Database::Sync::full, wal);
  if (!db.ok()) return db.error();
  if (Status s = (*db)->exec(kSchema); !s.ok()) return s.error();
  return std::unique_ptr<SqliteReplica>(new SqliteReplica(std::move(db).value()));
}

Result<std::unique_ptr<SqliteReplica>> SqliteReplica::open_image(std::string_view image) {
  if (!whole_image(image)) {
    return make_error(ErrorCode::INTERNAL, "image",
                      "The stored image is not a whole database; start from an empty replica.");
  }
  Result<std::unique_ptr<Database>> db = Database::open(":memory:", Database::Sync::full, false);
  if (!db.ok()) return db.error();
  if (Status s = (*db)->deserialize(image); !s.ok()) return s.error();
  std::string schema;
  if (Result<Statement> st = (*db)->prepare("SELECT value FROM replica_meta WHERE key = 'schema'");
      st.ok() && st->step()) {
    schema = st->text(0);
  }
  if (schema != "1") {
    return make_error(ErrorCode::INTERNAL, "image",
                      "The stored image is not a replica of schema 1; start from an empty one.");
  }
  if (Status s = (*db)->exec(kSchema); !s.ok()) return s.error();
  return std::unique_ptr<SqliteReplica>(new SqliteReplica(std::move(db).value()));
}

SqliteReplica::~SqliteReplica() = default;

Status SqliteReplica::write(const sync::WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  Transaction tx(*db_);
  if (!tx.begun().ok()) return tx.begun();
  if (Status s = apply(batch); !s.ok()) return s;  // the transaction rolls back
  return tx.commit();
}

Status SqliteReplica::apply(const sync::WriteBatch& batch) {
  if (batch.clear_rows) {
    if (Status s = db_->exec("DELETE FROM replica_rows"); !s.ok()) return s;
  }
  for (const sync::RowWrite& w : batch.rows) {
    if (w.data) {
      Statement& st = db_->cached(
          "INSERT INTO replica_rows (entity, id, ref, data) VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT (entity, id) DO UPDATE SET ref = excluded.ref, data = excluded.data");
      st.bind(1, w.entity).bind(2, w.id).bind(3, w.ref).bind(4, *w.data);
      if (Status s = st.run(); !s.ok()) return s;
    } else {
      Statement& st = db_->cached("DELETE FROM replica_rows WHERE entity = ?1 AND id = ?2");
      st.bind(1, w.entity).bind(2, w.id);
      if (Status s = st.run(); !s.ok()) return s;
    }
  }
  for (const auto& [key, value] : batch.meta) {
    Statement& st = db_->cached(
        "INSERT INTO replica_meta (key, value) VALUES (?1, ?2) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    st.bind(1, key).bind(2, value);
    if (Status s = st.run(); !s.ok()) return s;
  }
  for (std::int64_t seq : batch.outbox_remove) {
    Statement& st = db_->cached("DELETE FROM replica_outbox WHERE seq = ?1");
    st.bind(1, seq);
    if (Status s = st.run(); !s.ok()) return s;
  }
  for (const sync::OutboxEntry& o : batch.outbox_add) {
    // A plain INSERT: a seq already taken is an error, and the whole batch rolls back.
    Statement& st = db_->cached(
        "INSERT INTO replica_outbox (seq, op, args, client_time) VALUES (?1, ?2, ?3, ?4)");
    st.bind(1, o.seq).bind(2, o.op).bind(3, o.args).bind(4, o.client_time);
    if (Status s = st.run(); !s.ok()) return s;
  }
  for (const std::string& id : batch.draft_remove) {
    Statement& st = db_->cached("DELETE FROM replica_drafts WHERE return_id = ?1");
    st.bind(1, id);
    if (Status s = st.run(); !s.ok()) return s;
  }
  for (const sync::DraftRecord& d : batch.draft_put) {
    Statement& st = db_->cached(
        "INSERT INTO replica_drafts (return_id, data, status, refusal, refusal_message, seq, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (return_id) DO UPDATE SET data = excluded.data, status = excluded.status, "
        "refusal = excluded.refusal, refusal_message = excluded.refusal_message, "
        "seq = excluded.seq, updated_at = excluded.updated_at");
    st.bind(1, d.return_id)
        .bind(2, d.data)
        .bind(3, sync::to_string(d.status))
        .bind(4, d.refusal)
        .bind(5, d.refusal_message)
        .bind(6, d.seq)
        .bind(7, d.updated_at);
    if (Status s = st.run(); !s.ok()) return s;
  }
  return Status::Ok();
}

std::optional<std::string> SqliteReplica::meta(std::string_view key) const {
  Statement& st = db_->cached("SELECT value FROM replica_meta WHERE key = ?1");
  st.bind(1, key);
  std::optional<std::string> out;
  if (st.step()) out = st.text(0);
  st.reset();
  return out;
}

std::optional<std::string> SqliteReplica::row(std::string_view entity, std::string_view id) const {
  Statement& st = db_->cached("SELECT data FROM replica_rows WHERE entity = ?1 AND id = ?2");
  st.bind(1, entity).bind(2, id);
  std::optional<std::string> out;
  if (st.step()) out = st.text(0);
  st.reset();
  return out;
}

std::vector<sync::ReplicaRow> SqliteReplica::rows(std::string_view entity) const {
  Statement& st =
      db_->cached("SELECT entity, id, ref, data FROM replica_rows WHERE entity = ?1 ORDER BY id");
  st.bind(1, entity);
  return read_rows(st);
}

std::vector<sync::ReplicaRow> SqliteReplica::rows_by_ref(std::string_view entity,
                                                         std::string_view ref) const {
  // Without INDEXED BY, SQLite (no ANALYZE statistics) walks the primary key to save the sort and
  // reads every row of the entity: a buyer's rows among 45 000 leads cost a full scan per call.
  // The ref index already ends in the primary key (entity, ref, id), so the order comes free.
  Statement& st = db_->cached(
      "SELECT entity, id, ref, data FROM replica_rows INDEXED BY replica_rows_by_ref"
      " WHERE entity = ?1 AND ref = ?2 ORDER BY id");
  st.bind(1, entity).bind(2, ref);
  return read_rows(st);
}

std::size_t SqliteReplica::row_count() const {
  Statement& st = db_->cached("SELECT COUNT(*) FROM replica_rows");
  std::size_t n = 0;
  if (st.step()) n = static_cast<std::size_t>(st.int64(0));
  st.reset();
  return n;
}

std::vector<sync::OutboxEntry> SqliteReplica::outbox() const {
  Statement& st = db_->cached("SELECT seq, op, args, client_time FROM replica_outbox ORDER BY seq");
  std::vector<sync::OutboxEntry> out;
  while (st.step())
    out.push_back(sync::OutboxEntry{st.int64(0), st.text(1), st.text(2), st.int64(3)});
  st.reset();
  return out;
}

std::vector<sync::DraftRecord> SqliteReplica::drafts() const {
  Statement& st = db_->cached("SELECT " + std::string(kDraftColumns) +
                              " FROM replica_drafts ORDER BY return_id");
  std::vector<sync::DraftRecord> out;
  while (st.step()) out.push_back(read_draft(st));
  st.reset();
  return out;
}

std::optional<sync::DraftRecord> SqliteReplica::draft(std::string_view return_id) const {
  Statement& st = db_->cached("SELECT " + std::string(kDraftColumns) +
                              " FROM replica_drafts WHERE return_id = ?1");
  st.bind(1, return_id);
  std::optional<sync::DraftRecord> out;
  if (st.step()) out = read_draft(st);
  st.reset();
  return out;
}

}  // namespace returns::store
