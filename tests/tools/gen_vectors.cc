// gen_vectors.cc — writes a golden-vector file of seeded random cases (kinds policy, evidence,
// op, validate/preview) whose "expect" is the native build's full result. The wasm run of
// vectors_test then has to reproduce every byte of it, which is what proves the two targets
// decide identically. Usage:
//
//   gen_vectors <out.json> [--seed N] [--count N]
//
// Deterministic: a self-contained splitmix64 generator and integer arithmetic only (no
// <random> distributions, whose output differs between standard libraries), so the same seed
// writes the same file on every machine.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vector_runner.h"

namespace {

using returns::vectors::Json;

constexpr std::int64_t kT0 = 1704067200000;  // 2024-01-01T00:00:00Z
constexpr std::int64_t kHour = 3600000;
constexpr std::int64_t kDay = 24 * kHour;

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for test data; n > 0.
  std::int64_t below(std::int64_t n) {
    return static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(n));
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) { return lo + below(hi - lo + 1); }
  bool percent(int p) { return below(100) < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(below(static_cast<std::int64_t>(v.size())))];
  }

 private:
  std::uint64_t state_;
};

const std::vector<std::string> kReasons = {"bad_contact", "wrong_vertical",      "duplicate",
                                           "tcpa_risk",   "out_of_service_area", "other"};
const std::vector<std::string> kVerticals = {"mva", "solar", "slip_and_fall"};
const std::vector<std::string> kStates = {"CA", "NV", "TX", "NY", "AZ"};
const std::vector<std::string> kZips = {"90210", "89101", "73301", "10001", "85001", "", "94105"};
const std::vector<std::string> kZipPrefixes = {"9", "89", "100", "7", "850"};
const std::vector<std::string> kNotes = {"",
                                         "short",
                                         "0123456789",
                                         "Number disconnected; email bounced twice.",
                                         "The consumer says they never filled in a form.",
                                         "éééééééééé"};

double rate_from_bp(std::int64_t bp) { return static_cast<double>(bp) / 10000.0; }

std::int64_t pick_bp(SplitMix64& rng) {
  static const std::vector<std::int64_t> kBp = {0,    500,  800,  1000, 1500,
                                                2000, 2500, 3333, 5000, 10000};
  return rng.percent(70) ? rng.pick(kBp) : rng.between(0, 10000);
}

// A policy; `valid_only` false lets a few contradict themselves (decode errors are results too).
Json gen_policy(SplitMix64& rng, bool valid_only) {
  static const std::vector<std::int64_t> kWindows = {1,   6,   24,  48,  72,  168,
                                                     168, 168, 336, 720, 8760};
  Json p;
  const std::int64_t mode = rng.below(100);
  p["mode"] = mode < 15 ? "always_accept" : mode < 30 ? "manual" : "rules";
  const std::int64_t window = rng.percent(90) ? rng.pick(kWindows) : rng.between(1, 8760);
  p["window_hours"] = window;
  if (rng.percent(35)) p["min_age_hours"] = rng.between(0, std::min<std::int64_t>(window - 1, 48));
  if (rng.percent(40)) p["cap_rate"] = rate_from_bp(pick_bp(rng));
  Json rules = Json::array();
  const std::int64_t n = rng.between(0, 4);
  for (std::int64_t i = 0; i < n; ++i) {
    Json r;
    r["id"] = i == 0 && rng.percent(50) ? std::string("within_24h") : "r" + std::to_string(i + 1);
    if (rng.percent(50)) {
      static const std::vector<std::int64_t> kAges = {1, 6, 24, 48};
      const std::int64_t age = rng.percent(20) ? window : rng.pick(kAges);
      r["max_age_hours"] = std::min(age, window);
    }
    if (rng.percent(40)) {
      Json reasons = Json::array();
      for (const auto& reason : kReasons) {
        if (rng.percent(35)) reasons.push_back(reason);
      }
      r["reasons"] = reasons;
    }
    if (rng.percent(35)) {
      static const std::vector<std::int64_t> kPrices = {0, 1000, 4999, 5000, 5001, 10000};
      r["max_price_cents"] = rng.percent(80) ? rng.pick(kPrices) : rng.between(0, 100000);
    }
    if (rng.percent(30)) r["max_return_rate"] = rate_from_bp(pick_bp(rng));
    if (rng.percent(30)) r["max_auto_per_day"] = rng.between(0, 5);
    if (r["id"] == "within_24h" && !r.contains("max_age_hours")) r["max_age_hours"] = 24;
    if (r.contains("max_age_hours") && r["max_age_hours"].get<std::int64_t>() > window) {
      r["max_age_hours"] = window;
    }
    rules.push_back(r);
  }
  // Keep ids unique (the first rule may be within_24h, the rest r<n>).
  p["rules"] = rules;
  if (!valid_only && rng.percent(6)) {
    switch (rng.below(4)) {
      case 0:
        p["min_age_hours"] = window;
        break;
      case 1:
        p["window_hours"] = 8761;
        break;
      case 2:
        p["cap_rate"] = 1.5;
        break;
      default:
        p["max_age"] = 24;
        break;  // unknown field
    }
  }
  return p;
}

