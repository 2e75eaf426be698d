// return_history.cc — a buyer's past returns rebuilt from replica rows for the what-if replay
// (return_history.h).
#include "core/return_history.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace returns {
namespace {

// A span of time during which a lead was RETURNED: from an accept until its reversal (if any).
struct ReturnedSpan {
  Millis from = 0;
  std::optional<Millis> until;
  // RETURNED "just before t": the accept is dated before t and no reversal is.
  bool in_effect_before(Millis t) const { return from < t && !(until && *until < t); }
};

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s).substr(0, prefix.size()) == prefix;
}

}  // namespace

std::vector<HistoricalReturn> historical_returns(const std::string& buyer_id,
                                                 const std::vector<Lead>& leads,
                                                 const std::vector<ReturnCase>& returns,
                                                 const std::vector<LedgerEntry>& ledger,
                                                 DayRange period) {
  // The buyer's leads by id, and their delivery times in order (counts by binary search).
  std::map<std::string, const Lead*> lead_by_id;
  std::vector<Millis> delivered;
  for (const Lead& l : leads) {
    if (l.buyer_id != buyer_id) continue;
    lead_by_id.emplace(l.id, &l);
    delivered.push_back(l.delivered_at);
  }
  std::sort(delivered.begin(), delivered.end());

  // When each lead was RETURNED. The ledger keeps every accept and every reopen (append-only);
  // an accepted return's decision covers rows written without a ledger.
  std::map<std::string, ReturnedSpan> by_entry;  // accept entry id → span
  std::map<std::string, std::string> entry_lead;
  std::map<std::string, std::vector<ReturnedSpan>> spans;  // lead id → spans
  for (const LedgerEntry& e : ledger) {
    if (e.buyer_id != buyer_id || e.kind != EntryKind::revenue_reversal || !e.reverses.empty()) {
      continue;
    }
    by_entry[e.id] = ReturnedSpan{e.at, std::nullopt};
    entry_lead[e.id] = e.lead_id;
  }
  for (const LedgerEntry& e : ledger) {
    if (e.buyer_id != buyer_id || e.kind != EntryKind::revenue_reversal || e.reverses.empty()) {
      continue;
    }
    auto it = by_entry.find(e.reverses);
    if (it != by_entry.end() && (!it->second.until || e.at < *it->second.until)) {
      it->second.until = e.at;
    }
  }
  for (const auto& [id, span] : by_entry) spans[entry_lead[id]].push_back(span);
  for (const ReturnCase& r : returns) {
    if (r.buyer_id == buyer_id && r.state == ReturnState::accepted && r.decision) {
      spans[r.lead_id].push_back(ReturnedSpan{r.decision->at, std::nullopt});
    }
  }
  // The buyer's leads that were ever RETURNED, by delivery time: a count at t looks only at those
  // delivered in its 30-day period instead of every returned lead.
  struct ReturnedLead {
    Millis delivered_at = 0;
    const std::vector<ReturnedSpan>* spans = nullptr;
  };
  std::vector<ReturnedLead> returned_leads;
  for (const auto& [lead_id, lead_spans] : spans) {
    auto l = lead_by_id.find(lead_id);
    if (l != lead_by_id.end()) returned_leads.push_back({l->second->delivered_at, &lead_spans});
  }
  std::sort(
      returned_leads.begin(), returned_leads.end(),
      [](const ReturnedLead& a, const ReturnedLead& b) { return a.delivered_at < b.delivered_at; });

  auto counts_at = [&](Millis t) {
    const DayRange days = trailing_days(t, kTrailingRateDays);
    const Millis begin = days.first * kMillisPerDay;  // first instant of the period
    RateCounts c;
    c.accepted = std::upper_bound(delivered.begin(), delivered.end(), t) -
                 std::lower_bound(delivered.begin(), delivered.end(), begin);
    auto first =
        std::lower_bound(returned_leads.begin(), returned_leads.end(), begin,
                         [](const ReturnedLead& r, Millis at) { return r.delivered_at < at; });
    for (auto it = first; it != returned_leads.end() && it->delivered_at <= t; ++it) {
      if (std::any_of(it->spans->begin(), it->spans->end(),
                      [&](const ReturnedSpan& s) { return s.in_effect_before(t); })) {
        ++c.returned;
      }
    }
    return c;
  };

  // An accept the policy made at submission leaves an accept entry dated at submitted_at.
  std::set<std::pair<std::string_view, Millis>> accepts;  // (return id, at) of accept entries
  for (const LedgerEntry& e : ledger) {
    if (e.kind == EntryKind::revenue_reversal && e.reverses.empty())
      accepts.emplace(e.return_id, e.at);
  }
  auto accepted_at_submission = [&](const ReturnCase& r) {
    return accepts.count({std::string_view(r.id), r.submitted_at}) > 0;
  };

  std::vector<HistoricalReturn> out;
  for (const ReturnCase& r : returns) {
    if (r.buyer_id != buyer_id || !r.reason) continue;
    auto lead = lead_by_id.find(r.lead_id);
    if (lead == lead_by_id.end()) continue;
    HistoricalReturn h;
    if (r.state == ReturnState::draft) {
      if (r.refusal != ErrorCode::WINDOW_CLOSED && r.refusal != ErrorCode::TOO_EARLY) continue;
      h.submitted_at = r.updated_at;
      h.actual = Verdict::refused;
    } else {
      if (r.submitted_at <= 0) continue;
      h.submitted_at = r.submitted_at;
      const bool by_rule = r.decision && starts_with(r.decision->by, "auto:");
      h.actual =
          by_rule || accepted_at_submission(r) ? Verdict::auto_accept : Verdict::manual_review;
    }
    if (!period.contains(utc_day(h.submitted_at))) continue;
    h.return_id = r.id;
    h.delivered_at = lead->second->delivered_at;
    h.reason = *r.reason;
    h.price_cents = lead->second->price_cents;
    h.trailing_30d = counts_at(h.submitted_at);
    h.credit_cents = r.state == ReturnState::accepted && r.decision ? r.decision->credit_cents : 0;
    out.push_back(std::move(h));
  }
  std::sort(out.begin(), out.end(), [](const HistoricalReturn& a, const HistoricalReturn& b) {
    if (a.submitted_at != b.submitted_at) return a.submitted_at < b.submitted_at;
    return a.return_id < b.return_id;
  });
  return out;
}

}  // namespace returns
