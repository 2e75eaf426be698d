// lead_index_test.cc — the engine's lead index (sync/lead_index.h) against a brute-force recount:
// seeded random `changes` frames (new, changed, returned, deleted and re-homed leads, day
// boundaries, stale items), resets, restarts on the same replica, and pending submits the core
// optimistically accepts; after every step the view's trailing_counts and delivered_before equal
// a recount over the view's lead rows (and over the replica's rows while nothing is pending).
// Also: a row that does not decode is reported once as an INTERNAL error notice.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>

#include "engine_fixture.h"
#include "sync/engine.h"
#include "sync/memory_replica.h"

namespace returns::sync {
namespace {

using namespace returns::sync::testing;

constexpr Millis kNow = kT0 + 2 * kHour;
const std::vector<std::string> kBuyers = {kBuyer, "B-2", "B-9", ""};

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
Millis at_of(const Json& j) {
  auto it = j.find("delivered_at");
  return it != j.end() && it->is_number_integer() ? it->get<Millis>() : 0;
}

// The contract of core/lifecycle.h and core/evidence.h, recounted row by row.
RateCounts recount(const std::vector<Json>& leads, const std::string& buyer, Millis now, int days) {
  RateCounts c;
  for (const Json& l : leads) {
    const std::int64_t day = utc_day(at_of(l));
    if (str(l, "buyer_id") != buyer || day > utc_day(now) || day <= utc_day(now) - days) continue;
    ++c.accepted;
    if (str(l, "status") == "RETURNED") ++c.returned;
  }
  return c;
}

bool earlier_exists(const std::vector<Json>& leads, const std::string& buyer,
                    const std::string& hash, const std::string& lead_id, Millis at) {
  for (const Json& l : leads) {
    const std::string id = str(l, "id");
    if (str(l, "buyer_id") != buyer || str(l, "contact_hash") != hash || id == lead_id) continue;
    if (at_of(l) < at || (at_of(l) == at && id < lead_id)) return true;
  }
  return false;
}

std::vector<Json> replica_leads(const Replica& replica) {
  std::vector<Json> out;
  for (const ReplicaRow& r : replica.rows("lead")) {
    Result<Json> j = parse_json(r.data);
    if (j.ok()) out.push_back(*j);
  }
  return out;
}

class LeadIndexRandom : public ::testing::TestWithParam<unsigned> {
 protected:
  MemoryReplica replica;
  std::unique_ptr<Engine> engine = make();
  std::mt19937 rng{GetParam()};
  std::int64_t version = 0;
  int submits = 0;

  std::unique_ptr<Engine> make() {
    return std::make_unique<Engine>(replica, EngineConfig{"dev-1", "tok-1", 250});
  }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  void connect() {
    (void)engine->on_connected(kNow);
    ASSERT_TRUE(engine->on_frame(welcome(0, engine->cursor(), kNow), kNow).ok());
  }
  void send(std::vector<ChangeItem> items) {
    const std::int64_t from = version;
    for (ChangeItem& i : items) i.v = ++version;
    Status s = engine->on_frame(changes(from, version, std::move(items)), kNow);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void world() {
    Json b2 = buyer_row();
    b2["id"] = "B-2";
    send({ChangeItem{0, "buyer", kBuyer, buyer_row()},
          ChangeItem{0, "campaign", "C-1", campaign_row()}, ChangeItem{0, "buyer", "B-2", b2}});
  }
  Json random_lead(const std::string& id) {
    // Within the 168 h window mostly; some on either side of a UTC midnight, some a month back.
    const Millis midnight = utc_day(kNow) * kMillisPerDay;
    Millis at = kNow - pick(160) * kHour - pick(3) * 1000;
    if (pick(4) == 0) at = midnight + (pick(3) - 1) * (pick(2) ? 1 : kHour);
    if (pick(8) == 0) at = kNow - (25 + pick(10)) * 24 * kHour;
    Json l = lead_row(id, at);
    l["contact_hash"] = "hash-" + std::to_string(pick(4));
    l["buyer_id"] = pick(6) == 0 ? "B-2" : kBuyer;
    if (pick(3) == 0) l["status"] = "RETURNED";
    return l;
  }

  void step() {
    const std::string id = "L-" + std::to_string(pick(30));
    switch (pick(12)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        std::vector<ChangeItem> items;
        for (int n = 1 + pick(3); n > 0; --n) {
          const std::string lid = "L-" + std::to_string(pick(30));
          items.push_back(ChangeItem{0, "lead", lid, random_lead(lid)});
        }
        send(std::move(items));
        break;
      }
      case 4:
        send({ChangeItem{0, "lead", id, Json{{"id", id}, {"deleted", true}}}});
        break;
      case 5: {  // an overlapping frame: items at or below the cursor are skipped
        Json l = random_lead(id);
        l["status"] = "RETURNED";
        ASSERT_TRUE(engine
                        ->on_frame(changes(version - 1, version + 1,
                                           {ChangeItem{version, "lead", id, l},
                                            ChangeItem{version + 1, "lead", "L-new", l}}),
                                   kNow)
                        .ok());
        ++version;
        break;
      }
      case 6:
      case 7: {  // a submit the core may auto-accept: its lead returned in the optimistic view
        Result<std::int64_t> seq =
            engine->enqueue("submit_return",
                            Json{{"return_id", "R-" + std::to_string(++submits)},
                                 {"lead_id", id},
                                 {"reason", "bad_contact"}},
                            kNow);
        ASSERT_TRUE(seq.ok());
        break;
      }
      case 8: {  // the oldest op answered: applied (effects not yet here) or refused
        std::vector<OutboxEntry> out = replica.outbox();
        if (out.empty()) break;
        const std::string frame =
            pick(2) ? applied(out.front().seq, version + 5)
                    : refused(out.front().seq, ErrorCode::BAD_TRANSITION, "No.", version);
        ASSERT_TRUE(engine->on_frame(frame, kNow).ok());
        break;
      }
      case 9:
        if (pick(3) == 0) {
          ASSERT_TRUE(engine->on_frame(R"({"type":"reset","head":0})", kNow).ok());
          version = 0;
          world();
        }
        break;
      case 10:  // a restart: the index is built from the replica as found
        engine = make();
        connect();
        break;
      default:  // a lead that moves to another buyer
        if (std::optional<Json> l = engine->row("lead", id, kNow)) {
          Json moved = *l;
          moved["buyer_id"] = (*l)["buyer_id"] == kBuyer ? "B-2" : kBuyer;
          send({ChangeItem{0, "lead", id, moved}});
        }
        break;
    }
  }

