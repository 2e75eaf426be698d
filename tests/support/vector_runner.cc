// vector_runner.cc — golden-vector kinds mapped onto the shared core (see vector_runner.h and
// tests/vectors/README.md for the input shapes). Written without anything that throws on bad
// input: nlohmann accessors that could throw (at, get on a wrong type, json_pointer, dump of
// invalid UTF-8) are avoided or guarded, so a malformed vector is reported, never a crash.
#include "vector_runner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include "core/codec.h"
#include "core/evidence.h"
#include "core/lifecycle.h"
#include "core/memory_state.h"
#include "core/policy.h"
#include "core/validation.h"

namespace returns::vectors {
namespace {

// --- Small non-throwing JSON helpers ------------------------------------------------------------

Json runner_error(const std::string& message) { return Json{{"runner_error", message}}; }

const Json* find_key(const Json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Empty when every key of `obj` is in `allowed`, else the first stray key.
std::string stray_key(const Json& obj, std::initializer_list<const char*> allowed) {
  if (!obj.is_object()) return {};
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char* a : allowed) {
      if (it.key() == a) known = true;
    }
    if (!known) return it.key();
  }
  return {};
}

bool as_i64(const Json& j, std::int64_t* out) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    *out = static_cast<std::int64_t>(u);
    return true;
  }
  if (j.is_number_integer()) {
    *out = j.get<std::int64_t>();
    return true;
  }
  return false;
}

bool as_int(const Json& j, int* out) {
  std::int64_t v = 0;
  if (!as_i64(j, &v) || v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return false;
  *out = static_cast<int>(v);
  return true;
}

const std::string* as_string(const Json& j) {
  return j.is_string() ? j.get_ptr<const std::string*>() : nullptr;
}

std::string escape_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// Walks an RFC 6901 pointer without nlohmann::json_pointer (which throws on bad syntax). The
// last token names a member to set (created if absent) or an existing array element.
Json* resolve_for_write(Json& root, const std::string& pointer, std::string* error) {
  if (pointer.empty() || pointer[0] != '/') {
    *error = "pointer must start with '/': " + pointer;
    return nullptr;
  }
  std::vector<std::string> tokens;
  std::string cur;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(cur);
      cur.clear();
    } else if (pointer[i] == '~' && i + 1 < pointer.size() &&
               (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
      cur += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      cur += pointer[i];
    }
  }
  Json* node = &root;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const bool last = t + 1 == tokens.size();
    if (node->is_object()) {
      auto it = node->find(tokens[t]);
      if (it == node->end()) {
        if (!last) {
          *error = "pointer " + pointer + ": no member " + tokens[t];
          return nullptr;
        }
        return &((*node)[tokens[t]]);
      }
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      if (tokens[t].empty() || tokens[t].size() > 9) {
        *error = "pointer " + pointer + ": bad array index";
        return nullptr;
      }
      for (char c : tokens[t]) {
        if (c < '0' || c > '9') {
          *error = "pointer " + pointer + ": bad array index";
          return nullptr;
        }
        index = index * 10 + static_cast<std::size_t>(c - '0');
      }
      if (index >= node->size()) {
        *error = "pointer " + pointer + ": index out of range";
        return nullptr;
      }
      node = &((*node)[index]);
    } else {
      *error = "pointer " + pointer + ": walks into a scalar";
      return nullptr;
    }
  }
  return node;
}

bool hex_to_bytes(const std::string& hex, std::string* out) {
  int pending = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (c == ' ') continue;
    if (v < 0) return false;
    if (pending < 0) {
      pending = v;
    } else {
      out->push_back(static_cast<char>(static_cast<unsigned char>(pending * 16 + v)));
      pending = -1;
    }
  }
  return pending < 0;
}

