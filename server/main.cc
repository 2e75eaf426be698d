// main.cc — returnsd: the authoritative Lead Returns server, and its companion subcommands.
//
//   returnsd [serve] [flags]     the server (flags and endpoints: docs/server.md)
//   returnsd token ...           prints one signed token
//   returnsd export|import|seed  reports out, leads in, reference data in
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/lead_csv.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/token.h"
#include "server/transport.h"
#include "store/checkpointer.h"
#include "store/compaction.h"
#include "store/compactor.h"
#include "store/demo_data.h"
#include "store/reports.h"

namespace {

using namespace returns;
using namespace returns::server;

class SystemClock final : public Clock {
 public:
  SystemClock() = default;
  // A clock that reads `start` now and runs at real speed from there (--clock-start).
  explicit SystemClock(Millis start) : offset_(start - real_ms()) {}
  Millis now_ms() const override { return real_ms() + offset_; }

 private:
  static Millis real_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  Millis offset_ = 0;
};

// The I/O context, with one step its destructor would take too late: when the loop has stopped,
// handlers that never ran still own the last sessions, and a session unregisters from the hub
// (and counts itself out of the metrics) when destroyed. destroy_handlers() destroys them while
// the hub is alive; the context and the objects bound to it stay valid until their scope ends.
class IoContext : public boost::asio::io_context {
 public:
  using boost::asio::io_context::io_context;
  void destroy_handlers() { shutdown(); }
};

struct Args {
  std::string command = "serve";
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::string error;
  bool has(const std::string& k) const { return values.count(k) != 0 || flags.count(k) != 0; }
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
};

Args parse_args(int argc, char** argv) {
  static const std::set<std::string> kBoolFlags = {"--demo", "--help"};
  Args a;
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') {
    a.command = argv[1];
    i = 2;
  }
  for (; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      a.error = "unexpected argument " + k;
      return a;
    }
    const auto eq = k.find('=');
    if (eq != std::string::npos) {
      a.values[k.substr(0, eq)] = k.substr(eq + 1);
    } else if (kBoolFlags.count(k) != 0) {
      a.flags.insert(k);
    } else if (i + 1 < argc) {
      a.values[k] = argv[++i];
    } else {
      a.error = "missing value for " + k;
      return a;
    }
  }
  return a;
}

// "24h", "30m", "7d", "3600s" or plain seconds → milliseconds.
std::optional<Millis> parse_ttl(const std::string& s) {
  if (s.empty()) return std::nullopt;
  Millis unit = 1000;
  std::string digits = s;
  switch (s.back()) {
    case 's':
      unit = 1000;
      digits.pop_back();
      break;
    case 'm':
      unit = kMillisPerMinute;
      digits.pop_back();
      break;
    case 'h':
      unit = kMillisPerHour;
      digits.pop_back();
      break;
    case 'd':
      unit = kMillisPerDay;
      digits.pop_back();
      break;
    default:
      break;
  }
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(digits) * unit;
}

// An integer flag in [lo, hi], or its default when absent; nothing when malformed or out of range.
std::optional<std::int64_t> int_flag(const Args& a, const std::string& name, std::int64_t fallback,
                                     std::int64_t lo, std::int64_t hi) {
  if (!a.has(name)) return fallback;
  const std::string v = a.get(name);
  std::int64_t out = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || out < lo || out > hi) {
    return std::nullopt;
  }
  return out;
}

// The full usage text: --help, an unknown command or flag.
int help(const std::string& error) {
  if (!error.empty()) std::fprintf(stderr, "returnsd: %s\n", error.c_str());
  std::fprintf(
      stderr,
      "usage:\n"
      "  returnsd [serve] [--listen HOST:PORT] [--db PATH] [--web-root DIR] [--demo]\n"
      "                   [--secret-file F] [--sync full|normal] [--allowed-origin O]\n"
      "                   [--port-file F] [--spike-every SECONDS] [--pkg-dir DIR]\n"
      "                   [--clock-start UTC_MS]   (the clock starts there: reproducible demos)\n"
      "                   [--commit-batch N]   (ops per transaction at most; 1: no group commit)\n"
      "                   [--op-rate R] [--op-burst B]   (ops per second and burst per "
      "connection)\n"
      "                   [--tls-cert CERT.pem --tls-key KEY.pem]   (https and wss only)\n"
      "                   [--compact-every SECONDS]   (log compaction; 0: off; default 300)\n"
      "  returnsd token --role operator|buyer [--buyer ID] [--subject NAME] [--ttl 24h]\n"
      "                 [--secret-file F]\n"
      "  returnsd export --db PATH --report rates|matrix|pnl|alerts [--by D] [--days N]\n"
      "                  [--format csv|json]\n"
      "  returnsd import --db PATH --file leads.json|leads.csv [--format json|csv]\n"
      "  returnsd compact --db PATH   (drops superseded events from the log, server stopped)\n"
      "  returnsd seed --db PATH --file world.json   (reference data: an object with\n"
      "                 \"suppliers\", \"buyers\", \"campaigns\" arrays; inserted or replaced)\n");
  return 2;
}

