// error.cc — wire names of the error codes.
#include "core/error.h"

#include <array>
#include <utility>

namespace returns {
namespace {

// clang-format off
#define RETURNS_ERROR_CODES(X) \
  X(BAD_JSON) \
  X(BAD_CSV) \
  X(BAD_TYPE) \
  X(MISSING_FIELD) \
  X(UNKNOWN_FIELD) \
  X(INVALID_ID) \
  X(INVALID_ENUM) \
  X(INVALID_REASON) \
  X(INVALID_AMOUNT) \
  X(INVALID_TIME) \
  X(INVALID_TEXT) \
  X(TEXT_TOO_LONG) \
  X(INVALID_POLICY) \
  X(LEAD_NOT_FOUND) \
  X(RETURN_NOT_FOUND) \
  X(BUYER_NOT_FOUND) \
  X(SUPPLIER_NOT_FOUND) \
  X(CAMPAIGN_NOT_FOUND) \
  X(NOT_YOUR_LEAD) \
  X(ALREADY_RETURNED) \
  X(RETURN_OPEN) \
  X(WINDOW_CLOSED) \
  X(TOO_EARLY) \
  X(REASON_REQUIRED) \
  X(NOTE_REQUIRED) \
  X(BAD_TRANSITION) \
  X(CREDIT_OUT_OF_RANGE) \
  X(FORBIDDEN) \
  X(DUPLICATE_ID) \
  X(LEAD_CONFLICT) \
  X(UNAUTHORIZED) \
  X(TOKEN_EXPIRED) \
  X(HELLO_REQUIRED) \
  X(UNSUPPORTED_PROTO) \
  X(UNKNOWN_OP) \
  X(SEQ_GAP) \
  X(RATE_LIMITED) \
  X(FRAME_TOO_LARGE) \
  X(INTERNAL)
// clang-format on

#define RETURNS_NAME_ENTRY(name) std::pair<ErrorCode, std::string_view>{ErrorCode::name, #name},
constexpr std::array kNames = {RETURNS_ERROR_CODES(RETURNS_NAME_ENTRY)};
#undef RETURNS_NAME_ENTRY

}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "INTERNAL";
}

std::optional<ErrorCode> error_code_from_string(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

const std::vector<ErrorCode>& all_error_codes() {
#define RETURNS_CODE_ENTRY(name) ErrorCode::name,
  static const std::vector<ErrorCode> kAll = {RETURNS_ERROR_CODES(RETURNS_CODE_ENTRY)};
#undef RETURNS_CODE_ENTRY
  return kAll;
}

}  // namespace returns
