// changes_scan_test.cc — the fast reading of `changes` frames (sync/changes_scan.h) against the
// full decoder (sync::decode_changes) on the same frames: what the scan accepts, the decoder
// accepts with the same rows; frames the server writes are all taken by the scan; anything
// malformed is left to the decoder. Random frames and byte-level mutations of them, from a fixed
// seed.
#include "sync/changes_scan.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "sync/protocol.h"

namespace returns::sync {
namespace {

constexpr const char* kEntities[] = {"buyer",   "supplier", "campaign", "lead",     "return",
                                     "message", "ledger",   "alert",    "buyer_day"};

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }

  std::string text() {
    static const char* parts[] = {"a",  "Z",  "9", " ", "é", "✓", "\"",
                                  "\\", "\n", "/", "𝄞", "-", ""};
    std::string s;
    for (int n = pick(6); n > 0; --n) s += parts[pick(13)];
    return s;
  }
  Json value(int depth) {
    switch (pick(depth > 2 ? 5 : 7)) {
      case 0:
        return text();
      case 1:
        return static_cast<std::int64_t>(rng_() % 2'000'000) - 1'000'000;
      case 2:
        return pick(2) == 0;
      case 3:
        return nullptr;
      case 4:
        return static_cast<double>(pick(100000)) / 64.0;
      case 5: {
        Json a = Json::array();
        for (int n = pick(4); n > 0; --n) a.push_back(value(depth + 1));
        return a;
      }
      default:
        return object(depth + 1);
    }
  }
  Json object(int depth) {
    Json o = Json::object();
    for (int n = pick(6); n > 0; --n) o["k" + text()] = value(depth);
    return o;
  }
  Changes changes() {
    Changes c;
    c.from = pick(1000);
    std::int64_t v = c.from;
    for (int n = pick(12); n > 0; --n) {
      ChangeItem item;
      v += 1 + pick(3);
      item.v = v;
      item.entity = kEntities[pick(9)];
      item.id = "id-" + std::to_string(pick(50)) + (pick(4) == 0 ? "é" : "");
      item.data = object(1);
      const std::string ref = replica_ref_key(item.entity);
      if (!ref.empty() && pick(4) != 0) item.data[ref] = pick(5) == 0 ? Json(7) : Json(text());
      if (pick(6) == 0) item.data["deleted"] = pick(3) != 0;
      c.items.push_back(std::move(item));
    }
    c.to = v + pick(3);
    return c;
  }

 private:
  std::mt19937_64 rng_;
};

// The scan's reading of `frame` equals the decoder's (which must accept it).
void expect_same(const std::string& frame, const ScannedChanges& scanned) {
  Result<Json> parsed = parse_server_frame(frame);
  ASSERT_TRUE(parsed.ok()) << "the scan took a frame the parser refuses: " << frame;
  Result<Changes> decoded = decode_changes(*parsed);
  ASSERT_TRUE(decoded.ok()) << "the scan took a frame the decoder refuses ("
                            << decoded.error().field << "): " << frame;
  EXPECT_EQ(scanned.from, decoded->from);
  EXPECT_EQ(scanned.to, decoded->to);
  ASSERT_EQ(scanned.items.size(), decoded->items.size()) << frame;
  for (std::size_t i = 0; i < scanned.items.size(); ++i) {
    const ScannedItem& s = scanned.items[i];
    const ChangeItem& d = decoded->items[i];
    EXPECT_EQ(s.v, d.v);
    EXPECT_EQ(s.entity, d.entity);
    EXPECT_EQ(s.id, d.id);
    Result<Json> data = parse_json(s.data);
    ASSERT_TRUE(data.ok()) << s.data;
    EXPECT_EQ(*data, d.data) << s.data;
    const std::string key = replica_ref_key(d.entity);
    const auto ref = key.empty() ? d.data.end() : d.data.find(key);
    EXPECT_EQ(s.ref, ref != d.data.end() && ref->is_string() ? ref->get<std::string>() : "");
    const auto del = d.data.find("deleted");
    EXPECT_EQ(s.deleted, del != d.data.end() && del->is_boolean() && del->get<bool>());
  }
}

