// lean_load.cc — the server's ceiling: many lean sync clients (no engine, no replica: they speak
// the protocol, track their own ops and results, and count and timestamp frames) over several
// I/O threads, against a real returnsd started here with its own database. Buyers' devices
// submit returns at an offered rate (open loop, pushes of up to 100 ops); operators accept every
// return the server put to manual review. The rate steps up through `--rates`; each step is
// measured after a warm-up and reported on its own line; between steps new work stops until
// every op is answered. After the steps a new operator device and a new buyer device catch up
// from cursor 0 (rows, bytes, time). Numbers and commands: BENCHMARKS.md "The server's ceiling".
//
//   lean_load [--rates R1,R2,…] [--seconds S] [--warmup W] [--threads T] [--buyers B]
//             [--devices D] [--operators O] [--inflight K] [--sync full|normal]
//             [--commit-batch N] [--drain-seconds D] [--p99-ms L] [--json FILE]
//             [--bulk N]   one operator decides N held returns at once, with the server's
//                          default limits (instead of the rate steps)
//             [--idle N]   N more buyer connections, synced and idle; the server's memory
//             [--compact]  after the checks: `returnsd compact` on the stopped server's database,
//                          then the same catch-ups from cursor 0 over the compacted log
//
// Checks (exit 1 when one fails):
//   1. every op pushed got exactly one result (a second result, or one for a seq never pushed,
//      is a problem; after the last drain nothing is outstanding);
//   2. the server applied exactly the ops pushed (GET /metrics), none refused;
//   3. the final state, read from the server's database after it stopped: every submitted
//      return is accepted, its lead RETURNED, with exactly one revenue reversal.
// With `--smoke` a failed check is the only failure; otherwise a step whose result p99 is over
// `--p99-ms` or that did not keep up is reported as past the ceiling (not a failure).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "harness.h"
#include "server/token.h"
#include "store/sqlite_db.h"

namespace {

using namespace returns;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace returns::bench;
using namespace std::chrono_literals;

// --- Options -------------------------------------------------------------------------------------

struct Options {
  std::vector<double> rates = {1000};  // offered submits per second, one step each
  double seconds = 10;                 // measured per step
  double warmup = 2;                   // per step, before measuring
  int threads = 2;
  int buyers = 100;
  int devices = 2;  // connections per buyer
  int operators = 6;
  int inflight = 256;  // unanswered ops per connection at most
  std::string sync = "full";
  int commit_batch = 0;  // 0: the server's default
  double drain_seconds = 60;
  double p99_ms = 50;
  bool smoke = false;
  bool compact = false;  // after the checks: returnsd compact, then the catch-ups again
  int bulk = 0;          // > 0: the bulk-decision scenario instead of the rate steps
  int idle = 0;          // > 0: that many more buyer connections, idle, and the server's memory
  std::string json_out;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "lean_load: %s\n"
      "usage: lean_load [--rates R1,R2,...] [--seconds S] [--warmup W] [--threads T]\n"
      "                 [--buyers B] [--devices D] [--operators O] [--inflight K]\n"
      "                 [--sync full|normal] [--commit-batch N] [--drain-seconds D]\n"
      "                 [--p99-ms L] [--smoke] [--json FILE] [--bulk N] [--idle N] [--compact]\n",
      why.c_str());
  std::exit(2);
}

double parse_number(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(d) || d < 0) usage(flag + " takes a number");
  return d;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      o.smoke = true;
      continue;
    }
    if (a == "--compact") {
      o.compact = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value for " + a);
    const std::string v = argv[++i];
    if (a == "--rates") {
      o.rates.clear();
      std::stringstream in(v);
      for (std::string part; std::getline(in, part, ',');) {
        o.rates.push_back(parse_number(a, part));
      }
      if (o.rates.empty()) usage("--rates needs at least one rate");
    } else if (a == "--seconds") {
      o.seconds = parse_number(a, v);
    } else if (a == "--warmup") {
      o.warmup = parse_number(a, v);
    } else if (a == "--threads") {
      o.threads = std::max(1, static_cast<int>(parse_number(a, v)));
    } else if (a == "--buyers") {
      o.buyers = std::max(1, static_cast<int>(parse_number(a, v)));
    } else if (a == "--devices") {
      o.devices = std::max(1, static_cast<int>(parse_number(a, v)));
    } else if (a == "--operators") {
      o.operators = std::max(1, static_cast<int>(parse_number(a, v)));
    } else if (a == "--inflight") {
      o.inflight = std::max(1, static_cast<int>(parse_number(a, v)));
    } else if (a == "--sync") {
      if (v != "full" && v != "normal") usage("--sync is full or normal");
      o.sync = v;
    } else if (a == "--commit-batch") {
      o.commit_batch = static_cast<int>(parse_number(a, v));
    } else if (a == "--drain-seconds") {
      o.drain_seconds = parse_number(a, v);
    } else if (a == "--idle") {
      o.idle = static_cast<int>(parse_number(a, v));
    } else if (a == "--bulk") {
      o.bulk = static_cast<int>(parse_number(a, v));
    } else if (a == "--p99-ms") {
      o.p99_ms = parse_number(a, v);
    } else if (a == "--json") {
      o.json_out = v;
    } else {
      usage("unknown flag " + a);
    }
  }
  return o;
}

// --- The world -----------------------------------------------------------------------------------

// A quarter of the buyers review every return by hand (the operators accept them); the rest
// auto-accept, half of them through a rule that reads the trailing return rate and the day's
// count, so the decision path reads the facts a real policy reads.
std::string buyer_id(int b) { return bench::buyer_id("ll", b); }

Json policy_json(int b) {
  switch (b % 4) {
    case 0:
      return {{"mode", "manual"}, {"window_hours", 168}};
    case 1:
      return {{"mode", "rules"},
              {"window_hours", 168},
              {"rules",
               {{{"id", "rated"},
                 {"max_age_hours", 24},
                 {"max_return_rate", 1.0},
                 {"max_auto_per_day", 1'000'000}}}}};
    default:
      return {{"mode", "always_accept"}, {"window_hours", 168}};
  }
}