// A refusal to start or to run: the one reason, exit 2 (the usage text only with --help).
int usage(const std::string& error) {
  std::fprintf(stderr, "returnsd: %s\n(returnsd --help lists the commands and flags)\n",
               error.c_str());
  return 2;
}

int cmd_token(const Args& a) {
  const auto role = role_from_string(a.get("--role"));
  if (!role) return usage("--role must be operator or buyer");
  TokenClaims c;
  c.role = *role;
  c.buyer_id = a.get("--buyer");
  if (c.role == Role::buyer && !is_valid_id(c.buyer_id))
    return usage("a buyer token needs --buyer ID");
  if (c.role == Role::operator_ && !c.buyer_id.empty()) return usage("--buyer is for buyer tokens");
  c.subject = a.get("--subject", c.role == Role::buyer ? c.buyer_id : "operator");
  const auto ttl = parse_ttl(a.get("--ttl", "24h"));
  if (!ttl) return usage("--ttl is like 30m, 24h, 7d");
  Result<std::string> secret = load_or_create_secret(a.get("--secret-file", "./var/secret"));
  if (!secret.ok()) return usage(secret.error().message);
  c.expires_at = SystemClock().now_ms() + *ttl;
  std::printf("%s\n", sign_token(c, *secret).c_str());
  return 0;
}

Result<std::unique_ptr<store::Store>> open_store(const Args& a) {
  const std::string path = a.get("--db", "./var/returns.db");
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  store::StoreOptions options;
  options.upgrade_time = SystemClock().now_ms();
  const std::string sync = a.get("--sync", "full");
  if (sync == "normal") {
    options.sync = store::Database::Sync::normal;
  } else if (sync != "full") {
    return make_error(ErrorCode::INVALID_ENUM, "--sync", "--sync is full or normal");
  }
  return store::Store::open(path, options);
}

int cmd_export(const Args& a) {
  Result<std::unique_ptr<store::Store>> s = open_store(a);
  if (!s.ok()) return usage(s.error().message);
  const auto by = store::dimension_from_string(a.get("--by", "buyer"));
  if (!by) return usage("--by is buyer, supplier, campaign, reason or day");
  std::int64_t days = 30;
  try {
    days = std::stoll(a.get("--days", "30"));
  } catch (...) {
    return usage("--days is a number");
  }
  const store::Period period =
      store::Period::trailing(SystemClock().now_ms(), static_cast<int>(days));
  const std::string report = a.get("--report", "rates");
  Result<store::Table> t = make_error(ErrorCode::INVALID_ENUM, "--report", "unknown report");
  if (report == "rates") t = store::return_rates((*s)->db(), *by, period);
  if (report == "matrix") t = store::rate_matrix((*s)->db(), period);
  if (report == "pnl") t = store::pnl((*s)->db(), *by, period);
  if (report == "alerts") {
    store::Table at;
    at.columns = {"id", "kind", "subject_id", "created_at", "sentence"};
    for (const store::Alert& al : (*s)->alerts()) {
      at.rows.push_back(
          {al.id, al.kind, al.subject_id, al.created_at, al.data.value("sentence", std::string())});
    }
    t = std::move(at);
  }
  if (!t.ok()) return usage(t.error().message);
  if (a.get("--format", "csv") == "json") {
    std::cout << store::to_json(*t).dump(2) << "\n";
  } else {
    std::cout << store::to_csv(*t);
  }
  return 0;
}

