// lead_csv_test.cc — RFC 4180 parsing, UTC timestamps, and leads CSV through the lead decoder.
#include "core/lead_csv.h"

#include <gtest/gtest.h>

namespace returns {
namespace {

std::vector<std::vector<std::string>> fields_of(const std::vector<CsvRecord>& records) {
  std::vector<std::vector<std::string>> out;
  for (const CsvRecord& r : records) out.push_back(r.fields);
  return out;
}

TEST(Csv, ParsesQuotesCommasLineBreaksAndBom) {
  Result<std::vector<CsvRecord>> r = parse_csv(
      "\xEF\xBB\xBF"
      "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n1,,3");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::vector<std::vector<std::string>> want = {
      {"a", "b", "c"}, {"x, y", "say \"hi\"", "two\nlines"}, {"1", "", "3"}};
  EXPECT_EQ(fields_of(*r), want);
  EXPECT_EQ((*r)[0].line, 1u);
  EXPECT_EQ((*r)[1].line, 2u);
  EXPECT_EQ((*r)[2].line, 5u);  // the quoted line break and the blank line both count
}

TEST(Csv, EmptyQuotedFieldAndTrailingComma) {
  Result<std::vector<CsvRecord>> r = parse_csv("\"\",a,\n");
  ASSERT_TRUE(r.ok());
  const std::vector<std::vector<std::string>> want = {{"", "a", ""}};
  EXPECT_EQ(fields_of(*r), want);
}

TEST(Csv, MalformedTextIsBadCsvWithTheLine) {
  struct Case {
    const char* text;
    const char* field;
  };
  for (const Case& c : {Case{"a,b\nx\"y,z\n", "line 2"}, Case{"a,b\n\"x\"y,z\n", "line 2"},
                        Case{"a,b\n1,2\n\"open,3\n4,5\n", "line 3"}}) {
    Result<std::vector<CsvRecord>> r = parse_csv(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::BAD_CSV) << c.text;
    EXPECT_EQ(r.error().field, c.field) << c.text;
  }
}

TEST(Csv, UtcTimestamps) {
  EXPECT_EQ(parse_utc_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_utc_timestamp("2026-11-27T14:03:05Z"), 1'795'788'185'000);
  EXPECT_EQ(parse_utc_timestamp("2026-11-27T14:03:05.5Z"), 1'795'788'185'500);
  EXPECT_EQ(parse_utc_timestamp("2026-11-27 14:03:05.123+00:00"), 1'795'788'185'123);
  EXPECT_EQ(parse_utc_timestamp("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  for (const char* bad :
       {"2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-27T24:00:00Z",
        "2026-11-27T14:03:05", "2026-11-27T14:03:05+01:00", "2026-11-27T14:03:05.1234Z",
        "2026-11-27", "1969-12-31T23:59:59Z", "2026-1-27T14:03:05Z", "abcd-11-27T14:03:05Z"}) {
    EXPECT_EQ(parse_utc_timestamp(bad), std::nullopt) << bad;
  }
}

constexpr const char* kHeader =
    "id,buyer_id,supplier_id,campaign_id,vertical,state,zip,contact_hash,tcpa_flag,price_cents,"
    "cost_cents,delivered_at\n";

TEST(LeadCsv, DecodesEachRecordLikeTheJsonLead) {
  const std::string text = std::string(kHeader) +
                           "L-1,B-1,S-1,C-1,mva,CA,94103,h-1,false,2500,900,1795788185000\n"
                           "L-2,B-1,S-1,C-1,mva,TX,,h-2,1,3000,,2026-11-27T14:03:05Z\n";
  Result<std::vector<CsvLead>> r = decode_leads_csv(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  ASSERT_TRUE((*r)[0].lead.ok()) << (*r)[0].lead.error().message;
  ASSERT_TRUE((*r)[1].lead.ok()) << (*r)[1].lead.error().message;
  const Lead& a = *(*r)[0].lead;
  const Lead& b = *(*r)[1].lead;
  // The same leads as JSON decode to the same values.
  Result<Lead> a_json = decode_lead(Json{{"id", "L-1"},
                                         {"buyer_id", "B-1"},
                                         {"supplier_id", "S-1"},
                                         {"campaign_id", "C-1"},
                                         {"vertical", "mva"},
                                         {"state", "CA"},
                                         {"zip", "94103"},
                                         {"contact_hash", "h-1"},
                                         {"tcpa_flag", false},
                                         {"price_cents", 2500},
                                         {"cost_cents", 900},
                                         {"delivered_at", 1'795'788'185'000}});
  ASSERT_TRUE(a_json.ok());
  EXPECT_EQ(to_json(a), to_json(*a_json));
  EXPECT_EQ(b.zip, "");
  EXPECT_TRUE(b.tcpa_flag);
  EXPECT_EQ(b.price_cents, 3000);
  EXPECT_EQ(b.cost_cents, 0);
  EXPECT_EQ(b.delivered_at, 1'795'788'185'000);
  EXPECT_EQ((*r)[1].index, 1u);
  EXPECT_EQ((*r)[1].line, 3u);
}

TEST(LeadCsv, ColumnsInAnyOrderAndOnlyTheRequiredOnes) {
  Result<std::vector<CsvLead>> r = decode_leads_csv(
      "price_cents,delivered_at,contact_hash,state,vertical,campaign_id,buyer_id,id\n"
      "1500,1795788185000,h-9,NY,solar,C-2,B-2,L-9\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  ASSERT_TRUE((*r)[0].lead.ok()) << (*r)[0].lead.error().message;
  EXPECT_EQ((*r)[0].lead->id, "L-9");
  EXPECT_EQ((*r)[0].lead->state, "NY");
}

TEST(LeadCsv, BadRecordsAreRefusedOneByOneWithTypedErrors) {
  const std::string text = std::string(kHeader) +
                           "L-1,B-1,S-1,C-1,mva,CA,94103,h-1,false,2500,900,1795788185000\n"
                           "L-2,B-1,S-1,C-1,mva,CA,94103,h-2,false,25.00,900,1795788185000\n"
                           "L-3,B-1,S-1,C-1,mva,Calif,94103,h-3,false,2500,900,1795788185000\n"
                           "L-4,B-1,S-1,C-1,mva,CA,94103,h-4,maybe,2500,900,1795788185000\n"
                           "L-5,B-1,S-1,C-1,mva,CA,94103,h-5,false,2500,900,yesterday\n"
                           "L-6,B-1,S-1,C-1,mva,CA\n"
                           ",B-1,S-1,C-1,mva,CA,94103,h-7,false,2500,900,1795788185000\n"
                           "L-8,B-1,S-1,C-1,mva,CA,94103,h-8,false,-5,900,1795788185000\n";
  Result<std::vector<CsvLead>> r = decode_leads_csv(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 8u);
  EXPECT_TRUE((*r)[0].lead.ok());
  struct Want {
    std::size_t index;
    ErrorCode code;
    const char* field;
  };
  for (const Want& w :
       {Want{1, ErrorCode::BAD_TYPE, "price_cents"}, Want{2, ErrorCode::INVALID_ENUM, "state"},
        Want{3, ErrorCode::BAD_TYPE, "tcpa_flag"}, Want{4, ErrorCode::BAD_TYPE, "delivered_at"},
        Want{5, ErrorCode::BAD_CSV, "line 7"}, Want{6, ErrorCode::MISSING_FIELD, "id"},
        Want{7, ErrorCode::BAD_TYPE, "price_cents"}}) {
    const CsvLead& row = (*r)[w.index];
    ASSERT_FALSE(row.lead.ok()) << "record " << w.index;
    EXPECT_EQ(row.lead.error().code, w.code)
        << "record " << w.index << ": " << row.lead.error().message;
    EXPECT_EQ(row.lead.error().field, w.field) << "record " << w.index;
    EXPECT_EQ(row.line, w.index + 2);
  }
}

TEST(LeadCsv, HeaderProblemsRefuseTheWholeFile) {
  struct Case {
    std::string text;
    ErrorCode code;
    const char* field;
  };
  for (const Case& c :
       {Case{"", ErrorCode::BAD_CSV, "line 1"},
        Case{"id,buyer_id,campaign_id,vertical,state,contact_hash,price_cents,delivered_at,prce\n",
             ErrorCode::UNKNOWN_FIELD, "prce"},
        Case{"id,id,buyer_id,campaign_id,vertical,state,contact_hash,price_cents,delivered_at\n",
             ErrorCode::UNKNOWN_FIELD, "id"},
        Case{"id,buyer_id,campaign_id,vertical,state,contact_hash,delivered_at\n",
             ErrorCode::MISSING_FIELD, "price_cents"},
        Case{"id,\"buyer_id\nx\n", ErrorCode::BAD_CSV, "line 1"}}) {
    Result<std::vector<CsvLead>> r = decode_leads_csv(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text << ": " << r.error().message;
    EXPECT_EQ(r.error().field, c.field) << c.text;
  }
}

}  // namespace
}  // namespace returns
