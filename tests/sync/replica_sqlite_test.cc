// replica_sqlite_test.cc — the SQLite replica: every batch is one transaction (outbox and draft
// together or neither), reopening keeps drafts, outbox and cursor, and the engine runs the same
// over it as over the in-memory replica.
#include "store/replica_sqlite.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "engine_fixture.h"
#include "sync/memory_replica.h"

namespace returns::store {
namespace {

using namespace returns::sync::testing;
using sync::DraftRecord;
using sync::DraftStatus;
using sync::Engine;
using sync::EngineConfig;
using sync::OutboxEntry;
using sync::WriteBatch;

constexpr Millis kNow = kT0 + 2 * kHour;

std::string temp_path(const std::string& name) {
  const std::string path = ::testing::TempDir() + "replica_" + name + ".db";
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  return path;
}

TEST(SqliteReplica, OutboxAndDraftCommitTogetherOrNotAtAll) {
  Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open(":memory:");
  ASSERT_TRUE(r.ok()) << r.error().message;
  SqliteReplica& replica = **r;
  WriteBatch first;
  first.outbox_add.push_back(OutboxEntry{1, "save_draft", R"({"return_id":"R-1"})", kNow});
  first.draft_put.push_back(
      DraftRecord{"R-1", R"({"return_id":"R-1"})", DraftStatus::saved, "", "", 1, kNow});
  first.meta = {{"next_seq", "2"}};
  ASSERT_TRUE(replica.write(first).ok());

  // Seq 1 is taken: the outbox insert fails after the draft and the row were written, and the
  // whole batch rolls back.
  WriteBatch clash;
  clash.rows.push_back(sync::RowWrite{"lead", "L-1", "B-1", std::string(R"({"id":"L-1"})")});
  clash.draft_put.push_back(
      DraftRecord{"R-2", R"({"return_id":"R-2"})", DraftStatus::saved, "", "", 1, kNow});
  clash.meta = {{"next_seq", "99"}};
  clash.outbox_add.push_back(OutboxEntry{1, "save_draft", R"({"return_id":"R-2"})", kNow});
  Status s = replica.write(clash);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::INTERNAL);
  EXPECT_FALSE(replica.draft("R-2").has_value());
  EXPECT_FALSE(replica.row("lead", "L-1").has_value());
  EXPECT_EQ(replica.meta("next_seq"), "2");
  ASSERT_EQ(replica.outbox().size(), 1u);
  EXPECT_EQ(replica.outbox()[0].args, R"({"return_id":"R-1"})");

  // The in-memory replica behaves the same.
  sync::MemoryReplica memory;
  ASSERT_TRUE(memory.write(first).ok());
  ASSERT_FALSE(memory.write(clash).ok());
  EXPECT_FALSE(memory.draft("R-2").has_value());
  EXPECT_FALSE(memory.row("lead", "L-1").has_value());
  EXPECT_EQ(memory.meta("next_seq"), "2");
}

TEST(SqliteReplica, RowsByEntityAndRefAndClear) {
  Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open(":memory:");
  ASSERT_TRUE(r.ok());
  SqliteReplica& replica = **r;
  WriteBatch b;
  b.rows = {{"return", "R-2", "L-1", std::string("{\"id\":\"R-2\"}")},
            {"return", "R-1", "L-1", std::string("{\"id\":\"R-1\"}")},
            {"return", "R-3", "L-2", std::string("{\"id\":\"R-3\"}")},
            {"lead", "L-1", "B-1", std::string("{\"id\":\"L-1\"}")},
            {"return", "R-3", "L-2", std::nullopt}};
  ASSERT_TRUE(replica.write(b).ok());
  EXPECT_EQ(replica.row_count(), 3u);
  std::vector<sync::ReplicaRow> rows = replica.rows("return");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "R-1");  // by id
  EXPECT_EQ(replica.rows_by_ref("return", "L-1").size(), 2u);
  EXPECT_TRUE(replica.rows_by_ref("return", "L-2").empty());
  WriteBatch clear;
  clear.clear_rows = true;
  clear.draft_put.push_back(
      DraftRecord{"R-9", "{}", DraftStatus::refused, "WINDOW_CLOSED", "Too late.", 4, kNow});
  ASSERT_TRUE(replica.write(clear).ok());
  EXPECT_EQ(replica.row_count(), 0u);
  std::optional<DraftRecord> d = replica.draft("R-9");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->status, DraftStatus::refused);
  EXPECT_EQ(d->refusal, "WINDOW_CLOSED");
  EXPECT_EQ(d->refusal_message, "Too late.");
}

