// lifecycle.cc — apply_op: the one place that decides every return transition and its effects.
// The order of checks is documented in docs/domain.md ("Refusals, checked in this order").
#include "core/lifecycle.h"

#include <algorithm>
#include <array>

#include "core/submission.h"
#include "core/validation.h"

namespace returns {
namespace {

constexpr std::array<std::pair<OpKind, std::string_view>, 9> kOps = {{
    {OpKind::save_draft, "save_draft"},
    {OpKind::discard_draft, "discard_draft"},
    {OpKind::submit_return, "submit_return"},
    {OpKind::withdraw_return, "withdraw_return"},
    {OpKind::post_message, "post_message"},
    {OpKind::accept_return, "accept_return"},
    {OpKind::reject_return, "reject_return"},
    {OpKind::reopen_return, "reopen_return"},
    {OpKind::set_policy, "set_policy"},
}};

bool role_may_send(OpKind op, Role role) {
  switch (op) {
    case OpKind::save_draft:
    case OpKind::discard_draft:
    case OpKind::submit_return:
    case OpKind::withdraw_return:
      return role == Role::buyer;
    case OpKind::post_message:
      return true;
    case OpKind::accept_return:
    case OpKind::reject_return:
    case OpKind::reopen_return:
    case OpKind::set_policy:
      return role == Role::operator_;
  }
  return false;
}

Error forbidden_role(OpKind op, Role role) {
  return make_error(ErrorCode::FORBIDDEN, "",
                    std::string(role == Role::buyer ? "Buyers" : "Operators") + " cannot " +
                        std::string(to_string(op)) + ".");
}

Error bad_transition(OpKind op, ReturnState from) {
  return make_error(ErrorCode::BAD_TRANSITION, "",
                    "Cannot " + std::string(to_string(op)) + " a return that is " +
                        std::string(to_string(from)) + ".");
}

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
}

// Text limits for notes and messages that have no minimum.
Status check_free_text(const std::string& field, const std::string& text) {
  std::size_t chars = 0;
  if (!is_clean_text(text, &chars)) {
    return make_error(ErrorCode::INVALID_TEXT, field,
                      "The text must be valid UTF-8 without control characters.");
  }
  if (chars > kMaxNoteChars) {
    return make_error(ErrorCode::TEXT_TOO_LONG, field, "At most 2000 characters are allowed.");
  }
  return Status::Ok();
}

// Looks up a return the actor may act on: RETURN_NOT_FOUND, then FORBIDDEN for another
// buyer's return, then BAD_TRANSITION when the table does not allow the op from its state.
Result<const ReturnCase*> find_actionable(const Actor& actor, OpKind op,
                                          const std::string& return_id, const CaseView& view) {
  const ReturnCase* ret = view.find_return(return_id);
  if (ret == nullptr) {
    return make_error(ErrorCode::RETURN_NOT_FOUND, "return_id", "No return with this id.");
  }
  if (actor.role == Role::buyer && ret->buyer_id != actor.buyer_id) {
    return make_error(ErrorCode::FORBIDDEN, "return_id", "This return belongs to another buyer.");
  }
  if (!transition_allowed(ret->state, op, actor.role)) return bad_transition(op, ret->state);
  return ret;
}

// Any other return of the lead that blocks this one from becoming open or accepted.
std::optional<Error> blocking_return(const ReturnCase& self, const CaseView& view) {
  for (const ReturnCase& other : view.returns_for_lead(self.lead_id)) {
    if (other.id == self.id) continue;
    if (other.state == ReturnState::accepted) {
      return make_error(ErrorCode::ALREADY_RETURNED, "",
                        "Another return of this lead was accepted.");
    }
    if (is_open(other.state)) {
      return make_error(ErrorCode::RETURN_OPEN, "", "Another return of this lead is open.");
    }
  }
  return std::nullopt;
}

// The accept itself, shared by operator accepts and policy auto-accepts.
void write_accept(Effects& fx, ReturnCase ret, const Lead& lead, const Buyer& buyer,
                  const Supplier* supplier, Money credit, std::optional<bool> charge_back,
                  std::string by, std::string note, Millis now) {
  const bool charge = charge_back.value_or(supplier != nullptr && supplier->pass_through_returns);
  const Money chargeback = charge ? chargeback_for(credit, lead.price_cents, lead.cost_cents) : 0;
  ret.accept_count += 1;
  ret.state = ReturnState::accepted;
  ret.updated_at = now;
  ret.decision = Decision{std::move(by), now, std::move(note), credit, charge, chargeback};
  fx.ledger = accept_entries(ret, lead, buyer, credit, chargeback, ret.accept_count, now);
  Lead returned = lead;
  returned.status = LeadStatus::returned;
  fx.lead = std::move(returned);
  fx.ret = std::move(ret);
}

Result<Effects> save_draft(const Actor& actor, const SaveDraftArgs& a, const CaseView& view,
                           Millis now) {
  const ReturnCase* existing = view.find_return(a.return_id);
  if (existing != nullptr) {
    if (existing->buyer_id != actor.buyer_id) {
      return make_error(ErrorCode::FORBIDDEN, "return_id", "This return belongs to another buyer.");
    }
    if (existing->lead_id != a.lead_id) {
      return make_error(ErrorCode::DUPLICATE_ID, "return_id",
                        "This return id is already used for another lead.");
    }
    if (existing->state != ReturnState::draft) {
      return bad_transition(OpKind::save_draft, existing->state);
    }
  }
  const Lead* lead = view.find_lead(a.lead_id);
  if (lead == nullptr) {
    return make_error(ErrorCode::LEAD_NOT_FOUND, "lead_id", "No lead with this id was delivered.");
  }
  if (lead->buyer_id != actor.buyer_id) {
    return make_error(ErrorCode::NOT_YOUR_LEAD, "lead_id", "This lead was sold to another buyer.");
  }
  if (Status s = check_free_text("note", a.note); !s.ok()) return s.error();
  ReturnCase ret = existing != nullptr ? *existing : ReturnCase{};
  ret.id = a.return_id;
  ret.lead_id = a.lead_id;
  ret.buyer_id = actor.buyer_id;
  ret.reason = a.reason;
  ret.note = a.note;
  ret.state = ReturnState::draft;
  if (a.drafted_at != 0 || existing == nullptr) ret.drafted_at = a.drafted_at;
  ret.updated_at = now;
  ret.refusal.reset();
  ret.refusal_message.clear();
  Effects fx;
  fx.op = OpKind::save_draft;
  fx.ret = std::move(ret);
  return fx;
}

Result<Effects> submit_return(const Actor& actor, const SubmitReturnArgs& a, const CaseView& view,
                              Millis now) {
  SubmissionCheck check =
      check_submission(actor, a.return_id, a.lead_id, a.reason, a.note, view, now);
  if (!check.issues.empty()) {
    const FieldIssue& first = check.issues.front();
    return make_error(first.code, first.field, first.message);
  }
  const Lead& lead = *check.lead;
  const Buyer& buyer = *check.buyer;
  const ReturnCase* existing = view.find_return(a.return_id);
  ReturnCase ret = existing != nullptr ? *existing : ReturnCase{};
  ret.id = a.return_id;
  ret.lead_id = a.lead_id;
  ret.buyer_id = actor.buyer_id;
  ret.reason = a.reason;
  ret.note = a.note;
  if (a.drafted_at != 0 || existing == nullptr) ret.drafted_at = a.drafted_at;
  ret.state = ReturnState::pending;
  ret.submitted_at = now;
  ret.updated_at = now;
  ret.refusal.reset();
  ret.refusal_message.clear();

  Effects fx;
  fx.op = OpKind::submit_return;
  fx.evaluation = check.evaluation;
  fx.facts = check.facts;
  if (check.campaign != nullptr) {
    fx.evidence = compute_evidence(*a.reason, lead, *check.campaign, buyer, view);
    if (fx.evidence->routing_alert) {
      fx.alert = RoutingAlert{buyer.id, lead.id, lead.campaign_id, ret.id,
                              "Lead " + lead.id + " (" + lead.state + " " + lead.zip +
                                  ") reached buyer " + buyer.id +
                                  " outside its coverage; check the routing filter of campaign " +
                                  lead.campaign_id + "."};
    }
  }
  if (check.evaluation && check.evaluation->decision == Verdict::auto_accept) {
    write_accept(fx, std::move(ret), lead, buyer, view.find_supplier(lead.supplier_id),
                 lead.price_cents, std::nullopt, "auto:" + check.evaluation->rule,
                 check.evaluation->checks.back().sentence, now);
  } else {
    fx.ret = std::move(ret);
  }
  return fx;
}

Result<Effects> simple_transition(const Actor& actor, OpKind op, const std::string& return_id,
                                  const CaseView& view, Millis now) {
  Result<const ReturnCase*> found = find_actionable(actor, op, return_id, view);
  if (!found.ok()) return found.error();
  Effects fx;
  fx.op = op;
  ReturnCase ret = **found;
  if (op == OpKind::discard_draft) {
    fx.return_deleted = true;
  } else {
    ret.state = *transition_target(ret.state, op, actor.role);
    ret.updated_at = now;
  }
  fx.ret = std::move(ret);
  return fx;
}

Result<Effects> post_message(const Actor& actor, const PostMessageArgs& a, const CaseView& view,
                             Millis now) {
  Result<const ReturnCase*> found = find_actionable(actor, OpKind::post_message, a.return_id, view);
  if (!found.ok()) return found.error();
  if (Status s = check_free_text("body", a.body); !s.ok()) return s.error();
  if (is_blank(a.body)) {
    return make_error(ErrorCode::NOTE_REQUIRED, "body", "A message cannot be empty.");
  }
  ReturnCase ret = **found;
  ret.state = *transition_target(ret.state, OpKind::post_message, actor.role);
  ret.updated_at = now;
  Effects fx;
  fx.op = OpKind::post_message;
  fx.message = Message{a.message_id, ret.id, actor.role, actor.subject, a.body, now};
  fx.ret = std::move(ret);
  return fx;
}

Result<Effects> accept_return(const Actor& actor, const AcceptReturnArgs& a, const CaseView& view,
                              Millis now) {
  Result<const ReturnCase*> found =
      find_actionable(actor, OpKind::accept_return, a.return_id, view);
  if (!found.ok()) return found.error();
  const ReturnCase& ret = **found;
  const Lead* lead = view.find_lead(ret.lead_id);
  if (lead == nullptr) return make_error(ErrorCode::LEAD_NOT_FOUND, "", "The lead is unknown.");
  const Buyer* buyer = view.find_buyer(lead->buyer_id);
  if (buyer == nullptr) return make_error(ErrorCode::BUYER_NOT_FOUND, "", "The buyer is unknown.");
  if (Status s = check_free_text("note", a.note); !s.ok()) return s.error();
  const Money credit = a.credit_cents.value_or(lead->price_cents);
  const Money min_credit = lead->price_cents > 0 ? 1 : 0;
  if (credit < min_credit || credit > lead->price_cents) {
    return make_error(ErrorCode::CREDIT_OUT_OF_RANGE, "credit_cents",
                      "Credit must be between " + std::to_string(min_credit) + " and " +
                          std::to_string(lead->price_cents) + " cents.");
  }
  if (lead->status == LeadStatus::returned) {
    return make_error(ErrorCode::ALREADY_RETURNED, "", "This lead has already been returned.");
  }
  if (auto blocked = blocking_return(ret, view)) return *blocked;
  Effects fx;
  fx.op = OpKind::accept_return;
  write_accept(fx, ret, *lead, *buyer, view.find_supplier(lead->supplier_id), credit, a.charge_back,
               actor.subject, a.note, now);
  return fx;
}

Result<Effects> reject_return(const Actor& actor, const RejectReturnArgs& a, const CaseView& view,
                              Millis now) {
  Result<const ReturnCase*> found =
      find_actionable(actor, OpKind::reject_return, a.return_id, view);
  if (!found.ok()) return found.error();
  if (Status s = check_free_text("note", a.note); !s.ok()) return s.error();
  if (is_blank(a.note)) {
    return make_error(ErrorCode::NOTE_REQUIRED, "note", "A rejection needs a note for the buyer.");
  }
  ReturnCase ret = **found;
  ret.state = ReturnState::rejected;
  ret.updated_at = now;
  ret.decision = Decision{actor.subject, now, a.note, 0, false, 0};
  Effects fx;
  fx.op = OpKind::reject_return;
  fx.ret = std::move(ret);
  return fx;
}

Result<Effects> reopen_return(const Actor& actor, const ReopenReturnArgs& a, const CaseView& view,
                              Millis now) {
  Result<const ReturnCase*> found =
      find_actionable(actor, OpKind::reopen_return, a.return_id, view);
  if (!found.ok()) return found.error();
  if (Status s = check_free_text("note", a.note); !s.ok()) return s.error();
  ReturnCase ret = **found;
  const Lead* lead = view.find_lead(ret.lead_id);
  if (lead == nullptr) return make_error(ErrorCode::LEAD_NOT_FOUND, "", "The lead is unknown.");
  if (auto blocked = blocking_return(ret, view)) return *blocked;
  Effects fx;
  fx.op = OpKind::reopen_return;
  if (ret.state == ReturnState::accepted) {
    const std::vector<LedgerEntry> entries = view.ledger_for_return(ret.id);
    fx.ledger = reversal_entries(entries, now);
    Lead restored = *lead;
    restored.status = LeadStatus::accepted;
    fx.lead = std::move(restored);
  } else if (lead->status == LeadStatus::returned) {
    return make_error(ErrorCode::ALREADY_RETURNED, "", "This lead has already been returned.");
  }
  ret.state = ReturnState::pending;
  ret.updated_at = now;
  ret.decision.reset();
  fx.ret = std::move(ret);
  return fx;
}

Result<Effects> set_policy(const SetPolicyArgs& a, const CaseView& view) {
  const Buyer* buyer = view.find_buyer(a.buyer_id);
  if (buyer == nullptr) {
    return make_error(ErrorCode::BUYER_NOT_FOUND, "buyer_id", "No buyer with this id.");
  }
  if (Status s = validate_policy(a.policy); !s.ok()) {
    Error e = s.error();
    e.field = "policy." + e.field;
    return e;
  }
  Buyer updated = *buyer;
  updated.policy = a.policy;
  Effects fx;
  fx.op = OpKind::set_policy;
  fx.buyer = std::move(updated);
  return fx;
}

}  // namespace

