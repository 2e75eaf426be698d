// error.h — the one error-code list of Lead Returns, and the value types that carry errors.
//
// Every refusal anywhere (core, store, sync protocol, UI) is one of these codes. The list is
// documented for humans in docs/errors.md; keep both in the same commit.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace returns {

enum class ErrorCode {
  // Input shape (codecs).
  BAD_JSON,        // not parseable JSON
  BAD_CSV,         // not parseable CSV (lead import), or a record with the wrong cell count
  BAD_TYPE,        // a field has the wrong JSON type
  MISSING_FIELD,   // a required field is absent
  UNKNOWN_FIELD,   // a field the schema does not know (catches typos in policies)
  INVALID_ID,      // id empty, longer than 64 chars, or outside [A-Za-z0-9._:-]
  INVALID_ENUM,    // unknown value for an enumerated field (billing, state, role, op)
  INVALID_REASON,  // unknown return reason code
  INVALID_AMOUNT,  // money negative or out of range
  INVALID_TIME,    // timestamp negative or out of range
  INVALID_TEXT,    // text is not valid UTF-8 or contains control characters
  TEXT_TOO_LONG,   // text longer than its limit
  INVALID_POLICY,  // policy violates its own constraints (see docs/domain.md)
  // Domain refusals.
  LEAD_NOT_FOUND,
  RETURN_NOT_FOUND,
  BUYER_NOT_FOUND,
  SUPPLIER_NOT_FOUND,
  CAMPAIGN_NOT_FOUND,   // unknown campaign, or one that belongs to another buyer
  NOT_YOUR_LEAD,        // the lead was sold to another buyer
  ALREADY_RETURNED,     // the lead already has an accepted return
  RETURN_OPEN,          // the lead already has a pending or discussion return
  WINDOW_CLOSED,        // submitted at or after the policy window end (server clock)
  TOO_EARLY,            // submitted before the policy cool-off ends
  REASON_REQUIRED,      // submit without a reason
  NOTE_REQUIRED,        // `other` without a 10..2000 char note, or reject without a note
  BAD_TRANSITION,       // the return's state does not allow this op
  CREDIT_OUT_OF_RANGE,  // partial credit outside 1..lead price
  FORBIDDEN,            // the actor's role or ownership does not allow this op
  DUPLICATE_ID,         // the return id is already used for another lead
  LEAD_CONFLICT,        // a re-sent lead differs from the stored one (ingest is not a merge)
  // Sync protocol and transport (used by the server and the sync engine).
  UNAUTHORIZED,  // token missing, malformed or forged
  TOKEN_EXPIRED,
  HELLO_REQUIRED,  // first frame was not hello, or hello came twice
  UNSUPPORTED_PROTO,
  UNKNOWN_OP,
  SEQ_GAP,  // pushed seq skips ahead of last_seq + 1
  RATE_LIMITED,
  FRAME_TOO_LARGE,
  INTERNAL,
};

// "WINDOW_CLOSED" etc. Stable wire names; never renumber meaningfully, never rename.
std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view name);
// Every code in declaration order (for docs checks and tests).
const std::vector<ErrorCode>& all_error_codes();

struct Error {
  ErrorCode code = ErrorCode::INTERNAL;
  std::string field;    // dotted path of the offending input field, empty when not about one
  std::string message;  // one human sentence

  friend bool operator==(const Error&, const Error&) = default;
};

inline Error make_error(ErrorCode code, std::string field, std::string message) {
  return Error{code, std::move(field), std::move(message)};
}

// Result<T>: a value or an Error. The core never throws for domain outcomes.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T* operator->() const { return &std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }

  // REQUIRES: !ok()
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: success or an Error, for operations without a value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  // REQUIRES: !ok()
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace returns
