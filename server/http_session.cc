// http_session.cc — HTTP routes. Everything that touches the store runs on the writer thread
// through Hub::with_store; the response is written back on the I/O thread.
#include "server/http_session.h"

#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/lead_csv.h"
#include "server/log.h"
#include "server/token.h"
#include "store/reports.h"

namespace returns::server {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::map<std::string, std::string> parse_query(const std::string& query) {
  std::map<std::string, std::string> out;
  std::istringstream in(query);
  std::string pair;
  while (std::getline(in, pair, '&')) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) {
      out[pair] = "";
    } else {
      out[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
  }
  return out;
}

std::string mime_type(const std::string& path) {
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".wasm", "application/wasm"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"}};
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  if (s.empty() || s.size() > 12) return false;
  std::int64_t v = 0;
  bool neg = false;
  std::size_t i = 0;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = neg ? -v : v;
  return true;
}

}  // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, Hub& hub, const std::string& secret,
                                 const HttpConfig& config, const SessionLimits& limits)
    : stream_(std::move(stream)), hub_(hub), secret_(secret), config_(config), limits_(limits) {}

template <class Stream>
void HttpSession<Stream>::run() {
  async_server_handshake(
      stream_, beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_handshake(beast::error_code ec) {
  // A failed TLS handshake (plain HTTP on the TLS port, a bad client, a timeout) just ends this
  // connection; nothing was read that could be answered.
  if (ec) return;
  do_read();
}

template <class Stream>
void HttpSession<Stream>::end_connection() {
  async_end_connection(stream_, [self = this->shared_from_this()](beast::error_code) {});
}

template <class Stream>
void HttpSession<Stream>::do_read() {
  parser_.emplace();
  parser_->body_limit(config_.max_body_bytes);
  parser_->header_limit(16 * 1024);
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) {
    end_connection();
    return;
  }
  if (ec == http::error::body_limit) {
    version_ = 11;
    keep_alive_ = false;
    reply(error_response(http::status::payload_too_large, ErrorCode::FRAME_TOO_LARGE,
                         "The request body is over the limit."));
    return;
  }
  if (ec) return;
  handle(parser_->release());
}

template <class Stream>
auto HttpSession<Stream>::json_response(http::status status, const Json& body) const -> Response {
  Response res{status, version_};
  res.set(http::field::server, "returnsd");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive_);
  // Invalid UTF-8 in a message that quotes the client's input becomes U+FFFD, never a throw.
  res.body() = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

template <class Stream>
auto HttpSession<Stream>::error_response(http::status status, ErrorCode code,
                                         const std::string& message) const -> Response {
  return json_response(status, Json{{"error", {{"code", to_string(code)}, {"message", message}}}});
}

template <class Stream>
auto HttpSession<Stream>::require_operator(const Request& req) const -> std::optional<Response> {
  const auto auth = req[http::field::authorization];
  const std::string prefix = "Bearer ";
  if (auth.size() <= prefix.size() || auth.substr(0, prefix.size()) != prefix) {
    return error_response(http::status::unauthorized, ErrorCode::UNAUTHORIZED,
                          "An operator bearer token is required.");
  }
  Result<TokenClaims> claims =
      verify_token(std::string(auth.substr(prefix.size())), secret_, hub_.clock().now_ms());
  if (!claims.ok()) {
    return error_response(http::status::unauthorized, claims.error().code, claims.error().message);
  }
  if (claims->role != Role::operator_) {
    return error_response(http::status::forbidden, ErrorCode::FORBIDDEN,
                          "This endpoint is for operators and integrations.");
  }
  return std::nullopt;
}

template <class Stream>
void HttpSession<Stream>::handle(Request&& req) {
  ++hub_.metrics().http_requests;
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  const std::string target(req.target());
  const auto qpos = target.find('?');
  const std::string path = target.substr(0, qpos);
  const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);

  if (path == "/v1/sync") {
    if (!beast::websocket::is_upgrade(req)) {
      reply(error_response(http::status::upgrade_required, ErrorCode::HELLO_REQUIRED,
                           "GET /v1/sync is a WebSocket endpoint."));
      return;
    }
    if (!config_.allowed_origin.empty() && req[http::field::origin] != config_.allowed_origin) {
      reply(error_response(http::status::forbidden, ErrorCode::FORBIDDEN,
                           "This Origin may not open a sync session."));
      return;
    }
    std::make_shared<SyncSession<Stream>>(std::move(stream_), hub_, secret_, limits_)
        ->start(std::move(req));
    return;
  }
  if (path == "/healthz" && req.method() == http::verb::get) {
    reply(
        json_response(http::status::ok, Json{{"status", "ok"},
                                             {"head", hub_.metrics().head_version.load()},
                                             {"server_time", hub_.clock().now_ms()},
                                             {"connections", hub_.metrics().connections.load()}}));
    return;
  }
  if (path == "/metrics" && req.method() == http::verb::get) {
    Response res{http::status::ok, version_};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.keep_alive(keep_alive_);
    res.body() = hub_.metrics().render(hub_.writer().stats());
    res.prepare_payload();
    reply(std::move(res));
    return;
  }
  if (path == "/v1/leads") {
    if (req.method() != http::verb::post) {
      reply(error_response(http::status::method_not_allowed, ErrorCode::INVALID_ENUM,
                           "Use POST to ingest leads."));
      return;
    }
    if (auto denied = require_operator(req)) {
      reply(std::move(*denied));
      return;
    }
    handle_ingest(req);
    return;
  }
  if (path.rfind("/v1/reports/", 0) == 0) {
    if (req.method() != http::verb::get) {
      reply(error_response(http::status::method_not_allowed, ErrorCode::INVALID_ENUM,
                           "Reports are read with GET."));
      return;
    }
    if (auto denied = require_operator(req)) {
      reply(std::move(*denied));
      return;
    }
    handle_report(req, path.substr(std::string("/v1/reports/").size()), query);
    return;
  }
  if (path == "/v1/demo/logins" && !config_.demo_logins_json.empty()) {
    if (req.method() != http::verb::get) {
      reply(error_response(http::status::method_not_allowed, ErrorCode::INVALID_ENUM,
                           "Demo logins are read with GET."));
      return;
    }
    Response res{http::status::ok, version_};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive_);
    res.body() = config_.demo_logins_json;
    res.prepare_payload();
    reply(std::move(res));
    return;
  }
  if (req.method() == http::verb::get || req.method() == http::verb::head) {
    reply(serve_static(req, path));
    return;
  }
  reply(error_response(http::status::not_found, ErrorCode::INVALID_ENUM, "No such endpoint."));
}

