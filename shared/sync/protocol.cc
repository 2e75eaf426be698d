// protocol.cc — frame codecs and the scoping rule.
#include "sync/protocol.h"

#include <set>

namespace returns::sync {
namespace {

Error err(ErrorCode code, std::string field, std::string message) {
  return make_error(code, std::move(field), std::move(message));
}

// Checks that `obj` has no keys outside `allowed`.
std::optional<Error> unknown_key(const Json& obj, std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) {
      return err(ErrorCode::UNKNOWN_FIELD, it.key(),
                 "Field " + it.key() + " is not part of this message.");
    }
  }
  return std::nullopt;
}

Result<std::int64_t> non_negative(const Json& obj, const char* key, bool required,
                                  std::string_view path = "") {
  const std::string field = path.empty() ? std::string(key) : std::string(path) + "." + key;
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return err(ErrorCode::MISSING_FIELD, field, "Field " + field + " is required.");
    return std::int64_t{0};
  }
  if (!it->is_number_integer()) {
    return err(ErrorCode::BAD_TYPE, field, "Field " + field + " must be an integer.");
  }
  if (it->is_number_unsigned()
          ? it->get<std::uint64_t>() > 9'007'199'254'740'991ULL
          : (it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 9'007'199'254'740'991LL)) {
    // Beyond 2^53 a browser cannot hold the number exactly.
    return err(ErrorCode::INVALID_AMOUNT, field, "Field " + field + " is out of range.");
  }
  return it->get<std::int64_t>();
}

Result<std::string> string_field(const Json& obj, const char* key, std::size_t max_len) {
  auto it = obj.find(key);
  if (it == obj.end())
    return err(ErrorCode::MISSING_FIELD, key, std::string("Field ") + key + " is required.");
  if (!it->is_string())
    return err(ErrorCode::BAD_TYPE, key, std::string("Field ") + key + " must be a string.");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_len)
    return err(ErrorCode::TEXT_TOO_LONG, key, std::string("Field ") + key + " is too long.");
  return s;
}

Result<ClientMessage> parse_hello(const Json& j) {
  if (auto e = unknown_key(j, {"type", "proto", "token", "client_id", "cursor", "last_seq"}))
    return *e;
  Hello h;
  Result<std::int64_t> proto = non_negative(j, "proto", true);
  if (!proto.ok()) return proto.error();
  if (*proto != kProtocolVersion) {
    return err(ErrorCode::UNSUPPORTED_PROTO, "proto",
               "This server speaks protocol " + std::to_string(kProtocolVersion) + ".");
  }
  h.proto = static_cast<int>(*proto);
  Result<std::string> token = string_field(j, "token", 4096);
  if (!token.ok()) return token.error();
  h.token = *token;
  Result<std::string> client = string_field(j, "client_id", kMaxClientIdLength);
  if (!client.ok()) return client.error();
  if (!is_valid_id(*client))
    return err(ErrorCode::INVALID_ID, "client_id", "The client id is not valid.");
  h.client_id = *client;
  Result<std::int64_t> cursor = non_negative(j, "cursor", false);
  if (!cursor.ok()) return cursor.error();
  h.cursor = *cursor;
  Result<std::int64_t> last = non_negative(j, "last_seq", false);
  if (!last.ok()) return last.error();
  h.last_seq = *last;
  return ClientMessage{h};
}

Result<ClientMessage> parse_push(const Json& j) {
  if (auto e = unknown_key(j, {"type", "ops"})) return *e;
  auto it = j.find("ops");
  if (it == j.end()) return err(ErrorCode::MISSING_FIELD, "ops", "Field ops is required.");
  if (!it->is_array()) return err(ErrorCode::BAD_TYPE, "ops", "Field ops must be an array.");
  if (it->size() > kMaxOpsPerPush) {
    return err(ErrorCode::FRAME_TOO_LARGE, "ops", "At most 100 ops per push.");
  }
  Push p;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const Json& o = (*it)[i];
    const std::string at = "ops[" + std::to_string(i) + "]";
    if (!o.is_object()) return err(ErrorCode::BAD_TYPE, at, "Each op must be an object.");
    for (auto k = o.begin(); k != o.end(); ++k) {
      if (k.key() != "seq" && k.key() != "op" && k.key() != "args" && k.key() != "client_time") {
        return err(ErrorCode::UNKNOWN_FIELD, at + "." + k.key(),
                   "Unknown op field " + k.key() + ".");
      }
    }
    PushedOp op;
    Result<std::int64_t> seq = non_negative(o, "seq", true, at);
    if (!seq.ok()) return seq.error();
    if (*seq < 1) return err(ErrorCode::INVALID_AMOUNT, at + ".seq", "seq starts at 1.");
    op.seq = *seq;
    auto name = o.find("op");
    if (name == o.end()) return err(ErrorCode::MISSING_FIELD, at + ".op", "Field op is required.");
    if (!name->is_string())
      return err(ErrorCode::BAD_TYPE, at + ".op", "Field op must be a string.");
    op.op = name->get<std::string>();
    if (op.op.size() > 64) return err(ErrorCode::UNKNOWN_OP, at + ".op", "Unknown op.");
    auto args = o.find("args");
    op.args = args == o.end() ? Json::object() : *args;
    Result<std::int64_t> ct = non_negative(o, "client_time", false, at);
    if (!ct.ok()) return ct.error();
    op.client_time = *ct;
    if (!p.ops.empty() && op.seq != p.ops.back().seq + 1) {
      return err(ErrorCode::SEQ_GAP, at + ".seq", "Ops in one push must have consecutive seqs.");
    }
    p.ops.push_back(std::move(op));
  }
  return ClientMessage{std::move(p)};
}

