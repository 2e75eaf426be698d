// engine.cc — the client sync engine: frame handling, the outbox, drafts and the optimistic view.
#include "sync/engine.h"

#include <algorithm>
#include <set>
#include <utility>

#include "sync/changes_scan.h"
#include "sync/facts_index.h"
#include "sync/overlay_view.h"
#include "sync/row_json.h"

namespace returns::sync {
namespace {

Error err(ErrorCode code, std::string field, std::string message) {
  return make_error(code, std::move(field), std::move(message));
}

constexpr std::int64_t kMaxWireInt = 9'007'199'254'740'991LL;

// Reads a protocol integer (0 … 2^53−1).
Result<std::int64_t> wire_int(const Json& j, const char* key, bool required,
                              std::int64_t fallback = 0) {
  auto it = j.find(key);
  if (it == j.end() || (!required && it->is_null())) {
    if (required)
      return err(ErrorCode::MISSING_FIELD, key, std::string("Field ") + key + " is required.");
    return fallback;
  }
  if (!it->is_number_integer()) {
    return err(ErrorCode::BAD_TYPE, key, std::string("Field ") + key + " must be an integer.");
  }
  if (it->is_number_unsigned()
          ? it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxWireInt)
          : (it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > kMaxWireInt)) {
    return err(ErrorCode::INVALID_AMOUNT, key, std::string("Field ") + key + " is out of range.");
  }
  return it->get<std::int64_t>();
}

Result<std::string> wire_string(const Json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required)
      return err(ErrorCode::MISSING_FIELD, key, std::string("Field ") + key + " is required.");
    return std::string();
  }
  if (!it->is_string()) {
    return err(ErrorCode::BAD_TYPE, key, std::string("Field ") + key + " must be a string.");
  }
  return it->get<std::string>();
}

Result<Principal> decode_principal(const Json& j) {
  if (!j.is_object()) return err(ErrorCode::BAD_TYPE, "principal", "principal must be an object.");
  Result<std::string> role = wire_string(j, "role", true);
  if (!role.ok()) return role.error();
  const std::optional<Role> r = role_from_string(*role);
  if (!r) return err(ErrorCode::INVALID_ENUM, "principal.role", "Unknown role.");
  Principal p;
  p.role = *r;
  Result<std::string> subject = wire_string(j, "subject", false);
  if (!subject.ok()) return subject.error();
  p.subject = *subject;
  Result<std::string> buyer = wire_string(j, "buyer_id", p.role == Role::buyer);
  if (!buyer.ok()) return buyer.error();
  p.buyer_id = *buyer;
  return p;
}

Json principal_to_json(const Principal& p) {
  Json j{{"role", to_string(p.role)}, {"subject", p.subject}};
  if (p.role == Role::buyer) j["buyer_id"] = p.buyer_id;
  return j;
}

std::string encode_hello(const EngineConfig& c, std::int64_t cursor, std::int64_t last_seq) {
  // `type` first, like the server's frames (the server accepts any order).
  return "{\"type\":\"hello\",\"proto\":" + std::to_string(kProtocolVersion) +
         ",\"token\":" + Json(c.token).dump() + ",\"client_id\":" + Json(c.client_id).dump() +
         ",\"cursor\":" + std::to_string(cursor) + ",\"last_seq\":" + std::to_string(last_seq) +
         "}";
}

std::string encode_push(const std::vector<OutboxEntry>& ops, std::size_t begin, std::size_t end) {
  Json list = Json::array();
  for (std::size_t i = begin; i < end; ++i) {
    const OutboxEntry& o = ops[i];
    Result<Json> args = parse_json(o.args);
    list.push_back(Json{{"seq", o.seq},
                        {"op", o.op},
                        {"args", args.ok() ? std::move(args).value() : Json::object()},
                        {"client_time", o.client_time}});
  }
  return "{\"type\":\"push\",\"ops\":" + list.dump() + "}";
}