// "patch_strings": strings a JSON file cannot spell (invalid UTF-8) or would rather not
// (2001-character notes): [{pointer, text?, repeat?, times?, hex?}] sets the string at
// `pointer` to text + repeat×times + the bytes of hex.
bool apply_string_patches(Json& input, std::string* error) {
  const Json* patches = find_key(input, "patch_strings");
  if (patches == nullptr) return true;
  if (!patches->is_array()) {
    *error = "patch_strings must be an array";
    return false;
  }
  const Json list = *patches;
  input.erase("patch_strings");
  for (const Json& p : list) {
    if (!p.is_object()) {
      *error = "patch_strings entries must be objects";
      return false;
    }
    if (auto k = stray_key(p, {"pointer", "text", "repeat", "times", "hex"}); !k.empty()) {
      *error = "patch_strings: unknown key " + k;
      return false;
    }
    const Json* ptr = find_key(p, "pointer");
    if (ptr == nullptr || !ptr->is_string()) {
      *error = "patch_strings: pointer (string) required";
      return false;
    }
    std::string value;
    if (const Json* t = find_key(p, "text")) {
      if (!t->is_string()) {
        *error = "patch_strings: text must be a string";
        return false;
      }
      value += t->get<std::string>();
    }
    if (const Json* r = find_key(p, "repeat")) {
      int times = 0;
      const Json* n = find_key(p, "times");
      if (!r->is_string() || n == nullptr || !as_int(*n, &times) || times < 0 || times > 1000000) {
        *error = "patch_strings: repeat needs a string and times 0..1000000";
        return false;
      }
      const std::string unit = r->get<std::string>();
      for (int i = 0; i < times; ++i) value += unit;
    }
    if (const Json* h = find_key(p, "hex")) {
      if (!h->is_string() || !hex_to_bytes(h->get<std::string>(), &value)) {
        *error = "patch_strings: hex must be pairs of hex digits";
        return false;
      }
    }
    Json* target = resolve_for_write(input, ptr->get<std::string>(), error);
    if (target == nullptr) return false;
    *target = value;
  }
  return true;
}

// --- Worlds and actors ---------------------------------------------------------------------------

// World collections may be arrays (the MemoryState format) or objects keyed by id, which case
// inputs can merge-patch one row at a time; the key becomes the id when the row has none.
Json normalize_world(const Json& world) {
  if (!world.is_object()) return world;
  Json out = Json::object();
  for (auto it = world.begin(); it != world.end(); ++it) {
    if (it.value().is_null()) continue;
    if (it.value().is_object()) {
      Json rows = Json::array();
      for (auto row = it.value().begin(); row != it.value().end(); ++row) {
        if (row.value().is_null()) continue;
        Json r = row.value();
        if (r.is_object() && r.find("id") == r.end()) r["id"] = row.key();
        rows.push_back(std::move(r));
      }
      out[it.key()] = std::move(rows);
    } else {
      out[it.key()] = it.value();
    }
  }
  return out;
}

// The world of an input ("world", optional: empty when absent) as a MemoryState.
std::optional<MemoryState> load_world(const Json& input, std::string* error) {
  const Json* w = find_key(input, "world");
  Json world = w == nullptr ? Json::object() : normalize_world(*w);
  auto st = MemoryState::from_json(world);
  if (!st.ok()) {
    *error = "world does not load: " + dump_safe(to_json(st.error()));
    return std::nullopt;
  }
  return std::move(st).value();
}

// Actors may be spelled out ({"role": ...}) or abbreviated: "operator", "operator:<subject>",
// "buyer:<buyer id>" (subject = buyer id). Either way they go through decode_actor.
Json expand_actor(const Json& a) {
  const std::string* s = as_string(a);
  if (s == nullptr) return a;
  if (*s == "operator") return Json{{"role", "operator"}, {"subject", "operator"}};
  if (s->rfind("operator:", 0) == 0) {
    return Json{{"role", "operator"}, {"subject", s->substr(9)}};
  }
  if (s->rfind("buyer:", 0) == 0) {
    return Json{{"role", "buyer"}, {"subject", s->substr(6)}, {"buyer_id", s->substr(6)}};
  }
  return a;  // decode_actor reports the wrong type
}

