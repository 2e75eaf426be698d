// hostile_test.cc — hostile inputs against a live returnsd (docs/protocol.md §8–§10): malformed,
// oversized, forged and abusive WebSocket frames and HTTP requests, each answered with its
// documented error or a clean close. One server serves the whole suite; after every test a
// healthy control session must still get its pong and have an op applied, and the last test
// checks that nothing the control had acknowledged was lost, across a graceful restart too.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness.h"
#include "server/token.h"

namespace returns::test {
namespace {

constexpr std::int64_t kMaxSafe = 9'007'199'254'740'991;  // 2^53 - 1
constexpr Millis kHour = 3'600'000;

// --- Raw bytes: what no well-behaved client library would send ----------------------------------

// A TCP connection with plain POSIX calls and a deadline on every wait.
class RawConn {
 public:
  explicit RawConn(unsigned short port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  // Writes all of `bytes`; false when the peer stops taking them within `timeout` or fails.
  bool write_all(std::string_view bytes, Ms timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t off = 0;
    while (off < bytes.size()) {
      const int left = millis_until(deadline);
      if (left <= 0) return false;
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, left) <= 0) return false;
      const ssize_t n =
          ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Appends what arrives to `data()` until `done(data())`, the peer closes, or `timeout`.
  bool read_until(const std::function<bool(const std::string&)>& done, Ms timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(data_)) {
      if (eof_) return false;
      const int left = millis_until(deadline);
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return false;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      data_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool read_to_eof(Ms timeout = kWait) {
    return read_until([this](const std::string&) { return eof_; }, timeout);
  }

  const std::string& data() const { return data_; }
  bool eof() const { return eof_; }

 private:
  static int millis_until(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
  }
  int fd_ = -1;
  std::string data_;
  bool eof_ = false;
};

// One client frame: FIN, `opcode`, masked with the key 0 (so the payload goes as is).
std::string ws_frame(int opcode, std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  const std::uint64_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>((n >> 8) & 0xff);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  f.append(4, '\0');
  f.append(payload);
  return f;
}

struct WireFrame {
  int opcode = 0;
  std::string payload;
};

// Splits the server's (unmasked) frames out of `bytes`; an incomplete tail is ignored.
std::vector<WireFrame> split_frames(std::string_view bytes) {
  std::vector<WireFrame> out;
  std::size_t at = 0;
  while (at + 2 <= bytes.size()) {
    const auto b0 = static_cast<unsigned char>(bytes[at]);
    const auto b1 = static_cast<unsigned char>(bytes[at + 1]);
    std::uint64_t n = b1 & 0x7f;
    std::size_t head = 2;
    if (n == 126) {
      if (at + 4 > bytes.size()) break;
      n = (std::uint64_t{static_cast<unsigned char>(bytes[at + 2])} << 8) |
          static_cast<unsigned char>(bytes[at + 3]);
      head = 4;
    } else if (n == 127) {
      if (at + 10 > bytes.size()) break;
      n = 0;
      for (std::size_t i = 0; i < 8; ++i)
        n = (n << 8) | static_cast<unsigned char>(bytes[at + 2 + i]);
      head = 10;
    }
    if (at + head + n > bytes.size()) break;
    out.push_back(WireFrame{b0 & 0x0f, std::string(bytes.substr(at + head, n))});
    at += head + n;
  }
  return out;
}

// The close code of the first close frame in `bytes` (0 when none).
int close_code_in(std::string_view bytes) {
  for (const WireFrame& f : split_frames(bytes)) {
    if (f.opcode == 8 && f.payload.size() >= 2) {
      return (static_cast<unsigned char>(f.payload[0]) << 8) |
             static_cast<unsigned char>(f.payload[1]);
    }
  }
  return 0;
}

// A WebSocket upgrade by hand; throws unless the server answers 101.
std::unique_ptr<RawConn> raw_ws(unsigned short port, int rcvbuf = 0) {
  auto c = std::make_unique<RawConn>(port, rcvbuf);
  const std::string req =
      "GET /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (!c->write_all(req)) throw std::runtime_error("upgrade request not sent");
  c->read_until([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; });
  if (c->data().rfind("HTTP/1.1 101", 0) != 0) {
    throw std::runtime_error("no 101 upgrade: " + c->data().substr(0, 200));
  }
  return c;
}

// The status of a raw HTTP response ("HTTP/1.1 413 …" → 413), 0 when there is none.
int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

// Whether `d` holds one whole HTTP response (headers and a Content-Length body).
bool whole_response(const std::string& d) {
  const auto end = d.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::smatch m;
  const std::string head = d.substr(0, end);
  static const std::regex kLength("[Cc]ontent-[Ll]ength: *([0-9]+)");
  if (!std::regex_search(head, m, kLength)) return true;
  return d.size() >= end + 4 + std::stoul(m[1].str());
}

// Sends `bytes` on a new connection and returns what came back before the server closed, or
// one whole response.
std::string raw_http(unsigned short port, const std::string& bytes, Ms timeout = kWait) {
  RawConn c(port);
  c.write_all(bytes, timeout);
  c.read_until(whole_response, timeout);
  return c.data();
}

// A token with any claims, signed with `secret` the way returnsd signs (token.h).
std::string custom_token(const Json& claims, const std::string& secret) {
  const std::string payload = server::base64url_encode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  return payload + "." +
         server::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string hello_text(const std::string& token, const std::string& client_id,
                       std::int64_t cursor = 0) {
  return Json{{"type", "hello"},
              {"proto", 1},
              {"token", token},
              {"client_id", client_id},
              {"cursor", cursor}}
      .dump();
}

// Replaces the `@` in a hello template with a valid token (templates keep the frames readable).
std::string with_token(std::string frame, const std::string& token) {
  const auto at = frame.find('@');
  if (at != std::string::npos) frame.replace(at, 1, token);
  return frame;
}

// --- The suite -----------------------------------------------------------------------------------

class Hostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    web_root_ = (std::filesystem::temp_directory_path() /
                 ("returnsd-hostile-web-" + std::to_string(::getpid())))
                    .string();
    std::filesystem::create_directories(web_root_);
    std::ofstream(web_root_ + "/index.html") << "<h1>hostile suite</h1>\n";
    std::ofstream(web_root_ + "/a.txt") << "plain file\n";
    server_ = new Server(
        {.world = standard_world(), .args = {"--web-root", web_root_, "--sync", "normal"}});
    const Millis now = now_ms();
    const Json leads =
        Json::array({lead_json("L-alpha-ctl", kBuyerA, "S-keep", 2000, 900),
                     lead_json("L-alpha-old", kBuyerA, "S-keep", 2000, 900, now - 8 * 24 * kHour),
                     lead_json("L-alpha-x", kBuyerA, "S-pass", 2000, 900),
                     lead_json("L-bravo-1", kBuyerB, "S-pass", 1500, 700)});
    const HttpReply r = http_post(port(), "/v1/leads", leads, server_->operator_token());
    if (r.status != 200 || r.json.value("inserted", 0) != 4) {
      throw std::runtime_error("lead ingest failed: " + r.body);
    }
    connect_control(0);
  }

  static void TearDownTestSuite() {
    control_.reset();
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    std::filesystem::remove_all(web_root_, ec);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(control_ != nullptr);
  }

  // After every test: the control session still answers a ping and gets an op applied.
  void TearDown() override { control_check(); }

  static unsigned short port() { return server_->port(); }
  static std::string secret() {
    Result<std::string> s = server::load_or_create_secret(server_->secret_path());
    return s.ok() ? *s : std::string();
  }

  static void connect_control(std::int64_t cursor) {
    const std::int64_t seq = control_ ? control_->seq() : 0;
    control_ =
        std::make_unique<SyncClient>(port(), server_->buyer_token(kBuyerA), "hostile-control");
    control_->set_seq(seq);
    const std::vector<Json> got = control_->hello(cursor);
    if (got.empty() || type_of(got.back()) != "synced") {
      throw std::runtime_error("control session did not sync");
    }
    control_check();
  }

  static void expect_pong(WsClient& ws, const std::string& tag) {
    ws.send(Json{{"type", "ping"}, {"t", tag}});
    const std::vector<Json> got = ws.collect_until([&](const Json& f) {
      return (type_of(f) == "pong" && f.value("t", "") == tag) || type_of(f) == "error";
    });
    ASSERT_FALSE(got.empty()) << "no pong for " << tag;
    EXPECT_EQ(type_of(got.back()), "pong") << got.back().dump();
    EXPECT_TRUE(got.back().value("server_time", std::int64_t{0}) > 0);
  }

  static void control_check() {
    ASSERT_TRUE(control_ != nullptr);
    const std::string n = std::to_string(++control_n_);
    expect_pong(control_->ws(), "control-" + n);
    const std::string rid = "R-alpha-ctl-" + n;
    const Json args = {{"return_id", rid},
                       {"lead_id", "L-alpha-ctl"},
                       {"reason", "bad_contact"},
                       {"note", "control " + n}};
    const Json r = control_->op("save_draft", args);
    ASSERT_EQ(type_of(r), "result") << r.dump();
    EXPECT_EQ(r.value("status", ""), "applied") << r.dump();
    EXPECT_FALSE(control_->wait_item("return", rid).is_null()) << rid;
    acked_.push_back({control_->seq(), args, r});
  }

  // A new session after `synced` (buyer B unless a token is given).
  static std::unique_ptr<SyncClient> session(const std::string& client_id, std::string token = "") {
    if (token.empty()) token = server_->buyer_token(kBuyerB);
    auto s = std::make_unique<SyncClient>(port(), token, client_id);
    const std::vector<Json> got = s->hello();
    EXPECT_FALSE(got.empty());
    if (!got.empty()) {
      EXPECT_EQ(type_of(got.back()), "synced") << got.back().dump();
    }
    return s;
  }

  // `frame` as the first frame of a connection: the fatal error `code`, then close 1008.
  static void expect_fatal_first(const std::string& frame, const std::string& code) {
    WsClient ws(port());
    ASSERT_TRUE(ws.send_text(frame)) << frame.substr(0, 200);
    const std::optional<Json> f = ws.next();
    ASSERT_TRUE(f.has_value()) << "no answer to " << frame.substr(0, 200);
    EXPECT_TRUE(is_error(*f, code)) << frame.substr(0, 200) << "\n -> " << f->dump();
    if (type_of(*f) == "error") {
      EXPECT_TRUE(f->value("fatal", false)) << f->dump();
    }
    EXPECT_TRUE(ws.wait_closed()) << frame.substr(0, 200);
    EXPECT_EQ(ws.close_code(), 1008) << frame.substr(0, 200);
  }

  // `frame` on a live session: the non-fatal error `code`; the session still answers pings.
  static void expect_nonfatal(SyncClient& s, const std::string& frame, const std::string& code) {
    ASSERT_TRUE(s.ws().send_text(frame)) << frame.substr(0, 200);
    const std::vector<Json> got = s.ws().collect_until(
        [](const Json& f) { return type_of(f) == "error" || type_of(f) == "result"; });
    ASSERT_FALSE(got.empty()) << "no answer to " << frame.substr(0, 200);
    EXPECT_TRUE(is_error(got.back(), code))
        << frame.substr(0, 200) << "\n -> " << got.back().dump();
    if (type_of(got.back()) == "error") {
      EXPECT_FALSE(got.back().value("fatal", true)) << got.back().dump();
    }
    EXPECT_FALSE(s.ws().closed());
    expect_pong(s.ws(), "alive");
  }

  // Pushes one op built by hand with the session's next seq; its result (or error).
  static Json push_op(SyncClient& s, Json op) {
    const std::int64_t seq = s.seq() + 1;
    op["seq"] = seq;
    s.ws().send(Json{{"type", "push"}, {"ops", Json::array({op})}});
    s.set_seq(seq);
    return s.result(seq);
  }

  static void expect_rejected(const Json& r, const std::string& code) {
    ASSERT_EQ(type_of(r), "result") << r.dump();
    EXPECT_EQ(r.value("status", ""), "rejected") << r.dump();
    EXPECT_EQ(r["code"], code) << r.dump();
  }

  static std::int64_t metric(const std::string& name) {
    const HttpReply r = http_get(port(), "/metrics");
    std::istringstream in(r.body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name + " ", 0) == 0) return std::stoll(line.substr(name.size() + 1));
    }
    return -1;
  }

