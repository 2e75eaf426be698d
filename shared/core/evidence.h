// evidence.h — what the core can say about a return reason from data it already has
// (docs/domain.md, the evidence table): whether the lead's own facts support the reason, contradict
// it (a warning to the buyer), or cannot be checked here.
#pragma once

#include <string>

#include "core/domain.h"

namespace returns {

// Read-only question the evidence rules ask of the buyer's delivery history. The store answers
// it from an index; the browser replica from the buyer's own leads; tests from memory.
class DeliveryHistory {
 public:
  virtual ~DeliveryHistory() = default;
  // True when a lead other than `lead_id` with the same contact hash was delivered to `buyer_id`
  // strictly before `delivered_at` (ties broken by lead id: an equal time counts when the other
  // lead's id sorts first, so exactly one of two simultaneous leads is the duplicate).
  virtual bool delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                                const std::string& lead_id, Millis delivered_at) const = 0;
};

enum class EvidenceVerdict { supports, warns, cannot_verify, none };
std::string_view to_string(EvidenceVerdict);

struct Evidence {
  Reason reason = Reason::other;
  EvidenceVerdict verdict = EvidenceVerdict::none;
  std::string code;            // stable machine code, e.g. "vertical_mismatch", "tcpa_not_flagged"
  std::string sentence;        // one human sentence for the portal
  bool routing_alert = false;  // out_of_service_area supported: the routing filter let it through
  friend bool operator==(const Evidence&, const Evidence&) = default;
};

// REQUIRES: campaign.id == lead.campaign_id, buyer.id == lead.buyer_id.
Evidence compute_evidence(Reason reason, const Lead& lead, const Campaign& campaign,
                          const Buyer& buyer, const DeliveryHistory& history);

}  // namespace returns
