// checkpointer_test.cc — WAL checkpoints off the writer (store/checkpointer.h): the writer's own
// commits no longer checkpoint, a commit over the threshold wakes the checkpointer's thread, which
// copies frames on its own connection, and a failed round is counted and retried by the next.
#include "store/checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "store/store.h"
#include "store/temp_db.h"

namespace returns::store {
namespace {

constexpr Millis kDay0 = 1'700'000'000'000;

// One small commit on the writer's connection (a buyer row and its event).
void commit_one(Store& store, int i) {
  Buyer b{"B" + std::to_string(i),
          "Buyer " + std::to_string(i),
          Billing::prepaid,
          {},
          default_policy()};
  ASSERT_TRUE(store.put_buyer(b, kDay0 + i).ok());
}

std::uintmax_t wal_bytes(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t n = std::filesystem::file_size(path + "-wal", ec);
  return ec ? 0 : n;
}

// SQLite's own checkpoint (1,000 frames) keeps the WAL near that size; with the checkpointer's
// threshold out of reach nothing checkpoints, so the WAL grows past it. The first half is the
// control: it shows the measure can tell the two apart.
TEST(Checkpointer, TheWritersCommitsNoLongerCheckpointThemselves) {
  constexpr std::uintmax_t kPastAutoCheckpoint = 1200 * 4096;  // frames × default page size
  const TempDb control("ckpt_control");
  {
    auto s = Store::open(control.path(), StoreOptions{Database::Sync::normal});
    ASSERT_TRUE(s.ok()) << s.error().message;
    for (int i = 0; i < 3000; ++i) commit_one(**s, i);
    EXPECT_LT(wal_bytes(control.path()), kPastAutoCheckpoint);
  }
  const TempDb db("ckpt_off");
  auto s = Store::open(db.path(), StoreOptions{Database::Sync::normal});
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto c = Checkpointer::start((*s)->db(), db.path(), 1 << 30);
  ASSERT_TRUE(c.ok()) << c.error().message;
  for (int i = 0; i < 3000; ++i) commit_one(**s, i);
  EXPECT_GT(wal_bytes(db.path()), kPastAutoCheckpoint);
  EXPECT_EQ((*c)->stats().checkpoints + (*c)->stats().failures, 0u);
}

TEST(Checkpointer, ACommitOverTheThresholdIsCheckpointedOnAnotherThread) {
  const TempDb db("ckpt_run");
  auto s = Store::open(db.path(), StoreOptions{Database::Sync::normal});
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::mutex mu;
  std::thread::id ran_on;
  auto c =
      Checkpointer::start((*s)->db(), db.path(), 20, [&](Database& own, int* log, int* copied) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ran_on = std::this_thread::get_id();
        }
        return sqlite3_wal_checkpoint_v2(own.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, log,
                                         copied);
      });
  ASSERT_TRUE(c.ok()) << c.error().message;
  for (int i = 0; i < 40; ++i) commit_one(**s, i);  // well past 20 frames
  const Checkpointer::Stats st = (*c)->wait_for_rounds(1);
  EXPECT_GE(st.checkpoints, 1u);
  EXPECT_GT(st.frames_copied, 0u);
  EXPECT_EQ(st.failures, 0u);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(ran_on, std::thread::id{});
  EXPECT_NE(ran_on, std::this_thread::get_id());  // the writer here is this thread
}

TEST(Checkpointer, AFailedRoundIsCountedAndTheNextCommitRetries) {
  const TempDb db("ckpt_fail");
  auto s = Store::open(db.path(), StoreOptions{Database::Sync::normal});
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::atomic<int> calls{0};
  auto c =
      Checkpointer::start((*s)->db(), db.path(), 20, [&](Database& own, int* log, int* copied) {
        if (calls++ == 0) return SQLITE_BUSY;
        return sqlite3_wal_checkpoint_v2(own.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, log,
                                         copied);
      });
  ASSERT_TRUE(c.ok()) << c.error().message;
  for (int i = 0; i < 40; ++i) commit_one(**s, i);
  Checkpointer::Stats st = (*c)->wait_for_rounds(1);
  EXPECT_EQ(st.failures, 1u);
  // The WAL is still over the threshold, so each further commit asks again; each asks for one
  // more round than has been seen, so this ends as soon as a round succeeds.
  for (int i = 40; i < 50 && st.checkpoints == 0; ++i) {
    commit_one(**s, i);
    st = (*c)->wait_for_rounds(st.checkpoints + st.failures + 1);
  }
  EXPECT_GE(st.checkpoints, 1u);
  EXPECT_GT(st.frames_copied, 0u);
  EXPECT_EQ(st.failures, 1u);
}

}  // namespace
}  // namespace returns::store
