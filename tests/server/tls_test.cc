// tls_test.cc — returnsd with --tls-cert/--tls-key (docs/server.md "TLS"): the same routes over
// https and the same sync protocol over wss, plain HTTP refused on the TLS port without harm to
// other clients, TLS 1.2 as the floor, a graceful drain of wss sessions, and the startup errors
// of a bad certificate/key pair. The certificate is the harness's self-signed test certificate.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.h"

namespace returns::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr Transport kTls = Transport::tls;

Json submit_args(const std::string& return_id, const std::string& lead_id) {
  return Json{{"return_id", return_id}, {"lead_id", lead_id}, {"reason", "bad_contact"}};
}

// Whether a TLS handshake with the server succeeds when the client offers at most `max_version`
// (TLS1_1_VERSION, TLS1_2_VERSION…). The client trusts anything: only the version is at stake.
bool handshake_with_max_version(unsigned short port, int max_version) {
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), 0);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
  // Let this client offer the old versions at all (OpenSSL 3 refuses them at its default level).
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  ctx.set_verify_mode(asio::ssl::verify_none);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  bool ok = false;
  bool done = false;
  beast::get_lowest_layer(stream).expires_after(kWait);
  beast::get_lowest_layer(stream).async_connect(
      {asio::ip::make_address("127.0.0.1"), port}, [&](beast::error_code ec) {
        if (ec) {
          done = true;
          return;
        }
        stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code hec) {
          ok = !hec;
          done = true;
        });
      });
  ioc.run_for(kWait + 1s);
  return done && ok;
}

// One TLS server for the suite.
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server(Server::Options{.world = standard_world(), .tls = true});
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->log();
    delete server_;
    server_ = nullptr;
  }
  static Server& server() { return *server_; }
  static unsigned short port() { return server_->port(); }

  static Server* server_;
};

Server* TlsTest::server_ = nullptr;

TEST_F(TlsTest, HealthzAndMetricsOverHttps) {
  EXPECT_EQ(server().transport(), kTls);
  const HttpReply health = http_get(port(), "/healthz", "", kTls);
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json["status"], "ok");
  const HttpReply metrics = http_get(port(), "/metrics", "", kTls);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("returns_"), std::string::npos) << metrics.body;
  EXPECT_TRUE(server().log().find("\"tls\":true") != std::string::npos) << server().log();
}

TEST_F(TlsTest, IngestAndReportsOverHttpsKeepTheirAuthRules) {
  const Json leads = Json::array({lead_json("L-alpha-tls-ingest", kBuyerA, "S-keep", 2000, 800)});
  const HttpReply unauth = http_post(port(), "/v1/leads", leads, "", kTls);
  EXPECT_EQ(unauth.status, 401) << unauth.body;
  const HttpReply buyer =
      http_post(port(), "/v1/leads", leads, server().buyer_token(kBuyerA), kTls);
  EXPECT_EQ(buyer.status, 403) << buyer.body;
  const HttpReply ok = http_post(port(), "/v1/leads", leads, server().operator_token(), kTls);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json["inserted"], 1);
  const HttpReply report =
      http_get(port(), "/v1/reports/rates?by=buyer", server().operator_token(), kTls);
  EXPECT_EQ(report.status, 200) << report.body;
  EXPECT_TRUE(report.json.contains("rows")) << report.body;
}

TEST_F(TlsTest, SyncOverWssHelloWelcomeAndPushResult) {
  const HttpReply ingested =
      http_post(port(), "/v1/leads",
                Json::array({lead_json("L-alpha-tls-sync", kBuyerA, "S-pass", 2000, 800)}),
                server().operator_token(), kTls);
  ASSERT_EQ(ingested.status, 200) << ingested.body;

  SyncClient op(port(), server().operator_token(), "op-tls", kTls);
  ASSERT_EQ(type_of(op.hello().back()), "synced");

  SyncClient a(port(), server().buyer_token(kBuyerA), "a-tls", kTls);
  const std::vector<Json> hello = a.hello();
  ASSERT_FALSE(hello.empty());
  EXPECT_EQ(type_of(hello.front()), "welcome") << hello.front().dump();
  EXPECT_EQ(hello.front()["principal"]["buyer_id"], kBuyerA);
  EXPECT_EQ(type_of(hello.back()), "synced");

  const Json r = a.op("submit_return", submit_args("R-alpha-tls", "L-alpha-tls-sync"));
  EXPECT_EQ(type_of(r), "result") << r.dump();
  EXPECT_EQ(r.value("status", ""), "applied") << r.dump();
  // The same op again gets the very same result (exactly-once holds over wss too).
  a.push(1, "submit_return", submit_args("R-alpha-tls", "L-alpha-tls-sync"));
  EXPECT_EQ(a.result(1), r);

  // Fan-out reaches the operator's wss session live.
  EXPECT_FALSE(op.wait_item("return", "R-alpha-tls").is_null());
  a.ws().send(Json{{"type", "ping"}, {"t", 7}});
  const std::vector<Json> pong = a.ws().collect_until(is_type("pong"));
  ASSERT_FALSE(pong.empty());
  EXPECT_EQ(pong.back()["t"], 7);
}