// An age (now - delivered_at) near the boundaries the policy cares about.
std::int64_t gen_age(SplitMix64& rng, const Json& policy) {
  std::vector<std::int64_t> marks = {0, 24 * kHour};
  const auto window = policy.value("window_hours", std::int64_t{168});
  marks.push_back(window * kHour);
  marks.push_back(std::max<std::int64_t>(0, window - 24) * kHour);
  if (policy.contains("min_age_hours")) {
    marks.push_back(policy["min_age_hours"].get<std::int64_t>() * kHour);
  }
  if (policy.contains("rules") && policy["rules"].is_array()) {
    for (const auto& r : policy["rules"]) {
      if (r.contains("max_age_hours"))
        marks.push_back(r["max_age_hours"].get<std::int64_t>() * kHour);
    }
  }
  const std::int64_t kind = rng.below(10);
  if (kind < 6) {
    static const std::vector<std::int64_t> kJitter = {-1, 0, 1, -kHour, kHour};
    const std::int64_t mark = rng.pick(marks);  // separate statements: operand order is unspecified
    return mark + rng.pick(kJitter);
  }
  if (kind < 9) return rng.between(0, (window + 24) * kHour);
  return -rng.between(1, 2 * kHour);
}

Json gen_policy_case(SplitMix64& rng) {
  Json policy = gen_policy(rng, false);
  Json in;
  const std::int64_t delivered = kT0 + rng.between(0, 10 * kDay);
  in["delivered_at"] = delivered;
  in["now"] = delivered + gen_age(rng, policy);
  if (rng.percent(90)) in["reason"] = rng.pick(kReasons);
  static const std::vector<std::int64_t> kPrices = {0, 1, 999, 1000, 4999, 5000, 5001, 10000};
  in["price_cents"] = rng.percent(70) ? rng.pick(kPrices) : rng.between(0, 100000);
  const std::int64_t accepted = rng.percent(15) ? 0 : rng.between(1, 200);
  std::int64_t returned = accepted == 0 ? 0 : rng.between(0, accepted);
  if (accepted > 0 && rng.percent(50)) {
    // Land on or next to a limit so strict/inclusive comparisons are exercised.
    const std::int64_t bp = pick_bp(rng);
    returned =
        std::min(accepted, std::max<std::int64_t>(0, bp * accepted / 10000 + rng.between(-1, 1)));
  }
  in["trailing_30d"] = {{"returned", returned}, {"accepted", accepted}};
  Json today = Json::object();
  if (policy["rules"].is_array()) {
    for (const auto& r : policy["rules"]) {
      if (rng.percent(60)) today[r["id"].get<std::string>()] = rng.between(0, 6);
    }
  }
  in["auto_accepted_today"] = today;
  Json input;
  if (rng.percent(90)) input["policy"] = policy;  // else: the default policy
  input["input"] = in;
  return input;
}

