// ingest_csv_test.cc — leads as CSV (docs/server.md "Leads as CSV"): POST /v1/leads with
// Content-Type text/csv and `returnsd import --file leads.csv`, the same lead decoder as JSON,
// refusals per record with their line, nothing lost; and the report JSON naming its columns.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.h"

namespace returns::test {
namespace {

constexpr const char* kHeader =
    "id,buyer_id,supplier_id,campaign_id,vertical,state,zip,contact_hash,tcpa_flag,price_cents,"
    "cost_cents,delivered_at\n";

std::string csv_lead(const std::string& id, const std::string& price, const std::string& at) {
  return id + ",B-alpha,S-keep,C-alpha,solar,CA,94103,h-" + id + ",false," + price + ",900," + at +
         "\n";
}

HttpReply post_csv(const Server& server, const std::string& body, const std::string& token) {
  return http_request(server.port(), "POST", "/v1/leads", body, token, kWait, Transport::plain,
                      "text/csv; charset=utf-8");
}

TEST(IngestCsv, PostedCsvIngestsGoodRecordsAndNamesEachRefusalByLine) {
  Server server(Server::Options{.world = standard_world()});
  const std::string at = std::to_string(now_ms() - 3'600'000);
  const std::string body = std::string(kHeader) + csv_lead("L-csv-1", "2000", at) +
                           csv_lead("L-csv-2", "20.00", at) +  // not whole cents
                           "L-csv-3,B-alpha,S-nobody,C-alpha,solar,CA,94103,h-3,false,2000,900," +
                           at + "\n" +                       // unknown supplier
                           "\"L-csv-4\",B-alpha,S-keep\n" +  // too few cells
                           csv_lead("L-csv-5", "2000", "2026-11-20T10:00:00Z");
  const HttpReply r = post_csv(server, body, server.operator_token());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["inserted"], 2) << r.body;
  EXPECT_EQ(r.json["unchanged"], 0);
  ASSERT_EQ(r.json["refused"].size(), 3u) << r.body;
  std::map<int, std::pair<std::string, int>> by_index;  // index → (code, line)
  for (const Json& x : r.json["refused"]) {
    by_index[x["index"].get<int>()] = {x["code"].get<std::string>(), x["line"].get<int>()};
  }
  EXPECT_EQ(by_index[1], (std::pair<std::string, int>{"BAD_TYPE", 3}));
  EXPECT_EQ(by_index[2], (std::pair<std::string, int>{"SUPPLIER_NOT_FOUND", 4}));
  EXPECT_EQ(by_index[3], (std::pair<std::string, int>{"BAD_CSV", 5}));

  // Idempotent like JSON ingest: the same file again changes nothing.
  const HttpReply again = post_csv(server, body, server.operator_token());
  EXPECT_EQ(again.json["inserted"], 0) << again.body;
  EXPECT_EQ(again.json["unchanged"], 2) << again.body;

  // The leads are really there: the rates report counts them for the buyer, and names its
  // columns in order.
  const HttpReply rates =
      http_get(server.port(), "/v1/reports/rates?by=buyer&days=30", server.operator_token());
  ASSERT_EQ(rates.status, 200) << rates.body;
  EXPECT_EQ(rates.json["columns"], Json::array({"key", "accepted", "returned", "rate", "band"}));
  ASSERT_EQ(rates.json["rows"].size(), 1u) << rates.body;
  EXPECT_EQ(rates.json["rows"][0]["key"], "B-alpha");
  EXPECT_EQ(rates.json["rows"][0]["accepted"], 2);
}

TEST(IngestCsv, AFileThatIsNotLeadsCsvIsRefusedWholeAndWritesNothing) {
  Server server(Server::Options{.world = standard_world()});
  const std::string at = std::to_string(now_ms());
  struct Case {
    std::string body;
    const char* code;
  };
  for (const Case& c :
       {Case{"\r\n\n", "BAD_CSV"}, Case{std::string(kHeader) + "\"L-open,B-alpha\n", "BAD_CSV"},
        Case{"id,buyer_id,price\nL-1,B-alpha,12\n", "UNKNOWN_FIELD"},
        Case{"id,buyer_id\nL-1,B-alpha\n", "MISSING_FIELD"}}) {
    const HttpReply r = post_csv(server, c.body, server.operator_token());
    EXPECT_EQ(r.status, 400) << c.body << " → " << r.body;
    EXPECT_EQ(r.json["error"]["code"], c.code) << r.body;
  }
  // Buyers may not ingest, whatever the format.
  const HttpReply buyer = post_csv(server, std::string(kHeader) + csv_lead("L-b", "2000", at),
                                   server.buyer_token("B-alpha"));
  EXPECT_EQ(buyer.status, 403) << buyer.body;
  const HttpReply rates =
      http_get(server.port(), "/v1/reports/rates?by=buyer", server.operator_token());
  EXPECT_TRUE(rates.json["rows"].empty()) << rates.body;
}

TEST(IngestCsv, ImportCommandReadsCsvFiles) {
  Server server(Server::Options{.world = standard_world()});  // seeds the world
  ASSERT_EQ(server.stop(), 0);
  const std::string at = std::to_string(now_ms() - 3'600'000);
  const std::string file = server.dir() + "/leads.csv";
  std::ofstream(file) << kHeader << csv_lead("L-imp-1", "2000", at)
                      << csv_lead("L-imp-2", "oops", at) << csv_lead("L-imp-3", "1500", at);
  std::string out;
  EXPECT_EQ(Server::run_tool({"import", "--db", server.db_path(), "--file", file}, &out), 1) << out;
  EXPECT_NE(out.find("inserted 2, unchanged 0, refused 1"), std::string::npos) << out;
  EXPECT_NE(out.find("line 3: BAD_TYPE price_cents:"), std::string::npos) << out;

  // A header problem stops before the database is touched; an unknown format is refused.
  const std::string bad = server.dir() + "/bad.csv";
  std::ofstream(bad) << "id,nonsense\nL-1,x\n";
  EXPECT_EQ(Server::run_tool({"import", "--db", server.db_path(), "--file", bad}, &out), 2);
  EXPECT_NE(out.find("UNKNOWN_FIELD"), std::string::npos) << out;
  EXPECT_EQ(Server::run_tool(
                {"import", "--db", server.db_path(), "--file", file, "--format", "xml"}, &out),
            2);
  EXPECT_NE(out.find("--format"), std::string::npos) << out;

  server.start();
  const HttpReply rates =
      http_get(server.port(), "/v1/reports/rates?by=buyer", server.operator_token());
  ASSERT_EQ(rates.json["rows"].size(), 1u) << rates.body;
  EXPECT_EQ(rates.json["rows"][0]["accepted"], 2) << rates.body;
}

}  // namespace
}  // namespace returns::test
