// validation.cc — the checks a submission must pass, listed in refusal order. submit_return
// (lifecycle.cc) refuses with the first; the portal's validate_draft shows them all.
#include "core/validation.h"

#include "core/decision_facts.h"
#include "core/submission.h"

namespace returns {

bool is_clean_text(const std::string& text, std::size_t* code_points) {
  std::size_t count = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    std::uint32_t cp = 0;
    int extra = 0;
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) return false;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f;
      extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f;
      extra = 2;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0)) {
      return false;
    }
    p += extra + 1;
    ++count;
  }
  if (code_points != nullptr) *code_points = count;
  return true;
}

Status check_note(std::optional<Reason> reason, const std::string& note) {
  std::size_t chars = 0;
  if (!is_clean_text(note, &chars)) {
    return make_error(ErrorCode::INVALID_TEXT, "note",
                      "The note must be valid UTF-8 text without control characters.");
  }
  if (chars > kMaxNoteChars) {
    return make_error(
        ErrorCode::TEXT_TOO_LONG, "note",
        "The note is " + std::to_string(chars) + " characters; at most 2000 are allowed.");
  }
  if (reason == Reason::other && chars < kMinOtherNoteChars) {
    return make_error(ErrorCode::NOTE_REQUIRED, "note",
                      "A return for another reason needs a note of at least 10 characters.");
  }
  return Status::Ok();
}

PolicyInput policy_input_for(const Lead& lead, const Buyer& buyer, std::optional<Reason> reason,
                             const CaseView& view, Millis now) {
  return policy_input(lead, decision_facts(lead, buyer, view, now), reason, now);
}

SubmissionCheck check_submission(const Actor& actor, const std::string& return_id,
                                 const std::string& lead_id, std::optional<Reason> reason,
                                 const std::string& note, const CaseView& view, Millis now) {
  SubmissionCheck out;
  auto issue = [&](std::string field, ErrorCode code, std::string message) {
    out.issues.push_back(FieldIssue{std::move(field), code, std::move(message)});
  };
  if (actor.role != Role::buyer) {
    issue("", ErrorCode::FORBIDDEN, "Only the buyer who bought a lead can return it.");
    return out;
  }
  if (!is_valid_id(return_id)) {
    issue("return_id", ErrorCode::INVALID_ID, "The return id is not valid.");
  } else if (const ReturnCase* existing = view.find_return(return_id)) {
    if (existing->buyer_id != actor.buyer_id) {
      issue("return_id", ErrorCode::FORBIDDEN, "This return belongs to another buyer.");
      return out;
    }
    if (existing->lead_id != lead_id) {
      issue("return_id", ErrorCode::DUPLICATE_ID,
            "This return id is already used for another lead.");
      return out;
    }
    if (existing->state != ReturnState::draft) {
      issue("", ErrorCode::BAD_TRANSITION,
            "This return was already submitted (it is " + std::string(to_string(existing->state)) +
                ").");
      return out;
    }
  }
  out.lead = is_valid_id(lead_id) ? view.find_lead(lead_id) : nullptr;
  if (out.lead == nullptr) {
    issue("lead_id", ErrorCode::LEAD_NOT_FOUND, "No lead with this id was delivered.");
  } else if (out.lead->buyer_id != actor.buyer_id) {
    issue("lead_id", ErrorCode::NOT_YOUR_LEAD, "This lead was sold to another buyer.");
    out.lead = nullptr;
  } else {
    out.buyer = view.find_buyer(out.lead->buyer_id);
    out.campaign = view.find_campaign(out.lead->campaign_id);
    if (out.buyer == nullptr) {
      issue("lead_id", ErrorCode::BUYER_NOT_FOUND, "The lead's buyer is unknown.");
      out.lead = nullptr;
    }
  }
  if (!reason) {
    issue("reason", ErrorCode::REASON_REQUIRED, "Choose a reason for the return.");
  }
  if (Status s = check_note(reason, note); !s.ok()) {
    issue(s.error().field, s.error().code, s.error().message);
  }
  if (out.lead == nullptr) return out;

  if (out.lead->status == LeadStatus::returned) {
    issue("lead_id", ErrorCode::ALREADY_RETURNED, "This lead has already been returned.");
  } else {
    for (const ReturnCase& other : view.returns_for_lead(out.lead->id)) {
      if (other.id != return_id && is_open(other.state)) {
        issue("lead_id", ErrorCode::RETURN_OPEN,
              "Another return of this lead is already under review.");
        break;
      }
    }
  }
  out.facts = decision_facts(*out.lead, *out.buyer, view, now);
  out.evaluation =
      evaluate_policy(out.buyer->policy, policy_input(*out.lead, *out.facts, reason, now));
  if (out.evaluation->decision == Verdict::refused) {
    const ErrorCode code = out.evaluation->refusal.value_or(ErrorCode::WINDOW_CLOSED);
    issue("", code,
          out.evaluation->checks.empty() ? std::string(to_string(code))
                                         : out.evaluation->checks.back().sentence);
  }
  return out;
}