// --- Kind: policy -------------------------------------------------------------------------------

// "policy" absent or null = the default policy; decode errors are results, not runner errors.
std::optional<Policy> policy_of(const Json& input, Json* error_result) {
  const Json* p = find_key(input, "policy");
  if (p == nullptr || p->is_null()) return default_policy();
  auto policy = decode_policy(*p);
  if (!policy.ok()) {
    *error_result = Json{{"error", to_json(policy.error())}};
    return std::nullopt;
  }
  return std::move(policy).value();
}

bool decode_rate_counts(const Json& j, RateCounts* out, std::string* error) {
  if (!j.is_object() || !stray_key(j, {"returned", "accepted"}).empty()) {
    *error = "counts must be {returned, accepted}";
    return false;
  }
  const Json* r = find_key(j, "returned");
  const Json* a = find_key(j, "accepted");
  if ((r != nullptr && !as_i64(*r, &out->returned)) ||
      (a != nullptr && !as_i64(*a, &out->accepted))) {
    *error = "counts must be integers";
    return false;
  }
  return true;
}

Json run_policy(const Json& input) {
  if (auto k = stray_key(input, {"policy", "input"}); !k.empty()) {
    return runner_error("policy: unknown key " + k);
  }
  Json err;
  auto policy = policy_of(input, &err);
  if (!policy) return err;
  const Json* in = find_key(input, "input");
  if (in == nullptr || !in->is_object()) return runner_error("policy: input object required");
  if (auto k = stray_key(*in, {"delivered_at", "now", "reason", "price_cents", "trailing_30d",
                               "auto_accepted_today"});
      !k.empty()) {
    return runner_error("policy: unknown input key " + k);
  }
  PolicyInput pi;
  const Json* d = find_key(*in, "delivered_at");
  const Json* n = find_key(*in, "now");
  if (d == nullptr || n == nullptr || !as_i64(*d, &pi.delivered_at) || !as_i64(*n, &pi.now)) {
    return runner_error("policy: input.delivered_at and input.now (integers) required");
  }
  if (const Json* r = find_key(*in, "reason")) {
    const std::string* s = as_string(*r);
    if (s == nullptr || !reason_from_string(*s)) return runner_error("policy: bad input.reason");
    pi.reason = reason_from_string(*s);
  }
  if (const Json* p = find_key(*in, "price_cents"); p != nullptr && !as_i64(*p, &pi.price_cents)) {
    return runner_error("policy: input.price_cents must be an integer");
  }
  std::string error;
  if (const Json* t = find_key(*in, "trailing_30d");
      t != nullptr && !decode_rate_counts(*t, &pi.trailing_30d, &error)) {
    return runner_error("policy: input.trailing_30d: " + error);
  }
  if (const Json* a = find_key(*in, "auto_accepted_today")) {
    if (!a->is_object()) return runner_error("policy: auto_accepted_today must be an object");
    for (auto it = a->begin(); it != a->end(); ++it) {
      int count = 0;
      if (!as_int(it.value(), &count)) return runner_error("policy: auto_accepted_today counts");
      pi.auto_accepted_today[it.key()] = count;
    }
  }
  return to_json(evaluate_policy(*policy, pi));
}

// --- Kind: evidence -----------------------------------------------------------------------------

