// codec_test.cc — the JSON codecs (docs/domain.md "JSON shapes", "Units and identifiers"):
// strict decoding with typed errors that name the field, canonical encoding, round trips for
// every type, rates as fractions, enum and error-code names, and a sweep that puts garbage of
// every JSON type at every field to prove that decoding never throws.
#include "core/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/memory_state.h"

namespace returns {
namespace {

using Decode = std::function<Status(const Json&)>;

template <class F>
Decode wrap(F f) {
  return [f](const Json& j) -> Status {
    auto r = f(j);
    if (r.ok()) return Status::Ok();
    return r.error();
  };
}

Decode op_decoder(std::string op) {
  return [op](const Json& j) -> Status {
    auto r = decode_op_args(op, j);
    if (r.ok()) return Status::Ok();
    return r.error();
  };
}

Json parse(const char* text) {
  auto r = parse_json(text);
  EXPECT_TRUE(r.ok()) << "test JSON does not parse: " << text;
  return r.ok() ? r.value() : Json();
}

// Valid samples for each decoder: every field set, so mutations start from a complete object.
Json policy_json() {
  return parse(R"({"mode":"rules","window_hours":168,"min_age_hours":1,"cap_rate":0.25,
    "rules":[{"id":"within_24h","max_age_hours":24,"reasons":["bad_contact","duplicate"],
              "max_price_cents":5000,"max_return_rate":0.15,"max_auto_per_day":20},
             {"id":"fallback"}]})");
}
// Same policy without min_age or rules: changing the window then breaks only the window.
Json policy0_json() {
  Json j = policy_json();
  j["min_age_hours"] = 0;
  j.erase("rules");
  return j;
}
Json buyer_json() {
  Json j = parse(R"({"id":"b1","name":"Acme Legal","billing":"prepaid",
    "coverage":{"states":["CA","NV"],"zip_prefixes":["900","91"]}})");
  j["policy"] = policy_json();
  return j;
}
Json supplier_json() {
  return parse(R"({"id":"s1","name":"North Leads","pass_through_returns":true})");
}
Json campaign_json() {
  return parse(R"({"id":"c1","buyer_id":"b1","vertical":"mva","price_cents":5000})");
}
Json lead_json() {
  return parse(R"({"id":"l1","buyer_id":"b1","supplier_id":"s1","campaign_id":"c1",
    "vertical":"mva","state":"CA","zip":"90012","contact_hash":"h-abc","tcpa_flag":false,
    "price_cents":5000,"cost_cents":2000,"delivered_at":1700000000000,"status":"ACCEPTED"})");
}
Json return_json() {
  return parse(R"({"id":"r1","lead_id":"l1","buyer_id":"b1","state":"accepted",
    "reason":"bad_contact","note":"Number disconnected","drafted_at":1700000100000,
    "submitted_at":1700000200000,"updated_at":1700000300000,
    "decision":{"by":"auto:within_24h","at":1700000200000,"note":"ok","credit_cents":5000,
                "charged_back":true,"chargeback_cents":2000},
    "accept_count":1})");
}
Json refused_draft_json() {
  return parse(R"({"id":"r2","lead_id":"l1","buyer_id":"b1","state":"draft","reason":"other",
    "note":"Written offline, too late","drafted_at":1700000100000,"updated_at":1700000300000,
    "refusal":"WINDOW_CLOSED","refusal_message":"The return window closed."})");
}
Json message_json() {
  return parse(R"({"id":"m1","return_id":"r1","author_role":"operator","author":"ops-anna",
    "body":"Could you add the call log?","at":1700000400000})");
}
Json ledger_json() {
  return parse(R"({"id":"r1#1/supplier_chargeback","kind":"supplier_chargeback",
    "return_id":"r1","lead_id":"l1","buyer_id":"b1","supplier_id":"s1","amount_cents":-2000,
    "at":1700000200000})");
}
Json reversal_json() {
  return parse(R"({"id":"r1#1/wallet_credit/reversal","kind":"wallet_credit","return_id":"r1",
    "lead_id":"l1","buyer_id":"b1","supplier_id":"s1","amount_cents":-5000,
    "at":1700000900000,"reverses":"r1#1/wallet_credit"})");
}
Json buyer_actor_json() { return parse(R"({"role":"buyer","subject":"alice","buyer_id":"b1"})"); }
Json operator_actor_json() { return parse(R"({"role":"operator","subject":"ops-anna"})"); }
Json draft_json() {
  return parse(R"({"return_id":"r1","lead_id":"l1","reason":"other",
    "note":"The number belongs to a pizzeria."})");
}
// The historical-return shape is not in the docs table; field names follow the C++ members.
Json historical_json() {
  return parse(R"({"return_id":"r1","delivered_at":1700000000000,"submitted_at":1700003600000,
    "reason":"bad_contact","price_cents":5000,"trailing_30d":{"returned":3,"accepted":100},
    "actual":"manual_review","credit_cents":0})");
}

struct OpSample {
  const char* op;
  Json args;
};
std::vector<OpSample> op_samples() {
  Json set_policy = parse(R"({"buyer_id":"b1"})");
  set_policy["policy"] = policy_json();
  return {
      {"save_draft", parse(R"({"return_id":"r1","lead_id":"l1","reason":"duplicate",
        "note":"Same person as last week","drafted_at":1700000100000})")},
      {"discard_draft", parse(R"({"return_id":"r1"})")},
      {"submit_return", parse(R"({"return_id":"r1","lead_id":"l1","reason":"other",
        "note":"Caller says never asked","drafted_at":1700000100000})")},
      {"withdraw_return", parse(R"({"return_id":"r1"})")},
      {"post_message", parse(R"({"return_id":"r1","message_id":"m1","body":"Hello"})")},
      {"accept_return", parse(R"({"return_id":"r1","credit_cents":2500,"charge_back":true,
        "note":"Half credit"})")},
      {"reject_return", parse(R"({"return_id":"r1","note":"The call log shows a reply."})")},
      {"reopen_return", parse(R"({"return_id":"r1","note":"New evidence"})")},
      {"set_policy", set_policy},
  };
}

struct Sample {
  std::string name;
  Decode decode;
  Json json;
};
std::vector<Sample> samples() {
  std::vector<Sample> out = {
      {"buyer", wrap(decode_buyer), buyer_json()},
      {"supplier", wrap(decode_supplier), supplier_json()},
      {"campaign", wrap(decode_campaign), campaign_json()},
      {"lead", wrap(decode_lead), lead_json()},
      {"return", wrap(decode_return), return_json()},
      {"refused_draft", wrap(decode_return), refused_draft_json()},
      {"message", wrap(decode_message), message_json()},
      {"ledger_entry", wrap(decode_ledger_entry), ledger_json()},
      {"ledger_reversal", wrap(decode_ledger_entry), reversal_json()},
      {"policy", wrap(decode_policy), policy_json()},
      {"buyer_actor", wrap(decode_actor), buyer_actor_json()},
      {"operator_actor", wrap(decode_actor), operator_actor_json()},
      {"draft", wrap(decode_draft), draft_json()},
      {"historical_return", wrap(decode_historical_return), historical_json()},
  };
  for (auto& s : op_samples()) out.push_back({std::string("op_") + s.op, op_decoder(s.op), s.args});
  return out;
}

std::string describe(const Status& st) {
  if (st.ok()) return "ok";
  return std::string(to_string(st.error().code)) + " field=\"" + st.error().field +
         "\" message=\"" + st.error().message + "\"";
}

// True when `field` names every non-index segment of `pointer`, in order ("/policy/rules/0/id"
// → "policy" … "rules" … "id"): the docs promise a dotted path, the index notation is open.
// Op arguments travel as {"op", "args"}, so a path rooted at the frame ("args.return_id") names
// the field too; the docs do not say which root op-argument errors use.
bool names_path(const std::string& field_in, const std::string& pointer) {
  const std::string field = field_in.rfind("args.", 0) == 0 ? field_in.substr(5) : field_in;
  std::vector<std::string> segs;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    auto next = pointer.find('/', pos);
    if (next == std::string::npos) next = pointer.size();
    std::string seg = pointer.substr(pos, next - pos);
    bool numeric = !seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos;
    if (!seg.empty() && !numeric) segs.push_back(seg);
    pos = next + 1;
  }
  if (segs.empty()) return true;
  if (field.rfind(segs.front(), 0) != 0) return false;  // starts with the outermost name
  std::size_t at = 0;
  for (const auto& s : segs) {
    auto f = field.find(s, at);
    if (f == std::string::npos) return false;
    at = f + s.size();
  }
  // ... and ends with the innermost name (or an index after it).
  return field.substr(at).find_first_not_of("0123456789.[]") == std::string::npos;
}