TEST(SqliteReplica, ReopenKeepsDraftsOutboxAndCursor) {
  const std::string path = temp_path("reopen");
  {
    Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    Engine engine(**r, EngineConfig{"dev-1", "tok", 250});
    (void)engine.on_connected(kNow);
    ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
    ASSERT_TRUE(engine.on_frame(world_changes(), kNow).ok());
    ASSERT_TRUE(engine.on_frame(sync::encode_synced(3), kNow).ok());
    ASSERT_TRUE(
        engine.save_draft(DraftInput{"R-1", "L-1", Reason::bad_contact, "No answer"}, kNow).ok());
    ASSERT_TRUE(engine.submit("R-1", kNow).ok());
    ASSERT_TRUE(engine.on_frame(applied(1, 4), kNow).ok());
    ASSERT_TRUE(engine.on_frame(refused(2, ErrorCode::TOO_EARLY, "Wait.", 5), kNow).ok());
    ASSERT_TRUE(
        engine.save_draft(DraftInput{"R-2", "L-1", Reason::other, "Offline draft"}, kNow).ok());
  }  // the process goes away
  Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open(path);
  ASSERT_TRUE(r.ok());
  SqliteReplica& replica = **r;
  Engine engine(replica, EngineConfig{"dev-1", "tok", 250});
  EXPECT_EQ(engine.cursor(), 3);
  EXPECT_EQ(engine.next_seq(), 4);
  ASSERT_EQ(replica.outbox().size(), 1u);
  EXPECT_EQ(replica.outbox()[0].seq, 3);
  EXPECT_EQ(replica.outbox()[0].op, "save_draft");
  std::optional<DraftRecord> refused_draft = replica.draft("R-1");
  ASSERT_TRUE(refused_draft.has_value());
  EXPECT_EQ(refused_draft->status, DraftStatus::refused);
  EXPECT_EQ(refused_draft->refusal, "TOO_EARLY");
  ASSERT_TRUE(replica.draft("R-2").has_value());
  EXPECT_EQ(replica.draft("R-2")->status, DraftStatus::saved);
  EXPECT_TRUE(replica.row("lead", "L-1").has_value());
  // The reopened engine resends exactly the unanswered op after welcome.
  Result<sync::ClientMessage> hello = sync::parse_client_message(engine.on_connected(kNow));
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(std::get<sync::Hello>(*hello).cursor, 3);
  EXPECT_EQ(std::get<sync::Hello>(*hello).last_seq, 2);
  ASSERT_TRUE(engine.on_frame(welcome(2, 3, kNow), kNow).ok());
  EXPECT_EQ(pushed_seqs(engine.take_outgoing()), (std::vector<std::int64_t>{3}));
  // The optimistic view works over SQLite too.
  std::optional<Json> row = engine.row("return", "R-2", kNow);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ((*row)["state"], "draft");
}

// The browser keeps an operator's replica as one image between sign-ins: an engine reopened on
// the image carries on exactly as one reopened on the file (cursor, outbox, drafts, rows).
TEST(SqliteReplica, ImageCarriesTheWholeReplica) {
  std::string image;
  {
    Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open(":memory:", /*wal=*/false);
    ASSERT_TRUE(r.ok()) << r.error().message;
    Engine engine(**r, EngineConfig{"dev-1", "tok", 250});
    (void)engine.on_connected(kNow);
    ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
    ASSERT_TRUE(engine.on_frame(world_changes(), kNow).ok());
    ASSERT_TRUE(engine.on_frame(sync::encode_synced(3), kNow).ok());
    ASSERT_TRUE(
        engine.save_draft(DraftInput{"R-2", "L-1", Reason::other, "Offline draft"}, kNow).ok());
    Result<std::string> taken = (*r)->image();
    ASSERT_TRUE(taken.ok()) << taken.error().message;
    image = std::move(taken).value();
  }
  ASSERT_GT(image.size(), 0u);
  Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open_image(image);
  ASSERT_TRUE(r.ok()) << r.error().message;
  SqliteReplica& replica = **r;
  Engine engine(replica, EngineConfig{"dev-1", "tok", 250});
  EXPECT_EQ(engine.cursor(), 3);
  EXPECT_EQ(engine.next_seq(), 2);
  ASSERT_EQ(replica.outbox().size(), 1u);
  EXPECT_EQ(replica.outbox()[0].op, "save_draft");
  ASSERT_TRUE(replica.draft("R-2").has_value());
  EXPECT_TRUE(replica.row("lead", "L-1").has_value());
  // The image is writable and grows: a delta after the image lands in the same replica.
  WriteBatch more;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "L-x" + std::to_string(i);
    more.rows.push_back(sync::RowWrite{"lead", id, "B-1", "{\"id\":\"" + id + "\"}"});
  }
  ASSERT_TRUE(replica.write(more).ok());
  EXPECT_TRUE(replica.row("lead", "L-x1999").has_value());
  EXPECT_TRUE(replica.row("lead", "L-1").has_value());
  // Its journal stays in memory (no file beside a database that has no file).
  Result<Statement> st = replica.db().prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->text(0), "memory");
}

TEST(SqliteReplica, AnImageThatIsNotAReplicaIsRefused) {
  // Not a database at all, truncated, a database of another kind: each is a typed error, and
  // the caller starts from an empty replica instead.
  Result<std::unique_ptr<SqliteReplica>> good = SqliteReplica::open(":memory:", false);
  ASSERT_TRUE(good.ok());
  WriteBatch b;
  b.rows.push_back(sync::RowWrite{"lead", "L-1", "B-1", std::string(R"({"id":"L-1"})")});
  ASSERT_TRUE((*good)->write(b).ok());
  Result<std::string> image = (*good)->image();
  ASSERT_TRUE(image.ok());

  Result<std::unique_ptr<Database>> other = Database::open(":memory:", Database::Sync::full, false);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);").ok());
  Result<std::string> other_image = (*other)->serialize();
  ASSERT_TRUE(other_image.ok());

  for (const std::string& bad : {std::string("not a database"), image->substr(0, image->size() / 2),
                                 *other_image, std::string()}) {
    Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open_image(bad);
    ASSERT_FALSE(r.ok()) << bad.size();
    EXPECT_EQ(r.error().code, ErrorCode::INTERNAL);
    EXPECT_EQ(r.error().field, "image");
  }
}

TEST(SqliteReplica, JournalModeDeleteForTheBrowser) {
  const std::string path = temp_path("delete_mode");
  Result<std::unique_ptr<SqliteReplica>> r = SqliteReplica::open(path, /*wal=*/false);
  ASSERT_TRUE(r.ok());
  Result<Statement> st = (*r)->db().prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->text(0), "delete");
}

}  // namespace
}  // namespace returns::store