Json world_json(int buyers) {
  return bench::world_json({"ll", "Lean", policy_json, [](int) { return std::string("solar"); }},
                           buyers);
}

// --- Measurements --------------------------------------------------------------------------------

// What one thread saw in one measured window.
struct Sample {
  std::int64_t issued = 0;    // ops pushed
  std::int64_t answered = 0;  // results received
  std::int64_t frames_in = 0;
  std::int64_t bytes_in = 0;
  // Ticks on which a connection had a submit due and could not push it (the in-flight cap was
  // full, or it had no lead left): any at all means the offered rate was not sustained.
  std::int64_t held_ticks = 0;
  std::vector<double> result_ms;
  std::vector<double> fanout_ms;  // submit pushed → an operator's frame covers its version

  void merge(Sample&& o) {
    issued += o.issued;
    answered += o.answered;
    frames_in += o.frames_in;
    bytes_in += o.bytes_in;
    held_ticks += o.held_ticks;
    result_ms.insert(result_ms.end(), o.result_ms.begin(), o.result_ms.end());
    fanout_ms.insert(fanout_ms.end(), o.fanout_ms.begin(), o.fanout_ms.end());
  }
};

// Totals over the whole run, for the checks.
struct Totals {
  std::int64_t pushed = 0;
  std::int64_t results = 0;
  std::int64_t refused = 0;
  std::int64_t submits_applied = 0;
  std::int64_t accepts_applied = 0;
  std::vector<std::string> problems;
};

// --- One lean connection -------------------------------------------------------------------------

class Worker;

struct Pushed {
  TimePoint at;
  bool submit = false;
  std::string return_id;
};

class LeanConn : public std::enable_shared_from_this<LeanConn> {
 public:
  LeanConn(Worker& w, Role role, std::string buyer, std::string client_id, std::string token)
      : w_(w),
        role_(role),
        buyer_(std::move(buyer)),
        client_id_(std::move(client_id)),
        token_(std::move(token)),
        ws_(w_ioc()) {}

  void connect(unsigned short port, std::int64_t cursor);
  bool live() const { return live_; }
  bool open() const { return open_; }
  Role role() const { return role_; }
  std::size_t outstanding() const { return pushed_.size(); }
  std::int64_t to() const { return to_; }
  std::int64_t bytes_in() const { return bytes_in_; }
  std::int64_t rows_in() const { return rows_in_; }
  void add_lead(std::string id) { leads_.push_back(std::move(id)); }
  // Where in its period this connection's first op falls (0…1): spread evenly, so the clients
  // do not all push on the same tick.
  void set_phase(double phase) { budget_ = phase; }
  std::size_t leads_left() const { return leads_.size() - next_lead_; }

  // Buyers: push the submits due; operators: push accepts for returns waiting.
  void tick(double due);
  void push_accepts(std::deque<std::string>& waiting);
  // Every decision at once, in pushes of 100 (the protocol's most), whatever is in flight.
  void push_bulk(const std::vector<std::string>& return_ids);
  // The first frame time at which this operator's cursor covered `version` (if it has yet).
  std::optional<TimePoint> covered_at(std::int64_t version) const;
  void close();

 private:
  asio::io_context& w_ioc();
  void read();
  void on_text(const std::string& text, TimePoint now);
  void on_result(const std::string& text, TimePoint now);
  void send(std::string frame);
  void write();
  void push(const std::vector<std::pair<std::string, Json>>& ops, bool submit);

  Worker& w_;
  Role role_;
  std::string buyer_;
  std::string client_id_;
  std::string token_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool open_ = false;
  bool live_ = false;
  std::int64_t seq_ = 0;
  std::int64_t to_ = 0;
  std::map<std::int64_t, Pushed> pushed_;
  std::deque<std::pair<std::int64_t, TimePoint>> recent_;  // operators: (to, arrival) of frames
  double budget_ = 0;
  std::vector<std::string> leads_;
  std::size_t next_lead_ = 0;
  std::int64_t returns_made_ = 0;
  std::int64_t bytes_in_ = 0;
  std::int64_t rows_in_ = 0;
};

// --- One I/O thread and its connections ----------------------------------------------------------

class Worker {
 public:
  Worker(int index, const Options& opt) : index_(index), opt_(opt), timer_(ioc) {}

  asio::io_context ioc{1};
  std::vector<std::shared_ptr<LeanConn>> conns;
  std::vector<LeanConn*> operators;
  Totals totals;  // thread-owned; read by main after join

  int index() const { return index_; }
  const Options& opt() const { return opt_; }

  void start(std::thread& t) {
    t = std::thread([this] {
      auto guard = asio::make_work_guard(ioc);
      tick();
      ioc.run();
    });
  }

  // Called on the worker's thread (through post).
  void set_rate(double submits_per_second) { rate_per_buyer_conn_ = submits_per_second; }
  void set_issuing(bool on) { issuing_ = on; }
  void set_measuring(bool on) { measuring_ = on; }
  // Bulk scenario: the operators leave submitted returns waiting until one decides them at once.
  void set_holding(bool on) { holding_ = on; }
  std::size_t waiting() const { return waiting_accepts_.size(); }
  std::int64_t ops_outstanding() const {
    std::int64_t n = 0;
    for (const auto& c : conns) n += static_cast<std::int64_t>(c->outstanding());
    return n;
  }
  std::vector<std::string> take_waiting(std::size_t n) {
    std::vector<std::string> out;
    while (out.size() < n && !waiting_accepts_.empty()) {
      out.push_back(std::move(waiting_accepts_.front()));
      waiting_accepts_.pop_front();
    }
    return out;
  }
  Sample take_sample() {
    Sample s = std::move(sample_);
    sample_ = Sample{};
    return s;
  }
  std::int64_t outstanding() const {
    std::int64_t n = static_cast<std::int64_t>(waiting_accepts_.size());
    for (const auto& c : conns) n += static_cast<std::int64_t>(c->outstanding());
    return n;
  }
  bool all_live() const {
    return std::all_of(conns.begin(), conns.end(), [](const auto& c) { return c->live(); });
  }
  void stop() {
    timer_.cancel();
    for (auto& c : conns) c->close();
  }