template <class Stream>
void HttpSession<Stream>::handle_ingest(const Request& req) {
  auto leads = std::make_shared<std::vector<Lead>>();
  auto indexes = std::make_shared<std::vector<std::size_t>>();
  auto lines = std::make_shared<std::vector<std::size_t>>();  // CSV only: line per lead
  Json refused = Json::array();
  // text/csv: a leads CSV (docs/server.md "Leads as CSV"); anything else is JSON.
  const std::string_view content_type = req[http::field::content_type];
  if (content_type.substr(0, content_type.find(';')) == "text/csv") {
    Result<std::vector<CsvLead>> rows = decode_leads_csv(req.body());
    if (!rows.ok()) {
      const Error& e = rows.error();
      reply(error_response(http::status::bad_request, e.code,
                           (e.field.empty() ? "" : e.field + ": ") + e.message));
      return;
    }
    for (CsvLead& row : *rows) {
      if (!row.lead.ok()) {
        refused.push_back(Json{{"index", row.index},
                               {"line", row.line},
                               {"code", to_string(row.lead.error().code)},
                               {"field", row.lead.error().field},
                               {"message", row.lead.error().message}});
        continue;
      }
      leads->push_back(std::move(row.lead).value());
      indexes->push_back(row.index);
      lines->push_back(row.line);
    }
  } else {
    Result<Json> body = parse_json(req.body());
    if (!body.ok()) {
      reply(error_response(http::status::bad_request, ErrorCode::BAD_JSON, body.error().message));
      return;
    }
    const Json* list = nullptr;
    if (body->is_array()) {
      list = &*body;
    } else if (body->is_object() && body->contains("leads") && (*body)["leads"].is_array()) {
      list = &(*body)["leads"];
    } else {
      reply(error_response(http::status::bad_request, ErrorCode::BAD_TYPE,
                           "Send an array of leads, or {\"leads\": [...]}."));
      return;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      Result<Lead> lead = decode_lead((*list)[i]);
      if (!lead.ok()) {
        refused.push_back(Json{{"index", i},
                               {"code", to_string(lead.error().code)},
                               {"field", lead.error().field},
                               {"message", lead.error().message}});
        continue;
      }
      leads->push_back(std::move(lead).value());
      indexes->push_back(i);
    }
  }
  auto outcome = std::make_shared<std::optional<Result<store::IngestResult>>>();
  const Millis now = hub_.clock().now_ms();
  const bool posted = hub_.with_store(
      [leads, outcome, now](store::Store& s) { outcome->emplace(s.ingest_leads(*leads, now)); },
      [self = this->shared_from_this(), outcome, refused, indexes, lines]() mutable {
        const Result<store::IngestResult>& r = **outcome;
        if (!r.ok()) {
          self->reply(self->error_response(http::status::internal_server_error, ErrorCode::INTERNAL,
                                           r.error().message));
          return;
        }
        for (const Error& e : r->refused) {
          // The store names leads[i] of the batch it saw; map back to the request's index.
          std::size_t local = 0;
          const auto open = e.field.find('['), close = e.field.find(']');
          if (open != std::string::npos && close != std::string::npos) {
            local =
                static_cast<std::size_t>(std::stoul(e.field.substr(open + 1, close - open - 1)));
          }
          Json item{{"index", local < indexes->size() ? (*indexes)[local] : local},
                    {"code", to_string(e.code)},
                    {"message", e.message}};
          if (local < lines->size()) item["line"] = (*lines)[local];
          refused.push_back(std::move(item));
        }
        self->reply(self->json_response(http::status::ok, Json{{"inserted", r->inserted},
                                                               {"unchanged", r->unchanged},
                                                               {"refused", refused},
                                                               {"version", r->version}}));
      });
  if (!posted) {
    reply(error_response(http::status::service_unavailable, ErrorCode::INTERNAL,
                         "The server is shutting down."));
  }
}