bool contains_in_order(const std::string& s, const std::vector<std::string>& fragments) {
  std::size_t pos = 0;
  for (const auto& f : fragments) {
    auto at = s.find(f, pos);
    if (at == std::string::npos) return false;
    pos = at + f.size();
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The samples themselves decode.

TEST(CodecSamples, EverySampleDecodes) {
  for (const auto& s : samples()) {
    Status st = s.decode(s.json);
    EXPECT_TRUE(st.ok()) << s.name << ": " << describe(st);
  }
}

// ---------------------------------------------------------------------------------------------
// Targeted mutations with exact codes and named fields.

struct Mutation {
  std::string name;
  Decode decode;
  Json base;
  std::string pointer;             // JSON pointer of the field to change or remove
  std::optional<Json> value;       // nullopt: remove the field
  std::optional<ErrorCode> code;   // nullopt: must still decode
  std::vector<ErrorCode> also_ok;  // other acceptable codes where the docs leave it open
  // When set, the field must contain these in order (instead of naming `pointer` exactly).
  std::vector<std::string> field_fragments = {};
};

Json apply_mutation(Json j, const std::string& pointer, const std::optional<Json>& value) {
  Json::json_pointer ptr(pointer);
  if (value) {
    j[ptr] = *value;
  } else {
    Json& parent = j[ptr.parent_pointer()];
    if (parent.is_object()) parent.erase(ptr.back());
  }
  return j;
}

std::string s(std::size_t n, const std::string& unit = "a") {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += unit;
  return out;
}

std::vector<Mutation> mutations() {
  using E = ErrorCode;
  const auto buyer = wrap(decode_buyer);
  const auto supplier = wrap(decode_supplier);
  const auto campaign = wrap(decode_campaign);
  const auto lead = wrap(decode_lead);
  const auto ret = wrap(decode_return);
  const auto message = wrap(decode_message);
  const auto ledger = wrap(decode_ledger_entry);
  const auto policy = wrap(decode_policy);
  const auto actor = wrap(decode_actor);
  const auto draft = wrap(decode_draft);
  const auto hist = wrap(decode_historical_return);
  const Json B = buyer_json(), S = supplier_json(), C = campaign_json(), L = lead_json(),
             R = return_json(), M = message_json(), LE = ledger_json(), P = policy_json(),
             A = buyer_actor_json(), O = operator_actor_json(), D = draft_json(),
             H = historical_json();
  Json B0 = buyer_json();
  B0["policy"] = policy0_json();
  const Json P0 = policy0_json();
  const std::optional<Json> remove;
  const Json huge_u64 = std::numeric_limits<std::uint64_t>::max();
  const Json too_much = kMaxMoney + 1;
  const Json max_money = kMaxMoney;
  const Json too_late = kMaxMillis + 1;
  const Json latest = kMaxMillis;
  const std::string bad_utf8 = "abc\xff";
  const std::string overlong = "\xc0\xaf";
  const std::string surrogate = "\xed\xa0\x80";
  const std::string truncated = "x\xe2\x82";

  std::vector<Mutation> m = {
      // --- buyer
      {"buyer_missing_id", buyer, B, "/id", remove, E::MISSING_FIELD, {}},
      {"buyer_missing_name", buyer, B, "/name", remove, E::MISSING_FIELD, {}},
      {"buyer_missing_billing", buyer, B, "/billing", remove, E::MISSING_FIELD, {}},
      {"buyer_missing_coverage_ok", buyer, B, "/coverage", remove, {}, {}},
      {"buyer_missing_policy_ok", buyer, B, "/policy", remove, {}, {}},
      {"buyer_id_number", buyer, B, "/id", Json(5), E::BAD_TYPE, {}},
      {"buyer_id_empty", buyer, B, "/id", Json(""), E::INVALID_ID, {}},
      {"buyer_id_64", buyer, B, "/id", Json(s(64)), {}, {}},
      {"buyer_id_65", buyer, B, "/id", Json(s(65)), E::INVALID_ID, {}},
      {"buyer_id_space", buyer, B, "/id", Json("b 1"), E::INVALID_ID, {}},
      {"buyer_id_slash", buyer, B, "/id", Json("b/1"), E::INVALID_ID, {}},
      {"buyer_id_hash", buyer, B, "/id", Json("b#1"), E::INVALID_ID, {}},
      {"buyer_id_non_ascii", buyer, B, "/id", Json("b\xc3\xa9"), E::INVALID_ID, {}},
      {"buyer_id_all_allowed", buyer, B, "/id", Json("Az09._:-"), {}, {}},
      {"buyer_name_number", buyer, B, "/name", Json(1), E::BAD_TYPE, {}},
      {"buyer_name_control", buyer, B, "/name", Json("Acme\x01"), E::INVALID_TEXT, {}},
      {"buyer_name_bad_utf8", buyer, B, "/name", Json(bad_utf8), E::INVALID_TEXT, {}},
      {"buyer_name_200", buyer, B, "/name", Json(s(200, "\xc3\xa9")), {}, {}},
      {"buyer_name_201", buyer, B, "/name", Json(s(201)), E::TEXT_TOO_LONG, {}},
      {"buyer_billing_unknown", buyer, B, "/billing", Json("postpaid"), E::INVALID_ENUM, {}},
      {"buyer_billing_upper", buyer, B, "/billing", Json("PREPAID"), E::INVALID_ENUM, {}},
      {"buyer_billing_net_terms", buyer, B, "/billing", Json("net_terms"), {}, {}},
      {"buyer_billing_number", buyer, B, "/billing", Json(0), E::BAD_TYPE, {}},
      {"buyer_unknown_field", buyer, B, "/nickname", Json("x"), E::UNKNOWN_FIELD, {}},
      {"buyer_coverage_states_string", buyer, B, "/coverage/states", Json("CA"), E::BAD_TYPE, {}},
      {"buyer_coverage_state_number", buyer, B, "/coverage/states/0", Json(5), E::BAD_TYPE, {}},
      {"buyer_coverage_unknown",
       buyer,
       B,
       "/coverage/counties",
       Json::array(),
       E::UNKNOWN_FIELD,
       {}},
      {"buyer_policy_window_float", buyer, B, "/policy/window_hours", Json(168.0), E::BAD_TYPE, {}},
      {"buyer_policy_window_string",
       buyer,
       B,
       "/policy/window_hours",
       Json("168"),
       E::BAD_TYPE,
       {}},
      {"buyer_policy_window_0", buyer, B0, "/policy/window_hours", Json(0), E::INVALID_POLICY, {}},
      {"buyer_policy_mode_unknown", buyer, B, "/policy/mode", Json("auto"), E::INVALID_ENUM, {}},
      {"buyer_policy_missing_mode", buyer, B, "/policy/mode", remove, E::MISSING_FIELD, {}},
      {"buyer_policy_rule_typo",
       buyer,
       B,
       "/policy/rules/0/max_age_hour",
       Json(24),
       E::UNKNOWN_FIELD,
       {}},
      {"buyer_policy_rule_bad_reason",
       buyer,
       B,
       "/policy/rules/0/reasons/1",
       Json("spam"),
       E::INVALID_REASON,
       {}},
      {"buyer_policy_rule_missing_id",
       buyer,
       B,
       "/policy/rules/1/id",
       remove,
       E::MISSING_FIELD,
       {}},
      // --- supplier
      {"supplier_missing_id", supplier, S, "/id", remove, E::MISSING_FIELD, {}},
      {"supplier_missing_name", supplier, S, "/name", remove, E::MISSING_FIELD, {}},
      {"supplier_missing_pass_through_ok", supplier, S, "/pass_through_returns", remove, {}, {}},
      {"supplier_pass_through_string",
       supplier,
       S,
       "/pass_through_returns",
       Json("true"),
       E::BAD_TYPE,
       {}},
      {"supplier_pass_through_number",
       supplier,
       S,
       "/pass_through_returns",
       Json(1),
       E::BAD_TYPE,
       {}},
      {"supplier_unknown_field", supplier, S, "/cost", Json(1), E::UNKNOWN_FIELD, {}},
      // --- campaign
      {"campaign_missing_vertical", campaign, C, "/vertical", remove, E::MISSING_FIELD, {}},
      {"campaign_missing_price", campaign, C, "/price_cents", remove, E::MISSING_FIELD, {}},
      {"campaign_buyer_id_empty", campaign, C, "/buyer_id", Json(""), E::INVALID_ID, {}},
      {"campaign_price_negative", campaign, C, "/price_cents", Json(-1), E::INVALID_AMOUNT, {}},
      {"campaign_price_zero", campaign, C, "/price_cents", Json(0), {}, {}},
      {"campaign_price_max", campaign, C, "/price_cents", max_money, {}, {}},
      {"campaign_price_above_max", campaign, C, "/price_cents", too_much, E::INVALID_AMOUNT, {}},
      {"campaign_price_u64_max", campaign, C, "/price_cents", huge_u64, E::INVALID_AMOUNT, {}},
      {"campaign_price_int64_min",
       campaign,
       C,
       "/price_cents",
       Json(std::numeric_limits<std::int64_t>::min()),
       E::INVALID_AMOUNT,
       {}},
      {"campaign_price_whole_float", campaign, C, "/price_cents", Json(5000.0), E::BAD_TYPE, {}},
      {"campaign_price_fraction", campaign, C, "/price_cents", Json(50.5), E::BAD_TYPE, {}},
      {"campaign_price_1e30",
       campaign,
       C,
       "/price_cents",
       Json(1e30),
       E::BAD_TYPE,
       {E::INVALID_AMOUNT}},
      {"campaign_price_string", campaign, C, "/price_cents", Json("5000"), E::BAD_TYPE, {}},
      {"campaign_price_bool", campaign, C, "/price_cents", Json(true), E::BAD_TYPE, {}},
      {"campaign_unknown_field", campaign, C, "/supplier_id", Json("s1"), E::UNKNOWN_FIELD, {}},
      // --- lead
      {"lead_missing_contact_hash", lead, L, "/contact_hash", remove, E::MISSING_FIELD, {}},
      {"lead_missing_delivered_at", lead, L, "/delivered_at", remove, E::MISSING_FIELD, {}},
      {"lead_missing_state", lead, L, "/state", remove, E::MISSING_FIELD, {}},
      {"lead_missing_supplier_ok", lead, L, "/supplier_id", remove, {}, {}},
      {"lead_missing_zip_ok", lead, L, "/zip", remove, {}, {}},
      {"lead_missing_tcpa_ok", lead, L, "/tcpa_flag", remove, {}, {}},
      {"lead_missing_cost_ok", lead, L, "/cost_cents", remove, {}, {}},
      {"lead_missing_status_ok", lead, L, "/status", remove, {}, {}},
      {"lead_campaign_id_bad", lead, L, "/campaign_id", Json("c 1"), E::INVALID_ID, {}},
      {"lead_id_65", lead, L, "/id", Json(s(65)), E::INVALID_ID, {}},
      {"lead_delivered_negative", lead, L, "/delivered_at", Json(-1), E::INVALID_TIME, {}},
      {"lead_delivered_zero", lead, L, "/delivered_at", Json(0), {}, {}},
      {"lead_delivered_max", lead, L, "/delivered_at", latest, {}, {}},
      {"lead_delivered_above_max", lead, L, "/delivered_at", too_late, E::INVALID_TIME, {}},
      {"lead_delivered_u64_max", lead, L, "/delivered_at", huge_u64, E::INVALID_TIME, {}},
      {"lead_delivered_float", lead, L, "/delivered_at", Json(1.7e12), E::BAD_TYPE, {}},
      {"lead_cost_negative", lead, L, "/cost_cents", Json(-1), E::INVALID_AMOUNT, {}},
      {"lead_price_negative", lead, L, "/price_cents", Json(-100), E::INVALID_AMOUNT, {}},
      {"lead_status_lower", lead, L, "/status", Json("accepted"), E::INVALID_ENUM, {}},
      {"lead_status_returned", lead, L, "/status", Json("RETURNED"), {}, {}},
      {"lead_status_unknown", lead, L, "/status", Json("SOLD"), E::INVALID_ENUM, {}},
      {"lead_tcpa_string", lead, L, "/tcpa_flag", Json("yes"), E::BAD_TYPE, {}},
      {"lead_tcpa_number", lead, L, "/tcpa_flag", Json(0), E::BAD_TYPE, {}},
      {"lead_unknown_field", lead, L, "/email", Json("a@b.c"), E::UNKNOWN_FIELD, {}},
      // --- return
      {"return_missing_state", ret, R, "/state", remove, E::MISSING_FIELD, {}},
      {"return_missing_lead_id", ret, R, "/lead_id", remove, E::MISSING_FIELD, {}},
      {"return_missing_reason_ok", ret, R, "/reason", remove, {}, {}},
      {"return_missing_decision_ok", ret, R, "/decision", remove, {}, {}},
      {"return_state_unknown", ret, R, "/state", Json("open"), E::INVALID_ENUM, {}},
      {"return_state_upper", ret, R, "/state", Json("PENDING"), E::INVALID_ENUM, {}},
      {"return_reason_unknown", ret, R, "/reason", Json("spam"), E::INVALID_REASON, {}},
      {"return_reason_upper", ret, R, "/reason", Json("BAD_CONTACT"), E::INVALID_REASON, {}},
      {"return_reason_number", ret, R, "/reason", Json(3), E::BAD_TYPE, {}},
      {"return_id_65", ret, R, "/id", Json(s(65)), E::INVALID_ID, {}},
      {"return_id_uuid", ret, R, "/id", Json("3f2b8c1e-9a4d-4c2b-8e1f-0a9b8c7d6e5f"), {}, {}},
      {"return_note_2000_multibyte", ret, R, "/note", Json(s(2000, "\xe2\x82\xac")), {}, {}},
      {"return_note_2001", ret, R, "/note", Json(s(2001)), E::TEXT_TOO_LONG, {}},
      {"return_note_bell", ret, R, "/note", Json("ring\x07"), E::INVALID_TEXT, {}},
      {"return_note_tab_newline_ok", ret, R, "/note", Json("a\tb\nc"), {}, {}},
      {"return_note_carriage_return", ret, R, "/note", Json("a\r\nb"), E::INVALID_TEXT, {}},
      {"return_note_escape", ret, R, "/note", Json("a\x1b[31m"), E::INVALID_TEXT, {}},
      {"return_note_del", ret, R, "/note", Json("a\x7f"), E::INVALID_TEXT, {}},
      {"return_note_nul", ret, R, "/note", Json(std::string("a\0b", 3)), E::INVALID_TEXT, {}},
      {"return_note_overlong_utf8", ret, R, "/note", Json(overlong), E::INVALID_TEXT, {}},
      {"return_note_surrogate_utf8", ret, R, "/note", Json(surrogate), E::INVALID_TEXT, {}},
      {"return_note_truncated_utf8", ret, R, "/note", Json(truncated), E::INVALID_TEXT, {}},
      {"return_note_emoji_ok", ret, R, "/note", Json("ok \xf0\x9f\x98\x80"), {}, {}},
      {"return_submitted_negative", ret, R, "/submitted_at", Json(-5), E::INVALID_TIME, {}},
      {"return_drafted_above_max", ret, R, "/drafted_at", too_late, E::INVALID_TIME, {}},
      {"return_accept_count_float", ret, R, "/accept_count", Json(1.0), E::BAD_TYPE, {}},
      {"return_refusal_unknown", ret, R, "/refusal", Json("NOPE"), E::INVALID_ENUM, {}},
      {"return_refusal_known", ret, R, "/refusal", Json("TOO_EARLY"), {}, {}},
      {"return_decision_missing_by", ret, R, "/decision/by", remove, E::MISSING_FIELD, {}},
      {"return_decision_missing_at", ret, R, "/decision/at", remove, E::MISSING_FIELD, {}},
      {"return_decision_at_negative", ret, R, "/decision/at", Json(-1), E::INVALID_TIME, {}},
      {"return_decision_credit_negative",
       ret,
       R,
       "/decision/credit_cents",
       Json(-1),
       E::INVALID_AMOUNT,
       {}},
      {"return_decision_charged_back_string",
       ret,
       R,
       "/decision/charged_back",
       Json("no"),
       E::BAD_TYPE,
       {}},
      {"return_decision_unknown", ret, R, "/decision/operator", Json("x"), E::UNKNOWN_FIELD, {}},
      {"return_decision_array", ret, R, "/decision", Json::array(), E::BAD_TYPE, {}},
      {"return_unknown_field", ret, R, "/status", Json("ok"), E::UNKNOWN_FIELD, {}},
      // --- message
      {"message_missing_body", message, M, "/body", remove, E::MISSING_FIELD, {}},
      {"message_missing_author_role", message, M, "/author_role", remove, E::MISSING_FIELD, {}},
      {"message_id_empty", message, M, "/id", Json(""), E::INVALID_ID, {}},
      {"message_role_unknown", message, M, "/author_role", Json("admin"), E::INVALID_ENUM, {}},
      {"message_role_buyer", message, M, "/author_role", Json("buyer"), {}, {}},
      {"message_body_2001", message, M, "/body", Json(s(2001)), E::TEXT_TOO_LONG, {}},
      {"message_body_2000", message, M, "/body", Json(s(2000)), {}, {}},
      {"message_body_control", message, M, "/body", Json("hi\x02"), E::INVALID_TEXT, {}},
      {"message_at_negative", message, M, "/at", Json(-1), E::INVALID_TIME, {}},
      {"message_unknown_field", message, M, "/edited", Json(true), E::UNKNOWN_FIELD, {}},
      // --- ledger entry (amounts are signed)
      {"ledger_missing_kind", ledger, LE, "/kind", remove, E::MISSING_FIELD, {}},
      {"ledger_missing_amount", ledger, LE, "/amount_cents", remove, E::MISSING_FIELD, {}},
      {"ledger_missing_supplier_ok", ledger, LE, "/supplier_id", remove, {}, {}},
      {"ledger_kind_unknown", ledger, LE, "/kind", Json("refund"), E::INVALID_ENUM, {}},
      {"ledger_amount_positive", ledger, LE, "/amount_cents", Json(5000), {}, {}},
      {"ledger_amount_float", ledger, LE, "/amount_cents", Json(-20.5), E::BAD_TYPE, {}},
      {"ledger_amount_string", ledger, LE, "/amount_cents", Json("-2000"), E::BAD_TYPE, {}},
      {"ledger_at_negative", ledger, LE, "/at", Json(-1), E::INVALID_TIME, {}},
      {"ledger_lead_id_bad", ledger, LE, "/lead_id", Json("l 1"), E::INVALID_ID, {}},
      {"ledger_unknown_field", ledger, LE, "/currency", Json("USD"), E::UNKNOWN_FIELD, {}},
      // --- policy
      {"policy_missing_window", policy, P, "/window_hours", remove, E::MISSING_FIELD, {}},
      {"policy_missing_mode", policy, P, "/mode", remove, E::MISSING_FIELD, {}},
      {"policy_missing_min_age_ok", policy, P, "/min_age_hours", remove, {}, {}},
      {"policy_missing_rules_ok", policy, P, "/rules", remove, {}, {}},
      {"policy_missing_cap_ok", policy, P, "/cap_rate", remove, {}, {}},
      {"policy_mode_unknown", policy, P, "/mode", Json("strong"), E::INVALID_ENUM, {}},
      {"policy_window_float", policy, P, "/window_hours", Json(24.5), E::BAD_TYPE, {}},
      {"policy_window_whole_float", policy, P, "/window_hours", Json(24.0), E::BAD_TYPE, {}},
      {"policy_window_0", policy, P0, "/window_hours", Json(0), E::INVALID_POLICY, {}},
      {"policy_window_negative", policy, P0, "/window_hours", Json(-1), E::INVALID_POLICY, {}},
      {"policy_window_1", policy, P0, "/window_hours", Json(1), {}, {}},
      {"policy_window_8760", policy, P, "/window_hours", Json(8760), {}, {}},
      {"policy_window_8761", policy, P, "/window_hours", Json(8761), E::INVALID_POLICY, {}},
      {"policy_window_u64_max", policy, P0, "/window_hours", huge_u64, E::INVALID_POLICY, {}},
      {"policy_min_age_equals_window",
       policy,
       P,
       "/min_age_hours",
       Json(168),
       E::INVALID_POLICY,
       {}},
      {"policy_min_age_window_minus_1", policy, P, "/min_age_hours", Json(167), {}, {}},
      {"policy_min_age_negative", policy, P, "/min_age_hours", Json(-1), E::INVALID_POLICY, {}},
      {"policy_rules_object", policy, P, "/rules", Json::object(), E::BAD_TYPE, {}},
      {"policy_rule_string", policy, P, "/rules/0", Json("within_24h"), E::BAD_TYPE, {}},
      {"policy_rule_typo", policy, P, "/rules/0/max_price", Json(5000), E::UNKNOWN_FIELD, {}},
      {"policy_rule_missing_id", policy, P, "/rules/0/id", remove, E::MISSING_FIELD, {}},
      {"policy_rule_duplicate_id",
       policy,
       P,
       "/rules/1/id",
       Json("within_24h"),
       E::INVALID_POLICY,
       {},
       {"rules"}},
      {"policy_rule_bad_id",
       policy,
       P,
       "/rules/1/id",
       Json("no spaces"),
       E::INVALID_POLICY,
       {E::INVALID_ID}},
      {"policy_rule_reasons_string",
       policy,
       P,
       "/rules/0/reasons",
       Json("bad_contact"),
       E::BAD_TYPE,
       {}},
      {"policy_rule_reason_unknown",
       policy,
       P,
       "/rules/0/reasons/0",
       Json("spam"),
       E::INVALID_REASON,
       {}},
      {"policy_rule_age_float", policy, P, "/rules/0/max_age_hours", Json(24.0), E::BAD_TYPE, {}},
      {"policy_rule_age_0", policy, P, "/rules/0/max_age_hours", Json(0), E::INVALID_POLICY, {}},
      {"policy_rule_age_above_window",
       policy,
       P,
       "/rules/0/max_age_hours",
       Json(169),
       E::INVALID_POLICY,
       {}},
      {"policy_rule_price_negative",
       policy,
       P,
       "/rules/0/max_price_cents",
       Json(-1),
       E::INVALID_POLICY,
       {E::INVALID_AMOUNT}},
      {"policy_rule_per_day_negative",
       policy,
       P,
       "/rules/0/max_auto_per_day",
       Json(-1),
       E::INVALID_POLICY,
       {}},
      {"policy_rule_per_day_float",
       policy,
       P,
       "/rules/0/max_auto_per_day",
       Json(2.5),
       E::BAD_TYPE,
       {}},
      {"policy_rate_string", policy, P, "/rules/0/max_return_rate", Json("0.15"), E::BAD_TYPE, {}},
      {"policy_rate_negative",
       policy,
       P,
       "/rules/0/max_return_rate",
       Json(-0.01),
       E::INVALID_POLICY,
       {}},
      {"policy_rate_above_one",
       policy,
       P,
       "/rules/0/max_return_rate",
       Json(1.0001),
       E::INVALID_POLICY,
       {}},
      {"policy_rate_five_decimals",
       policy,
       P,
       "/rules/0/max_return_rate",
       Json(0.12345),
       E::INVALID_POLICY,
       {E::BAD_TYPE}},
      {"policy_rate_four_decimals", policy, P, "/rules/0/max_return_rate", Json(0.1234), {}, {}},
      {"policy_rate_integer_one", policy, P, "/rules/0/max_return_rate", Json(1), {}, {}},
      {"policy_rate_integer_zero", policy, P, "/rules/0/max_return_rate", Json(0), {}, {}},
      {"policy_rate_integer_two",
       policy,
       P,
       "/rules/0/max_return_rate",
       Json(2),
       E::INVALID_POLICY,
       {}},
      {"policy_cap_five_decimals",
       policy,
       P,
       "/cap_rate",
       Json(0.00001),
       E::INVALID_POLICY,
       {E::BAD_TYPE}},
      {"policy_cap_above_one", policy, P, "/cap_rate", Json(1.5), E::INVALID_POLICY, {}},
      {"policy_cap_bool", policy, P, "/cap_rate", Json(false), E::BAD_TYPE, {}},
      {"policy_unknown_field", policy, P, "/windows_hours", Json(24), E::UNKNOWN_FIELD, {}},
      // --- actor
      {"actor_role_unknown", actor, A, "/role", Json("admin"), E::INVALID_ENUM, {}},
      {"actor_missing_role", actor, A, "/role", remove, E::MISSING_FIELD, {}},
      {"actor_buyer_missing_buyer_id", actor, A, "/buyer_id", remove, E::MISSING_FIELD, {}},
      {"actor_buyer_id_bad", actor, A, "/buyer_id", Json("b 1"), E::INVALID_ID, {}},
      {"actor_operator_no_subject_ok", actor, O, "/subject", remove, {}, {}},
      {"actor_unknown_field", actor, O, "/token", Json("t"), E::UNKNOWN_FIELD, {}},
      // --- draft
      {"draft_missing_return_id", draft, D, "/return_id", remove, E::MISSING_FIELD, {}},
      {"draft_missing_lead_id", draft, D, "/lead_id", remove, E::MISSING_FIELD, {}},
      {"draft_missing_reason_ok", draft, D, "/reason", remove, {}, {}},
      {"draft_missing_note_ok", draft, D, "/note", remove, {}, {}},
      {"draft_reason_unknown", draft, D, "/reason", Json("spam"), E::INVALID_REASON, {}},
      {"draft_return_id_bad", draft, D, "/return_id", Json("r/1"), E::INVALID_ID, {}},
      // A draft's note may be anything while typing: validate_draft reports length and encoding
      // as field errors (docs/domain.md, JSON shapes), so decoding must not refuse them.
      {"draft_note_2001_decodes", draft, D, "/note", Json(s(2001)), {}, {}},
      {"draft_note_bad_utf8_decodes", draft, D, "/note", Json(bad_utf8), {}, {}},
      {"draft_unknown_field", draft, D, "/drafted", Json(1), E::UNKNOWN_FIELD, {}},
      // --- historical return (decoder exists; the shape follows the member names)
      {"historical_return_id_number", hist, H, "/return_id", Json(1), E::BAD_TYPE, {}},
      {"historical_reason_unknown", hist, H, "/reason", Json("spam"), E::INVALID_REASON, {}},
      {"historical_submitted_negative", hist, H, "/submitted_at", Json(-1), E::INVALID_TIME, {}},
      {"historical_price_negative", hist, H, "/price_cents", Json(-1), E::INVALID_AMOUNT, {}},
      {"historical_unknown_field", hist, H, "/extra", Json(1), E::UNKNOWN_FIELD, {}},
  };

  // --- op arguments
  for (auto& [op, args] : op_samples()) {
    const std::string o = op;
    auto d = op_decoder(o);
    m.push_back({"op_" + o + "_missing_return_id",
                 d,
                 args,
                 "/return_id",
                 remove,
                 o == "set_policy" ? std::optional<ErrorCode>{} : E::MISSING_FIELD,
                 {}});
    m.push_back({"op_" + o + "_unknown_field", d, args, "/lead", Json("x"), E::UNKNOWN_FIELD, {}});
  }
  auto op = [&](const char* name) {
    for (auto& s : op_samples())
      if (std::string(s.op) == name) return s.args;
    return Json();
  };
  const auto save = op_decoder("save_draft"), discard = op_decoder("discard_draft"),
             submit = op_decoder("submit_return"), withdraw = op_decoder("withdraw_return"),
             post = op_decoder("post_message"), accept = op_decoder("accept_return"),
             reject = op_decoder("reject_return"), reopen = op_decoder("reopen_return"),
             setp = op_decoder("set_policy");
  Json SP0 = op("set_policy");
  SP0["policy"] = policy0_json();
  const Json SV = op("save_draft"), DC = op("discard_draft"), SB = op("submit_return"),
             PM = op("post_message"), AC = op("accept_return"), RJ = op("reject_return"),
             RO = op("reopen_return"), SP = op("set_policy");
  std::vector<Mutation> ops = {
      {"op_save_missing_lead_id", save, SV, "/lead_id", remove, E::MISSING_FIELD, {}},
      {"op_save_missing_reason_ok", save, SV, "/reason", remove, {}, {}},
      {"op_save_missing_drafted_at_ok", save, SV, "/drafted_at", remove, {}, {}},
      {"op_save_drafted_negative", save, SV, "/drafted_at", Json(-1), E::INVALID_TIME, {}},
      {"op_save_reason_unknown", save, SV, "/reason", Json("meh"), E::INVALID_REASON, {}},
      {"op_save_note_2001", save, SV, "/note", Json(s(2001)), E::TEXT_TOO_LONG, {}},
      {"op_discard_extra_lead_id", discard, DC, "/lead_id", Json("l1"), E::UNKNOWN_FIELD, {}},
      {"op_submit_missing_lead_id", submit, SB, "/lead_id", remove, E::MISSING_FIELD, {}},
      {"op_submit_missing_reason_ok", submit, SB, "/reason", remove, {}, {}},
      {"op_submit_return_id_bad", submit, SB, "/return_id", Json("bad id"), E::INVALID_ID, {}},
      {"op_submit_reason_number", submit, SB, "/reason", Json(1), E::BAD_TYPE, {}},
      {"op_submit_note_control", submit, SB, "/note", Json("x\x0c"), E::INVALID_TEXT, {}},
      {"op_withdraw_return_id_number", withdraw, DC, "/return_id", Json(7), E::BAD_TYPE, {}},
      {"op_post_missing_message_id", post, PM, "/message_id", remove, E::MISSING_FIELD, {}},
      {"op_post_missing_body", post, PM, "/body", remove, E::MISSING_FIELD, {}},
      {"op_post_message_id_bad", post, PM, "/message_id", Json(""), E::INVALID_ID, {}},
      {"op_post_body_2001", post, PM, "/body", Json(s(2001, "\xc3\xa9")), E::TEXT_TOO_LONG, {}},
      {"op_post_body_escape", post, PM, "/body", Json("\x1b"), E::INVALID_TEXT, {}},
      {"op_accept_missing_credit_ok", accept, AC, "/credit_cents", remove, {}, {}},
      {"op_accept_missing_charge_back_ok", accept, AC, "/charge_back", remove, {}, {}},
      {"op_accept_missing_note_ok", accept, AC, "/note", remove, {}, {}},
      {"op_accept_credit_negative", accept, AC, "/credit_cents", Json(-1), E::INVALID_AMOUNT, {}},
      {"op_accept_credit_float", accept, AC, "/credit_cents", Json(10.5), E::BAD_TYPE, {}},
      {"op_accept_credit_above_max", accept, AC, "/credit_cents", too_much, E::INVALID_AMOUNT, {}},
      {"op_accept_charge_back_string", accept, AC, "/charge_back", Json("true"), E::BAD_TYPE, {}},
      {"op_accept_credit_typo", accept, AC, "/credit", Json(100), E::UNKNOWN_FIELD, {}},
      {"op_reject_missing_note", reject, RJ, "/note", remove, E::MISSING_FIELD, {}},
      {"op_reopen_missing_note_ok", reopen, RO, "/note", remove, {}, {}},
      {"op_reopen_note_number", reopen, RO, "/note", Json(5), E::BAD_TYPE, {}},
      {"op_set_policy_missing_buyer", setp, SP, "/buyer_id", remove, E::MISSING_FIELD, {}},
      {"op_set_policy_missing_policy", setp, SP, "/policy", remove, E::MISSING_FIELD, {}},
      {"op_set_policy_buyer_empty", setp, SP, "/buyer_id", Json(""), E::INVALID_ID, {}},
      {"op_set_policy_window_0", setp, SP0, "/policy/window_hours", Json(0), E::INVALID_POLICY, {}},
      {"op_set_policy_rule_typo",
       setp,
       SP,
       "/policy/rules/0/max_age",
       Json(24),
       E::UNKNOWN_FIELD,
       {}},
      {"op_set_policy_rate_string", setp, SP, "/policy/cap_rate", Json("25%"), E::BAD_TYPE, {}},
  };
  m.insert(m.end(), ops.begin(), ops.end());
  return m;
}

TEST(CodecStrict, MutationsGiveTypedErrorsNamingTheField) {
  int checked = 0;
  for (const Mutation& mu : mutations()) {
    SCOPED_TRACE(mu.name);
    if (!mu.decode(mu.base).ok()) {
      ADD_FAILURE() << mu.name << ": the unmutated sample does not decode; row skipped";
      continue;
    }
    Json j = apply_mutation(mu.base, mu.pointer, mu.value);
    Status st;
    ASSERT_NO_THROW(st = mu.decode(j)) << mu.name;
    ++checked;
    if (!mu.code) {
      EXPECT_TRUE(st.ok()) << mu.name << ": expected to decode, got " << describe(st);
      continue;
    }
    if (st.ok()) {
      ADD_FAILURE() << mu.name << ": expected " << to_string(*mu.code) << ", decoded fine";
      continue;
    }
    bool code_ok = st.error().code == *mu.code;
    for (ErrorCode alt : mu.also_ok) code_ok = code_ok || st.error().code == alt;
    EXPECT_TRUE(code_ok) << mu.name << ": expected " << to_string(*mu.code) << ", got "
                         << describe(st);
    EXPECT_TRUE(mu.field_fragments.empty()
                    ? names_path(st.error().field, mu.pointer)
                    : contains_in_order(st.error().field, mu.field_fragments))
        << mu.name << ": field \"" << st.error().field << "\" does not name " << mu.pointer;
    EXPECT_FALSE(st.error().message.empty()) << mu.name;
  }
  EXPECT_GT(checked, 200);
}

TEST(CodecStrict, TopLevelFieldsAreNamedExactly) {
  // For a top-level field the dotted path is the field name itself.
  struct Row {
    const char* name;
    Decode decode;
    Json base;
    const char* field;
    std::optional<Json> value;
  };
  const std::optional<Json> remove;
  const Row rows[] = {
      {"lead_price_type", wrap(decode_lead), lead_json(), "price_cents", Json("x")},
      {"lead_missing_vertical", wrap(decode_lead), lead_json(), "vertical", remove},
      {"lead_unknown", wrap(decode_lead), lead_json(), "phone", Json("555")},
      {"buyer_bad_id", wrap(decode_buyer), buyer_json(), "id", Json("")},
      {"policy_window", wrap(decode_policy), policy0_json(), "window_hours", Json(0)},
      {"policy_min_age", wrap(decode_policy), policy_json(), "min_age_hours", Json(500)},
      {"policy_cap", wrap(decode_policy), policy_json(), "cap_rate", Json(7)},
      {"message_body", wrap(decode_message), message_json(), "body", Json(s(2001))},
  };
  for (const Row& r : rows) {
    Json j = apply_mutation(r.base, std::string("/") + r.field, r.value);
    Status st = r.decode(j);
    ASSERT_FALSE(st.ok()) << r.name;
    EXPECT_EQ(st.error().field, r.field) << r.name << ": " << describe(st);
  }
}

TEST(CodecStrict, NonObjectRootsAreBadType) {
  const Json roots[] = {Json(),    Json(true), Json(1),       Json(-1),
                        Json(1.5), Json("x"),  Json::array(), parse("[{}]")};
  for (const auto& smp : samples()) {
    for (const Json& root : roots) {
      Status st;
      ASSERT_NO_THROW(st = smp.decode(root)) << smp.name;
      ASSERT_FALSE(st.ok()) << smp.name << " accepted " << root.dump();
      EXPECT_EQ(st.error().code, ErrorCode::BAD_TYPE)
          << smp.name << " root " << root.dump() << ": " << describe(st);
    }
  }
}

TEST(CodecStrict, EmptyObjectIsMissingField) {
  for (const auto& smp : samples()) {
    if (smp.name == "historical_return") continue;  // required fields not documented
    Status st;
    ASSERT_NO_THROW(st = smp.decode(Json::object())) << smp.name;
    ASSERT_FALSE(st.ok()) << smp.name;
    EXPECT_EQ(st.error().code, ErrorCode::MISSING_FIELD) << smp.name << ": " << describe(st);
    EXPECT_FALSE(st.error().field.empty()) << smp.name;
  }
}

TEST(CodecStrict, UnknownOp) {
  for (const char* name :
       {"delete_lead", "", "Submit_Return", "submit-return", "submit_return ", "set_policies"}) {
    Result<OpArgs> r = decode_op_args(name, parse(R"({"return_id":"r1"})"));
    ASSERT_FALSE(r.ok()) << '"' << name << '"';
    EXPECT_EQ(r.error().code, ErrorCode::UNKNOWN_OP) << '"' << name << '"';
  }
  for (OpKind k : all_op_kinds()) {
    EXPECT_EQ(op_kind_from_string(to_string(k)), k) << to_string(k);
  }
  EXPECT_EQ(all_op_kinds().size(), 9u);
}

TEST(CodecStrict, ParseJsonGarbageIsBadJson) {
  const std::string bad[] = {"",         " ",          "{",
                             "}",        "nul",        "{\"a\":}",
                             "[1,]",     "{'a':1}",    "{\"a\" 1}",
                             "01",       "NaN",        "Infinity",
                             "\"\xff\"", "{} {}",      "[1] x",
                             "\"abc",    "{\"a\":1,}", "tru",
                             "-",        "1e",         std::string("{\"a\":\"\0\"}", 8)};
  for (const std::string& text : bad) {
    Result<Json> r = Json();
    ASSERT_NO_THROW(r = parse_json(text)) << text;
    ASSERT_FALSE(r.ok()) << "parsed: " << text;
    EXPECT_EQ(r.error().code, ErrorCode::BAD_JSON) << text;
  }
  EXPECT_TRUE(parse_json(R"({"a":[1,2,{"b":null}]})").ok());
  EXPECT_TRUE(parse_json(" 1 ").ok());
}

TEST(CodecStrict, EveryPrefixOfEverySampleIsBadJsonAndNeverThrows) {
  for (const auto& smp : samples()) {
    const std::string text = smp.json.dump();
    for (std::size_t n = 0; n < text.size(); ++n) {
      Result<Json> r = Json();
      ASSERT_NO_THROW(r = parse_json(text.substr(0, n))) << smp.name << " prefix " << n;
      EXPECT_FALSE(r.ok()) << smp.name << " prefix " << n;
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, ErrorCode::BAD_JSON);
      }
    }
    auto whole = parse_json(text);
    ASSERT_TRUE(whole.ok()) << smp.name;
    EXPECT_TRUE(smp.decode(whole.value()).ok()) << smp.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Garbage of every JSON type at every field (and inside arrays and nested objects).

enum class Kind { null, boolean, integer, floating, string, array, object };
Kind kind_of(const Json& j) {
  if (j.is_null()) return Kind::null;
  if (j.is_boolean()) return Kind::boolean;
  if (j.is_number_integer()) return Kind::integer;
  if (j.is_number_float()) return Kind::floating;
  if (j.is_string()) return Kind::string;
  if (j.is_array()) return Kind::array;
  return Kind::object;
}

// Whether a value of kind `got` can stand where the sample has kind `want`.
bool type_fits(Kind want, Kind got) {
  if (want == got) return true;
  if (want == Kind::floating && got == Kind::integer) return true;  // a rate of 0 or 1
  return false;
}

void collect_pointers(const Json& j, const std::string& prefix, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string p = prefix + "/" + it.key();
      out.push_back(p);
      collect_pointers(it.value(), p, out);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      std::string p = prefix + "/" + std::to_string(i);
      out.push_back(p);
      collect_pointers(j[i], p, out);
    }
  }
}