  struct Acked {
    std::int64_t seq;
    Json args;
    Json result;
  };

  static inline Server* server_ = nullptr;
  static inline std::unique_ptr<SyncClient> control_;
  static inline std::string web_root_;
  static inline int control_n_ = 0;
  static inline std::vector<Acked> acked_;
};

// --- Before hello: every malformed first frame is fatal ------------------------------------------

TEST_F(Hostile, MalformedFirstFramesAreFatal) {
  struct Case {
    std::string frame;
    std::string code;
  };
  const std::string client = R"("client_id":"hostile-pre")";
  const std::vector<Case> cases = {
      {"this is not json", "HELLO_REQUIRED"},
      {"", "HELLO_REQUIRED"},
      {"[]", "HELLO_REQUIRED"},
      {R"([{"type":"hello","proto":1}])", "HELLO_REQUIRED"},
      {"42", "HELLO_REQUIRED"},
      {R"("hello")", "HELLO_REQUIRED"},
      {"null", "HELLO_REQUIRED"},
      {"{}", "HELLO_REQUIRED"},
      {R"({"type":"bogus"})", "HELLO_REQUIRED"},
      {R"({"type":7})", "HELLO_REQUIRED"},
      {"{\"type\":\"hello\"\x01}", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":"1","token":"@",)" + client + "}", "HELLO_REQUIRED"},
      {R"({"type":"hello","token":"@",)" + client + "}", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":2,"token":"@",)" + client + "}", "UNSUPPORTED_PROTO"},
      {R"({"type":"hello","proto":0,"token":"@",)" + client + "}", "UNSUPPORTED_PROTO"},
      {R"({"type":"hello","proto":1,"token":"@","cursor":-1,)" + client + "}", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","cursor":1.5,)" + client + "}", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","cursor":9007199254740992,)" + client + "}",
       "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","cursor":18446744073709551616,)" + client + "}",
       "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","cursor":1e400,)" + client + "}", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","last_seq":"7",)" + client + "}", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","client_id":"bad id!"})", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","client_id":""})", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","client_id":")" + std::string(65, 'c') + "\"}",
       "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","client_id":5})", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@"})", "HELLO_REQUIRED"},
      {R"({"type":"hello","proto":1,"token":"@","role":"operator",)" + client + "}",
       "HELLO_REQUIRED"},
      {R"({"type":"push","ops":[{"seq":1,"op":"save_draft","args":{}}]})", "HELLO_REQUIRED"},
      {R"({"type":"ping","t":1})", "HELLO_REQUIRED"},
      {R"({"type":"welcome","cursor":0})", "HELLO_REQUIRED"},
      // A valid hello with a NUL and garbage after it: the parser must not stop at the NUL.
      {std::string(R"({"type":"hello","proto":1,"token":"@",)" + client + "}") +
           std::string("\0garbage", 8),
       "HELLO_REQUIRED"},
  };
  const std::string token = server_->buyer_token(kBuyerB);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.frame.substr(0, 120));
    expect_fatal_first(with_token(c.frame, token), c.code);
  }
}