Json run_evidence(const Json& input) {
  if (auto k = stray_key(input, {"world", "lead_id", "reason"}); !k.empty()) {
    return runner_error("evidence: unknown key " + k);
  }
  std::string error;
  auto st = load_world(input, &error);
  if (!st) return runner_error("evidence: " + error);
  const Json* lid = find_key(input, "lead_id");
  const Json* rs = find_key(input, "reason");
  if (lid == nullptr || !lid->is_string() || rs == nullptr || !rs->is_string()) {
    return runner_error("evidence: lead_id and reason (strings) required");
  }
  auto reason = reason_from_string(rs->get<std::string>());
  if (!reason) return runner_error("evidence: unknown reason");
  const Lead* lead = st->find_lead(lid->get<std::string>());
  if (lead == nullptr) return runner_error("evidence: lead not in the world");
  const Campaign* campaign = st->find_campaign(lead->campaign_id);
  const Buyer* buyer = st->find_buyer(lead->buyer_id);
  if (campaign == nullptr || buyer == nullptr) {
    return runner_error("evidence: the lead's campaign and buyer must be in the world");
  }
  return to_json(compute_evidence(*reason, *lead, *campaign, *buyer, *st));
}

// --- Kind: op -----------------------------------------------------------------------------------

// State JSON with every array of rows that carry unique string ids turned into an object keyed
// by id, so expectations can name rows ("returns": {"R1": {"state": "accepted"}}).
Json key_rows_by_id(const Json& state) {
  if (!state.is_object()) return state;
  Json out = Json::object();
  for (auto it = state.begin(); it != state.end(); ++it) {
    const Json& v = it.value();
    bool keyable = v.is_array();
    std::set<std::string> ids;
    if (keyable) {
      for (const Json& row : v) {
        const Json* id = find_key(row, "id");
        if (id == nullptr || !id->is_string() || !ids.insert(id->get<std::string>()).second) {
          keyable = false;
          break;
        }
      }
    }
    if (!keyable) {
      out[it.key()] = v;
      continue;
    }
    Json rows = Json::object();
    for (const Json& row : v) rows[row["id"].get<std::string>()] = row;
    out[it.key()] = std::move(rows);
  }
  return out;
}

std::set<std::string> ids_in(const Json& state, const std::string& key) {
  std::set<std::string> ids;
  const Json* rows = find_key(state, key);
  if (rows != nullptr && rows->is_array()) {
    for (const Json& row : *rows) {
      const Json* id = find_key(row, "id");
      if (id != nullptr && id->is_string()) ids.insert(id->get<std::string>());
    }
  }
  return ids;
}

// Balances as the MemoryState holds them, plus the ledger summed by kind independently, so a
// duplicated entry shows up as a mismatch between the two.
Json money_of(const MemoryState& st, const Json& raw_state) {
  const Balances& b = st.balances();
  Json wallet = Json::object();
  Json accrued = Json::object();
  for (const auto& id : ids_in(raw_state, "buyers")) {
    wallet[id] = b.wallet(id);
    accrued[id] = b.accrued_adjustment(id);
  }
  std::set<std::string> suppliers = ids_in(raw_state, "suppliers");
  for (const auto& [id, lead] : st.leads()) {
    if (!lead.supplier_id.empty()) suppliers.insert(lead.supplier_id);
  }
  Json chargebacks = Json::object();
  for (const auto& id : suppliers) chargebacks[id] = b.chargebacks(id);
  std::map<std::string, Money> by_kind;
  for (EntryKind k : {EntryKind::revenue_reversal, EntryKind::wallet_credit,
                      EntryKind::invoice_adjustment, EntryKind::supplier_chargeback}) {
    by_kind[std::string(to_string(k))] = 0;
  }
  for (const LedgerEntry& e : st.ledger())
    by_kind[std::string(to_string(e.kind))] += e.amount_cents;
  Json totals = Json::object();
  for (const auto& [k, v] : by_kind) totals[k] = v;
  return Json{{"revenue_reversed", b.revenue_reversed()},
              {"wallet", wallet},
              {"accrued_adjustment", accrued},
              {"chargebacks", chargebacks},
              {"ledger_totals", totals}};
}

Json rejected(const Error& e) {
  return Json{
      {"status", "rejected"}, {"code", std::string(to_string(e.code))}, {"error", to_json(e)}};
}