  // From the connections.
  void problem(std::string p) {
    if (totals.problems.size() < 20) std::fprintf(stderr, "problem: %s\n", p.c_str());
    totals.problems.push_back(std::move(p));
  }
  void on_pushed(std::size_t n) {
    totals.pushed += static_cast<std::int64_t>(n);
    if (measuring_) sample_.issued += static_cast<std::int64_t>(n);
  }
  void on_frame(std::size_t bytes) {
    if (!measuring_) return;
    ++sample_.frames_in;
    sample_.bytes_in += static_cast<std::int64_t>(bytes);
  }
  void on_answer(const Pushed& p, TimePoint now, bool applied, std::int64_t version, bool manual) {
    ++totals.results;
    if (measuring_) {
      ++sample_.answered;
      sample_.result_ms.push_back(ms_between(p.at, now));
    }
    if (!applied) {
      ++totals.refused;
      return;
    }
    if (!p.submit) {
      ++totals.accepts_applied;
      return;
    }
    ++totals.submits_applied;
    if (manual) waiting_accepts_.push_back(p.return_id);
    // Fan-out, at every operator of this thread: the first frame whose range covers the submit's
    // version — already received (the frame can overtake the result), or still to come.
    if (!measuring_ || operators.empty()) return;
    fanout_log_.emplace(version, p.at);
    for (const LeanConn* op : operators) {
      if (op->to() < version) continue;
      if (std::optional<TimePoint> seen = op->covered_at(version)) {
        sample_.fanout_ms.push_back(ms_between(p.at, *seen));
      }
    }
  }
  // An operator of this thread received a frame covering (from, to].
  void on_operator_frame(std::int64_t from, std::int64_t to, TimePoint now) {
    for (auto it = fanout_log_.upper_bound(from); it != fanout_log_.end() && it->first <= to;
         ++it) {
      if (measuring_) sample_.fanout_ms.push_back(ms_between(it->second, now));
    }
  }

 private:
  void tick() {
    timer_.expires_after(2ms);
    timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      const TimePoint now = SteadyClock::now();
      const double elapsed = std::chrono::duration<double>(now - last_tick_).count();
      last_tick_ = now;
      if (issuing_) {
        for (auto& c : conns) {
          if (c->role() == Role::buyer) c->tick(rate_per_buyer_conn_ * elapsed);
        }
      }
      // What every operator has seen leaves the fan-out log.
      if (++ticks_ % 50 == 0 && !fanout_log_.empty() && !operators.empty()) {
        std::int64_t seen_by_all = operators.front()->to();
        for (const LeanConn* op : operators) seen_by_all = std::min(seen_by_all, op->to());
        fanout_log_.erase(fanout_log_.begin(), fanout_log_.upper_bound(seen_by_all));
      }
      // Accepts are answers to what was submitted: they go out while draining too.
      for (LeanConn* op : operators) {
        if (waiting_accepts_.empty() || holding_) break;
        op->push_accepts(waiting_accepts_);
      }
      tick();
    });
  }

  int index_;
  const Options& opt_;
  asio::steady_timer timer_;
  TimePoint last_tick_ = SteadyClock::now();
  double rate_per_buyer_conn_ = 0;
  bool issuing_ = false;
  bool measuring_ = false;
  bool holding_ = false;
  std::uint64_t ticks_ = 0;
  Sample sample_;
  std::deque<std::string> waiting_accepts_;
  std::multimap<std::int64_t, TimePoint> fanout_log_;  // applied submits: version → pushed

  friend class LeanConn;
};

asio::io_context& LeanConn::w_ioc() { return w_.ioc; }

void LeanConn::connect(unsigned short port, std::int64_t cursor) {
  auto self = shared_from_this();
  to_ = cursor;
  beast::get_lowest_layer(ws_).expires_after(30s);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  beast::get_lowest_layer(ws_).async_connect(ep, [this, self, port, cursor](beast::error_code ec) {
    if (ec) return w_.problem(client_id_ + ": connect: " + ec.message());
    ws_.async_handshake("127.0.0.1:" + std::to_string(port), "/v1/sync",
                        [this, self, cursor](beast::error_code hec) {
                          if (hec) return w_.problem(client_id_ + ": handshake: " + hec.message());
                          beast::get_lowest_layer(ws_).expires_never();
                          beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
                          ws_.read_message_max(std::size_t{64} << 20);
                          ws_.text(true);
                          open_ = true;
                          send(Json{{"type", "hello"},
                                    {"proto", 1},
                                    {"token", token_},
                                    {"client_id", client_id_},
                                    {"cursor", cursor}}
                                   .dump());
                          read();
                        });
  });
}

void LeanConn::read() {
  ws_.async_read(buffer_, [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      if (open_) w_.problem(client_id_ + ": connection lost: " + ec.message());
      open_ = false;
      return;
    }
    const TimePoint now = SteadyClock::now();
    const auto data = buffer_.data();
    std::string text(static_cast<const char*>(data.data()), data.size());
    buffer_.consume(buffer_.size());
    on_text(text, now);
    read();
  });
}

