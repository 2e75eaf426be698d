// load_gen.cc — the sync server under load: C concurrent clients, each a real sync::Engine over a
// MemoryReplica, driven by an asynchronous Beast WebSocket client on one I/O thread, against a
// real returnsd (started here on port 0, or given with --port). Buyers save drafts and submit
// (or discard) returns at a steady rate; operators accept, partially credit or reject each
// pending return as it arrives live. Afterwards every answer, outbox and replica is checked
// against the server's state. Numbers and commands: BENCHMARKS.md "Sync server under load".
//
//   load_gen [--clients C] [--operators O] [--buyers B] [--leads L] [--seconds S] [--ops N]
//            [--rate R] [--inflight K] [--sync full|normal] [--drain-seconds D]
//            [--port P --secret-file F] [--world-out FILE]
//
// Phases: start and seed the server, connect every client (hello, catch-up of the small world),
// ingest L leads over HTTP while the clients are live (so they arrive as live changes rather than
// C catch-ups of the whole log), measure for S seconds or N ops, stop starting new work and
// drain (every op answered, every submitted return decided), then check:
//   1. every op issued got exactly one answer (engine notices and raw result frames);
//   2. no outbox holds anything, no draft is left behind;
//   3. the server applied exactly the ops issued (GET /metrics), and its state — read by a fresh
//      operator catch-up — matches what the answers said: each return's state and credit, one
//      revenue reversal per accepted return, the lead RETURNED exactly when accepted;
//   4. every client's replica equals what a fresh catch-up of the same principal returns.
// Exit 0 when every check passes, 1 otherwise, 2 on bad flags.
//
// With --port the server is not started: seed it first with the world of `--world-out FILE`
// (`returnsd seed --db DB --file FILE`, before `returnsd serve`), and give its --secret-file so
// tokens can be minted. Lead, return and client ids carry a per-run tag, so runs can repeat.
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_support.h"
#include "core/decision_facts.h"
#include "harness.h"
#include "server/token.h"
#include "sync/engine.h"
#include "sync/memory_replica.h"

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
  int clients = 8;
  int operators = 0;  // 0: enough to keep up with the buyers (see main)
  int buyers = 8;
  std::int64_t leads = 20'000;
  double seconds = 0;    // measured phase length (0 and no --ops: 10 s)
  std::int64_t ops = 0;  // or: stop starting new work after this many ops
  double rate = 10;      // ops/s per buyer client (a return is two ops)
  int inflight = 8;      // unanswered ops per buyer client at most
  std::string sync = "full";
  double drain_seconds = 120;
  unsigned short port = 0;
  std::string secret_file;
  std::string world_out;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr
      << "load_gen: " << why << "\n"
      << "usage: load_gen [--clients C] [--operators O] [--buyers B] [--leads L] [--seconds S]\n"
      << "                [--ops N] [--rate R] [--inflight K] [--sync full|normal]\n"
      << "                [--drain-seconds D] [--port P --secret-file F] [--world-out FILE]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    auto number = [&]() -> double {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !std::isfinite(d) || d < 0) usage(a + " takes a number");
      return d;
    };
    if (a == "--clients") {
      o.clients = static_cast<int>(number());
    } else if (a == "--operators") {
      o.operators = static_cast<int>(number());
    } else if (a == "--buyers") {
      o.buyers = static_cast<int>(number());
    } else if (a == "--leads") {
      o.leads = static_cast<std::int64_t>(number());
    } else if (a == "--seconds") {
      o.seconds = number();
    } else if (a == "--ops") {
      o.ops = static_cast<std::int64_t>(number());
    } else if (a == "--rate") {
      o.rate = number();
    } else if (a == "--inflight") {
      o.inflight = static_cast<int>(number());
    } else if (a == "--sync") {
      o.sync = value();
    } else if (a == "--drain-seconds") {
      o.drain_seconds = number();
    } else if (a == "--port") {
      o.port = static_cast<unsigned short>(number());
    } else if (a == "--secret-file") {
      o.secret_file = value();
    } else if (a == "--world-out") {
      o.world_out = value();
    } else {
      usage("unknown flag " + a);
    }
  }
  if (o.clients < 2) usage("--clients must be at least 2 (a buyer and an operator)");
  if (o.buyers < 1) usage("--buyers must be at least 1");
  if (o.rate <= 0) usage("--rate must be positive");
  if (o.inflight < 2) usage("--inflight must be at least 2");
  if (o.sync != "full" && o.sync != "normal") usage("--sync is full or normal");
  if (o.port != 0 && o.secret_file.empty()) usage("--port needs --secret-file");
  if (o.seconds == 0 && o.ops == 0) o.seconds = 10;
  return o;
}

// --- The world -----------------------------------------------------------------------------------

// Four kinds of policy, so previews are checked on every fact a decision reads: manual review
// (operators decide), rules with a trailing-rate limit and a daily limit under a cap rate,
// always-accept under a cap rate, and a daily limit alone. Leads are fresh, so no age limit is
// crossed between a preview and its decision: only the facts can change in between.
std::string buyer_id(int b) { return bench::buyer_id("lg", b); }

Json policy_json(int b) {
  switch (b % 4) {
    case 1:
      return {{"mode", "rules"},
              {"window_hours", 168},
              {"cap_rate", 0.15},
              {"rules",
               {{{"id", "rated"},
                 {"max_age_hours", 24},
                 {"max_return_rate", 0.12},
                 {"max_auto_per_day", 40}}}}};
    case 2:
      return {{"mode", "always_accept"}, {"window_hours", 168}, {"cap_rate", 0.1}};
    case 3:
      return {{"mode", "rules"},
              {"window_hours", 168},
              {"rules", {{{"id", "daily"}, {"max_age_hours", 24}, {"max_auto_per_day", 20}}}}};
    default:
      return {{"mode", "manual"}, {"window_hours", 168}};
  }
}

Json world_json(int buyers) {
  return bench::world_json({"lg", "Load", policy_json,
                            [](int b) { return std::string(b % 2 == 0 ? "solar" : "roofing"); }},
                           buyers);
}

// --- Measurements --------------------------------------------------------------------------------

void print_latency(const char* what, const Percentiles& p) {
  std::printf("  %-40s n=%zu  p50 %.1f  p95 %.1f  p99 %.1f  max %.1f ms\n", what, p.n, p.p50, p.p95,
              p.p99, p.max);
}