Json run_op(const Json& input) {
  if (auto k = stray_key(input, {"world", "steps", "now"}); !k.empty()) {
    return runner_error("op: unknown key " + k);
  }
  std::string error;
  auto st = load_world(input, &error);
  if (!st) return runner_error("op: " + error);
  std::optional<Millis> default_now;
  if (const Json* n = find_key(input, "now")) {
    Millis v = 0;
    if (!as_i64(*n, &v)) return runner_error("op: now must be an integer");
    default_now = v;
  }
  const Json* steps = find_key(input, "steps");
  if (steps == nullptr || !steps->is_array()) return runner_error("op: steps array required");
  Json results = Json::array();
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const Json& step = (*steps)[i];
    const std::string at = "op: step " + std::to_string(i) + ": ";
    if (!step.is_object()) return runner_error(at + "not an object");
    if (auto k = stray_key(step, {"actor", "op", "args", "now", "commit_twice", "comment"});
        !k.empty()) {
      return runner_error(at + "unknown key " + k);
    }
    const Json* opname = find_key(step, "op");
    const Json* actor_json = find_key(step, "actor");
    if (opname == nullptr || !opname->is_string() || actor_json == nullptr) {
      return runner_error(at + "actor and op (string) required");
    }
    Millis now = 0;
    if (const Json* n = find_key(step, "now")) {
      if (!as_i64(*n, &now)) return runner_error(at + "now must be an integer");
    } else if (default_now) {
      now = *default_now;
    } else {
      return runner_error(at + "now required (per step or for the case)");
    }
    bool commit_twice = false;
    if (const Json* c = find_key(step, "commit_twice")) {
      if (!c->is_boolean()) return runner_error(at + "commit_twice must be a boolean");
      commit_twice = c->get<bool>();
    }
    const Json* args_json = find_key(step, "args");
    const Json args_value = args_json == nullptr ? Json::object() : *args_json;

    auto actor = decode_actor(expand_actor(*actor_json));
    if (!actor.ok()) {
      results.push_back(rejected(actor.error()));
      continue;
    }
    auto args = decode_op_args(opname->get<std::string>(), args_value);
    if (!args.ok()) {
      results.push_back(rejected(args.error()));
      continue;
    }
    auto effects = apply_op(*actor, *args, *st, now);
    if (effects.ok()) {
      st->commit(*effects);
      if (commit_twice) st->commit(*effects);
      results.push_back(Json{{"status", "applied"}, {"effects", to_json(*effects)}});
      continue;
    }
    Json r = rejected(effects.error());
    if (const auto* submit = std::get_if<SubmitReturnArgs>(&args.value())) {
      // The product rule: a refused submit keeps the buyer's draft with the refusal on it.
      auto kept = keep_refused_draft(*actor, *submit, effects.error(), *st, now);
      r["kept_draft"] = kept.has_value();
      if (kept) st->commit(*kept);
    }
    results.push_back(std::move(r));
  }
  const Json raw_state = st->to_json();
  Json counts = {{"leads", st->leads().size()},
                 {"returns", st->returns().size()},
                 {"ledger", st->ledger().size()},
                 {"messages", st->messages().size()}};
  return Json{{"results", results},
              {"state", key_rows_by_id(raw_state)},
              {"counts", counts},
              {"money", money_of(*st, raw_state)}};
}

// --- Kinds: validate, preview -------------------------------------------------------------------

Json run_draft_check(const Json& input, bool preview) {
  if (auto k = stray_key(input, {"world", "actor", "draft", "now"}); !k.empty()) {
    return runner_error("validate/preview: unknown key " + k);
  }
  std::string error;
  auto st = load_world(input, &error);
  if (!st) return runner_error("validate/preview: " + error);
  const Json* a = find_key(input, "actor");
  const Json* d = find_key(input, "draft");
  const Json* n = find_key(input, "now");
  Millis now = 0;
  if (a == nullptr || d == nullptr || n == nullptr || !as_i64(*n, &now)) {
    return runner_error("validate/preview: actor, draft and now (integer) required");
  }
  auto actor = decode_actor(expand_actor(*a));
  if (!actor.ok()) return Json{{"error", to_json(actor.error())}};
  auto draft = decode_draft(*d);
  if (!draft.ok()) return Json{{"error", to_json(draft.error())}};
  if (preview) return to_json(preview_draft(*actor, *draft, *st, now));
  return to_json(validate_draft(*actor, *draft, *st, now));
}