std::string_view to_string(OpKind op) {
  for (const auto& [k, n] : kOps) {
    if (k == op) return n;
  }
  return "";
}

std::optional<OpKind> op_kind_from_string(std::string_view s) {
  for (const auto& [k, n] : kOps) {
    if (n == s) return k;
  }
  return std::nullopt;
}

const std::vector<OpKind>& all_op_kinds() {
  static const std::vector<OpKind> kAll = [] {
    std::vector<OpKind> v;
    for (const auto& [k, n] : kOps) v.push_back(k);
    return v;
  }();
  return kAll;
}

OpKind kind_of(const OpArgs& args) {
  return std::visit(
      [](const auto& a) -> OpKind {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, SaveDraftArgs>) return OpKind::save_draft;
        if constexpr (std::is_same_v<T, DiscardDraftArgs>) return OpKind::discard_draft;
        if constexpr (std::is_same_v<T, SubmitReturnArgs>) return OpKind::submit_return;
        if constexpr (std::is_same_v<T, WithdrawReturnArgs>) return OpKind::withdraw_return;
        if constexpr (std::is_same_v<T, PostMessageArgs>) return OpKind::post_message;
        if constexpr (std::is_same_v<T, AcceptReturnArgs>) return OpKind::accept_return;
        if constexpr (std::is_same_v<T, RejectReturnArgs>) return OpKind::reject_return;
        if constexpr (std::is_same_v<T, ReopenReturnArgs>) return OpKind::reopen_return;
        return OpKind::set_policy;
      },
      args);
}

