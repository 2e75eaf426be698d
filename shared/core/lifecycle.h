// lifecycle.h — the return state machine (docs/domain.md): the ops buyers and operators send, who
// may send each in which state, and the effects an allowed op has (new return row, lead status,
// ledger entries, message, policy, alert). One function decides every transition: apply_op.
//
//   draft ──submit──▶ pending ──operator message──▶ discussion
//                       │  ╲                          │
//                       │   ╲── accept / reject ──────┤──▶ accepted | rejected ──reopen──▶ pending
//                       └── withdraw (buyer) ─────────┴──▶ withdrawn
//   submit may go straight to accepted when the policy auto-accepts.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/domain.h"
#include "core/evidence.h"
#include "core/ledger.h"
#include "core/policy.h"

namespace returns {

enum class OpKind {
  save_draft,
  discard_draft,
  submit_return,
  withdraw_return,
  post_message,
  accept_return,
  reject_return,
  reopen_return,
  set_policy,
};
std::string_view to_string(OpKind);
std::optional<OpKind> op_kind_from_string(std::string_view);
const std::vector<OpKind>& all_op_kinds();

// Typed op arguments, decoded strictly from JSON by decode_op_args (codec.h).
struct SaveDraftArgs {
  std::string return_id;
  std::string lead_id;
  std::optional<Reason> reason;
  std::string note;
  Millis drafted_at = 0;
};
struct DiscardDraftArgs {
  std::string return_id;
};
struct SubmitReturnArgs {  // submits an existing draft, or creates and submits in one go
  std::string return_id;
  std::string lead_id;
  std::optional<Reason> reason;
  std::string note;
  Millis drafted_at = 0;
};
struct WithdrawReturnArgs {
  std::string return_id;
};
struct PostMessageArgs {
  std::string return_id;
  std::string message_id;
  std::string body;
};
struct AcceptReturnArgs {
  std::string return_id;
  std::optional<Money> credit_cents;  // default: the lead's full price
  std::optional<bool> charge_back;    // default: the supplier's pass_through_returns
  std::string note;
};
struct RejectReturnArgs {
  std::string return_id;
  std::string note;  // required
};
struct ReopenReturnArgs {
  std::string return_id;
  std::string note;
};
struct SetPolicyArgs {
  std::string buyer_id;
  Policy policy;
};
using OpArgs = std::variant<SaveDraftArgs, DiscardDraftArgs, SubmitReturnArgs, WithdrawReturnArgs,
                            PostMessageArgs, AcceptReturnArgs, RejectReturnArgs, ReopenReturnArgs,
                            SetPolicyArgs>;
OpKind kind_of(const OpArgs& args);

// The read-only state an op needs. The server store implements it over SQLite, the browser
// replica over its local tables, tests and the simulation over MemoryState.
class CaseView : public DeliveryHistory {
 public:
  // Pointers stay valid until the view changes; nullptr when absent.
  virtual const Lead* find_lead(const std::string& id) const = 0;
  virtual const Campaign* find_campaign(const std::string& id) const = 0;
  virtual const Buyer* find_buyer(const std::string& id) const = 0;
  virtual const Supplier* find_supplier(const std::string& id) const = 0;
  virtual const ReturnCase* find_return(const std::string& id) const = 0;
  virtual std::vector<ReturnCase> returns_for_lead(const std::string& lead_id) const = 0;
  virtual std::vector<LedgerEntry> ledger_for_return(const std::string& return_id) const = 0;
  // The buyer's counts over leads delivered on the `days` UTC days ending with now's day
  // (today included), so stores can answer from per-day aggregates.
  virtual RateCounts trailing_counts(const std::string& buyer_id, Millis now, int days) const = 0;
  // Returns auto-accepted by `rule_id` for `buyer_id` on UTC day `day`.
  virtual int auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                                   std::int64_t day) const = 0;
};

struct RoutingAlert {
  std::string buyer_id;
  std::string lead_id;
  std::string campaign_id;
  std::string return_id;
  std::string sentence;
  friend bool operator==(const RoutingAlert&, const RoutingAlert&) = default;
};

// What an allowed op changes. The store writes all of it in one transaction.
struct Effects {
  OpKind op = OpKind::save_draft;
  std::optional<ReturnCase> ret;    // the return after the op (absent for set_policy)
  bool return_deleted = false;      // discard_draft removes the draft
  std::optional<Lead> lead;         // the lead when its status changed
  std::vector<LedgerEntry> ledger;  // new entries
  std::optional<Message> message;
  std::optional<Buyer> buyer;                  // set_policy: the buyer with its new policy
  std::optional<PolicyEvaluation> evaluation;  // submit: how the policy decided
  std::optional<Evidence> evidence;            // submit: the reason's evidence
  std::optional<DecisionFacts> facts;          // submit: the facts the decision read
  std::optional<RoutingAlert> alert;           // submit of a supported out_of_service_area
};

// Decides one op. Refusals come back as typed errors and change nothing. `now` is the server
// clock on the server, the local clock in a browser preview.
Result<Effects> apply_op(const Actor& actor, const OpArgs& args, const CaseView& view, Millis now);

// A refused submit keeps the buyer's work: the draft (existing, or made from the args) with the
// refusal recorded on it. Returns nothing when there is nothing the buyer may keep (e.g. the
// return belongs to someone else or is no longer a draft).
std::optional<Effects> keep_refused_draft(const Actor& actor, const SubmitReturnArgs& args,
                                          const Error& refusal, const CaseView& view, Millis now);

// The transition table: may `role` send `op` to a return in `from`? (Ownership, money and policy
// checks come on top.) Exposed so tests and the UI can show what is possible.
bool transition_allowed(ReturnState from, OpKind op, Role role);
// The state an allowed op leads to (submit: pending; auto-accept is decided on top).
std::optional<ReturnState> transition_target(ReturnState from, OpKind op, Role role);

}  // namespace returns
