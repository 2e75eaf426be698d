// return_history.h — a buyer's past returns as the what-if replay reads them (policy.h what_if):
// for every return the buyer's policy once decided, the inputs it was decided on (delivery time,
// price, reason, the buyer's trailing-30-day counts at that moment) and how it was decided then.
// Rebuilt from the rows a replica holds — leads, returns and the append-only ledger. Pure, no I/O.
#pragma once

#include <string>
#include <vector>

#include "core/domain.h"
#include "core/ledger.h"

namespace returns {

// Which returns count, and what `actual` and `submitted_at` are:
//  - a return with submitted_at set and a state other than draft (pending, discussion, accepted,
//    rejected, withdrawn after submitting, reopened): decided at submitted_at; `actual` is
//    auto_accept when the policy accepted it at submission — decision.by "auto:<rule>", or, once
//    reopened (the decision is gone), an accept entry in the ledger dated at submitted_at — else
//    manual_review;
//  - a draft kept with a policy refusal (refusal WINDOW_CLOSED or TOO_EARLY): the server refused
//    its submission at updated_at; `actual` is refused;
//  - skipped: other drafts (never submitted, or refused for their content), returns of other
//    buyers, returns without a reason, returns whose lead is not among `leads`, and returns
//    decided outside `period` (UTC days of the decision time).
// `credit_cents` is the decision's credit while the return is accepted, else 0.
//
// `trailing_30d` is CaseView::trailing_counts(buyer, t, 30) as the server answered it when it
// evaluated the policy at t: the buyer's leads delivered on the 30 UTC days ending with t's day
// (trailing_days) that existed at t (delivered_at <= t), returned = those of them RETURNED just
// before t — an accept in effect from a ledger accept entry (revenue_reversal) dated before t and
// not reversed before t, or an accepted return decided before t. Only rows dated strictly before
// t count, so a return's own auto-accept at t is not in its own counts ("before this return").
//
// `leads`: the buyer's leads (others are ignored); `ledger`: entries of the buyer's returns.
// The result is in replay order (submitted_at, then return id).
std::vector<HistoricalReturn> historical_returns(const std::string& buyer_id,
                                                 const std::vector<Lead>& leads,
                                                 const std::vector<ReturnCase>& returns,
                                                 const std::vector<LedgerEntry>& ledger,
                                                 DayRange period);

}  // namespace returns