TEST(CodecGarbage, EveryTypeAtEveryFieldNeverThrows) {
  const std::vector<Json> garbage = {
      Json(),
      Json(true),
      Json(false),
      Json(0),
      Json(-1),
      Json(1.5),
      Json(-0.0),
      Json(1e300),
      Json(std::numeric_limits<std::uint64_t>::max()),
      Json(std::numeric_limits<std::int64_t>::min()),
      Json(""),
      Json("x"),
      Json(std::string("\xff\xfe")),
      Json(s(70000)),
      Json::array(),
      parse("[1,\"a\",null,{}]"),
      Json::object(),
      parse(R"({"id":"x","unexpected":{"deep":[1,2,3]}})"),
  };
  int decoded = 0;
  for (const auto& smp : samples()) {
    if (!smp.decode(smp.json).ok()) {
      ADD_FAILURE() << smp.name << ": the unmutated sample does not decode; skipped";
      continue;
    }
    std::vector<std::string> pointers;
    collect_pointers(smp.json, "", pointers);
    for (const std::string& p : pointers) {
      const Json original = smp.json[Json::json_pointer(p)];
      for (const Json& g : garbage) {
        Json j = smp.json;
        j[Json::json_pointer(p)] = g;
        Status st;
        ASSERT_NO_THROW(st = smp.decode(j))
            << smp.name << " " << p << " = "
            << g.dump(-1, ' ', true, Json::error_handler_t::replace).substr(0, 80);
        ++decoded;
        if (g.is_null()) continue;  // null for an optional field: not specified
        if (!type_fits(kind_of(original), kind_of(g))) {
          if (st.ok()) {
            ADD_FAILURE() << smp.name << ": " << p << " of the wrong type was accepted";
            continue;
          }
          EXPECT_EQ(st.error().code, ErrorCode::BAD_TYPE)
              << smp.name << " " << p << ": " << describe(st);
          EXPECT_TRUE(names_path(st.error().field, p))
              << smp.name << " " << p << ": field \"" << st.error().field << "\"";
        }
      }
      // Removing every field (optional or not) never throws either.
      Json removed = apply_mutation(smp.json, p, std::nullopt);
      EXPECT_NO_THROW((void)smp.decode(removed)) << smp.name << " without " << p;
    }
  }
  EXPECT_GT(decoded, 1000);
}