// --- Kind: decode -------------------------------------------------------------------------------

template <class T>
Json decoded(const Result<T>& r) {
  if (!r.ok()) return Json{{"ok", false}, {"error", to_json(r.error())}};
  return Json{{"ok", true}, {"value", to_json(r.value())}};
}

// HistoricalReturn has no encoder in the core; this spelling mirrors its members.
Json historical_to_json(const HistoricalReturn& h) {
  return Json{{"return_id", h.return_id},
              {"delivered_at", h.delivered_at},
              {"submitted_at", h.submitted_at},
              {"reason", std::string(to_string(h.reason))},
              {"price_cents", h.price_cents},
              {"trailing_30d",
               {{"returned", h.trailing_30d.returned}, {"accepted", h.trailing_30d.accepted}}},
              {"actual", std::string(to_string(h.actual))},
              {"credit_cents", h.credit_cents}};
}

Json run_decode(const Json& input) {
  if (auto k = stray_key(input, {"type", "json"}); !k.empty()) {
    return runner_error("decode: unknown key " + k);
  }
  const Json* t = find_key(input, "type");
  const Json* j = find_key(input, "json");
  if (t == nullptr || !t->is_string() || j == nullptr) {
    return runner_error("decode: type (string) and json required");
  }
  const std::string type = t->get<std::string>();
  if (type == "lead") return decoded(decode_lead(*j));
  if (type == "buyer") return decoded(decode_buyer(*j));
  if (type == "supplier") return decoded(decode_supplier(*j));
  if (type == "campaign") return decoded(decode_campaign(*j));
  if (type == "return") return decoded(decode_return(*j));
  if (type == "message") return decoded(decode_message(*j));
  if (type == "ledger_entry") return decoded(decode_ledger_entry(*j));
  if (type == "policy") return decoded(decode_policy(*j));
  if (type == "actor") return decoded(decode_actor(*j));
  if (type == "draft") {
    auto r = decode_draft(*j);
    if (!r.ok()) return Json{{"ok", false}, {"error", to_json(r.error())}};
    Json v = {{"return_id", r->return_id}, {"lead_id", r->lead_id}, {"note", r->note}};
    if (r->reason) v["reason"] = std::string(to_string(*r->reason));
    return Json{{"ok", true}, {"value", v}};
  }
  if (type == "historical_return") {
    auto r = decode_historical_return(*j);
    if (!r.ok()) return Json{{"ok", false}, {"error", to_json(r.error())}};
    return Json{{"ok", true}, {"value", historical_to_json(*r)}};
  }
  if (type == "json_text") {
    const std::string* s = as_string(*j);
    if (s == nullptr) return runner_error("decode: json_text needs a string");
    auto r = parse_json(*s);
    if (!r.ok()) return Json{{"ok", false}, {"error", to_json(r.error())}};
    return Json{{"ok", true}, {"value", r.value()}};
  }
  if (type.rfind("op:", 0) == 0) return decoded(decode_op_args(type.substr(3), *j));
  return runner_error("decode: unknown type " + type);
}

// --- Kind: whatif -------------------------------------------------------------------------------