// The server writes `type` first, so a prefix tells the frame type without parsing; changes are
// never parsed (only their `to`, the frame's last field).
void LeanConn::on_text(const std::string& text, TimePoint now) {
  w_.on_frame(text.size());
  bytes_in_ += static_cast<std::int64_t>(text.size());
  if (text.rfind(R"({"type":"result")", 0) == 0) {
    on_result(text, now);
  } else if (text.rfind(R"({"type":"changes")", 0) == 0) {
    const std::size_t at = text.rfind(R"("to":)");
    if (at == std::string::npos) return w_.problem(client_id_ + ": changes without to");
    const std::int64_t before = to_;
    to_ = std::strtoll(text.c_str() + at + 5, nullptr, 10);
    // Rows: every item ends with its version (the JSON library writes "v" last).
    for (std::size_t k = text.find(R"(,"v":)"); k != std::string::npos;
         k = text.find(R"(,"v":)", k + 5)) {
      ++rows_in_;
    }
    if (role_ == Role::operator_) {
      recent_.emplace_back(to_, now);
      if (recent_.size() > 512) recent_.pop_front();
      w_.on_operator_frame(before, to_, now);
    }
  } else if (text.rfind(R"({"type":"synced")", 0) == 0) {
    live_ = true;
  } else if (text.rfind(R"({"type":"welcome")", 0) == 0 ||
             text.rfind(R"({"type":"alert")", 0) == 0 || text.rfind(R"({"type":"pong")", 0) == 0) {
    // nothing to track
  } else {
    w_.problem(client_id_ + ": unexpected frame " + text.substr(0, 200));
  }
}

void LeanConn::on_result(const std::string& text, TimePoint now) {
  Result<Json> j = parse_json(text);
  if (!j.ok()) return w_.problem(client_id_ + ": result frame is not JSON");
  const std::int64_t seq = j->value("seq", std::int64_t{0});
  auto it = pushed_.find(seq);
  if (it == pushed_.end()) {
    return w_.problem(client_id_ + ": a result for seq " + std::to_string(seq) +
                      " that is not outstanding (a second answer, or never pushed)");
  }
  const bool applied = j->value("status", "") == "applied";
  if (!applied) {
    w_.problem(client_id_ + ": seq " + std::to_string(seq) + " refused: " + text.substr(0, 200));
  }
  bool manual = false;
  if (const auto d = j->find("decision"); d != j->end() && d->is_object()) {
    manual = d->value("outcome", "") == "manual_review";
  }
  w_.on_answer(it->second, now, applied, j->value("version", std::int64_t{0}), manual);
  pushed_.erase(it);
}

void LeanConn::tick(double due) {
  if (!live_ || leads_.empty()) return;  // idle connections have nothing to submit
  budget_ = std::min(budget_ + due, 1000.0);
  std::vector<std::pair<std::string, Json>> ops;
  while (budget_ >= 1.0 && next_lead_ < leads_.size() &&
         static_cast<int>(pushed_.size() + ops.size()) < w_.opt().inflight && ops.size() < 100) {
    budget_ -= 1.0;
    const std::string rid = client_id_ + "-r" + std::to_string(++returns_made_);
    ops.emplace_back(rid, Json{{"return_id", rid},
                               {"lead_id", leads_[next_lead_++]},
                               {"reason", "bad_contact"},
                               {"note", "Disconnected number."}});
  }
  if (budget_ >= 1.0 && w_.measuring_) ++w_.sample_.held_ticks;
  if (!ops.empty()) push(ops, true);
}

void LeanConn::push_accepts(std::deque<std::string>& waiting) {
  if (!live_) return;
  std::vector<std::pair<std::string, Json>> ops;
  while (!waiting.empty() && static_cast<int>(pushed_.size() + ops.size()) < w_.opt().inflight &&
         ops.size() < 100) {
    ops.emplace_back(waiting.front(), Json{{"return_id", waiting.front()}});
    waiting.pop_front();
  }
  if (!ops.empty()) push(ops, false);
}

void LeanConn::push_bulk(const std::vector<std::string>& return_ids) {
  for (std::size_t first = 0; first < return_ids.size(); first += 100) {
    std::vector<std::pair<std::string, Json>> ops;
    for (std::size_t i = first; i < std::min(return_ids.size(), first + 100); ++i) {
      ops.emplace_back(return_ids[i], Json{{"return_id", return_ids[i]}});
    }
    push(ops, false);
  }
}

void LeanConn::push(const std::vector<std::pair<std::string, Json>>& ops, bool submit) {
  const TimePoint now = SteadyClock::now();
  Json arr = Json::array();
  for (const auto& [rid, args] : ops) {
    const std::int64_t seq = ++seq_;
    arr.push_back(
        Json{{"seq", seq}, {"op", submit ? "submit_return" : "accept_return"}, {"args", args}});
    pushed_.emplace(seq, Pushed{now, submit, rid});
  }
  w_.on_pushed(ops.size());
  send(Json{{"type", "push"}, {"ops", std::move(arr)}}.dump());
}

std::optional<TimePoint> LeanConn::covered_at(std::int64_t version) const {
  if (recent_.empty() || recent_.back().first < version) return std::nullopt;
  auto it = std::lower_bound(recent_.begin(), recent_.end(), version,
                             [](const auto& r, std::int64_t v) { return r.first < v; });
  return it->second;
}

void LeanConn::send(std::string frame) {
  if (!open_) return;
  out_.push_back(std::move(frame));
  write();
}

void LeanConn::write() {
  if (writing_ || out_.empty()) return;
  writing_ = true;
  ws_.async_write(asio::buffer(out_.front()),
                  [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                    writing_ = false;
                    if (ec) {
                      if (open_) w_.problem(client_id_ + ": write: " + ec.message());
                      open_ = false;
                      return;
                    }
                    out_.pop_front();
                    write();
                  });
}

void LeanConn::close() {
  if (!open_) return;
  open_ = false;
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
}

// --- Helpers -------------------------------------------------------------------------------------

// Runs `fn` on the worker's thread and returns its value.
template <class Fn>
auto on_worker(Worker& w, Fn fn) -> decltype(fn()) {
  std::promise<decltype(fn())> p;
  auto f = p.get_future();
  asio::post(w.ioc, [&] {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      p.set_value();
    } else {
      p.set_value(fn());
    }
  });
  return f.get();
}