// ---------------------------------------------------------------------------------------------
// Round trips: decode(to_json(x)) == x.

Policy full_policy() {
  Policy p;
  p.mode = PolicyMode::rules;
  p.window_hours = 720;
  p.min_age_hours = 2;
  p.cap_rate = 2900;  // 0.29: 0.29 * 10000 is 2899.999… in floating point
  PolicyRule a;
  a.id = "within_24h";
  a.max_age_hours = 24;
  a.reasons = {Reason::bad_contact, Reason::tcpa_risk, Reason::out_of_service_area};
  a.max_price_cents = 7500;
  a.max_return_rate = 5700;  // 0.57: also inexact in binary
  a.max_auto_per_day = 20;
  PolicyRule b;
  b.id = "cheap:any";
  b.max_price_cents = 0;
  b.max_return_rate = 1;
  PolicyRule c;
  c.id = "everything";
  c.max_return_rate = 10'000;
  c.max_auto_per_day = 0;
  p.rules = {a, b, c};
  return p;
}

Buyer full_buyer() {
  Buyer b;
  b.id = "b-1";
  b.name = "Ümlaut & Söhne Legal \xe2\x80\x94 intake";
  b.billing = Billing::net_terms;
  b.coverage = Coverage{{"CA", "NV", "OR"}, {"9", "8901"}};
  b.policy = full_policy();
  return b;
}