// What the answers said about one return; the server's final state must agree.
struct ReturnModel {
  std::string lead_id;
  Money price = 0;
  bool saved = false;
  bool submitted = false;
  bool discarded = false;
  std::string decision;  // "accepted" / "rejected" once an operator decision was applied
  Money credit = 0;
  bool decision_queued = false;
  bool measured = false;  // started during the measured phase (its latencies count)
  std::optional<TimePoint> submit_sent;
  std::optional<TimePoint> submit_result;
  // The portal's preview just before the submit: what it said and on which facts.
  std::optional<Verdict> preview_outcome;
  std::string preview_rule;
  std::optional<DecisionFacts> preview_facts;
  std::vector<TimePoint> seen_pending;  // per operator session: when its changes showed it
};

// Everything the clients share: counters, samples, the return model. One I/O thread, no locks.
struct Run {
  Options opt;
  bool measuring = false;
  bool stop_new = false;
  bool shutting_down = false;
  TimePoint measure_start, measure_end;
  std::int64_t ops_issued = 0;
  std::int64_t results_in_window = 0;
  std::vector<double> result_ms;  // ops sent during the measured phase
  std::unordered_map<std::string, ReturnModel> returns;
  std::unordered_map<std::string, Money> lead_price;
  std::map<std::string, int> refusals;  // code → count
  std::map<std::string, int> errors;    // error frames by code
  std::vector<std::string> problems;
  std::int64_t engine_errors = 0;
  std::int64_t duplicate_result_frames = 0;
  std::int64_t reconnects = 0;
  std::int64_t resets = 0;
  std::int64_t alerts = 0;
  std::int64_t frames_in = 0;
  std::int64_t bytes_in = 0;
  int operators = 1;
  // Preview = decision (docs/decision-facts.md), per applied submit.
  std::int64_t same_facts = 0, same_facts_agree = 0;
  std::int64_t changed_facts = 0, changed_facts_agree = 0;
  std::map<std::string, std::int64_t> decided;  // outcome → count
  std::vector<std::string> explanations;        // a few, for the report

  void problem(std::string p) {
    if (problems.size() < 50) std::fprintf(stderr, "problem: %s\n", p.c_str());
    problems.push_back(std::move(p));
  }
};

// --- One client: engine + replica + WebSocket ----------------------------------------------------

class LoadClient {
 public:
  LoadClient(asio::io_context& ioc, Run& run, unsigned short port, Role role, int index,
             std::string buyer, std::string client_id, std::string token, bool checker)
      : ioc_(ioc),
        run_(run),
        port_(port),
        role_(role),
        index_(index),
        buyer_(std::move(buyer)),
        checker_(checker),
        engine_(replica_, sync::EngineConfig{std::move(client_id), std::move(token), 250}),
        reconnect_timer_(ioc) {}

  void connect() {
    auto conn = std::make_shared<Conn>(ioc_);
    conn_ = conn;
    beast::get_lowest_layer(conn->ws).expires_after(10s);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
    beast::get_lowest_layer(conn->ws).async_connect(ep, [this, conn](beast::error_code ec) {
      if (ec) return on_lost(conn, "connect: " + ec.message());
      conn->ws.async_handshake(
          "127.0.0.1:" + std::to_string(port_), "/v1/sync", [this, conn](beast::error_code hec) {
            if (hec) return on_lost(conn, "handshake: " + hec.message());
            beast::get_lowest_layer(conn->ws).expires_never();
            // Like browsers: no Nagle delay on small frames (a push right after another).
            beast::get_lowest_layer(conn->ws).socket().set_option(tcp::no_delay(true));
            conn->ws.set_option(
                websocket::stream_base::timeout::suggested(beast::role_type::client));
            conn->ws.read_message_max(std::size_t{64} << 20);
            conn->ws.text(true);
            conn->open = true;
            send(engine_.on_connected(test::now_ms()));
            read(conn);
          });
    });
  }

  // Periodic work (every few ms): resends, pacing, operator decisions.
  void on_tick(TimePoint now) {
    const Millis utc = test::now_ms();
    if (auto w = engine_.next_wakeup(); w && *w <= utc) engine_.tick(utc);
    if (!checker_ && engine_.phase() == sync::SyncPhase::live) {
      if (role_ == Role::buyer) {
        start_returns(now, utc);
      } else {
        decide(now, utc);
      }
    }
    flush();
  }

  void close() {
    auto conn = conn_;
    if (!conn || !conn->open) return;
    conn->closing = true;
    if (!conn->writing) do_close(conn);
  }

  void ping(std::string tag) {
    pong_wanted_ = tag;
    send(Json{{"type", "ping"}, {"t", std::move(tag)}}.dump());
  }
  bool pong_seen() const { return pong_wanted_.empty(); }

  bool synced() const { return synced_; }
  bool open() const { return conn_ && conn_->open; }
  bool quiet() const {
    return unanswered_ == 0 && decide_queue_.empty() && engine_.cursor() >= max_version_;
  }
  std::int64_t unanswered() const { return unanswered_; }
  Role role() const { return role_; }
  const std::string& buyer() const { return buyer_; }
  const std::string& client_id() const { return engine_.client_id(); }
  sync::Engine& engine() { return engine_; }
  const sync::MemoryReplica& replica() const { return replica_; }
  bool leads_exhausted() const { return leads_exhausted_; }
  void add_lead(std::string id) { leads_.push_back(std::move(id)); }

  // After the run: every op issued was answered exactly once.
  void check_answers() {
    for (const auto& [seq, s] : sent_) {
      if (s.results != 1) {
        run_.problem(client_id() + " seq " + std::to_string(seq) + " (" + s.op + ") answered " +
                     std::to_string(s.results) + " times");
      }
    }
  }
  std::size_t ops_sent() const { return sent_.size(); }

 private:
  struct Conn {
    explicit Conn(asio::io_context& ioc) : ws(ioc) {}
    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer buffer;
    std::deque<std::string> queue;
    bool writing = false;
    bool open = false;
    bool closing = false;
  };

  struct Sent {
    std::string op;
    std::string return_id;
    TimePoint at;
    bool measured = false;
    Money credit = 0;  // accept_return: the credit asked for (the price when full)
    int results = 0;
  };

