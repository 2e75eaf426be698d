// types.cc — ids and the wire names of the core enumerations.
#include "core/types.h"

#include <array>
#include <utility>

#include "core/domain.h"

namespace returns {
namespace {

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E v) {
  for (const auto& [e, name] : table) {
    if (e == v) return name;
  }
  return "";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view name) {
  for (const auto& [e, n] : table) {
    if (n == name) return e;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<Billing, std::string_view>, 2> kBilling = {{
    {Billing::prepaid, "prepaid"},
    {Billing::net_terms, "net_terms"},
}};
constexpr std::array<std::pair<LeadStatus, std::string_view>, 2> kLeadStatus = {{
    {LeadStatus::accepted, "ACCEPTED"},
    {LeadStatus::returned, "RETURNED"},
}};
constexpr std::array<std::pair<Reason, std::string_view>, 6> kReason = {{
    {Reason::bad_contact, "bad_contact"},
    {Reason::wrong_vertical, "wrong_vertical"},
    {Reason::duplicate, "duplicate"},
    {Reason::tcpa_risk, "tcpa_risk"},
    {Reason::out_of_service_area, "out_of_service_area"},
    {Reason::other, "other"},
}};
constexpr std::array<std::pair<ReturnState, std::string_view>, 6> kReturnState = {{
    {ReturnState::draft, "draft"},
    {ReturnState::pending, "pending"},
    {ReturnState::discussion, "discussion"},
    {ReturnState::accepted, "accepted"},
    {ReturnState::rejected, "rejected"},
    {ReturnState::withdrawn, "withdrawn"},
}};
constexpr std::array<std::pair<Role, std::string_view>, 2> kRole = {{
    {Role::buyer, "buyer"},
    {Role::operator_, "operator"},
}};

}  // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view to_string(Billing v) { return name_of(kBilling, v); }
std::string_view to_string(LeadStatus v) { return name_of(kLeadStatus, v); }
std::string_view to_string(Reason v) { return name_of(kReason, v); }
std::string_view to_string(ReturnState v) { return name_of(kReturnState, v); }
std::string_view to_string(Role v) { return name_of(kRole, v); }
std::optional<Billing> billing_from_string(std::string_view s) { return value_of(kBilling, s); }
std::optional<LeadStatus> lead_status_from_string(std::string_view s) {
  return value_of(kLeadStatus, s);
}
std::optional<Reason> reason_from_string(std::string_view s) { return value_of(kReason, s); }
std::optional<ReturnState> return_state_from_string(std::string_view s) {
  return value_of(kReturnState, s);
}
std::optional<Role> role_from_string(std::string_view s) { return value_of(kRole, s); }

const std::vector<Reason>& all_reasons() {
  static const std::vector<Reason> kAll = [] {
    std::vector<Reason> v;
    for (const auto& [r, name] : kReason) v.push_back(r);
    return v;
  }();
  return kAll;
}

const std::vector<ReturnState>& all_return_states() {
  static const std::vector<ReturnState> kAll = [] {
    std::vector<ReturnState> v;
    for (const auto& [s, name] : kReturnState) v.push_back(s);
    return v;
  }();
  return kAll;
}

}  // namespace returns
