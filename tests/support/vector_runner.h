// vector_runner.h — runs one golden-vector case through the shared core and compares results.
//
// A vector file (tests/vectors/*.json, format in tests/vectors/README.md) holds cases of one
// kind; each case's input goes through run_case, and its "expect" must be a json_subset of the
// actual result. The same code runs in the native and the wasm test binary, and in the native
// generator (tests/tools/gen_vectors.cc) that records native results for the wasm run to match.
//
// Nothing here throws or aborts on bad vector input: problems come back as values
// ({"runner_error": "..."} from run_case, false + a message from the loader).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace returns::vectors {

using Json = nlohmann::json;

// The kinds run_case understands: policy, evidence, op, validate, preview, decode, whatif.
const std::vector<std::string>& supported_kinds();

// The actual result of one case, as JSON. Inputs the runner itself cannot interpret (a bad
// vector, not a core refusal) yield {"runner_error": "<what is wrong>"}; callers must treat a
// result holding "runner_error" as a failure.
Json run_case(const std::string& kind, const Json& input);

// True when every key of `expected` exists in `actual` with a matching value: objects
// recursively subset, arrays of the same length element-wise subset, scalars equal (numbers
// compare as integers when both are integers). On mismatch `where` (if given) gets the JSON path
// of the first difference and both values.
bool json_subset(const Json& expected, const Json& actual, std::string* where);

struct VectorCase {
  std::string name;
  std::string kind;  // the file's kind unless the case names its own
  Json input;        // effective input: the file's base merge-patched with the case's input
  Json expect;
};

struct VectorFile {
  std::string kind;  // a supported kind, or "mixed" when every case names its own
  std::string description;
  Json base = Json::object();
  std::vector<VectorCase> cases;
};

// Parses a vector file's text strictly (unknown keys, missing fields, duplicate case names and
// unsupported kinds are errors). Returns false with *error set on malformed content.
bool parse_vector_file(std::string_view text, VectorFile* out, std::string* error);
// Reads and parses a file. Returns false with *error set when unreadable or malformed.
bool load_vector_file(const std::string& path, VectorFile* out, std::string* error);

// JSON text that never throws (invalid UTF-8 is replaced), shortened to `max_chars` when > 0.
std::string dump_safe(const Json& j, int indent = -1, std::size_t max_chars = 0);

}  // namespace returns::vectors
