// harness.h — black-box test harness for returnsd: runs the real server binary as a child
// process on 127.0.0.1 (port 0, --port-file) with its own temporary database and secret, mints
// tokens with that secret, and talks to it through a small synchronous HTTP client and a
// synchronous Beast WebSocket client. Every wait has a timeout, so a broken server fails a test
// instead of hanging it. Setup failures throw std::runtime_error (GoogleTest reports them).
// With Options::tls the server serves https/wss only, with a self-signed test certificate, and
// the clients take Transport::tls (they trust that certificate and nothing else).
//
// Typical use:
//   Server server(Server::Options{.world = standard_world()});
//   http_post(server.port(), "/v1/leads", Json::array({lead_json(...)}), server.operator_token());
//   SyncClient op(server.port(), server.operator_token(), "op-1");
//   op.hello();                                    // welcome … synced
//   Json r = op.op("accept_return", {{"return_id", "R1"}});   // the result frame
//   EXPECT_EQ(server.stop(), 0);                   // SIGTERM, graceful drain
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/codec.h"

namespace returns::test {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
inline constexpr Ms kWait = 5s;  // default timeout of every wait

Millis now_ms();

// --- Fixture data --------------------------------------------------------------------------------

// The standard world (seeded with `returnsd seed`). Every id of buyer A contains "alpha" and
// every id of buyer B "bravo", so a frame can be scanned for the other buyer's data; supplier
// ids contain "S-" and their names "Supplyco", which no buyer may ever see.
//   suppliers: S-pass (pass_through_returns), S-keep
//   buyers:    B-alpha (prepaid), B-bravo (net_terms) — both with policy mode "manual"
//   campaigns: C-alpha (B-alpha, solar, 2000 ¢), C-bravo (B-bravo, roofing, 1500 ¢)
inline constexpr const char* kBuyerA = "B-alpha";
inline constexpr const char* kBuyerB = "B-bravo";
Json standard_world();

// A lead of the standard world. Buyer A's leads use C-alpha, buyer B's C-bravo; delivered an
// hour ago unless `delivered_at` is given.
Json lead_json(const std::string& id, const std::string& buyer_id, const std::string& supplier_id,
               Money price_cents, Money cost_cents, Millis delivered_at = 0);

// --- Transport -----------------------------------------------------------------------------------

// How a client reaches the server: plain TCP, or TLS verified against the test certificate.
enum class Transport { plain, tls };

// The self-signed test certificate (EC P-256, subjectAltName IP:127.0.0.1) and its key, made
// with the openssl CLI once per test process in a temporary directory.
struct TlsFiles {
  std::string cert;
  std::string key;
};
const TlsFiles& test_tls_files();

// Runs a program (looked up in PATH) to completion; its exit code, or 128 + signal (SIGKILL after
// `timeout`). Its stdout and stderr go to `output`.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr,
                Ms timeout = 60s);

// --- HTTP ----------------------------------------------------------------------------------------

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed or timed out)
  std::string body;
  Json json;  // the body parsed, or null
};

HttpReply http_request(unsigned short port, const std::string& method, const std::string& target,
                       const std::string& body = "", const std::string& bearer = "",
                       Ms timeout = kWait, Transport transport = Transport::plain,
                       const std::string& content_type = "application/json");
HttpReply http_get(unsigned short port, const std::string& target, const std::string& bearer = "",
                   Transport transport = Transport::plain);
HttpReply http_post(unsigned short port, const std::string& target, const Json& body,
                    const std::string& bearer = "", Transport transport = Transport::plain);

// --- The server process --------------------------------------------------------------------------

class Server {
 public:
  struct Options {
    Json world = Json();                 // seeded before the first start when not null
    std::vector<std::string> args = {};  // extra `returnsd serve` flags
    bool start = true;                   // start in the constructor
    bool tls = false;                    // --tls-cert/--tls-key with test_tls_files()
  };

  Server() : Server(Options{}) {}
  explicit Server(Options options);
  ~Server();  // SIGKILL if still running, then removes the temporary directory
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts (or restarts) the server on the same database and secret; waits for its port.
  void start();
  // SIGTERM, then waits (up to `timeout`, SIGKILL after). The exit code, or 128 + signal.
  int stop(Ms timeout = 15s);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // -1 when not running (benchmarks read its CPU time)

  unsigned short port() const { return port_; }
  Transport transport() const { return options_.tls ? Transport::tls : Transport::plain; }
  const std::string& dir() const { return dir_; }
  std::string db_path() const { return dir_ + "/returns.db"; }
  std::string secret_path() const { return dir_ + "/secret"; }
  std::string log() const;  // the server's stdout and stderr so far
  // The committed head of the event log, read from the database file (GET /healthz reports the
  // head the hub has broadcast, which may lag a commit by a moment). -1 when unreadable.
  std::int64_t committed_head() const;

