// compaction_test.cc — log compaction (store/compaction.h, store/compactor.h): exactly the
// superseded events go, each entity's newest event stays as it was, the log's first version stays
// (so no cursor resets), catch-up from any cursor still ends at every current row, and the
// compactor drops through the writer between batches.
#include "store/compaction.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/compactor.h"
#include "store/group_writer.h"
#include "store/sample_lead.h"
#include "store/store.h"
#include "store/temp_db.h"

namespace returns::store {
namespace {

constexpr Millis kDay0 = 1'700'000'000'000;

using Key = std::pair<std::string, std::string>;  // entity, id

class Compaction : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(db_.path(), StoreOptions{Database::Sync::normal});
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    Buyer b{"B1", "Buyer One", Billing::prepaid, {}, default_policy()};
    ASSERT_TRUE(store_->put_buyer(b, kDay0).ok());  // the log's first event
    ASSERT_TRUE(store_->put_supplier({"S1", "Supplier", true}, kDay0).ok());
    ASSERT_TRUE(store_->put_campaign({"C1", "B1", "mva", 5000}, kDay0).ok());
    std::vector<Lead> leads;
    for (int i = 0; i < 6; ++i) leads.push_back(lead("L" + std::to_string(i)));
    ASSERT_TRUE(store_->ingest_leads(leads, kDay0).ok());
    // The buyer edited twice: its first event is superseded, and must stay anyway.
    b.name = "Buyer One (renamed)";
    ASSERT_TRUE(store_->put_buyer(b, kDay0 + 1).ok());
    // Drafts saved and resaved, one discarded, returns submitted (auto-accepted: the lead and
    // the buyer's day change with each).
    std::int64_t seq = 0;
    for (int i = 0; i < 6; ++i) {
      const std::string id = "R" + std::to_string(i);
      const std::string lead_id = "L" + std::to_string(i);
      apply("save_draft", {{"return_id", id}, {"lead_id", lead_id}}, ++seq);
      apply("save_draft", {{"return_id", id}, {"lead_id", lead_id}, {"note", "edited"}}, ++seq);
      if (i == 5) {
        apply("discard_draft", {{"return_id", id}}, ++seq);
      } else {
        apply("submit_return", {{"return_id", id}, {"lead_id", lead_id}, {"reason", "bad_contact"}},
              ++seq);
      }
    }
  }

  static Lead lead(const std::string& id) { return sample_lead(id, kDay0); }

  void apply(const std::string& op, Json args, std::int64_t seq) {
    const std::vector<OpRequest> ops = {
        OpRequest{"b1-phone", seq, Actor::buyer("B1"), op, std::move(args), 0}};
    auto r = store_->apply_ops(ops, kDay0 + 2 * kMillisPerHour + seq);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE((*r)[0].applied) << op << ": " << (*r)[0].message;
  }

  std::vector<Event> log() { return store_->events_since(0, 1'000'000); }

  // Each entity's newest event: version, deleted flag and row.
  std::map<Key, std::tuple<std::int64_t, bool, std::string>> newest() {
    std::map<Key, std::tuple<std::int64_t, bool, std::string>> out;
    for (Event& e : log()) out[{e.entity, e.entity_id}] = {e.version, e.deleted, e.data};
    return out;
  }

  // What a plan must list, worked out from the log: every event but the newest of its entity,
  // and never the log's first event.
  std::vector<std::int64_t> superseded() {
    const std::vector<Event> events = log();
    const auto newest_now = newest();
    std::vector<std::int64_t> out;
    for (const Event& e : events) {
      if (e.version == events.front().version) continue;
      if (std::get<0>(newest_now.at({e.entity, e.entity_id})) != e.version) {
        out.push_back(e.version);
      }
    }
    return out;
  }

  TempDb db_{"compaction"};
  std::unique_ptr<Store> store_;
};

TEST_F(Compaction, ExactlyTheSupersededEventsGoAndTheNewestStay) {
  const std::vector<Event> before = log();
  const auto newest_before = newest();
  const std::int64_t min_before = store_->min_version();
  const std::int64_t head = store_->head_version();
  const std::vector<std::int64_t> want = superseded();
  ASSERT_GT(want.size(), 20u) << "the fixture should supersede many events";
  // The first event (the buyer, edited since) is superseded, and still kept.
  ASSERT_NE(std::get<0>(newest_before.at({"buyer", "B1"})), before.front().version);

  Result<CompactionPlan> plan = plan_compaction(store_->db());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->superseded, want);
  EXPECT_EQ(plan->scanned, static_cast<std::int64_t>(before.size()));
  EXPECT_EQ(plan->head, head);

  Result<std::int64_t> dropped = drop_events(store_->db(), plan->superseded);
  ASSERT_TRUE(dropped.ok()) << dropped.error().message;
  EXPECT_EQ(*dropped, static_cast<std::int64_t>(want.size()));
  EXPECT_EQ(log().size(), before.size() - want.size());
  EXPECT_EQ(newest(), newest_before);
  EXPECT_EQ(store_->min_version(), min_before);
  EXPECT_EQ(store_->head_version(), head);
  // The discarded draft's tombstone is its newest event, and stays.
  EXPECT_TRUE(std::get<1>(newest().at({"return", "R5"})));

  // Again: nothing more to drop; the same versions again are skipped.
  Result<CompactionPlan> again = plan_compaction(store_->db());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->superseded.empty());
  Result<std::int64_t> twice = drop_events(store_->db(), plan->superseded);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*twice, 0);
}