struct World {
  Json json;
  std::vector<std::string> buyers;
  std::map<std::string, std::string> lead_buyer;
  std::map<std::string, std::int64_t> lead_price;
  std::map<std::string, std::int64_t> lead_delivered;
  std::vector<std::string> leads;
  std::map<std::string, std::string> return_lead;  // pre-existing returns
};

World gen_world(SplitMix64& rng, bool with_returns) {
  World w;
  Json buyers = Json::array();
  Json campaigns = Json::array();
  const std::int64_t nb = rng.between(2, 3);
  std::map<std::string, std::string> campaign_vertical;
  std::map<std::string, std::int64_t> campaign_price;
  for (std::int64_t i = 1; i <= nb; ++i) {
    const std::string id = "B" + std::to_string(i);
    Json b = {{"id", id},
              {"name", "Buyer " + std::to_string(i)},
              {"billing", rng.percent(50) ? "prepaid" : "net_terms"}};
    if (rng.percent(50)) {
      Json states = Json::array();
      for (const auto& s : kStates) {
        if (rng.percent(50)) states.push_back(s);
      }
      Json zips = Json::array();
      if (rng.percent(30)) zips.push_back(rng.pick(kZipPrefixes));
      b["coverage"] = {{"states", states}, {"zip_prefixes", zips}};
    }
    if (rng.percent(70)) b["policy"] = gen_policy(rng, true);
    buyers.push_back(b);
    w.buyers.push_back(id);
    const std::string cid = "C" + std::to_string(i);
    const std::string vertical = rng.pick(kVerticals);
    const std::int64_t price = 1000 * rng.between(1, 9);
    campaigns.push_back(
        {{"id", cid}, {"buyer_id", id}, {"vertical", vertical}, {"price_cents", price}});
    campaign_vertical[cid] = vertical;
    campaign_price[cid] = price;
  }
  Json suppliers = Json::array();
  for (const char* sid : {"S1", "S2"}) {
    const bool pass_through = rng.percent(50);
    suppliers.push_back({{"id", sid},
                         {"name", std::string("Supplier ") + sid},
                         {"pass_through_returns", pass_through}});
  }
  Json leads = Json::array();
  const std::int64_t nl = rng.between(3, 6);
  for (std::int64_t i = 1; i <= nl; ++i) {
    const std::string id = "L" + std::to_string(i);
    const std::int64_t b = rng.between(1, nb);
    const std::string buyer = "B" + std::to_string(b);
    const std::string cid = "C" + std::to_string(b);
    const std::int64_t price = rng.percent(80) ? campaign_price[cid] : rng.between(0, 20000);
    // A few shared timestamps so same-millisecond duplicates occur.
    const std::int64_t slot = rng.between(0, 3);
    const std::int64_t skew = rng.percent(30) ? rng.between(1, kDay) : 0;
    const std::int64_t delivered = kT0 - slot * 6 * kHour - skew;
    Json l = {{"id", id},
              {"buyer_id", buyer},
              {"supplier_id", rng.percent(50) ? "S1" : "S2"},
              {"campaign_id", cid},
              {"vertical", rng.percent(80) ? campaign_vertical[cid] : rng.pick(kVerticals)},
              {"state", rng.pick(kStates)},
              {"zip", rng.pick(kZips)},
              {"contact_hash", "h" + std::to_string(rng.between(1, 4))},
              {"tcpa_flag", rng.percent(20)},
              {"price_cents", price},
              {"cost_cents", price == 0 ? 0 : rng.between(0, price)},
              {"delivered_at", delivered}};
    w.lead_buyer[id] = buyer;
    w.lead_price[id] = price;
    w.lead_delivered[id] = delivered;
    w.leads.push_back(id);
    leads.push_back(l);
  }
  Json returns = Json::array();
  if (with_returns) {
    static const std::vector<std::string> kStatesOfReturn = {"draft",    "pending",  "discussion",
                                                             "accepted", "rejected", "withdrawn"};
    const std::int64_t nr = rng.between(0, 2);
    for (std::int64_t i = 0; i < nr && i < nl; ++i) {
      const std::string lead = "L" + std::to_string(i + 1);
      const std::string id = "W" + std::to_string(i + 1);
      const std::string state = rng.pick(kStatesOfReturn);
      Json r = {{"id", id},
                {"lead_id", lead},
                {"buyer_id", w.lead_buyer[lead]},
                {"state", state},
                {"reason", rng.pick(kReasons)}};
      if (state != "draft") r["submitted_at"] = w.lead_delivered[lead] + kHour;
      if (state == "accepted" || state == "rejected") {
        r["decision"] = {{"by", "alice"}, {"at", w.lead_delivered[lead] + 2 * kHour}};
        if (state == "accepted") {
          r["decision"]["credit_cents"] = w.lead_price[lead];
          r["accept_count"] = 1;
          for (auto& l : leads) {
            if (l["id"] == lead) l["status"] = "RETURNED";
          }
        } else {
          r["decision"]["note"] = "Checked.";
        }
      }
      w.return_lead[id] = lead;
      returns.push_back(r);
    }
  }
  w.json = {{"buyers", buyers},
            {"suppliers", suppliers},
            {"campaigns", campaigns},
            {"leads", leads},
            {"returns", returns}};
  return w;
}

