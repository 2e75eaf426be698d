// server_rules.cc — hello/catch-up/fan-out/result rules of the server side.
#include "sync/server_rules.h"

namespace returns::sync {

bool cursor_needs_reset(std::int64_t cursor, std::int64_t head, std::int64_t min_version) {
  return cursor > head || (cursor != 0 && cursor < min_version);
}

CatchUpPage catch_up_page(std::size_t read, std::int64_t last, std::int64_t head,
                          std::size_t batch) {
  CatchUpPage page;
  page.done = read < batch || last >= head;
  page.to = page.done ? head : last;
  return page;
}

std::optional<std::vector<StoredEvent>> committed_run(std::vector<StoredEvent>&& written,
                                                      std::int64_t from, std::int64_t head) {
  while (!written.empty() && written.back().version > head) written.pop_back();
  if (head < from) return std::nullopt;
  const auto need = static_cast<std::size_t>(head - from);
  if (written.size() < need) return std::nullopt;
  const std::size_t first = written.size() - need;
  for (std::size_t i = 0; i < need; ++i) {
    if (written[first + i].version != from + 1 + static_cast<std::int64_t>(i)) return std::nullopt;
  }
  written.erase(written.begin(), written.begin() + static_cast<std::ptrdiff_t>(first));
  return std::move(written);
}

Millis lead_horizon(const Policy& policy, Millis now) {
  // return_deadline(policy, d) > now  <=>  d > now - window  <=>  d >= now - window + 1.
  return now - return_deadline(policy, 0) + 1;
}

namespace {

// One item of a `changes` frame, keys in the order the JSON library writes them.
void append_item(std::string& out, const StoredEvent& e, std::string_view row) {
  if (out.back() != '[') out += ',';
  out += R"({"data":)";
  out += row;
  out += R"(,"entity":)";
  out += Json(e.entity).dump(-1, ' ', false, Json::error_handler_t::replace);
  out += R"(,"id":)";
  out += Json(e.entity_id).dump(-1, ' ', false, Json::error_handler_t::replace);
  out += R"(,"v":)";
  out += std::to_string(e.version);
  out += '}';
}

}  // namespace

std::optional<std::string> changes_frame(const std::vector<const StoredEvent*>& events,
                                         const Principal& principal, std::int64_t from,
                                         std::int64_t to) {
  std::string out = R"({"type":"changes","from":)" + std::to_string(from) + R"(,"items":[)";
  bool any = false;
  for (const StoredEvent* e : events) {
    if (principal.role == Role::operator_) {
      append_item(out, *e, e->data);
      any = true;
      continue;
    }
    // visible_row's first test, before paying for a parse.
    if (e->buyer_id.empty() || e->buyer_id != principal.buyer_id) continue;
    Result<Json> data = parse_json(e->data);
    if (!data.ok()) continue;
    const EventView view{e->entity, e->entity_id, e->buyer_id, &*data, e->deleted};
    if (std::optional<Json> row = visible_row(view, principal)) {
      append_item(out, *e, row->dump(-1, ' ', false, Json::error_handler_t::replace));
      any = true;
    }
  }
  if (!any) return std::nullopt;
  out += R"(],"to":)" + std::to_string(to) + "}";
  return out;
}

std::optional<std::string> changes_frame(const std::vector<StoredEvent>& events,
                                         const Principal& principal, std::int64_t from,
                                         std::int64_t to) {
  std::vector<const StoredEvent*> ptrs;
  ptrs.reserve(events.size());
  for (const StoredEvent& e : events) ptrs.push_back(&e);
  return changes_frame(ptrs, principal, from, to);
}

std::string answer_frame(const OpAnswer& a) {
  if (a.code == ErrorCode::SEQ_GAP && !a.duplicate) {
    return encode_error(ErrorCode::SEQ_GAP, a.message, false);
  }
  return encode_result(OpResultMessage{a.seq, a.applied, a.code, a.message, a.version, a.decision});
}

}  // namespace returns::sync