TEST_F(Hostile, BadTokensAreRefused) {
  const std::string real = secret();
  ASSERT_FALSE(real.empty());
  const Millis later = now_ms() + kHour;
  const std::string good = server_->buyer_token(kBuyerB);
  const std::string payload = good.substr(0, good.find('.'));
  const std::string mac = good.substr(good.find('.') + 1);
  const std::string as_operator = server::base64url_encode(
      Json{{"role", "operator"}, {"sub", "mallory"}, {"exp", later}}.dump());
  struct Case {
    std::string token;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"", "UNAUTHORIZED"},
      {"garbage", "UNAUTHORIZED"},
      {"a.b", "UNAUTHORIZED"},
      {"a.b.c", "UNAUTHORIZED"},
      {"....", "UNAUTHORIZED"},
      {payload + ".", "UNAUTHORIZED"},
      {payload + "." + mac + "x", "UNAUTHORIZED"},
      {payload + "." + mac.substr(0, mac.size() - 1), "UNAUTHORIZED"},
      {"Bearer " + good, "UNAUTHORIZED"},
      {as_operator + "." + mac, "UNAUTHORIZED"},  // claims swapped, signature kept
      {custom_token({{"role", "operator"}, {"sub", "mallory"}, {"exp", later}},
                    "not-the-server-secret-0123456789"),
       "UNAUTHORIZED"},  // forged with another secret
      {custom_token({{"role", "admin"}, {"sub", "x"}, {"exp", later}}, real), "UNAUTHORIZED"},
      {custom_token({{"role", "buyer"}, {"sub", "x"}, {"exp", later}}, real), "UNAUTHORIZED"},
      {custom_token({{"role", "buyer"}, {"buyer_id", "bad id!"}, {"sub", "x"}, {"exp", later}},
                    real),
       "UNAUTHORIZED"},
      {custom_token({{"role", "operator"}, {"sub", "x"}, {"exp", "never"}}, real), "UNAUTHORIZED"},
      {custom_token({{"role", "operator"}, {"sub", "x"}}, real), "UNAUTHORIZED"},
      {custom_token(Json::array({1, 2}), real), "UNAUTHORIZED"},
      {std::string(5000, 'A'), "UNAUTHORIZED"},
      {server_->token(Role::buyer, kBuyerB, kBuyerB, -1000), "TOKEN_EXPIRED"},
      {server_->token(Role::operator_, "", "ops", -1), "TOKEN_EXPIRED"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("token case " + std::to_string(i));
    expect_fatal_first(hello_text(cases[i].token, "hostile-tok"), cases[i].code);
  }
  // The token field absent or not a string: UNAUTHORIZED too (docs/errors.md, "token missing").
  expect_fatal_first(R"({"type":"hello","proto":1,"client_id":"hostile-tok"})", "UNAUTHORIZED");
  expect_fatal_first(R"({"type":"hello","proto":1,"token":12345,"client_id":"hostile-tok"})",
                     "UNAUTHORIZED");
  expect_fatal_first(R"({"type":"hello","proto":1,"token":null,"client_id":"hostile-tok"})",
                     "UNAUTHORIZED");
}

TEST_F(Hostile, NoHelloWithinFiveSecondsIsFatal) {
  WsClient ws(port());
  const auto started = std::chrono::steady_clock::now();
  const std::optional<Json> f = ws.next(8s);
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(is_error(*f, "HELLO_REQUIRED")) << f->dump();
  EXPECT_TRUE(f->value("fatal", false));
  EXPECT_GE(waited, 4500ms);
  EXPECT_TRUE(ws.wait_closed());
  EXPECT_EQ(ws.close_code(), 1008);
}

TEST_F(Hostile, BinaryFramesAreFatal) {
  {
    WsClient ws(port());
    ASSERT_TRUE(ws.send_binary(hello_text(server_->buyer_token(kBuyerB), "hostile-bin")));
    const std::optional<Json> f = ws.next();
    ASSERT_TRUE(f.has_value());
    EXPECT_TRUE(is_error(*f, "BAD_TYPE")) << f->dump();
    EXPECT_TRUE(ws.wait_closed());
    EXPECT_EQ(ws.close_code(), 1008);
  }
  auto s = session("hostile-bin-live");
  ASSERT_TRUE(s->ws().send_binary(std::string("\x00\x01\x02", 3)));
  const std::vector<Json> got = s->ws().collect_until(is_type("error"));
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(is_error(got.back(), "BAD_TYPE")) << got.back().dump();
  EXPECT_TRUE(got.back().value("fatal", false));
  EXPECT_TRUE(s->ws().wait_closed());
  EXPECT_EQ(s->ws().close_code(), 1008);
}

TEST_F(Hostile, ClientIdOfAnotherPrincipalIsFatal) {
  // The control's client id is bound to buyer A by its ops.
  expect_fatal_first(hello_text(server_->buyer_token(kBuyerB), "hostile-control"), "FORBIDDEN");
  expect_fatal_first(hello_text(server_->operator_token("mallory"), "hostile-control"),
                     "FORBIDDEN");
}

// --- Frame size and encoding: Beast closes, the server lives on ----------------------------------