  // Tokens signed with this server's secret. A negative ttl gives an expired token.
  std::string token(Role role, const std::string& buyer_id, const std::string& subject,
                    Millis ttl_ms = 3'600'000) const;
  std::string operator_token(const std::string& subject = "ops-test") const {
    return token(Role::operator_, "", subject);
  }
  std::string buyer_token(const std::string& buyer_id) const {
    return token(Role::buyer, buyer_id, buyer_id);
  }

  // Runs `returnsd <args…>` to completion; returns its exit code, its output in `output`.
  static int run_tool(const std::vector<std::string>& args, std::string* output = nullptr,
                      Ms timeout = 60s);

 private:
  Options options_;
  std::string dir_;
  std::string secret_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  bool seeded_ = false;
};

// --- WebSocket -----------------------------------------------------------------------------------

class WsClient {
 public:
  // Connects (TLS handshake included) and completes the upgrade of GET `target`; throws when
  // any step fails.
  explicit WsClient(unsigned short port, const std::string& target = "/v1/sync",
                    Transport transport = Transport::plain);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  void send(const Json& frame) { send_text(frame.dump()); }
  bool send_text(const std::string& text);  // false when the write failed or timed out
  bool send_binary(const std::string& bytes);

  // The next frame (parsed; a frame that is not JSON comes back as a string), or nothing when
  // none arrives within `timeout` or the connection is closed.
  std::optional<Json> next(Ms timeout = kWait);
  // Frames up to and including the first one `stop` accepts (all frames read if none did
  // within `timeout`; check the last one).
  std::vector<Json> collect_until(const std::function<bool(const Json&)>& stop, Ms timeout = kWait);
  // Reads (and keeps) frames until the server closes the connection; false on timeout.
  bool wait_closed(Ms timeout = kWait);

  void close();  // WebSocket close handshake (code 1000)
  void drop();   // closes the TCP socket without a close frame
  bool closed() const { return closed_; }
  // The server's close frame (code 0 when the connection ended without one).
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }

  // Every text frame received so far, as sent (for scanning), and parsed.
  const std::vector<std::string>& transcript() const { return transcript_; }
  const std::vector<Json>& frames() const { return frames_; }

 private:
  void start_read();
  // Runs the I/O context until `done` or the deadline; false on timeout.
  bool run_until(const std::function<bool()>& done, Ms timeout);
  bool write(const std::string& data, bool binary);

  using PlainWs = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using TlsWs = boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // Transport::tls only
  std::variant<PlainWs, TlsWs> ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<Json> inbox_;
  std::vector<std::string> transcript_;
  std::vector<Json> frames_;
  bool closed_ = false;
  int close_code_ = 0;
  std::string close_reason_;
};

// A sync-protocol client over WsClient: hello, seq numbering, ops and their results.
class SyncClient {
 public:
  SyncClient(unsigned short port, std::string token, std::string client_id,
             Transport transport = Transport::plain);

  // Sends hello and reads until `synced` or an `error` (included), or `timeout`. `last_seq`
  // defaults to the seq of the last op this client sent.
  std::vector<Json> hello(std::int64_t cursor = 0, std::optional<std::int64_t> last_seq = {},
                          Ms timeout = kWait);
  // Pushes one op with the next seq and waits for its `result` (or an `error` frame); null on
  // timeout.
  Json op(const std::string& name, const Json& args);
  // Pushes one op with an explicit seq (no waiting); the next op() continues after it.
  void push(std::int64_t seq, const std::string& name, const Json& args);
  // Waits for the `result` of `seq` (or an `error`); null on timeout.
  Json result(std::int64_t seq, Ms timeout = kWait);
  // Waits for a changes frame holding an item of this entity and id; null on timeout.
  Json wait_item(const std::string& entity, const std::string& id, Ms timeout = kWait);

  // The cursor of the last `changes`/`synced` frame received (0 before any).
  std::int64_t cursor() const;
  // Every change item received so far, in order.
  std::vector<Json> items() const;
  // The latest data of a row received so far, or null.
  Json row(const std::string& entity, const std::string& id) const;

  std::int64_t seq() const { return seq_; }
  void set_seq(std::int64_t seq) { seq_ = seq; }
  const std::string& client_id() const { return client_id_; }
  WsClient& ws() { return *ws_; }

 private:
  std::unique_ptr<WsClient> ws_;
  std::string token_;
  std::string client_id_;
  std::int64_t seq_ = 0;
};

// The `type` of a server frame ("" when it is not an object with a string type).
std::string type_of(const Json& frame);
// A frame matcher: its `type` is `type`.
std::function<bool(const Json&)> is_type(const std::string& type);
// Whether `frame` is `{type: "error", code}`.
bool is_error(const Json& frame, const std::string& code);

}  // namespace returns::test
