// domain.h — the nouns of Lead Returns (docs/domain.md): buyers, suppliers, campaigns, leads,
// returns, messages, ledger entries. Plain values; the rules that act on them live in their own
// files.
//
// Money is integer cents (Money), time is UTC milliseconds since the epoch (Millis).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/policy.h"
#include "core/types.h"

namespace returns {

// open = pending or discussion; at most one open-or-accepted return per lead.
constexpr bool is_open(ReturnState s) {
  return s == ReturnState::pending || s == ReturnState::discussion;
}
constexpr bool blocks_new_return(ReturnState s) { return is_open(s) || s == ReturnState::accepted; }

// Where a buyer takes leads. Empty `states` means every state. When `zip_prefixes` is non-empty
// a lead must also have a zip starting with one of them.
struct Coverage {
  std::vector<std::string> states;        // two-letter upper-case codes
  std::vector<std::string> zip_prefixes;  // 1..5 digits each
  bool covers(std::string_view state, std::string_view zip) const;
  friend bool operator==(const Coverage&, const Coverage&) = default;
};

struct Buyer {
  std::string id;
  std::string name;
  Billing billing = Billing::prepaid;
  Coverage coverage;
  Policy policy = default_policy();
  friend bool operator==(const Buyer&, const Buyer&) = default;
};

struct Supplier {
  std::string id;
  std::string name;
  bool pass_through_returns = false;
  friend bool operator==(const Supplier&, const Supplier&) = default;
};

struct Campaign {
  std::string id;
  std::string buyer_id;
  std::string vertical;
  Money price_cents = 0;
  friend bool operator==(const Campaign&, const Campaign&) = default;
};

struct Lead {
  std::string id;
  std::string buyer_id;
  std::string supplier_id;  // hidden from buyers
  std::string campaign_id;
  std::string vertical;
  std::string state;
  std::string zip;
  std::string contact_hash;  // hash of normalised phone/email; never raw PII
  bool tcpa_flag = false;
  Money price_cents = 0;  // revenue
  Money cost_cents = 0;   // supplier payout; hidden from buyers
  Millis delivered_at = 0;
  LeadStatus status = LeadStatus::accepted;
  // Derived by the server, never taken from the platform (docs/decision-facts.md):
  // another lead of this buyer with the same contact hash was delivered before this one
  // (DeliveryHistory::delivered_before, fixed at ingest and kept true by later ingests).
  bool earlier_delivery = false;
  // When the server last changed the lead after its ingest (server clock): a return changed its
  // `status`, or a late delivery of the same contact set `earlier_delivery`; 0 while it never
  // changed. Every version of a changed lead reaches its buyer, whatever the lead horizon, so a
  // lead the buyer has seen always ends in the server's state.
  Millis changed_at = 0;
  friend bool operator==(const Lead&, const Lead&) = default;
};

struct Decision {
  std::string by;  // operator subject, or "auto:<rule id>"
  Millis at = 0;
  std::string note;
  Money credit_cents = 0;      // 0 for rejections
  bool charged_back = false;   // supplier payout reversed too
  Money chargeback_cents = 0;  // amount taken back from the supplier
  friend bool operator==(const Decision&, const Decision&) = default;
};

struct ReturnCase {
  std::string id;  // client-generated
  std::string lead_id;
  std::string buyer_id;
  std::optional<Reason> reason;  // drafts may not have one yet
  std::string note;
  ReturnState state = ReturnState::draft;
  Millis drafted_at = 0;    // client clock, informational only
  Millis submitted_at = 0;  // server clock; 0 while a draft
  Millis updated_at = 0;    // server clock of the last change
  std::optional<Decision> decision;
  // Set on a draft whose submission was refused (e.g. WINDOW_CLOSED): the draft is kept with it.
  std::optional<ErrorCode> refusal;
  std::string refusal_message;
  // Number of accepts so far; ledger entry ids derive from it, so one accept moves money once.
  int accept_count = 0;
  friend bool operator==(const ReturnCase&, const ReturnCase&) = default;
};

struct Message {
  std::string id;  // client-generated, so a resent post is recognised
  std::string return_id;
  Role author_role = Role::buyer;
  std::string author;  // subject of the token
  std::string body;
  Millis at = 0;
  friend bool operator==(const Message&, const Message&) = default;
};

// Who acts. Buyers carry their buyer id; operators act on every buyer.
struct Actor {
  Role role = Role::buyer;
  std::string subject;   // for the audit trail
  std::string buyer_id;  // required for buyers, empty for operators
  static Actor buyer(std::string buyer_id, std::string subject = "buyer") {
    return Actor{Role::buyer, std::move(subject), std::move(buyer_id)};
  }
  static Actor operator_(std::string subject = "operator") {
    return Actor{Role::operator_, std::move(subject), {}};
  }
};

}  // namespace returns
