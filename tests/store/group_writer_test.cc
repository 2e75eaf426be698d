// group_writer_test.cc — the single writer (docs/server.md): completions run only after their
// transaction committed (seen from a second SQLite connection), concurrent submitters are
// grouped into batches, stop() drains and answers everything it accepted, the queue limit
// refuses, the on_commit hook sees increasing committed heads, and posted jobs run alone.
#include "store/group_writer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "store/sample_lead.h"
#include "store/store.h"
#include "store/temp_db.h"
#include "sync/server_rules.h"

namespace returns::store {
namespace {

constexpr Millis kDay0 = 1'700'000'000'000;

// A second, read-only connection to the same file: sees only what is committed.
class Reader {
 public:
  explicit Reader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open a second connection: " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Reader() { sqlite3_close(db_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The single integer a query returns; -1 when it returns no row.
  std::int64_t scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return -2;
    }
    std::int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Counts completions and lets a test wait for a number of them.
class Latch {
 public:
  void arrive() {
    std::lock_guard<std::mutex> lock(mu_);  // notify under the lock: waiters may destroy us
    ++count_;
    cv_.notify_all();
  }
  bool wait_for(int n, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

class GroupWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(db_.path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    Buyer b{"B1", "Buyer One", Billing::prepaid, {}, default_policy()};
    ASSERT_TRUE(store_->put_buyer(b, kDay0).ok());
    ASSERT_TRUE(store_->put_supplier({"S1", "Supplier", false}, kDay0).ok());
    ASSERT_TRUE(store_->put_campaign({"C1", "B1", "mva", 5000}, kDay0).ok());
    std::vector<Lead> leads = {lead("L1")};
    auto r = store_->ingest_leads(leads, kDay0);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->inserted, 1);
  }
  void TearDown() override {
    store_.reset();
    db_.remove();
  }
  static Lead lead(const std::string& id) { return sample_lead(id, kDay0); }
  // An op that always applies and writes a row: a fresh draft "D-<client>-<seq>".
  static OpRequest draft(const std::string& client, std::int64_t seq) {
    return OpRequest{client,
                     seq,
                     Actor::buyer("B1"),
                     "save_draft",
                     Json{{"return_id", draft_id(client, seq)}, {"lead_id", "L1"}},
                     0};
  }
  static std::string draft_id(const std::string& client, std::int64_t seq) {
    return "D-" + client + "-" + std::to_string(seq);
  }
  std::int64_t count_rows(const std::string& table) {
    Result<Statement> st = store_->db().prepare("SELECT COUNT(*) FROM " + table);
    if (!st.ok() || !st->step()) return -1;
    return st->int64(0);
  }