Json run_whatif(const Json& input) {
  if (auto k = stray_key(input, {"policy", "history"}); !k.empty()) {
    return runner_error("whatif: unknown key " + k);
  }
  Json err;
  auto policy = policy_of(input, &err);
  if (!policy) return err;
  const Json* h = find_key(input, "history");
  if (h == nullptr || !h->is_array()) return runner_error("whatif: history array required");
  std::vector<HistoricalReturn> history;
  for (std::size_t i = 0; i < h->size(); ++i) {
    auto item = decode_historical_return((*h)[i]);
    if (!item.ok()) return Json{{"error", to_json(item.error())}, {"index", i}};
    history.push_back(std::move(item).value());
  }
  return to_json(what_if(*policy, std::move(history)));
}

Json dispatch(const std::string& kind, const Json& input) {
  if (kind == "policy") return run_policy(input);
  if (kind == "evidence") return run_evidence(input);
  if (kind == "op") return run_op(input);
  if (kind == "validate") return run_draft_check(input, false);
  if (kind == "preview") return run_draft_check(input, true);
  if (kind == "decode") return run_decode(input);
  if (kind == "whatif") return run_whatif(input);
  return runner_error("unknown kind " + kind);
}

bool numbers_equal(const Json& e, const Json& a) {
  const bool e_int = e.is_number_integer();
  const bool a_int = a.is_number_integer();
  if (e_int && a_int) {
    if (e.is_number_unsigned() && a.is_number_unsigned()) {
      return e.get<std::uint64_t>() == a.get<std::uint64_t>();
    }
    std::int64_t x = 0;
    std::int64_t y = 0;
    // An unsigned beyond int64 never equals a signed value.
    if (!as_i64(e, &x) || !as_i64(a, &y)) return false;
    return x == y;
  }
  const double x = e.get<double>();
  const double y = a.get<double>();
  if (x == y) return true;
  const double scale = std::max({1.0, std::fabs(x), std::fabs(y)});
  return std::fabs(x - y) <= 1e-12 * scale;
}

bool subset_at(const Json& e, const Json& a, const std::string& path, std::string* where) {
  auto fail = [&](const std::string& what) {
    if (where != nullptr) {
      *where = (path.empty() ? "/" : path) + ": " + what + " (expected " + dump_safe(e, -1, 200) +
               ", actual " + dump_safe(a, -1, 200) + ")";
    }
    return false;
  };
  if (e.is_object()) {
    if (!a.is_object()) return fail("expected an object");
    for (auto it = e.begin(); it != e.end(); ++it) {
      auto found = a.find(it.key());
      const std::string sub = path + "/" + escape_pointer_token(it.key());
      if (found == a.end()) {
        if (where != nullptr) {
          *where = sub + ": missing (expected " + dump_safe(it.value(), -1, 200) + ")";
        }
        return false;
      }
      if (!subset_at(it.value(), *found, sub, where)) return false;
    }
    return true;
  }
  if (e.is_array()) {
    if (!a.is_array()) return fail("expected an array");
    if (e.size() != a.size()) {
      return fail("array length " + std::to_string(e.size()) + " vs " + std::to_string(a.size()));
    }
    for (std::size_t i = 0; i < e.size(); ++i) {
      if (!subset_at(e[i], a[i], path + "/" + std::to_string(i), where)) return false;
    }
    return true;
  }
  if (e.is_number()) {
    if (!a.is_number() || !numbers_equal(e, a)) return fail("different value");
    return true;
  }
  if (e.type() != a.type() || e != a) return fail("different value");
  return true;
}

}  // namespace

const std::vector<std::string>& supported_kinds() {
  static const std::vector<std::string> kKinds = {"policy",  "evidence", "op",    "validate",
                                                  "preview", "decode",   "whatif"};
  return kKinds;
}

Json run_case(const std::string& kind, const Json& input) {
#if defined(__cpp_exceptions)
  try {
#endif
    if (!input.is_object()) return runner_error("input must be an object");
    Json patched = input;
    std::string error;
    if (!apply_string_patches(patched, &error)) return runner_error(error);
    return dispatch(kind, patched);
#if defined(__cpp_exceptions)
  } catch (const std::exception& e) {
    return runner_error(std::string("exception: ") + e.what());
  } catch (...) {
    return runner_error("unknown exception");
  }
#endif
}