std::optional<std::int64_t> parse_int(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  std::int64_t v = 0;
  bool neg = false;
  std::size_t i = 0;
  if ((*s)[0] == '-') {
    neg = true;
    i = 1;
  }
  for (; i < s->size(); ++i) {
    const char c = (*s)[i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

std::string return_id_of(const std::string& args_text) {
  Result<Json> args = parse_json(args_text);
  if (!args.ok() || !args->is_object()) return {};
  auto it = args->find("return_id");
  return it != args->end() && it->is_string() ? it->get<std::string>() : std::string();
}

// An op's args as the server decodes them (the core codec); `args` must be an object.
Result<OpArgs> decode_args(std::string_view op, const Json& args) {
  if (!args.is_object()) return err(ErrorCode::BAD_TYPE, "args", "args must be an object.");
  return decode_op_args(op, args);
}

// How the server would answer a decoded op on the optimistic view at its clock: the core's
// apply_op. The one prediction behind pending ops' predicted_refusal and Engine::check.
Result<Effects> predict(const Actor& actor, const OpArgs& args, const CaseView& view,
                        Millis server_now) {
  return apply_op(actor, args, view, server_now);
}

// The draft fields of save_draft/submit_return args.
Json draft_data(const Json& args) {
  Json d = Json::object();
  for (const char* k : {"return_id", "lead_id", "reason", "note", "drafted_at"}) {
    if (args.contains(k)) d[k] = args[k];
  }
  return d;
}

// Rows an op's effects write, mirroring the store (store.cc write_effects): entity, id, the
// buyer scope of the event, and the row (nothing = deleted).
struct EffectRow {
  std::string entity;
  std::string id;
  std::string scope;
  std::optional<Json> data;
};

std::vector<EffectRow> effect_rows(const Effects& fx, Millis now) {
  std::vector<EffectRow> out;
  if (fx.ret) {
    if (fx.return_deleted) {
      out.push_back({"return", fx.ret->id, fx.ret->buyer_id, std::nullopt});
    } else {
      out.push_back({"return", fx.ret->id, fx.ret->buyer_id, to_json(*fx.ret)});
    }
  }
  if (fx.lead) out.push_back({"lead", fx.lead->id, fx.lead->buyer_id, to_json(*fx.lead)});
  for (const LedgerEntry& e : fx.ledger) {
    const std::string scope = e.kind == EntryKind::supplier_chargeback ? "" : e.buyer_id;
    out.push_back({"ledger", e.id, scope, to_json(e)});
  }
  if (fx.message) {
    out.push_back(
        {"message", fx.message->id, fx.ret ? fx.ret->buyer_id : "", to_json(*fx.message)});
  }
  if (fx.buyer) out.push_back({"buyer", fx.buyer->id, fx.buyer->id, to_json(*fx.buyer)});
  if (fx.alert) {
    Json data = to_json(*fx.alert);
    const std::string id = "routing:" + fx.alert->return_id;
    data["id"] = id;
    data["kind"] = "routing_filter";
    data["subject_id"] = fx.alert->lead_id;
    data["created_at"] = now;
    out.push_back({"alert", id, "", std::move(data)});
  }
  return out;
}

}  // namespace

std::string replica_ref(std::string_view entity, const Json& data) {
  const std::string_view key = replica_ref_key(entity);
  if (key.empty() || !data.is_object()) return {};
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string_view to_string(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::disconnected:
      return "disconnected";
    case SyncPhase::hello_sent:
      return "hello_sent";
    case SyncPhase::catching_up:
      return "catching_up";
    case SyncPhase::live:
      return "live";
    case SyncPhase::stopped:
      return "stopped";
  }
  return "disconnected";
}

std::string_view to_string(Notice::Kind kind) {
  switch (kind) {
    case Notice::Kind::op_result:
      return "op_result";
    case Notice::Kind::error:
      return "error";
    case Notice::Kind::alert:
      return "alert";
    case Notice::Kind::reset:
      return "reset";
    case Notice::Kind::synced:
      return "synced";
  }
  return "error";
}

// --- Engine --------------------------------------------------------------------------------------

Engine::Engine(Replica& replica, EngineConfig config)
    : replica_(replica),
      config_(std::move(config)),
      facts_(std::make_unique<FactsIndex>(
          replica_,
          [this](std::string_view id, const Error& e) { report_bad_row("buyer_day", id, e); })),
      history_(std::make_unique<HistoryModel>(
          replica_, [this](std::string_view entity, std::string_view id, const Error& e) {
            report_bad_row(entity, id, e);
          })) {
  cursor_ = parse_int(replica_.meta(meta_key::kCursor)).value_or(0);
  next_seq_ = std::max<std::int64_t>(1, parse_int(replica_.meta(meta_key::kNextSeq)).value_or(1));
  last_acked_ = parse_int(replica_.meta(meta_key::kLastAcked)).value_or(0);
  clock_offset_ = parse_int(replica_.meta(meta_key::kClockOffset)).value_or(0);
  // The outbox is the truth about which seqs are taken.
  const std::vector<OutboxEntry> out = replica_.outbox();
  if (!out.empty()) next_seq_ = std::max(next_seq_, out.back().seq + 1);
  if (std::optional<std::string> p = replica_.meta(meta_key::kPrincipal)) {
    Result<Json> j = parse_json(*p);
    if (j.ok()) {
      Result<Principal> principal = decode_principal(*j);
      if (principal.ok()) principal_ = *principal;
    }
  }
}

Engine::~Engine() = default;

std::string Engine::on_connected(Millis now) {
  (void)now;
  if (phase_ != SyncPhase::stopped) phase_ = SyncPhase::hello_sent;
  resend_at_.reset();
  outgoing_.clear();
  return encode_hello(config_, cursor_, last_acked_);
}

void Engine::on_disconnected() {
  if (phase_ != SyncPhase::stopped) phase_ = SyncPhase::disconnected;
  resend_at_.reset();
  outgoing_.clear();  // frames for a dead socket; the next welcome resends the outbox
}

void Engine::set_token(std::string token) {
  config_.token = std::move(token);
  if (phase_ == SyncPhase::stopped) phase_ = SyncPhase::disconnected;
}

std::vector<std::string> Engine::take_outgoing() {
  std::vector<std::string> out;
  out.swap(outgoing_);
  return out;
}

std::vector<Notice> Engine::take_notices() {
  std::vector<Notice> out;
  out.swap(notices_);
  return out;
}

void Engine::tick(Millis now) {
  if (resend_at_ && now >= *resend_at_) {
    resend_at_.reset();
    if (phase_ == SyncPhase::catching_up || phase_ == SyncPhase::live) push_outbox();
  }
}

std::optional<Millis> Engine::next_wakeup() const { return resend_at_; }

Status Engine::write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  Status s = replica_.write(batch);
  if (!s.ok()) return s;
  facts_->apply(batch);
  ++replica_writes_;
  // A rewritten row is judged afresh.
  if (batch.clear_rows) bad_rows_.clear();
  for (const RowWrite& w : batch.rows) bad_rows_.erase({w.entity, w.id});
  history_->follow(batch, replica_writes_);
  invalidate();
  return s;
}

void Engine::invalidate() { overlay_dirty_ = true; }

void Engine::report_bad_row(std::string_view entity, std::string_view id, const Error& error) {
  if (!bad_rows_.emplace(std::string(entity), std::string(id)).second) return;
  Notice n;
  n.kind = Notice::Kind::error;
  n.code = ErrorCode::INTERNAL;
  n.message = "The " + std::string(entity) + " row " + std::string(id) +
              " in the local replica cannot be read (" + std::string(to_string(error.code)) +
              (error.field.empty() ? "" : " " + error.field) + ": " + error.message +
              "); it is treated as absent.";
  notices_.push_back(std::move(n));
}

void Engine::push_outbox() { push(replica_.outbox()); }

void Engine::push(const std::vector<OutboxEntry>& ops) {
  // One push holds consecutive seqs only (the server refuses a gap as a whole). The outbox can
  // have holes: answers may arrive out of order, and each answered op leaves at once.
  std::size_t begin = 0;
  for (std::size_t i = 1; i <= ops.size(); ++i) {
    const bool cut =
        i == ops.size() || ops[i].seq != ops[i - 1].seq + 1 || i - begin == kMaxOpsPerPush;
    if (cut && begin < i) {
      outgoing_.push_back(encode_push(ops, begin, i));
      begin = i;
    }
  }
}

Status Engine::on_frame(std::string_view frame, Millis now) {
  if (phase_ == SyncPhase::disconnected) {
    return err(ErrorCode::BAD_TYPE, "", "A frame arrived while no connection is open.");
  }
  if (frame.size() > kMaxFrameBytes * 64) {
    return err(ErrorCode::FRAME_TOO_LARGE, "", "The frame is too large.");
  }
  // Most of a catch-up: read without a JSON tree when the frame is plainly well formed.
  if (std::optional<ScannedChanges> scanned = scan_changes(frame)) return apply_changes(*scanned);
  Result<Json> parsed = parse_server_frame(frame);
  if (!parsed.ok()) return parsed.error();
  const Json& j = *parsed;
  const std::string& type = j["type"].get_ref<const std::string&>();
  if (type == "welcome") return handle_welcome(j, now);
  if (type == "reset") return handle_reset();
  if (type == "changes") return handle_changes(j);
  if (type == "synced") return handle_synced(j);
  if (type == "result") return handle_result(j);
  if (type == "error") return handle_error(j, now);
  if (type == "alert") {
    auto a = j.find("alert");
    if (a == j.end()) return err(ErrorCode::MISSING_FIELD, "alert", "Field alert is required.");
    if (!a->is_object()) return err(ErrorCode::BAD_TYPE, "alert", "Field alert must be an object.");
    Notice n;
    n.kind = Notice::Kind::alert;
    n.alert = *a;
    n.message = get_or<std::string>(*a, "sentence", "");
    notices_.push_back(std::move(n));
    return Status::Ok();
  }
  if (type == "pong") {
    Result<std::int64_t> server_time = wire_int(j, "server_time", true);
    if (!server_time.ok()) return server_time.error();
    // offset ≈ server_time − (sent + received) / 2 when t is the send time we chose.
    auto t = j.find("t");
    if (t != j.end() && t->is_number_integer()) {
      const Millis sent = t->get<Millis>();
      if (sent <= now) clock_offset_ = *server_time - (sent + now) / 2;
    }
    return Status::Ok();
  }
  return err(ErrorCode::INVALID_ENUM, "type", "Unknown server frame type " + type + ".");
}

Status Engine::handle_welcome(const Json& j, Millis now) {
  Result<std::int64_t> server_time = wire_int(j, "server_time", true);
  if (!server_time.ok()) return server_time.error();
  auto pj = j.find("principal");
  if (pj == j.end())
    return err(ErrorCode::MISSING_FIELD, "principal", "Field principal is required.");
  Result<Principal> principal = decode_principal(*pj);
  if (!principal.ok()) return principal.error();
  Result<std::int64_t> last_seq = wire_int(j, "last_seq", true);
  if (!last_seq.ok()) return last_seq.error();
  Result<std::int64_t> cursor = wire_int(j, "cursor", true);
  if (!cursor.ok()) return cursor.error();
  if (*cursor > cursor_) {
    return err(ErrorCode::INVALID_AMOUNT, "cursor", "welcome.cursor is beyond the local cursor.");
  }

  WriteBatch batch;
  if (*cursor < cursor_) batch.clear_rows = true;  // the server starts us over
  const std::int64_t new_cursor = *cursor;
  // Ops above the server's last_seq were never applied there. When the server knows fewer ops
  // than we numbered (it lost them, or this replica moved), renumber the unanswered ones so
  // they follow the server's last_seq: they are applied once, under their new seq.
  std::vector<OutboxEntry> out = replica_.outbox();
  std::int64_t next = next_seq_;
  std::vector<OutboxEntry> above;
  for (const OutboxEntry& o : out)
    if (o.seq > *last_seq) above.push_back(o);
  if (above.empty()) {
    next = *last_seq + 1;  // everything we sent is answered there: number on from the server's
  } else if (above.front().seq != *last_seq + 1) {
    std::int64_t seq = *last_seq;
    for (OutboxEntry& o : above) {
      batch.outbox_remove.push_back(o.seq);
      o.seq = ++seq;
      batch.outbox_add.push_back(o);
    }
    // Drafts point at the seq of their last op.
    for (DraftRecord d : replica_.drafts()) {
      for (std::size_t i = 0; i < above.size(); ++i) {
        if (d.seq == batch.outbox_remove[i]) {
          d.seq = above[i].seq;
          batch.draft_put.push_back(d);
          break;
        }
      }
    }
    next = seq + 1;
  }
  const Millis offset = *server_time - now;
  batch.meta = {{std::string(meta_key::kCursor), std::to_string(new_cursor)},
                {std::string(meta_key::kNextSeq), std::to_string(next)},
                {std::string(meta_key::kPrincipal), principal_to_json(*principal).dump()},
                {std::string(meta_key::kClockOffset), std::to_string(offset)}};
  if (Status s = write(batch); !s.ok()) return s;
  cursor_ = new_cursor;
  next_seq_ = next;
  clock_offset_ = offset;
  principal_ = *principal;
  phase_ = SyncPhase::catching_up;
  // Resend everything unanswered: the server answers ops it has from their stored results.
  push_outbox();
  return Status::Ok();
}

Status Engine::handle_reset() {
  WriteBatch batch;
  batch.clear_rows = true;
  batch.meta = {{std::string(meta_key::kCursor), "0"}};
  if (Status s = write(batch); !s.ok()) return s;
  cursor_ = 0;
  Notice n;
  n.kind = Notice::Kind::reset;
  n.message = "The server asked for a fresh start; the replica was dropped.";
  notices_.push_back(std::move(n));
  return Status::Ok();
}

Status Engine::handle_changes(const Json& j) {
  // Every item is checked before anything is written.
  Result<Changes> changes = decode_changes(j);
  if (!changes.ok()) return changes.error();
  WriteBatch batch;
  for (const ChangeItem& item : changes->items) {
    if (item.v <= cursor_) continue;  // already applied (frames may overlap)
    RowWrite w{item.entity, item.id, replica_ref(item.entity, item.data), std::nullopt};
    if (!is_deleted_row(item.data)) w.data = item.data.dump();
    batch.rows.push_back(std::move(w));
  }
  return write_changes(changes->to, std::move(batch));
}

Status Engine::apply_changes(const ScannedChanges& changes) {
  WriteBatch batch;
  for (const ScannedItem& item : changes.items) {
    if (item.v <= cursor_) continue;  // already applied (frames may overlap)
    RowWrite w{std::string(item.entity), std::string(item.id), item.ref, std::nullopt};
    if (!item.deleted) w.data = std::string(item.data);
    batch.rows.push_back(std::move(w));
  }
  return write_changes(changes.to, std::move(batch));
}

Status Engine::write_changes(std::int64_t to, WriteBatch batch) {
  const std::int64_t new_cursor = std::max(cursor_, to);
  if (new_cursor != cursor_)
    batch.meta = {{std::string(meta_key::kCursor), std::to_string(new_cursor)}};
  if (Status s = write(batch); !s.ok()) return s;
  cursor_ = new_cursor;
  std::erase_if(awaiting_effects_, [&](const Answered& a) { return a.version <= cursor_; });
  invalidate();
  return Status::Ok();
}

Status Engine::handle_synced(const Json& j) {
  Result<std::int64_t> cursor = wire_int(j, "cursor", true);
  if (!cursor.ok()) return cursor.error();
  if (*cursor > cursor_) {
    WriteBatch batch;
    batch.meta = {{std::string(meta_key::kCursor), std::to_string(*cursor)}};
    if (Status s = write(batch); !s.ok()) return s;
    cursor_ = *cursor;
    std::erase_if(awaiting_effects_, [&](const Answered& a) { return a.version <= cursor_; });
  }
  phase_ = SyncPhase::live;
  Notice n;
  n.kind = Notice::Kind::synced;
  n.version = cursor_;
  notices_.push_back(std::move(n));
  return Status::Ok();
}

Status Engine::handle_result(const Json& j) {
  Result<std::int64_t> seq = wire_int(j, "seq", true);
  if (!seq.ok()) return seq.error();
  Result<std::string> status = wire_string(j, "status", true);
  if (!status.ok()) return status.error();
  if (*status != "applied" && *status != "rejected") {
    return err(ErrorCode::INVALID_ENUM, "status", "status must be applied or rejected.");
  }
  const bool applied = *status == "applied";
  std::optional<ErrorCode> code;
  auto c = j.find("code");
  if (c != j.end() && !c->is_null()) {
    if (!c->is_string()) return err(ErrorCode::BAD_TYPE, "code", "Field code must be a string.");
    code = error_code_from_string(c->get<std::string>());
    if (!code) return err(ErrorCode::INVALID_ENUM, "code", "Unknown error code.");
  }
  if (!applied && !code) return err(ErrorCode::MISSING_FIELD, "code", "A refusal has a code.");
  Result<std::string> message = wire_string(j, "message", false);
  if (!message.ok()) return message.error();
  Result<std::int64_t> version = wire_int(j, "version", false);
  if (!version.ok()) return version.error();
  Json decision;
  if (auto d = j.find("decision"); d != j.end() && !d->is_null()) {
    Result<SubmitDecision> decoded = decode_submit_decision(*d);
    if (!decoded.ok()) {
      Error e = decoded.error();
      e.field = e.field.empty() ? "decision" : "decision." + e.field;
      return e;
    }
    decision = *d;
  }

  const std::vector<OutboxEntry> out = replica_.outbox();
  auto it =
      std::find_if(out.begin(), out.end(), [&](const OutboxEntry& o) { return o.seq == *seq; });
  if (it == out.end()) return Status::Ok();  // answered before (a resend's answer): nothing new
  const OutboxEntry op = *it;

  WriteBatch batch;
  batch.outbox_remove.push_back(op.seq);
  const std::int64_t acked = std::max(last_acked_, op.seq);
  batch.meta = {{std::string(meta_key::kLastAcked), std::to_string(acked)}};
  const std::string return_id = return_id_of(op.args);
  const bool draft_op = op.op == "save_draft" || op.op == "submit_return";
  if (draft_op && !return_id.empty()) {
    std::optional<DraftRecord> d = replica_.draft(return_id);
    if (applied) {
      // The server row carries the draft (or the submitted return) from here on.
      if (d && d->seq == op.seq) batch.draft_remove.push_back(return_id);
    } else if (!d || d->seq <= op.seq) {
      // Keep the buyer's work with the reason it was refused.
      DraftRecord r;
      if (d) {
        r = *d;
      } else {
        Result<Json> args = parse_json(op.args);
        r.return_id = return_id;
        r.data = draft_data(args.ok() ? *args : Json::object()).dump();
        r.seq = op.seq;
      }
      r.status = DraftStatus::refused;
      r.refusal = std::string(to_string(*code));
      r.refusal_message = *message;
      batch.draft_put.push_back(std::move(r));
    }
  }
  if (Status s = write(batch); !s.ok()) return s;
  last_acked_ = acked;
  if (applied && *version > cursor_) awaiting_effects_.push_back(Answered{op, *version});
  Notice n;
  n.kind = Notice::Kind::op_result;
  n.seq = op.seq;
  n.op = op.op;
  n.return_id = return_id;
  n.applied = applied;
  n.code = code;
  n.message = *message;
  n.version = *version;
  n.decision = std::move(decision);
  notices_.push_back(std::move(n));
  return Status::Ok();
}

Status Engine::handle_error(const Json& j, Millis now) {
  Result<std::string> code_name = wire_string(j, "code", true);
  if (!code_name.ok()) return code_name.error();
  const std::optional<ErrorCode> code = error_code_from_string(*code_name);
  if (!code) return err(ErrorCode::INVALID_ENUM, "code", "Unknown error code " + *code_name + ".");
  Result<std::string> message = wire_string(j, "message", false);
  if (!message.ok()) return message.error();
  bool fatal = false;
  if (auto f = j.find("fatal"); f != j.end()) {
    if (!f->is_boolean())
      return err(ErrorCode::BAD_TYPE, "fatal", "Field fatal must be a boolean.");
    fatal = f->get<bool>();
  }
  if (fatal) {
    // These need a new token, a newer client or another client id: reconnecting cannot help.
    if (*code == ErrorCode::UNAUTHORIZED || *code == ErrorCode::TOKEN_EXPIRED ||
        *code == ErrorCode::UNSUPPORTED_PROTO || *code == ErrorCode::FORBIDDEN) {
      phase_ = SyncPhase::stopped;
    }
  } else if (*code == ErrorCode::SEQ_GAP || *code == ErrorCode::RATE_LIMITED ||
             *code == ErrorCode::INTERNAL) {
    // Some ops were not applied: resend the outbox from its first unanswered op, after the
    // answers still in flight had time to arrive.
    if (!resend_at_) resend_at_ = now + config_.resend_delay_ms;
  }
  Notice n;
  n.kind = Notice::Kind::error;
  n.code = code;
  n.message = *message;
  n.fatal = fatal;
  notices_.push_back(std::move(n));
  return Status::Ok();
}

// --- Local API -----------------------------------------------------------------------------------

Result<std::int64_t> Engine::enqueue(std::string_view op, const Json& args, Millis now) {
  Result<OpArgs> decoded = decode_args(op, args);
  if (!decoded.ok()) return decoded.error();
  const std::int64_t seq = next_seq_;
  OutboxEntry entry{seq, std::string(op), args.dump(), now};
  WriteBatch batch;
  batch.outbox_add.push_back(entry);
  batch.meta = {{std::string(meta_key::kNextSeq), std::to_string(seq + 1)}};
  const OpKind kind = kind_of(*decoded);
  if (kind == OpKind::save_draft || kind == OpKind::submit_return) {
    DraftRecord d;
    d.return_id = args["return_id"].get<std::string>();
    d.data = draft_data(args).dump();
    d.status = kind == OpKind::save_draft ? DraftStatus::saved : DraftStatus::submitting;
    d.seq = seq;
    d.updated_at = now;
    batch.draft_put.push_back(std::move(d));
  } else if (kind == OpKind::discard_draft) {
    batch.draft_remove.push_back(args["return_id"].get<std::string>());
  }
  if (Status s = write(batch); !s.ok()) return s.error();
  next_seq_ = seq + 1;
  if (phase_ == SyncPhase::catching_up || phase_ == SyncPhase::live) push({entry});
  return seq;
}

Result<std::int64_t> Engine::save_draft(const DraftInput& draft, Millis now) {
  Json args{{"return_id", draft.return_id},
            {"lead_id", draft.lead_id},
            {"note", draft.note},
            {"drafted_at", now}};
  if (draft.reason) args["reason"] = to_string(*draft.reason);
  return enqueue("save_draft", args, now);
}

Result<std::int64_t> Engine::discard_draft(const std::string& return_id, Millis now) {
  return enqueue("discard_draft", Json{{"return_id", return_id}}, now);
}

Result<std::int64_t> Engine::submit(const std::string& return_id, Millis now) {
  Json args;
  if (std::optional<DraftRecord> d = replica_.draft(return_id)) {
    Result<Json> j = parse_json(d->data);
    if (j.ok()) args = *j;
  }
  if (!args.is_object()) {
    std::optional<Json> row_json = row("return", return_id, now);
    if (!row_json || get_or<std::string>(*row_json, "state", "") != "draft") {
      return err(ErrorCode::RETURN_NOT_FOUND, "return_id", "No draft with this id.");
    }
    args = draft_data(*row_json);
    args["return_id"] = return_id;
  }
  return enqueue("submit_return", args, now);
}

// --- Reads ---------------------------------------------------------------------------------------

void Engine::rebuild_overlay(Millis now) {
  if (overlay_ && !overlay_dirty_ && overlay_now_ == now) return;
  overlay_ = std::make_unique<OverlayView>(
      replica_, *facts_, [this](std::string_view entity, std::string_view id, const Error& e) {
        report_bad_row(entity, id, e);
      });
  overlay_dirty_ = false;
  overlay_now_ = now;
  std::vector<std::pair<OutboxEntry, bool>> ops;
  for (const Answered& a : awaiting_effects_) ops.emplace_back(a.op, true);
  for (OutboxEntry& o : replica_.outbox()) ops.emplace_back(std::move(o), false);
  std::sort(ops.begin(), ops.end(),
            [](const auto& a, const auto& b) { return a.first.seq < b.first.seq; });
  const Millis server_now = now + clock_offset_;
  for (const auto& [op, answered] : ops) {
    PendingOp p;
    p.seq = op.seq;
    p.op = op.op;
    Result<Json> args = parse_json(op.args);
    p.args = args.ok() ? *args : Json::object();
    p.answered = answered;
    Result<OpArgs> decoded = decode_op_args(op.op, p.args);
    if (!principal_ || !decoded.ok()) {
      if (!decoded.ok()) p.predicted_refusal = decoded.error();
      overlay_->ops.push_back(std::move(p));
      continue;
    }
    const Actor actor = principal_->actor();
    Result<Effects> fx = predict(actor, *decoded, *overlay_, server_now);
    std::optional<Effects> written;
    if (fx.ok()) {
      written = std::move(fx).value();
    } else {
      p.predicted_refusal = fx.error();
      if (const auto* submit = std::get_if<SubmitReturnArgs>(&*decoded)) {
        written = keep_refused_draft(actor, *submit, fx.error(), *overlay_, server_now);
      }
    }
    if (written) {
      for (EffectRow& r : effect_rows(*written, server_now)) {
        if (!r.data) {
          overlay_->put(r.entity, r.id, std::nullopt);
          continue;
        }
        EventView ev{r.entity, r.id, r.scope, &*r.data, false};
        Principal scope = *principal_;
        scope.lead_horizon = 0;
        if (std::optional<Json> seen = visible_row(ev, scope)) overlay_->put(r.entity, r.id, *seen);
      }
    }
    overlay_->ops.push_back(std::move(p));
  }
}

std::vector<PendingOp> Engine::pending(Millis now) {
  rebuild_overlay(now);
  return overlay_->ops;
}

std::optional<Json> Engine::row(std::string_view entity, std::string_view id, Millis now) {
  rebuild_overlay(now);
  return overlay_->json(entity, id);
}

std::vector<Json> Engine::rows(std::string_view entity, Millis now) {
  rebuild_overlay(now);
  return overlay_->all(entity);
}

const CaseView& Engine::view(Millis now) {
  rebuild_overlay(now);
  return *overlay_;
}

Preview Engine::preview(const DraftInput& draft, Millis now) {
  rebuild_overlay(now);
  Actor actor = principal_ ? principal_->actor() : Actor::buyer("");
  return preview_draft(actor, draft, *overlay_, now + clock_offset_);
}

Status Engine::check(std::string_view op, const Json& args, Millis now) {
  if (!principal_) {
    return err(ErrorCode::UNAUTHORIZED, "", "Nobody is signed in yet: connect once.");
  }
  return check(principal_->actor(), op, args, now);
}

Status Engine::check(const Actor& actor, std::string_view op, const Json& args, Millis now) {
  Result<OpArgs> decoded = decode_args(op, args);
  if (!decoded.ok()) return decoded.error();
  rebuild_overlay(now);
  Result<Effects> fx = predict(actor, *decoded, *overlay_, server_now(now));
  if (!fx.ok()) return fx.error();
  return Status::Ok();
}

Result<std::vector<HistoricalReturn>> Engine::history(const std::string& buyer_id, int days,
                                                      Millis now) {
  if (!is_valid_id(buyer_id)) {
    return err(ErrorCode::INVALID_ID, "buyer_id",
               "Field buyer_id must be 1-64 characters of [A-Za-z0-9._:-].");
  }
  if (days < 1 || days > kMaxWhatIfDays) {
    return err(ErrorCode::INVALID_AMOUNT, "days",
               "Field days must be 1-" + std::to_string(kMaxWhatIfDays) + ".");
  }
  rebuild_overlay(now);
  if (overlay_->find_buyer(buyer_id) == nullptr) {
    return err(ErrorCode::BUYER_NOT_FOUND, "buyer_id", "No buyer with this id.");
  }
  return history_in(buyer_id, trailing_days(server_now(now), days));
}

std::vector<HistoricalReturn> Engine::history_in(const std::string& buyer_id, DayRange period) {
  return history_->history(buyer_id, period, replica_writes_,
                           [this](const char* entity) { return overlay_->overlay_rows(entity); });
}

Result<ReturnReview> Engine::review(const std::string& return_id, Millis now) {
  if (!principal_) {
    return err(ErrorCode::UNAUTHORIZED, "", "Nobody is signed in yet: connect once.");
  }
  return review(principal_->actor(), return_id, now);
}

Result<ReturnReview> Engine::review(const Actor& actor, const std::string& return_id, Millis now) {
  rebuild_overlay(now);
  // The counts the server read at submission: the what-if rebuild of the submission day.
  auto counts = [this](const ReturnCase& ret) -> std::optional<RateCounts> {
    const std::int64_t day = utc_day(ret.submitted_at);
    for (const HistoricalReturn& h : history_in(ret.buyer_id, DayRange{day, day})) {
      if (h.return_id == ret.id) return h.trailing_30d;
    }
    return std::nullopt;
  };
  return review_return(actor, return_id, *overlay_, server_now(now), counts);
}

}  // namespace returns::sync
