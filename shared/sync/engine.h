// engine.h — the client side of the sync protocol (docs/protocol.md) as a sans-I/O state
// machine: the caller owns the socket and the clock, hands the engine every event (connected,
// frame received, disconnected, time passed) and sends the frames the engine queues. The engine
// owns the outbox (ops numbered by seq, kept until answered), the cursor, applying `changes` to
// the replica, surfacing `result`s, `reset` handling, drafts kept with their refusal, and an
// optimistic view: the replica's rows with the pending ops applied on top by the core, redone
// whenever a server change arrives. Used by the wasm binding, the native tests, the simulation
// and the load generator. Design notes: docs/sync-engine.md.
//
// Not thread-safe; one engine per replica. Every time argument is the caller's local clock (UTC
// ms); the engine keeps the server's clock offset from welcome.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/return_history.h"
#include "sync/history_model.h"
#include "sync/protocol.h"
#include "sync/replica.h"

namespace returns::sync {

struct ScannedChanges;

struct EngineConfig {
  std::string client_id;  // stable per device/profile; owns the seqs
  std::string token;
  // After SEQ_GAP, RATE_LIMITED or INTERNAL the outbox is resent from its first op once this
  // much time has passed (answers still in flight arrive meanwhile).
  Millis resend_delay_ms = 250;
};

enum class SyncPhase {
  disconnected,  // no socket
  hello_sent,    // waiting for welcome (or reset)
  catching_up,   // welcome received, waiting for synced
  live,          // synced: changes arrive as they commit
  stopped,       // a fatal error the client cannot fix by reconnecting (token, proto, client id)
};
std::string_view to_string(SyncPhase phase);

// Something the UI should learn. take_notices() hands them over once each.
struct Notice {
  enum class Kind {
    op_result,  // an op of ours was answered (applied, or refused with code)
    error,      // an `error` frame (fatal ones also stop the engine)
    alert,      // an `alert` frame (operators)
    reset,      // the server told us to drop the replica
    synced,     // catch-up finished
  };
  Kind kind = Kind::op_result;
  std::int64_t seq = 0;           // op_result
  std::string op;                 // op_result: wire name of the op
  std::string return_id;          // op_result: args.return_id when the op has one
  bool applied = false;           // op_result
  std::optional<ErrorCode> code;  // op_result when refused; error
  std::string message;
  std::int64_t version = 0;  // op_result: the cursor that shows its effects
  bool fatal = false;        // error
  Json alert;                // alert
  Json decision;             // op_result of an applied submit: the server's SubmitDecision
                             // (core/decision_facts.h), null otherwise
};
std::string_view to_string(Notice::Kind kind);

// An op in the outbox (or answered but its effects not yet in the replica), and how the core
// predicts the server will decide it on the current optimistic state.
class FactsIndex;  // sync/facts_index.h

struct PendingOp {
  std::int64_t seq = 0;
  std::string op;
  Json args;
  bool answered = false;                   // applied by the server; waiting for its changes
  std::optional<Error> predicted_refusal;  // the core refuses it locally (not yet authoritative)
};

class OverlayView;  // the optimistic CaseView (sync/overlay_view.h)

class Engine {
 public:
  // Reads cursor, next seq and principal from the replica. The replica must outlive the engine,
  // and every row write after construction goes through the engine (its facts index follows
  // them; to load rows behind its back, write them first and construct a new engine).
  Engine(Replica& replica, EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- Transport events --------------------------------------------------------------------

  // The socket is open: returns the hello frame to send first.
  std::string on_connected(Millis now);
  // One text frame from the server. A malformed or unexpected frame returns its typed error
  // (BAD_JSON, BAD_TYPE, MISSING_FIELD, INVALID_AMOUNT, INVALID_ENUM, …) and changes nothing:
  // no replica write, no outbox loss. A replica write failure returns INTERNAL (the frame is not
  // applied; reconnecting resumes from the stored cursor).
  Status on_frame(std::string_view frame, Millis now);
  // The socket closed or failed. Unanswered ops stay in the outbox for the next connection.
  void on_disconnected();
  // Time passed: resends the outbox when a resend is due.
  void tick(Millis now);
  // When tick() next has work to do, if ever.
  std::optional<Millis> next_wakeup() const;
  // Frames to send, in order (hello is returned by on_connected instead).
  std::vector<std::string> take_outgoing();
  // A new token after UNAUTHORIZED/TOKEN_EXPIRED; leaves the stopped phase.
  void set_token(std::string token);

  // --- Local API (each call is one replica transaction; returns the op's seq) -------------

  // Any op of docs/protocol.md. `args` is checked with the core codec first (typed error and
  // nothing written when it does not decode). Draft bookkeeping follows the op: save_draft and
  // submit_return upsert the local draft in the same transaction, discard_draft removes it.
  Result<std::int64_t> enqueue(std::string_view op, const Json& args, Millis now);
  // save_draft with the local clock as drafted_at.
  Result<std::int64_t> save_draft(const DraftInput& draft, Millis now);
  // discard_draft: the local draft goes at once; the server's when the op is applied.
  Result<std::int64_t> discard_draft(const std::string& return_id, Millis now);
  // submit_return from the local draft (or the optimistic draft row). RETURN_NOT_FOUND when
  // there is neither.
  Result<std::int64_t> submit(const std::string& return_id, Millis now);

  // --- Reads ----------------------------------------------------------------------------

  std::vector<Notice> take_notices();
  std::vector<DraftRecord> drafts() const { return replica_.drafts(); }
  std::vector<OutboxEntry> outbox() const { return replica_.outbox(); }
  std::vector<PendingOp> pending(Millis now);

  // The optimistic view: the replica's row with every pending op applied on top (the core's
  // apply_op with the estimated server clock), as this principal may see it; nothing when absent
  // or deleted. A stored row that is not JSON, or that the core cannot decode, reads as absent and
  // raises one error notice (INTERNAL, naming the entity and id) until the row is written again.
  std::optional<Json> row(std::string_view entity, std::string_view id, Millis now);
  std::vector<Json> rows(std::string_view entity, Millis now);
  // The same state as a CaseView for validate/preview (core/validation.h). Valid until the next
  // call that changes the engine.
  const CaseView& view(Millis now);
  Preview preview(const DraftInput& draft, Millis now);

  // A dry run of enqueue: would the core refuse `op` with `args` if it were enqueued now, on the
  // optimistic view (pending ops applied) and the estimated server clock, as the principal? The
  // same decode + apply_op that gives pending ops their predicted_refusal. Ok, or the typed
  // refusal (BAD_TYPE "args", UNKNOWN_OP, the codec's field errors, then the core's refusal).
  // Writes nothing, queues nothing. UNAUTHORIZED when no welcome named a principal yet.
  Status check(std::string_view op, const Json& args, Millis now);
  // The same as `actor` (the portal's configured actor before the first welcome).
  Status check(const Actor& actor, std::string_view op, const Json& args, Millis now);

  // The buyer's returns decided on the `days` UTC days ending with the server's today, read from
  // the optimistic view as the what-if replay takes them (core/return_history.h). INVALID_ID /
  // BUYER_NOT_FOUND (field buyer_id) for an unusable or unknown buyer, INVALID_AMOUNT (field
  // days) unless 1 <= days <= kMaxWhatIfDays.
  static constexpr int kMaxWhatIfDays = 366;
  Result<std::vector<HistoricalReturn>> history(const std::string& buyer_id, int days, Millis now);

  // An existing return as the operator reviewing it sees it (core/validation.h review_return):
  // the reason evidence and the buyer's current policy evaluated at its submission, on the
  // optimistic view; the counts at submission are the ones history() rebuilds. As the principal
  // (UNAUTHORIZED before any welcome), or as `actor`.
  Result<ReturnReview> review(const std::string& return_id, Millis now);
  Result<ReturnReview> review(const Actor& actor, const std::string& return_id, Millis now);

  SyncPhase phase() const { return phase_; }
  std::int64_t cursor() const { return cursor_; }
  std::int64_t next_seq() const { return next_seq_; }
  const std::optional<Principal>& principal() const { return principal_; }
  // The estimated server clock: the local clock plus the offset measured from welcome.server_time
  // (and refined by pong), stored in the replica so it survives reloads; 0 before any welcome.
  Millis server_now(Millis local_now) const { return local_now + clock_offset_; }
  Millis clock_offset() const { return clock_offset_; }
  const std::string& client_id() const { return config_.client_id; }

 private:
  Status handle_welcome(const Json& j, Millis now);
  Status handle_reset();
  Status handle_changes(const Json& j);
  Status apply_changes(const ScannedChanges& changes);  // the same, from a scanned frame
  Status write_changes(std::int64_t to, WriteBatch batch);
  Status handle_synced(const Json& j);
  Status handle_result(const Json& j);
  Status handle_error(const Json& j, Millis now);
  void push_outbox();
  void push(const std::vector<OutboxEntry>& ops);
  Status write(const WriteBatch& batch);
  void invalidate();
  void rebuild_overlay(Millis now);
  void report_bad_row(std::string_view entity, std::string_view id, const Error& error);
  // history() for a buyer known to the view, returns decided in `period`.
  std::vector<HistoricalReturn> history_in(const std::string& buyer_id, DayRange period);

  Replica& replica_;
  EngineConfig config_;
  SyncPhase phase_ = SyncPhase::disconnected;
  std::int64_t cursor_ = 0;
  std::int64_t next_seq_ = 1;
  std::int64_t last_acked_ = 0;
  Millis clock_offset_ = 0;
  std::optional<Principal> principal_;
  std::optional<Millis> resend_at_;
  std::vector<std::string> outgoing_;
  std::vector<Notice> notices_;
  // Ops the server applied whose effects the replica does not show yet (cursor < version).
  struct Answered {
    OutboxEntry op;
    std::int64_t version = 0;
  };
  std::vector<Answered> awaiting_effects_;
  // The replica's decision-facts rows by buyer and day: the view's count questions without a scan.
  std::unique_ptr<FactsIndex> facts_;
  // The what-if read model: one buyer's rows history() reads, kept in step with every write.
  std::unique_ptr<HistoryModel> history_;
  std::uint64_t replica_writes_ = 0;  // bumped by every write
  // Rows already reported as undecodable (entity, id); a write of the row forgets it.
  std::set<std::pair<std::string, std::string>> bad_rows_;
  std::unique_ptr<OverlayView> overlay_;
  bool overlay_dirty_ = true;
  Millis overlay_now_ = 0;
};

// The secondary key a row is stored with (ReplicaRow::ref).
std::string replica_ref(std::string_view entity, const Json& data);

}  // namespace returns::sync