  void read(const std::shared_ptr<Conn>& conn) {
    conn->ws.async_read(conn->buffer, [this, conn](beast::error_code ec, std::size_t) {
      if (ec) return on_lost(conn, "read: " + ec.message());
      std::string text = beast::buffers_to_string(conn->buffer.data());
      conn->buffer.consume(conn->buffer.size());
      on_text(text);
      read(conn);
    });
  }

  void on_text(const std::string& text) {
    const TimePoint now = SteadyClock::now();
    ++run_.frames_in;
    run_.bytes_in += static_cast<std::int64_t>(text.size());
    peek(text, now);
    if (Status s = engine_.on_frame(text, test::now_ms()); !s.ok()) {
      ++run_.engine_errors;
      run_.problem(client_id() +
                   ": engine refused a frame: " + std::string(to_string(s.error().code)) + " " +
                   s.error().message + " — " + text.substr(0, 200));
    }
    for (sync::Notice& n : engine_.take_notices()) on_notice(n, now);
    flush();
  }

  // What the engine does not surface: raw result frames (a second answer to one seq is
  // ignored by the engine), pongs, and for operators the pending returns in `changes`. The
  // server writes `type` first, so the prefix tells the frame type without parsing.
  void peek(const std::string& text, TimePoint now) {
    if (text.rfind(R"({"type":"result")", 0) == 0) {
      Result<Json> j = parse_json(text);
      if (!j.ok()) return;
      const std::int64_t seq = j->value("seq", std::int64_t{0});
      if (++raw_results_[seq] > 1) ++run_.duplicate_result_frames;
    } else if (text.rfind(R"({"type":"pong")", 0) == 0) {
      Result<Json> j = parse_json(text);
      if (j.ok() && j->value("t", Json()) == Json(pong_wanted_)) pong_wanted_.clear();
    } else if (role_ == Role::operator_ && !checker_ &&
               text.rfind(R"({"type":"changes")", 0) == 0 &&
               text.find(R"("entity":"return")") != std::string::npos) {
      Result<Json> j = parse_json(text);
      if (!j.ok()) return;
      for (const Json& item : j->at("items")) {
        if (item.value("entity", "") != "return") continue;
        const Json& data = item.at("data");
        if (data.value("state", "") != "pending") continue;
        auto it = run_.returns.find(item.value("id", ""));
        if (it == run_.returns.end()) continue;  // not ours (another run)
        ReturnModel& m = it->second;
        if (seen_.insert(it->first).second) m.seen_pending.push_back(now);
        const std::size_t owner =
            std::hash<std::string>{}(it->first) % static_cast<std::size_t>(run_.operators);
        if (owner == static_cast<std::size_t>(index_) && !m.decision_queued) {
          m.decision_queued = true;
          decide_queue_.push_back(it->first);
        }
      }
    }
  }

  void on_notice(const sync::Notice& n, TimePoint now) {
    switch (n.kind) {
      case sync::Notice::Kind::op_result: {
        auto it = sent_.find(n.seq);
        if (it == sent_.end()) {
          run_.problem(client_id() + ": a result for seq " + std::to_string(n.seq) +
                       " it never sent");
          return;
        }
        Sent& s = it->second;
        if (++s.results > 1) return;  // reported by check_answers
        --unanswered_;
        max_version_ = std::max(max_version_, n.version);
        if (s.measured) run_.result_ms.push_back(ms_between(s.at, now));
        if (run_.measuring) ++run_.results_in_window;
        if (!n.applied) {
          const std::string code = n.code ? std::string(to_string(*n.code)) : "?";
          ++run_.refusals[code];
          run_.problem(client_id() + ": " + s.op + " " + s.return_id + " refused " + code + " " +
                       n.message);
          if (s.op == "accept_return" || s.op == "reject_return") {
            run_.returns[s.return_id].decision = "refused";
          }
          return;
        }
        ReturnModel& m = run_.returns[s.return_id];
        if (s.op == "save_draft") m.saved = true;
        if (s.op == "discard_draft") m.discarded = true;
        if (s.op == "submit_return") {
          m.submitted = true;
          m.submit_result = now;
          on_decision(s.return_id, m, n.decision);
        }
        if (s.op == "accept_return") {
          m.decision = "accepted";
          m.credit = s.credit;
        }
        if (s.op == "reject_return") m.decision = "rejected";
        return;
      }
      case sync::Notice::Kind::error:
        ++run_.errors[n.code ? std::string(to_string(*n.code)) : "?"];
        if (n.fatal) run_.problem(client_id() + ": fatal error " + n.message);
        return;
      case sync::Notice::Kind::alert:
        ++run_.alerts;
        return;
      case sync::Notice::Kind::reset:
        ++run_.resets;
        return;
      case sync::Notice::Kind::synced:
        synced_ = true;
        backoff_ms_ = 100;
        return;
    }
  }

  // The server's decision of a submit against the preview made just before it: on the same facts
  // they must agree; when the facts changed in between, the core says what changed.
  void on_decision(const std::string& rid, ReturnModel& m, const Json& decision) {
    Result<SubmitDecision> d = decode_submit_decision(decision);
    if (!d.ok()) {
      run_.problem(client_id() + ": submit " + rid + " answered without a readable decision");
      return;
    }
    ++run_.decided[std::string(to_string(d->outcome))];
    if (d->outcome == Verdict::auto_accept) {
      m.decision = "accepted";  // nothing left for an operator
      m.credit = d->credit_cents;
    }
    if (!m.preview_facts || !m.preview_outcome) return;
    const bool agree = *m.preview_outcome == d->outcome && m.preview_rule == d->rule;
    if (*m.preview_facts == d->facts) {
      ++run_.same_facts;
      if (agree) {
        ++run_.same_facts_agree;
      } else {
        run_.problem(client_id() + ": submit " + rid + " previewed " +
                     std::string(to_string(*m.preview_outcome)) + " but decided " +
                     std::string(to_string(d->outcome)) + " on the same facts " +
                     facts_digest(d->facts));
      }
      return;
    }
    ++run_.changed_facts;
    if (agree) ++run_.changed_facts_agree;
    const std::vector<std::string> why = explain_facts_change(*m.preview_facts, d->facts);
    if (why.empty()) run_.problem(client_id() + ": facts changed but nothing explains it");
    if (!agree && run_.explanations.size() < 3 && !why.empty()) {
      run_.explanations.push_back(std::string(to_string(*m.preview_outcome)) + " → " +
                                  std::string(to_string(d->outcome)) + ": " + why.front());
    }
  }