  TempDb db_{"group_writer"};
  std::unique_ptr<Store> store_;
  ManualClock clock_{kDay0 + kMillisPerHour};
};

TEST_F(GroupWriterTest, CompletionRunsOnlyAfterCommit) {
  Reader reader(db_.path());
  constexpr int kOps = 60;
  Latch done;
  std::atomic<int> visible{0}, applied{0};
  GroupWriter writer(*store_, clock_);
  for (int i = 1; i <= kOps; ++i) {
    ASSERT_TRUE(writer.submit(draft("c1", i), [&, i](const Result<OpResult>& r) {
      if (r.ok() && r->applied && r->seq == i) ++applied;
      // Another connection sees the op's result and its effect: the transaction committed.
      const std::string seq = std::to_string(i);
      if (reader.scalar("SELECT COUNT(*) FROM op_results WHERE client_id = 'c1' AND seq = " + seq +
                        " AND status = 'applied'") == 1 &&
          reader.scalar("SELECT COUNT(*) FROM returns WHERE id = '" + draft_id("c1", i) + "'") ==
              1 &&
          reader.scalar("SELECT last_seq FROM clients WHERE client_id = 'c1'") >= i) {
        ++visible;
      }
      done.arrive();
    }));
  }
  ASSERT_TRUE(done.wait_for(kOps));
  EXPECT_EQ(applied.load(), kOps);
  EXPECT_EQ(visible.load(), kOps);
}

TEST_F(GroupWriterTest, ConcurrentSubmittersAreBatched) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  constexpr int kWindow = 8;  // ops in flight per client
  std::mutex mu;
  std::map<std::string, std::vector<std::int64_t>> answered;  // per client, in answer order
  std::atomic<int> applied{0}, failed{0};
  GroupWriter writer(*store_, clock_);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string client = "c" + std::to_string(t);
      std::mutex cmu;
      std::condition_variable cv;
      int in_flight = 0, finished = 0;
      for (int seq = 1; seq <= kPerThread; ++seq) {
        {
          std::unique_lock<std::mutex> lock(cmu);
          cv.wait(lock, [&] { return in_flight < kWindow; });
          ++in_flight;
        }
        const bool queued = writer.submit(draft(client, seq), [&](const Result<OpResult>& r) {
          if (r.ok() && r->applied) {
            ++applied;
            std::lock_guard<std::mutex> lock(mu);
            answered[client].push_back(r->seq);
          } else {
            ++failed;
          }
          // Notify under the lock: the waiting thread owns cv and may leave right after.
          std::lock_guard<std::mutex> lock(cmu);
          --in_flight;
          ++finished;
          cv.notify_all();
        });
        if (!queued) {
          ++failed;
          std::lock_guard<std::mutex> lock(cmu);
          --in_flight;
          ++finished;
        }
      }
      std::unique_lock<std::mutex> lock(cmu);
      cv.wait(lock, [&] { return finished == kPerThread; });
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(applied.load(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    const std::string client = "c" + std::to_string(t);
    std::vector<std::int64_t> expected(kPerThread);
    for (int i = 0; i < kPerThread; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
    EXPECT_EQ(answered[client], expected) << "answers of " << client << " out of seq order";
  }
  writer.stop();
  const GroupWriter::Stats stats = writer.stats();
  EXPECT_EQ(stats.ops, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_GT(stats.largest_batch, 1u) << "concurrent submitters were never grouped";
  EXPECT_LT(stats.batches, stats.ops);
  EXPECT_EQ(stats.failed_batches, 0u);
  EXPECT_EQ(stats.queue_depth, 0u);
  EXPECT_EQ(stats.latency_count, stats.batches);
  EXPECT_EQ(stats.batch_le.back(), stats.batches);  // every batch is at most max_batch
  EXPECT_LT(stats.batch_le.front(), stats.batches) << "every batch had one op";
  EXPECT_EQ(count_rows("op_results"), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(store_->last_seq("c" + std::to_string(t)), kPerThread);
}

TEST_F(GroupWriterTest, StopDrainsEverythingItAccepted) {
  constexpr int kThreads = 3;
  std::vector<std::int64_t> accepted(kThreads, 0);
  std::atomic<int> answered{0}, applied{0}, queued_total{0};
  std::atomic<bool> go{false};
  GroupWriter writer(*store_, clock_);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string client = "s" + std::to_string(t);
      while (!go.load()) std::this_thread::yield();
      // Submit without waiting until the writer refuses: it has stopped.
      for (std::int64_t seq = 1;; ++seq) {
        const bool queued = writer.submit(draft(client, seq), [&](const Result<OpResult>& r) {
          ++answered;
          if (r.ok() && r->applied) ++applied;
        });
        if (!queued) break;
        accepted[static_cast<std::size_t>(t)] = seq;
        ++queued_total;
        if (seq % 64 == 0) std::this_thread::yield();
      }
    });
  }
  go.store(true);
  // Stop while the threads are submitting: once they have queued something (on a loaded
  // machine they may not have run at all 30 ms after `go`), and a little later.
  while (queued_total.load() == 0) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  writer.stop();  // returns once everything queued before it is committed and answered
  const int answered_at_stop = answered.load();
  for (std::thread& th : threads) th.join();
  std::int64_t total = 0;
  for (std::int64_t n : accepted) total += n;
  EXPECT_GT(total, 0);
  EXPECT_EQ(answered_at_stop, total) << "stop() returned before answering everything";
  EXPECT_EQ(answered.load(), total);
  EXPECT_EQ(applied.load(), total);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(store_->last_seq("s" + std::to_string(t)), accepted[static_cast<std::size_t>(t)]);
  }
  EXPECT_EQ(count_rows("op_results"), total);