Lead full_lead() {
  Lead l;
  l.id = "lead:2024.01-x";
  l.buyer_id = "b-1";
  l.supplier_id = "s-1";
  l.campaign_id = "c-1";
  l.vertical = "slip_and_fall";
  l.state = "NV";
  l.zip = "89101";
  l.contact_hash = "sha256:0f1e2d";
  l.tcpa_flag = true;
  l.price_cents = kMaxMoney;
  l.cost_cents = 1;
  l.delivered_at = kMaxMillis;
  l.status = LeadStatus::returned;
  return l;
}

ReturnCase full_return() {
  ReturnCase r;
  r.id = "3f2b8c1e-9a4d-4c2b-8e1f-0a9b8c7d6e5f";
  r.lead_id = "lead:2024.01-x";
  r.buyer_id = "b-1";
  r.reason = Reason::out_of_service_area;
  r.note = "Line one\n\tline two \xf0\x9f\x93\x9e";
  r.state = ReturnState::accepted;
  r.drafted_at = 1;
  r.submitted_at = 2;
  r.updated_at = 3;
  r.decision = Decision{"ops-anna", 3, "partial", 2500, true, 1000};
  r.accept_count = 2;
  return r;
}

TEST(CodecRoundTrip, Buyer) {
  for (const Buyer& b : {full_buyer(), [] {
                           Buyer d;
                           d.id = "b2";
                           d.name = "Default";
                           return d;
                         }()}) {
    auto r = decode_buyer(to_json(b));
    ASSERT_TRUE(r.ok()) << b.id << ": " << r.error().message << " " << r.error().field;
    EXPECT_EQ(r.value(), b) << to_json(b).dump();
  }
}