  // Buyers: a new return every 2/rate seconds (save_draft, then submit_return — one in ten is
  // discarded instead), at most `inflight` ops unanswered.
  void start_returns(TimePoint now, Millis utc) {
    if (!run_.measuring || run_.stop_new) return;
    static constexpr Reason kReasons[] = {Reason::bad_contact,         Reason::wrong_vertical,
                                          Reason::duplicate,           Reason::tcpa_risk,
                                          Reason::out_of_service_area, Reason::other};
    const auto interval = std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(2.0 / run_.opt.rate));
    if (!next_start_) {
      // Spread the clients' first returns over one interval.
      std::mt19937_64 rng(std::hash<std::string>{}(client_id()));
      next_start_ = now + std::chrono::duration_cast<SteadyClock::duration>(
                              interval * std::uniform_real_distribution<double>(0, 1)(rng));
    }
    while (!run_.stop_new && now >= *next_start_ && unanswered_ + 2 <= run_.opt.inflight) {
      if (next_lead_ >= leads_.size()) {
        leads_exhausted_ = true;
        return;
      }
      const std::string lead = leads_[next_lead_++];
      const std::string rid = "R-" + client_id() + "-" + std::to_string(next_lead_);
      ReturnModel& m = run_.returns[rid];
      m.lead_id = lead;
      m.price = run_.lead_price[lead];
      DraftInput d;
      d.return_id = rid;
      d.lead_id = lead;
      d.reason = kReasons[next_lead_ % 6];
      d.note = "Called twice; the number is not in service.";
      Result<std::int64_t> a = engine_.save_draft(d, utc);
      record(a, "save_draft", rid, now);
      const bool discard = next_lead_ % 10 == 0;
      if (!discard) {
        const Preview pv = engine_.preview(d, utc);
        if (pv.evaluation && pv.facts && pv.validation.ok) {
          m.preview_outcome = pv.evaluation->decision;
          m.preview_rule = pv.evaluation->rule;
          m.preview_facts = pv.facts;
        }
      }
      Result<std::int64_t> b = discard ? engine_.discard_draft(rid, utc) : engine_.submit(rid, utc);
      record(b, discard ? "discard_draft" : "submit_return", rid, now);
      if (!discard) m.submit_sent = now;
      m.measured = true;
      *next_start_ += interval;
      if (*next_start_ + interval < now) *next_start_ = now;  // no burst after a stall
      if (run_.opt.ops > 0 && run_.ops_issued >= run_.opt.ops) run_.stop_new = true;
    }
  }

  // Operators: decide the pending returns they own, at most 40 ops/s (the server allows 50 per
  // connection): 70 % accepted in full, 15 % with half credit, 15 % rejected.
  void decide(TimePoint now, Millis utc) {
    tokens_ = std::min(40.0, tokens_ + 40.0 * ms_between(last_tick_, now) / 1000.0);
    last_tick_ = now;
    while (!decide_queue_.empty() && tokens_ >= 1) {
      tokens_ -= 1;
      const std::string rid = std::move(decide_queue_.front());
      decide_queue_.pop_front();
      const ReturnModel& m = run_.returns[rid];
      const std::size_t k = std::hash<std::string>{}(rid + "/decision") % 20;
      if (k < 17) {
        const Money credit = k < 14 ? m.price : m.price / 2;
        Json args = {{"return_id", rid}};
        if (k >= 14) args["credit_cents"] = credit;
        record(engine_.enqueue("accept_return", args, utc), "accept_return", rid, now, credit);
      } else {
        record(
            engine_.enqueue("reject_return",
                            {{"return_id", rid}, {"note", "The contact answered our call."}}, utc),
            "reject_return", rid, now);
      }
    }
  }

  void record(const Result<std::int64_t>& seq, const std::string& op, const std::string& rid,
              TimePoint now, Money credit = 0) {
    if (!seq.ok()) {
      run_.problem(client_id() + ": " + op + " not enqueued: " + seq.error().message);
      return;
    }
    sent_[*seq] = Sent{op, rid, now, run_.measuring, credit, 0};
    ++unanswered_;
    ++run_.ops_issued;
  }

  void send(std::string frame) {
    auto conn = conn_;
    if (!conn || !conn->open || conn->closing) return;  // the engine resends after reconnecting
    conn->queue.push_back(std::move(frame));
    write(conn);
  }

  void flush() {
    for (std::string& f : engine_.take_outgoing()) send(std::move(f));
  }

  void write(const std::shared_ptr<Conn>& conn) {
    if (conn->writing || conn->queue.empty()) return;
    conn->writing = true;
    conn->ws.async_write(asio::buffer(conn->queue.front()),
                         [this, conn](beast::error_code ec, std::size_t) {
                           conn->writing = false;
                           if (ec) return on_lost(conn, "write: " + ec.message());
                           conn->queue.pop_front();
                           if (conn->closing && conn->queue.empty()) return do_close(conn);
                           write(conn);
                         });
  }

  void do_close(const std::shared_ptr<Conn>& conn) {
    conn->ws.async_close(websocket::close_code::normal, [conn](beast::error_code) {});
  }

  // The connection ended (or never opened): unless we are shutting down, reconnect with
  // jittered backoff (protocol §2) and let the engine resend its outbox.
  void on_lost(const std::shared_ptr<Conn>& conn, const std::string& why) {
    if (conn != conn_ || !conn_) return;  // an older connection's late handler
    const bool was_open = conn->open;
    conn->open = false;
    conn_.reset();
    beast::error_code ignored;
    beast::get_lowest_layer(conn->ws).socket().close(ignored);
    if (was_open) engine_.on_disconnected();
    if (run_.shutting_down || conn->closing) return;
    ++run_.reconnects;
    synced_ = false;
    std::fprintf(stderr, "%s: connection lost (%s); reconnecting\n", client_id().c_str(),
                 why.c_str());
    std::mt19937_64 rng(static_cast<std::uint64_t>(run_.reconnects));
    const double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng);
    reconnect_timer_.expires_after(
        std::chrono::milliseconds(static_cast<std::int64_t>(backoff_ms_ * jitter)));
    backoff_ms_ = std::min(30'000.0, backoff_ms_ * 2);
    reconnect_timer_.async_wait([this](beast::error_code ec) {
      if (!ec && !run_.shutting_down) connect();
    });
  }

  asio::io_context& ioc_;
  Run& run_;
  unsigned short port_;
  Role role_;
  int index_;  // operators: which share of the returns it decides
  std::string buyer_;
  bool checker_;  // a fresh catch-up for the final checks: no ops
  sync::MemoryReplica replica_;
  sync::Engine engine_;
  asio::steady_timer reconnect_timer_;
  std::shared_ptr<Conn> conn_;
  double backoff_ms_ = 100;
  bool synced_ = false;
  std::string pong_wanted_;

  std::map<std::int64_t, Sent> sent_;
  std::map<std::int64_t, int> raw_results_;
  std::int64_t unanswered_ = 0;
  std::int64_t max_version_ = 0;
  // Buyers.
  std::vector<std::string> leads_;
  std::size_t next_lead_ = 0;
  std::optional<TimePoint> next_start_;
  bool leads_exhausted_ = false;
  // Operators.
  std::deque<std::string> decide_queue_;
  std::set<std::string> seen_;
  double tokens_ = 0;
  TimePoint last_tick_ = SteadyClock::now();
};

