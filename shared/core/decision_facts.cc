// decision_facts.cc — the facts a decision reads, their codecs, digest and explanation.
#include "core/decision_facts.h"

#include <cstdio>

#include "core/json_reader.h"

namespace returns {
namespace {

constexpr std::string_view kAutoPrefix = "auto:";

// "14.8 % (120 of 811)": the rate as the policy sentences say it, to one decimal.
std::string rate_words(RateCounts c) {
  const BasisPoints bp = rate_bp(c);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%d %% (%lld of %lld)", bp / 100, (bp % 100) / 10,
                static_cast<long long>(c.returned), static_cast<long long>(c.accepted));
  return buf;
}

void read_counts(ObjectReader& r, std::string_view key, std::map<std::string, int>& out) {
  const Json* v = r.field(key, false);
  if (v == nullptr) return;
  if (!v->is_object()) return r.wrong_type(key, "an object", *v);
  for (auto it = v->begin(); it != v->end(); ++it) {
    const std::string at = join(join(r.path(), key), it.key());
    if (!is_valid_id(it.key())) {
      return r.fail(ErrorCode::INVALID_ID, at, "Field " + at + " must name a rule id.");
    }
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
        it->get<std::int64_t>() > 1'000'000'000) {
      return r.fail(ErrorCode::INVALID_AMOUNT, at, "Field " + at + " must be a count.");
    }
    out[it.key()] = static_cast<int>(it->get<std::int64_t>());
  }
}