TEST(CodecRoundTrip, BuyerDefaults) {
  auto r = decode_buyer(parse(R"({"id":"b9","name":"New","billing":"prepaid"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->policy, default_policy());
  EXPECT_TRUE(r->coverage.states.empty());
  EXPECT_TRUE(r->coverage.zip_prefixes.empty());
  EXPECT_EQ(r->billing, Billing::prepaid);
}

TEST(CodecRoundTrip, Supplier) {
  for (bool pass : {false, true}) {
    Supplier s{"s-1", "Supplier \"One\"", pass};
    auto r = decode_supplier(to_json(s));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), s);
  }
  auto d = decode_supplier(parse(R"({"id":"s2","name":"x"})"));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->pass_through_returns);
}

TEST(CodecRoundTrip, Campaign) {
  for (Money price : {Money{0}, Money{4999}, kMaxMoney}) {
    Campaign c{"c-1", "b-1", "solar", price};
    auto r = decode_campaign(to_json(c));
    ASSERT_TRUE(r.ok()) << price;
    EXPECT_EQ(r.value(), c);
  }
}

TEST(CodecRoundTrip, Lead) {
  Lead minimal;
  minimal.id = "l0";
  minimal.buyer_id = "b0";
  minimal.campaign_id = "c0";
  minimal.vertical = "mva";
  minimal.state = "CA";
  minimal.contact_hash = "h";
  for (const Lead& l : {full_lead(), minimal}) {
    auto r = decode_lead(to_json(l));
    ASSERT_TRUE(r.ok()) << l.id << ": " << r.error().message;
    EXPECT_EQ(r.value(), l) << to_json(l).dump();
  }
  auto d = decode_lead(parse(R"({"id":"l1","buyer_id":"b1","campaign_id":"c1","vertical":"mva",
    "state":"CA","contact_hash":"h","price_cents":1,"delivered_at":2})"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->supplier_id, "");
  EXPECT_EQ(d->zip, "");
  EXPECT_FALSE(d->tcpa_flag);
  EXPECT_EQ(d->cost_cents, 0);
  EXPECT_EQ(d->status, LeadStatus::accepted);
}

TEST(CodecRoundTrip, ReturnCase) {
  ReturnCase draft;
  draft.id = "d1";
  draft.lead_id = "l1";
  draft.buyer_id = "b1";
  ReturnCase refused = draft;
  refused.id = "d2";
  refused.reason = Reason::other;
  refused.note = "Offline draft";
  refused.refusal = ErrorCode::WINDOW_CLOSED;
  refused.refusal_message = "The 168 h window closed.";
  ReturnCase rejected = full_return();
  rejected.state = ReturnState::rejected;
  rejected.decision = Decision{"ops", 10, "No evidence", 0, false, 0};
  std::vector<ReturnCase> all = {full_return(), draft, refused, rejected};
  for (ReturnState st : all_return_states()) {
    ReturnCase r = full_return();
    r.state = st;
    all.push_back(r);
  }
  for (const ReturnCase& rc : all) {
    auto r = decode_return(to_json(rc));
    ASSERT_TRUE(r.ok()) << rc.id << ": " << r.error().message;
    EXPECT_EQ(r.value(), rc) << to_json(rc).dump();
  }
}

TEST(CodecRoundTrip, Message) {
  for (Role role : {Role::buyer, Role::operator_}) {
    Message m{"m-1", "r-1", role, "alice", "Hello\nthere \xc3\xa9", 123};
    auto r = decode_message(to_json(m));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), m);
  }
}

TEST(CodecRoundTrip, LedgerEntry) {
  std::vector<LedgerEntry> entries = {
      {"r1#1/revenue_reversal", EntryKind::revenue_reversal, "r1", "l1", "b1", "s1", -5000, 10, ""},
      {"r1#1/wallet_credit", EntryKind::wallet_credit, "r1", "l1", "b1", "s1", 5000, 10, ""},
      {"r1#1/invoice_adjustment", EntryKind::invoice_adjustment, "r1", "l1", "b1", "", -5000, 10,
       ""},
      {"r1#1/supplier_chargeback", EntryKind::supplier_chargeback, "r1", "l1", "b1", "s1", -2000,
       10, ""},
      {"r1#1/wallet_credit/reversal", EntryKind::wallet_credit, "r1", "l1", "b1", "s1", -5000, 20,
       "r1#1/wallet_credit"},
  };
  for (const LedgerEntry& e : entries) {
    auto r = decode_ledger_entry(to_json(e));
    ASSERT_TRUE(r.ok()) << e.id << ": " << r.error().message << " " << r.error().field;
    EXPECT_EQ(r.value(), e) << to_json(e).dump();
  }
}