// compact_log plans and drops in one go (returnsd compact, --demo, the simulation) and reports
// both: what it read, what it planned, what it dropped.
TEST_F(Compaction, CompactLogReportsWhatItReadPlannedAndDropped) {
  const std::size_t events = log().size();
  const auto newest_before = newest();
  const std::int64_t min_before = store_->min_version();
  const std::int64_t head = store_->head_version();
  const auto want = static_cast<std::int64_t>(superseded().size());
  ASSERT_GT(want, 20);

  Result<CompactionReport> done = compact_log(store_->db());
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->head, head);
  EXPECT_EQ(done->scanned, static_cast<std::int64_t>(events));
  EXPECT_EQ(done->planned, want);
  EXPECT_EQ(done->dropped, want);
  EXPECT_EQ(static_cast<std::int64_t>(log().size()), static_cast<std::int64_t>(events) - want);
  EXPECT_EQ(newest(), newest_before);
  EXPECT_EQ(store_->min_version(), min_before);

  // Again: the compacted log is read, and nothing is left to plan or drop.
  Result<CompactionReport> again = compact_log(store_->db());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->head, head);
  EXPECT_EQ(again->scanned, static_cast<std::int64_t>(events) - want);
  EXPECT_EQ(again->planned, 0);
  EXPECT_EQ(again->dropped, 0);
}

// A client at any cursor, catching up over the compacted log, ends with the same rows as one that
// caught up over the whole log: rows are replaced by entity, so only the newest version counts.
TEST_F(Compaction, CatchUpFromAnyCursorEndsAtTheSameRows) {
  const std::vector<Event> full = log();
  const std::int64_t head = store_->head_version();
  auto apply_from = [](const std::vector<Event>& events, std::int64_t cursor,
                       std::map<Key, std::string> rows) {
    for (const Event& e : events) {
      if (e.version <= cursor) continue;
      if (e.deleted) {
        rows.erase({e.entity, e.entity_id});
      } else {
        rows[{e.entity, e.entity_id}] = e.data;
      }
    }
    return rows;
  };
  Result<CompactionPlan> plan = plan_compaction(store_->db());
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(drop_events(store_->db(), plan->superseded).ok());
  const std::vector<Event> compacted = log();
  const std::map<Key, std::string> want = apply_from(full, 0, {});
  for (std::int64_t cursor = 0; cursor <= head; ++cursor) {
    // What the client held at `cursor` (the full log up to it), then a catch-up over what is
    // left of the log after it.
    std::vector<Event> upto;
    for (const Event& e : full) {
      if (e.version <= cursor) upto.push_back(e);
    }
    EXPECT_EQ(apply_from(compacted, cursor, apply_from(upto, 0, {})), want)
        << "from cursor " << cursor;
  }
}

TEST_F(Compaction, TheCompactorDropsThroughTheWriter) {
  ManualClock clock{kDay0 + kMillisPerDay};
  GroupWriter writer(*store_, clock);
  const auto newest_before = newest();
  auto c = Compactor::start(writer, db_.path(), std::chrono::milliseconds(0));
  ASSERT_TRUE(c.ok()) << c.error().message;
  Result<std::int64_t> dropped = (*c)->run_once();
  ASSERT_TRUE(dropped.ok()) << dropped.error().message;
  EXPECT_GT(*dropped, 20);
  const Compactor::Stats st = (*c)->stats();
  EXPECT_EQ(st.runs, 1u);
  EXPECT_EQ(st.dropped, static_cast<std::uint64_t>(*dropped));
  EXPECT_EQ(st.failures, 0u);
  writer.stop();
  EXPECT_EQ(newest(), newest_before);
  // A writer that has stopped takes no more work: a round with something to drop fails, is
  // counted, and drops nothing.
  Buyer b = *store_->find_buyer("B1");
  b.name = "Buyer One (again)";
  ASSERT_TRUE(store_->put_buyer(b, kDay0 + 2).ok());
  const std::size_t events = log().size();
  Result<std::int64_t> late = (*c)->run_once();
  EXPECT_FALSE(late.ok());
  EXPECT_EQ((*c)->stats().failures, 1u);
  EXPECT_EQ((*c)->stats().runs, 2u);
  EXPECT_EQ(log().size(), events);
}

}  // namespace
}  // namespace returns::store