Json gen_evidence_case(SplitMix64& rng) {
  World w = gen_world(rng, false);
  return {{"world", w.json}, {"lead_id", rng.pick(w.leads)}, {"reason", rng.pick(kReasons)}};
}

std::string other_buyer(SplitMix64& rng, const World& w, const std::string& buyer) {
  for (int tries = 0; tries < 8; ++tries) {
    const std::string& b = rng.pick(w.buyers);
    if (b != buyer) return b;
  }
  return buyer;
}

Json buyer_actor(const std::string& buyer) { return "buyer:" + buyer; }

Json gen_op_case(SplitMix64& rng) {
  World w = gen_world(rng, true);
  // Return ids a case may use, each bound to the lead it is mostly used with.
  std::map<std::string, std::string> bound = w.return_lead;
  for (int i = 1; i <= 3; ++i) bound["R" + std::to_string(i)] = rng.pick(w.leads);
  std::vector<std::string> ids;
  for (const auto& [id, lead] : bound) ids.push_back(id);
  // Ids a draft or submit has named so far (plus the world's): ops on existing returns mostly
  // pick these, so sequences get past RETURN_NOT_FOUND.
  std::vector<std::string> touched;
  for (const auto& [id, lead] : w.return_lead) touched.push_back(id);

  Json steps = Json::array();
  std::int64_t now = kT0 + rng.between(0, 30) * kHour;
  const std::int64_t n = rng.between(2, 7);
  int message_no = 0;
  for (std::int64_t s = 0; s < n; ++s) {
    const std::int64_t jump = rng.below(10);
    now += jump < 3 ? 0 : jump < 8 ? rng.between(1, 12 * kHour) : rng.between(24, 160) * kHour;
    std::int64_t op = rng.below(100);
    if (touched.empty() && rng.percent(70)) op = 0;  // most sequences start with a submit
    const bool needs_return = op >= 42 && op < 95;
    std::string rid = rng.percent(95) ? rng.pick(ids) : std::string("RX");
    if (needs_return && !touched.empty() && rng.percent(85)) rid = rng.pick(touched);
    if (op < 42 && std::find(touched.begin(), touched.end(), rid) == touched.end()) {
      touched.push_back(rid);
    }
    std::string lead = bound.count(rid) ? bound[rid] : rng.pick(w.leads);
    if (rng.percent(8)) lead = rng.percent(50) ? rng.pick(w.leads) : std::string("LX");
    const std::string owner = w.lead_buyer.count(lead) ? w.lead_buyer[lead] : rng.pick(w.buyers);
    const std::int64_t who = rng.below(100);
    const Json buyer_side = who < 82   ? buyer_actor(owner)
                            : who < 92 ? buyer_actor(other_buyer(rng, w, owner))
                                       : Json("operator");
    const Json operator_side = who < 88 ? Json("operator:alice") : buyer_actor(owner);

    Json step = {{"now", now}};
    if (op < 30) {
      Json args = {{"return_id", rid}, {"lead_id", lead}};
      if (rng.percent(90)) args["reason"] = rng.pick(kReasons);
      if (rng.percent(50)) args["note"] = rng.pick(kNotes);
      step["actor"] = buyer_side;
      step["op"] = "submit_return";
      step["args"] = args;
    } else if (op < 42) {
      Json args = {
          {"return_id", rid}, {"lead_id", lead}, {"drafted_at", now - rng.between(0, kHour)}};
      if (rng.percent(70)) args["reason"] = rng.pick(kReasons);
      if (rng.percent(50)) args["note"] = rng.pick(kNotes);
      step["actor"] = buyer_side;
      step["op"] = "save_draft";
      step["args"] = args;
    } else if (op < 57) {
      Json args = {{"return_id", rid}};
      if (rng.percent(50)) {
        const std::int64_t price = w.lead_price.count(lead) ? w.lead_price[lead] : 5000;
        const std::vector<std::int64_t> credits = {0,     1,         price / 2,
                                                   price, price + 1, rng.between(0, price + 1)};
        args["credit_cents"] = rng.pick(credits);
      }
      if (rng.percent(30)) args["charge_back"] = rng.percent(50);
      step["actor"] = operator_side;
      step["op"] = "accept_return";
      step["args"] = args;
      if (rng.percent(8)) step["commit_twice"] = true;
    } else if (op < 65) {
      step["actor"] = operator_side;
      step["op"] = "reject_return";
      step["args"] = {{"return_id", rid}, {"note", rng.percent(90) ? "Verified by phone." : ""}};
    } else if (op < 73) {
      step["actor"] = buyer_side;
      step["op"] = "withdraw_return";
      step["args"] = {{"return_id", rid}};
    } else if (op < 83) {
      step["actor"] = rng.percent(50) ? buyer_side : operator_side;
      step["op"] = "post_message";
      step["args"] = {{"return_id", rid},
                      {"message_id", "M" + std::to_string(++message_no)},
                      {"body", rng.percent(92) ? "Any update on this one?" : ""}};
    } else if (op < 90) {
      step["actor"] = operator_side;
      step["op"] = "reopen_return";
      step["args"] = {{"return_id", rid}};
    } else if (op < 95) {
      step["actor"] = buyer_side;
      step["op"] = "discard_draft";
      step["args"] = {{"return_id", rid}};
    } else {
      step["actor"] = operator_side;
      step["op"] = "set_policy";
      step["args"] = {{"buyer_id", rng.percent(90) ? owner : std::string("BX")},
                      {"policy", gen_policy(rng, false)}};
    }
    steps.push_back(step);
  }
  return {{"world", w.json}, {"steps", steps}};
}