Validation validate_draft(const Actor& actor, const DraftInput& draft, const CaseView& view,
                          Millis now) {
  return preview_draft(actor, draft, view, now).validation;
}

Preview preview_draft(const Actor& actor, const DraftInput& draft, const CaseView& view,
                      Millis now) {
  Preview pv;
  SubmissionCheck check =
      check_submission(actor, draft.return_id, draft.lead_id, draft.reason, draft.note, view, now);
  pv.validation.errors = std::move(check.issues);
  pv.validation.ok = pv.validation.errors.empty();
  pv.evaluation = check.evaluation;
  pv.facts = check.facts;
  if (check.lead != nullptr && draft.reason && check.campaign != nullptr) {
    pv.evidence = compute_evidence(*draft.reason, *check.lead, *check.campaign, *check.buyer, view);
    if (pv.evidence->verdict == EvidenceVerdict::warns) {
      pv.validation.warnings.push_back(Warning{"evidence_contradicts", pv.evidence->sentence});
    }
  }
  if (pv.evaluation && pv.evaluation->decision != Verdict::refused) {
    const Millis left = pv.evaluation->deadline - now;
    if (left < kMillisPerDay) {
      pv.validation.warnings.push_back(
          Warning{"window_closing", "The return window closes in " + format_duration(left) + "."});
    }
    if (pv.evaluation->decision == Verdict::manual_review) {
      pv.validation.warnings.push_back(
          Warning{"manual_review",
                  "This return will be reviewed by the seller rather than accepted at once."});
    }
  }
  return pv;
}

Result<ReturnReview> review_return(const Actor& actor, const std::string& return_id,
                                   const CaseView& view, Millis now,
                                   const CountsAtSubmission& counts_at_submission) {
  if (!is_valid_id(return_id)) {
    return make_error(ErrorCode::INVALID_ID, "return_id", "The return id is not valid.");
  }
  const ReturnCase* ret = view.find_return(return_id);
  if (ret == nullptr) {
    return make_error(ErrorCode::RETURN_NOT_FOUND, "return_id", "No return with this id.");
  }
  if (actor.role == Role::buyer && ret->buyer_id != actor.buyer_id) {
    return make_error(ErrorCode::FORBIDDEN, "return_id", "This return belongs to another buyer.");
  }
  const Lead* lead = view.find_lead(ret->lead_id);
  if (lead == nullptr) {
    return make_error(ErrorCode::LEAD_NOT_FOUND, "lead_id", "The return's lead is not known here.");
  }
  const Buyer* buyer = view.find_buyer(lead->buyer_id);
  if (buyer == nullptr) {
    return make_error(ErrorCode::BUYER_NOT_FOUND, "buyer_id", "The lead's buyer is unknown.");
  }
  ReturnReview out;
  out.return_id = ret->id;
  out.at_submission = ret->state != ReturnState::draft && ret->submitted_at > 0;
  out.evaluated_at = out.at_submission ? ret->submitted_at : now;
  if (const Campaign* campaign = view.find_campaign(lead->campaign_id);
      campaign != nullptr && ret->reason) {
    out.evidence = compute_evidence(*ret->reason, *lead, *campaign, *buyer, view);
  }
  PolicyInput in = policy_input_for(*lead, *buyer, ret->reason, view, out.evaluated_at);
  if (out.at_submission) {
    if (counts_at_submission) {
      if (std::optional<RateCounts> c = counts_at_submission(*ret)) in.trailing_30d = *c;
    }
    // The return's own auto-accept came after its evaluation: not in its own per-day count.
    const Decision* d = ret->decision ? &*ret->decision : nullptr;
    if (ret->state == ReturnState::accepted && d != nullptr && d->by.rfind("auto:", 0) == 0 &&
        utc_day(d->at) == utc_day(out.evaluated_at)) {
      auto it = in.auto_accepted_today.find(d->by.substr(5));
      if (it != in.auto_accepted_today.end() && it->second > 0) --it->second;
    }
  }
  out.evaluation = evaluate_policy(buyer->policy, in);
  return out;
}

}  // namespace returns