// Leads from a JSON array or, with a .csv file or --format csv, a leads CSV (docs/server.md
// "Leads as CSV"). Every record is checked; the good ones are ingested, each refusal printed.
int cmd_import(const Args& a) {
  const std::string file = a.get("--file");
  std::string format = a.get("--format");
  if (format.empty()) {
    format = file.size() >= 4 && file.compare(file.size() - 4, 4, ".csv") == 0 ? "csv" : "json";
  }
  if (format != "csv" && format != "json") return usage("--format is csv or json");
  std::ifstream in(file, std::ios::binary);
  if (file.empty() || !in) return usage("cannot read --file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<Lead> leads;
  std::vector<std::string> where;  // per ingested lead: how a refusal names it
  int bad = 0;
  auto refuse = [&bad](const std::string& at, const Error& e) {
    ++bad;
    std::fprintf(stderr, "%s: %s%s%s\n", at.c_str(), std::string(to_string(e.code)).c_str(),
                 e.field.empty() ? " " : (" " + e.field + ": ").c_str(), e.message.c_str());
  };
  if (format == "csv") {
    Result<std::vector<CsvLead>> rows = decode_leads_csv(ss.str());
    if (!rows.ok()) {
      const Error& e = rows.error();
      return usage(file + ": " + std::string(to_string(e.code)) + " " + e.field + ": " + e.message);
    }
    for (CsvLead& row : *rows) {
      const std::string at = "line " + std::to_string(row.line);
      if (!row.lead.ok()) {
        refuse(at, row.lead.error());
        continue;
      }
      leads.push_back(std::move(row.lead).value());
      where.push_back(at);
    }
  } else {
    Result<Json> j = parse_json(ss.str());
    if (!j.ok() || !j->is_array()) return usage("--file must hold a JSON array of leads");
    for (std::size_t i = 0; i < j->size(); ++i) {
      const std::string at = "lead " + std::to_string(i);
      Result<Lead> l = decode_lead((*j)[i]);
      if (!l.ok()) {
        refuse(at, l.error());
        continue;
      }
      leads.push_back(std::move(l).value());
      where.push_back(at);
    }
  }
  Result<std::unique_ptr<store::Store>> s = open_store(a);
  if (!s.ok()) return usage(s.error().message);
  Result<store::IngestResult> r = (*s)->ingest_leads(leads, SystemClock().now_ms());
  if (!r.ok()) return usage(r.error().message);
  for (const Error& e : r->refused) {
    // The store names leads[i] in `field`.
    std::size_t i = where.size();
    const auto open = e.field.find('['), close = e.field.find(']');
    if (open != std::string::npos && close != std::string::npos && close > open + 1) {
      i = static_cast<std::size_t>(std::stoul(e.field.substr(open + 1, close - open - 1)));
    }
    refuse(i < where.size() ? where[i] : e.field, Error{e.code, "", e.message});
  }
  std::printf("inserted %d, unchanged %d, refused %d\n", r->inserted, r->unchanged, bad);
  return bad == 0 ? 0 : 1;
}

// Reference data has no HTTP endpoint: operators (and the tests) load buyers, suppliers and
// campaigns from a JSON file, {"suppliers": [...], "buyers": [...], "campaigns": [...]}, each
// array optional. Rows are inserted or replaced, each with its event, suppliers and buyers first
// so campaigns can name them. All-or-nothing on decoding: one bad row and nothing is written.
int cmd_seed(const Args& a) {
  std::ifstream in(a.get("--file"));
  if (!in) return usage("cannot read --file");
  std::stringstream ss;
  ss << in.rdbuf();
  Result<Json> j = parse_json(ss.str());
  if (!j.ok() || !j->is_object()) return usage("--file must hold a JSON object");
  for (auto it = j->begin(); it != j->end(); ++it) {
    if (it.key() != "suppliers" && it.key() != "buyers" && it.key() != "campaigns") {
      return usage("--file: unknown key " + it.key() + " (suppliers, buyers, campaigns)");
    }
    if (!it->is_array()) return usage("--file: " + it.key() + " must be an array");
  }
  const Json none = Json::array();
  const Json& suppliers_json = j->contains("suppliers") ? (*j)["suppliers"] : none;
  const Json& buyers_json = j->contains("buyers") ? (*j)["buyers"] : none;
  const Json& campaigns_json = j->contains("campaigns") ? (*j)["campaigns"] : none;
  std::vector<Supplier> suppliers;
  std::vector<Buyer> buyers;
  std::vector<Campaign> campaigns;
  int bad = 0;
  auto decode_all = [&bad](const Json& list, const char* what, auto decode, auto& out) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto row = decode(list[i]);
      if (row.ok()) {
        out.push_back(std::move(row).value());
      } else {
        ++bad;
        std::fprintf(stderr, "%s[%zu]: %s %s %s\n", what, i,
                     std::string(to_string(row.error().code)).c_str(), row.error().field.c_str(),
                     row.error().message.c_str());
      }
    }
  };
  decode_all(suppliers_json, "suppliers", decode_supplier, suppliers);
  decode_all(buyers_json, "buyers", decode_buyer, buyers);
  decode_all(campaigns_json, "campaigns", decode_campaign, campaigns);
  if (bad > 0) return usage("--file: " + std::to_string(bad) + " rows refused, nothing written");

  Result<std::unique_ptr<store::Store>> s = open_store(a);
  if (!s.ok()) return usage(s.error().message);
  const Millis now = SystemClock().now_ms();
  for (const Supplier& x : suppliers) {
    if (Status st = (*s)->put_supplier(x, now); !st.ok()) return usage(st.error().message);
  }
  for (const Buyer& x : buyers) {
    if (Status st = (*s)->put_buyer(x, now); !st.ok()) return usage(st.error().message);
  }
  for (const Campaign& x : campaigns) {
    if (Status st = (*s)->put_campaign(x, now); !st.ok()) return usage(st.error().message);
  }
  std::printf("suppliers %zu, buyers %zu, campaigns %zu\n", suppliers.size(), buyers.size(),
              campaigns.size());
  return 0;
}