  // After stop: refused, and the completion is never called.
  bool called = false;
  EXPECT_FALSE(writer.submit(draft("late", 1), [&](const Result<OpResult>&) { called = true; }));
  EXPECT_FALSE(writer.post([&](Store&) { called = true; }));
  writer.stop();  // a second stop is harmless
  EXPECT_FALSE(called);
  EXPECT_EQ(store_->last_seq("late"), 0);
}

TEST_F(GroupWriterTest, QueueLimitRefuses) {
  GroupWriter::Options options;
  options.max_queue = 4;
  // Hold the writer thread in a job so the queue can only fill.
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  Latch done;
  std::atomic<int> applied{0};
  GroupWriter writer(*store_, clock_, options);
  ASSERT_TRUE(writer.post([&started, released](Store&) {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  auto completion = [&](const Result<OpResult>& r) {
    if (r.ok() && r->applied) ++applied;
    done.arrive();
  };
  for (int seq = 1; seq <= 4; ++seq) EXPECT_TRUE(writer.submit(draft("q", seq), completion));
  bool refused_called = false;
  EXPECT_FALSE(writer.submit(draft("q", 5), [&](const Result<OpResult>&) {
    refused_called = true;
  })) << "the fifth op went past max_queue = 4";
  EXPECT_EQ(writer.stats().queue_depth, 4u);
  release.set_value();
  ASSERT_TRUE(done.wait_for(4));
  EXPECT_EQ(applied.load(), 4);
  EXPECT_EQ(store_->last_seq("q"), 4);
  // Room again once the queue drained: seq 5 now goes through.
  EXPECT_TRUE(writer.submit(draft("q", 5), completion));
  ASSERT_TRUE(done.wait_for(5));
  writer.stop();
  EXPECT_FALSE(refused_called);
  EXPECT_EQ(applied.load(), 5);
}

TEST_F(GroupWriterTest, FailedBatchAnswersEveryOpWithTheErrorAndCommitsNothing) {
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  Latch done;
  std::atomic<int> errors{0}, applied{0}, hooks{0};
  auto completion = [&](const Result<OpResult>& r) {
    if (!r.ok()) ++errors;
    if (r.ok() && r->applied) ++applied;
    done.arrive();
  };
  const std::int64_t head0 = store_->head_version();
  GroupWriter writer(*store_, clock_);
  writer.set_on_commit([&](std::int64_t) { ++hooks; });
  // The third op of client f fails to write; everything is queued behind a held job so that
  // all of it lands in one batch.
  ASSERT_TRUE(writer.post([&started, released](Store& store) {
    Status s = store.db().exec(
        "CREATE TEMP TRIGGER fail_d AFTER INSERT ON main.returns WHEN NEW.id = 'D-f-3' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    EXPECT_TRUE(s.ok()) << s.error().message;
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  for (int seq = 1; seq <= 5; ++seq) ASSERT_TRUE(writer.submit(draft("f", seq), completion));
  ASSERT_TRUE(writer.submit(draft("g", 1), completion));
  release.set_value();
  ASSERT_TRUE(done.wait_for(6));
  EXPECT_EQ(errors.load(), 6) << "every op of the failed batch hears about the failure";
  EXPECT_EQ(applied.load(), 0);
  std::promise<void> checked;
  ASSERT_TRUE(writer.post([&](Store& store) {
    EXPECT_EQ(store.last_seq("f"), 0);
    EXPECT_EQ(store.last_seq("g"), 0);
    EXPECT_EQ(store.head_version(), head0);
    EXPECT_EQ(store.view().find_return("D-f-1"), nullptr) << "a failed batch left a row";
    EXPECT_TRUE(store.db().exec("DROP TRIGGER fail_d").ok());
    checked.set_value();
  }));
  checked.get_future().wait();
  EXPECT_EQ(writer.stats().failed_batches, 1u);
  const int hooks_after_failure = hooks.load();
  // The same ops again: now they apply, seqs and versions carry on without gaps.
  for (int seq = 1; seq <= 5; ++seq) ASSERT_TRUE(writer.submit(draft("f", seq), completion));
  ASSERT_TRUE(writer.submit(draft("g", 1), completion));
  ASSERT_TRUE(done.wait_for(12));
  writer.stop();
  EXPECT_EQ(applied.load(), 6);
  EXPECT_GT(hooks.load(), hooks_after_failure);
  EXPECT_EQ(store_->last_seq("f"), 5);
  EXPECT_EQ(store_->last_seq("g"), 1);
  EXPECT_EQ(store_->head_version(), head0 + 6);
  Result<Statement> st = store_->db().prepare("SELECT COUNT(*), MAX(version) FROM events");
  ASSERT_TRUE(st.ok() && st->step());
  EXPECT_EQ(st->int64(0), st->int64(1)) << "event versions have gaps";
  EXPECT_EQ(st->int64(1), store_->head_version());
}

// The fan-out's shortcut (sync::committed_run over the events the store captured) after a
// rolled-back batch: the capture holds the rolled-back events too, with the versions the retry
// reused, and the run taken from it is exactly what the log holds.
TEST_F(GroupWriterTest, AfterARolledBackBatchTheCapturedRunIsExactlyTheLog) {
  const std::int64_t head0 = store_->head_version();
  store_->capture_written_events(true);
  ASSERT_TRUE(store_->db()
                  .exec("CREATE TEMP TRIGGER fail_c AFTER INSERT ON main.returns "
                        "WHEN NEW.id = 'D-c-3' BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
                  .ok());
  std::vector<OpRequest> ops;
  for (int seq = 1; seq <= 3; ++seq) ops.push_back(draft("c", seq));
  ASSERT_FALSE(store_->apply_ops(ops, kDay0 + 1).ok());
  EXPECT_EQ(store_->head_version(), head0);
  ASSERT_TRUE(store_->db().exec("DROP TRIGGER fail_c").ok());
  ops.pop_back();  // the retry without the op that failed
  ASSERT_TRUE(store_->apply_ops(ops, kDay0 + 2).ok());
  const std::int64_t head = store_->head_version();
  ASSERT_GT(head, head0);

  std::vector<sync::StoredEvent> captured = to_stored(store_->take_written_events());
  ASSERT_GT(captured.size(), static_cast<std::size_t>(head - head0))
      << "the rolled-back batch's events were not captured: the case is not exercised";
  auto run = sync::committed_run(std::move(captured), head0, head);
  ASSERT_TRUE(run.has_value());
  const std::vector<Event> log = store_->events_since(head0, 1000);
  ASSERT_EQ(run->size(), log.size());
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ((*run)[i].version, log[i].version);
    EXPECT_EQ((*run)[i].entity_id, log[i].entity_id);
    EXPECT_EQ((*run)[i].data, log[i].data);
  }
  EXPECT_TRUE(store_->take_written_events().empty());
}

TEST_F(GroupWriterTest, OnCommitSeesIncreasingCommittedHeads) {
  Reader reader(db_.path());
  std::vector<std::int64_t> heads;
  std::atomic<int> uncommitted{0};
  Latch done;
  GroupWriter writer(*store_, clock_);
  writer.set_on_commit([&](std::int64_t head) {
    heads.push_back(head);  // writer thread only
    if (reader.scalar("SELECT MAX(version) FROM events") < head) ++uncommitted;
  });
  const std::int64_t head0 = store_->head_version();
  constexpr int kThreads = 4, kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int seq = 1; seq <= kPerThread; ++seq) {
        EXPECT_TRUE(writer.submit(draft("h" + std::to_string(t), seq),
                                  [&](const Result<OpResult>&) { done.arrive(); }));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(done.wait_for(kThreads * kPerThread));
  writer.stop();
  ASSERT_FALSE(heads.empty());
  EXPECT_EQ(heads.size(), writer.stats().batches);
  EXPECT_GT(heads.front(), head0);
  for (std::size_t i = 1; i < heads.size(); ++i) {
    EXPECT_GT(heads[i], heads[i - 1]) << "batch " << i;
  }
  EXPECT_EQ(heads.back(), store_->head_version());
  EXPECT_EQ(uncommitted.load(), 0) << "the hook ran before its batch was visible";
}

TEST_F(GroupWriterTest, PostedJobsRunAlone) {
  std::atomic<bool> in_job{false};
  std::atomic<int> overlaps{0}, open_tx{0}, jobs_run{0}, posted{0}, job_writes_failed{0};
  std::mutex tid_mu;
  std::set<std::thread::id> writer_threads;
  auto note_thread = [&] {
    std::lock_guard<std::mutex> lock(tid_mu);
    writer_threads.insert(std::this_thread::get_id());
  };
  Latch done;
  GroupWriter writer(*store_, clock_);
  writer.set_on_commit([&](std::int64_t) {
    if (in_job.load()) ++overlaps;
  });
  constexpr int kThreads = 4, kPerThread = 120, kJobs = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int seq = 1; seq <= kPerThread; ++seq) {
        EXPECT_TRUE(
            writer.submit(draft("j" + std::to_string(t), seq), [&](const Result<OpResult>& r) {
              note_thread();
              if (in_job.load()) ++overlaps;
              if (!r.ok() || !r->applied) ++job_writes_failed;
              done.arrive();
            }));
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < kJobs; ++i) {
      const bool ok = writer.post([&, i](Store& store) {
        note_thread();
        if (in_job.exchange(true)) ++overlaps;
        // No batch transaction is open around a job, and the job can write on its own.
        if (sqlite3_get_autocommit(store.db().handle()) == 0) ++open_tx;
        std::vector<Lead> leads = {lead("J" + std::to_string(i))};
        auto r = store.ingest_leads(leads, kDay0);
        if (!r.ok() || r->inserted != 1) ++job_writes_failed;
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        in_job.store(false);
        ++jobs_run;
      });
      if (ok) ++posted;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(done.wait_for(kThreads * kPerThread));
  writer.stop();  // jobs queued before stop still run
  EXPECT_EQ(posted.load(), kJobs);
  EXPECT_EQ(jobs_run.load(), kJobs);
  EXPECT_EQ(overlaps.load(), 0) << "a job overlapped a batch or another job";
  EXPECT_EQ(open_tx.load(), 0) << "a job ran inside a batch transaction";
  EXPECT_EQ(job_writes_failed.load(), 0);
  EXPECT_EQ(writer_threads.size(), 1u) << "jobs and completions ran on different threads";
  EXPECT_EQ(writer_threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(count_rows("leads"), 1 + kJobs);
  EXPECT_EQ(count_rows("op_results"), kThreads * kPerThread);
}

}  // namespace
}  // namespace returns::store