Json gen_draft_case(SplitMix64& rng) {
  World w = gen_world(rng, true);
  const std::string lead = rng.percent(95) ? rng.pick(w.leads) : std::string("LX");
  const std::string owner = w.lead_buyer.count(lead) ? w.lead_buyer[lead] : rng.pick(w.buyers);
  std::string rid = "RN";
  if (!w.return_lead.empty() && rng.percent(30)) rid = w.return_lead.begin()->first;
  Json draft = {{"return_id", rid}, {"lead_id", lead}};
  if (rng.percent(85)) draft["reason"] = rng.pick(kReasons);
  if (rng.percent(50)) draft["note"] = rng.pick(kNotes);
  const std::int64_t who = rng.below(100);
  const Json actor = who < 85   ? buyer_actor(owner)
                     : who < 95 ? buyer_actor(other_buyer(rng, w, owner))
                                : Json("operator");
  const std::int64_t delivered = w.lead_delivered.count(lead) ? w.lead_delivered[lead] : kT0;
  static const std::vector<std::int64_t> kAges = {
      -1,         0,           kHour,           24 * kHour - 1,
      24 * kHour, 144 * kHour, 144 * kHour + 1, 168 * kHour - 1,
      168 * kHour};
  const std::int64_t age = rng.percent(60) ? rng.pick(kAges) : rng.between(0, 200 * kHour);
  return {{"world", w.json}, {"actor", actor}, {"draft", draft}, {"now", delivered + age}};
}

