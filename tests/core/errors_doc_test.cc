// errors_doc_test.cc — the error-code list in shared/core/error.h and docs/errors.md agree, and
// every code's wire name round-trips.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "core/error.h"

namespace returns {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ErrorsDoc, EveryCodeIsDocumentedOnce) {
  const std::string doc = read_file(std::string(RETURNS_DOCS_DIR) + "/errors.md");
  ASSERT_FALSE(doc.empty()) << "docs/errors.md not found";
  for (ErrorCode code : all_error_codes()) {
    const std::string row = "| `" + std::string(to_string(code)) + "` |";
    EXPECT_NE(doc.find(row), std::string::npos) << to_string(code) << " missing in docs/errors.md";
  }
}

TEST(ErrorsDoc, DocumentsNoCodeTheCoreLacks) {
  const std::string doc = read_file(std::string(RETURNS_DOCS_DIR) + "/errors.md");
  std::istringstream lines(doc);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    const auto end = line.find('`', 3);
    ASSERT_NE(end, std::string::npos);
    const std::string name = line.substr(3, end - 3);
    EXPECT_TRUE(error_code_from_string(name).has_value()) << name << " is not in error.h";
    ++rows;
  }
  EXPECT_EQ(rows, static_cast<int>(all_error_codes().size()));
}

TEST(ErrorsDoc, NamesRoundTripAndAreUnique) {
  std::set<std::string> names;
  for (ErrorCode code : all_error_codes()) {
    const std::string name(to_string(code));
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(error_code_from_string(name), code);
  }
  EXPECT_FALSE(error_code_from_string("NOT_A_CODE").has_value());
}

}  // namespace
}  // namespace returns
