// harness.cc — the returnsd child process, the HTTP and WebSocket clients (see harness.h).
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "server/token.h"

namespace returns::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json parse_or_string(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

// Whether a changes frame holds an item of this entity and id.
bool has_item(const Json& f, const std::string& entity, const std::string& id) {
  if (type_of(f) != "changes") return false;
  for (const Json& i : f.at("items")) {
    if (i.value("entity", "") == entity && i.value("id", "") == id) return true;
  }
  return false;
}

tcp::endpoint local(unsigned short port) { return {asio::ip::make_address("127.0.0.1"), port}; }

// Starts `program args…` (a path, or a name looked up in PATH) with stdout and stderr appended
// to `log` (empty: inherited).
// Starts `full` with stdout and stderr appended to `log` (when given). The child gets SIGKILL
// when the test process dies, so a crashed or killed test never leaves a server behind. Between
// fork and exec only async-signal-safe calls (the test process has threads).
pid_t spawn(std::vector<std::string> full, const std::string& log) {
  std::vector<char*> argv;
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("cannot start " + full[0] + ": " + strerror(errno));
  if (pid == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) _exit(126);
    if (!log.empty()) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) _exit(126);
    }
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// `returnsd args…`
std::vector<std::string> returnsd(const std::vector<std::string>& args) {
  std::vector<std::string> full = {RETURNSD_PATH};
  full.insert(full.end(), args.begin(), args.end());
  return full;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// A client context that trusts the test certificate only, and checks the server's name (the
// address 127.0.0.1) against it.
std::unique_ptr<asio::ssl::context> client_tls_context() {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_verify_mode(asio::ssl::verify_peer);
  ctx->load_verify_file(test_tls_files().cert);
  return ctx;
}

// The client's side of the connection setup on a connected stream, then `done(error_code)`.
template <class Handler>
void client_handshake(beast::tcp_stream&, Handler&& done) {
  done(beast::error_code());
}
template <class Handler>
void client_handshake(beast::ssl_stream<beast::tcp_stream>& stream, Handler&& done) {
  stream.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  stream.async_handshake(asio::ssl::stream_base::client, std::forward<Handler>(done));
}

// One request, one response over `stream` (plain or TLS); status 0 when anything failed.
template <class Stream>
HttpReply exchange(asio::io_context& ioc, Stream& stream, unsigned short port,
                   http::request<http::string_body>& req, Ms timeout) {
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  bool done = false;
  bool answered = false;  // a whole response was read (a default response says 200 too)
  beast::get_lowest_layer(stream).expires_after(timeout);
  beast::get_lowest_layer(stream).async_connect(local(port), [&](beast::error_code ec) {
    if (ec) {
      done = true;
      return;
    }
    client_handshake(stream, [&](beast::error_code hec) {
      if (hec) {
        done = true;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
        if (wec) {
          done = true;
          return;
        }
        http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
          answered = !rec;
          done = true;
        });
      });
    });
  });
  ioc.run_for(timeout + 1s);
  HttpReply reply;
  if (!done || !answered || res.result_int() == 0) return reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  Json j = Json::parse(reply.body, nullptr, false);
  if (!j.is_discarded()) reply.json = std::move(j);
  return reply;
}