TEST_F(TlsTest, FrameLimitStillHoldsOverWss) {
  WsClient ws(port(), "/v1/sync", kTls);
  ws.send_text(std::string(70 * 1024, ' '));
  EXPECT_TRUE(ws.wait_closed());
  EXPECT_EQ(ws.close_code(), 1009);
  EXPECT_EQ(http_get(port(), "/healthz", "", kTls).status, 200);
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortFailsCleanlyAndOthersAreServed) {
  // A TLS client that is in the middle of its session when the plain ones arrive.
  SyncClient a(port(), server().buyer_token(kBuyerA), "a-tls-plain", kTls);
  ASSERT_EQ(type_of(a.hello().back()), "synced");

  const auto started = std::chrono::steady_clock::now();
  const HttpReply plain = http_get(port(), "/healthz");
  EXPECT_EQ(plain.status, 0) << "plain HTTP answered on the TLS port: " << plain.body;
  // Refused at once (the handshake fails on the first bytes), not left to time out.
  EXPECT_LT(std::chrono::steady_clock::now() - started, kWait / 2);
  EXPECT_THROW(WsClient(port(), "/v1/sync", Transport::plain), std::runtime_error);

  // A client that connects and says nothing does not hold anyone up either.
  asio::io_context ioc;
  asio::ip::tcp::socket silent(ioc);
  silent.connect({asio::ip::make_address("127.0.0.1"), port()});

  const HttpReply health = http_get(port(), "/healthz", "", kTls);
  ASSERT_EQ(health.status, 200) << health.body;
  a.ws().send(Json{{"type", "ping"}, {"t", "still-here"}});
  const std::vector<Json> pong = a.ws().collect_until(is_type("pong"));
  ASSERT_FALSE(pong.empty());
  EXPECT_EQ(pong.back()["t"], "still-here");
}

TEST_F(TlsTest, TlsOnePointTwoIsTheFloor) {
  EXPECT_TRUE(handshake_with_max_version(port(), TLS1_3_VERSION));
  EXPECT_TRUE(handshake_with_max_version(port(), TLS1_2_VERSION));
  EXPECT_FALSE(handshake_with_max_version(port(), TLS1_1_VERSION));
  EXPECT_FALSE(handshake_with_max_version(port(), TLS1_VERSION));
  EXPECT_EQ(http_get(port(), "/healthz", "", kTls).status, 200);
}

TEST(TlsDrain, SigtermClosesWssSessionsWithGoingAway) {
  Server server(Server::Options{.world = standard_world(), .tls = true});
  SyncClient a(server.port(), server.buyer_token(kBuyerA), "a-tls-drain", kTls);
  ASSERT_EQ(type_of(a.hello().back()), "synced");
  EXPECT_EQ(server.stop(), 0) << server.log();
  EXPECT_TRUE(a.ws().wait_closed());
  EXPECT_EQ(a.ws().close_code(), 1001);
}

// --- Startup errors ------------------------------------------------------------------------------

class TlsStartup : public ::testing::Test {
 protected:
  // `returnsd serve` on a fresh database with these extra flags: its exit code and output. A
  // server that starts anyway is killed after 20 s (exit 137), which fails the expectations.
  int serve(const std::vector<std::string>& flags, std::string* output) {
    std::vector<std::string> args = {"serve",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--db",
                                     server_.db_path(),
                                     "--secret-file",
                                     server_.secret_path(),
                                     "--spike-every",
                                     "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    return Server::run_tool(args, output, 20s);
  }
  // Expects a refusal to start: exit 2, `message` in the output, no database created.
  void expect_refused(const std::vector<std::string>& flags, const std::string& message) {
    std::string out;
    const int code = serve(flags, &out);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(message), std::string::npos) << "wanted \"" << message << "\" in:\n" << out;
    EXPECT_FALSE(std::filesystem::exists(server_.db_path()));
  }
  std::string file(const std::string& name) const { return server_.dir() + "/" + name; }

  Server server_{Server::Options{.start = false}};
  const TlsFiles& tls_ = test_tls_files();
};

TEST_F(TlsStartup, CertWithoutKeyOrKeyWithoutCertIsRefused) {
  expect_refused({"--tls-cert", tls_.cert}, "--tls-cert and --tls-key go together");
  expect_refused({"--tls-key", tls_.key}, "--tls-cert and --tls-key go together");
}

TEST_F(TlsStartup, MissingKeyFileIsRefused) {
  const std::string missing = file("no-such-key.pem");
  expect_refused({"--tls-cert", tls_.cert, "--tls-key", missing},
                 "--tls-key: cannot read " + missing);
}

TEST_F(TlsStartup, UnreadableCertificateIsRefused) {
  const std::string missing = file("no-such-cert.pem");
  expect_refused({"--tls-cert", missing, "--tls-key", tls_.key},
                 "--tls-cert: cannot read " + missing);
}

TEST_F(TlsStartup, KeyOfAnotherCertificateIsRefused) {
  const std::string other = file("other-key.pem");
  std::string out;
  ASSERT_EQ(run_command({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-out", other},
                        &out),
            0)
      << out;
  expect_refused({"--tls-cert", tls_.cert, "--tls-key", other},
                 "--tls-key: " + other + " does not match the certificate in " + tls_.cert);
}

TEST_F(TlsStartup, FilesThatAreNotPemAreRefused) {
  const std::string junk = file("junk.pem");
  std::ofstream(junk) << "not a certificate\n";
  expect_refused({"--tls-cert", junk, "--tls-key", tls_.key}, "holds no PEM certificate");
  // Certificate and key swapped.
  expect_refused({"--tls-cert", tls_.cert, "--tls-key", tls_.cert}, "holds no unencrypted PEM");
}

}  // namespace
}  // namespace returns::test
