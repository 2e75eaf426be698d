// server_rules.cc — hello/catch-up/fan-out/result rules of the server side.
#include "sync/server_rules.h"

namespace returns::sync {

bool cursor_needs_reset(std::int64_t cursor, std::int64_t head, std::int64_t min_version) {
  return cursor > head || (cursor != 0 && cursor < min_version);
}

Millis lead_horizon(const Policy& policy, Millis now) {
  // return_deadline(policy, d) > now  <=>  d > now - window  <=>  d >= now - window + 1.
  return now - return_deadline(policy, 0) + 1;
}

std::optional<std::string> changes_frame(const std::vector<StoredEvent>& events,
                                         const Principal& principal, std::int64_t from,
                                         std::int64_t to) {
  Changes c;
  c.from = from;
  c.to = to;
  for (const StoredEvent& e : events) {
    EventView view{e.entity, e.entity_id, e.buyer_id, &e.data, e.deleted};
    if (std::optional<Json> row = visible_row(view, principal)) {
      c.items.push_back(ChangeItem{e.version, e.entity, e.entity_id, std::move(*row)});
    }
  }
  if (c.items.empty()) return std::nullopt;
  return encode_changes(c);
}

std::string answer_frame(const OpAnswer& a) {
  if (a.code == ErrorCode::SEQ_GAP && !a.duplicate) {
    return encode_error(ErrorCode::SEQ_GAP, a.message, false);
  }
  return encode_result(OpResultMessage{a.seq, a.applied, a.code, a.message, a.version, a.decision});
}

}  // namespace returns::sync