TEST_F(Hostile, OversizedFramesCloseWith1009) {
  for (const std::size_t size :
       {std::size_t{65537}, std::size_t{70 * 1024}, std::size_t{1024 * 1024}}) {
    SCOPED_TRACE(size);
    WsClient ws(port());
    ws.send_text(std::string(size, 'x'));
    EXPECT_TRUE(ws.wait_closed());
    EXPECT_EQ(ws.close_code(), 1009);
  }
  // Also on a live session, and 100 000 '[' (deep nesting that is also too big).
  auto s = session("hostile-big");
  s->ws().send_text(std::string(100'000, '['));
  EXPECT_TRUE(s->ws().wait_closed());
  EXPECT_EQ(s->ws().close_code(), 1009);
}

TEST_F(Hostile, FrameOfExactly64KiBIsServed) {
  auto s = session("hostile-64k");
  std::string ping = R"({"type":"ping","t":"edge"})";
  ping.insert(ping.size() - 1, 65536 - ping.size(), ' ');  // JSON whitespace up to the limit
  ASSERT_EQ(ping.size(), 65536u);
  ASSERT_TRUE(s->ws().send_text(ping));
  const std::vector<Json> got = s->ws().collect_until(is_type("pong"));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().value("t", ""), "edge") << got.back().dump();
}

TEST_F(Hostile, InvalidUtf8ClosesWith1007) {
  for (const std::string& bad :
       {std::string("\xff\xfe\xfd"), std::string("{\"type\":\"ping\",\"t\":\"\xc3\"}"),
        std::string("\xed\xa0\x80")}) {  // lone surrogate encoded
    auto c = raw_ws(port());
    ASSERT_TRUE(c->write_all(ws_frame(1, bad)));
    c->read_until(
        [](const std::string& d) { return close_code_in(d.substr(d.find("\r\n\r\n") + 4)) != 0; });
    const std::string after = c->data().substr(c->data().find("\r\n\r\n") + 4);
    EXPECT_EQ(close_code_in(after), 1007);
  }
}

TEST_F(Hostile, DeepNestingIsRefusedNotFollowed) {
  auto s = session("hostile-deep");
  // Within 64 KiB but 60 000 levels deep, unclosed.
  expect_nonfatal(*s, std::string(60'000, '['), "BAD_JSON");
  // Balanced, 30 000 levels deep inside an op's args, and inside ping.t.
  const std::string deep = std::string(30'000, '[') + std::string(30'000, ']');
  expect_nonfatal(*s, R"({"type":"push","ops":[{"seq":1,"op":"save_draft","args":)" + deep + "}]}",
                  "BAD_JSON");
  expect_nonfatal(*s, R"({"type":"ping","t":)" + deep + "}", "BAD_JSON");
  // Before hello: fatal.
  expect_fatal_first(R"({"type":"hello","x":)" + deep + "}", "HELLO_REQUIRED");
  // Moderate nesting reaches the op decoder: args must be an object.
  const std::string some = std::string(20, '[') + std::string(20, ']');
  s->set_seq(0);
  expect_rejected(push_op(*s, {{"op", "save_draft"}, {"args", Json::parse(some)}}), "BAD_TYPE");
}

// --- After hello: malformed frames are answered and ignored, the session lives on ---------------

TEST_F(Hostile, MalformedFramesAfterHelloAreNotFatal) {
  auto s = session("hostile-frames");
  struct Case {
    std::string frame;
    std::string code;
  };
  auto op = [](const std::string& fields) { return R"({"type":"push","ops":[{)" + fields + "}]}"; };
  const std::vector<Case> cases = {
      {"not json at all", "BAD_JSON"},
      {"", "BAD_JSON"},
      {std::string("{\"type\":\"ping\",\"t\":\"a\x01"
                   "b\"}"),
       "BAD_JSON"},  // raw control char
      {std::string("{\"type\":\"ping\"}\0", 16), "BAD_JSON"},
      {std::string("{\"type\":\"ping\"}\0{\"type\":\"push\",\"ops\":[]}", 40), "BAD_JSON"},
      {"[]", "BAD_TYPE"},
      {"[1,2,3]", "BAD_TYPE"},
      {"42", "BAD_TYPE"},
      {R"("push")", "BAD_TYPE"},
      {"true", "BAD_TYPE"},
      {"{}", "MISSING_FIELD"},
      {R"({"ops":[]})", "MISSING_FIELD"},
      {R"({"type":"bogus"})", "INVALID_ENUM"},
      {R"({"type":"PUSH","ops":[]})", "INVALID_ENUM"},
      {R"({"type":["push"]})", "BAD_TYPE"},
      {R"({"type":"push"})", "MISSING_FIELD"},
      {R"({"type":"push","ops":{"seq":1}})", "BAD_TYPE"},
      {R"({"type":"push","ops":"save_draft"})", "BAD_TYPE"},
      {R"({"type":"push","ops":[],"force":true})", "UNKNOWN_FIELD"},
      {R"({"type":"push","ops":[5]})", "BAD_TYPE"},
      {R"({"type":"push","ops":[null]})", "BAD_TYPE"},
      {R"({"type":"push","ops":[["save_draft"]]})", "BAD_TYPE"},
      {op(R"("op":"save_draft","args":{})"), "MISSING_FIELD"},
      {op(R"("seq":0,"op":"save_draft")"), "INVALID_AMOUNT"},
      {op(R"("seq":-5,"op":"save_draft")"), "INVALID_AMOUNT"},
      {op(R"("seq":1.5,"op":"save_draft")"), "BAD_TYPE"},
      {op(R"("seq":"1","op":"save_draft")"), "BAD_TYPE"},
      {op(R"("seq":true,"op":"save_draft")"), "BAD_TYPE"},
      {op(R"("seq":9007199254740992,"op":"save_draft")"), "INVALID_AMOUNT"},
      {op(R"("seq":9223372036854775808,"op":"save_draft")"), "INVALID_AMOUNT"},
      {op(R"("seq":18446744073709551616,"op":"save_draft")"), "BAD_TYPE"},
      {op(R"("seq":-9223372036854775809,"op":"save_draft")"), "BAD_TYPE"},
      {op(R"("seq":1e400,"op":"save_draft")"), "BAD_JSON"},
      {op(R"("seq":1)"), "MISSING_FIELD"},
      {op(R"("seq":1,"op":7)"), "BAD_TYPE"},
      {op(R"("seq":1,"op":null)"), "BAD_TYPE"},
      {op(R"("seq":1,"op":")" + std::string(65, 'x') + "\""), "UNKNOWN_OP"},
      {op(R"("seq":1,"op":"save_draft","actor":"operator")"), "UNKNOWN_FIELD"},
      {op(R"("seq":1,"op":"save_draft","client_time":-1)"), "INVALID_AMOUNT"},
      {op(R"("seq":1,"op":"save_draft","client_time":1.25)"), "BAD_TYPE"},
      {op(R"("seq":1,"op":"save_draft","client_time":"now")"), "BAD_TYPE"},
      {R"({"type":"push","ops":[{"seq":1,"op":"discard_draft"},{"seq":3,"op":"discard_draft"}]})",
       "SEQ_GAP"},
      {R"({"type":"push","ops":[{"seq":2,"op":"discard_draft"},{"seq":1,"op":"discard_draft"}]})",
       "SEQ_GAP"},
      {R"({"type":"push","ops":[{"seq":1,"op":"discard_draft"},{"seq":1,"op":"discard_draft"}]})",
       "SEQ_GAP"},
      {R"({"type":"ping","t":{"a":1}})", "BAD_TYPE"},
      {R"({"type":"ping","t":[1]})", "BAD_TYPE"},
      {R"({"type":"ping","t":true})", "BAD_TYPE"},
      {R"({"type":"ping","t":")" + std::string(65, 't') + "\"}", "TEXT_TOO_LONG"},
      {R"({"type":"ping","t":1,"x":2})", "UNKNOWN_FIELD"},
      {hello_text(server_->buyer_token(kBuyerB), "hostile-frames"), "HELLO_REQUIRED"},
      {hello_text("garbage", "hostile-frames"), "HELLO_REQUIRED"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.frame.substr(0, 120));
    expect_nonfatal(*s, c.frame, c.code);
  }
  // 101 ops in one push: refused as a whole.
  Json ops = Json::array();
  for (int i = 1; i <= 101; ++i) ops.push_back({{"seq", i}, {"op", "discard_draft"}});
  expect_nonfatal(*s, Json{{"type", "push"}, {"ops", ops}}.dump(), "FRAME_TOO_LARGE");
  // Nothing of the above used a seq: the session's first real op is still seq 1.
  s->set_seq(0);
  const Json r = s->op("discard_draft", {{"return_id", "R-bravo-none"}});
  expect_rejected(r, "RETURN_NOT_FOUND");
  EXPECT_EQ(r.value("seq", 0), 1);
}

TEST_F(Hostile, BadOpsAreRefusedOneByOne) {
  auto s = session("hostile-ops");
  std::string accents = "a";
  for (int i = 0; i < 40; ++i) accents += "\xc3\xa9";  // 'é': a byte cut at 64 splits one
  struct Case {
    std::string op;
    Json args;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"drop_database", Json::object(), "UNKNOWN_OP"},
      {"SAVE_DRAFT", Json::object(), "UNKNOWN_OP"},
      {"", Json::object(), "UNKNOWN_OP"},
      {"save_draft", Json::array({"R-1", "L-bravo-1"}), "BAD_TYPE"},
      {"save_draft", Json(42), "BAD_TYPE"},
      {"save_draft", Json("R-1"), "BAD_TYPE"},
      {"save_draft", Json(), "BAD_TYPE"},
      {"save_draft", {{"return_id", "R-b-1"}}, "MISSING_FIELD"},
      {"save_draft",
       {{"return_id", "R-b-1"}, {"lead_id", "L-bravo-1"}, {"buyer_id", kBuyerA}},
       "UNKNOWN_FIELD"},
      {"save_draft", {{"return_id", 7}, {"lead_id", "L-bravo-1"}}, "BAD_TYPE"},
      {"save_draft", {{"return_id", "../../etc"}, {"lead_id", "L-bravo-1"}}, "INVALID_ID"},
      {"save_draft", {{"return_id", std::string(65, 'r')}, {"lead_id", "L-bravo-1"}}, "INVALID_ID"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"reason", "because"}},
       "INVALID_REASON"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"reason", accents}},
       "INVALID_REASON"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"note", std::string("bad\x01note")}},
       "INVALID_TEXT"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"note", std::string("nul\0note", 8)}},
       "INVALID_TEXT"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"note", std::string(2001, 'n')}},
       "TEXT_TOO_LONG"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"drafted_at", -1}},
       "INVALID_TIME"},
      {"save_draft",
       {{"return_id", "R-b-2"}, {"lead_id", "L-bravo-1"}, {"drafted_at", 1e300}},
       "BAD_TYPE"},
      {"accept_return",
       {{"return_id", "R-b-2"}, {"credit_cents", 10'000'000'000'001}},
       "INVALID_AMOUNT"},
      {"accept_return", {{"return_id", "R-b-2"}, {"credit_cents", -5}}, "INVALID_AMOUNT"},
      {"set_policy",
       {{"buyer_id", kBuyerB}, {"policy", {{"mode", accents}, {"window_hours", 1}}}},
       "INVALID_ENUM"},
      {"set_policy",
       {{"buyer_id", kBuyerB}, {"policy", {{"mode", "always_accept"}, {"window_hours", 99999}}}},
       "INVALID_POLICY"},
      // Well-formed, but not this buyer's to do.
      {"set_policy",
       {{"buyer_id", kBuyerB}, {"policy", {{"mode", "always_accept"}, {"window_hours", 8760}}}},
       "FORBIDDEN"},
      {"accept_return", {{"return_id", "R-alpha-ctl-1"}}, "FORBIDDEN"},
      {"withdraw_return", {{"return_id", "R-alpha-ctl-1"}}, "FORBIDDEN"},
      {"discard_draft", {{"return_id", "R-alpha-ctl-1"}}, "FORBIDDEN"},
      {"post_message",
       {{"return_id", "R-alpha-ctl-1"}, {"message_id", "M-1"}, {"body", "hi"}},
       "FORBIDDEN"},
      {"save_draft", {{"return_id", "R-b-3"}, {"lead_id", "L-alpha-ctl"}}, "NOT_YOUR_LEAD"},
      {"save_draft", {{"return_id", "R-alpha-ctl-1"}, {"lead_id", "L-bravo-1"}}, "FORBIDDEN"},
      {"submit_return",
       {{"return_id", "R-b-4"}, {"lead_id", "L-nope"}, {"reason", "other"}},
       "LEAD_NOT_FOUND"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op + " " +
                 c.args.dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 100));
    const Json r = s->op(c.op, c.args);
    expect_rejected(r, c.code);
    // A message quoting a cut UTF-8 value still travels as valid UTF-8 (no server fault).
    EXPECT_FALSE(r.value("message", "").empty());
  }
  // Each refusal used its seq and is stored: a resend gets the very same answer.
  const Json again = [&] {
    s->push(1, "drop_database", Json::object());
    return s->result(1);
  }();
  expect_rejected(again, "UNKNOWN_OP");
  // An op without args is decoded against {}.
  const Json no_args = push_op(*s, {{"op", "discard_draft"}});
  expect_rejected(no_args, "MISSING_FIELD");
  // The session goes on: pong, and a valid op of this buyer is applied.
  expect_pong(s->ws(), "after-bad-ops");
  const Json ok =
      s->op("save_draft",
            {{"return_id", "R-bravo-ok"}, {"lead_id", "L-bravo-1"}, {"reason", "duplicate"}});
  EXPECT_EQ(ok.value("status", ""), "applied") << ok.dump();
}

