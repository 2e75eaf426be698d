// server_rules.h — the pure decisions of the server side of a sync session, shared by returnsd
// (server/sync_session.cc, server/hub.cc) and the deterministic simulation (tests/sim), so both
// answer hello, catch-up, live fan-out and op results by the same rules (docs/protocol.md §2, §5).
// No I/O, no clock: callers pass the store's facts and the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sync/protocol.h"

namespace returns::sync {

// Events read per catch-up frame, and per live page.
inline constexpr std::size_t kCatchUpBatch = 500;
inline constexpr std::size_t kLivePage = 2000;

// Whether a hello's (or a catch-up's) cursor must be answered with `reset`: beyond the head (the
// server lost data or is another server) or older than the oldest event kept. Cursor 0 means
// "from scratch" and never resets (a reset would loop).
bool cursor_needs_reset(std::int64_t cursor, std::int64_t head, std::int64_t min_version);

// Where one catch-up page ends. `read` events after the cursor were read, `batch` at most — the
// whole log's for an operator, only the buyer's own for a buyer (the only events a buyer may see);
// `last` is the version of the last one. A page that is not full was read through the head, so it
// ends there and the session goes live.
struct CatchUpPage {
  std::int64_t to = 0;
  bool done = false;
};
CatchUpPage catch_up_page(std::size_t read, std::int64_t last, std::int64_t head,
                          std::size_t batch);

// A buyer's lead horizon: the earliest delivery time whose return window (the core's
// return_deadline under the buyer's policy) is still open at `now`. Leads delivered before it are
// not sent unless a return changed their status.
Millis lead_horizon(const Policy& policy, Millis now);

// One stored event as catch-up and fan-out read it: its row as the JSON text the store wrote
// (the core codec's output, so it is valid JSON with sorted keys).
struct StoredEvent {
  std::int64_t version = 0;
  std::string entity;
  std::string entity_id;
  std::string buyer_id;  // scope: empty = operators only
  std::string data;
  bool deleted = false;
};

// The events a writer wrote (in the order written) that are exactly the log's (from, head]: the
// last `head - from` of them, counting up by one to `head`. Events of a rolled-back transaction
// come before the committed ones that reuse their versions, or after `head` (never committed);
// anything else (an event the capture missed) gives nothing, and the caller reads the log.
std::optional<std::vector<StoredEvent>> committed_run(std::vector<StoredEvent>&& written,
                                                      std::int64_t from, std::int64_t head);

// The `changes` frame `principal` may see of `events` (from, to], or nothing when none is
// visible (no frame is sent then). Byte for byte what encode_changes gives for the rows
// visible_row lets through; but an operator's rows are copied as stored, never parsed, and a
// buyer's frame parses only that buyer's rows.
std::optional<std::string> changes_frame(const std::vector<StoredEvent>& events,
                                         const Principal& principal, std::int64_t from,
                                         std::int64_t to);
std::optional<std::string> changes_frame(const std::vector<const StoredEvent*>& events,
                                         const Principal& principal, std::int64_t from,
                                         std::int64_t to);

// How the store answered one op, and the frame that carries the answer: a `result` (stored
// answers, resends included), or a non-fatal SEQ_GAP `error` for an op that skipped ahead.
struct OpAnswer {
  std::int64_t seq = 0;
  bool applied = false;
  std::optional<ErrorCode> code;
  std::string message;
  std::int64_t version = 0;
  bool duplicate = false;        // answered from a stored result
  std::optional<Json> decision;  // an applied submit: how it was decided (the result carries it)
};
std::string answer_frame(const OpAnswer& answer);

}  // namespace returns::sync
