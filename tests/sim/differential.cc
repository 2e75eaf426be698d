// differential.cc — the shadow buyer and the preview/decision comparison.
#include "differential.h"

namespace returns::sim {

ShadowBuyer::ShadowBuyer(const std::string& buyer_id)
    : replica_(std::make_unique<sync::MemoryReplica>()),
      engine_(*replica_, sync::EngineConfig{"shadow-" + buyer_id, "buyer:" + buyer_id, 250}) {}

void ShadowBuyer::advance(const std::vector<sync::StoredEvent>& events,
                          const sync::Principal& principal, std::int64_t to, Millis now) {
  if (engine_.phase() == sync::SyncPhase::disconnected) {
    (void)engine_.on_connected(now);
    sync::Welcome w;
    w.server_time = now;
    w.principal = principal;
    (void)engine_.on_frame(sync::encode_welcome(w), now);
    (void)engine_.on_frame(sync::encode_synced(0), now);
  }
  const std::int64_t from = engine_.cursor();
  if (to <= from) return;
  std::vector<sync::StoredEvent> page;
  for (const sync::StoredEvent& e : events) {
    if (e.version > from && e.version <= to) page.push_back(e);
  }
  if (auto frame = sync::changes_frame(page, principal, from, to)) {
    (void)engine_.on_frame(*frame, now);
  }
  (void)engine_.take_outgoing();
  (void)engine_.take_notices();
}

bool ShadowBuyer::holds_lead(const std::string& lead_id, Millis now) {
  return engine_.row("lead", lead_id, now).has_value();
}

std::vector<std::string> compare_decision(const Preview& pv, Money price,
                                          const std::optional<SubmitDecision>& decision,
                                          std::optional<ErrorCode> refusal) {
  std::vector<std::string> out;
  const std::optional<ErrorCode> previewed =
      pv.validation.errors.empty() ? std::nullopt
                                   : std::optional<ErrorCode>(pv.validation.errors.front().code);
  if (refusal || !decision) {
    if (previewed != refusal) {
      out.push_back(std::string("refusal: preview ") +
                    (previewed ? std::string(to_string(*previewed)) : "none") + ", server " +
                    (refusal ? std::string(to_string(*refusal)) : "none"));
    }
    return out;
  }
  if (previewed) {
    out.push_back("preview refuses with " + std::string(to_string(*previewed)) +
                  ", the server applied it");
    return out;
  }
  if (!pv.evaluation || !pv.facts) {
    out.push_back("the preview has no evaluation");
    return out;
  }
  if (pv.evaluation->decision != decision->outcome) {
    out.push_back("outcome: preview " + std::string(to_string(pv.evaluation->decision)) +
                  ", server " + std::string(to_string(decision->outcome)));
  }
  if (pv.evaluation->rule != decision->rule) {
    out.push_back("rule: preview '" + pv.evaluation->rule + "', server '" + decision->rule + "'");
  }
  const Money credit = pv.evaluation->decision == Verdict::auto_accept ? price : 0;
  if (credit != decision->credit_cents) {
    out.push_back("credit: preview " + std::to_string(credit) + ", server " +
                  std::to_string(decision->credit_cents));
  }
  const bool same_evidence =
      pv.evidence.has_value() == decision->evidence.has_value() &&
      (!pv.evidence || (pv.evidence->verdict == decision->evidence->verdict &&
                        pv.evidence->code == decision->evidence->code));
  if (!same_evidence) {
    out.push_back("evidence: preview " + (pv.evidence ? pv.evidence->code : "none") + ", server " +
                  (decision->evidence ? decision->evidence->code : "none"));
  }
  if (*pv.facts != decision->facts) {
    out.push_back("facts: preview " + to_json(*pv.facts).dump() + ", server " +
                  to_json(decision->facts).dump());
  }
  return out;
}

}  // namespace returns::sim