// --- Driving the I/O loop
// --------------------------------------------------------------------------

class Loop {
 public:
  explicit Loop(std::vector<std::unique_ptr<LoadClient>>& clients)
      : clients_(clients), timer_(ioc) {}

  asio::io_context ioc{1};

  void start_ticking() {
    timer_.expires_after(5ms);
    timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      const TimePoint now = SteadyClock::now();
      for (auto& c : clients_) c->on_tick(now);
      start_ticking();
    });
  }
  void stop_ticking() { timer_.cancel(); }

  // Runs the loop until `done` holds; false when `timeout` passed first.
  bool run_until(const std::function<bool()>& done, std::chrono::duration<double> timeout) {
    const TimePoint deadline =
        SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(timeout);
    while (!done()) {
      if (SteadyClock::now() >= deadline) return false;
      if (ioc.stopped()) ioc.restart();
      ioc.run_for(2ms);
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<LoadClient>>& clients_;
  asio::steady_timer timer_;
};

// --- Metrics -------------------------------------------------------------------------------------

void print_histogram(const char* title, const std::string& name, const Metrics& a,
                     const Metrics& b) {
  const double count = metric_delta(a, b, name + "_count");
  const double sum = metric_delta(a, b, name + "_sum");
  std::printf("  %s: %.0f, mean %.2f\n   ", title, count, count > 0 ? sum / count : 0.0);
  double prev = 0;
  const std::string prefix = name + "_bucket{le=\"";
  std::vector<std::pair<double, std::string>> buckets;
  for (const auto& [k, v] : b) {
    if (k.rfind(prefix, 0) != 0) continue;
    const std::string le = k.substr(prefix.size(), k.size() - prefix.size() - 2);
    buckets.emplace_back(le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr), le);
  }
  std::sort(buckets.begin(), buckets.end());
  for (const auto& [bound, le] : buckets) {
    const double cum = metric_delta(a, b, prefix + le + "\"}");
    std::printf(" ≤%s: %.0f", le.c_str(), cum - prev);
    prev = cum;
  }
  std::printf("\n");
}

// --- Final checks --------------------------------------------------------------------------------

// Every row of `have` equals the fresh catch-up `want`, entity by entity.
void compare_replicas(Run& run, const std::string& who, const sync::MemoryReplica& have,
                      const sync::MemoryReplica& want) {
  static const char* kEntities[] = {"buyer",  "supplier", "campaign", "lead",
                                    "return", "message",  "ledger",   "alert"};
  std::vector<std::string> diffs;
  for (const char* e : kEntities) {
    std::map<std::string, std::string> h, w;
    for (const sync::ReplicaRow& r : have.rows(e)) h[r.id] = r.data;
    for (const sync::ReplicaRow& r : want.rows(e)) w[r.id] = r.data;
    for (const auto& [id, data] : w) {
      auto it = h.find(id);
      if (it == h.end()) {
        diffs.push_back("misses " + std::string(e) + " " + id);
      } else if (it->second != data) {
        diffs.push_back(std::string(e) + " " + id + " differs:\n    fresh   " + data +
                        "\n    replica " + it->second);
      }
    }
    for (const auto& [id, data] : h) {
      if (w.count(id) == 0) diffs.push_back("holds extra " + std::string(e) + " " + id);
    }
  }
  for (std::size_t i = 0; i < diffs.size() && i < 3; ++i) run.problem(who + ": " + diffs[i]);
  if (diffs.size() > 3) {
    run.problem(who + ": " + std::to_string(diffs.size()) + " rows differ from a fresh catch-up");
  }
}