// docs/protocol.md: `type` first. Json objects keep their keys sorted, so the envelope is written
// by hand: the type, then the other fields of `body` (an object without `type`). Invalid UTF-8
// (say, a message that quotes a client's value cut at a byte limit) becomes U+FFFD instead of
// throwing.
std::string framed(std::string_view type, const Json& body) {
  std::string out = "{\"type\":" + Json(type).dump();
  const std::string rest = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (rest.size() > 2) {
    // Appended in two steps: `"," + rest.substr(1)` trips GCC 12's -Wrestrict false positive
    // at -O3 (Release builds).
    out += ',';
    out.append(rest, 1);
  } else {
    out += "}";
  }
  return out;
}

Json principal_json(const Principal& p) {
  Json j{{"role", to_string(p.role)}, {"subject", p.subject}};
  if (p.role == Role::buyer) j["buyer_id"] = p.buyer_id;
  return j;
}

// Whether arrays and objects nest deeper than `limit` (brackets inside strings do not count).
// No message needs more than a few levels, while a 64 KiB frame can nest 32 000 deep, and
// copying a parsed value recurses once per level: refused before parsing.
bool nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

Result<ClientMessage> parse_client_message(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) {
    return err(ErrorCode::FRAME_TOO_LARGE, "", "Frames are limited to 64 KiB.");
  }
  // JSON text never holds a raw NUL (not even in strings), and the parser would take one for the
  // end of input, silently ignoring whatever follows it.
  if (frame.find('\0') != std::string_view::npos) {
    return err(ErrorCode::BAD_JSON, "", "A frame must not contain a NUL byte.");
  }
  if (nests_deeper_than(frame, kMaxNesting)) {
    return err(ErrorCode::BAD_JSON, "",
               "Frames nest at most " + std::to_string(kMaxNesting) + " levels deep.");
  }
  Result<Json> parsed = parse_json(frame);
  if (!parsed.ok()) return parsed.error();
  const Json& j = *parsed;
  if (!j.is_object()) return err(ErrorCode::BAD_TYPE, "", "A frame is one JSON object.");
  auto type = j.find("type");
  if (type == j.end()) return err(ErrorCode::MISSING_FIELD, "type", "Field type is required.");
  if (!type->is_string()) return err(ErrorCode::BAD_TYPE, "type", "Field type must be a string.");
  const auto& t = type->get_ref<const std::string&>();
  if (t == "hello") return parse_hello(j);
  if (t == "push") return parse_push(j);
  if (t == "ping") {
    if (auto e = unknown_key(j, {"type", "t"})) return *e;
    Ping p;
    auto tv = j.find("t");
    if (tv != j.end()) {
      if (!tv->is_number() && !tv->is_string()) {
        return err(ErrorCode::BAD_TYPE, "t", "Field t must be a number or a string.");
      }
      if (tv->is_string() && tv->get_ref<const std::string&>().size() > 64) {
        return err(ErrorCode::TEXT_TOO_LONG, "t", "Field t is too long.");
      }
      p.t = *tv;
    }
    return ClientMessage{p};
  }
  return err(ErrorCode::INVALID_ENUM, "type", "Unknown message type.");
}

std::string encode_welcome(const Welcome& w) {
  return framed("welcome", Json{{"server_time", w.server_time},
                                {"principal", principal_json(w.principal)},
                                {"last_seq", w.last_seq},
                                {"cursor", w.cursor}});
}

std::string encode_reset(std::int64_t server_head) {
  return framed("reset", Json{{"head", server_head}});
}

std::string encode_changes(const Changes& c) {
  Json items = Json::array();
  for (const ChangeItem& i : c.items) {
    items.push_back(Json{{"v", i.v}, {"entity", i.entity}, {"id", i.id}, {"data", i.data}});
  }
  return framed("changes", Json{{"from", c.from}, {"to", c.to}, {"items", std::move(items)}});
}

std::string encode_synced(std::int64_t cursor) {
  return framed("synced", Json{{"cursor", cursor}});
}

std::string encode_result(const OpResultMessage& r) {
  Json j{{"seq", r.seq},
         {"status", r.applied ? "applied" : "rejected"},
         {"message", r.message},
         {"version", r.version}};
  j["code"] = r.code ? Json(to_string(*r.code)) : Json();
  if (r.decision) j["decision"] = *r.decision;
  return framed("result", j);
}