template <class Stream>
void HttpSession<Stream>::handle_report(const Request&, const std::string& name,
                                        const std::string& query) {
  std::map<std::string, std::string> q = parse_query(query);
  const bool csv = q["format"] == "csv";
  const Millis now = hub_.clock().now_ms();
  store::Period period = store::Period::trailing(now, 30);
  std::int64_t v = 0;
  if (!q["days"].empty()) {
    if (!parse_int(q["days"], v) || v < 1 || v > 3660) {
      reply(error_response(http::status::bad_request, ErrorCode::INVALID_AMOUNT,
                           "days must be 1 to 3660."));
      return;
    }
    period = store::Period::trailing(now, static_cast<int>(v));
  }
  if (!q["from"].empty() || !q["to"].empty()) {
    std::int64_t from = 0, to = 0;
    if (!parse_int(q["from"], from) || !parse_int(q["to"], to) || from > to) {
      reply(error_response(http::status::bad_request, ErrorCode::INVALID_TIME,
                           "from and to are UTC day numbers, from <= to."));
      return;
    }
    period = store::Period{from, to};
  }
  std::optional<store::Dimension> by = store::Dimension::buyer;
  if (!q["by"].empty()) by = store::dimension_from_string(q["by"]);
  if (!by) {
    reply(error_response(http::status::bad_request, ErrorCode::INVALID_ENUM,
                         "by is one of buyer, supplier, campaign, reason, day."));
    return;
  }
  if (name != "rates" && name != "matrix" && name != "pnl" && name != "alerts") {
    reply(error_response(http::status::not_found, ErrorCode::INVALID_ENUM,
                         "Reports: rates, matrix, pnl, alerts."));
    return;
  }
  auto table = std::make_shared<std::optional<Result<store::Table>>>();
  const store::Dimension dim = *by;
  const bool posted = hub_.with_store(
      [table, name, dim, period](store::Store& s) {
        if (name == "rates") {
          table->emplace(store::return_rates(s.db(), dim, period));
        } else if (name == "matrix") {
          table->emplace(store::rate_matrix(s.db(), period));
        } else if (name == "pnl") {
          table->emplace(store::pnl(s.db(), dim, period));
        } else {
          store::Table t;
          t.columns = {"id", "kind", "subject_id", "created_at", "sentence"};
          for (const store::Alert& a : s.alerts()) {
            t.rows.push_back({a.id, a.kind, a.subject_id, a.created_at,
                              a.data.value("sentence", std::string())});
          }
          table->emplace(std::move(t));
        }
      },
      [self = this->shared_from_this(), table, csv, name]() {
        const Result<store::Table>& t = **table;
        if (!t.ok()) {
          self->reply(
              self->error_response(http::status::bad_request, t.error().code, t.error().message));
          return;
        }
        if (csv) {
          Response res{http::status::ok, self->version_};
          res.set(http::field::content_type, "text/csv; charset=utf-8");
          res.set(http::field::content_disposition, "attachment; filename=\"" + name + ".csv\"");
          res.keep_alive(self->keep_alive_);
          res.body() = store::to_csv(*t);
          res.prepare_payload();
          self->reply(std::move(res));
        } else {
          // The column names too, in report order (JSON objects do not keep an order).
          Json body{{"columns", t->columns}, {"rows", store::to_json(*t)}};
          if (t->total) {
            Json total = Json::object();
            for (std::size_t i = 0; i < t->columns.size() && i < t->total->size(); ++i) {
              total[t->columns[i]] = (*t->total)[i];
            }
            body["total"] = std::move(total);
          }
          self->reply(self->json_response(http::status::ok, body));
        }
      });
  if (!posted) {
    reply(error_response(http::status::service_unavailable, ErrorCode::INTERNAL,
                         "The server is shutting down."));
  }
}