  void check(const std::string& where) {
    for (Millis now : {kNow, kNow + 22 * kHour, kNow - 3 * 24 * kHour}) {
      const std::vector<Json> leads = engine->rows("lead", now);
      const bool settled = engine->pending(now).empty();
      const CaseView& view = engine->view(now);
      for (const std::string& b : kBuyers) {
        for (int days : {1, 2, 7, 30, 0}) {
          EXPECT_EQ(view.trailing_counts(b, now, days), recount(leads, b, now, days))
              << where << " buyer " << b << " days " << days << " now " << now;
          if (settled) {
            EXPECT_EQ(view.trailing_counts(b, now, days),
                      recount(replica_leads(replica), b, now, days))
                << where;
          }
        }
      }
      std::vector<Json> probes = leads;
      probes.push_back(random_lead("L-" + std::to_string(pick(30))));
      for (const Json& l : probes) {
        for (const std::string& b : {str(l, "buyer_id"), std::string("B-2")}) {
          for (Millis at : {at_of(l), at_of(l) - 1, kNow}) {
            const std::string hash = str(l, "contact_hash");
            EXPECT_EQ(view.delivered_before(b, hash, str(l, "id"), at),
                      earlier_exists(leads, b, hash, str(l, "id"), at))
                << where << " lead " << str(l, "id") << " at " << at;
          }
        }
      }
    }
  }
};

TEST_P(LeadIndexRandom, AnswersEqualABruteForceRecountAfterEveryStep) {
  connect();
  world();
  check("world");
  for (int i = 0; i < 150 && !HasFailure(); ++i) {
    step();
    check("step " + std::to_string(i));
  }
  // Nothing here is undecodable: no error notices.
  for (const Notice& n : engine->take_notices())
    EXPECT_NE(n.kind, Notice::Kind::error) << n.message;
}

INSTANTIATE_TEST_SUITE_P(Seeds, LeadIndexRandom, ::testing::Values(1u, 2u, 3u, 42u, 2026u));

// A buyer row the core cannot decode used to read as "no such buyer" and nothing else: the
// portal showed BUYER_NOT_FOUND with no hint. It still reads as absent, and says why once.
TEST(BadRows, AnUndecodableRowIsReportedOnceAsAnInternalError) {
  MemoryReplica replica;
  Engine engine(replica, EngineConfig{"dev-1", "tok-1", 250});
  (void)engine.on_connected(kNow);
  ASSERT_TRUE(engine.on_frame(welcome(0, 0, kNow), kNow).ok());
  Json bad = buyer_row();
  bad["billing"] = 7;  // not a billing mode
  ASSERT_TRUE(engine
                  .on_frame(changes(0, 3,
                                    {ChangeItem{1, "buyer", kBuyer, bad},
                                     ChangeItem{2, "campaign", "C-1", campaign_row()},
                                     ChangeItem{3, "lead", "L-1", lead_row("L-1")}}),
                            kNow)
                  .ok());
  (void)engine.take_notices();
  const DraftInput draft{"R-1", "L-1", Reason::bad_contact, "Number disconnected"};
  Preview p = engine.preview(draft, kNow);
  EXPECT_FALSE(p.validation.ok);
  (void)engine.preview(draft, kNow + 1);  // a new view over the same bad row: no second notice
  std::vector<Notice> n = engine.take_notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].kind, Notice::Kind::error);
  EXPECT_EQ(n[0].code, ErrorCode::INTERNAL);
  EXPECT_FALSE(n[0].fatal);
  EXPECT_NE(n[0].message.find("buyer row " + kBuyer), std::string::npos) << n[0].message;
  EXPECT_NE(n[0].message.find("billing"), std::string::npos) << n[0].message;

  // Written again (still bad): reported again; written good: silent, and the preview is clean.
  ASSERT_TRUE(engine.on_frame(changes(3, 4, {ChangeItem{4, "buyer", kBuyer, bad}}), kNow).ok());
  (void)engine.preview(draft, kNow + 2);
  EXPECT_EQ(engine.take_notices().size(), 1u);
  ASSERT_TRUE(
      engine.on_frame(changes(4, 5, {ChangeItem{5, "buyer", kBuyer, buyer_row()}}), kNow).ok());
  EXPECT_TRUE(engine.preview(draft, kNow + 3).validation.ok);
  EXPECT_TRUE(engine.take_notices().empty());
}

}  // namespace
}  // namespace returns::sync
