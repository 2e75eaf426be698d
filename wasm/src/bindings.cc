// bindings.cc — the Client Portal's whole JavaScript boundary (docs/wasm.md): one embind class of
// thin methods that take JSON text (and a JS number for the local clock) and return JSON text, over
// the shared core, the sync engine (sync/engine.h) and the SQLite replica
// (store/replica_sqlite.h). No rule lives here: every check is the core's or the engine's.
//
// Nothing throws across the boundary: every failure comes back as
// {"error": {"code", "field", "message"}} with a code from docs/errors.md (docs/wasm.md).
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "core/decision_facts.h"
#include "core/memory_state.h"
#include "core/token_claims.h"
#include "core/validation.h"
#include "store/replica_sqlite.h"
#include "store/reports.h"
#include "sync/engine.h"

namespace returns::wasm {
namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json error_json(const Error& e) { return Json{{"error", to_json(e)}}; }
std::string error_text(const Error& e) { return dump(error_json(e)); }
// What a token says, read without its signature (core/token_claims.h): which buyer to open.
std::string token_claims(const std::string& token);

std::string error_text(ErrorCode code, std::string field, std::string message) {
  return error_text(make_error(code, std::move(field), std::move(message)));
}

std::string token_claims(const std::string& token) {
  Result<TokenClaims> c = read_token_claims(token);
  if (!c.ok()) return error_text(c.error());
  Json j{{"ok", true},
         {"role", to_string(c->role)},
         {"subject", c->subject},
         {"expires_at", c->expires_at}};
  if (!c->buyer_id.empty()) j["buyer_id"] = c->buyer_id;
  return dump(j);
}

// JS numbers carry times: whole milliseconds, 0 … kMaxMillis.
Result<Millis> millis_of(double t, const char* field) {
  if (!std::isfinite(t) || t < 0 || t > static_cast<double>(kMaxMillis) || std::floor(t) != t) {
    return make_error(ErrorCode::INVALID_TIME, field,
                      std::string("Field ") + field + " must be a whole number of milliseconds.");
  }
  return static_cast<Millis>(t);
}

Result<Json> parse_object(const std::string& text, const char* what) {
  Result<Json> j = parse_json(text);
  if (!j.ok()) return j.error();
  if (!j->is_object()) {
    return make_error(ErrorCode::BAD_TYPE, "", std::string("A ") + what + " is a JSON object.");
  }
  return j;
}

// Reads an optional string member; BAD_TYPE when present with another type.
Status read_string(const Json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_string()) {
    return make_error(ErrorCode::BAD_TYPE, key, std::string("Field ") + key + " must be a string.");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

Json parsed_or_text(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

Json draft_json(const sync::DraftRecord& d) {
  Json j{{"return_id", d.return_id},
         {"draft", parsed_or_text(d.data)},
         {"status", std::string(sync::to_string(d.status))},
         {"seq", d.seq},
         {"updated_at", d.updated_at}};
  if (!d.refusal.empty()) {
    j["refusal"] = d.refusal;
    j["refusal_message"] = d.refusal_message;
  }
  return j;
}

Json notice_json(const sync::Notice& n) {
  Json j{{"kind", std::string(sync::to_string(n.kind))}};
  switch (n.kind) {
    case sync::Notice::Kind::op_result:
      j["seq"] = n.seq;
      j["op"] = n.op;
      if (!n.return_id.empty()) j["return_id"] = n.return_id;
      j["applied"] = n.applied;
      j["code"] = n.code ? Json(std::string(to_string(*n.code))) : Json(nullptr);
      j["message"] = n.message;
      j["version"] = n.version;
      if (!n.decision.is_null()) j["decision"] = n.decision;
      break;
    case sync::Notice::Kind::error:
      j["code"] = n.code ? Json(std::string(to_string(*n.code))) : Json(nullptr);
      j["message"] = n.message;
      j["fatal"] = n.fatal;
      break;
    case sync::Notice::Kind::alert:
      j["alert"] = n.alert;
      break;
    case sync::Notice::Kind::reset:
    case sync::Notice::Kind::synced:
      if (!n.message.empty()) j["message"] = n.message;
      break;
  }
  return j;
}

Json principal_json(const sync::Principal& p) {
  Json j{{"role", std::string(to_string(p.role))}, {"subject", p.subject}};
  if (!p.buyer_id.empty()) j["buyer_id"] = p.buyer_id;
  return j;
}

Json seq_json(const Result<std::int64_t>& r) {
  if (!r.ok()) return error_json(r.error());
  return Json{{"ok", true}, {"seq", *r}};
}

// One portal: the replica on its SQLite file, the sync engine over it, and who acts.
class Portal {
 public:
  // {"db": path (":memory:" for none), "client_id": id, "token"?: string,
  //  "actor"?: {role, subject, buyer_id}} — the actor acts until the server's welcome names the
  // principal (offline from the first start, tests).
  std::string open(const std::string& config_json) { return open_from(config_json, nullptr); }

  // A buffer of `size` bytes in the module's memory for an image to open: the caller copies the
  // image into the returned view, then calls open_image(). (Handing the bytes over as a string
  // argument costs a JavaScript loop over every byte: a quarter second for the demo's image.)
  emscripten::val image_buffer(double size) {
    incoming_.assign(static_cast<std::size_t>(std::max(0.0, size)), '\0');
    return emscripten::val(emscripten::typed_memory_view(
        incoming_.size(), reinterpret_cast<unsigned char*>(incoming_.data())));
  }

  // open() on the image in image_buffer() (what image() returned before; "db" is ignored): the
  // replica lives in memory and starts where the image left off. An image that is not a replica
  // of this version is an error, and the portal stays closed (the caller opens an empty one).
  std::string open_image(const std::string& config_json) {
    const std::string image = std::exchange(incoming_, std::string());
    return open_from(config_json, &image);
  }

  // The replica as the bytes of a database file, for open_image() after the next page load: a
  // Uint8Array of its own (copied out of the module's memory), or null when the replica cannot
  // be read.
  emscripten::val image() {
    if (!replica_) return emscripten::val::null();
    Result<std::string> bytes = replica_->image();
    if (!bytes.ok()) return emscripten::val::null();
    const emscripten::val view(emscripten::typed_memory_view(
        bytes->size(), reinterpret_cast<const unsigned char*>(bytes->data())));
    return emscripten::val::global("Uint8Array").new_(view);
  }

  std::string open_from(const std::string& config_json, const std::string* image) {
    if (engine_) return error_text(ErrorCode::BAD_TRANSITION, "", "The portal is already open.");
    Result<Json> j = parse_object(config_json, "configuration");
    if (!j.ok()) return error_text(j.error());
    for (auto it = j->begin(); it != j->end(); ++it) {
      if (it.key() != "db" && it.key() != "client_id" && it.key() != "token" &&
          it.key() != "actor") {
        return error_text(ErrorCode::UNKNOWN_FIELD, it.key(), "Unknown field " + it.key() + ".");
      }
    }
    std::string db = ":memory:";
    sync::EngineConfig config;
    for (Status st : {read_string(*j, "db", &db), read_string(*j, "client_id", &config.client_id),
                      read_string(*j, "token", &config.token)}) {
      if (!st.ok()) return error_text(st.error());
    }
    if (!is_valid_id(config.client_id)) {
      return error_text(ErrorCode::INVALID_ID, "client_id",
                        "Field client_id must be 1-64 characters of [A-Za-z0-9._:-].");
    }
    if (auto a = j->find("actor"); a != j->end()) {
      Result<Actor> actor = decode_actor(*a);
      if (!actor.ok()) {
        Error e = actor.error();
        e.field = "actor" + (e.field.empty() ? "" : "." + e.field);
        return error_text(e);
      }
      actor_ = *actor;
    }
    // No WAL in the browser: IDBFS has no shared memory.
    auto replica = image != nullptr ? store::SqliteReplica::open_image(*image)
                                    : store::SqliteReplica::open(db, /*wal=*/false);
    if (!replica.ok()) return error_text(replica.error());
    replica_ = std::move(replica).value();
    config_ = config;
    engine_ = std::make_unique<sync::Engine>(*replica_, std::move(config));
    return dump(status_json());
  }

  // Closes the database (the JS side flushes storage afterwards). Safe to call twice.
  std::string close() {
    engine_.reset();
    replica_.reset();
    return dump(Json{{"ok", true}});
  }

  std::string set_actor(const std::string& actor_json) {
    Result<Json> j = parse_object(actor_json, "actor");
    if (!j.ok()) return error_text(j.error());
    Result<Actor> a = decode_actor(*j);
    if (!a.ok()) return error_text(a.error());
    actor_ = *a;
    return dump(Json{{"ok", true}, {"actor", to_json(*actor_)}});
  }

  std::string set_token(const std::string& token) {
    if (!engine_) return closed();
    engine_->set_token(token);
    config_.token = token;
    return dump(Json{{"ok", true}});
  }

  // The status plus the estimated server clock at the local time `now` (Engine::server_now):
  // {"server_now": ms, "clock_offset_ms": server − local}.
  std::string status(double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Json j = status_json();
    j["server_now"] = engine_->server_now(*t);
    j["clock_offset_ms"] = engine_->clock_offset();
    return dump(j);
  }

  // --- Transport events ---------------------------------------------------------------------

  std::string connected(double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    return dump(Json{{"ok", true}, {"frame", engine_->on_connected(*t)}});
  }

  std::string frame(const std::string& text, double now) { return frame_text(text, now); }

  // A buffer of at least `capacity` bytes in the module's memory for the next frame: the caller
  // writes the frame's UTF-8 into the returned view (TextEncoder.encodeInto, native code) and
  // calls frame_in_buffer() with the length written. A string argument would be copied into the
  // module byte by byte in JavaScript: about a tenth of an operator's first sign-in.
  emscripten::val frame_buffer(double capacity) {
    const auto n = static_cast<std::size_t>(std::max(0.0, capacity));
    if (frame_buffer_.size() < n) frame_buffer_.resize(n);
    return emscripten::val(
        emscripten::typed_memory_view(n, reinterpret_cast<unsigned char*>(frame_buffer_.data())));
  }

  // frame() on the first `length` bytes of frame_buffer().
  std::string frame_in_buffer(double length, double now) {
    if (!(length >= 0) || length > static_cast<double>(frame_buffer_.size())) {
      return error_text(ErrorCode::FRAME_TOO_LARGE, "length",
                        "The frame is longer than the buffer it was written into.");
    }
    return frame_text(std::string_view(frame_buffer_.data(), static_cast<std::size_t>(length)),
                      now);
  }

  std::string frame_text(std::string_view text, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Status st = engine_->on_frame(text, *t);
    if (!st.ok()) return error_text(st.error());
    return dump(Json{{"ok", true}});
  }

  std::string disconnected() {
    if (!engine_) return closed();
    engine_->on_disconnected();
    return dump(Json{{"ok", true}});
  }

  std::string tick(double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    engine_->tick(*t);
    return dump(Json{{"ok", true}});
  }

  std::string next_wakeup() {
    if (!engine_) return closed();
    std::optional<Millis> at = engine_->next_wakeup();
    return dump(Json{{"at", at ? Json(*at) : Json(nullptr)}});
  }

  std::string take_outgoing() {
    if (!engine_) return closed();
    return dump(Json(engine_->take_outgoing()));
  }

  std::string take_notices() {
    if (!engine_) return closed();
    Json out = Json::array();
    for (const sync::Notice& n : engine_->take_notices()) out.push_back(notice_json(n));
    return dump(out);
  }

  // --- Drafts and ops -------------------------------------------------------------------------

  std::string validate(const std::string& draft, double now) { return check(draft, now, false); }
  std::string preview(const std::string& draft, double now) { return check(draft, now, true); }

  std::string save_draft(const std::string& draft_text, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<Json> j = parse_object(draft_text, "draft");
    if (!j.ok()) return error_text(j.error());
    Result<DraftInput> d = decode_draft(*j);
    if (!d.ok()) return error_text(d.error());
    return dump(seq_json(engine_->save_draft(*d, *t)));
  }

  std::string discard_draft(const std::string& return_id, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    return dump(seq_json(engine_->discard_draft(return_id, *t)));
  }

  std::string submit(const std::string& return_id, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    return dump(seq_json(engine_->submit(return_id, *t)));
  }

  std::string enqueue(const std::string& op, const std::string& args_text, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<Json> args = parse_object(args_text, "op's args");
    if (!args.ok()) return error_text(args.error());
    return dump(seq_json(engine_->enqueue(op, *args, *t)));
  }

  // A dry run of enqueue (sync/engine.h Engine::check): {"ok": true}, or the typed refusal the
  // core would answer now on the optimistic view, as the principal (else the configured actor).
  // Nothing is written or queued.
  std::string check_op(const std::string& op, const std::string& args_text, double now) {
    if (!engine_) return closed();
    Result<Actor> who = acting();
    if (!who.ok()) return error_text(who.error());
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<Json> args = parse_json(args_text);
    if (!args.ok()) return error_text(args.error());
    Status st = engine_->check(*who, op, *args, *t);
    if (!st.ok()) return error_text(st.error());
    return dump(Json{{"ok", true}});
  }

  // What-if (core what_if over Engine::history): {"buyer_id": id, "policy": policy,
  // "days"?: 1-366 (default 30)} → {"ok", "buyer_id", "days", "current_policy", "report"}.
  std::string what_if(const std::string& request_text, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<Json> j = parse_object(request_text, "what-if request");
    if (!j.ok()) return error_text(j.error());
    for (auto it = j->begin(); it != j->end(); ++it) {
      if (it.key() != "buyer_id" && it.key() != "policy" && it.key() != "days") {
        return error_text(ErrorCode::UNKNOWN_FIELD, it.key(), "Unknown field " + it.key() + ".");
      }
    }
    if (!j->contains("buyer_id")) {
      return error_text(ErrorCode::MISSING_FIELD, "buyer_id", "Field buyer_id is required.");
    }
    std::string buyer_id;
    if (Status st = read_string(*j, "buyer_id", &buyer_id); !st.ok()) return error_text(st.error());
    auto p = j->find("policy");
    if (p == j->end()) {
      return error_text(ErrorCode::MISSING_FIELD, "policy", "Field policy is required.");
    }
    Result<Policy> policy = decode_policy(*p);
    if (!policy.ok()) {
      Error e = policy.error();
      e.field = "policy" + (e.field.empty() ? "" : "." + e.field);
      return error_text(e);
    }
    int days = 30;
    if (auto d = j->find("days"); d != j->end()) {
      if (!d->is_number_integer()) {
        return error_text(ErrorCode::BAD_TYPE, "days", "Field days must be a whole number.");
      }
      const bool in_int =
          d->is_number_unsigned()
              ? d->get<std::uint64_t>() <= static_cast<std::uint64_t>(sync::Engine::kMaxWhatIfDays)
              : d->get<std::int64_t>() >= 0 &&
                    d->get<std::int64_t>() <= sync::Engine::kMaxWhatIfDays;
      days = in_int ? static_cast<int>(d->get<std::int64_t>()) : -1;  // -1: the engine refuses
    }
    Result<std::vector<HistoricalReturn>> history = engine_->history(buyer_id, days, *t);
    if (!history.ok()) return error_text(history.error());
    const Buyer* buyer = engine_->view(*t).find_buyer(buyer_id);
    return dump(Json{{"ok", true},
                     {"buyer_id", buyer_id},
                     {"days", days},
                     {"current_policy", buyer ? to_json(buyer->policy) : Json(nullptr)},
                     {"report", to_json(returns::what_if(*policy, std::move(history).value()))}});
  }

  // An existing return as its reviewer sees it (Engine::review, core review_return): {"ok",
  // "return_id", "evaluated_at", "at_submission", "evidence"?, "evaluation"} — as the principal,
  // else the configured actor.
  // The core's fixed rules a page shows or checks against, so no page keeps a copy: the reason
  // codes, the states that are open (under review) or block a new return, text limits, the
  // default policy, the trailing-rate period and the report's rate bands.
  std::string constants() const {
    Json reasons = Json::array();
    for (Reason r : all_reasons()) reasons.push_back(to_string(r));
    Json states = Json::array(), open = Json::array(), blocking = Json::array();
    for (ReturnState s : all_return_states()) {
      states.push_back(to_string(s));
      if (is_open(s)) open.push_back(to_string(s));
      if (blocks_new_return(s)) blocking.push_back(to_string(s));
    }
    const store::Bands bands;
    return dump(
        Json{{"ok", true},
             {"reasons", std::move(reasons)},
             {"return_states", std::move(states)},
             {"open_states", std::move(open)},
             {"blocking_states", std::move(blocking)},
             {"note", {{"max_chars", kMaxNoteChars}, {"other_min_chars", kMinOtherNoteChars}}},
             {"message", {{"max_chars", kMaxNoteChars}}},
             {"id", {{"max_chars", kMaxIdLength}}},
             {"default_policy", to_json(default_policy())},
             {"trailing_rate_days", kTrailingRateDays},
             {"rate_bands",
              {{"watch_from", static_cast<double>(bands.watch_from) / kBasisPointsWhole},
               {"alarm_above", static_cast<double>(bands.alarm_above) / kBasisPointsWhole}}}});
  }

  // The ops the signed-in principal may send to a return in its current state (the core's
  // transition table and ownership; notes, money and policy are checked when the op is made).
  std::string allowed_ops(const std::string& return_id, double now) {
    if (!engine_) return closed();
    Result<Actor> who = acting();
    if (!who.ok()) return error_text(who.error());
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    const ReturnCase* r = engine_->view(*t).find_return(return_id);
    if (r == nullptr) {
      return error_text(ErrorCode::RETURN_NOT_FOUND, "return_id", "No return with this id.");
    }
    Json ops = Json::array();
    const bool mine = who->role == Role::operator_ || r->buyer_id == who->buyer_id;
    for (OpKind op : all_op_kinds()) {
      if (mine && transition_allowed(r->state, op, who->role)) ops.push_back(to_string(op));
    }
    return dump(Json{{"ok", true},
                     {"return_id", r->id},
                     {"state", to_string(r->state)},
                     {"open", is_open(r->state)},
                     {"ops", std::move(ops)}});
  }

  std::string review(const std::string& return_id, double now) {
    if (!engine_) return closed();
    Result<Actor> who = acting();
    if (!who.ok()) return error_text(who.error());
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<ReturnReview> r = engine_->review(*who, return_id, *t);
    if (!r.ok()) return error_text(r.error());
    Json j{{"ok", true}};
    j.update(to_json(*r));
    return dump(j);
  }

  // --- Reads ----------------------------------------------------------------------------------

  std::string drafts() {
    if (!engine_) return closed();
    Json out = Json::array();
    for (const sync::DraftRecord& d : engine_->drafts()) out.push_back(draft_json(d));
    return dump(out);
  }

  std::string outbox() {
    if (!engine_) return closed();
    Json out = Json::array();
    for (const sync::OutboxEntry& e : engine_->outbox()) {
      out.push_back(Json{{"seq", e.seq},
                         {"op", e.op},
                         {"args", parsed_or_text(e.args)},
                         {"client_time", e.client_time}});
    }
    return dump(out);
  }

  std::string pending(double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Json out = Json::array();
    for (const sync::PendingOp& p : engine_->pending(*t)) {
      Json j{{"seq", p.seq}, {"op", p.op}, {"args", p.args}, {"answered", p.answered}};
      if (p.predicted_refusal) j["predicted_refusal"] = to_json(*p.predicted_refusal);
      out.push_back(std::move(j));
    }
    return dump(out);
  }

  // One row of the optimistic view ({"row": data} or {"row": null}).
  std::string row(const std::string& entity, const std::string& id, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    std::optional<Json> r = engine_->row(entity, id, *t);
    return dump(Json{{"row", r ? *r : Json(nullptr)}});
  }

  std::string rows(const std::string& entity, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    return dump(Json(engine_->rows(entity, *t)));
  }

  // The return-window end of each lead (core return_deadline, under its buyer's current policy
  // on the optimistic view): {"ok": true, "deadlines": {lead_id: ms or null}} — null for a lead
  // (or buyer) the replica does not hold. One call for a whole list; the pages never redo the rule.
  std::string deadlines(const std::string& ids_text, double now) {
    if (!engine_) return closed();
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<Json> ids = parse_json(ids_text);
    if (!ids.ok()) return error_text(ids.error());
    if (!ids->is_array())
      return error_text(ErrorCode::BAD_TYPE, "lead_ids", "Send an array of lead ids.");
    const CaseView& view = engine_->view(*t);
    Json out = Json::object();
    for (std::size_t i = 0; i < ids->size(); ++i) {
      const Json& id = (*ids)[i];
      if (!id.is_string()) {
        return error_text(ErrorCode::BAD_TYPE, "lead_ids[" + std::to_string(i) + "]",
                          "Lead ids are strings.");
      }
      const Lead* lead = view.find_lead(id.get<std::string>());
      const Buyer* buyer = lead ? view.find_buyer(lead->buyer_id) : nullptr;
      out[id.get<std::string>()] =
          buyer ? Json(return_deadline(buyer->policy, lead->delivered_at)) : Json(nullptr);
    }
    return dump(Json{{"ok", true}, {"deadlines", std::move(out)}});
  }

  // Writes rows straight into the replica, as if a `changes` frame had carried them: {buyers,
  // suppliers, campaigns, leads, returns, ledger, messages}, each an array of rows. For tests,
  // benchmarks and demos that have no server; the cursor is not moved.
  std::string load_rows(const std::string& world_text) {
    if (!engine_) return closed();
    Result<Json> j = parse_object(world_text, "world");
    if (!j.ok()) return error_text(j.error());
    return write_rows(*j);
  }

  // A world as a server holding it would ship it (core MemoryState::replica_world: the derived
  // lead fields and the decision-facts rows computed by the core), written like load_rows.
  std::string load_world(const std::string& world_text) {
    if (!engine_) return closed();
    Result<Json> j = parse_object(world_text, "world");
    if (!j.ok()) return error_text(j.error());
    Result<MemoryState> st = MemoryState::from_json(*j);
    if (!st.ok()) return error_text(st.error());
    return write_rows(st->replica_world());
  }

 private:
  std::string write_rows(const Json& world) {
    const Json* j = &world;
    static const std::pair<const char*, const char*> kEntities[] = {
        {"buyers", "buyer"},     {"suppliers", "supplier"},  {"campaigns", "campaign"},
        {"leads", "lead"},       {"returns", "return"},      {"ledger", "ledger"},
        {"messages", "message"}, {"buyer_days", "buyer_day"}};
    sync::WriteBatch batch;
    for (auto it = j->begin(); it != j->end(); ++it) {
      const char* entity = nullptr;
      for (const auto& [key, name] : kEntities) {
        if (it.key() == key) entity = name;
      }
      if (entity == nullptr) {
        return error_text(ErrorCode::UNKNOWN_FIELD, it.key(),
                          "Unknown world key " + it.key() + ".");
      }
      if (!it->is_array()) {
        return error_text(ErrorCode::BAD_TYPE, it.key(),
                          "Field " + it.key() + " must be an array.");
      }
      for (std::size_t i = 0; i < it->size(); ++i) {
        const Json& data = (*it)[i];
        auto id = data.is_object() ? data.find("id") : data.end();
        if (!data.is_object() || id == data.end() || !id->is_string()) {
          return error_text(ErrorCode::MISSING_FIELD, it.key() + "[" + std::to_string(i) + "].id",
                            "Every row needs a string id.");
        }
        batch.rows.push_back(sync::RowWrite{entity, id->get<std::string>(),
                                            sync::replica_ref(entity, data), dump(data)});
      }
    }
    std::size_t n = batch.rows.size();
    Status st = replica_->write(batch);
    if (!st.ok()) return error_text(st.error());
    // The engine caches its optimistic view of the replica: start a fresh one over the new rows.
    engine_ = std::make_unique<sync::Engine>(*replica_, config_);
    return dump(Json{{"ok", true}, {"rows", n}});
  }

 public:
  // Why a submit's decision differs from its preview: the facts that changed in between
  // (core explain_facts_change), or none when the decision read the preview's facts.
  std::string explain_decision(const std::string& preview_facts, const std::string& decision) {
    Result<Json> pj = parse_object(preview_facts, "preview_facts");
    if (!pj.ok()) return error_text(pj.error());
    Result<DecisionFacts> pf = decode_decision_facts(*pj);
    if (!pf.ok()) return error_text(pf.error());
    Result<Json> dj = parse_object(decision, "decision");
    if (!dj.ok()) return error_text(dj.error());
    Result<SubmitDecision> d = decode_submit_decision(*dj);
    if (!d.ok()) return error_text(d.error());
    Json sentences = Json::array();
    for (const std::string& s : explain_facts_change(*pf, d->facts)) sentences.push_back(s);
    return dump(Json{{"ok", true},
                     {"same_facts", *pf == d->facts},
                     {"facts_digest", facts_digest(d->facts)},
                     {"sentences", std::move(sentences)}});
  }

 private:
  static std::string closed() {
    return error_text(ErrorCode::BAD_TRANSITION, "", "The portal is not open.");
  }

  // The principal the server named, else the configured actor.
  std::optional<Actor> actor() const {
    if (engine_ && engine_->principal()) return engine_->principal()->actor();
    return actor_;
  }

  // Who validate, preview, checkOp and review act as: the principal, else the configured actor.
  Result<Actor> acting() const {
    std::optional<Actor> who = actor();
    if (!who) {
      return make_error(ErrorCode::UNAUTHORIZED, "actor",
                        "Nobody is signed in yet: connect once, or open with an actor.");
    }
    return *who;
  }

  Json status_json() const {
    Json j{{"ok", true},
           {"phase", std::string(sync::to_string(engine_->phase()))},
           {"client_id", engine_->client_id()},
           {"cursor", engine_->cursor()},
           {"next_seq", engine_->next_seq()},
           {"outbox", engine_->outbox().size()},
           {"rows", replica_->row_count()}};
    if (engine_->principal()) j["principal"] = principal_json(*engine_->principal());
    if (std::optional<Actor> a = actor()) j["actor"] = to_json(*a);
    return j;
  }

  std::string check(const std::string& draft_text, double now, bool with_preview) {
    if (!engine_) return closed();
    Result<Actor> who = acting();
    if (!who.ok()) return error_text(who.error());
    Result<Millis> t = millis_of(now, "now");
    if (!t.ok()) return error_text(t.error());
    Result<Json> j = parse_object(draft_text, "draft");
    if (!j.ok()) return error_text(j.error());
    Result<DraftInput> d = decode_draft(*j);
    if (!d.ok()) return error_text(d.error());
    const CaseView& view = engine_->view(*t);
    const Millis server_now = engine_->server_now(*t);
    if (with_preview) {
      const Preview pv = preview_draft(*who, *d, view, server_now);
      Json out = to_json(pv);
      if (pv.facts) {
        out["facts"] = to_json(*pv.facts);
        out["facts_digest"] = facts_digest(*pv.facts);
      }
      return dump(out);
    }
    return dump(to_json(validate_draft(*who, *d, view, server_now)));
  }

  std::optional<Actor> actor_;
  sync::EngineConfig config_;
  std::unique_ptr<store::SqliteReplica> replica_;
  std::unique_ptr<sync::Engine> engine_;  // declared after the replica: destroyed first
  std::string incoming_;                  // image_buffer(): the image open_image() opens
  std::string frame_buffer_;              // frame_buffer(): the next frame, kept for the next
};

}  // namespace
}  // namespace returns::wasm

EMSCRIPTEN_BINDINGS(returns_portal) {
  using returns::wasm::Portal;
  emscripten::function(
      "isValidId", +[](const std::string& id) { return returns::is_valid_id(id); });
  emscripten::function("tokenClaims", &returns::wasm::token_claims);
  emscripten::class_<Portal>("Portal")
      .constructor<>()
      .function("open", &Portal::open)
      .function("imageBuffer", &Portal::image_buffer)
      .function("openImage", &Portal::open_image)
      .function("image", &Portal::image)
      .function("close", &Portal::close)
      .function("setActor", &Portal::set_actor)
      .function("setToken", &Portal::set_token)
      .function("status", &Portal::status)
      .function("connected", &Portal::connected)
      .function("frame", &Portal::frame)
      .function("frameBuffer", &Portal::frame_buffer)
      .function("frameInBuffer", &Portal::frame_in_buffer)
      .function("disconnected", &Portal::disconnected)
      .function("tick", &Portal::tick)
      .function("nextWakeup", &Portal::next_wakeup)
      .function("takeOutgoing", &Portal::take_outgoing)
      .function("takeNotices", &Portal::take_notices)
      .function("validate", &Portal::validate)
      .function("preview", &Portal::preview)
      .function("saveDraft", &Portal::save_draft)
      .function("discardDraft", &Portal::discard_draft)
      .function("submit", &Portal::submit)
      .function("enqueue", &Portal::enqueue)
      .function("checkOp", &Portal::check_op)
      .function("whatIf", &Portal::what_if)
      .function("review", &Portal::review)
      .function("drafts", &Portal::drafts)
      .function("outbox", &Portal::outbox)
      .function("pending", &Portal::pending)
      .function("row", &Portal::row)
      .function("rows", &Portal::rows)
      .function("deadlines", &Portal::deadlines)
      .function("explainDecision", &Portal::explain_decision)
      .function("constants", &Portal::constants)
      .function("allowedOps", &Portal::allowed_ops)
      .function("loadRows", &Portal::load_rows)
      .function("loadWorld", &Portal::load_world);
}