// The server's state, read by a fresh operator catch-up, against what the answers said.
void check_server_state(Run& run, const sync::MemoryReplica& fresh) {
  std::map<std::string, int> reversals;
  std::map<std::string, Money> reversed;
  for (const sync::ReplicaRow& r : fresh.rows("ledger")) {
    Result<Json> j = parse_json(r.data);
    if (!j.ok() || j->value("kind", "") != "revenue_reversal") continue;
    const std::string rid = j->value("return_id", "");
    ++reversals[rid];
    reversed[rid] += j->value("amount_cents", Money{0});
  }
  std::int64_t checked = 0;
  for (const auto& [rid, m] : run.returns) {
    std::optional<std::string> row = fresh.row("return", rid);
    std::optional<std::string> lead = fresh.row("lead", m.lead_id);
    std::string want_state;
    if (m.discarded) {
      want_state = "";
    } else if (m.decision == "accepted" || m.decision == "rejected") {
      want_state = m.decision;
    } else if (m.submitted) {
      want_state = "pending";
    } else if (m.saved) {
      want_state = "draft";
    }
    std::string got_state;
    Json rj;
    if (row) {
      if (Result<Json> pj = parse_json(*row); pj.ok()) rj = *pj;
      got_state = rj.value("state", "");
    }
    if (got_state != want_state) {
      run.problem("server: return " + rid + " is '" + got_state + "', the answers said '" +
                  want_state + "'");
      continue;
    }
    const bool accepted = want_state == "accepted";
    if (accepted) {
      const Money credit = rj.value("decision", Json::object()).value("credit_cents", Money{-1});
      if (credit != m.credit) {
        run.problem("server: return " + rid + " credit " + std::to_string(credit) + ", asked " +
                    std::to_string(m.credit));
      }
    }
    const int n = reversals.count(rid) ? reversals[rid] : 0;
    if (n != (accepted ? 1 : 0) || (accepted && reversed[rid] != -m.credit)) {
      run.problem("server: return " + rid + " has " + std::to_string(n) +
                  " revenue reversals totalling " + std::to_string(reversed[rid]));
    }
    std::string status;
    if (lead) {
      if (Result<Json> lj = parse_json(*lead); lj.ok()) status = lj->value("status", "");
    }
    if ((status == "RETURNED") != accepted) {
      run.problem("server: lead " + m.lead_id + " is " + status + " (return " + rid + " " +
                  want_state + ")");
    }
    ++checked;
  }
  std::printf("  server state: %lld returns checked against the answers\n",
              static_cast<long long>(checked));
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  const Json world = world_json(opt.buyers);
  if (!opt.world_out.empty()) {
    std::ofstream(opt.world_out) << world.dump(2) << "\n";
    std::printf("world written to %s\n", opt.world_out.c_str());
    return 0;
  }
  try {
    // Operators enough to decide what the buyers submit (0.45 decisions per buyer op) at 40
    // ops/s each, with a quarter spare; the rest are buyers.
    int operators = opt.operators;
    if (operators == 0) {
      const double need = 0.45 * opt.rate * opt.clients / (40.0 + 0.45 * opt.rate) * 1.25;
      operators = std::max(1, static_cast<int>(std::ceil(need)));
    }
    operators = std::min(operators, opt.clients - 1);
    const int buyer_clients = opt.clients - operators;
    const int buyers = std::min(opt.buyers, buyer_clients);

    // The server.
    std::unique_ptr<test::Server> server;
    std::string secret;
    unsigned short port = opt.port;
    const std::string tag = [] {
      std::ostringstream s;
      s << std::hex << (test::now_ms() % 0xFFFFFFF);
      return s.str();
    }();
    if (port == 0) {
      server = std::make_unique<test::Server>(test::Server::Options{
          .world = world, .args = {"--sync", opt.sync}, .start = true, .tls = false});
      port = server->port();
      Result<std::string> s = server::load_or_create_secret(server->secret_path());
      if (!s.ok()) throw std::runtime_error("secret: " + s.error().message);
      secret = *s;
    } else {
      Result<std::string> s = server::load_or_create_secret(opt.secret_file);
      if (!s.ok()) usage("--secret-file: " + s.error().message);
      secret = *s;
    }
    auto mint = [&](Role role, const std::string& buyer, const std::string& subject) {
      server::TokenClaims c;
      c.role = role;
      c.buyer_id = buyer;
      c.subject = subject;
      c.expires_at = test::now_ms() + 24 * kMillisPerHour;
      return server::sign_token(c, secret);
    };
    const std::string op_token = mint(Role::operator_, "", "lg-ingest");

    std::printf(
        "load_gen: %d clients (%d buyers' devices over %d buyers, %d operators), "
        "%lld leads, rate %.1f ops/s per buyer client, inflight %d, --sync %s%s\n",
        opt.clients, buyer_clients, buyers, operators, static_cast<long long>(opt.leads), opt.rate,
        opt.inflight, opt.sync.c_str(), opt.port != 0 ? " (external server)" : "");
    std::fflush(stdout);

    Run run;
    run.opt = opt;
    run.operators = operators;
    std::vector<std::unique_ptr<LoadClient>> clients;
    Loop loop(clients);
    std::map<std::string, std::vector<LoadClient*>> by_buyer;
    for (int i = 0; i < opt.clients; ++i) {
      if (i < operators) {
        const std::string sub = "lg-op-" + std::to_string(i);
        clients.push_back(std::make_unique<LoadClient>(loop.ioc, run, port, Role::operator_, i, "",
                                                       "lg-" + tag + "-o" + std::to_string(i),
                                                       mint(Role::operator_, "", sub), false));
      } else {
        const int j = i - operators;
        const std::string b = buyer_id(j % buyers);
        clients.push_back(std::make_unique<LoadClient>(loop.ioc, run, port, Role::buyer, j, b,
                                                       "lg-" + tag + "-b" + std::to_string(j),
                                                       mint(Role::buyer, b, b), false));
        by_buyer[b].push_back(clients.back().get());
      }
    }

    // Connect everyone first: the catch-up of the small world is cheap, and the leads then
    // arrive live, one broadcast per commit for all sessions.
    const TimePoint t_connect = SteadyClock::now();
    for (auto& c : clients) c->connect();
    loop.start_ticking();
    if (!loop.run_until(
            [&] {
              return std::all_of(clients.begin(), clients.end(),
                                 [](auto& c) { return c->synced(); });
            },
            60s)) {
      throw std::runtime_error("not every client reached synced within 60 s");
    }
    std::printf("connected: %d sessions synced in %.0f ms\n", opt.clients,
                ms_between(t_connect, SteadyClock::now()));

    // Leads, over HTTP in batches, spread over the buyers and over each buyer's devices.
    const TimePoint t_ingest = SteadyClock::now();
    const Millis now = test::now_ms();
    std::int64_t version = 0;
    std::map<std::string, std::int64_t> per_buyer;
    constexpr std::int64_t kBatch = 2000;
    for (std::int64_t first = 0; first < opt.leads; first += kBatch) {
      Json batch = Json::array();
      for (std::int64_t k = first; k < std::min(opt.leads, first + kBatch); ++k) {
        const int b = static_cast<int>(k % buyers);
        const std::string id = "L-" + tag + "-" + std::to_string(k);
        const Money price = 1000 + 500 * (k % 5);
        batch.push_back({{"id", id},
                         {"buyer_id", buyer_id(b)},
                         {"campaign_id", "C-lg-" + std::to_string(b)},
                         {"vertical", b % 2 == 0 ? "solar" : "roofing"},
                         {"state", "TX"},
                         {"zip", "73301"},
                         {"contact_hash", "h-" + id},
                         {"price_cents", price},
                         {"cost_cents", price / 2},
                         {"supplier_id", k % 3 == 0 ? "S-lg-pass" : "S-lg-keep"},
                         {"delivered_at", now - kMillisPerHour - (k % 600) * 1000}});
        run.lead_price[id] = price;
        std::vector<LoadClient*>& devices = by_buyer[buyer_id(b)];
        devices[static_cast<std::size_t>(per_buyer[buyer_id(b)]++) % devices.size()]->add_lead(id);
      }
      const std::size_t n = batch.size();
      test::HttpReply r = test::http_request(port, "POST", "/v1/leads", batch.dump(), op_token,
                                             std::chrono::milliseconds(120'000));
      if (r.status != 200 || r.json.value("inserted", 0) != static_cast<int>(n)) {
        throw std::runtime_error("POST /v1/leads: " + std::to_string(r.status) + " " +
                                 r.body.substr(0, 300));
      }
      version = r.json.value("version", std::int64_t{0});
      loop.run_until([] { return false; }, 5ms);  // keep the sessions reading
    }
    if (!loop.run_until(
            [&] {
              return std::all_of(clients.begin(), clients.end(),
                                 [&](auto& c) { return c->engine().cursor() >= version; });
            },
            120s)) {
      throw std::runtime_error("the leads did not reach every client within 120 s");
    }
    std::printf("ingested: %lld leads in %.0f ms (every session holds them)\n",
                static_cast<long long>(opt.leads), ms_between(t_ingest, SteadyClock::now()));
    std::fflush(stdout);

    // The measured phase.
    const auto before = scrape_metrics(port);
    const double cpu0 = self_cpu_seconds();
    run.measuring = true;
    run.measure_start = SteadyClock::now();
    const auto limit = opt.seconds > 0 ? std::chrono::duration<double>(opt.seconds)
                                       : std::chrono::duration<double>(3600);
    loop.run_until([&] { return run.stop_new; }, limit);
    run.stop_new = true;
    run.measuring = false;
    run.measure_end = SteadyClock::now();
    const double cpu1 = self_cpu_seconds();
    const auto at_end = scrape_metrics(port);
    const std::int64_t issued_in_window = run.ops_issued;

    // Drain: every op answered, every submitted return decided and visible.
    const TimePoint t_drain = SteadyClock::now();
    auto all_decided = [&] {
      for (const auto& [rid, m] : run.returns) {
        if (m.submitted && m.decision.empty()) return false;
      }
      return true;
    };
    const bool drained = loop.run_until(
        [&] {
          return all_decided() &&
                 std::all_of(clients.begin(), clients.end(), [](auto& c) { return c->quiet(); });
        },
        std::chrono::duration<double>(opt.drain_seconds));
    const double drain_ms = ms_between(t_drain, SteadyClock::now());
    if (!drained) {
      std::int64_t unanswered = 0;
      for (auto& c : clients) unanswered += c->unanswered();
      run.problem("drain: not quiet after " + std::to_string(opt.drain_seconds) + " s (" +
                  std::to_string(unanswered) +
                  " ops unanswered, all decided: " + (all_decided() ? "yes" : "no") + ")");
    }
    // Quiesce: the hub has broadcast the last commit, and every session has read past it (a
    // pong comes after every frame queued before the ping).
    std::int64_t head = -1;
    for (int i = 0; i < 100; ++i) {
      loop.run_until([] { return false; }, 50ms);
      const std::int64_t h = test::http_get(port, "/healthz").json.value("head", std::int64_t{-2});
      if (h == head) break;
      head = h;
    }
    for (auto& c : clients) c->ping("quiesce");
    if (!loop.run_until(
            [&] {
              return std::all_of(clients.begin(), clients.end(),
                                 [](auto& c) { return c->pong_seen(); });
            },
            30s)) {
      run.problem("quiesce: not every session answered a ping within 30 s");
    }
    const auto after = scrape_metrics(port);

    // --- Report ----------------------------------------------------------------------------------
    const double window_s = ms_between(run.measure_start, run.measure_end) / 1000.0;
    std::printf(
        "\nmeasured phase: %.1f s, %lld ops issued, %lld answered in the window → "
        "%.0f ops/s sustained (%.0f ops/s issued)\n",
        window_s, static_cast<long long>(issued_in_window),
        static_cast<long long>(run.results_in_window),
        static_cast<double>(run.results_in_window) / window_s,
        static_cast<double>(issued_in_window) / window_s);
    std::printf(
        "drain: %.0f ms; total ops %lld; load_gen CPU in the window %.1f s (%.0f %% of "
        "one core); load average %s\n",
        drain_ms, static_cast<long long>(run.ops_issued), cpu1 - cpu0,
        100.0 * (cpu1 - cpu0) / window_s, [] {
          double l[3] = {0, 0, 0};
          getloadavg(l, 3);
          static char buf[64];
          std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
          return buf;
        }());
    std::printf("latency (ms):\n");
    print_latency("result (op pushed → result received)", percentiles(run.result_ms));
    std::vector<double> fan_result, fan_sent;
    for (const auto& [rid, m] : run.returns) {
      if (!m.measured) continue;
      for (const TimePoint& seen : m.seen_pending) {
        if (m.submit_result) fan_result.push_back(ms_between(*m.submit_result, seen));
        if (m.submit_sent) fan_sent.push_back(ms_between(*m.submit_sent, seen));
      }
    }
    const Percentiles fr = percentiles(fan_result);
    print_latency("fan-out (buyer's result → operator sees)", fr);
    std::printf("  %-40s min %.1f ms (negative: the operator's frame came first)\n", "", fr.min);
    print_latency("submit pushed → operator sees", percentiles(fan_sent));
    std::printf("server (GET /metrics, measured phase):\n");
    print_histogram("commits", "returns_commit_batch_size", before, at_end);
    print_histogram("commit latency ms", "returns_commit_latency_ms", before, at_end);
    std::printf("  frames sent %.0f, slow consumers cut %.0f, rate-limited ops %.0f\n",
                metric_delta(before, at_end, "returns_frames_sent_total"),
                metric_delta(before, at_end, "returns_slow_consumers_total"),
                metric_delta(before, at_end, "returns_ops_rate_limited_total"));
    std::printf(
        "client: %lld frames (%.1f MiB) received, %lld reconnects, %lld resets, "
        "%lld alerts\n",
        static_cast<long long>(run.frames_in), static_cast<double>(run.bytes_in) / (1 << 20),
        static_cast<long long>(run.reconnects), static_cast<long long>(run.resets),
        static_cast<long long>(run.alerts));
    for (const auto& [code, n] : run.errors)
      std::printf("  error frames %s: %d\n", code.c_str(), n);
    int exhausted = 0;
    for (auto& c : clients) exhausted += c->leads_exhausted() ? 1 : 0;
    if (exhausted > 0) {
      std::printf("  note: %d buyer clients ran out of leads (raise --leads)\n", exhausted);
    }

    // --- Checks ----------------------------------------------------------------------------------
    std::printf("\nchecks:\n");
    std::int64_t sent = 0;
    for (auto& c : clients) {
      c->check_answers();
      sent += static_cast<std::int64_t>(c->ops_sent());
      if (!c->engine().outbox().empty()) {
        run.problem(c->client_id() + ": " + std::to_string(c->engine().outbox().size()) +
                    " ops left in the outbox");
      }
      if (!c->engine().drafts().empty()) {
        run.problem(c->client_id() + ": " + std::to_string(c->engine().drafts().size()) +
                    " local drafts left");
      }
    }
    {
      const auto pct = [](std::int64_t a, std::int64_t b) {
        return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 100.0;
      };
      std::string decided;
      for (const auto& [k, n] : run.decided) decided += " " + k + " " + std::to_string(n);
      std::printf(
          "  preview = decision: same facts %lld/%lld agree (%.1f %%); facts changed in between "
          "%lld (%lld agree, %.1f %%); decided:%s\n",
          static_cast<long long>(run.same_facts_agree), static_cast<long long>(run.same_facts),
          pct(run.same_facts_agree, run.same_facts), static_cast<long long>(run.changed_facts),
          static_cast<long long>(run.changed_facts_agree),
          pct(run.changed_facts_agree, run.changed_facts), decided.c_str());
      for (const std::string& e : run.explanations) std::printf("    explained: %s\n", e.c_str());
      if (run.same_facts + run.changed_facts == 0) {
        run.problem("no submit was compared with its preview");
      }
    }
    std::printf("  answers: %lld ops, each answered once: %s; duplicate result frames %lld\n",
                static_cast<long long>(sent), run.problems.empty() ? "yes" : "see problems",
                static_cast<long long>(run.duplicate_result_frames));
    const double applied = metric_delta(before, after, "returns_ops_applied_total") +
                           (opt.port == 0 ? before.at("returns_ops_applied_total") : 0.0);
    const double refused = metric_delta(before, after, "returns_ops_refused_total") +
                           (opt.port == 0 ? before.at("returns_ops_refused_total") : 0.0);
    const double dups =
        after.count("returns_ops_duplicate_total") ? after.at("returns_ops_duplicate_total") : 0.0;
    std::printf(
        "  server: %.0f ops applied + %.0f refused (issued %lld), %.0f answered from "
        "stored results\n",
        applied, refused, static_cast<long long>(sent), dups);
    if (opt.port == 0 && static_cast<std::int64_t>(applied + refused) != sent) {
      run.problem("server applied/refused " + std::to_string(applied + refused) + " ops, " +
                  std::to_string(sent) + " were issued");
    }
    if (run.engine_errors > 0) run.problem("engine refused server frames");

    // Fresh catch-ups: one operator (the server's whole state) and one per buyer.
    std::vector<std::unique_ptr<LoadClient>> fresh;
    fresh.push_back(std::make_unique<LoadClient>(loop.ioc, run, port, Role::operator_, 0, "",
                                                 "lg-" + tag + "-check-op",
                                                 mint(Role::operator_, "", "lg-check"), true));
    for (int b = 0; b < buyers; ++b) {
      fresh.push_back(std::make_unique<LoadClient>(loop.ioc, run, port, Role::buyer, b, buyer_id(b),
                                                   "lg-" + tag + "-check-b" + std::to_string(b),
                                                   mint(Role::buyer, buyer_id(b), buyer_id(b)),
                                                   true));
    }
    const TimePoint t_fresh = SteadyClock::now();
    for (auto& f : fresh) f->connect();
    if (!loop.run_until(
            [&] {
              return std::all_of(fresh.begin(), fresh.end(), [](auto& f) { return f->synced(); });
            },
            300s)) {
      run.problem("fresh catch-ups did not finish within 300 s");
    } else {
      std::printf(
          "  fresh catch-ups (1 operator, %d buyers) in %.0f ms, %zu rows for the "
          "operator\n",
          buyers, ms_between(t_fresh, SteadyClock::now()), fresh[0]->replica().row_count());
      check_server_state(run, fresh[0]->replica());
      std::map<std::string, const sync::MemoryReplica*> want;
      for (std::size_t i = 1; i < fresh.size(); ++i) {
        want[fresh[i]->buyer()] = &fresh[i]->replica();
      }
      int compared = 0;
      for (auto& c : clients) {
        const sync::MemoryReplica* w =
            c->role() == Role::buyer ? want.at(c->buyer()) : &fresh[0]->replica();
        compare_replicas(run, c->client_id(), c->replica(), *w);
        ++compared;
      }
      std::printf("  replicas: %d compared with a fresh catch-up of their principal\n", compared);
    }

    // Shut down: close every session, then SIGTERM the server (graceful drain, exit 0).
    run.shutting_down = true;
    loop.stop_ticking();
    for (auto& c : clients) c->close();
    for (auto& f : fresh) f->close();
    loop.run_until(
        [&] {
          return std::none_of(clients.begin(), clients.end(), [](auto& c) { return c->open(); });
        },
        3s);
    if (server) {
      const int rc = server->stop();
      if (rc != 0) run.problem("returnsd exited with " + std::to_string(rc));
    }

    if (!run.problems.empty()) {
      std::printf("\nFAILED: %zu problems (first ones above on stderr)\n", run.problems.size());
      return 1;
    }
    std::printf(
        "\nOK: every op answered once, outboxes empty, server state and every replica "
        "agree\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_gen: %s\n", e.what());
    return 1;
  }
}
