// json_reader.h — strict JSON decoding shared by every decoder in the project (core codecs, the
// sync protocol, the engine, the server): ObjectReader reads the fields of one object, keeps the
// first problem (a typed error naming the field) and refuses members nobody asked for
// (UNKNOWN_FIELD). Never throws.
#pragma once

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/codec.h"

namespace returns {

// "a.b" (or "b" at the top).
std::string join(const std::string& path, std::string_view key);
// "an integer", "a string", … for messages.
std::string_view type_name(const Json& j);

// Reads the fields of one JSON object. The first problem found is kept; later reads are no-ops.
// finish() then refuses fields that were never read (UNKNOWN_FIELD).
class ObjectReader {
 public:
  ObjectReader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) {
      fail(ErrorCode::BAD_TYPE, path_,
           (path_.empty() ? std::string("The value") : "Field " + path_) +
               " must be an object, not " + std::string(type_name(j)) + ".");
    }
  }

  bool ok() const { return !error_.has_value(); }
  const std::string& path() const { return path_; }

  // Returns the member or nullptr; records MISSING_FIELD when required and absent.
  const Json* field(std::string_view key, bool required) {
    if (!ok()) return nullptr;
    known_.insert(std::string(key));
    auto it = j_.find(key);
    if (it == j_.end() || (it->is_null() && !required)) {
      if (required) {
        fail(ErrorCode::MISSING_FIELD, join(path_, key),
             "Field " + join(path_, key) + " is required.");
      }
      return nullptr;
    }
    return &*it;
  }

  void fail(ErrorCode code, std::string field_path, std::string message) {
    if (!error_) error_ = Error{code, std::move(field_path), std::move(message)};
  }
  void wrong_type(std::string_view key, std::string_view want, const Json& got) {
    fail(ErrorCode::BAD_TYPE, join(path_, key),
         "Field " + join(path_, key) + " must be " + std::string(want) + ", not " +
             std::string(type_name(got)) + ".");
  }

  bool string(std::string_view key, std::string& out, bool required) {
    const Json* v = field(key, required);
    if (v == nullptr) return false;
    if (!v->is_string()) {
      wrong_type(key, "a string", *v);
      return false;
    }
    out = v->get_ref<const std::string&>();
    return true;
  }

  void id(std::string_view key, std::string& out, bool required) {
    if (string(key, out, required) && !is_valid_id(out)) {
      fail(ErrorCode::INVALID_ID, join(path_, key),
           "Field " + join(path_, key) +
               " must be 1 to 64 characters from letters, digits and . _ : -.");
    }
  }

  void text(std::string_view key, std::string& out, bool required, std::size_t max_chars) {
    if (!string(key, out, required)) return;
    std::size_t chars = 0;
    if (!is_clean_text(out, &chars)) {
      fail(ErrorCode::INVALID_TEXT, join(path_, key),
           "Field " + join(path_, key) + " must be UTF-8 text without control characters.");
    } else if (chars > max_chars) {
      fail(ErrorCode::TEXT_TOO_LONG, join(path_, key),
           "Field " + join(path_, key) + " holds at most " + std::to_string(max_chars) +
               " characters.");
    }
  }

  // An integer within [lo, hi]; `range_code` when outside it.
  bool integer(std::string_view key, std::int64_t& out, bool required, std::int64_t lo,
               std::int64_t hi, ErrorCode range_code) {
    const Json* v = field(key, required);
    if (v == nullptr) return false;
    if (!v->is_number_integer()) {
      wrong_type(key, "an integer", *v);
      return false;
    }
    bool in_range = true;
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      in_range = u <= static_cast<std::uint64_t>(hi);
      if (in_range) out = static_cast<std::int64_t>(u);
    } else {
      out = v->get<std::int64_t>();
      in_range = out >= lo && out <= hi;
    }
    if (!in_range) {
      fail(range_code, join(path_, key),
           "Field " + join(path_, key) + " must be between " + std::to_string(lo) + " and " +
               std::to_string(hi) + ".");
      return false;
    }
    return true;
  }

  void money(std::string_view key, Money& out, bool required) {
    std::int64_t v = 0;
    if (integer(key, v, required, 0, kMaxMoney, ErrorCode::INVALID_AMOUNT)) out = v;
  }
  void optional_money(std::string_view key, std::optional<Money>& out) {
    std::int64_t v = 0;
    if (integer(key, v, false, 0, kMaxMoney, ErrorCode::INVALID_AMOUNT)) out = v;
  }
  void time(std::string_view key, Millis& out, bool required) {
    std::int64_t v = 0;
    if (integer(key, v, required, 0, kMaxMillis, ErrorCode::INVALID_TIME)) out = v;
  }
  void count(std::string_view key, std::int64_t& out, bool required) {
    integer(key, out, required, 0, kMaxMoney, ErrorCode::INVALID_AMOUNT);
  }

  void boolean(std::string_view key, bool& out, bool required) {
    const Json* v = field(key, required);
    if (v == nullptr) return;
    if (!v->is_boolean()) return wrong_type(key, "true or false", *v);
    out = v->get<bool>();
  }
  void optional_boolean(std::string_view key, std::optional<bool>& out) {
    bool b = false;
    const Json* v = field(key, false);
    if (v == nullptr) return;
    if (!v->is_boolean()) return wrong_type(key, "true or false", *v);
    b = v->get<bool>();
    out = b;
  }

  // An enumerated string parsed by `parse`; `code` when the name is unknown.
  template <class E, class Parse>
  bool enumeration(std::string_view key, E& out, bool required, Parse parse, ErrorCode code) {
    std::string s;
    if (!string(key, s, required)) return false;
    auto v = parse(s);
    if (!v) {
      fail(code, join(path_, key),
           "Field " + join(path_, key) + " has an unknown value: " + s.substr(0, 64) + ".");
      return false;
    }
    out = *v;
    return true;
  }

  void reason(std::string_view key, std::optional<Reason>& out, bool required) {
    Reason r{};
    if (enumeration(
            key, r, required, [](std::string_view v) { return reason_from_string(v); },
            ErrorCode::INVALID_REASON))
      out = r;
  }

  // A rate given as a fraction 0..1 with at most four decimals, held in basis points.
  void rate(std::string_view key, std::optional<BasisPoints>& out) {
    const Json* v = field(key, false);
    if (v == nullptr) return;
    if (!v->is_number()) return wrong_type(key, "a number between 0 and 1", *v);
    const double d = v->get<double>();
    const double scaled = d * kBasisPointsWhole;
    const double rounded = std::round(scaled);
    if (!(d >= 0.0 && d <= 1.0)) {
      return fail(ErrorCode::INVALID_POLICY, join(path_, key),
                  "Field " + join(path_, key) + " must be a fraction between 0 and 1.");
    }
    if (std::fabs(scaled - rounded) > 1e-6) {
      return fail(ErrorCode::INVALID_POLICY, join(path_, key),
                  "Field " + join(path_, key) + " allows at most four decimals (0.0001 = 1 bp).");
    }
    out = static_cast<BasisPoints>(rounded);
  }

  // Fails with UNKNOWN_FIELD for any member that no read asked for.
  Status finish() {
    if (ok()) {
      for (auto it = j_.begin(); it != j_.end(); ++it) {
        if (known_.count(it.key()) == 0) {
          fail(ErrorCode::UNKNOWN_FIELD, join(path_, it.key()),
               "Field " + join(path_, it.key()) + " is not part of this object.");
          break;
        }
      }
    }
    if (error_) return *error_;
    return Status::Ok();
  }

  // Adopts an error from a nested decoder.
  void adopt(const Error& e) {
    if (!error_) error_ = e;
  }

 private:
  const Json& j_;
  std::string path_;
  std::set<std::string> known_;
  std::optional<Error> error_;
};

template <class T>
Result<T> finish(ObjectReader& r, T value) {
  if (Status s = r.finish(); !s.ok()) return s.error();
  return value;
}

}  // namespace returns