TEST_F(Hostile, SeqGapsAreRefusedAndResendsAnsweredFromStore) {
  auto s = session("hostile-seq");
  const Json first = s->op("discard_draft", {{"return_id", "R-none-1"}});
  expect_rejected(first, "RETURN_NOT_FOUND");
  // Skipping ahead: SEQ_GAP, non-fatal, nothing stored.
  s->push(5, "save_draft", {{"return_id", "R-bravo-gap"}, {"lead_id", "L-bravo-1"}});
  const Json gap = s->result(5);
  EXPECT_TRUE(is_error(gap, "SEQ_GAP")) << gap.dump();
  EXPECT_FALSE(gap.value("fatal", true));
  // A frame-level gap inside one push: refused as a whole.
  expect_nonfatal(
      *s,
      R"({"type":"push","ops":[{"seq":2,"op":"discard_draft"},{"seq":4,"op":"discard_draft"}]})",
      "SEQ_GAP");
  // The next seq is still 2, and the resend of seq 1 is the stored answer, unchanged.
  s->set_seq(1);
  const Json second = s->op("save_draft", {{"return_id", "R-bravo-gap"}, {"lead_id", "L-bravo-1"}});
  EXPECT_EQ(second.value("status", ""), "applied") << second.dump();
  EXPECT_EQ(second.value("seq", 0), 2);
  s->push(1, "save_draft", {{"return_id", "R-would-differ"}, {"lead_id", "L-bravo-1"}});
  EXPECT_EQ(s->result(1), first);
  s->push(2, "discard_draft", {{"return_id", "R-bravo-gap"}});
  EXPECT_EQ(s->result(2), second);  // not discarded: the stored answer is for seq 2's first op
  // A reconnect learns last_seq from welcome.
  auto again = std::make_unique<SyncClient>(port(), server_->buyer_token(kBuyerB), "hostile-seq");
  const std::vector<Json> got = again->hello();
  ASSERT_GE(got.size(), 2u);
  for (const Json& f : got) {
    if (type_of(f) == "welcome") {
      EXPECT_EQ(f.value("last_seq", -1), 2) << f.dump();
    }
  }
  EXPECT_FALSE(again->row("return", "R-bravo-gap").is_null());
  EXPECT_TRUE(again->row("return", "R-would-differ").is_null());
}