std::optional<ReturnState> transition_target(ReturnState from, OpKind op, Role role) {
  if (!role_may_send(op, role)) return std::nullopt;
  using S = ReturnState;
  switch (op) {
    case OpKind::save_draft:
    case OpKind::discard_draft:
      if (from == S::draft) return S::draft;
      return std::nullopt;
    case OpKind::submit_return:
      if (from == S::draft) return S::pending;
      return std::nullopt;
    case OpKind::withdraw_return:
      if (is_open(from)) return S::withdrawn;
      return std::nullopt;
    case OpKind::post_message:
      if (from == S::pending) return role == Role::operator_ ? S::discussion : S::pending;
      if (from == S::discussion || from == S::accepted || from == S::rejected) return from;
      return std::nullopt;
    case OpKind::accept_return:
      if (is_open(from)) return S::accepted;
      return std::nullopt;
    case OpKind::reject_return:
      if (is_open(from)) return S::rejected;
      return std::nullopt;
    case OpKind::reopen_return:
      if (from == S::accepted || from == S::rejected) return S::pending;
      return std::nullopt;
    case OpKind::set_policy:
      return std::nullopt;
  }
  return std::nullopt;
}

bool transition_allowed(ReturnState from, OpKind op, Role role) {
  return transition_target(from, op, role).has_value();
}