// The final state, read from the stopped server's database.
void check_final_state(const std::string& db_path, const std::string& tag, std::int64_t returns,
                       Totals& totals) {
  Result<std::unique_ptr<store::Database>> db = store::Database::open(db_path);
  if (!db.ok()) {
    totals.problems.push_back("final state: cannot open the database: " + db.error().message);
    return;
  }
  auto count = [&](const std::string& sql) -> std::int64_t {
    Result<store::Statement> st = (*db)->prepare(sql);
    if (!st.ok() || !st->step()) return -1;
    return st->int64(0);
  };
  const std::string like = "'%-" + tag + "-%'";
  const std::int64_t accepted =
      count("SELECT count(*) FROM returns WHERE state = 'accepted' AND id LIKE " + like);
  const std::int64_t other =
      count("SELECT count(*) FROM returns WHERE state <> 'accepted' AND id LIKE " + like);
  const std::int64_t returned =
      count("SELECT count(*) FROM leads WHERE status = 'RETURNED' AND id LIKE " + like);
  const std::string reversal =
      "FROM ledger WHERE kind = 'revenue_reversal' AND return_id LIKE " + like;
  const std::int64_t reversals = count("SELECT count(*) " + reversal);
  const std::int64_t reversed = count("SELECT -coalesce(sum(amount_cents), 0) " + reversal);
  std::printf(
      "  final state: %lld returns accepted, %lld in another state, %lld leads RETURNED, %lld "
      "revenue reversals of %lld cents in all (submitted and applied: %lld)\n",
      static_cast<long long>(accepted), static_cast<long long>(other),
      static_cast<long long>(returned), static_cast<long long>(reversals),
      static_cast<long long>(reversed), static_cast<long long>(returns));
  if (accepted != returns || other != 0 || returned != returns || reversals != returns ||
      reversed != 2000 * returns) {
    totals.problems.push_back("final state does not match the answers");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  try {
    const std::string tag = [] {
      std::ostringstream s;
      s << std::hex << (test::now_ms() % 0xFFFFFFF);
      return s.str();
    }();
    // The ceiling is measured without the per-connection limits; the bulk scenario runs with the
    // server's defaults, which it must fit in.
    std::vector<std::string> args = {"--sync", opt.sync, "--spike-every", "0"};
    if (opt.bulk == 0) {
      for (const char* a : {"--op-rate", "1000000", "--op-burst", "1000000", "--operator-op-rate",
                            "1000000", "--operator-op-burst", "1000000"}) {
        args.push_back(a);
      }
    }
    if (opt.commit_batch > 0) {
      args.push_back("--commit-batch");
      args.push_back(std::to_string(opt.commit_batch));
    }
    test::Server server(test::Server::Options{
        .world = world_json(opt.buyers), .args = args, .start = true, .tls = false});
    unsigned short port = server.port();
    Result<std::string> secret = server::load_or_create_secret(server.secret_path());
    if (!secret.ok()) throw std::runtime_error("secret: " + secret.error().message);
    auto mint = [&](Role role, const std::string& buyer, const std::string& subject) {
      server::TokenClaims c;
      c.role = role;
      c.buyer_id = buyer;
      c.subject = subject;
      c.expires_at = test::now_ms() + 24 * kMillisPerHour;
      return server::sign_token(c, *secret);
    };

    // Leads first, over HTTP: every submit of every step has its own fresh lead.
    double total_submits = 0;
    for (double r : opt.rates) total_submits += r * (opt.seconds + opt.warmup + 1);
    const int conns_per_buyer = opt.devices;
    const std::int64_t leads =
        static_cast<std::int64_t>(total_submits * 1.1) + opt.buyers * conns_per_buyer * 4;
    const TimePoint t_ingest = SteadyClock::now();
    const std::string op_token = mint(Role::operator_, "", "ll-ingest");
    const Millis now = test::now_ms();
    std::vector<std::vector<std::string>> leads_of(
        static_cast<std::size_t>(opt.buyers * conns_per_buyer));
    constexpr std::int64_t kBatch = 5000;
    std::int64_t head = 0;
    for (std::int64_t first = 0; first < leads; first += kBatch) {
      Json batch = Json::array();
      for (std::int64_t k = first; k < std::min(leads, first + kBatch); ++k) {
        const int b = static_cast<int>(k % opt.buyers);
        const int d = static_cast<int>((k / opt.buyers) % conns_per_buyer);
        const std::string id = "L-" + tag + "-" + std::to_string(k);
        batch.push_back({{"id", id},
                         {"buyer_id", buyer_id(b)},
                         {"campaign_id", "C-ll-" + std::to_string(b)},
                         {"vertical", "solar"},
                         {"state", "TX"},
                         {"zip", "73301"},
                         {"contact_hash", "h-" + id},
                         {"price_cents", 2000},
                         {"cost_cents", 1000},
                         {"supplier_id", k % 3 == 0 ? "S-ll-pass" : "S-ll-keep"},
                         {"delivered_at", now - kMillisPerHour}});
        leads_of[static_cast<std::size_t>(b * conns_per_buyer + d)].push_back(id);
      }
      const test::HttpReply r = test::http_request(port, "POST", "/v1/leads", batch.dump(),
                                                   op_token, std::chrono::milliseconds(300'000));
      if (r.status != 200) {
        throw std::runtime_error("POST /v1/leads: " + std::to_string(r.status) + " " +
                                 r.body.substr(0, 300));
      }
      head = r.json.value("version", std::int64_t{0});
    }
    std::printf("lean_load: ingested %lld leads in %.1f s; server --sync %s%s\n",
                static_cast<long long>(leads), ms_between(t_ingest, SteadyClock::now()) / 1000,
                opt.sync.c_str(),
                opt.commit_batch > 0
                    ? (" --commit-batch " + std::to_string(opt.commit_batch)).c_str()
                    : "");

    // Connections, spread over the threads; every client starts from the head (no catch-up:
    // lean clients keep no replica).
    std::vector<std::unique_ptr<Worker>> workers;
    for (int t = 0; t < opt.threads; ++t) workers.push_back(std::make_unique<Worker>(t, opt));
    int buyer_conns = 0;
    for (int b = 0; b < opt.buyers; ++b) {
      for (int d = 0; d < conns_per_buyer; ++d) {
        Worker& w = *workers[static_cast<std::size_t>(buyer_conns % opt.threads)];
        auto c = std::make_shared<LeanConn>(
            w, Role::buyer, buyer_id(b),
            "ll-" + tag + "-b" + std::to_string(b) + "d" + std::to_string(d),
            mint(Role::buyer, buyer_id(b), buyer_id(b)));
        c->set_phase(std::fmod(0.618033988749895 * buyer_conns, 1.0));
        for (std::string& id : leads_of[static_cast<std::size_t>(b * conns_per_buyer + d)]) {
          c->add_lead(std::move(id));
        }
        w.conns.push_back(c);
        ++buyer_conns;
      }
    }
    for (int o = 0; o < opt.operators; ++o) {
      Worker& w = *workers[static_cast<std::size_t>(o % opt.threads)];
      auto c =
          std::make_shared<LeanConn>(w, Role::operator_, "", "ll-" + tag + "-o" + std::to_string(o),
                                     mint(Role::operator_, "", "ll-op-" + std::to_string(o)));
      w.conns.push_back(c);
      w.operators.push_back(c.get());
    }
    std::vector<std::thread> threads(workers.size());
    for (std::size_t t = 0; t < workers.size(); ++t) workers[t]->start(threads[t]);
    for (auto& w : workers) {
      on_worker(*w, [&] {
        for (auto& c : w->conns) c->connect(port, head);
      });
    }
    auto wait_for = [&](const std::function<bool()>& done, double seconds) {
      const TimePoint deadline =
          SteadyClock::now() +
          std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
      while (!done()) {
        if (SteadyClock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
      }
      return true;
    };
    const TimePoint t_connect = SteadyClock::now();
    if (!wait_for(
            [&] {
              return std::all_of(workers.begin(), workers.end(), [](auto& w) {
                return on_worker(*w, [&] { return w->all_live(); });
              });
            },
            60)) {
      throw std::runtime_error("not every connection reached synced within 60 s");
    }
    const int recipients = opt.operators + conns_per_buyer;
    std::printf(
        "connected: %d buyers' devices (%d buyers x %d), %d operators, %d threads, in %.0f ms; "
        "each op reaches %d sessions\n",
        buyer_conns, opt.buyers, conns_per_buyer, opt.operators, opt.threads,
        ms_between(t_connect, SteadyClock::now()), recipients);
    // Idle connections: authenticated and synced, then nothing; the server's resident memory.
    Json idle_result;
    if (opt.idle > 0) {
      auto rss_mib = [&] {
        std::ifstream in("/proc/" + std::to_string(server.pid()) + "/status");
        for (std::string line; std::getline(in, line);) {
          if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;
        }
        return 0.0;
      };
      const double before = rss_mib();
      const TimePoint t0 = SteadyClock::now();
      for (int i = 0; i < opt.idle; ++i) {
        Worker& w = *workers[static_cast<std::size_t>(i % opt.threads)];
        const std::string b = buyer_id(i % opt.buyers);
        auto c = std::make_shared<LeanConn>(
            w, Role::buyer, b, "ll-" + tag + "-idle-" + std::to_string(i), mint(Role::buyer, b, b));
        on_worker(w, [&] {
          w.conns.push_back(c);
          c->connect(port, head);
        });
      }
      const bool all = wait_for(
          [&] {
            return std::all_of(workers.begin(), workers.end(), [](auto& w) {
              return on_worker(*w, [&] { return w->all_live(); });
            });
          },
          300);
      const double connect_ms = ms_between(t0, SteadyClock::now());
      std::this_thread::sleep_for(2s);
      const double after = rss_mib();
      const auto sessions =
          test::http_get(port, "/healthz").json.value("connections", std::int64_t{0});
      std::printf(
          "idle: %d more connections synced in %.0f ms%s; the server holds %lld sessions in %.0f "
          "MiB resident (%.0f MiB before them: %.1f KiB per connection)\n",
          opt.idle, connect_ms, all ? "" : " (not all within 300 s)",
          static_cast<long long>(sessions), after, before, 1024 * (after - before) / opt.idle);
      idle_result = {{"connections", opt.idle},
                     {"sessions", sessions},
                     {"rss_mib", after},
                     {"rss_before_mib", before},
                     {"connect_ms", connect_ms}};
      if (!all) on_worker(*workers.front(), [&] { workers.front()->problem("idle connections"); });
    }
    if (opt.bulk == 0)
      std::printf("\n%9s %9s %9s %8s %8s %8s %9s %9s %8s %8s %8s %8s %7s %6s\n", "offered",
                  "issued/s", "done/s", "res p50", "res p99", "res max", "fan p50", "fan p99",
                  "srv cpu", "us/op", "us/frame", "ops/txn", "txn ms", "ok");
    std::fflush(stdout);

    Json steps = Json::array();
    double ceiling = 0;
    auto drain = [&] {
      for (auto& w : workers) on_worker(*w, [&] { w->set_issuing(false); });
      return wait_for(
          [&] {
            std::int64_t n = 0;
            for (auto& w : workers) n += on_worker(*w, [&] { return w->outstanding(); });
            return n == 0;
          },
          opt.drain_seconds);
    };
    bool drained = true;
    Json bulk_result;
    if (opt.bulk > 0) {
      // Submits until the manual-review buyers' returns number `bulk`, held for the operators.
      for (auto& w : workers) {
        on_worker(*w, [&] {
          w->set_holding(true);
          w->set_rate(opt.rates.front() / buyer_conns);
          w->set_issuing(true);
        });
      }
      const bool filled = wait_for(
          [&] {
            std::size_t n = 0;
            for (auto& w : workers) n += on_worker(*w, [&] { return w->waiting(); });
            return n >= static_cast<std::size_t>(opt.bulk);
          },
          120);
      for (auto& w : workers) on_worker(*w, [&] { w->set_issuing(false); });
      wait_for(
          [&] {
            std::int64_t n = 0;
            for (auto& w : workers) n += on_worker(*w, [&] { return w->ops_outstanding(); });
            return n == 0;
          },
          opt.drain_seconds);
      if (!filled) throw std::runtime_error("not enough returns for the bulk decision");
      std::vector<std::string> ids;
      for (auto& w : workers) {
        std::vector<std::string> got = on_worker(
            *w, [&] { return w->take_waiting(static_cast<std::size_t>(opt.bulk) - ids.size()); });
        ids.insert(ids.end(), got.begin(), got.end());
      }
      Worker& w0 = *workers.front();
      const std::int64_t accepted_before = on_worker(w0, [&] { return w0.totals.accepts_applied; });
      const TimePoint t0 = SteadyClock::now();
      on_worker(w0, [&] { w0.operators.front()->push_bulk(ids); });
      const bool done =
          wait_for([&] { return on_worker(w0, [&] { return w0.ops_outstanding(); }) == 0; }, 60);
      const double ms = ms_between(t0, SteadyClock::now());
      const std::int64_t accepted =
          on_worker(w0, [&] { return w0.totals.accepts_applied; }) - accepted_before;
      std::printf(
          "bulk decision: %zu accepts from one operator in %zu pushes, %lld applied, in "
          "%.0f ms%s\n",
          ids.size(), (ids.size() + 99) / 100, static_cast<long long>(accepted), ms,
          done ? "" : " (not all answered within 60 s)");
      bulk_result = {{"returns", ids.size()}, {"applied", accepted}, {"ms", ms}};
      if (!done || accepted != static_cast<std::int64_t>(ids.size())) {
        on_worker(w0, [&] { w0.problem("the bulk decision was not answered in full"); });
      }
      for (auto& w : workers) on_worker(*w, [&] { w->set_holding(false); });
      drained = drain();
    }
    for (const double rate : opt.bulk > 0 ? std::vector<double>{} : opt.rates) {
      for (auto& w : workers) {
        on_worker(*w, [&] {
          w->set_rate(rate / buyer_conns);
          w->set_issuing(true);
        });
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(opt.warmup));
      const auto m0 = scrape_metrics(port);
      const double cpu0 = process_cpu_seconds(server.pid());
      const double self0 = self_cpu_seconds();
      for (auto& w : workers) {
        on_worker(*w, [&] {
          w->take_sample();
          w->set_measuring(true);
        });
      }
      const TimePoint t0 = SteadyClock::now();
      std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds));
      Sample s;
      for (auto& w : workers) {
        s.merge(on_worker(*w, [&] {
          w->set_measuring(false);
          return w->take_sample();
        }));
      }
      const double window = ms_between(t0, SteadyClock::now()) / 1000;
      const double cpu1 = process_cpu_seconds(server.pid());
      const double self1 = self_cpu_seconds();
      const auto m1 = scrape_metrics(port);
      drained = drain();

      const Percentiles res = percentiles(s.result_ms);
      const Percentiles fan = percentiles(s.fanout_ms);
      const double ops = metric_delta(m0, m1, "returns_ops_applied_total") +
                         metric_delta(m0, m1, "returns_ops_refused_total");
      const double frames = metric_delta(m0, m1, "returns_frames_sent_total");
      const double txns = metric_delta(m0, m1, "returns_commit_batch_size_count");
      const double server_cpu = cpu1 - cpu0;
      const double txn_ms =
          txns > 0 ? metric_delta(m0, m1, "returns_commit_latency_ms_sum") / txns : 0;
      const double issued_rate = static_cast<double>(s.issued) / window;
      const double done_rate = static_cast<double>(s.answered) / window;
      const bool kept_up =
          s.held_ticks == 0 && done_rate >= 0.97 * issued_rate && issued_rate >= 0.95 * rate;
      const bool ok = kept_up && res.p99 <= opt.p99_ms;
      if (ok) ceiling = std::max(ceiling, done_rate);
      std::printf(
          "%9.0f %9.0f %9.0f %8.1f %8.1f %8.1f %9.1f %9.1f %7.0f%% %8.1f %8.2f %8.1f %7.1f %6s\n",
          rate, issued_rate, done_rate, res.p50, res.p99, res.max, fan.p50, fan.p99,
          100 * server_cpu / window, ops > 0 ? 1e6 * server_cpu / ops : 0,
          frames > 0 ? 1e6 * server_cpu / frames : 0, txns > 0 ? ops / txns : 0, txn_ms,
          ok ? "yes" : (kept_up ? "p99" : "no"));
      std::fflush(stdout);
      steps.push_back({{"offered", rate},
                       {"issued_per_s", issued_rate},
                       {"answered_per_s", done_rate},
                       {"result_p50_ms", res.p50},
                       {"result_p99_ms", res.p99},
                       {"result_max_ms", res.max},
                       {"fanout_p50_ms", fan.p50},
                       {"fanout_p99_ms", fan.p99},
                       {"server_cpu_pct", 100 * server_cpu / window},
                       {"server_us_per_op", ops > 0 ? 1e6 * server_cpu / ops : 0},
                       {"server_us_per_frame", frames > 0 ? 1e6 * server_cpu / frames : 0},
                       {"frames_per_op", ops > 0 ? frames / ops : 0},
                       {"ops_per_txn", txns > 0 ? ops / txns : 0},
                       {"txn_ms", txn_ms},
                       {"driver_cpu_pct", 100 * (self1 - self0) / window},
                       {"client_mib_in", static_cast<double>(s.bytes_in) / (1 << 20)},
                       {"held_ticks", s.held_ticks},
                       {"ok", ok}});
      if (!drained) break;
    }
    if (opt.bulk == 0) {
      std::printf("\nceiling: %.0f ops/s answered with result p99 <= %.0f ms; load average %s\n",
                  ceiling, opt.p99_ms, load_average().c_str());
    }

    // Catch-up from scratch: a new operator device, then a new device of one buyer.
    Json catch_ups = Json::array();
    auto catch_up = [&](Worker& w, Role role, const std::string& buyer, const char* when) {
      const std::string who = role == Role::buyer ? buyer : "operator";
      auto c = std::make_shared<LeanConn>(w, role, buyer, "ll-" + tag + "-catch-up-" + who,
                                          mint(role, buyer, role == Role::buyer ? buyer : "ll-cu"));
      const std::int64_t head_now =
          test::http_get(port, "/healthz").json.value("head", std::int64_t{0});
      const TimePoint t0 = SteadyClock::now();
      on_worker(w, [&] {
        w.conns.push_back(c);
        c->connect(port, 0);
      });
      const bool synced = wait_for([&] { return on_worker(w, [&] { return c->live(); }); }, 300);
      const double ms = ms_between(t0, SteadyClock::now());
      const auto [bytes, rows] =
          on_worker(w, [&] { return std::make_pair(c->bytes_in(), c->rows_in()); });
      std::printf(
          "catch-up from cursor 0%s, %s: %lld rows (%.1f MiB) of a %lld-event log in %.0f ms%s\n",
          when, who.c_str(), static_cast<long long>(rows), static_cast<double>(bytes) / (1 << 20),
          static_cast<long long>(head_now), ms, synced ? "" : " (not synced within 300 s)");
      if (!synced) on_worker(w, [&] { w.problem("catch-up of " + who + " did not finish"); });
      catch_ups.push_back({{"who", who},
                           {"when", when},
                           {"rows", rows},
                           {"bytes", bytes},
                           {"log", head_now},
                           {"ms", ms}});
    };
    if (opt.bulk == 0) {
      catch_up(*workers.front(), Role::operator_, "", "");
      catch_up(*workers.front(), Role::buyer, buyer_id(1), "");
    }

    // --- Checks ------------------------------------------------------------------------------
    std::printf("\nchecks:\n");
    const auto m_end = scrape_metrics(port);
    for (auto& w : workers) on_worker(*w, [&] { w->stop(); });
    std::this_thread::sleep_for(200ms);
    for (auto& w : workers) w->ioc.stop();
    for (auto& t : threads) t.join();
    Totals totals;
    for (auto& w : workers) {
      totals.pushed += w->totals.pushed;
      totals.results += w->totals.results;
      totals.refused += w->totals.refused;
      totals.submits_applied += w->totals.submits_applied;
      totals.accepts_applied += w->totals.accepts_applied;
      for (std::string& p : w->totals.problems) totals.problems.push_back(std::move(p));
    }
    if (!drained) totals.problems.push_back("drain: ops still unanswered after the last step");
    const double applied =
        m_end.count("returns_ops_applied_total") ? m_end.at("returns_ops_applied_total") : -1;
    const double refused =
        m_end.count("returns_ops_refused_total") ? m_end.at("returns_ops_refused_total") : -1;
    std::printf(
        "  answers: %lld ops pushed, %lld results (%lld submits and %lld accepts applied, %lld "
        "refused); server: %.0f applied, %.0f refused\n",
        static_cast<long long>(totals.pushed), static_cast<long long>(totals.results),
        static_cast<long long>(totals.submits_applied),
        static_cast<long long>(totals.accepts_applied), static_cast<long long>(totals.refused),
        applied, refused);
    if (totals.results != totals.pushed) {
      totals.problems.push_back("not every op was answered exactly once");
    }
    if (static_cast<std::int64_t>(applied) != totals.pushed || refused != 0) {
      totals.problems.push_back("the server applied other ops than were pushed");
    }
    const int rc = server.stop();
    if (rc != 0) totals.problems.push_back("returnsd exited with " + std::to_string(rc));
    check_final_state(server.db_path(), tag, totals.submits_applied, totals);

    // --- Compaction: the same catch-ups over the compacted log ----------------------------------
    if (opt.compact && opt.bulk == 0) {
      std::printf("\ncompaction:\n");
      std::string out;
      const TimePoint t0 = SteadyClock::now();
      const int crc = test::Server::run_tool({"compact", "--db", server.db_path()}, &out, 600s);
      const double ms = ms_between(t0, SteadyClock::now());
      while (!out.empty() && out.back() == '\n') out.pop_back();
      std::printf("  returnsd compact: %s, in %.0f ms\n", out.c_str(), ms);
      if (crc != 0)
        totals.problems.push_back("returnsd compact exited with " + std::to_string(crc));
      server.start();
      port = server.port();
      Worker cw(0, opt);
      std::thread ct;
      cw.start(ct);
      catch_up(cw, Role::operator_, "", " after compaction");
      catch_up(cw, Role::buyer, buyer_id(1), " after compaction");
      on_worker(cw, [&] { cw.stop(); });
      std::this_thread::sleep_for(200ms);
      cw.ioc.stop();
      ct.join();
      for (std::string& p : cw.totals.problems) totals.problems.push_back(std::move(p));
      if (const int src = server.stop(); src != 0) {
        totals.problems.push_back("returnsd exited with " + std::to_string(src) +
                                  " after compaction");
      }
    }

    if (!opt.json_out.empty()) {
      std::ofstream(opt.json_out) << Json{{"steps", steps},
                                          {"ceiling", ceiling},
                                          {"commit_batch", opt.commit_batch},
                                          {"sync", opt.sync},
                                          {"recipients", recipients},
                                          {"bulk", bulk_result},
                                          {"idle", idle_result},
                                          {"catch_up", catch_ups},
                                          {"problems", totals.problems.size()}}
                                         .dump(2)
                                  << "\n";
    }
    if (!totals.problems.empty()) {
      std::printf("\nFAILED: %zu problems\n", totals.problems.size());
      return 1;
    }
    std::printf("\nOK: every op answered once; the server's state matches the answers\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lean_load: %s\n", e.what());
    return 1;
  }
}