TEST_F(Hostile, CursorBeyondHeadGetsResetThenWelcome) {
  auto s = std::make_unique<SyncClient>(port(), server_->buyer_token(kBuyerB), "hostile-cursor");
  const std::vector<Json> got = s->hello(kMaxSafe);
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(type_of(got[0]), "reset") << got[0].dump();
  EXPECT_EQ(type_of(got[1]), "welcome") << got[1].dump();
  EXPECT_EQ(got[1].value("cursor", -1), 0);
  EXPECT_EQ(type_of(got.back()), "synced");
  EXPECT_FALSE(s->row("lead", "L-bravo-1").is_null());
}

TEST_F(Hostile, ClientClockCannotReopenAClosedWindow) {
  // Buyer A's lead delivered 8 days ago; the client claims it drafted and submitted in time.
  auto s = session("hostile-window", server_->buyer_token(kBuyerA));
  const Millis delivered = now_ms() - 8 * 24 * kHour;
  s->ws().send(Json{{"type", "push"},
                    {"ops", Json::array({{{"seq", 1},
                                          {"op", "submit_return"},
                                          {"args",
                                           {{"return_id", "R-alpha-late"},
                                            {"lead_id", "L-alpha-old"},
                                            {"reason", "bad_contact"},
                                            {"drafted_at", delivered + kHour}}},
                                          {"client_time", delivered + 2 * kHour}}})}});
  s->set_seq(1);
  expect_rejected(s->result(1), "WINDOW_CLOSED");
  const Json row = s->wait_item("return", "R-alpha-late");
  ASSERT_FALSE(row.is_null());
  const Json draft = s->row("return", "R-alpha-late");
  EXPECT_EQ(draft.value("state", ""), "draft") << draft.dump();
  EXPECT_EQ(draft.value("refusal", ""), "WINDOW_CLOSED") << draft.dump();
}

TEST_F(Hostile, BuyersNeverSeeOtherBuyersSuppliersOrCost) {
  // Buyer B from scratch, after all the activity above and some of buyer A's right now.
  auto a = session("hostile-scope-a", server_->buyer_token(kBuyerA));
  a->op("save_draft", {{"return_id", "R-alpha-scope"}, {"lead_id", "L-alpha-x"}});
  auto b = session("hostile-scope-b");
  expect_pong(b->ws(), "scope");
  bool saw_own_lead = false;
  for (const std::string& text : b->ws().transcript()) {
    const Json f = Json::parse(text, nullptr, false);
    if (type_of(f) != "changes") continue;
    EXPECT_EQ(text.find("alpha"), std::string::npos) << text.substr(0, 300);
    EXPECT_EQ(text.find("S-"), std::string::npos) << text.substr(0, 300);
    EXPECT_EQ(text.find("Supplyco"), std::string::npos) << text.substr(0, 300);
    EXPECT_EQ(text.find("cost_cents"), std::string::npos) << text.substr(0, 300);
    EXPECT_EQ(text.find("supplier"), std::string::npos) << text.substr(0, 300);
    EXPECT_EQ(text.find("\"alert\""), std::string::npos) << text.substr(0, 300);
    saw_own_lead = saw_own_lead || text.find("L-bravo-1") != std::string::npos;
  }
  EXPECT_TRUE(saw_own_lead);
}

// --- Abuse: rate and slow consumers --------------------------------------------------------------

TEST_F(Hostile, OpBurstIsRateLimitedNotFatal) {
  auto s = session("hostile-rate");
  for (int p = 0; p < 3; ++p) {
    Json ops = Json::array();
    for (int i = 1; i <= 100; ++i) {
      ops.push_back({{"seq", p * 100 + i},
                     {"op", "discard_draft"},
                     {"args", {{"return_id", "R-rate-" + std::to_string(p * 100 + i)}}}});
    }
    ASSERT_TRUE(s->ws().send_text(Json{{"type", "push"}, {"ops", ops}}.dump()));
  }
  // Results for the first ≥ 200 ops, and one RATE_LIMITED naming the first seq not applied.
  std::int64_t limited_from = 0;
  std::set<std::int64_t> results;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline &&
         (limited_from == 0 || static_cast<std::int64_t>(results.size()) < limited_from - 1)) {
    const std::optional<Json> f = s->ws().next(1s);
    if (!f) continue;
    if (is_error(*f, "RATE_LIMITED")) {
      EXPECT_FALSE(f->value("fatal", true));
      EXPECT_EQ(limited_from, 0) << "one RATE_LIMITED per push that runs dry";
      std::smatch m;
      const std::string msg = f->value("message", "");
      ASSERT_TRUE(std::regex_search(msg, m, std::regex("seq ([0-9]+)"))) << msg;
      limited_from = std::stoll(m[1].str());
    } else if (type_of(*f) == "result") {
      results.insert(f->value("seq", std::int64_t{0}));
    } else if (type_of(*f) == "error") {
      ADD_FAILURE() << f->dump();
    }
  }
  ASSERT_GT(limited_from, 200);
  ASSERT_LE(limited_from, 300);
  EXPECT_EQ(static_cast<std::int64_t>(results.size()), limited_from - 1);
  EXPECT_EQ(*results.rbegin(), limited_from - 1);
  // The bucket refills (50/s): the refused ops go through on resend.
  std::this_thread::sleep_for(500ms);
  s->set_seq(limited_from - 1);
  for (int i = 0; i < 5; ++i) {
    expect_rejected(s->op("discard_draft", {{"return_id", "R-rate-late"}}), "RETURN_NOT_FOUND");
  }
  expect_pong(s->ws(), "after-burst");
  EXPECT_GT(metric("returns_ops_rate_limited_total"), 0);
  // The checkpointer's counters are exposed (-1: missing), and this load made none fail.
  EXPECT_GE(metric("returns_wal_checkpoints_total"), 0);
  EXPECT_GE(metric("returns_wal_frames_checkpointed_total"), 0);
  EXPECT_EQ(metric("returns_wal_checkpoint_failures_total"), 0);
}

