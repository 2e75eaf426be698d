// protocol.h — the sync protocol (docs/protocol.md) as typed messages with one JSON codec each, and
// the scoping rule that decides which rows a principal may see. Shared by the server (native) and
// the browser sync engine (wasm). The wire format is documented in docs/protocol.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/codec.h"

namespace returns::sync {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::size_t kMaxFrameBytes = 64 * 1024;
inline constexpr std::size_t kMaxOpsPerPush = 100;
inline constexpr std::size_t kMaxClientIdLength = 64;
inline constexpr int kMaxNesting = 32;  // arrays/objects within one frame (BAD_JSON beyond)

// Who is on the other end, as established by the token in hello.
struct Principal {
  Role role = Role::buyer;
  std::string buyer_id;  // buyers only
  std::string subject;   // for the audit trail
  // Buyers: leads delivered before this instant (now − their return window) are not sent unless
  // returned — a buyer's portal lists what can still be returned. 0 = no horizon.
  Millis lead_horizon = 0;
  Actor actor() const { return Actor{role, subject, buyer_id}; }
};

// --- Client → server ---------------------------------------------------------------------------

struct Hello {
  int proto = kProtocolVersion;
  std::string token;
  std::string client_id;
  std::int64_t cursor = 0;
  std::int64_t last_seq = 0;
};

struct PushedOp {
  std::int64_t seq = 0;
  std::string op;
  Json args;
  Millis client_time = 0;
};

struct Push {
  std::vector<PushedOp> ops;
};

struct Ping {
  Json t;  // echoed back as is (a number or string the client chose)
};

using ClientMessage = std::variant<Hello, Push, Ping>;

// Parses one text frame. BAD_JSON, BAD_TYPE, MISSING_FIELD, UNKNOWN_FIELD, INVALID_ENUM (unknown
// type), FRAME_TOO_LARGE, UNSUPPORTED_PROTO, INVALID_ID. Op args are not decoded here: each op is
// decoded when applied, so one bad op is refused alone with its seq.
Result<ClientMessage> parse_client_message(std::string_view frame);

// --- Server → client ---------------------------------------------------------------------------

struct Welcome {
  Millis server_time = 0;
  Principal principal;
  std::int64_t last_seq = 0;  // the last seq the server applied for this client_id
  std::int64_t cursor = 0;    // where catch-up starts (the client's cursor, or 0 after reset)
};

struct ChangeItem {
  std::int64_t v = 0;
  std::string entity;
  std::string id;
  Json data;  // the full row as this principal may see it; {"id", "deleted": true} on deletes
};

struct Changes {
  std::int64_t from = 0;  // exclusive: items have v > from
  std::int64_t to = 0;    // inclusive: the cursor after applying this frame
  std::vector<ChangeItem> items;
};

struct OpResultMessage {
  std::int64_t seq = 0;
  bool applied = false;
  std::optional<ErrorCode> code;
  std::string message;
  std::int64_t version = 0;  // cursor that covers this op's effects
  // An applied submit_return: how it was decided and on which facts (core SubmitDecision JSON,
  // docs/decision-facts.md); absent for every other op.
  std::optional<Json> decision;
};

std::string encode_welcome(const Welcome& w);
std::string encode_reset(std::int64_t server_head);
std::string encode_changes(const Changes& c);
std::string encode_synced(std::int64_t cursor);
std::string encode_result(const OpResultMessage& r);
std::string encode_alert(const Json& alert);
std::string encode_pong(const Json& t, Millis server_time);
std::string encode_error(ErrorCode code, std::string_view message, bool fatal);

// Parses a server frame to JSON (an object with a string `type`); clients dispatch on type.
Result<Json> parse_server_frame(std::string_view frame);
// A `changes` frame's fields, checked: integers in range, item versions increasing within
// (from, to], known entities, non-empty ids, data objects. Typed errors name the field
// ("items[3].v"). (The engine reads most frames with sync/changes_scan.h instead, and this only
// when the scan declines.)
Result<Changes> decode_changes(const Json& j);
// The entities a row in a `changes` frame may belong to.
bool known_entity(std::string_view entity);

// --- Scoping -----------------------------------------------------------------------------------

// One stored event as the scoping rule sees it.
struct EventView {
  std::string entity;  // buyer, supplier, campaign, lead, return, message, ledger, alert,
                       // buyer_day
  std::string entity_id;
  std::string buyer_id;  // scope: empty = operators only
  const Json* data = nullptr;
  bool deleted = false;
};

// The row `principal` may see for this event, or nothing. Operators see everything. Buyers see
// only rows scoped to their own buyer id (their decision facts included), never suppliers, alerts
// or charge-backs, and leads without supplier identity or cost; a lead delivered before their
// horizon only once a return changed its status (it then always ends in the server's state).
std::optional<Json> visible_row(const EventView& event, const Principal& principal);

}  // namespace returns::sync
