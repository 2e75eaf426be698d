// codec.cc — JSON in and out for every core type. Decoding is strict and never throws: each
// reader checks the JSON type before touching a value and names the field on refusal.
#include "core/codec.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/json_reader.h"

namespace returns {
namespace {

bool is_state_code(const std::string& s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

bool is_digits(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "" or 5 digits, optionally "-" and 4 more.
bool is_zip(const std::string& s) {
  if (s.empty()) return true;
  if (s.size() == 5) return is_digits(s);
  return s.size() == 10 && s[5] == '-' && is_digits(s.substr(0, 5)) && is_digits(s.substr(6));
}

void read_string_list(ObjectReader& r, std::string_view key, std::vector<std::string>& out,
                      bool (*valid)(const std::string&), ErrorCode code, std::size_t max_items) {
  const Json* v = r.field(key, false);
  if (v == nullptr) return;
  if (!v->is_array()) return r.wrong_type(key, "an array", *v);
  if (v->size() > max_items) {
    return r.fail(
        ErrorCode::TEXT_TOO_LONG, join(r.path(), key),
        "Field " + join(r.path(), key) + " holds at most " + std::to_string(max_items) + " items.");
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const Json& item = (*v)[i];
    const std::string at = join(r.path(), key) + "[" + std::to_string(i) + "]";
    if (!item.is_string()) {
      return r.fail(ErrorCode::BAD_TYPE, at, "Field " + at + " must be a string.");
    }
    const auto& s = item.get_ref<const std::string&>();
    if (!valid(s))
      return r.fail(code, at, "Field " + at + " is not valid: " + s.substr(0, 16) + ".");
    out.push_back(s);
  }
}

bool is_zip_prefix(const std::string& s) { return !s.empty() && s.size() <= 5 && is_digits(s); }

Result<Coverage> decode_coverage(const Json& j, const std::string& path) {
  ObjectReader r(j, path);
  Coverage c;
  read_string_list(r, "states", c.states, is_state_code, ErrorCode::INVALID_ENUM, 60);
  read_string_list(r, "zip_prefixes", c.zip_prefixes, is_zip_prefix, ErrorCode::INVALID_ENUM,
                   10'000);
  return finish(r, std::move(c));
}

Result<PolicyRule> decode_rule(const Json& j, const std::string& path) {
  ObjectReader r(j, path);
  PolicyRule rule;
  r.string("id", rule.id, true);  // validity is validate_policy's job (INVALID_POLICY)
  std::int64_t v = 0;
  if (r.integer("max_age_hours", v, false, 0, kMaxPolicyHours * 100, ErrorCode::INVALID_POLICY)) {
    rule.max_age_hours = static_cast<int>(v);
  }
  if (const Json* reasons = r.field("reasons", false)) {
    if (!reasons->is_array()) {
      r.wrong_type("reasons", "an array of reason codes", *reasons);
    } else {
      for (std::size_t i = 0; i < reasons->size() && r.ok(); ++i) {
        const Json& item = (*reasons)[i];
        const std::string at = join(path, "reasons") + "[" + std::to_string(i) + "]";
        if (!item.is_string()) {
          r.fail(ErrorCode::BAD_TYPE, at, "Field " + at + " must be a reason code.");
        } else if (auto reason = reason_from_string(item.get_ref<const std::string&>())) {
          rule.reasons.push_back(*reason);
        } else {
          r.fail(ErrorCode::INVALID_REASON, at, "Field " + at + " is not a reason code.");
        }
      }
    }
  }
  r.optional_money("max_price_cents", rule.max_price_cents);
  r.rate("max_return_rate", rule.max_return_rate);
  if (r.integer("max_auto_per_day", v, false, 0, 1'000'000'000, ErrorCode::INVALID_POLICY)) {
    rule.max_auto_per_day = static_cast<int>(v);
  }
  return finish(r, std::move(rule));
}

Result<Decision> decode_decision(const Json& j, const std::string& path) {
  ObjectReader r(j, path);
  Decision d;
  r.text("by", d.by, true, kMaxNameChars);
  r.time("at", d.at, true);
  r.text("note", d.note, false, kMaxNoteChars);
  r.money("credit_cents", d.credit_cents, false);
  r.boolean("charged_back", d.charged_back, false);
  r.money("chargeback_cents", d.chargeback_cents, false);
  return finish(r, std::move(d));
}

Result<Policy> decode_policy_at(const Json& j, const std::string& path) {
  ObjectReader r(j, path);
  Policy p;
  p.rules.clear();
  r.enumeration(
      "mode", p.mode, true, [](std::string_view v) { return policy_mode_from_string(v); },
      ErrorCode::INVALID_ENUM);
  std::int64_t v = 0;
  if (r.integer("window_hours", v, true, 0, kMaxPolicyHours * 100, ErrorCode::INVALID_POLICY)) {
    p.window_hours = static_cast<int>(v);
  }
  if (r.integer("min_age_hours", v, false, 0, kMaxPolicyHours * 100, ErrorCode::INVALID_POLICY)) {
    p.min_age_hours = static_cast<int>(v);
  }
  r.rate("cap_rate", p.cap_rate);
  if (const Json* rules = r.field("rules", false)) {
    if (!rules->is_array()) {
      r.wrong_type("rules", "an array", *rules);
    } else if (rules->size() > kMaxPolicyRules) {
      r.fail(ErrorCode::INVALID_POLICY, join(path, "rules"), "A policy holds at most 32 rules.");
    } else {
      for (std::size_t i = 0; i < rules->size() && r.ok(); ++i) {
        Result<PolicyRule> rule =
            decode_rule((*rules)[i], join(path, "rules") + "[" + std::to_string(i) + "]");
        if (!rule.ok()) {
          r.adopt(rule.error());
        } else {
          p.rules.push_back(std::move(rule).value());
        }
      }
    }
  }
  if (Status s = r.finish(); !s.ok()) return s.error();
  if (Status s = validate_policy(p); !s.ok()) {
    Error e = s.error();
    e.field = join(path, e.field);
    return e;
  }
  return p;
}

Result<RateCounts> decode_counts(const Json& j, const std::string& path) {
  ObjectReader r(j, path);
  RateCounts c;
  r.count("returned", c.returned, true);
  r.count("accepted", c.accepted, true);
  return finish(r, c);
}

}  // namespace

Result<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return make_error(ErrorCode::BAD_JSON, "", "The text is not valid JSON.");
  return j;
}

Result<Buyer> decode_buyer(const Json& j) {
  ObjectReader r(j, "");
  Buyer b;
  r.id("id", b.id, true);
  r.text("name", b.name, true, kMaxNameChars);
  r.enumeration(
      "billing", b.billing, true, [](std::string_view v) { return billing_from_string(v); },
      ErrorCode::INVALID_ENUM);
  if (const Json* c = r.field("coverage", false)) {
    Result<Coverage> cov = decode_coverage(*c, "coverage");
    if (cov.ok()) {
      b.coverage = std::move(cov).value();
    } else {
      r.adopt(cov.error());
    }
  }
  if (const Json* p = r.field("policy", false)) {
    Result<Policy> pol = decode_policy_at(*p, "policy");
    if (pol.ok()) {
      b.policy = std::move(pol).value();
    } else {
      r.adopt(pol.error());
    }
  }
  return finish(r, std::move(b));
}

Result<Supplier> decode_supplier(const Json& j) {
  ObjectReader r(j, "");
  Supplier s;
  r.id("id", s.id, true);
  r.text("name", s.name, true, kMaxNameChars);
  r.boolean("pass_through_returns", s.pass_through_returns, false);
  return finish(r, std::move(s));
}

Result<Campaign> decode_campaign(const Json& j) {
  ObjectReader r(j, "");
  Campaign c;
  r.id("id", c.id, true);
  r.id("buyer_id", c.buyer_id, true);
  r.id("vertical", c.vertical, true);
  r.money("price_cents", c.price_cents, true);
  return finish(r, std::move(c));
}

Result<Lead> decode_lead(const Json& j) {
  ObjectReader r(j, "");
  Lead l;
  r.id("id", l.id, true);
  r.id("buyer_id", l.buyer_id, true);
  r.id("supplier_id", l.supplier_id, false);
  r.id("campaign_id", l.campaign_id, true);
  r.id("vertical", l.vertical, true);
  if (r.string("state", l.state, true) && !is_state_code(l.state)) {
    r.fail(ErrorCode::INVALID_ENUM, "state", "Field state must be a two-letter US state code.");
  }
  if (r.string("zip", l.zip, false) && !is_zip(l.zip)) {
    r.fail(ErrorCode::INVALID_ENUM, "zip", "Field zip must be 5 digits or ZIP+4.");
  }
  r.id("contact_hash", l.contact_hash, true);
  r.boolean("tcpa_flag", l.tcpa_flag, false);
  r.money("price_cents", l.price_cents, true);
  r.money("cost_cents", l.cost_cents, false);
  r.time("delivered_at", l.delivered_at, true);
  r.enumeration(
      "status", l.status, false, [](std::string_view v) { return lead_status_from_string(v); },
      ErrorCode::INVALID_ENUM);
  r.boolean("earlier_delivery", l.earlier_delivery, false);
  r.time("changed_at", l.changed_at, false);
  return finish(r, std::move(l));
}

Result<ReturnCase> decode_return(const Json& j) {
  ObjectReader r(j, "");
  ReturnCase c;
  r.id("id", c.id, true);
  r.id("lead_id", c.lead_id, true);
  r.id("buyer_id", c.buyer_id, true);
  r.reason("reason", c.reason, false);
  r.text("note", c.note, false, kMaxNoteChars);
  r.enumeration(
      "state", c.state, true, [](std::string_view v) { return return_state_from_string(v); },
      ErrorCode::INVALID_ENUM);
  r.time("drafted_at", c.drafted_at, false);
  r.time("submitted_at", c.submitted_at, false);
  r.time("updated_at", c.updated_at, false);
  if (const Json* d = r.field("decision", false)) {
    Result<Decision> dec = decode_decision(*d, "decision");
    if (dec.ok()) {
      c.decision = std::move(dec).value();
    } else {
      r.adopt(dec.error());
    }
  }
  ErrorCode refusal{};
  if (r.enumeration(
          "refusal", refusal, false, [](std::string_view v) { return error_code_from_string(v); },
          ErrorCode::INVALID_ENUM)) {
    c.refusal = refusal;
  }
  r.text("refusal_message", c.refusal_message, false, kMaxNoteChars);
  std::int64_t n = 0;
  if (r.integer("accept_count", n, false, 0, 1'000'000, ErrorCode::INVALID_AMOUNT)) {
    c.accept_count = static_cast<int>(n);
  }
  return finish(r, std::move(c));
}

Result<Message> decode_message(const Json& j) {
  ObjectReader r(j, "");
  Message m;
  r.id("id", m.id, true);
  r.id("return_id", m.return_id, true);
  r.enumeration(
      "author_role", m.author_role, true, [](std::string_view v) { return role_from_string(v); },
      ErrorCode::INVALID_ENUM);
  r.text("author", m.author, true, kMaxNameChars);
  r.text("body", m.body, true, kMaxNoteChars);
  r.time("at", m.at, true);
  return finish(r, std::move(m));
}

Result<LedgerEntry> decode_ledger_entry(const Json& j) {
  ObjectReader r(j, "");
  LedgerEntry e;
  r.text("id", e.id, true, 256);
  r.enumeration(
      "kind", e.kind, true, [](std::string_view v) { return entry_kind_from_string(v); },
      ErrorCode::INVALID_ENUM);
  r.id("return_id", e.return_id, true);
  r.id("lead_id", e.lead_id, true);
  r.id("buyer_id", e.buyer_id, true);
  r.id("supplier_id", e.supplier_id, false);
  r.integer("amount_cents", e.amount_cents, true, -kMaxMoney, kMaxMoney, ErrorCode::INVALID_AMOUNT);
  r.time("at", e.at, true);
  r.text("reverses", e.reverses, false, 256);
  return finish(r, std::move(e));
}

Result<Policy> decode_policy(const Json& j) { return decode_policy_at(j, ""); }

Result<Actor> decode_actor(const Json& j) {
  ObjectReader r(j, "");
  Actor a;
  r.enumeration(
      "role", a.role, true, [](std::string_view v) { return role_from_string(v); },
      ErrorCode::INVALID_ENUM);
  r.text("subject", a.subject, false, kMaxNameChars);
  r.id("buyer_id", a.buyer_id, a.role == Role::buyer && r.ok());
  return finish(r, std::move(a));
}

Result<DraftInput> decode_draft(const Json& j) {
  ObjectReader r(j, "");
  DraftInput d;
  r.id("return_id", d.return_id, true);
  r.id("lead_id", d.lead_id, true);
  r.reason("reason", d.reason, false);
  r.string("note", d.note, false);  // content limits are validation's (field errors)
  return finish(r, std::move(d));
}

Result<HistoricalReturn> decode_historical_return(const Json& j) {
  ObjectReader r(j, "");
  HistoricalReturn h;
  r.id("return_id", h.return_id, true);
  r.time("delivered_at", h.delivered_at, true);
  r.time("submitted_at", h.submitted_at, true);
  std::optional<Reason> reason;
  r.reason("reason", reason, true);
  if (reason) h.reason = *reason;
  r.money("price_cents", h.price_cents, true);
  if (const Json* c = r.field("trailing_30d", false)) {
    Result<RateCounts> counts = decode_counts(*c, "trailing_30d");
    if (counts.ok()) {
      h.trailing_30d = *counts;
    } else {
      r.adopt(counts.error());
    }
  }
  r.enumeration(
      "actual", h.actual, true, [](std::string_view v) { return verdict_from_string(v); },
      ErrorCode::INVALID_ENUM);
  r.money("credit_cents", h.credit_cents, false);
  return finish(r, std::move(h));
}

Result<OpArgs> decode_op_args(std::string_view op, const Json& args) {
  const std::optional<OpKind> kind = op_kind_from_string(op);
  if (!kind) {
    return make_error(ErrorCode::UNKNOWN_OP, "op",
                      "Unknown op: " + std::string(op.substr(0, 64)) + ".");
  }
  ObjectReader r(args, "args");
  switch (*kind) {
    case OpKind::save_draft: {
      SaveDraftArgs a;
      r.id("return_id", a.return_id, true);
      r.id("lead_id", a.lead_id, true);
      r.reason("reason", a.reason, false);
      r.text("note", a.note, false, kMaxNoteChars);
      r.time("drafted_at", a.drafted_at, false);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::discard_draft: {
      DiscardDraftArgs a;
      r.id("return_id", a.return_id, true);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::submit_return: {
      SubmitReturnArgs a;
      r.id("return_id", a.return_id, true);
      r.id("lead_id", a.lead_id, true);
      r.reason("reason", a.reason, false);
      r.text("note", a.note, false, kMaxNoteChars);
      r.time("drafted_at", a.drafted_at, false);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::withdraw_return: {
      WithdrawReturnArgs a;
      r.id("return_id", a.return_id, true);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::post_message: {
      PostMessageArgs a;
      r.id("return_id", a.return_id, true);
      r.id("message_id", a.message_id, true);
      r.text("body", a.body, true, kMaxNoteChars);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::accept_return: {
      AcceptReturnArgs a;
      r.id("return_id", a.return_id, true);
      r.optional_money("credit_cents", a.credit_cents);
      r.optional_boolean("charge_back", a.charge_back);
      r.text("note", a.note, false, kMaxNoteChars);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::reject_return: {
      RejectReturnArgs a;
      r.id("return_id", a.return_id, true);
      r.text("note", a.note, true, kMaxNoteChars);  // blank is refused at apply (NOTE_REQUIRED)
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::reopen_return: {
      ReopenReturnArgs a;
      r.id("return_id", a.return_id, true);
      r.text("note", a.note, false, kMaxNoteChars);
      return finish<OpArgs>(r, std::move(a));
    }
    case OpKind::set_policy: {
      SetPolicyArgs a;
      r.id("buyer_id", a.buyer_id, true);
      if (const Json* p = r.field("policy", true)) {
        Result<Policy> pol = decode_policy_at(*p, "args.policy");
        if (pol.ok()) {
          a.policy = std::move(pol).value();
        } else {
          r.adopt(pol.error());
        }
      }
      return finish<OpArgs>(r, std::move(a));
    }
  }
  return make_error(ErrorCode::UNKNOWN_OP, "op", "Unknown op.");
}

// --- Encoders ----------------------------------------------------------------------------------

Json to_json(const Coverage& v) {
  return Json{{"states", v.states}, {"zip_prefixes", v.zip_prefixes}};
}

Json to_json(const PolicyRule& v) {
  Json j{{"id", v.id}};
  if (v.max_age_hours) j["max_age_hours"] = *v.max_age_hours;
  if (!v.reasons.empty()) {
    Json reasons = Json::array();
    for (Reason r : v.reasons) reasons.push_back(to_string(r));
    j["reasons"] = std::move(reasons);
  }
  if (v.max_price_cents) j["max_price_cents"] = *v.max_price_cents;
  if (v.max_return_rate) j["max_return_rate"] = *v.max_return_rate / double{kBasisPointsWhole};
  if (v.max_auto_per_day) j["max_auto_per_day"] = *v.max_auto_per_day;
  return j;
}

Json to_json(const Policy& v) {
  Json rules = Json::array();
  for (const PolicyRule& r : v.rules) rules.push_back(to_json(r));
  Json j{{"mode", to_string(v.mode)},
         {"window_hours", v.window_hours},
         {"min_age_hours", v.min_age_hours},
         {"rules", std::move(rules)}};
  if (v.cap_rate) j["cap_rate"] = *v.cap_rate / double{kBasisPointsWhole};
  return j;
}

Json to_json(const Buyer& v) {
  return Json{{"id", v.id},
              {"name", v.name},
              {"billing", to_string(v.billing)},
              {"coverage", to_json(v.coverage)},
              {"policy", to_json(v.policy)}};
}

Json to_json(const Supplier& v) {
  return Json{{"id", v.id}, {"name", v.name}, {"pass_through_returns", v.pass_through_returns}};
}

Json to_json(const Campaign& v) {
  return Json{{"id", v.id},
              {"buyer_id", v.buyer_id},
              {"vertical", v.vertical},
              {"price_cents", v.price_cents}};
}

Json to_json(const Lead& v) {
  Json j{{"id", v.id},
         {"buyer_id", v.buyer_id},
         {"campaign_id", v.campaign_id},
         {"vertical", v.vertical},
         {"state", v.state},
         {"zip", v.zip},
         {"contact_hash", v.contact_hash},
         {"tcpa_flag", v.tcpa_flag},
         {"price_cents", v.price_cents},
         {"delivered_at", v.delivered_at},
         {"status", to_string(v.status)}};
  // Supplier identity and cost are operator-only; the sync layer drops them for buyers. An
  // empty supplier id (a buyer's replica never has one) is omitted, like every unset value.
  if (!v.supplier_id.empty()) j["supplier_id"] = v.supplier_id;
  j["cost_cents"] = v.cost_cents;
  if (v.earlier_delivery) j["earlier_delivery"] = true;
  if (v.changed_at != 0) j["changed_at"] = v.changed_at;
  return j;
}

Json to_json(const Decision& v) {
  return Json{{"by", v.by},
              {"at", v.at},
              {"note", v.note},
              {"credit_cents", v.credit_cents},
              {"charged_back", v.charged_back},
              {"chargeback_cents", v.chargeback_cents}};
}

Json to_json(const ReturnCase& v) {
  Json j{{"id", v.id},
         {"lead_id", v.lead_id},
         {"buyer_id", v.buyer_id},
         {"note", v.note},
         {"state", to_string(v.state)},
         {"drafted_at", v.drafted_at},
         {"submitted_at", v.submitted_at},
         {"updated_at", v.updated_at},
         {"accept_count", v.accept_count}};
  if (v.reason) j["reason"] = to_string(*v.reason);
  if (v.decision) j["decision"] = to_json(*v.decision);
  if (v.refusal) {
    j["refusal"] = to_string(*v.refusal);
    j["refusal_message"] = v.refusal_message;
  }
  return j;
}

Json to_json(const Message& v) {
  return Json{
      {"id", v.id},         {"return_id", v.return_id}, {"author_role", to_string(v.author_role)},
      {"author", v.author}, {"body", v.body},           {"at", v.at}};
}

Json to_json(const LedgerEntry& v) {
  Json j{{"id", v.id},
         {"kind", to_string(v.kind)},
         {"return_id", v.return_id},
         {"lead_id", v.lead_id},
         {"buyer_id", v.buyer_id},
         {"amount_cents", v.amount_cents},
         {"at", v.at}};
  if (!v.supplier_id.empty()) j["supplier_id"] = v.supplier_id;
  if (!v.reverses.empty()) j["reverses"] = v.reverses;
  return j;
}

Json to_json(const PolicyEvaluation& v) {
  Json checks = Json::array();
  Json explanation = Json::array();
  for (const PolicyCheck& c : v.checks) {
    checks.push_back(Json{{"check", c.check}, {"passed", c.passed}, {"sentence", c.sentence}});
    explanation.push_back(c.sentence);
  }
  Json j{{"decision", to_string(v.decision)},
         {"rule", v.rule},
         {"deadline", v.deadline},
         {"checks", std::move(checks)},
         {"explanation", std::move(explanation)}};
  if (v.refusal) j["refusal"] = to_string(*v.refusal);
  return j;
}

Json to_json(const Evidence& v) {
  return Json{{"reason", to_string(v.reason)},
              {"verdict", to_string(v.verdict)},
              {"code", v.code},
              {"sentence", v.sentence},
              {"routing_alert", v.routing_alert}};
}

Json to_json(const RoutingAlert& v) {
  return Json{{"kind", "routing_filter"},     {"buyer_id", v.buyer_id},   {"lead_id", v.lead_id},
              {"campaign_id", v.campaign_id}, {"return_id", v.return_id}, {"sentence", v.sentence}};
}

Json to_json(const Effects& v) {
  Json ledger = Json::array();
  for (const LedgerEntry& e : v.ledger) ledger.push_back(to_json(e));
  Json j{
      {"op", to_string(v.op)}, {"return_deleted", v.return_deleted}, {"ledger", std::move(ledger)}};
  if (v.ret) j["return"] = to_json(*v.ret);
  if (v.lead) j["lead"] = to_json(*v.lead);
  if (v.message) j["message"] = to_json(*v.message);
  if (v.buyer) j["buyer"] = to_json(*v.buyer);
  if (v.evaluation) j["evaluation"] = to_json(*v.evaluation);
  if (v.evidence) j["evidence"] = to_json(*v.evidence);
  if (v.alert) j["alert"] = to_json(*v.alert);
  return j;
}

Json to_json(const Error& v) {
  return Json{{"code", to_string(v.code)}, {"field", v.field}, {"message", v.message}};
}

Json to_json(const Validation& v) {
  Json errors = Json::array();
  for (const FieldIssue& e : v.errors) {
    errors.push_back(Json{{"field", e.field}, {"code", to_string(e.code)}, {"message", e.message}});
  }
  Json warnings = Json::array();
  for (const Warning& w : v.warnings) {
    warnings.push_back(Json{{"code", w.code}, {"message", w.message}});
  }
  return Json{{"ok", v.ok}, {"errors", std::move(errors)}, {"warnings", std::move(warnings)}};
}

Json to_json(const Preview& v) {
  Json j{{"validation", to_json(v.validation)}};
  if (v.evidence) j["evidence"] = to_json(*v.evidence);
  if (v.evaluation) j["evaluation"] = to_json(*v.evaluation);
  return j;
}

Json to_json(const ReturnReview& v) {
  Json j{{"return_id", v.return_id},
         {"evaluated_at", v.evaluated_at},
         {"at_submission", v.at_submission}};
  if (v.evidence) j["evidence"] = to_json(*v.evidence);
  j["evaluation"] = to_json(v.evaluation);
  return j;
}

Json to_json(const WhatIfReport& v) {
  Json items = Json::array();
  for (const WhatIfItem& i : v.items) {
    items.push_back(Json{{"return_id", i.return_id},
                         {"before", to_string(i.before)},
                         {"after", to_string(i.after)},
                         {"rule", i.rule}});
  }
  const WhatIfSummary& s = v.summary;
  return Json{{"items", std::move(items)},
              {"summary",
               {{"total", s.total},
                {"auto_accept", s.auto_accept},
                {"manual_review", s.manual_review},
                {"refused", s.refused},
                {"changed", s.changed},
                {"auto_accept_cents", s.auto_accept_cents}}}};
}

Json to_json(const Actor& v) {
  Json j{{"role", to_string(v.role)}, {"subject", v.subject}};
  if (!v.buyer_id.empty()) j["buyer_id"] = v.buyer_id;
  return j;
}

Json to_json(const OpArgs& args) {
  Json a = std::visit(
      [](const auto& x) -> Json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, SaveDraftArgs> || std::is_same_v<T, SubmitReturnArgs>) {
          Json j{{"return_id", x.return_id},
                 {"lead_id", x.lead_id},
                 {"note", x.note},
                 {"drafted_at", x.drafted_at}};
          if (x.reason) j["reason"] = to_string(*x.reason);
          return j;
        } else if constexpr (std::is_same_v<T, DiscardDraftArgs> ||
                             std::is_same_v<T, WithdrawReturnArgs>) {
          return Json{{"return_id", x.return_id}};
        } else if constexpr (std::is_same_v<T, PostMessageArgs>) {
          return Json{{"return_id", x.return_id}, {"message_id", x.message_id}, {"body", x.body}};
        } else if constexpr (std::is_same_v<T, AcceptReturnArgs>) {
          Json j{{"return_id", x.return_id}, {"note", x.note}};
          if (x.credit_cents) j["credit_cents"] = *x.credit_cents;
          if (x.charge_back) j["charge_back"] = *x.charge_back;
          return j;
        } else if constexpr (std::is_same_v<T, RejectReturnArgs> ||
                             std::is_same_v<T, ReopenReturnArgs>) {
          return Json{{"return_id", x.return_id}, {"note", x.note}};
        } else {
          return Json{{"buyer_id", x.buyer_id}, {"policy", to_json(x.policy)}};
        }
      },
      args);
  return Json{{"op", to_string(kind_of(args))}, {"args", std::move(a)}};
}

}  // namespace returns