TEST(CodecRoundTrip, Policy) {
  Policy always;
  always.mode = PolicyMode::always_accept;
  always.window_hours = 8760;
  always.cap_rate = 10'000;
  Policy manual;
  manual.mode = PolicyMode::manual;
  manual.window_hours = 1;
  manual.cap_rate = 0;
  for (const Policy& p : {full_policy(), default_policy(), always, manual}) {
    Json j = to_json(p);
    auto r = decode_policy(j);
    ASSERT_TRUE(r.ok()) << j.dump() << ": " << r.error().message << " " << r.error().field;
    EXPECT_EQ(r.value(), p) << j.dump();
    // The wire is text: the same holds after printing and parsing.
    auto reparsed = parse_json(j.dump());
    ASSERT_TRUE(reparsed.ok());
    auto r2 = decode_policy(reparsed.value());
    ASSERT_TRUE(r2.ok()) << j.dump();
    EXPECT_EQ(r2.value(), p) << j.dump();
  }
}

TEST(CodecRoundTrip, PolicyEncodesRatesAsFractionsAndOmitsUnset) {
  Json j = to_json(full_policy());
  EXPECT_EQ(j.at("mode"), "rules");
  EXPECT_EQ(j.at("window_hours"), 720);
  ASSERT_TRUE(j.at("cap_rate").is_number());
  EXPECT_DOUBLE_EQ(j.at("cap_rate").get<double>(), 0.29);
  ASSERT_EQ(j.at("rules").size(), 3u);
  const Json& r0 = j.at("rules")[0];
  EXPECT_EQ(r0.at("id"), "within_24h");
  EXPECT_EQ(r0.at("max_age_hours"), 24);
  EXPECT_EQ(r0.at("reasons"), Json({"bad_contact", "tcpa_risk", "out_of_service_area"}));
  EXPECT_EQ(r0.at("max_price_cents"), 7500);
  EXPECT_DOUBLE_EQ(r0.at("max_return_rate").get<double>(), 0.57);
  EXPECT_EQ(r0.at("max_auto_per_day"), 20);
  const Json& r1 = j.at("rules")[1];
  EXPECT_FALSE(r1.contains("max_age_hours"));
  EXPECT_FALSE(r1.contains("max_auto_per_day"));
  EXPECT_DOUBLE_EQ(r1.at("max_return_rate").get<double>(), 0.0001);
  EXPECT_EQ(r1.at("max_price_cents"), 0);
  EXPECT_FALSE(to_json(default_policy()).contains("cap_rate")) << "unset optionals are omitted";
}

TEST(CodecRoundTrip, RateFractionsDecodeExactly) {
  struct Row {
    const char* text;
    BasisPoints bp;
  };
  const Row rows[] = {
      {"0.15", 1500},  {"0.25", 2500},   {"0.29", 2900}, {"0.57", 5700},   {"0.1234", 1234},
      {"0.0001", 1},   {"0.07", 700},    {"0.5", 5000},  {"0.9999", 9999}, {"1", 10'000},
      {"1.0", 10'000}, {"0", 0},         {"0.0", 0},     {"0.1", 1000},    {"0.3", 3000},
      {"1e-4", 1},     {"1.5e-1", 1500},
  };
  for (const Row& r : rows) {
    std::string text = std::string(R"({"mode":"rules","window_hours":168,"cap_rate":)") + r.text +
                       R"(,"rules":[{"id":"x","max_return_rate":)" + r.text + "}]}";
    auto j = parse_json(text);
    ASSERT_TRUE(j.ok()) << text;
    auto p = decode_policy(j.value());
    ASSERT_TRUE(p.ok()) << r.text << ": " << p.error().message;
    EXPECT_EQ(p->cap_rate, r.bp) << r.text;
    ASSERT_EQ(p->rules.size(), 1u);
    EXPECT_EQ(p->rules[0].max_return_rate, r.bp) << r.text;
  }
}

TEST(CodecRoundTrip, EveryBasisPointSurvivesTheWire) {
  int mismatches = 0;
  for (BasisPoints bp = 0; bp <= kBasisPointsWhole; ++bp) {
    Policy p;
    p.cap_rate = bp;
    auto parsed = parse_json(to_json(p).dump());
    ASSERT_TRUE(parsed.ok());
    auto back = decode_policy(parsed.value());
    if (!back.ok() || back->cap_rate != bp) {
      if (++mismatches <= 5)
        ADD_FAILURE() << bp << " bp came back as "
                      << (back.ok() ? std::to_string(back->cap_rate.value_or(-1))
                                    : std::string(to_string(back.error().code)));
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(CodecRoundTrip, Actor) {
  for (const Actor& a : {Actor::buyer("b-1", "alice"), Actor::operator_("ops-anna")}) {
    auto r = decode_actor(to_json(a));
    ASSERT_TRUE(r.ok()) << to_json(a).dump() << ": " << r.error().message;
    EXPECT_EQ(r->role, a.role);
    EXPECT_EQ(r->subject, a.subject);
    EXPECT_EQ(r->buyer_id, a.buyer_id);
  }
  EXPECT_EQ(to_json(Actor::operator_("x")).at("role"), "operator");
  EXPECT_EQ(to_json(Actor::buyer("b1")).at("role"), "buyer");
}

TEST(CodecRoundTrip, Draft) {
  auto r = decode_draft(draft_json());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->return_id, "r1");
  EXPECT_EQ(r->lead_id, "l1");
  EXPECT_EQ(r->reason, Reason::other);
  EXPECT_EQ(r->note, "The number belongs to a pizzeria.");
  auto bare = decode_draft(parse(R"({"return_id":"r2","lead_id":"l2"})"));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->reason.has_value());
  EXPECT_EQ(bare->note, "");
}

TEST(CodecRoundTrip, HistoricalReturn) {
  auto r = decode_historical_return(historical_json());
  ASSERT_TRUE(r.ok()) << r.error().message << " " << r.error().field;
  EXPECT_EQ(r->return_id, "r1");
  EXPECT_EQ(r->delivered_at, 1'700'000'000'000);
  EXPECT_EQ(r->submitted_at, 1'700'003'600'000);
  EXPECT_EQ(r->reason, Reason::bad_contact);
  EXPECT_EQ(r->price_cents, 5000);
  EXPECT_EQ(r->trailing_30d, (RateCounts{3, 100}));
  EXPECT_EQ(r->actual, Verdict::manual_review);
  EXPECT_EQ(r->credit_cents, 0);
}

TEST(CodecRoundTrip, OpArgs) {
  for (auto& [op, args] : op_samples()) {
    SCOPED_TRACE(op);
    auto r = decode_op_args(op, args);
    ASSERT_TRUE(r.ok()) << op << ": " << r.error().message << " " << r.error().field;
    EXPECT_EQ(to_string(kind_of(r.value())), op);
    Json enc = to_json(r.value());
    ASSERT_TRUE(enc.is_object());
    EXPECT_EQ(enc.at("op"), op);
    ASSERT_TRUE(enc.contains("args"));
    auto again = decode_op_args(enc.at("op").get<std::string>(), enc.at("args"));
    ASSERT_TRUE(again.ok()) << enc.dump();
    EXPECT_EQ(to_json(again.value()), enc);
  }
}

TEST(CodecRoundTrip, OpArgsValues) {
  auto acc = decode_op_args("accept_return", parse(R"({"return_id":"r1","credit_cents":2500,
    "charge_back":false})"));
  ASSERT_TRUE(acc.ok());
  const auto* a = std::get_if<AcceptReturnArgs>(&acc.value());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->credit_cents, 2500);
  EXPECT_EQ(a->charge_back, false);
  auto plain = decode_op_args("accept_return", parse(R"({"return_id":"r1"})"));
  ASSERT_TRUE(plain.ok());
  const auto* p = std::get_if<AcceptReturnArgs>(&plain.value());
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->credit_cents.has_value());
  EXPECT_FALSE(p->charge_back.has_value());

  auto sub = decode_op_args("submit_return", parse(R"({"return_id":"r1","lead_id":"l1"})"));
  ASSERT_TRUE(sub.ok()) << "a missing reason is refused at apply, not at decode";
  const auto* s = std::get_if<SubmitReturnArgs>(&sub.value());
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->reason.has_value());

  auto setp = decode_op_args("set_policy", parse(R"({"buyer_id":"b1","policy":{"mode":"manual",
    "window_hours":48}})"));
  ASSERT_TRUE(setp.ok());
  const auto* sp = std::get_if<SetPolicyArgs>(&setp.value());
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->policy.mode, PolicyMode::manual);
  EXPECT_EQ(sp->policy.window_hours, 48);
  EXPECT_EQ(sp->policy.min_age_hours, 0);
  EXPECT_TRUE(sp->policy.rules.empty());
  EXPECT_FALSE(sp->policy.cap_rate.has_value());
}

// ---------------------------------------------------------------------------------------------
// Output shapes (docs/domain.md "Outputs").

TEST(CodecShapes, Error) {
  EXPECT_EQ(to_json(make_error(ErrorCode::WINDOW_CLOSED, "lead_id", "Too late.")),
            parse(R"({"code":"WINDOW_CLOSED","field":"lead_id","message":"Too late."})"));
}

