// web_test.cc — what returnsd serves the web demo: the wasm package under /pkg/ (--pkg-dir) and,
// with --demo only, the demo logins with signed tokens (GET /v1/demo/logins).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "harness.h"
#include "server/token.h"

namespace returns::test {
namespace {

class PkgDir {
 public:
  PkgDir() {
    path_ = (std::filesystem::temp_directory_path() /
             ("returnsd-web-pkg-" + std::to_string(::getpid())))
                .string();
    std::filesystem::create_directories(path_ + "/pkg");
    std::ofstream(path_ + "/pkg/index.mjs") << "export const answer = 42;\n";
    std::ofstream(path_ + "/pkg/returns_core.wasm", std::ios::binary)
        << std::string("\0asm\1\0\0\0", 8);
    std::ofstream(path_ + "/pkg/index.html") << "<p>package</p>\n";
    std::ofstream(path_ + "/outside.txt") << "not part of the package\n";
  }
  ~PkgDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string pkg() const { return path_ + "/pkg"; }

 private:
  std::string path_;
};

TEST(Web, PkgDirServesThePackageAndNothingOutsideIt) {
  PkgDir dir;
  Server server(Server::Options{.args = {"--pkg-dir", dir.pkg()}});
  const HttpReply js = http_get(server.port(), "/pkg/index.mjs");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "export const answer = 42;\n");
  const HttpReply wasm = http_get(server.port(), "/pkg/returns_core.wasm");
  EXPECT_EQ(wasm.status, 200);
  EXPECT_EQ(wasm.body, std::string("\0asm\1\0\0\0", 8));
  EXPECT_EQ(http_get(server.port(), "/pkg/").body, "<p>package</p>\n");
  EXPECT_EQ(http_get(server.port(), "/pkg").body, "<p>package</p>\n");
  for (const char* bad : {"/pkg/../outside.txt", "/pkg/%2e%2e/outside.txt", "/pkg/missing.js",
                          "/pkg/..\\outside.txt", "/pkgx/index.mjs"}) {
    const HttpReply r = http_get(server.port(), bad);
    EXPECT_EQ(r.status, 404) << bad << ": " << r.body;
    EXPECT_EQ(r.body.find("not part of the package"), std::string::npos) << bad;
  }
  // No --demo: the demo logins do not exist.
  const HttpReply logins = http_get(server.port(), "/v1/demo/logins");
  EXPECT_EQ(logins.status, 404);
  EXPECT_EQ(logins.body.find("token"), std::string::npos);
}

TEST(Web, WithoutPkgDirNothingIsServedUnderPkg) {
  Server server;
  EXPECT_EQ(http_get(server.port(), "/pkg/index.mjs").status, 404);
}

TEST(Web, PkgDirMustBeAFolder) {
  // Refused before anything is created (no database), in the test's own folder.
  Server server(Server::Options{.start = false});
  const std::string missing = server.dir() + "/no-such-pkg";
  std::string out;
  EXPECT_EQ(Server::run_tool({"serve", "--listen", "127.0.0.1:0", "--db", server.db_path(),
                              "--secret-file", server.secret_path(), "--pkg-dir", missing},
                             &out),
            2);
  EXPECT_NE(out.find("returnsd: --pkg-dir: " + missing + " is not a directory"), std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(server.db_path()));
}

TEST(Web, DemoServesItsLoginsWithWorkingTokens) {
  Server server(Server::Options{.args = {"--demo", "--spike-every", "0", "--sync", "normal"}});
  const HttpReply r = http_get(server.port(), "/v1/demo/logins");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.json.is_array()) << r.body;
  Result<std::string> secret = server::load_or_create_secret(server.secret_path());
  ASSERT_TRUE(secret.ok());
  int operators = 0;
  std::set<std::string> buyers;
  for (const Json& login : r.json) {
    SCOPED_TRACE(login.dump());
    ASSERT_TRUE(login.contains("token") && login.contains("name") && login.contains("about"));
    Result<server::TokenClaims> claims =
        server::verify_token(login["token"].get<std::string>(), *secret, now_ms());
    ASSERT_TRUE(claims.ok()) << claims.error().message;
    EXPECT_EQ(std::string(to_string(claims->role)), login["role"].get<std::string>());
    EXPECT_EQ(claims->subject, login["subject"].get<std::string>());
    if (claims->role == Role::operator_) {
      ++operators;
      EXPECT_FALSE(login.contains("buyer_id"));
    } else {
      EXPECT_EQ(claims->buyer_id, login["buyer_id"].get<std::string>());
      buyers.insert(claims->buyer_id);
    }
    // The token opens a sync session as that principal.
    if (claims->role == Role::operator_ && operators > 1) continue;
    SyncClient c(server.port(), login["token"].get<std::string>(), "web-" + claims->subject);
    // An operator catches up the whole demo (~58 k rows): seconds on a loaded machine, so wait
    // for `synced` as long as it takes within reason.
    const std::vector<Json> got = c.hello(0, {}, std::chrono::seconds(180));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(type_of(got.back()), "synced");
  }
  EXPECT_EQ(operators, 3);
  EXPECT_EQ(buyers.size(), 8u);
  // Read-only.
  const HttpReply post = http_post(server.port(), "/v1/demo/logins", Json::object());
  EXPECT_EQ(post.status, 405) << post.body;
}

}  // namespace
}  // namespace returns::test
