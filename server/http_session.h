// http_session.h — one HTTP connection: lead ingest, reports, health, metrics, static files of
// the web demo, and the upgrade of GET /v1/sync to a SyncSession. A template on the stream type
// (transport.h): the same routes over plain TCP and over TLS.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <string>

#include "server/hub.h"
#include "server/sync_session.h"
#include "server/transport.h"

namespace returns::server {

struct HttpConfig {
  std::string web_root;        // empty: no static files
  std::string allowed_origin;  // empty: any Origin may open /v1/sync
  std::string pkg_root;        // empty: nothing under /pkg/; else the wasm package folder
  // `--demo` only: the JSON array GET /v1/demo/logins answers (demo logins with signed tokens).
  // Empty: the endpoint does not exist (404), as on any real deployment.
  std::string demo_logins_json;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
};

// Stream: PlainStream or TlsStream (both instantiated in http_session.cc).
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  HttpSession(Stream&& stream, Hub& hub, const std::string& secret, const HttpConfig& config,
              const SessionLimits& limits);
  // Handshakes (TLS), then serves requests until the peer is done.
  void run();

 private:
  void on_handshake(boost::beast::error_code ec);
  void end_connection();
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle(Request&& req);
  void reply(Response res);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);

  // Answers with JSON or an error; `status` for errors.
  Response json_response(boost::beast::http::status status, const Json& body) const;
  Response error_response(boost::beast::http::status status, ErrorCode code,
                          const std::string& message) const;
  // Operator (or integration) bearer token, else an error response.
  std::optional<Response> require_operator(const Request& req) const;
  void handle_ingest(const Request& req);
  void handle_report(const Request& req, const std::string& name, const std::string& query);
  Response serve_static(const Request& req, const std::string& path) const;
  Response serve_file(const Request& req, const std::string& root, const std::string& path) const;

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Hub& hub_;
  const std::string& secret_;
  const HttpConfig& config_;
  const SessionLimits& limits_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
};

}  // namespace returns::server