Json counts_json(const std::map<std::string, int>& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace

DecisionFacts decision_facts(const Lead& lead, const Buyer& buyer, const CaseView& view,
                             Millis now) {
  DecisionFacts f;
  f.buyer_id = buyer.id;
  f.lead_id = lead.id;
  f.trailing_30d = view.trailing_counts(buyer.id, now, kTrailingRateDays);
  const std::int64_t day = utc_day(now);
  for (const PolicyRule& rule : buyer.policy.rules) {
    if (rule.max_auto_per_day) {
      f.auto_accepted_today[rule.id] = view.auto_accepted_on_day(buyer.id, rule.id, day);
    }
  }
  f.earlier_delivery =
      view.delivered_before(lead.buyer_id, lead.contact_hash, lead.id, lead.delivered_at);
  f.policy = buyer.policy;
  return f;
}

PolicyInput policy_input(const Lead& lead, const DecisionFacts& facts, std::optional<Reason> reason,
                         Millis now) {
  PolicyInput in;
  in.delivered_at = lead.delivered_at;
  in.now = now;
  in.reason = reason;
  in.price_cents = lead.price_cents;
  in.trailing_30d = facts.trailing_30d;
  in.auto_accepted_today = facts.auto_accepted_today;
  return in;
}

Json to_json(const DecisionFacts& v) {
  return Json{{"buyer_id", v.buyer_id},
              {"lead_id", v.lead_id},
              {"trailing_30d",
               {{"returned", v.trailing_30d.returned}, {"accepted", v.trailing_30d.accepted}}},
              {"auto_accepted_today", counts_json(v.auto_accepted_today)},
              {"earlier_delivery", v.earlier_delivery},
              {"policy", to_json(v.policy)}};
}

Result<DecisionFacts> decode_decision_facts(const Json& j) {
  ObjectReader r(j, "");
  DecisionFacts f;
  r.id("buyer_id", f.buyer_id, true);
  r.id("lead_id", f.lead_id, true);
  if (const Json* t = r.field("trailing_30d", true)) {
    ObjectReader tr(*t, "trailing_30d");
    tr.count("returned", f.trailing_30d.returned, true);
    tr.count("accepted", f.trailing_30d.accepted, true);
    if (Status s = tr.finish(); !s.ok()) r.adopt(s.error());
  }
  read_counts(r, "auto_accepted_today", f.auto_accepted_today);
  r.boolean("earlier_delivery", f.earlier_delivery, true);
  if (const Json* p = r.field("policy", true)) {
    Result<Policy> policy = decode_policy(*p);
    if (policy.ok()) {
      f.policy = std::move(policy).value();
    } else {
      Error e = policy.error();
      e.field = join("policy", e.field);
      r.adopt(e);
    }
  }
  return finish(r, std::move(f));
}

std::string facts_digest(const DecisionFacts& facts) {
  // FNV-1a 64 over the canonical dump (nlohmann orders object keys).
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : to_json(facts).dump()) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<std::string> explain_facts_change(const DecisionFacts& preview,
                                              const DecisionFacts& decision) {
  std::vector<std::string> out;
  if (preview.trailing_30d != decision.trailing_30d) {
    const BasisPoints a = rate_bp(preview.trailing_30d);
    const BasisPoints b = rate_bp(decision.trailing_30d);
    const char* moved = b > a ? "rose" : b < a ? "fell" : "changed";
    out.push_back("Your 30-day return rate " + std::string(moved) + " from " +
                  rate_words(preview.trailing_30d) + " to " + rate_words(decision.trailing_30d) +
                  " since the preview.");
  }
  for (const auto& [rule, n] : decision.auto_accepted_today) {
    auto it = preview.auto_accepted_today.find(rule);
    const int before = it == preview.auto_accepted_today.end() ? 0 : it->second;
    if (before != n) {
      out.push_back("Rule " + rule + " had auto-accepted " + std::to_string(n) +
                    " returns today when your return arrived (" + std::to_string(before) +
                    " at the preview).");
    }
  }
  if (preview.earlier_delivery != decision.earlier_delivery) {
    out.push_back(decision.earlier_delivery
                      ? "An earlier delivery of this contact to you became known since the "
                        "preview."
                      : "The earlier delivery of this contact the preview counted is no longer "
                        "on record.");
  }
  if (preview.policy != decision.policy) {
    out.push_back("Your return policy changed since the preview.");
  }
  return out;
}

std::optional<SubmitDecision> submit_decision(const Effects& fx) {
  if (fx.op != OpKind::submit_return || !fx.evaluation || !fx.facts) return std::nullopt;
  SubmitDecision d;
  d.outcome = fx.evaluation->decision;
  d.rule = fx.evaluation->rule;
  if (fx.ret && fx.ret->decision && fx.ret->state == ReturnState::accepted) {
    d.credit_cents = fx.ret->decision->credit_cents;
  }
  d.evidence = fx.evidence;
  d.facts = *fx.facts;
  return d;
}

Json to_json(const SubmitDecision& v) {
  Json j{{"outcome", to_string(v.outcome)},
         {"rule", v.rule},
         {"credit_cents", v.credit_cents},
         {"facts", to_json(v.facts)},
         {"facts_digest", facts_digest(v.facts)}};
  if (v.evidence) {
    j["evidence"] = Json{{"verdict", to_string(v.evidence->verdict)}, {"code", v.evidence->code}};
  }
  return j;
}

Result<SubmitDecision> decode_submit_decision(const Json& j) {
  ObjectReader r(j, "");
  SubmitDecision d;
  r.enumeration(
      "outcome", d.outcome, true, [](std::string_view s) { return verdict_from_string(s); },
      ErrorCode::INVALID_ENUM);
  r.string("rule", d.rule, false);
  r.money("credit_cents", d.credit_cents, false);
  std::string digest;
  r.string("facts_digest", digest, false);
  if (const Json* e = r.field("evidence", false)) {
    ObjectReader er(*e, "evidence");
    Evidence ev;
    er.enumeration(
        "verdict", ev.verdict, true,
        [](std::string_view s) -> std::optional<EvidenceVerdict> {
          for (EvidenceVerdict v : {EvidenceVerdict::supports, EvidenceVerdict::warns,
                                    EvidenceVerdict::cannot_verify, EvidenceVerdict::none}) {
            if (to_string(v) == s) return v;
          }
          return std::nullopt;
        },
        ErrorCode::INVALID_ENUM);
    er.string("code", ev.code, true);
    if (Status s = er.finish(); !s.ok()) {
      r.adopt(s.error());
    } else {
      d.evidence = ev;
    }
  }
  if (const Json* f = r.field("facts", true)) {
    Result<DecisionFacts> facts = decode_decision_facts(*f);
    if (facts.ok()) {
      d.facts = std::move(facts).value();
    } else {
      Error e = facts.error();
      e.field = join("facts", e.field);
      r.adopt(e);
    }
  }
  return finish(r, std::move(d));
}

std::string buyer_day_id(const std::string& buyer_id, std::int64_t day) {
  return buyer_id + ":" + std::to_string(day);
}

Json to_json(const BuyerDay& v) {
  return Json{{"id", buyer_day_id(v.buyer_id, v.day)},
              {"buyer_id", v.buyer_id},
              {"day", v.day},
              {"sold", v.sold},
              {"returned", v.returned},
              {"auto_accepted", counts_json(v.auto_accepted)}};
}

Result<BuyerDay> decode_buyer_day(const Json& j) {
  ObjectReader r(j, "");
  BuyerDay d;
  std::string id;
  r.string("id", id, true);
  r.id("buyer_id", d.buyer_id, true);
  r.integer("day", d.day, true, 0, kMaxMillis / kMillisPerDay, ErrorCode::INVALID_TIME);
  r.count("sold", d.sold, true);
  r.count("returned", d.returned, true);
  read_counts(r, "auto_accepted", d.auto_accepted);
  if (r.ok() && id != buyer_day_id(d.buyer_id, d.day)) {
    r.fail(ErrorCode::INVALID_ID, "id", "Field id must be <buyer_id>:<day>.");
  }
  return finish(r, std::move(d));
}

std::optional<std::string> auto_rule_of(const Decision& decision) {
  if (decision.by.rfind(kAutoPrefix, 0) != 0) return std::nullopt;
  return decision.by.substr(kAutoPrefix.size());
}

bool counts_as_auto_accept(const ReturnCase& ret, const std::string& rule_id, std::int64_t day) {
  if (ret.state != ReturnState::accepted || !ret.decision) return false;
  const std::optional<std::string> rule = auto_rule_of(*ret.decision);
  return rule && *rule == rule_id && utc_day(ret.decision->at) == day;
}

}  // namespace returns