TEST(CodecShapes, Validation) {
  Validation v;
  v.ok = false;
  v.errors = {FieldIssue{"note", ErrorCode::NOTE_REQUIRED, "Add a note."}};
  v.warnings = {Warning{"window_closing", "3 h left."}};
  EXPECT_EQ(to_json(v), parse(R"({"ok":false,
    "errors":[{"field":"note","code":"NOTE_REQUIRED","message":"Add a note."}],
    "warnings":[{"code":"window_closing","message":"3 h left."}]})"));
  Validation clean;
  clean.ok = true;
  EXPECT_EQ(to_json(clean), parse(R"({"ok":true,"errors":[],"warnings":[]})"));
}

TEST(CodecShapes, Evaluation) {
  PolicyInput in;
  in.delivered_at = 1'700'000'000'000;
  in.now = in.delivered_at + 5 * kMillisPerHour;
  in.reason = Reason::bad_contact;
  PolicyEvaluation ev = evaluate_policy(default_policy(), in);
  Json j = to_json(ev);
  EXPECT_EQ(j.at("decision"), "auto_accept");
  EXPECT_EQ(j.at("rule"), "within_24h");
  EXPECT_FALSE(j.contains("refusal"));
  EXPECT_EQ(j.at("deadline"), in.delivered_at + 168 * kMillisPerHour);
  ASSERT_TRUE(j.at("checks").is_array());
  ASSERT_EQ(j.at("checks").size(), ev.checks.size());
  ASSERT_TRUE(j.at("explanation").is_array());
  ASSERT_EQ(j.at("explanation").size(), ev.checks.size());
  for (std::size_t i = 0; i < ev.checks.size(); ++i) {
    const Json& c = j.at("checks")[i];
    EXPECT_EQ(c.at("check"), ev.checks[i].check);
    EXPECT_EQ(c.at("passed"), ev.checks[i].passed);
    EXPECT_EQ(c.at("sentence"), ev.checks[i].sentence);
    EXPECT_EQ(j.at("explanation")[i], ev.checks[i].sentence);
  }
  in.now = in.delivered_at + 168 * kMillisPerHour;
  Json refused = to_json(evaluate_policy(default_policy(), in));
  EXPECT_EQ(refused.at("decision"), "refused");
  EXPECT_EQ(refused.at("refusal"), "WINDOW_CLOSED");
}

TEST(CodecShapes, Evidence) {
  Evidence e{Reason::out_of_service_area, EvidenceVerdict::supports, "outside_coverage",
             "The lead is outside your coverage.", true};
  EXPECT_EQ(to_json(e), parse(R"({"reason":"out_of_service_area","verdict":"supports",
    "code":"outside_coverage","sentence":"The lead is outside your coverage.",
    "routing_alert":true})"));
}

TEST(CodecShapes, PreviewOmitsWhatIsUnknown) {
  Preview p;
  p.validation.ok = true;
  Json j = to_json(p);
  EXPECT_TRUE(j.contains("validation"));
  EXPECT_FALSE(j.contains("evidence"));
  EXPECT_FALSE(j.contains("evaluation"));
  p.evidence = Evidence{Reason::other, EvidenceVerdict::none, "free_text", "s", false};
  p.evaluation = PolicyEvaluation{};
  j = to_json(p);
  EXPECT_EQ(j.at("evidence").at("code"), "free_text");
  EXPECT_TRUE(j.at("evaluation").contains("decision"));
}

TEST(CodecShapes, Effects) {
  Effects e;
  e.op = OpKind::submit_return;
  ReturnCase r;
  r.id = "r1";
  r.lead_id = "l1";
  r.buyer_id = "b1";
  r.state = ReturnState::pending;
  e.ret = r;
  Json j = to_json(e);
  EXPECT_EQ(j.at("op"), "submit_return");
  EXPECT_EQ(j.at("return"), to_json(r));
  EXPECT_EQ(j.at("return_deleted"), false);
  EXPECT_EQ(j.at("ledger"), Json::array());
  for (const char* absent : {"lead", "message", "buyer", "evaluation", "evidence", "alert"})
    EXPECT_FALSE(j.contains(absent)) << absent;
}

TEST(CodecShapes, EnumsTravelAsNames) {
  Lead l = full_lead();
  Json lj = to_json(l);
  EXPECT_EQ(lj.at("status"), "RETURNED");
  EXPECT_TRUE(lj.at("price_cents").is_number_integer());
  EXPECT_EQ(lj.at("price_cents"), kMaxMoney);
  l.status = LeadStatus::accepted;
  EXPECT_EQ(to_json(l).at("status"), "ACCEPTED");
  EXPECT_EQ(to_json(full_buyer()).at("billing"), "net_terms");
  Json rj = to_json(full_return());
  EXPECT_EQ(rj.at("state"), "accepted");
  EXPECT_EQ(rj.at("reason"), "out_of_service_area");
  Message m{"m1", "r1", Role::operator_, "ops", "hi", 5};
  EXPECT_EQ(to_json(m).at("author_role"), "operator");
  LedgerEntry e{"r1#1/supplier_chargeback",
                EntryKind::supplier_chargeback,
                "r1",
                "l1",
                "b1",
                "s1",
                -1,
                1,
                ""};
  EXPECT_EQ(to_json(e).at("kind"), "supplier_chargeback");
}

TEST(CodecShapes, OptionalReturnFieldsOmittedWhenUnset) {
  ReturnCase d;
  d.id = "d1";
  d.lead_id = "l1";
  d.buyer_id = "b1";
  Json j = to_json(d);
  EXPECT_EQ(j.at("id"), "d1");
  EXPECT_EQ(j.at("state"), "draft");
  EXPECT_FALSE(j.contains("reason"));
  EXPECT_FALSE(j.contains("decision"));
  EXPECT_FALSE(j.contains("refusal"));
  d.refusal = ErrorCode::TOO_EARLY;
  EXPECT_EQ(to_json(d).at("refusal"), "TOO_EARLY");
}

// ---------------------------------------------------------------------------------------------
// Names of enumerations and error codes.

TEST(CodecNames, ReasonsAndStates) {
  const std::vector<std::string> reasons = {"bad_contact", "wrong_vertical",      "duplicate",
                                            "tcpa_risk",   "out_of_service_area", "other"};
  ASSERT_EQ(all_reasons().size(), reasons.size());
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    EXPECT_EQ(to_string(all_reasons()[i]), reasons[i]);
    EXPECT_EQ(reason_from_string(reasons[i]), all_reasons()[i]);
  }
  EXPECT_FALSE(reason_from_string("spam").has_value());
  EXPECT_FALSE(reason_from_string("Other").has_value());
  const std::vector<std::string> states = {"draft",    "pending",  "discussion",
                                           "accepted", "rejected", "withdrawn"};
  ASSERT_EQ(all_return_states().size(), states.size());
  for (std::size_t i = 0; i < states.size(); ++i) {
    EXPECT_EQ(to_string(all_return_states()[i]), states[i]);
    EXPECT_EQ(return_state_from_string(states[i]), all_return_states()[i]);
  }
  EXPECT_EQ(to_string(Billing::prepaid), "prepaid");
  EXPECT_EQ(to_string(Billing::net_terms), "net_terms");
  EXPECT_EQ(billing_from_string("net_terms"), Billing::net_terms);
  EXPECT_EQ(to_string(LeadStatus::accepted), "ACCEPTED");
  EXPECT_EQ(lead_status_from_string("RETURNED"), LeadStatus::returned);
  EXPECT_FALSE(lead_status_from_string("returned").has_value());
  EXPECT_EQ(to_string(Role::operator_), "operator");
  EXPECT_EQ(role_from_string("operator"), Role::operator_);
  EXPECT_FALSE(role_from_string("operator_").has_value());
  for (EntryKind k : {EntryKind::revenue_reversal, EntryKind::wallet_credit,
                      EntryKind::invoice_adjustment, EntryKind::supplier_chargeback})
    EXPECT_EQ(entry_kind_from_string(to_string(k)), k) << to_string(k);
}

TEST(CodecNames, ErrorCodesRoundTrip) {
  const auto& codes = all_error_codes();
  EXPECT_EQ(codes.size(), static_cast<std::size_t>(ErrorCode::INTERNAL) + 1)
      << "every code is listed";
  EXPECT_EQ(*codes.begin(), ErrorCode::BAD_JSON);
  std::vector<std::string> names;
  for (ErrorCode c : codes) {
    std::string name(to_string(c));
    SCOPED_TRACE(name);
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_"), std::string::npos)
        << "upper snake case";
    EXPECT_EQ(error_code_from_string(name), c);
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << "duplicate name";
    names.push_back(name);
  }
  EXPECT_EQ(to_string(ErrorCode::WINDOW_CLOSED), "WINDOW_CLOSED");
  EXPECT_EQ(to_string(ErrorCode::NOT_YOUR_LEAD), "NOT_YOUR_LEAD");
  EXPECT_FALSE(error_code_from_string("window_closed").has_value());
  EXPECT_FALSE(error_code_from_string("").has_value());
  EXPECT_FALSE(error_code_from_string("NOPE").has_value());
}

TEST(CodecNames, ValidIdTable) {
  struct Row {
    std::string id;
    bool valid;
  };
  const Row rows[] = {
      {"a", true},
      {std::string(64, 'x'), true},
      {std::string(65, 'x'), false},
      {"", false},
      {"A-Za-z0-9._:-", true},
      {"with space", false},
      {"slash/", false},
      {"hash#", false},
      {"tab\t", false},
      {"\xc3\xa9", false},
      {"comma,", false},
      {"uuid-3f2b8c1e-9a4d", true},
      {"auto:within_24h", true},
      {std::string("nul\0x", 5), false},
  };
  for (const Row& r : rows) EXPECT_EQ(is_valid_id(r.id), r.valid) << '"' << r.id << '"';
}

}  // namespace
}  // namespace returns
