// types.h — scalar vocabulary shared by every core file: money, time, ids, enumerations.
//
// Money is integer cents (Money), time is UTC milliseconds since the epoch (Millis).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace returns {

using Money = std::int64_t;   // cents
using Millis = std::int64_t;  // UTC ms since epoch

inline constexpr Millis kMillisPerMinute = 60'000;
inline constexpr Millis kMillisPerHour = 3'600'000;
inline constexpr Millis kMillisPerDay = 86'400'000;
// Upper bounds accepted on input: 10^13 cents ($100bn) and year ~2286 in ms.
inline constexpr Money kMaxMoney = 10'000'000'000'000;
inline constexpr Millis kMaxMillis = 9'999'999'999'999;
inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxNoteChars = 2000;
inline constexpr std::size_t kMinOtherNoteChars = 10;
inline constexpr std::size_t kMaxNameChars = 200;

// UTC calendar day number (days since 1970-01-01) of a timestamp; floor for negatives.
constexpr std::int64_t utc_day(Millis t) {
  return t >= 0 ? t / kMillisPerDay : -((-t + kMillisPerDay - 1) / kMillisPerDay);
}

// Non-empty, at most 64 chars, only [A-Za-z0-9._:-].
bool is_valid_id(std::string_view id);

enum class Billing { prepaid, net_terms };
enum class LeadStatus { accepted, returned };  // wire: "ACCEPTED", "RETURNED"
enum class Reason { bad_contact, wrong_vertical, duplicate, tcpa_risk, out_of_service_area, other };
enum class ReturnState { draft, pending, discussion, accepted, rejected, withdrawn };
enum class Role { buyer, operator_ };  // wire: "buyer", "operator"

std::string_view to_string(Billing);
std::string_view to_string(LeadStatus);
std::string_view to_string(Reason);
std::string_view to_string(ReturnState);
std::string_view to_string(Role);
std::optional<Billing> billing_from_string(std::string_view);
std::optional<LeadStatus> lead_status_from_string(std::string_view);
std::optional<Reason> reason_from_string(std::string_view);
std::optional<ReturnState> return_state_from_string(std::string_view);
std::optional<Role> role_from_string(std::string_view);
const std::vector<Reason>& all_reasons();
const std::vector<ReturnState>& all_return_states();

}  // namespace returns