TEST_F(Hostile, SlowConsumerIsCutOffOthersUnaffected) {
  const std::int64_t before = metric("returns_slow_consumers_total");
  ASSERT_GE(before, 0);
  // A tiny receive window, a hello, then pings by the thousand, never reading a pong.
  auto c = raw_ws(port(), 4096);
  ASSERT_TRUE(c->write_all(ws_frame(1, hello_text(server_->operator_token(), "hostile-slow"))));
  const std::string ping = ws_frame(1, R"({"type":"ping","t":")" + std::string(60, 'p') + "\"}");
  std::string batch;
  for (int i = 0; i < 2000; ++i) batch += ping;
  bool cut = false;
  for (int round = 0; round < 200 && !cut; ++round) {
    const bool taken = c->write_all(batch, 2s);
    cut = metric("returns_slow_consumers_total") > before;
    if (!taken) break;  // the server stopped reading us
  }
  for (int i = 0; i < 50 && !cut; ++i) {
    std::this_thread::sleep_for(100ms);
    cut = metric("returns_slow_consumers_total") > before;
  }
  EXPECT_TRUE(cut);
  // Others are served meanwhile (the control check after this test, and a new session now).
  auto other = session("hostile-slow-other");
  expect_pong(other->ws(), "while-slow");
  // Reading at last: pongs, then the close frame (1008, slow consumer).
  c->read_until(
      [](const std::string& d) {
        const auto at = d.find("\r\n\r\n");
        return at != std::string::npos && close_code_in(std::string_view(d).substr(at + 4)) != 0;
      },
      30s);
  const std::string after = c->data().substr(c->data().find("\r\n\r\n") + 4);
  EXPECT_EQ(close_code_in(after), 1008);
}

// --- HTTP ----------------------------------------------------------------------------------------

TEST_F(Hostile, LeadIngestRefusesTheUnauthorizedAndTheMalformed) {
  const std::string op = server_->operator_token();
  const Json one = Json::array({lead_json("L-bravo-http", kBuyerB, "S-keep", 1500, 700)});
  auto expect = [](const HttpReply& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.json["error"]["code"], code) << r.body;
  };
  expect(http_post(port(), "/v1/leads", one), 401, "UNAUTHORIZED");
  expect(http_post(port(), "/v1/leads", one, "garbage"), 401, "UNAUTHORIZED");
  expect(http_post(port(), "/v1/leads", one, server_->token(Role::operator_, "", "ops", -1)), 401,
         "TOKEN_EXPIRED");
  expect(http_post(port(), "/v1/leads", one, server_->buyer_token(kBuyerB)), 403, "FORBIDDEN");
  expect(http_request(port(), "GET", "/v1/leads", "", op), 405, "INVALID_ENUM");
  expect(http_request(port(), "PUT", "/v1/leads", one.dump(), op), 405, "INVALID_ENUM");
  expect(http_request(port(), "POST", "/v1/leads", "not json", op), 400, "BAD_JSON");
  expect(http_request(port(), "POST", "/v1/leads", "", op), 400, "BAD_JSON");
  expect(http_request(port(), "POST", "/v1/leads", "42", op), 400, "BAD_TYPE");
  expect(http_request(port(), "POST", "/v1/leads", R"({"leads":5})", op), 400, "BAD_TYPE");
  expect(http_request(port(), "POST", "/v1/leads", R"("leads")", op), 400, "BAD_TYPE");
  // Basic auth, or a bearer with nothing after it.
  const std::string basic =
      raw_http(port(),
               "POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Basic b3A6b3A=\r\n"
               "Content-Length: 2\r\nConnection: close\r\n\r\n[]");
  EXPECT_EQ(status_of(basic), 401) << basic;
  const std::string empty_bearer =
      raw_http(port(),
               "POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\n"
               "Content-Length: 2\r\nConnection: close\r\n\r\n[]");
  EXPECT_EQ(status_of(empty_bearer), 401) << empty_bearer;
  // Over 8 MiB: refused from the headers, 413, without reading the body.
  const std::string big = raw_http(
      port(), "POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + op +
                  "\r\nContent-Type: application/json\r\nContent-Length: 9437184\r\n\r\n[");
  EXPECT_EQ(status_of(big), 413) << big.substr(0, 300);
  EXPECT_NE(big.find("FRAME_TOO_LARGE"), std::string::npos) << big.substr(0, 300);
  // Bad items are refused one by one; a value quoted in a message is cut without breaking UTF-8.
  std::string accents = "a";
  for (int i = 0; i < 40; ++i) accents += "\xc3\xa9";
  Json bad_status = lead_json("L-bravo-utf8", kBuyerB, "S-keep", 1500, 700);
  bad_status["status"] = accents;
  Json other_campaign = lead_json("L-bravo-nocamp", kBuyerB, "S-keep", 1500, 700);
  other_campaign["campaign_id"] = "C-alpha";  // buyer A's campaign
  const HttpReply mixed =
      http_post(port(), "/v1/leads",
                Json::array({5, "x", nullptr, Json::array(), bad_status, other_campaign}), op);
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  ASSERT_EQ(mixed.json["refused"].size(), 6u) << mixed.body;
  EXPECT_EQ(mixed.json["inserted"], 0);
  EXPECT_EQ(mixed.json["refused"][0]["code"], "BAD_TYPE");
  EXPECT_EQ(mixed.json["refused"][4]["code"], "INVALID_ENUM");
  EXPECT_EQ(mixed.json["refused"][5]["code"], "CAMPAIGN_NOT_FOUND");
  EXPECT_EQ(mixed.json["refused"][5]["index"], 5);
  // Deeply nested JSON (2 M levels, 4 MiB): refused, and the server lives on.
  const std::string deep = std::string(2'000'000, '[') + std::string(2'000'000, ']');
  const HttpReply d = http_request(port(), "POST", "/v1/leads", deep, op, 10s);
  EXPECT_TRUE(d.status == 200 || d.status == 400) << d.status << " " << d.body.substr(0, 200);
  // Idempotent ingest still works.
  const HttpReply ok = http_post(port(), "/v1/leads", one, op);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json["inserted"], 1) << ok.body;
  EXPECT_EQ(http_post(port(), "/v1/leads", one, op).json["unchanged"], 1);
}