TEST(ChangesScan, TakesEveryFrameTheServerWritesAndReadsItAsTheDecoderDoes) {
  Gen g(20261206);
  for (int n = 0; n < 400; ++n) {
    const Changes c = g.changes();
    const std::string frame = encode_changes(c);
    const std::optional<ScannedChanges> scanned = scan_changes(frame);
    ASSERT_TRUE(scanned.has_value()) << frame;
    expect_same(frame, *scanned);
    // The same frame with whitespace everywhere JSON allows it.
    const std::string pretty = parse_json(frame)->dump(2);
    const std::optional<ScannedChanges> spaced = scan_changes(pretty);
    ASSERT_TRUE(spaced.has_value()) << pretty;
    expect_same(pretty, *spaced);
  }
}

TEST(ChangesScan, WhatItTakesFromMutatedFramesTheDecoderTakesAlike) {
  Gen g(7);
  static const char kBytes[] = "{}[],:\"\\0123456789-+.eEtrufalsn \t\x80\xbf\xc3\xed\xf4\xff";
  int taken = 0, declined = 0;
  for (int n = 0; n < 1000; ++n) {
    const std::string frame = encode_changes(g.changes());
    for (int m = 0; m < 60; ++m) {
      std::string mutant = frame;
      const std::size_t at = static_cast<std::size_t>(g.pick(static_cast<int>(mutant.size())));
      const char b = kBytes[g.pick(static_cast<int>(sizeof kBytes) - 1)];
      switch (g.pick(4)) {
        case 0:
          mutant[at] = b;
          break;
        case 1:
          mutant.erase(at, 1);
          break;
        case 2:
          mutant.insert(at, 1, b);
          break;
        default:
          mutant.resize(at);
      }
      if (std::optional<ScannedChanges> scanned = scan_changes(mutant)) {
        ++taken;
        expect_same(mutant, *scanned);
        if (::testing::Test::HasFailure()) return;
      } else {
        ++declined;
      }
    }
  }
  // Both kinds happened: the check above was exercised.
  EXPECT_GT(taken, 500);
  EXPECT_GT(declined, 500);
}

TEST(ChangesScan, LeavesAnythingUnusualToTheDecoder) {
  const std::string ok =
      R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"lead","id":"L1","data":{"buyer_id":"B1"}}]})";
  ASSERT_TRUE(scan_changes(ok).has_value());
  EXPECT_EQ(scan_changes(ok)->items[0].ref, "B1");
  for (
      const char* frame : {
          R"({"type":"synced","cursor":3})",                                    // another frame
          R"({"type":"changes","from":1,"to":3,"items":[],"extra":1})",         // unknown field
          R"({"type":"changes","from":1,"to":3})",                              // no items
          R"({"type":"changes","from":4,"to":3,"items":[]})",                   // from > to
          R"({"type":"changes","from":-1,"to":3,"items":[]})",                  // negative
          R"({"type":"changes","from":1.0,"to":3,"items":[]})",                 // not an integer
          R"({"type":"changes","from":9007199254740992,"to":3,"items":[]})",    // beyond 2^53-1
          R"({"type":"changes","from":1,"to":3,"items":[]} x)",                 // trailing bytes
          R"({"type":"changes","type":"changes","from":1,"to":3,"items":[]})",  // a key twice
          R"({"type":"chan\u0067es","from":1,"to":3,"items":[]})",              // an escape
          R"({"type":"changes","from":1,"to":3,"items":[{"v":4,"entity":"lead","id":"L1","data":{}}]})",
          R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"nope","id":"L1","data":{}}]})",
          R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"lead","id":"","data":{}}]})",
          R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"lead","id":"L1","data":[]}]})",
          R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"lead","id":"L1"}]})",
          R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"lead","id":"L1","data":{"a":1,"a":2}}]})",
          R"({"type":"changes","from":1,"to":3,"items":[{"v":2,"entity":"lead","id":"L1","data":{"s":"\ud800"}}]})",
          "{\"type\":\"changes\",\"from\":1,\"to\":3,\"items\":[{\"v\":2,\"entity\":\"lead\","
          "\"id\":\"L1\",\"data\":{\"s\":\"\xc0\xaf\"}}]}",
      }) {
    EXPECT_FALSE(scan_changes(frame).has_value()) << frame;
  }
}

}  // namespace
}  // namespace returns::sync