Result<Effects> apply_op(const Actor& actor, const OpArgs& args, const CaseView& view, Millis now) {
  const OpKind op = kind_of(args);
  if (!role_may_send(op, actor.role)) return forbidden_role(op, actor.role);
  if (actor.role == Role::buyer && !is_valid_id(actor.buyer_id)) {
    return make_error(ErrorCode::FORBIDDEN, "", "A buyer actor needs a buyer id.");
  }
  return std::visit(
      [&](const auto& a) -> Result<Effects> {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, SaveDraftArgs>) return save_draft(actor, a, view, now);
        if constexpr (std::is_same_v<T, DiscardDraftArgs>) {
          return simple_transition(actor, op, a.return_id, view, now);
        }
        if constexpr (std::is_same_v<T, SubmitReturnArgs>)
          return submit_return(actor, a, view, now);
        if constexpr (std::is_same_v<T, WithdrawReturnArgs>) {
          return simple_transition(actor, op, a.return_id, view, now);
        }
        if constexpr (std::is_same_v<T, PostMessageArgs>) return post_message(actor, a, view, now);
        if constexpr (std::is_same_v<T, AcceptReturnArgs>)
          return accept_return(actor, a, view, now);
        if constexpr (std::is_same_v<T, RejectReturnArgs>)
          return reject_return(actor, a, view, now);
        if constexpr (std::is_same_v<T, ReopenReturnArgs>)
          return reopen_return(actor, a, view, now);
        if constexpr (std::is_same_v<T, SetPolicyArgs>) return set_policy(a, view);
      },
      args);
}

std::optional<Effects> keep_refused_draft(const Actor& actor, const SubmitReturnArgs& args,
                                          const Error& refusal, const CaseView& view, Millis now) {
  if (actor.role != Role::buyer) return std::nullopt;
  SaveDraftArgs draft{args.return_id, args.lead_id, args.reason, args.note, args.drafted_at};
  Result<Effects> saved = save_draft(actor, draft, view, now);
  if (!saved.ok()) return std::nullopt;
  Effects fx = std::move(saved).value();
  fx.op = OpKind::submit_return;
  fx.ret->refusal = refusal.code;
  fx.ret->refusal_message = refusal.message;
  return fx;
}

}  // namespace returns