TEST_F(Hostile, ReportsRefuseBadQueries) {
  const std::string op = server_->operator_token();
  auto expect = [&](const std::string& target, int status, const std::string& code) {
    SCOPED_TRACE(target);
    const HttpReply r = http_get(port(), target, op);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.json["error"]["code"], code) << r.body;
  };
  expect("/v1/reports/nope", 404, "INVALID_ENUM");
  expect("/v1/reports/", 404, "INVALID_ENUM");
  expect("/v1/reports/../healthz", 404, "INVALID_ENUM");
  expect("/v1/reports/rates?days=0", 400, "INVALID_AMOUNT");
  expect("/v1/reports/rates?days=-1", 400, "INVALID_AMOUNT");
  expect("/v1/reports/rates?days=abc", 400, "INVALID_AMOUNT");
  expect("/v1/reports/rates?days=3661", 400, "INVALID_AMOUNT");
  expect("/v1/reports/rates?days=1e3", 400, "INVALID_AMOUNT");
  expect("/v1/reports/rates?days=99999999999999999999", 400, "INVALID_AMOUNT");
  expect("/v1/reports/rates?by=bogus", 400, "INVALID_ENUM");
  expect("/v1/reports/rates?by=buyer%00", 400, "INVALID_ENUM");
  expect("/v1/reports/pnl?by=reason", 400, "INVALID_ENUM");
  expect("/v1/reports/rates?from=10", 400, "INVALID_TIME");
  expect("/v1/reports/rates?from=20&to=10", 400, "INVALID_TIME");
  expect("/v1/reports/rates?from=x&to=y", 400, "INVALID_TIME");
  EXPECT_EQ(http_get(port(), "/v1/reports/rates").status, 401);
  EXPECT_EQ(http_get(port(), "/v1/reports/rates", server_->buyer_token(kBuyerA)).status, 403);
  EXPECT_EQ(http_request(port(), "POST", "/v1/reports/rates", "{}", op).status, 405);
  // A huge day range answers from the aggregates, quickly.
  const HttpReply wide =
      http_get(port(), "/v1/reports/rates?by=day&from=-99999999999&to=99999999999", op);
  EXPECT_EQ(wide.status, 200) << wide.body.substr(0, 200);
  const HttpReply csv = http_get(port(), "/v1/reports/matrix?format=csv&days=7", op);
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body.rfind("buyer_id,supplier_id", 0), 0u) << csv.body.substr(0, 100);
}

TEST_F(Hostile, StaticFilesStayInsideTheWebRoot) {
  EXPECT_EQ(http_get(port(), "/").status, 200);
  EXPECT_EQ(http_get(port(), "/a.txt").body, "plain file\n");
  const std::string secret_name = std::filesystem::path(server_->secret_path()).filename().string();
  for (const std::string_view target :
       {"/../etc/passwd", "/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/a.txt/../../secret",
        "/..\\..\\etc\\passwd", "//etc/passwd", "/./../etc/passwd", "/%252e%252e/etc/passwd",
        "/.%2e/.%2e/etc/passwd", "/etc/passwd", "/proc/self/environ"}) {
    SCOPED_TRACE(target);
    const HttpReply r = http_get(port(), std::string(target));
    EXPECT_EQ(r.status, 404) << r.body.substr(0, 100);
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
  }
  // Straight to the raw socket too (no client normalisation), plus a NUL.
  for (const std::string_view target : {"/../etc/passwd", "../etc/passwd", "/a.txt%00.html"}) {
    SCOPED_TRACE(target);
    const std::string res = raw_http(
        port(), "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(res), 404) << res.substr(0, 200);
    EXPECT_EQ(res.find("root:"), std::string::npos);
  }
  EXPECT_EQ(http_request(port(), "DELETE", "/index.html").status, 404);
  const HttpReply head = http_request(port(), "HEAD", "/a.txt");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(Hostile, BrokenHttpIsDroppedCleanly) {
  // Not HTTP at all, a header over 16 KiB, a bad Content-Length: the connection ends, no crash.
  for (const std::string& req :
       {std::string("HELLO THERE\r\n\r\n"), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9),
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20'000, 'b') + "\r\n\r\n",
        std::string("POST /v1/leads HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        std::string("POST /v1/leads HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Content-Length: 7\r\n\r\n[]")}) {
    SCOPED_TRACE(req.substr(0, 40));
    RawConn c(port());
    c.write_all(req);
    c.read_to_eof(5s);
    EXPECT_TRUE(c.eof());
    const int status = status_of(c.data());
    EXPECT_TRUE(status == 0 || (status >= 400 && status < 500)) << c.data().substr(0, 200);
  }
  EXPECT_EQ(http_get(port(), "/v1/sync").status, 426);
  const HttpReply health = http_get(port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json["status"], "ok");
}

// --- Last: nothing acknowledged was lost, across a graceful restart as well ---------------------

TEST_F(Hostile, ZzNothingAcknowledgedIsLost) {
  auto check = [](const std::string& client_id) {
    auto fresh = std::make_unique<SyncClient>(port(), server_->buyer_token(kBuyerA), client_id);
    const std::vector<Json> got = fresh->hello();
    ASSERT_FALSE(got.empty());
    ASSERT_EQ(type_of(got.back()), "synced");
    for (const Acked& a : acked_) {
      const Json row = fresh->row("return", a.args.value("return_id", ""));
      EXPECT_EQ(row.value("state", ""), "draft") << a.args.dump();
      EXPECT_EQ(row.value("note", ""), a.args.value("note", "")) << a.args.dump();
    }
  };
  // Every test before this one left an acknowledged op (TearDown); run alone, it makes its own.
  while (acked_.size() < 10) control_check();
  check("hostile-audit-1");
  // Every frame the server sent the control, through all of the above, was an object with
  // `type` first (docs/protocol.md).
  for (const std::string& text : control_->ws().transcript()) {
    EXPECT_EQ(text.rfind("{\"type\":\"", 0), 0u) << text.substr(0, 100);
  }
  // Resends of acknowledged ops are answered from the store, identical, and change nothing.
  for (std::size_t i = 0; i < 3; ++i) {
    control_->push(acked_[i].seq, "save_draft", acked_[i].args);
    EXPECT_EQ(control_->result(acked_[i].seq), acked_[i].result);
  }
  // Graceful restart: sessions are closed with 1001, the data is all there afterwards.
  EXPECT_EQ(server_->stop(), 0) << server_->log();
  EXPECT_TRUE(control_->ws().wait_closed());
  EXPECT_EQ(control_->ws().close_code(), 1001);
  server_->start();
  check("hostile-audit-2");
  const std::int64_t cursor = control_->cursor();
  connect_control(cursor);
  for (const Json& f : control_->ws().frames()) {
    if (type_of(f) == "welcome") {
      EXPECT_EQ(f.value("last_seq", -1), acked_.back().seq - 1) << f.dump();
    }
  }
}

}  // namespace
}  // namespace returns::test