// Offline compaction (the server compacts on its own while it runs: --compact-every).
int cmd_compact(const Args& a) {
  if (!a.has("--db")) return usage("compact needs --db PATH");
  Result<std::unique_ptr<store::Store>> s = open_store(a);
  if (!s.ok()) return usage(s.error().message);
  Result<store::CompactionReport> done = store::compact_log((*s)->db());
  if (!done.ok()) return usage(done.error().message);
  std::printf("%lld events read, %lld superseded events dropped\n",
              static_cast<long long>(done->scanned), static_cast<long long>(done->dropped));
  return 0;
}

int cmd_serve(const Args& a) {
  std::int64_t spike_every = 60;
  const std::string spike_arg = a.get("--spike-every", "60");
  const auto parsed =
      std::from_chars(spike_arg.data(), spike_arg.data() + spike_arg.size(), spike_every);
  if (parsed.ec != std::errc() || parsed.ptr != spike_arg.data() + spike_arg.size() ||
      spike_every < 0 || spike_every > 86'400) {
    return usage("--spike-every is seconds, 0 (off) to 86400");
  }
  const std::string listen = a.get("--listen", "127.0.0.1:8080");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return usage("--listen is HOST:PORT");
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec) return usage("--listen: bad address " + listen.substr(0, colon));
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (...) {
    return usage("--listen: bad port");
  }
  if (port > 65535) return usage("--listen: bad port");

  // TLS: both files or neither. Checked before anything is created on disk; the context must
  // outlive the I/O context (sessions hold it), so it is declared first.
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (a.has("--tls-cert") != a.has("--tls-key")) {
    return usage("--tls-cert and --tls-key go together: give both, or neither for plain HTTP");
  }
  if (a.has("--tls-cert")) {
    Result<std::unique_ptr<boost::asio::ssl::context>> loaded =
        make_tls_context(a.get("--tls-cert"), a.get("--tls-key"));
    if (!loaded.ok()) return usage(loaded.error().message);
    tls = std::move(loaded).value();
  }

  // Reproducible demos and tests: the server's clock starts at a given instant (UTC ms) and runs
  // at real speed, so the demo data (generated against it) is the same at every run.
  Millis clock_start = 0;
  if (a.has("--clock-start")) {
    const std::string v = a.get("--clock-start");
    const auto r = std::from_chars(v.data(), v.data() + v.size(), clock_start);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size() || clock_start <= 0 ||
        clock_start > kMaxMillis) {
      return usage("--clock-start is UTC milliseconds since the epoch");
    }
  }
  const auto compact_every = int_flag(a, "--compact-every", 300, 0, 86'400 * 7);
  if (!compact_every) return usage("--compact-every is seconds, 0 (off) to 604800");
  const auto commit_batch = int_flag(a, "--commit-batch", 1024, 1, 100'000);
  if (!commit_batch) return usage("--commit-batch is ops per transaction, 1 to 100000");
  const auto op_rate = int_flag(a, "--op-rate", 50, 1, 1'000'000);
  if (!op_rate) return usage("--op-rate is ops per second per connection, 1 to 1000000");
  const auto op_burst = int_flag(a, "--op-burst", 200, 1, 1'000'000);
  if (!op_burst) return usage("--op-burst is ops, 1 to 1000000");
  const auto operator_rate = int_flag(a, "--operator-op-rate", 200, 1, 1'000'000);
  if (!operator_rate) return usage("--operator-op-rate is ops per second, 1 to 1000000");
  const auto operator_burst = int_flag(a, "--operator-op-burst", 1000, 1, 1'000'000);
  if (!operator_burst) return usage("--operator-op-burst is ops, 1 to 1000000");
  const std::string pkg_root = a.get("--pkg-dir");
  if (!pkg_root.empty() && !std::filesystem::is_directory(pkg_root)) {
    return usage("--pkg-dir: " + pkg_root + " is not a directory (run make wasm-package)");
  }

  Result<std::string> secret = load_or_create_secret(a.get("--secret-file", "./var/secret"));
  if (!secret.ok()) return usage(secret.error().message);
  Result<std::unique_ptr<store::Store>> opened = open_store(a);
  if (!opened.ok()) return usage(opened.error().message);
  std::unique_ptr<store::Store> store = std::move(opened).value();
  SystemClock clock = a.has("--clock-start") ? SystemClock(clock_start) : SystemClock();

  if (a.has("--demo")) {
    if (store->view().find_buyer(store::demo_facts().buyers.front().id) == nullptr) {
      store::DemoConfig cfg;
      cfg.now = clock.now_ms();
      log_event("info", "demo_generating",
                {{"days", cfg.days}, {"leads_per_day", cfg.leads_per_day}});
      Result<store::DemoSummary> sum = store::generate_demo(*store, cfg);
      if (!sum.ok()) return usage("demo data: " + sum.error().message);
      log_event("info", "demo_generated", {{"leads", sum->leads}, {"ops", sum->ops}});
      // The demo's history as a running server would hold it after its first compaction.
      Result<store::CompactionReport> done = store::compact_log(store->db());
      if (!done.ok()) return usage("demo data: " + done.error().message);
      log_event("info", "demo_compacted", {{"events", done->scanned}, {"dropped", done->dropped}});
    }
  }

  IoContext ioc{1};
  Metrics metrics;
  // Checkpoints run on their own thread, not inside the writer's commits (store/checkpointer.h).
  Result<std::unique_ptr<store::Checkpointer>> checkpointer =
      store::Checkpointer::start(store->db(), a.get("--db", "./var/returns.db"));
  if (!checkpointer.ok()) return usage(checkpointer.error().message);
  metrics.checkpointer = checkpointer->get();
  store::GroupWriter::Options writer_options;
  writer_options.max_batch = static_cast<std::size_t>(*commit_batch);
  store::GroupWriter writer(*store, clock, writer_options);
  // Superseded events leave the log on a schedule (store/compactor.h); declared after the writer
  // so that it stops first.
  Result<std::unique_ptr<store::Compactor>> compactor = store::Compactor::start(
      writer, a.get("--db", "./var/returns.db"), std::chrono::seconds(*compact_every));
  if (!compactor.ok()) return usage(compactor.error().message);
  metrics.compactor = compactor->get();
  Hub hub(ioc, *store, writer, clock, metrics);
  writer.set_on_commit([&hub](std::int64_t head) { hub.on_commit(head); });
  HttpConfig http;
  http.web_root = a.get("--web-root");
  http.allowed_origin = a.get("--allowed-origin");
  http.pkg_root = pkg_root;
  // The demo's logins, each with a token signed now, printed below and (demo only) served at
  // GET /v1/demo/logins so the web demo can offer a "sign in as" list.
  Json demo_logins = Json::array();
  if (a.has("--demo")) {
    for (const store::DemoLogin& login : store::demo_facts().logins) {
      TokenClaims c;
      c.role = login.role;
      c.buyer_id = login.buyer_id;
      c.subject = login.subject;
      c.expires_at = clock.now_ms() + 7 * kMillisPerDay;
      Json j{{"role", std::string(to_string(login.role))},
             {"subject", login.subject},
             {"name", login.name},
             {"about", login.about},
             {"token", sign_token(c, *secret)}};
      if (!login.buyer_id.empty()) j["buyer_id"] = login.buyer_id;
      demo_logins.push_back(std::move(j));
    }
    http.demo_logins_json = demo_logins.dump();
  }
  // SIGINT/SIGTERM are caught from here on: a signal that arrives before the handler below is
  // attached waits in the set (Asio queues it), so a stop right after the port file appears
  // still drains instead of killing the process.
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  SessionLimits limits;
  limits.ops_per_second = static_cast<double>(*op_rate);
  limits.op_burst = static_cast<double>(*op_burst);
  limits.operator_ops_per_second = static_cast<double>(*operator_rate);
  limits.operator_op_burst = static_cast<double>(*operator_burst);
  auto listener = std::make_shared<Listener>(ioc, hub, *secret, http, limits, tls.get());
  if (Status s = listener->open({address, static_cast<unsigned short>(port)}); !s.ok()) {
    return usage(s.error().message);
  }
  const auto bound = listener->local_endpoint();
  if (a.has("--port-file")) {
    std::ofstream(a.get("--port-file")) << bound.port() << "\n";
  }
  listener->run();
  log_event("info", "listening",
            {{"address", bound.address().to_string()},
             {"port", bound.port()},
             {"tls", tls != nullptr},
             {"db", a.get("--db", "./var/returns.db")},
             {"web_root", http.web_root}});

  if (a.has("--demo")) {
    const std::string base = std::string(tls ? "https://" : "http://") +
                             bound.address().to_string() + ":" + std::to_string(bound.port());
    std::printf("Lead Returns demo is running.\n");
    std::printf("  Web demo:  %s/\n", base.c_str());
    std::printf("  Health: %s/healthz   Metrics: %s/metrics\n", base.c_str(), base.c_str());
    std::printf("  Client Portal: %s/portal.html   Operator dashboard: %s/operator.html\n",
                base.c_str(), base.c_str());
    for (const Json& login : demo_logins) {
      std::printf("  %-8s %-22s %s\n    token: %s\n", login["role"].get<std::string>().c_str(),
                  login["name"].get<std::string>().c_str(),
                  login["about"].get<std::string>().c_str(),
                  login["token"].get<std::string>().c_str());
    }
    std::fflush(stdout);
  }

  // Spike detection (docs/reports.md) runs on the writer between batches: alerts it raises are
  // events, pushed live to operator sessions by the commit hook. Alert ids carry the UTC day, so a
  // spike already raised today is not raised again.
  boost::asio::steady_timer spike_timer(ioc);
  std::function<void()> schedule_spikes = [&] {
    if (spike_every == 0) return;
    spike_timer.expires_after(std::chrono::seconds(spike_every));
    spike_timer.async_wait([&](const boost::system::error_code& wait_error) {
      if (wait_error) return;
      writer.post([&clock](store::Store& s) {
        Result<std::vector<store::Alert>> raised = s.detect_spikes(clock.now_ms());
        if (!raised.ok()) {
          log_event("error", "spike_detection_failed", {{"message", raised.error().message}});
          return;
        }
        for (const store::Alert& al : *raised) {
          log_event("info", "alert_raised", {{"id", al.id}, {"kind", al.kind}});
        }
      });
      schedule_spikes();
    });
  };
  schedule_spikes();

  auto guard = boost::asio::make_work_guard(ioc);
  std::thread stopper;
  signals.async_wait([&](const boost::system::error_code&, int signo) {
    log_event("info", "draining", {{"signal", signo}});
    listener->stop();
    // Finish and commit what is queued, answer it, then close every session.
    stopper = std::thread([&] {
      writer.stop();
      boost::asio::post(ioc, [&] {
        spike_timer.cancel();
        hub.close_all();
        guard.reset();
        // Idle keep-alive HTTP connections would hold the loop open: give sessions a moment
        // to send their close frames, then stop.
        auto timer = std::make_shared<boost::asio::steady_timer>(ioc, std::chrono::seconds(2));
        timer->async_wait([&ioc, timer](const boost::system::error_code&) { ioc.stop(); });
      });
    });
  });
  ioc.run();
  if (stopper.joinable()) stopper.join();
  writer.stop();
  ioc.destroy_handlers();
  log_event("info", "stopped", {{"head", store->head_version()}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Args a = parse_args(argc, argv);
  if (!a.error.empty()) return help(a.error);
  if (a.has("--help")) return help("");
  if (a.command == "token") return cmd_token(a);
  if (a.command == "serve") return cmd_serve(a);
  if (a.command == "export") return cmd_export(a);
  if (a.command == "import") return cmd_import(a);
  if (a.command == "seed") return cmd_seed(a);
  if (a.command == "compact") return cmd_compact(a);
  return help("unknown command " + a.command);
}