int usage() {
  std::cerr << "usage: gen_vectors <out.json> [--seed N] [--count N]\n";
  return 2;
}

bool parse_u64(const char* s, std::uint64_t* out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string out_path = argv[1];
  std::uint64_t seed = 20240101;
  std::uint64_t count = 320;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage();
    if (arg == "--seed") {
      if (!parse_u64(argv[++i], &seed)) return usage();
    } else if (arg == "--count") {
      if (!parse_u64(argv[++i], &count) || count == 0 || count > 100000) return usage();
    } else {
      return usage();
    }
  }

  SplitMix64 rng(seed);
  // Shares of the cases by kind, in a fixed rotation so every kind is represented.
  const std::vector<std::string> rotation = {"policy",   "op",     "evidence", "op",
                                             "validate", "policy", "op",       "preview"};
  std::vector<Json> cases;
  std::map<std::string, int> per_kind;
  std::uint64_t skipped = 0;
  for (std::uint64_t attempt = 0; cases.size() < count && attempt < count * 10; ++attempt) {
    const std::string& kind = rotation[attempt % rotation.size()];
    Json input;
    if (kind == "policy") {
      input = gen_policy_case(rng);
    } else if (kind == "evidence") {
      input = gen_evidence_case(rng);
    } else if (kind == "op") {
      input = gen_op_case(rng);
    } else {
      input = gen_draft_case(rng);
    }
    Json actual = returns::vectors::run_case(kind, input);
    if (actual.contains("runner_error")) {
      ++skipped;
      std::cerr << "skipping a " << kind << " case: " << returns::vectors::dump_safe(actual)
                << "\n";
      continue;
    }
    char name[64];
    std::snprintf(name, sizeof name, "%s-%04d", kind.c_str(), ++per_kind[kind]);
    cases.push_back({{"name", name}, {"kind", kind}, {"input", input}, {"expect", actual}});
  }
  if (cases.size() < count) {
    std::cerr << "gen_vectors: only " << cases.size() << " of " << count << " cases\n";
    return 1;
  }

  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "gen_vectors: cannot write " << out_path << "\n";
    return 1;
  }
  const Json generator = {{"tool", "tests/tools/gen_vectors.cc"}, {"seed", seed}, {"count", count}};
  out << "{\n  \"kind\": \"mixed\",\n  \"description\": "
      << Json(
             "Generated by gen_vectors from the native build; do not edit by hand. Every expect "
             "is the full native result, so the wasm run must reproduce it exactly. Regenerate "
             "after an intended behaviour change (see tests/vectors/README.md).")
             .dump()
      << ",\n  \"generator\": " << generator.dump() << ",\n  \"cases\": [\n";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    out << "    " << returns::vectors::dump_safe(cases[i]) << (i + 1 < cases.size() ? ",\n" : "\n");
  }
  out << "  ]\n}\n";
  out.close();
  if (!out) {
    std::cerr << "gen_vectors: write failed\n";
    return 1;
  }
  std::cerr << "gen_vectors: wrote " << cases.size() << " cases to " << out_path;
  for (const auto& [k, v] : per_kind) std::cerr << " " << k << "=" << v;
  std::cerr << " (skipped " << skipped << ")\n";
  return 0;
}
