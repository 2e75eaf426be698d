// changes_scan.h — a `changes` frame read without building it as JSON. A catch-up is mostly these
// frames, hundreds of rows each, and the client stores each row as text: parsing a whole frame into
// a tree and printing every row back out took a third of an operator's first sign-in in the
// browser. The scan checks the frame's JSON syntax (strictly, UTF-8 included), reads the few fields
// the engine needs, and hands each row's `data` over as the very text the server sent.
//
// It is a fast path only: it answers for a frame it fully understands — an object with exactly
// `type` "changes", `from`, `to` and `items`; each item exactly `v`, `entity`, `id` and an object
// `data`; integers plain, in range and increasing, no escapes in the strings it reads, no key twice
// — and gives nothing for anything else, which then goes through the full decoder and its typed
// errors. Whatever the scan accepts, the full decoder accepts with the same rows
// (tests/sync/changes_scan_test.cc checks both on the same frames).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace returns::sync {

struct ScannedItem {
  std::int64_t v = 0;
  std::string_view entity;
  std::string_view id;
  std::string_view data;  // the row's JSON object text, as sent
  std::string ref;        // the key the replica indexes the row by (Replica, replica_ref)
  bool deleted = false;   // data has "deleted": true
};

struct ScannedChanges {
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::vector<ScannedItem> items;
};

// The views point into `frame`, which must outlive the result.
std::optional<ScannedChanges> scan_changes(std::string_view frame);

// The data field a row of `entity` is indexed by in the replica ("" for none): a return by its
// lead, a ledger entry or message by its return, a lead, campaign or buyer_day by its buyer.
const char* replica_ref_key(std::string_view entity);

}  // namespace returns::sync
