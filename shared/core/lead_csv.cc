// lead_csv.cc — RFC 4180 records, and leads CSV → the lead decoder. See lead_csv.h.
#include "core/lead_csv.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <set>

namespace returns {
namespace {

Error csv_error(std::size_t line, std::string message) {
  return make_error(ErrorCode::BAD_CSV, "line " + std::to_string(line), std::move(message));
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

template <class Int>
bool read_int(std::string_view s, Int& out) {
  if (!all_digits(s)) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The lead fields (docs/domain.md "Lead") and how a cell of each converts to JSON.
enum class Cell { text, cents, time, flag };
struct Column {
  std::string_view name;
  Cell kind;
  bool required;
};
constexpr std::array<Column, 13> kLeadColumns = {{
    {"id", Cell::text, true},
    {"buyer_id", Cell::text, true},
    {"supplier_id", Cell::text, false},
    {"campaign_id", Cell::text, true},
    {"vertical", Cell::text, true},
    {"state", Cell::text, true},
    {"zip", Cell::text, false},
    {"contact_hash", Cell::text, true},
    {"tcpa_flag", Cell::flag, false},
    {"price_cents", Cell::cents, true},
    {"cost_cents", Cell::cents, false},
    {"delivered_at", Cell::time, true},
    {"status", Cell::text, false},
}};

// A cell as the JSON value the lead decoder expects; an Error names the column.
Result<Json> convert(const Column& c, const std::string& cell) {
  switch (c.kind) {
    case Cell::text:
      return Json(cell);
    case Cell::cents: {
      std::int64_t v = 0;
      if (!read_int(cell, v)) {
        return make_error(ErrorCode::BAD_TYPE, std::string(c.name),
                          "Column " + std::string(c.name) + " must be whole cents (digits only).");
      }
      return Json(v);
    }
    case Cell::time: {
      std::int64_t v = 0;
      if (read_int(cell, v)) return Json(v);
      if (std::optional<Millis> t = parse_utc_timestamp(cell)) return Json(*t);
      return make_error(ErrorCode::BAD_TYPE, std::string(c.name),
                        "Column " + std::string(c.name) +
                            " must be UTC milliseconds or a UTC timestamp like "
                            "2026-11-27T14:03:00Z.");
    }
    case Cell::flag:
      if (cell == "true" || cell == "1") return Json(true);
      if (cell == "false" || cell == "0") return Json(false);
      return make_error(ErrorCode::BAD_TYPE, std::string(c.name),
                        "Column " + std::string(c.name) + " must be true, false, 1 or 0.");
  }
  return make_error(ErrorCode::INTERNAL, std::string(c.name), "Unknown column kind.");
}

}  // namespace

Result<std::vector<CsvRecord>> parse_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  CsvRecord rec;
  std::string field;
  std::size_t line = 1;
  std::size_t i = 0;
  bool record_has_content = false;  // a blank line is no record
  rec.line = 1;
  auto end_field = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    end_field();
    if (record_has_content) out.push_back(std::move(rec));
    rec = CsvRecord{};
    record_has_content = false;
  };
  while (i < text.size()) {
    const char ch = text[i];
    if (ch == '"') {
      if (!field.empty()) return csv_error(line, "A quote inside an unquoted field.");
      const std::size_t opened = line;
      record_has_content = true;
      ++i;
      for (;;) {
        if (i >= text.size()) return csv_error(opened, "A quoted field never closes.");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return csv_error(line, "Text after a closing quote.");
      }
      continue;
    }
    if (ch == ',') {
      record_has_content = true;
      end_field();
      ++i;
      continue;
    }
    if (ch == '\r' || ch == '\n') {
      i += (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      end_record();
      ++line;
      rec.line = line;
      continue;
    }
    if (rec.fields.empty() && field.empty()) rec.line = line;
    record_has_content = true;
    field += ch;
    ++i;
  }
  if (record_has_content || !field.empty()) end_record();
  return out;
}

std::optional<Millis> parse_utc_timestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,3}](Z|+00:00)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!read_int(s.substr(0, 4), y) || !read_int(s.substr(5, 2), mo) ||
      !read_int(s.substr(8, 2), d) || !read_int(s.substr(11, 2), h) ||
      !read_int(s.substr(14, 2), mi) || !read_int(s.substr(17, 2), se)) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  Millis ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    const std::string_view frac = rest.substr(1, n - 1);
    if (frac.empty() || frac.size() > 3) return std::nullopt;
    int f = 0;
    if (!read_int(frac, f)) return std::nullopt;
    for (std::size_t k = frac.size(); k < 3; ++k) f *= 10;
    ms = f;
    rest.remove_prefix(n);
  }
  if (rest != "Z" && rest != "+00:00") return std::nullopt;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
      d > kDays[static_cast<std::size_t>(mo - 1)] + (mo == 2 && leap_year(y) ? 1 : 0) || h > 23 ||
      mi > 59 || se > 59) {
    return std::nullopt;
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60'000 + se * 1000 + ms;
}

Result<std::vector<CsvLead>> decode_leads_csv(std::string_view text) {
  Result<std::vector<CsvRecord>> records = parse_csv(text);
  if (!records.ok()) return records.error();
  if (records->empty()) return csv_error(1, "The file is empty: a header line comes first.");
  const CsvRecord& header = records->front();
  std::vector<const Column*> columns;
  std::set<std::string_view> seen;
  for (const std::string& name : header.fields) {
    const Column* found = nullptr;
    for (const Column& c : kLeadColumns) {
      if (c.name == name) found = &c;
    }
    if (found == nullptr) {
      return make_error(
          ErrorCode::UNKNOWN_FIELD, name,
          "Header column \"" + name + "\" is not a lead field (docs/domain.md \"Lead\").");
    }
    if (!seen.insert(found->name).second) {
      return make_error(ErrorCode::UNKNOWN_FIELD, name,
                        "Header column \"" + name + "\" appears twice.");
    }
    columns.push_back(found);
  }
  for (const Column& c : kLeadColumns) {
    if (c.required && seen.count(c.name) == 0) {
      return make_error(ErrorCode::MISSING_FIELD, std::string(c.name),
                        "The header lacks the required column " + std::string(c.name) + ".");
    }
  }
  std::vector<CsvLead> out;
  out.reserve(records->size() - 1);
  for (std::size_t r = 1; r < records->size(); ++r) {
    const CsvRecord& rec = (*records)[r];
    CsvLead row{r - 1, rec.line, Error{}};
    if (rec.fields.size() != columns.size()) {
      row.lead =
          csv_error(rec.line, "The record has " + std::to_string(rec.fields.size()) +
                                  " cells; the header has " + std::to_string(columns.size()) + ".");
      out.push_back(std::move(row));
      continue;
    }
    Json obj = Json::object();
    std::optional<Error> bad;
    for (std::size_t k = 0; k < columns.size() && !bad; ++k) {
      if (rec.fields[k].empty()) continue;  // absent: the decoder decides whether it may be
      Result<Json> v = convert(*columns[k], rec.fields[k]);
      if (v.ok()) {
        obj[std::string(columns[k]->name)] = std::move(v).value();
      } else {
        bad = v.error();
      }
    }
    row.lead = bad ? Result<Lead>(*bad) : decode_lead(obj);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace returns
