// differential.h — the simulation's preview = decision check (docs/decision-facts.md).
//
// A ShadowBuyer is a buyer's Client Portal engine fed straight from the server's event log
// through the real scoping rule and the real `changes` frames, with no network, so it can be
// held at exactly the version the server decided a submit on. Its preview of that submit, made
// at the server's clock, must equal the server's decision: outcome, rule, credit, evidence and
// the decision facts themselves. compare_decision() lists every difference.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/decision_facts.h"
#include "sync/engine.h"
#include "sync/memory_replica.h"
#include "sync/server_rules.h"

namespace returns::sim {

class ShadowBuyer {
 public:
  explicit ShadowBuyer(const std::string& buyer_id);

  // Applies the events (cursor, to] as the buyer may see them (scoped with `principal`).
  void advance(const std::vector<sync::StoredEvent>& events, const sync::Principal& principal,
               std::int64_t to, Millis now);
  std::int64_t cursor() const { return engine_.cursor(); }
  bool holds_lead(const std::string& lead_id, Millis now);
  Preview preview(const DraftInput& draft, Millis now) { return engine_.preview(draft, now); }

 private:
  std::unique_ptr<sync::MemoryReplica> replica_;
  sync::Engine engine_;
};

// The differences between a preview and the server's answer to the same submit: `decision` is
// the result's SubmitDecision when applied, `refusal` its code when refused. `price` is the lead's
// (an auto-accept credits it whole).
std::vector<std::string> compare_decision(const Preview& preview, Money price,
                                          const std::optional<SubmitDecision>& decision,
                                          std::optional<ErrorCode> refusal);

}  // namespace returns::sim