std::string encode_alert(const Json& alert) { return framed("alert", Json{{"alert", alert}}); }

std::string encode_pong(const Json& t, Millis server_time) {
  return framed("pong", Json{{"t", t}, {"server_time", server_time}});
}

std::string encode_error(ErrorCode code, std::string_view message, bool fatal) {
  return framed("error", Json{{"code", to_string(code)}, {"message", message}, {"fatal", fatal}});
}

bool known_entity(std::string_view e) {
  return e == "buyer" || e == "supplier" || e == "campaign" || e == "lead" || e == "return" ||
         e == "message" || e == "ledger" || e == "alert" || e == "buyer_day";
}

Result<Changes> decode_changes(const Json& j) {
  Changes c;
  Result<std::int64_t> from = non_negative(j, "from", true);
  if (!from.ok()) return from.error();
  Result<std::int64_t> to = non_negative(j, "to", true);
  if (!to.ok()) return to.error();
  if (*from > *to) {
    return err(ErrorCode::INVALID_AMOUNT, "from", "changes.from is after changes.to.");
  }
  c.from = *from;
  c.to = *to;
  auto items = j.find("items");
  if (items == j.end()) return err(ErrorCode::MISSING_FIELD, "items", "Field items is required.");
  if (!items->is_array()) return err(ErrorCode::BAD_TYPE, "items", "Field items must be an array.");
  std::int64_t prev = c.from;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const Json& item = (*items)[i];
    const std::string at = "items[" + std::to_string(i) + "]";
    if (!item.is_object()) return err(ErrorCode::BAD_TYPE, at, "Each item must be an object.");
    Result<std::int64_t> v = non_negative(item, "v", true, at);
    if (!v.ok()) return v.error();
    if (*v <= prev || *v > c.to) {
      return err(ErrorCode::INVALID_AMOUNT, at + ".v",
                 "Item versions must increase within (from, to].");
    }
    prev = *v;
    ChangeItem out;
    out.v = *v;
    for (auto [key, target] : {std::pair{"entity", &out.entity}, std::pair{"id", &out.id}}) {
      auto f = item.find(key);
      if (f == item.end()) {
        return err(ErrorCode::MISSING_FIELD, at + "." + key,
                   std::string("Field ") + key + " is required.");
      }
      if (!f->is_string()) {
        return err(ErrorCode::BAD_TYPE, at + "." + key,
                   std::string("Field ") + key + " must be a string.");
      }
      *target = f->get<std::string>();
    }
    if (!known_entity(out.entity)) {
      return err(ErrorCode::INVALID_ENUM, at + ".entity", "Unknown entity " + out.entity + ".");
    }
    if (out.id.empty()) return err(ErrorCode::INVALID_ID, at + ".id", "Item ids are not empty.");
    auto data = item.find("data");
    if (data == item.end()) {
      return err(ErrorCode::MISSING_FIELD, at + ".data", "Field data is required.");
    }
    if (!data->is_object()) {
      return err(ErrorCode::BAD_TYPE, at + ".data", "Field data must be an object.");
    }
    out.data = *data;
    c.items.push_back(std::move(out));
  }
  return c;
}

Result<Json> parse_server_frame(std::string_view frame) {
  Result<Json> j = parse_json(frame);
  if (!j.ok()) return j.error();
  if (!j->is_object() || !j->contains("type") || !(*j)["type"].is_string()) {
    return err(ErrorCode::BAD_TYPE, "type", "A server frame is an object with a type.");
  }
  return j;
}

std::optional<Json> visible_row(const EventView& e, const Principal& p) {
  if (e.data == nullptr) return std::nullopt;
  if (p.role == Role::operator_) return *e.data;
  if (e.buyer_id.empty() || e.buyer_id != p.buyer_id) return std::nullopt;
  if (e.entity == "supplier" || e.entity == "alert") return std::nullopt;
  if (e.entity == "ledger") {
    const auto kind = e.data->find("kind");
    if (kind != e.data->end() && *kind == "supplier_chargeback") return std::nullopt;
  }
  if (e.entity == "lead" && p.lead_horizon > 0 && e.data->is_object()) {
    const auto at = e.data->find("delivered_at");
    const auto status = e.data->find("status");
    const bool returned = status != e.data->end() && *status == "RETURNED";
    // The server changed the lead after its ingest (changed_at set): every such version reaches
    // the buyer wherever the window stands, so a lead they have seen ends in the server's state.
    const bool touched = e.data->contains("changed_at");
    if (at != e.data->end() && at->is_number_integer() && at->get<Millis>() < p.lead_horizon &&
        !returned && !touched) {
      return std::nullopt;
    }
  }
  Json row = *e.data;
  if (row.is_object()) {
    // Supplier identity and cost never reach a buyer, whatever the entity.
    row.erase("supplier_id");
    row.erase("cost_cents");
    if (e.entity == "return" && row.contains("decision") && row["decision"].is_object()) {
      row["decision"].erase("charged_back");
      row["decision"].erase("chargeback_cents");
    }
  }
  return row;
}

}  // namespace returns::sync
