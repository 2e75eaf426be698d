// lead_csv.h — leads delivered as CSV (docs/server.md, "import"), for the platforms
// that export spreadsheets rather than JSON. The CSV is RFC 4180; its header names the lead's
// JSON fields (docs/domain.md "Lead"), so each record becomes the lead JSON object and goes
// through the one lead decoder — a CSV lead is valid exactly when the same lead as JSON is.
// Format and error rules: docs/server.md "Leads as CSV".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"

namespace returns {

// RFC 4180 records: fields separated by commas, records by CRLF or LF, fields optionally in
// double quotes (a quote inside is doubled; a quoted field may hold commas and line breaks).
// A leading UTF-8 byte-order mark is skipped; a final line break is optional; blank lines are
// skipped. BAD_CSV (field "line N") for a quote inside an unquoted field, text after a closing
// quote, or a quoted field that never closes.
struct CsvRecord {
  std::size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};
Result<std::vector<CsvRecord>> parse_csv(std::string_view text);

// "2026-11-27T14:03:00Z", with optional fractional seconds (".5", ".123"); UTC only ("Z" or
// "+00:00"). UTC milliseconds, or nothing when the text is not such a timestamp.
std::optional<Millis> parse_utc_timestamp(std::string_view text);

// One data record of a leads CSV: its position and the lead, or why it is refused.
struct CsvLead {
  std::size_t index = 0;  // 0-based among data records (the header is not counted)
  std::size_t line = 0;   // 1-based line in the file
  Result<Lead> lead;
};

// The whole file: BAD_CSV when it is not CSV or has no header; UNKNOWN_FIELD / MISSING_FIELD
// (field = the column) when the header names a column that is not a lead field, names one twice,
// or lacks a required one. Otherwise one CsvLead per data record, in file order: a record with
// the wrong number of cells is refused with BAD_CSV; cells convert by column — empty = absent;
// price_cents, cost_cents: whole cents; delivered_at: UTC ms or an ISO-8601 UTC timestamp;
// tcpa_flag: true/false/1/0 — and the lead decoder decides the rest.
Result<std::vector<CsvLead>> decode_leads_csv(std::string_view text);

}  // namespace returns