bool json_subset(const Json& expected, const Json& actual, std::string* where) {
  return subset_at(expected, actual, "", where);
}

std::string dump_safe(const Json& j, int indent, std::size_t max_chars) {
  std::string s = j.dump(indent, ' ', false, Json::error_handler_t::replace);
  if (max_chars > 0 && s.size() > max_chars) s = s.substr(0, max_chars) + "…";
  return s;
}

bool parse_vector_file(std::string_view text, VectorFile* out, std::string* error) {
  const Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) {
    *error = "not valid JSON";
    return false;
  }
  if (!doc.is_object()) {
    *error = "top level must be an object";
    return false;
  }
  if (auto k = stray_key(doc, {"kind", "description", "base", "cases", "generator", "comment"});
      !k.empty()) {
    *error = "unknown top-level key " + k;
    return false;
  }
  const Json* kind = find_key(doc, "kind");
  const Json* desc = find_key(doc, "description");
  const Json* base = find_key(doc, "base");
  const Json* cases = find_key(doc, "cases");
  if (kind == nullptr || !kind->is_string()) {
    *error = "kind (string) required";
    return false;
  }
  auto supported = [](const std::string& k) {
    for (const auto& s : supported_kinds()) {
      if (s == k) return true;
    }
    return false;
  };
  VectorFile file;
  file.kind = kind->get<std::string>();
  if (file.kind != "mixed" && !supported(file.kind)) {
    *error = "unsupported kind " + file.kind;
    return false;
  }
  if (desc != nullptr) {
    if (!desc->is_string()) {
      *error = "description must be a string";
      return false;
    }
    file.description = desc->get<std::string>();
  }
  if (base != nullptr) {
    if (!base->is_object()) {
      *error = "base must be an object";
      return false;
    }
    file.base = *base;
  }
  if (cases == nullptr || !cases->is_array()) {
    *error = "cases (array) required";
    return false;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const Json& c = (*cases)[i];
    const std::string at = "case " + std::to_string(i) + ": ";
    if (!c.is_object()) {
      *error = at + "not an object";
      return false;
    }
    if (auto k = stray_key(c, {"name", "kind", "input", "expect", "comment"}); !k.empty()) {
      *error = at + "unknown key " + k;
      return false;
    }
    const Json* name = find_key(c, "name");
    const Json* ckind = find_key(c, "kind");
    const Json* input = find_key(c, "input");
    const Json* expect = find_key(c, "expect");
    if (name == nullptr || !name->is_string() || name->get<std::string>().empty()) {
      *error = at + "name (non-empty string) required";
      return false;
    }
    VectorCase vc;
    vc.name = name->get<std::string>();
    if (!names.insert(vc.name).second) {
      *error = at + "duplicate name " + vc.name;
      return false;
    }
    vc.kind = file.kind;
    if (ckind != nullptr) {
      if (!ckind->is_string() || !supported(ckind->get<std::string>())) {
        *error = at + "unsupported kind";
        return false;
      }
      vc.kind = ckind->get<std::string>();
    }
    if (vc.kind == "mixed") {
      *error = at + "a case in a mixed file must name its kind";
      return false;
    }
    if (input != nullptr && !input->is_object()) {
      *error = at + "input must be an object";
      return false;
    }
    if (expect == nullptr || !expect->is_object() || expect->empty()) {
      *error = at + "expect (non-empty object) required";
      return false;
    }
    vc.input = file.base;
    if (input != nullptr) vc.input.merge_patch(*input);
    vc.expect = *expect;
    file.cases.push_back(std::move(vc));
  }
  *out = std::move(file);
  return true;
}

bool load_vector_file(const std::string& path, VectorFile* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (!parse_vector_file(buf.str(), out, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace returns::vectors
