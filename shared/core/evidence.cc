// evidence.cc — the evidence table of docs/domain.md, one case per reason.
#include "core/evidence.h"

namespace returns {

std::string_view to_string(EvidenceVerdict v) {
  switch (v) {
    case EvidenceVerdict::supports:
      return "supports";
    case EvidenceVerdict::warns:
      return "warns";
    case EvidenceVerdict::cannot_verify:
      return "cannot_verify";
    case EvidenceVerdict::none:
      return "none";
  }
  return "none";
}

Evidence compute_evidence(Reason reason, const Lead& lead, const Campaign& campaign,
                          const Buyer& buyer, const DeliveryHistory& history) {
  Evidence e;
  e.reason = reason;
  switch (reason) {
    case Reason::bad_contact:
      e.verdict = EvidenceVerdict::none;
      e.code = "no_automatic_check";
      e.sentence = "Contact reachability cannot be checked automatically; a note helps review.";
      break;
    case Reason::wrong_vertical:
      if (lead.vertical != campaign.vertical) {
        e.verdict = EvidenceVerdict::supports;
        e.code = "vertical_mismatch";
        e.sentence = "The lead's vertical (" + lead.vertical + ") differs from the campaign's (" +
                     campaign.vertical + ").";
      } else {
        e.verdict = EvidenceVerdict::warns;
        e.code = "vertical_matches";
        e.sentence = "The lead's vertical matches the campaign's (" + campaign.vertical + ").";
      }
      break;
    case Reason::duplicate:
      if (history.delivered_before(lead.buyer_id, lead.contact_hash, lead.id, lead.delivered_at)) {
        e.verdict = EvidenceVerdict::supports;
        e.code = "earlier_delivery";
        e.sentence = "The same contact was delivered to you earlier.";
      } else {
        e.verdict = EvidenceVerdict::cannot_verify;
        e.code = "other_source";
        e.sentence =
            "No earlier delivery of this contact to you; a duplicate from another "
            "source cannot be verified here.";
      }
      break;
    case Reason::tcpa_risk:
      if (lead.tcpa_flag) {
        e.verdict = EvidenceVerdict::supports;
        e.code = "tcpa_flagged";
        e.sentence = "The lead was flagged by the TCPA blocklist check.";
      } else {
        e.verdict = EvidenceVerdict::warns;
        e.code = "tcpa_not_flagged";
        e.sentence = "The lead was not flagged by the TCPA blocklist check.";
      }
      break;
    case Reason::out_of_service_area:
      if (!buyer.coverage.covers(lead.state, lead.zip)) {
        e.verdict = EvidenceVerdict::supports;
        e.code = "outside_coverage";
        e.routing_alert = true;
        e.sentence = "The lead's location (" + lead.state + (lead.zip.empty() ? "" : " ") +
                     lead.zip + ") is outside your coverage.";
      } else {
        e.verdict = EvidenceVerdict::warns;
        e.code = "inside_coverage";
        e.sentence = "The lead's location (" + lead.state + (lead.zip.empty() ? "" : " ") +
                     lead.zip + ") is inside your coverage.";
      }
      break;
    case Reason::other:
      e.verdict = EvidenceVerdict::none;
      e.code = "free_text";
      e.sentence = "Explain the problem in the note (10 to 2000 characters).";
      break;
  }
  return e;
}

}  // namespace returns