// Removes the test certificate's directory when the test process ends.
struct TlsDir {
  TlsFiles files;
  std::string dir;
  ~TlsDir() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

std::string type_of(const Json& f) {
  if (!f.is_object()) return "";
  auto it = f.find("type");
  return it != f.end() && it->is_string() ? it->get<std::string>() : "";
}

Millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- Fixture data --------------------------------------------------------------------------------

Json standard_world() {
  const Json manual = {{"mode", "manual"}, {"window_hours", 168}};
  return Json{
      {"suppliers",
       Json::array({{{"id", "S-pass"}, {"name", "Supplyco Pass"}, {"pass_through_returns", true}},
                    {{"id", "S-keep"}, {"name", "Supplyco Keep"}}})},
      {"buyers",
       Json::array(
           {{{"id", kBuyerA}, {"name", "Alpha Solar"}, {"billing", "prepaid"}, {"policy", manual}},
            {{"id", kBuyerB},
             {"name", "Bravo Roofing"},
             {"billing", "net_terms"},
             {"policy", manual}}})},
      {"campaigns", Json::array({{{"id", "C-alpha"},
                                  {"buyer_id", kBuyerA},
                                  {"vertical", "solar"},
                                  {"price_cents", 2000}},
                                 {{"id", "C-bravo"},
                                  {"buyer_id", kBuyerB},
                                  {"vertical", "roofing"},
                                  {"price_cents", 1500}}})}};
}

Json lead_json(const std::string& id, const std::string& buyer_id, const std::string& supplier_id,
               Money price_cents, Money cost_cents, Millis delivered_at) {
  const bool a = buyer_id == kBuyerA;
  return Json{{"id", id},
              {"buyer_id", buyer_id},
              {"campaign_id", a ? "C-alpha" : "C-bravo"},
              {"vertical", a ? "solar" : "roofing"},
              {"state", "TX"},
              {"zip", "73301"},
              {"contact_hash", "h-" + id},
              {"price_cents", price_cents},
              {"cost_cents", cost_cents},
              {"supplier_id", supplier_id},
              {"delivered_at", delivered_at != 0 ? delivered_at : now_ms() - 3'600'000}};
}

// --- HTTP ----------------------------------------------------------------------------------------

const TlsFiles& test_tls_files() {
  static const TlsDir made = [] {
    TlsDir d;
    std::string templ = (std::filesystem::temp_directory_path() / "returnsd-tls-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    d.dir = templ;
    d.files = {d.dir + "/cert.pem", d.dir + "/key.pem"};
    std::string out;
    const int rc = run_command(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", d.files.key, "-out", d.files.cert, "-days", "2", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
        &out);
    if (rc != 0) throw std::runtime_error("openssl req failed:\n" + out);
    return d;
  }();
  return made.files;
}

int run_command(const std::vector<std::string>& argv, std::string* output, Ms timeout) {
  std::string templ = (std::filesystem::temp_directory_path() / "returnsd-tool-XXXXXX").string();
  const int fd = mkstemp(templ.data());
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  const pid_t pid = spawn(argv, templ);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  if (output != nullptr) *output = read_file(templ);
  ::unlink(templ.c_str());
  return exit_code(status);
}

HttpReply http_request(unsigned short port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer, Ms timeout,
                       Transport transport, const std::string& content_type) {
  asio::io_context ioc;
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();
  if (transport == Transport::tls) {
    const std::unique_ptr<asio::ssl::context> ctx = client_tls_context();
    beast::ssl_stream<beast::tcp_stream> stream(ioc, *ctx);
    return exchange(ioc, stream, port, req, timeout);
  }
  beast::tcp_stream stream(ioc);
  return exchange(ioc, stream, port, req, timeout);
}

HttpReply http_get(unsigned short port, const std::string& target, const std::string& bearer,
                   Transport transport) {
  return http_request(port, "GET", target, "", bearer, kWait, transport);
}

HttpReply http_post(unsigned short port, const std::string& target, const Json& body,
                    const std::string& bearer, Transport transport) {
  return http_request(port, "POST", target, body.dump(), bearer, kWait, transport);
}

// --- The server process --------------------------------------------------------------------------

Server::Server(Options options) : options_(std::move(options)) {
  std::string templ = (std::filesystem::temp_directory_path() / "returnsd-test-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  Result<std::string> secret = server::load_or_create_secret(secret_path());
  if (!secret.ok()) throw std::runtime_error("secret: " + secret.error().message);
  secret_ = *secret;
  if (options_.start) start();
}

Server::~Server() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int Server::run_tool(const std::vector<std::string>& args, std::string* output, Ms timeout) {
  return run_command(returnsd(args), output, timeout);
}

std::string Server::log() const { return read_file(dir_ + "/server.log"); }

std::int64_t Server::committed_head() const {
  sqlite3* db = nullptr;
  std::int64_t v = -1;
  if (sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    // AUTOINCREMENT's counter: the head even when old events were deleted.
    if (sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = 'events'", -1, &st,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

void Server::start() {
  if (pid_ > 0) throw std::runtime_error("the server is already running");
  if (!seeded_ && !options_.world.is_null()) {
    const std::string world = dir_ + "/world.json";
    std::ofstream(world) << options_.world.dump(2);
    std::string out;
    if (run_tool({"seed", "--db", db_path(), "--file", world}, &out) != 0) {
      throw std::runtime_error("returnsd seed failed:\n" + out);
    }
  }
  seeded_ = true;
  const std::string port_file = dir_ + "/port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = {"serve",       "--listen",    "127.0.0.1:0",
                                   "--db",        db_path(),     "--secret-file",
                                   secret_path(), "--port-file", port_file};
  if (options_.tls) {
    const TlsFiles& tls = test_tls_files();
    args.insert(args.end(), {"--tls-cert", tls.cert, "--tls-key", tls.key});
  }
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  pid_ = spawn(returnsd(args), dir_ + "/server.log");
  // Generous: --demo generates its data before listening (seconds on a busy machine).
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = read_file(port_file);
    if (!text.empty() && text.back() == '\n') {
      port_ = static_cast<unsigned short>(std::stoul(text));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("returnsd exited with " + std::to_string(exit_code(status)) + ":\n" +
                               log());
    }
    std::this_thread::sleep_for(5ms);
  }
  throw std::runtime_error("returnsd did not report its port:\n" + log());
}

int Server::stop(Ms timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  pid_ = -1;
  return exit_code(status);
}

std::string Server::token(Role role, const std::string& buyer_id, const std::string& subject,
                          Millis ttl_ms) const {
  server::TokenClaims c;
  c.role = role;
  c.buyer_id = buyer_id;
  c.subject = subject;
  c.expires_at = now_ms() + ttl_ms;
  return server::sign_token(c, secret_);
}

// --- WebSocket -----------------------------------------------------------------------------------

WsClient::WsClient(unsigned short port, const std::string& target, Transport transport)
    : tls_(transport == Transport::tls ? client_tls_context() : nullptr),
      ws_(tls_ ? std::variant<PlainWs, TlsWs>(std::in_place_type<TlsWs>, ioc_, *tls_)
               : std::variant<PlainWs, TlsWs>(std::in_place_type<PlainWs>, ioc_)) {
  beast::error_code result = asio::error::would_block;
  const std::string host = "127.0.0.1:" + std::to_string(port);
  std::visit(
      [&](auto& ws) {
        beast::get_lowest_layer(ws).expires_after(kWait);
        beast::get_lowest_layer(ws).async_connect(local(port), [&](beast::error_code ec) {
          if (ec) {
            result = ec;
            return;
          }
          client_handshake(ws.next_layer(), [&](beast::error_code tec) {
            if (tec) {
              result = tec;
              return;
            }
            ws.async_handshake(host, target, [&](beast::error_code hec) {
              result = hec ? hec : beast::error_code();
            });
          });
        });
      },
      ws_);
  run_until([&] { return result != asio::error::would_block; }, kWait + 1s);
  if (result) throw std::runtime_error("WebSocket connect failed: " + result.message());
  std::visit(
      [](auto& ws) {
        beast::get_lowest_layer(ws).expires_never();
        ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        ws.read_message_max(1 << 24);
      },
      ws_);
  start_read();
}

WsClient::~WsClient() {
  if (!closed_) drop();
}

void WsClient::start_read() {
  std::visit(
      [this](auto& ws) {
        ws.async_read(buffer_, [this, &ws](beast::error_code ec, std::size_t) {
          if (ec) {
            closed_ = true;
            close_code_ = ws.reason().code;
            close_reason_ = std::string(ws.reason().reason.c_str());
            return;
          }
          std::string text = beast::buffers_to_string(buffer_.data());
          buffer_.consume(buffer_.size());
          Json frame = parse_or_string(text);
          transcript_.push_back(std::move(text));
          frames_.push_back(frame);
          inbox_.push_back(std::move(frame));
          start_read();
        });
      },
      ws_);
}

bool WsClient::run_until(const std::function<bool()>& done, Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (ioc_.stopped()) ioc_.restart();
    if (ioc_.run_one_for(deadline - now) == 0 && ioc_.stopped()) return done();  // no work left
  }
  return true;
}

bool WsClient::write(const std::string& data, bool binary) {
  if (closed_) return false;
  auto copy = std::make_shared<std::string>(data);
  auto result = std::make_shared<std::optional<beast::error_code>>();
  std::visit(
      [&](auto& ws) {
        ws.binary(binary);
        ws.async_write(asio::buffer(*copy),
                       [copy, result](beast::error_code ec, std::size_t) { *result = ec; });
      },
      ws_);
  if (!run_until([&] { return result->has_value(); }, kWait)) return false;
  return !**result;
}

bool WsClient::send_text(const std::string& text) { return write(text, false); }
bool WsClient::send_binary(const std::string& bytes) { return write(bytes, true); }

std::optional<Json> WsClient::next(Ms timeout) {
  run_until([&] { return !inbox_.empty() || closed_; }, timeout);
  if (inbox_.empty()) return std::nullopt;
  Json frame = std::move(inbox_.front());
  inbox_.pop_front();
  return frame;
}

std::vector<Json> WsClient::collect_until(const std::function<bool(const Json&)>& stop,
                                          Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Json> out;
  while (true) {
    const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    std::optional<Json> frame = next(std::max(left, Ms(0)));
    if (!frame) return out;
    out.push_back(std::move(*frame));
    if (stop(out.back())) return out;
  }
}

bool WsClient::wait_closed(Ms timeout) {
  const bool ok = run_until([&] { return closed_; }, timeout);
  return ok;
}

void WsClient::close() {
  if (closed_) return;
  bool done = false;
  std::visit(
      [&done](auto& ws) {
        ws.async_close(websocket::close_code::normal, [&done](beast::error_code) { done = true; });
      },
      ws_);
  run_until([&] { return done && closed_; }, kWait);
}

void WsClient::drop() {
  std::visit(
      [](auto& ws) {
        beast::error_code ec;
        beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws).socket().close(ec);
      },
      ws_);
  run_until([&] { return closed_; }, 1s);
  closed_ = true;
}

// --- Sync client ---------------------------------------------------------------------------------

SyncClient::SyncClient(unsigned short port, std::string token, std::string client_id,
                       Transport transport)
    : ws_(std::make_unique<WsClient>(port, "/v1/sync", transport)),
      token_(std::move(token)),
      client_id_(std::move(client_id)) {}

std::vector<Json> SyncClient::hello(std::int64_t cursor, std::optional<std::int64_t> last_seq,
                                    Ms timeout) {
  ws_->send(Json{{"type", "hello"},
                 {"proto", 1},
                 {"token", token_},
                 {"client_id", client_id_},
                 {"cursor", cursor},
                 {"last_seq", last_seq.value_or(seq_)}});
  return ws_->collect_until(
      [](const Json& f) { return type_of(f) == "synced" || type_of(f) == "error"; }, timeout);
}

void SyncClient::push(std::int64_t seq, const std::string& name, const Json& args) {
  ws_->send(Json{
      {"type", "push"},
      {"ops",
       Json::array({{{"seq", seq}, {"op", name}, {"args", args}, {"client_time", now_ms()}}})}});
  seq_ = std::max(seq_, seq);
}

Json SyncClient::result(std::int64_t seq, Ms timeout) {
  auto match = [seq](const Json& f) {
    return (type_of(f) == "result" && f.value("seq", std::int64_t{-1}) == seq) ||
           type_of(f) == "error";
  };
  std::vector<Json> got = ws_->collect_until(match, timeout);
  return !got.empty() && match(got.back()) ? got.back() : Json();
}

Json SyncClient::op(const std::string& name, const Json& args) {
  const std::int64_t seq = seq_ + 1;
  push(seq, name, args);
  return result(seq);
}

Json SyncClient::wait_item(const std::string& entity, const std::string& id, Ms timeout) {
  for (const Json& f : ws_->frames()) {
    if (has_item(f, entity, id)) return f;
  }
  std::vector<Json> got =
      ws_->collect_until([&](const Json& f) { return has_item(f, entity, id); }, timeout);
  return !got.empty() && has_item(got.back(), entity, id) ? got.back() : Json();
}

std::int64_t SyncClient::cursor() const {
  const std::vector<Json>& fs = ws_->frames();
  for (auto it = fs.rbegin(); it != fs.rend(); ++it) {
    if (type_of(*it) == "changes") return it->at("to").get<std::int64_t>();
    if (type_of(*it) == "synced") return it->at("cursor").get<std::int64_t>();
  }
  return 0;
}

std::vector<Json> SyncClient::items() const {
  std::vector<Json> out;
  for (const Json& f : ws_->frames()) {
    if (type_of(f) != "changes") continue;
    for (const Json& i : f.at("items")) out.push_back(i);
  }
  return out;
}

Json SyncClient::row(const std::string& entity, const std::string& id) const {
  Json out;
  for (const Json& i : items()) {
    if (i.value("entity", "") == entity && i.value("id", "") == id) out = i.at("data");
  }
  return out;
}

std::function<bool(const Json&)> is_type(const std::string& type) {
  return [type](const Json& f) { return type_of(f) == type; };
}

bool is_error(const Json& frame, const std::string& code) {
  return type_of(frame) == "error" && frame.value("code", "") == code;
}

}  // namespace returns::test
