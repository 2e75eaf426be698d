// vectors_test.cc — the golden-vector suite: every case of every tests/vectors/*.json file runs
// through the core and must match its expectation. The same binary runs natively and as wasm
// under Node, so the generated vectors (recorded from the native build) prove both targets
// decide identically. Floors on the case counts keep the suite from passing vacuously.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "vector_runner.h"

namespace returns::vectors {
namespace {

constexpr std::size_t kMinTotalCases = 200;
constexpr std::size_t kMinGeneratedCases = 300;

std::vector<std::string> vector_files() {
  std::vector<std::string> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(RETURNS_VECTORS_DIR, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    if (p.extension() == ".json") files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Parses without exceptions (the wasm build aborts on a throw); a typo here fails the test.
Json parse(const char* text) {
  Json j = Json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

std::string file_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

TEST(VectorRunner, SubsetSemantics) {
  const Json actual = parse(R"({"a": 1, "b": {"c": [1, {"d": "x", "e": true}]},
                                "f": 0.15, "g": null, "h": 18446744073709551615})");
  std::string where;
  EXPECT_TRUE(json_subset(parse(R"({})"), actual, &where));
  EXPECT_TRUE(json_subset(parse(R"({"a": 1})"), actual, &where));
  EXPECT_TRUE(json_subset(parse(R"({"a": 1.0, "f": 0.15})"), actual, &where)) << where;
  EXPECT_TRUE(json_subset(parse(R"({"b": {"c": [1, {"e": true}]}})"), actual, &where));
  EXPECT_TRUE(json_subset(parse(R"({"g": null})"), actual, &where));
  EXPECT_TRUE(json_subset(parse(R"({"h": 18446744073709551615})"), actual, &where));

  EXPECT_FALSE(json_subset(parse(R"({"a": 2})"), actual, &where));
  EXPECT_EQ(where.rfind("/a:", 0), 0u) << where;
  EXPECT_FALSE(json_subset(parse(R"({"a": "1"})"), actual, &where));
  EXPECT_FALSE(json_subset(parse(R"({"z": 1})"), actual, &where));
  EXPECT_EQ(where.rfind("/z: missing", 0), 0u) << where;
  EXPECT_FALSE(json_subset(parse(R"({"b": {"c": [1]}})"), actual, &where));
  EXPECT_FALSE(json_subset(parse(R"({"b": {"c": [1, {"d": "y"}]}})"), actual, &where));
  EXPECT_EQ(where.rfind("/b/c/1/d", 0), 0u) << where;
  EXPECT_FALSE(json_subset(parse(R"({"g": false})"), actual, &where));
  EXPECT_FALSE(json_subset(parse(R"({"h": -1})"), actual, &where));
  EXPECT_FALSE(json_subset(parse(R"({"f": 0.1501})"), actual, &where));
}

TEST(VectorRunner, BadInputIsReportedNotFatal) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"nonsense", R"({})"},
      {"op", R"({"steps": 3})"},
      {"op", R"({"world": {"leads": [{"id": 5}]}, "steps": []})"},
      {"op", R"({"steps": [{"actor": "operator", "op": "accept_return"}]})"},
      {"policy", R"({"input": {"now": "soon"}})"},
      {"policy", R"({"input": {"delivered_at": 0, "now": 1, "trailing_30d": [1]}})"},
      {"evidence", R"({"lead_id": "L1", "reason": "duplicate"})"},
      {"decode", R"({"type": "spaceship", "json": {}})"},
      {"decode", R"({"type": "lead", "json": {}, "patch_strings": [{"pointer": "nope"}]})"},
      {"decode", R"({"type": "lead", "json": {}, "patch_strings": [{"pointer": "/x/y/z"}]})"},
      {"decode",
       R"({"type": "lead", "json": {}, "patch_strings": [{"pointer": "/json", "hex": "f"}]})"},
      {"whatif", R"({"history": {}})"},
  };
  for (const auto& [kind, text] : bad) {
    const Json input = Json::parse(text, nullptr, false);
    ASSERT_FALSE(input.is_discarded()) << text;
    const Json actual = run_case(kind, input);
    EXPECT_TRUE(actual.contains("runner_error"))
        << kind << " " << text << " -> " << dump_safe(actual, -1, 300);
  }
  EXPECT_TRUE(run_case("op", Json::array()).contains("runner_error"));

  VectorFile file;
  std::string error;
  EXPECT_FALSE(parse_vector_file("{", &file, &error));
  EXPECT_FALSE(parse_vector_file(R"({"kind": "op", "cases": [{"name": "a"}]})", &file, &error));
  EXPECT_FALSE(parse_vector_file(
      R"({"kind": "op", "cases": [{"name": "a", "expect": {"x": 1}}, {"name": "a", "expect": {"x": 1}}]})",
      &file, &error));
  EXPECT_FALSE(parse_vector_file(R"({"kind": "op", "cases": [], "typo": 1})", &file, &error));
  EXPECT_FALSE(parse_vector_file(
      R"({"kind": "mixed", "cases": [{"name": "a", "expect": {"x": 1}}]})", &file, &error));
  ASSERT_TRUE(parse_vector_file(
      R"({"kind": "policy", "base": {"input": {"now": 1, "price_cents": 5}},
          "cases": [{"name": "a", "input": {"input": {"now": 2}}, "expect": {"x": 1}}]})",
      &file, &error))
      << error;
  ASSERT_EQ(file.cases.size(), 1u);
  EXPECT_EQ(file.cases[0].input, parse(R"({"input": {"now": 2, "price_cents": 5}})"));
}

TEST(VectorFiles, EveryCaseMatches) {
  const auto files = vector_files();
  ASSERT_FALSE(files.empty()) << "no vector files in " << RETURNS_VECTORS_DIR;
  std::size_t total = 0;
  std::size_t generated = 0;
  std::size_t failures = 0;
  for (const auto& path : files) {
    const std::string name = file_name(path);
    VectorFile file;
    std::string error;
    if (!load_vector_file(path, &file, &error)) {
      ADD_FAILURE() << name << ": " << error;
      continue;
    }
    EXPECT_FALSE(file.cases.empty()) << name << " has no cases";
    total += file.cases.size();
    if (name.rfind("generated", 0) == 0) generated += file.cases.size();
    for (const auto& c : file.cases) {
      const Json actual = run_case(c.kind, c.input);
      if (actual.contains("runner_error")) {
        ++failures;
        ADD_FAILURE() << name << " / " << c.name
                      << ": bad vector: " << dump_safe(actual["runner_error"]);
        continue;
      }
      std::string where;
      if (!json_subset(c.expect, actual, &where)) {
        ++failures;
        ADD_FAILURE() << name << " / " << c.name << " [" << c.kind << "]: mismatch at " << where;
      }
    }
  }
  EXPECT_GE(total, kMinTotalCases) << "too few vector cases: the suite would prove little";
  EXPECT_GE(generated, kMinGeneratedCases) << "too few generated (cross-target) cases";
  RecordProperty("vector_cases", static_cast<int>(total));
  RecordProperty("vector_failures", static_cast<int>(failures));
}

}  // namespace
}  // namespace returns::vectors