template <class Stream>
auto HttpSession<Stream>::serve_static(const Request& req, const std::string& path) const
    -> Response {
  // /pkg/… is the wasm package (--pkg-dir), everything else the web root.
  if (path == "/pkg" || path.rfind("/pkg/", 0) == 0) {
    const std::string rest = path.substr(4);  // "" or "/…"
    return serve_file(req, config_.pkg_root, rest.empty() ? "/" : rest);
  }
  return serve_file(req, config_.web_root, path);
}

template <class Stream>
auto HttpSession<Stream>::serve_file(const Request& req, const std::string& root,
                                     const std::string& path) const -> Response {
  if (root.empty() || path.empty() || path[0] != '/' || path.find("..") != std::string::npos ||
      path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) {
    return error_response(http::status::not_found, ErrorCode::INVALID_ENUM, "Not found.");
  }
  std::string file = root + path;
  if (path.back() == '/') file += "index.html";
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) file += "/index.html";
  std::ifstream in(file, std::ios::binary);
  if (!in) return error_response(http::status::not_found, ErrorCode::INVALID_ENUM, "Not found.");
  std::ostringstream body;
  body << in.rdbuf();
  Response res{http::status::ok, version_};
  res.set(http::field::content_type, mime_type(file));
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(keep_alive_);
  if (req.method() != http::verb::head) res.body() = body.str();
  res.prepare_payload();
  return res;
}

template <class Stream>
void HttpSession<Stream>::reply(Response res) {
  auto sp = std::make_shared<Response>(std::move(res));
  const bool keep = sp->keep_alive();
  http::async_write(stream_, *sp,
                    [self = this->shared_from_this(), sp, keep](
                        beast::error_code ec, std::size_t n) { self->on_write(keep, ec, n); });
}

template <class Stream>
void HttpSession<Stream>::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec) return;
  if (!keep_alive) {
    end_connection();
    return;
  }
  do_read();
}

template class HttpSession<PlainStream>;
template class HttpSession<TlsStream>;

}  // namespace returns::server
