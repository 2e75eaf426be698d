// sim.cc — deterministic simulation of the sync protocol (docs/sync-engine.md "Simulation").
//
// Several engine clients (buyers on two devices, another buyer, an operator) talk to a server
// built from the real pieces — store::Store on a file, sync::parse_client_message, the scoping
// rule and sync/server_rules.h — through a simulated network driven by a fake clock and one
// seeded PRNG. The network delays, drops (a drop kills the connection, as on TCP), duplicates and
// reorders frames and cuts connections; the server crashes between commit and reply (the Store is
// destroyed without replying and reopened); at random steps it compacts its log (superseded events
// dropped, store/compaction.h). After the chaos the network heals and every run is
// checked: every op applied at most once (and, once healed, exactly once), every op answered to
// its client, each replica equal to the server's state within its scope, and money balanced.
// Preview = decision (differential.h): every submit the server decides is previewed by a shadow of
// the buyer's portal held at the version the server decided on, and after healing every client's
// preview of every lead and reason equals the core's answer on the server's state; any difference
// in outcome, rule, credit, evidence or decision facts fails the seed.
//
//   sim                       200 seeds from 1
//   sim --seeds N --first S   N seeds from S
//   sim --seed S              one seed, with a trace of what went wrong
//   sim --inject-bug          the server keys op logs by connection (breaks exactly-once)
//   sim --inject-facts-bug    the server ships no decision-facts rows (breaks preview = decision)
//   sim --no-compact          never compact the log (the runs recorded before compaction existed)
//   sim --expect-failure      exit 0 only if some seed failed (proves the checks can fail)
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/codec.h"
#include "differential.h"
#include "store/compaction.h"
#include "store/store.h"
#include "sync/engine.h"
#include "sync/memory_replica.h"
#include "sync/protocol.h"
#include "sync/server_rules.h"

namespace returns::sim {
namespace {

using sync::Engine;
using sync::Principal;

// splitmix64: the same numbers with every compiler and library (no <random> distributions).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed * 0x2545f4914f6cdd1dULL + 1) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool per_mille(int p) { return static_cast<int>(next() % 1000) < p; }
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

constexpr Millis kT0 = 1'700'000'000'000;
constexpr Millis kStep = 10;  // ms of fake time per step

struct Options {
  std::uint64_t first = 1;
  std::uint64_t seeds = 200;
  bool single = false;
  bool inject_bug = false;
  bool inject_facts_bug = false;
  bool expect_failure = false;
  int chaos_steps = 2000;
  int heal_steps = 6000;
  bool compact = true;  // compact the log at random steps (off: --no-compact)
};

// Fault rates for one run, drawn from its seed so seeds explore different regimes.
struct Faults {
  int drop = 0;        // per mille per frame: the frame is lost and the connection dies
  int duplicate = 0;   // per mille per frame: delivered twice
  int reorder = 0;     // per mille per push/result frame: may overtake earlier frames
  int disconnect = 0;  // per mille per connection per step
  int crash = 0;       // per mille per committed push: the server crashes before replying
  int compact = 0;     // per mille per step: the server drops superseded events from its log
  Millis max_delay = 1;
};

struct Stats {
  std::int64_t ops = 0, applied = 0, refused = 0, crashes = 0, drops = 0, disconnects = 0,
               duplicates = 0, reorders = 0, frames = 0, connections = 0;
  // Preview = decision: submits compared at the decision's version, and final previews compared.
  std::int64_t decisions_compared = 0, decisions_unheld = 0, previews_compared = 0;
  std::int64_t compactions = 0, events_compacted = 0;
  std::map<std::string, std::int64_t> outcomes;  // decided submits by outcome
  void add(const Stats& o) {
    decisions_compared += o.decisions_compared, decisions_unheld += o.decisions_unheld;
    previews_compared += o.previews_compared;
    compactions += o.compactions, events_compacted += o.events_compacted;
    for (const auto& [k, n] : o.outcomes) outcomes[k] += n;
    ops += o.ops, applied += o.applied, refused += o.refused, crashes += o.crashes;
    drops += o.drops, disconnects += o.disconnects, duplicates += o.duplicates;
    reorders += o.reorders, frames += o.frames, connections += o.connections;
  }
};

struct Flight {
  Millis at = 0;
  std::uint64_t order = 0;
  int conn = 0;
  bool to_server = false;
  std::string frame;
};

struct Conn {
  int client = 0;
  bool open = true;
  Millis fifo_server = 0;  // last delivery time per direction (FIFO unless reordered)
  Millis fifo_client = 0;
};

struct Session {
  int client = 0;
  bool dead = false;
  bool hello = false;
  bool catching_up = false;
  bool live = false;
  std::string client_id;  // as the store knows it
  Principal principal;
  std::int64_t cursor = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> pending;  // buffered live pages (from, to)
};

struct Client {
  std::string client_id;
  std::string token;  // "buyer:B-1" / "operator:alice" (the sim server's token scheme)
  bool is_operator = false;
  std::string buyer_id;
  std::unique_ptr<sync::MemoryReplica> replica;
  std::unique_ptr<Engine> engine;
  int conn = -1;
  std::optional<Millis> notice_disconnect_at;
  Millis reconnect_at = 0;
  Millis backoff = 100;
  int counter = 0;
  std::set<std::string> issued;  // op keys
  std::set<std::string> submitted, withdrawn, discarded;
  int answered = 0;
};

// A string field of a row, empty when absent or not a string.
std::string str_of(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string op_key(const std::string& op, const std::string& args_text) {
  Result<Json> j = parse_json(args_text);
  return op + "|" + (j.ok() ? j->dump() : args_text);
}

class Simulation {
 public:
  Simulation(std::uint64_t seed, const Options& options, std::string path)
      : seed_(seed),
        rng_(seed),
        compact_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
        options_(options),
        path_(std::move(path)) {}

  std::vector<std::string> run();
  const Stats& stats() const { return stats_; }
  std::vector<std::string> trace;

 private:
  // World and server.
  void open_store();
  void build_world();
  void crash_server();
  void maybe_compact();
  void server_receive(int conn, const std::string& frame);
  void handle_hello(int conn, Session& s, const sync::Hello& h);
  void handle_push(int conn, Session& s, const sync::Push& p);
  void catch_up_step(int conn, Session& s);
  void catch_up_all();
  void broadcast();
  void send_page(int conn, Session& s, std::int64_t from, std::int64_t to);
  // The log after `after` (only `buyer_id`'s events when given).
  std::vector<sync::StoredEvent> read_events(std::int64_t after, std::size_t limit,
                                             const std::string& buyer_id = "");
  Principal scoped(const Principal& p);
  // Network.
  int connect(int client);
  void send(int conn, bool to_server, std::string frame, bool reorderable);
  void kill(int conn, const char* why);
  void deliver_due();
  // Clients.
  void client_step(int i, bool chaos);
  void client_act(int i);
  void flush(int i);
  void record_issue(int i, const Result<std::int64_t>& seq);
  bool quiescent();
  // Checks.
  void check(std::vector<std::string>& problems);
  void check_decisions(const std::vector<store::OpRequest>& reqs,
                       const std::vector<store::OpResult>& results, std::int64_t head_before);
  void check_final_previews(std::vector<std::string>& problems);
  void play_history(const std::vector<Lead>& leads);

  std::uint64_t seed_;
  Rng rng_;
  Rng compact_rng_;  // its own stream, so compaction does not shift the other draws
  Options options_;
  std::string path_;
  Faults faults_;
  Stats stats_;
  Millis now_ = kT0;
  std::unique_ptr<store::Store> store_;
  std::int64_t broadcast_head_ = 0;
  std::vector<Client> clients_;
  std::map<int, Conn> conns_;
  std::map<int, Session> sessions_;
  std::vector<Flight> flights_;
  std::uint64_t order_ = 0;
  int next_conn_ = 1;
  // (client index, op key) -> stored (non-duplicate) results, counted when the commit returned.
  std::map<std::pair<int, std::string>, int> stored_;
  std::vector<std::string> problems_;
  std::map<std::string, Policy> policies_;  // buyer -> policy (policies do not change here)
  std::map<std::string, std::unique_ptr<ShadowBuyer>> shadows_;  // buyer -> portal shadow
  bool chaos_ = false;
};

void Simulation::open_store() {
  store::StoreOptions o;
  o.sync = store::Database::Sync::normal;
  Result<std::unique_ptr<store::Store>> s = store::Store::open(path_, o);
  if (!s.ok()) {
    std::fprintf(stderr, "sim: cannot open store %s: %s\n", path_.c_str(),
                 s.error().message.c_str());
    std::exit(2);
  }
  store_ = std::move(s).value();
  broadcast_head_ = store_->head_version();
}

void Simulation::build_world() {
  auto buyer = [&](const std::string& id, Billing billing, Policy policy) {
    Buyer b;
    b.id = id;
    b.name = "Buyer " + id;
    b.billing = billing;
    b.coverage.states = {"TX"};
    b.policy = std::move(policy);
    policies_[id] = b.policy;
    (void)store_->put_buyer(b, now_);
  };
  // Policies that read every decision fact: a trailing-rate limit and a daily limit on a rule, a
  // cap rate, price and reason limits; the thresholds are drawn so seeds land on both sides.
  Policy rated = default_policy();
  rated.rules[0].max_return_rate = static_cast<BasisPoints>(rng_.range(1000, 5000));
  rated.rules[0].max_auto_per_day = static_cast<int>(rng_.range(1, 3));
  PolicyRule area;
  area.id = "area_or_tcpa";
  area.max_age_hours = 96;
  area.reasons = {Reason::out_of_service_area, Reason::tcpa_risk, Reason::duplicate};
  area.max_price_cents = rng_.range(3000, 8000);
  rated.rules.push_back(area);
  rated.cap_rate = static_cast<BasisPoints>(rng_.range(2000, 6000));
  Policy capped = default_policy();
  capped.cap_rate = static_cast<BasisPoints>(rng_.range(1000, 4000));
  Policy manual = default_policy();
  manual.mode = PolicyMode::manual;
  buyer("B-1", Billing::prepaid, rated);
  buyer("B-2", Billing::net_terms, capped);
  buyer("B-3", Billing::prepaid, manual);
  (void)store_->put_supplier(Supplier{"S-1", "North", true}, now_);
  (void)store_->put_supplier(Supplier{"S-2", "South", false}, now_);
  std::vector<Lead> leads;
  for (const std::string b : {"B-1", "B-2", "B-3"}) {
    const std::string campaign = "C-" + b;
    (void)store_->put_campaign(Campaign{campaign, b, "mva", 5000}, now_);
    for (int k = 0; k < 6; ++k) {
      Lead l;
      l.id = "L-" + b + "-" + std::to_string(k);
      l.buyer_id = b;
      l.supplier_id = k % 2 == 0 ? "S-1" : "S-2";
      l.campaign_id = campaign;
      l.vertical = "mva";
      l.state = "TX";
      l.zip = "75001";
      l.contact_hash = "h-" + std::to_string(rng_.range(0, 8));
      l.price_cents = rng_.range(1000, 9000);
      l.cost_cents = l.price_cents / 2;
      // Inside the auto-accept rule, past it, or with the window closing during the run.
      const int kind = k % 3;
      l.delivered_at = kind == 0   ? now_ - rng_.range(1, 20) * kMillisPerHour
                       : kind == 1 ? now_ - rng_.range(30, 160) * kMillisPerHour
                                   : now_ - 168 * kMillisPerHour + rng_.range(2'000, 25'000);
      leads.push_back(l);
    }
  }
  // History the portal never holds as leads: 8 to 29 days old (past every window, inside the
  // 30-day rate), sharing contacts with the recent leads, some of them returned.
  std::vector<Lead> history;
  for (const std::string b : {"B-1", "B-2", "B-3"}) {
    for (int k = 0; k < 12; ++k) {
      Lead l;
      l.id = "H-" + b + "-" + std::to_string(k);
      l.buyer_id = b;
      l.supplier_id = k % 2 == 0 ? "S-1" : "S-2";
      l.campaign_id = "C-" + b;
      l.vertical = k % 5 == 0 ? "solar" : "mva";
      l.state = k % 4 == 0 ? "CA" : "TX";
      l.zip = "75001";
      l.contact_hash = "h-" + std::to_string(rng_.range(0, 8));
      l.tcpa_flag = k % 3 == 0;
      l.price_cents = rng_.range(1000, 9000);
      l.cost_cents = l.price_cents / 2;
      l.delivered_at = now_ - rng_.range(8 * 24, 29 * 24) * kMillisPerHour;
      history.push_back(l);
    }
  }
  // Recent leads of varied states and flags, so every evidence verdict occurs.
  for (Lead& l : leads) {
    l.state = rng_.per_mille(300) ? "CA" : "TX";
    l.tcpa_flag = rng_.per_mille(300);
    if (rng_.per_mille(200)) l.vertical = "solar";
  }
  // Ingested in an order unlike delivery: late ingest flips earlier_delivery flags.
  Result<store::IngestResult> in = store_->ingest_leads(leads, now_);
  Result<store::IngestResult> in_history = store_->ingest_leads(history, now_);
  if (!in.ok() || !in->refused.empty() || !in_history.ok() || !in_history->refused.empty()) {
    problems_.push_back("world: lead ingest failed");
  }
  play_history(history);
  broadcast_head_ = store_->head_version();
}

void Simulation::play_history(const std::vector<Lead>& leads) {
  std::map<std::string, std::int64_t> seqs;
  auto apply = [&](const std::string& client, const Actor& actor, const std::string& op, Json args,
                   Millis at) {
    store::OpRequest req{client, ++seqs[client], actor, op, std::move(args), at};
    Result<std::vector<store::OpResult>> r = store_->apply_ops({&req, 1}, at);
    if (!r.ok()) problems_.push_back("world: history op failed: " + r.error().message);
    return r.ok() && !r->empty() && r->front().applied;
  };
  const std::vector<Reason>& reasons = all_reasons();
  int n = 0;
  for (const Lead& l : leads) {
    if (!rng_.per_mille(550)) continue;
    const std::string id = "RH-" + std::to_string(++n);
    const Millis at = l.delivered_at + rng_.range(1, 40) * kMillisPerHour;
    const Reason reason = reasons[rng_.index(reasons.size() - 1)];  // not `other` (needs a note)
    if (!apply("hist-" + l.buyer_id, Actor::buyer(l.buyer_id), "submit_return",
               Json{{"return_id", id}, {"lead_id", l.id}, {"reason", to_string(reason)}}, at)) {
      continue;
    }
    const ReturnCase* r = store_->view().find_return(id);
    if (r == nullptr || r->state == ReturnState::accepted) continue;
    if (rng_.per_mille(750)) {
      apply("hist-op", Actor::operator_("alice"), "accept_return", Json{{"return_id", id}},
            at + kMillisPerHour);
    } else {
      apply("hist-op", Actor::operator_("alice"), "reject_return",
            Json{{"return_id", id}, {"note", "not a valid return"}}, at + kMillisPerHour);
    }
  }
}

Principal Simulation::scoped(const Principal& p) {
  Principal out = p;
  if (p.role == Role::buyer) out.lead_horizon = sync::lead_horizon(policies_[p.buyer_id], now_);
  return out;
}

std::vector<sync::StoredEvent> Simulation::read_events(std::int64_t after, std::size_t limit,
                                                       const std::string& buyer_id) {
  std::vector<sync::StoredEvent> out;
  for (store::Event& e : buyer_id.empty() ? store_->events_since(after, limit)
                                          : store_->buyer_events_since(buyer_id, after, limit)) {
    // The injected facts bug: the decision-facts rows never leave the server.
    if (options_.inject_facts_bug && e.entity == "buyer_day") continue;
    out.push_back(store::to_stored(std::move(e)));
  }
  return out;
}

// --- Network ---------------------------------------------------------------------------------

int Simulation::connect(int client) {
  const int id = next_conn_++;
  conns_[id] = Conn{client, true, now_, now_};
  Session s;
  s.client = client;
  sessions_[id] = std::move(s);
  ++stats_.connections;
  return id;
}

void Simulation::send(int conn, bool to_server, std::string frame, bool reorderable) {
  auto c = conns_.find(conn);
  if (c == conns_.end() || !c->second.open) return;
  ++stats_.frames;
  const bool chaos = faults_.max_delay > 0 && chaos_;
  if (chaos && rng_.per_mille(faults_.drop)) {
    ++stats_.drops;
    kill(conn, "frame dropped");
    return;
  }
  Millis& fifo = to_server ? c->second.fifo_server : c->second.fifo_client;
  Millis at = now_ + rng_.range(1, faults_.max_delay);
  if (chaos && reorderable && rng_.per_mille(faults_.reorder)) {
    ++stats_.reorders;  // may overtake frames sent earlier
  } else {
    at = std::max(at, fifo);
    fifo = at;
  }
  const bool dup = chaos && rng_.per_mille(faults_.duplicate);
  flights_.push_back(Flight{at, order_++, conn, to_server, frame});
  if (dup) {
    ++stats_.duplicates;
    flights_.push_back(Flight{at, order_++, conn, to_server, std::move(frame)});
  }
}

void Simulation::kill(int conn, const char* why) {
  auto c = conns_.find(conn);
  if (c == conns_.end() || !c->second.open) return;
  c->second.open = false;
  // The session is erased between steps (callers may still hold it); a closed connection
  // sends and receives nothing from here on.
  if (auto it = sessions_.find(conn); it != sessions_.end()) it->second.dead = true;
  Client& cl = clients_[static_cast<std::size_t>(c->second.client)];
  if (cl.conn == conn && !cl.notice_disconnect_at) {
    cl.notice_disconnect_at = now_ + rng_.range(1, 50);
  }
  if (options_.single)
    trace.push_back("t+" + std::to_string(now_ - kT0) + " conn " + std::to_string(conn) +
                    " closed: " + why);
}

void Simulation::deliver_due() {
  for (;;) {
    // The earliest due flight (ties by send order): deterministic.
    std::size_t best = flights_.size();
    for (std::size_t i = 0; i < flights_.size(); ++i) {
      if (flights_[i].at > now_) continue;
      if (best == flights_.size() || flights_[i].at < flights_[best].at ||
          (flights_[i].at == flights_[best].at && flights_[i].order < flights_[best].order)) {
        best = i;
      }
    }
    if (best == flights_.size()) return;
    Flight f = std::move(flights_[best]);
    flights_.erase(flights_.begin() + static_cast<std::ptrdiff_t>(best));
    auto c = conns_.find(f.conn);
    if (c == conns_.end() || !c->second.open) continue;
    if (f.to_server) {
      server_receive(f.conn, f.frame);
    } else {
      Client& cl = clients_[static_cast<std::size_t>(c->second.client)];
      if (cl.conn != f.conn) continue;
      Status s = cl.engine->on_frame(f.frame, now_);
      if (!s.ok()) {
        problems_.push_back(cl.client_id +
                            " refused a server frame: " + std::string(to_string(s.error().code)) +
                            " " + s.error().message + " frame=" + f.frame.substr(0, 200));
      }
      flush(c->second.client);
    }
  }
}

// --- Server ----------------------------------------------------------------------------------

void Simulation::server_receive(int conn, const std::string& frame) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end() || it->second.dead) return;
  Session& s = it->second;
  Result<sync::ClientMessage> msg = sync::parse_client_message(frame);
  if (!msg.ok()) {
    problems_.push_back("server refused a client frame: " + msg.error().message);
    if (!s.hello) {
      send(conn, false, sync::encode_error(ErrorCode::HELLO_REQUIRED, msg.error().message, true),
           false);
      kill(conn, "bad hello");
    } else {
      send(conn, false, sync::encode_error(msg.error().code, msg.error().message, false), true);
    }
    return;
  }
  if (const auto* hello = std::get_if<sync::Hello>(&*msg)) {
    if (s.hello) {
      send(conn, false,
           sync::encode_error(ErrorCode::HELLO_REQUIRED, "hello was already received.", false),
           true);
      return;
    }
    handle_hello(conn, s, *hello);
  } else if (const auto* push = std::get_if<sync::Push>(&*msg)) {
    if (!s.hello) {
      send(conn, false, sync::encode_error(ErrorCode::HELLO_REQUIRED, "hello first", true), false);
      kill(conn, "push before hello");
      return;
    }
    handle_push(conn, s, *push);
  } else if (const auto* ping = std::get_if<sync::Ping>(&*msg)) {
    send(conn, false, sync::encode_pong(ping->t, now_), true);
  }
}

void Simulation::handle_hello(int conn, Session& s, const sync::Hello& h) {
  // The sim's token scheme: "buyer:<id>" or "operator:<subject>" (returnsd verifies HMAC tokens).
  Principal p;
  if (h.token.rfind("buyer:", 0) == 0) {
    p.role = Role::buyer;
    p.buyer_id = h.token.substr(6);
    p.subject = p.buyer_id;
  } else if (h.token.rfind("operator:", 0) == 0) {
    p.role = Role::operator_;
    p.subject = h.token.substr(9);
  } else {
    send(conn, false, sync::encode_error(ErrorCode::UNAUTHORIZED, "bad token", true), false);
    kill(conn, "unauthorized");
    return;
  }
  s.hello = true;
  s.principal = p;
  // The injected bug: op logs keyed by connection instead of by client id.
  s.client_id = options_.inject_bug ? h.client_id + "~" + std::to_string(conn) : h.client_id;
  std::optional<std::string> bound = store_->client_principal(s.client_id);
  if (bound && *bound != store::principal_key(p.actor())) {
    send(conn, false, sync::encode_error(ErrorCode::FORBIDDEN, "client id taken", true), false);
    kill(conn, "forbidden");
    return;
  }
  sync::Welcome w;
  w.server_time = now_;
  w.principal = p;
  w.last_seq = store_->last_seq(s.client_id);
  w.cursor = h.cursor;
  if (sync::cursor_needs_reset(h.cursor, store_->head_version(), store_->min_version())) {
    send(conn, false, sync::encode_reset(0), false);
    w.cursor = 0;
  }
  s.cursor = w.cursor;
  send(conn, false, sync::encode_welcome(w), false);
  s.catching_up = true;
}

void Simulation::catch_up_step(int conn, Session& s) {
  // Small batches so catch-up spans several frames and live commits interleave with it.
  constexpr std::size_t kBatch = 16;
  const std::int64_t head = store_->head_version();
  if (sync::cursor_needs_reset(s.cursor, head, store_->min_version())) {
    send(conn, false, sync::encode_reset(0), false);
    s.cursor = 0;
    return;
  }
  // As the server reads it (server/hub.cc): a buyer's own events only, the whole log otherwise.
  std::vector<sync::StoredEvent> events = s.principal.role == Role::buyer
                                              ? read_events(s.cursor, kBatch, s.principal.buyer_id)
                                              : read_events(s.cursor, kBatch);
  const sync::CatchUpPage page = sync::catch_up_page(
      events.size(), events.empty() ? s.cursor : events.back().version, head, kBatch);
  const std::int64_t to = page.to;
  if (auto f = sync::changes_frame(events, scoped(s.principal), s.cursor, to)) {
    send(conn, false, std::move(*f), false);
  }
  s.cursor = std::max(s.cursor, to);
  if (page.done) {
    send(conn, false, sync::encode_synced(s.cursor), false);
    s.catching_up = false;
    s.live = true;
    std::vector<std::pair<std::int64_t, std::int64_t>> pending;
    pending.swap(s.pending);
    for (const auto& [from, pto] : pending) send_page(conn, s, from, pto);
  }
}

void Simulation::catch_up_all() {
  std::vector<int> ids;  // a send may kill a connection and erase its session
  for (const auto& [id, s] : sessions_)
    if (s.catching_up) ids.push_back(id);
  for (int id : ids) {
    auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second.catching_up && !it->second.dead) {
      catch_up_step(id, it->second);
    }
  }
}

void Simulation::send_page(int conn, Session& s, std::int64_t from, std::int64_t to) {
  if (to <= s.cursor) return;  // already delivered by catch-up
  std::vector<sync::StoredEvent> events = read_events(from, sync::kLivePage);
  std::erase_if(events, [&](const sync::StoredEvent& e) { return e.version > to; });
  if (auto f = sync::changes_frame(events, scoped(s.principal), from, to)) {
    send(conn, false, std::move(*f), false);
  }
  s.cursor = to;
}

void Simulation::broadcast() {
  const std::int64_t head = store_->head_version();
  while (broadcast_head_ < head) {
    std::vector<sync::StoredEvent> events = read_events(broadcast_head_, sync::kLivePage);
    if (events.empty()) break;
    const std::int64_t from = broadcast_head_;
    const std::int64_t to = events.back().version;
    broadcast_head_ = to;
    std::vector<int> ids;
    for (const auto& [id, s] : sessions_) ids.push_back(id);
    for (int id : ids) {
      auto it = sessions_.find(id);
      if (it == sessions_.end() || it->second.dead) continue;
      Session& s = it->second;
      if (s.catching_up) {
        s.pending.emplace_back(from, to);
      } else if (s.live) {
        send_page(id, s, from, to);
      }
    }
  }
}

void Simulation::handle_push(int conn, Session& s, const sync::Push& p) {
  std::vector<store::OpRequest> reqs;
  for (const sync::PushedOp& op : p.ops) {
    reqs.push_back(
        store::OpRequest{s.client_id, op.seq, s.principal.actor(), op.op, op.args, op.client_time});
  }
  const std::int64_t head_before = store_->head_version();
  Result<std::vector<store::OpResult>> results = store_->apply_ops(reqs, now_);
  if (!results.ok()) {
    problems_.push_back("apply_ops failed: " + results.error().message);
    return;
  }
  check_decisions(reqs, *results, head_before);
  // Committed: count what the store now holds, whether or not the reply gets out.
  for (std::size_t i = 0; i < results->size(); ++i) {
    const store::OpResult& r = (*results)[i];
    if (r.duplicate || r.code == ErrorCode::SEQ_GAP || r.code == ErrorCode::FORBIDDEN) continue;
    ++stored_[{s.client, op_key(reqs[i].op, reqs[i].args.dump())}];
    ++(r.applied ? stats_.applied : stats_.refused);
  }
  if (chaos_ && rng_.per_mille(faults_.crash)) {
    crash_server();
    return;
  }
  for (const store::OpResult& r : *results) {
    sync::OpAnswer a{r.seq, r.applied, r.code, r.message, r.version, r.duplicate, r.decision};
    send(conn, false, sync::answer_frame(a), true);
  }
  broadcast();
}

// Between batches, as the server's compactor does: every entity keeps its newest event, every
// cursor stays valid (the log's oldest version does not move), and catch-ups from then on skip
// the superseded versions. Previews at a decided version still see that version's facts: what is
// dropped was superseded at or before the head, and every later decision is after it.
void Simulation::maybe_compact() {
  if (!compact_rng_.per_mille(faults_.compact)) return;
  const std::int64_t min_before = store_->min_version();
  // Each entity's newest event (version and row), which compaction must leave exactly as it is.
  auto newest = [this] {
    std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::string>> out;
    for (sync::StoredEvent& e : read_events(0, 1'000'000)) {
      out[{e.entity, e.entity_id}] = {e.version, std::move(e.data)};
    }
    return out;
  };
  const auto before = newest();
  Result<store::CompactionReport> done = store::compact_log(store_->db());
  if (!done.ok()) {
    problems_.push_back("compaction failed: " + done.error().message);
    return;
  }
  if (done->dropped != done->planned) {
    problems_.push_back("compaction dropped " + std::to_string(done->dropped) + " of " +
                        std::to_string(done->planned) + " planned events");
  }
  if (store_->min_version() != min_before) {
    problems_.push_back("compaction moved the log's oldest version: cursors would reset");
  }
  if (newest() != before) problems_.push_back("compaction changed an entity's newest event");
  ++stats_.compactions;
  stats_.events_compacted += done->dropped;
}

void Simulation::crash_server() {
  ++stats_.crashes;
  std::vector<int> open;
  for (const auto& [id, c] : conns_)
    if (c.open) open.push_back(id);
  for (int id : open) kill(id, "server crash");
  store_.reset();  // gone without replying
  open_store();
}

// --- Clients ---------------------------------------------------------------------------------

void Simulation::flush(int i) {
  Client& c = clients_[static_cast<std::size_t>(i)];
  for (std::string& f : c.engine->take_outgoing()) {
    const bool push = f.rfind("{\"type\":\"push\"", 0) == 0;
    if (c.conn >= 0) send(c.conn, true, std::move(f), push);
  }
  for (const sync::Notice& n : c.engine->take_notices()) {
    if (n.kind == sync::Notice::Kind::op_result) ++c.answered;
    if (n.kind == sync::Notice::Kind::synced) c.backoff = 100;
    if (n.kind == sync::Notice::Kind::error && n.fatal) {
      problems_.push_back(c.client_id + " got a fatal error: " + n.message);
    }
  }
}

void Simulation::record_issue(int i, const Result<std::int64_t>& seq) {
  Client& c = clients_[static_cast<std::size_t>(i)];
  if (!seq.ok()) {
    problems_.push_back(c.client_id + " could not enqueue: " + seq.error().message);
    return;
  }
  for (const sync::OutboxEntry& o : c.replica->outbox()) {
    if (o.seq != *seq) continue;
    const std::string key = op_key(o.op, o.args);
    if (!c.issued.insert(key).second) problems_.push_back("sim issued one op twice: " + key);
    ++stats_.ops;
  }
  flush(i);
}

void Simulation::client_act(int i) {
  Client& c = clients_[static_cast<std::size_t>(i)];
  Engine& e = *c.engine;
  const std::string tag = c.client_id + "#" + std::to_string(++c.counter);
  // REQUIRES: `v` outlives the pointer.
  auto pick = [&](const std::vector<Json>& v) -> const Json* {
    return v.empty() ? nullptr : &v[rng_.index(v.size())];
  };
  std::vector<Json> returns = e.rows("return", now_);
  auto in_state = [&](std::initializer_list<const char*> states) {
    std::vector<Json> out;
    for (const Json& r : returns) {
      for (const char* st : states)
        if (str_of(r, "state") == st) out.push_back(r);
    }
    return out;
  };
  const int roll = static_cast<int>(rng_.index(100));
  if (!c.is_operator) {
    if (roll < 35) {
      const std::vector<Json> leads = e.rows("lead", now_);
      const Json* lead = pick(leads);
      if (lead == nullptr) return;
      const std::vector<Reason>& reasons = all_reasons();
      const Reason reason = reasons[rng_.index(reasons.size())];
      DraftInput d{"R-" + c.client_id + "-" + std::to_string(c.counter), str_of(*lead, "id"),
                   reason, "sim note " + tag};
      record_issue(i, e.save_draft(d, now_));
    } else if (roll < 60) {
      std::vector<std::string> ids;
      for (const sync::DraftRecord& d : e.drafts())
        if (d.status != sync::DraftStatus::submitting) ids.push_back(d.return_id);
      for (const Json& r : in_state({"draft"})) ids.push_back(str_of(r, "id"));
      std::erase_if(ids, [&](const std::string& id) { return c.submitted.count(id) > 0; });
      if (ids.empty()) return;
      const std::string id = ids[rng_.index(ids.size())];
      c.submitted.insert(id);
      record_issue(i, e.submit(id, now_));
    } else if (roll < 70) {
      std::vector<Json> open = in_state({"pending", "discussion"});
      std::erase_if(open, [&](const Json& r) { return c.withdrawn.count(str_of(r, "id")) > 0; });
      const Json* r = pick(open);
      if (r == nullptr) return;
      c.withdrawn.insert(str_of(*r, "id"));
      record_issue(i, e.enqueue("withdraw_return", Json{{"return_id", str_of(*r, "id")}}, now_));
    } else if (roll < 85) {
      const Json* r = pick(returns);
      if (r == nullptr) return;
      record_issue(
          i, e.enqueue("post_message",
                       Json{{"return_id", str_of(*r, "id")},
                            {"message_id", "M-" + c.client_id + "-" + std::to_string(c.counter)},
                            {"body", "sim message " + tag}},
                       now_));
    } else {
      std::vector<Json> drafts = in_state({"draft"});
      std::erase_if(drafts, [&](const Json& r) { return c.discarded.count(str_of(r, "id")) > 0; });
      const Json* r = pick(drafts);
      if (r == nullptr) return;
      c.discarded.insert(str_of(*r, "id"));
      record_issue(i, e.discard_draft(str_of(*r, "id"), now_));
    }
    return;
  }
  // The operator.
  if (roll < 55) {
    const std::vector<Json> open = in_state({"pending", "discussion"});
    const Json* r = pick(open);
    if (r == nullptr) return;
    const std::string id = str_of(*r, "id");
    if (rng_.index(4) == 0) {
      record_issue(
          i, e.enqueue("reject_return", Json{{"return_id", id}, {"note", "no " + tag}}, now_));
      return;
    }
    Json args{{"return_id", id}, {"note", "ok " + tag}};
    if (rng_.index(3) == 0) {
      std::optional<Json> lead = e.row("lead", str_of(*r, "lead_id"), now_);
      const Money price = lead ? lead->value("price_cents", Money{100}) : 100;
      args["credit_cents"] = rng_.range(1, std::max<Money>(1, price));
    }
    if (rng_.index(3) == 0) args["charge_back"] = rng_.index(2) == 0;
    record_issue(i, e.enqueue("accept_return", args, now_));
  } else if (roll < 75) {
    const std::vector<Json> decided = in_state({"accepted", "rejected"});
    const Json* r = pick(decided);
    if (r == nullptr) return;
    record_issue(i,
                 e.enqueue("reopen_return",
                           Json{{"return_id", str_of(*r, "id")}, {"note", "again " + tag}}, now_));
  } else {
    const Json* r = pick(returns);
    if (r == nullptr) return;
    record_issue(
        i, e.enqueue("post_message",
                     Json{{"return_id", str_of(*r, "id")},
                          {"message_id", "M-" + c.client_id + "-" + std::to_string(c.counter)},
                          {"body", "operator says " + tag}},
                     now_));
  }
}

void Simulation::client_step(int i, bool chaos) {
  Client& c = clients_[static_cast<std::size_t>(i)];
  if (c.notice_disconnect_at && now_ >= *c.notice_disconnect_at) {
    c.notice_disconnect_at.reset();
    c.engine->on_disconnected();
    c.conn = -1;
    // Jittered exponential backoff (x0.5–1.5), capped lower than a browser's 30 s.
    c.reconnect_at = now_ + c.backoff * rng_.range(50, 150) / 100;
    c.backoff = std::min<Millis>(c.backoff * 2, 3200);
  }
  if (c.conn < 0 && !c.notice_disconnect_at && now_ >= c.reconnect_at) {
    c.conn = connect(i);
    send(c.conn, true, c.engine->on_connected(now_), false);
    flush(i);
  }
  if (chaos && c.conn >= 0 && rng_.per_mille(faults_.disconnect)) {
    ++stats_.disconnects;
    kill(c.conn, "network cut");
  }
  c.engine->tick(now_);
  flush(i);
  if (chaos && rng_.per_mille(25)) client_act(i);
}

bool Simulation::quiescent() {
  if (!flights_.empty()) return false;
  for (const Client& c : clients_) {
    if (c.conn < 0 || c.notice_disconnect_at) return false;
    if (c.engine->phase() != sync::SyncPhase::live) return false;
    if (!c.engine->outbox().empty() || c.engine->next_wakeup()) return false;
  }
  for (const auto& [id, s] : sessions_)
    if (!s.live && !s.dead) return false;
  return true;
}

std::vector<std::string> Simulation::run() {
  faults_.drop = static_cast<int>(rng_.range(0, 25));
  faults_.duplicate = static_cast<int>(rng_.range(0, 60));
  faults_.reorder = static_cast<int>(rng_.range(0, 150));
  faults_.disconnect = static_cast<int>(rng_.range(0, 4));
  faults_.crash = static_cast<int>(rng_.range(0, 40));
  faults_.max_delay = rng_.range(1, 300);
  faults_.compact = options_.compact ? static_cast<int>(compact_rng_.range(0, 30)) : 0;
  open_store();
  build_world();
  const std::vector<std::pair<std::string, std::string>> who = {{"b1-phone", "buyer:B-1"},
                                                                {"b1-laptop", "buyer:B-1"},
                                                                {"b2-desk", "buyer:B-2"},
                                                                {"b3-desk", "buyer:B-3"},
                                                                {"op-alice", "operator:alice"}};
  for (const auto& [id, token] : who) {
    Client c;
    c.client_id = id;
    c.token = token;
    c.is_operator = token.rfind("operator:", 0) == 0;
    if (!c.is_operator) c.buyer_id = token.substr(6);
    c.replica = std::make_unique<sync::MemoryReplica>();
    c.engine = std::make_unique<Engine>(*c.replica, sync::EngineConfig{id, token, 250});
    c.reconnect_at = now_ + rng_.range(0, 500);  // some start offline and draft first
    clients_.push_back(std::move(c));
  }
  chaos_ = true;
  for (int step = 0; step < options_.chaos_steps; ++step) {
    now_ += kStep;
    maybe_compact();
    deliver_due();
    catch_up_all();
    std::erase_if(sessions_, [](const auto& kv) { return kv.second.dead; });
    for (int i = 0; i < static_cast<int>(clients_.size()); ++i) client_step(i, true);
  }
  // Heal: no more faults or new ops; everyone reconnects promptly and drains.
  chaos_ = false;
  for (Client& c : clients_) {
    c.backoff = 100;
    c.reconnect_at = std::min(c.reconnect_at, now_ + 100);
  }
  bool settled = false;
  for (int step = 0; step < options_.heal_steps && !settled; ++step) {
    now_ += kStep;
    maybe_compact();
    deliver_due();
    catch_up_all();
    std::erase_if(sessions_, [](const auto& kv) { return kv.second.dead; });
    for (int i = 0; i < static_cast<int>(clients_.size()); ++i) client_step(i, false);
    settled = quiescent();
  }
  if (!settled) problems_.push_back("the system did not settle after the network healed");
  check(problems_);
  check_final_previews(problems_);
  return problems_;
}

// --- Checks ----------------------------------------------------------------------------------

void Simulation::check(std::vector<std::string>& problems) {
  // 1. At most once, and (healed) exactly once; 2. every op answered to its client.
  for (int i = 0; i < static_cast<int>(clients_.size()); ++i) {
    const Client& c = clients_[static_cast<std::size_t>(i)];
    for (const std::string& key : c.issued) {
      auto it = stored_.find({i, key});
      const int n = it == stored_.end() ? 0 : it->second;
      if (n > 1) {
        problems.push_back("exactly-once: " + c.client_id + " op applied " + std::to_string(n) +
                           " times: " + key.substr(0, 160));
      } else if (n == 0) {
        problems.push_back("answered: " + c.client_id +
                           " op never reached the store: " + key.substr(0, 160));
      }
    }
    for (const auto& [k, n] : stored_) {
      if (k.first == i && c.issued.count(k.second) == 0)
        problems.push_back("the store holds an op " + c.client_id + " never issued: " + k.second);
    }
    if (c.answered != static_cast<int>(c.issued.size())) {
      problems.push_back("answered: " + c.client_id + " issued " + std::to_string(c.issued.size()) +
                         " ops but learned " + std::to_string(c.answered) + " results");
    }
    if (!c.engine->outbox().empty()) {
      problems.push_back("answered: " + c.client_id + " still has " +
                         std::to_string(c.engine->outbox().size()) + " ops in its outbox");
    }
  }
  // 3. Each replica equals the server's state within its scope.
  std::map<std::pair<std::string, std::string>, std::pair<sync::StoredEvent, Json>> latest;
  for (sync::StoredEvent& e : read_events(0, 1'000'000)) {
    Result<Json> row = parse_json(e.data);
    auto& slot = latest[{e.entity, e.entity_id}];  // the key before `e` is moved from
    slot = {std::move(e), row.ok() ? *row : Json::object()};
  }
  for (const Client& c : clients_) {
    if (!c.engine->principal()) {
      problems.push_back("replica: " + c.client_id + " never got a welcome");
      continue;
    }
    const Principal p = scoped(*c.engine->principal());
    Principal unbounded = p;
    unbounded.lead_horizon = 0;
    std::size_t compared = 0;
    std::set<std::pair<std::string, std::string>> expected_keys;
    for (const auto& [key, latest_row] : latest) {
      const auto& [e, data] = latest_row;
      sync::EventView view{e.entity, e.entity_id, e.buyer_id, &data, e.deleted};
      std::optional<Json> want = e.deleted ? std::nullopt : sync::visible_row(view, p);
      if (!e.deleted && !want && sync::visible_row(view, unbounded)) {
        // A lead past the buyer's horizon: the server stops sending it, the portal may keep it.
        expected_keys.insert(key);
        continue;
      }
      std::optional<std::string> got = c.replica->row(e.entity, e.entity_id);
      if (want) expected_keys.insert(key);
      if (!want && got) {
        problems.push_back("replica: " + c.client_id + " holds " + e.entity + " " + e.entity_id +
                           " it should not");
      } else if (want && !got) {
        problems.push_back("replica: " + c.client_id + " misses " + e.entity + " " + e.entity_id);
      } else if (want && got) {
        Result<Json> j = parse_json(*got);
        if (!j.ok() || *j != *want) {
          problems.push_back("replica: " + c.client_id + " " + e.entity + " " + e.entity_id +
                             " differs:\n    server  " + want->dump() + "\n    replica " + *got);
        }
        ++compared;
      }
    }
    for (const std::string entity :
         {"buyer", "supplier", "campaign", "lead", "return", "message", "ledger", "alert"}) {
      for (const sync::ReplicaRow& r : c.replica->rows(entity)) {
        if (expected_keys.count({r.entity, r.id}) == 0 && latest.count({r.entity, r.id}) == 0) {
          problems.push_back("replica: " + c.client_id +
                             " has a row the server never had: " + r.entity + " " + r.id);
        }
      }
    }
    if (compared == 0) problems.push_back("replica: " + c.client_id + " compared no rows");
    if (c.engine->cursor() > store_->head_version()) {
      problems.push_back("replica: " + c.client_id + " cursor beyond the server head");
    }
  }
  // 4. Money balances, per return, from the store's ledger and return rows.
  std::map<std::string, std::map<std::string, Money>> sums;  // return -> kind -> cents
  {
    Result<store::Statement> st =
        store_->db().prepare("SELECT return_id, kind, amount_cents FROM ledger");
    if (st.ok()) {
      while (st->step()) sums[st->text(0)][st->text(1)] += st->int64(2);
    }
  }
  std::map<std::string, bool> lead_returned;
  Result<store::Statement> rs = store_->db().prepare("SELECT data FROM returns");
  if (rs.ok()) {
    while (rs->step()) {
      Result<Json> j = parse_json(rs->text(0));
      if (!j.ok()) continue;
      Result<ReturnCase> r = decode_return(*j);
      if (!r.ok()) continue;
      auto& k = sums[r->id];
      const Money reversed = k["revenue_reversal"];
      const bool accepted = r->state == ReturnState::accepted;
      const Money credit = accepted && r->decision ? r->decision->credit_cents : 0;
      if (reversed != -credit) {
        problems.push_back("money: return " + r->id + " reversed " + std::to_string(reversed) +
                           " for a credit of " + std::to_string(credit));
      }
      if (k["wallet_credit"] - k["invoice_adjustment"] != credit) {
        problems.push_back(
            "money: return " + r->id + " buyer side " + std::to_string(k["wallet_credit"]) + "/" +
            std::to_string(k["invoice_adjustment"]) + " for credit " + std::to_string(credit));
      }
      const Money chargeback =
          accepted && r->decision && r->decision->charged_back ? r->decision->chargeback_cents : 0;
      if (k["supplier_chargeback"] != -chargeback) {
        problems.push_back("money: return " + r->id + " charged back " +
                           std::to_string(k["supplier_chargeback"]));
      }
      if (accepted) lead_returned[r->lead_id] = true;
    }
  }
  Result<store::Statement> ls = store_->db().prepare("SELECT id, status FROM leads");
  if (ls.ok()) {
    while (ls->step()) {
      const bool returned = ls->text(1) == "RETURNED";
      if (returned != (lead_returned.count(ls->text(0)) > 0)) {
        problems.push_back("money: lead " + ls->text(0) + " is " + ls->text(1) +
                           " but its accepted returns say otherwise");
      }
    }
  }
}

// --- Preview = decision ------------------------------------------------------------------------

void Simulation::check_decisions(const std::vector<store::OpRequest>& reqs,
                                 const std::vector<store::OpResult>& results,
                                 std::int64_t head_before) {
  // The head when op i was decided: the highest version any earlier answer of the batch covers
  // (a resend's stored answer names an older one).
  std::int64_t version_before = head_before;
  for (std::size_t i = 0; i < results.size() && i < reqs.size(); ++i) {
    const store::OpResult& r = results[i];
    if (i > 0) version_before = std::max(version_before, results[i - 1].version);
    if (r.op != "submit_return" || r.duplicate || r.code == ErrorCode::SEQ_GAP ||
        r.code == ErrorCode::FORBIDDEN || reqs[i].actor.role != Role::buyer) {
      continue;
    }
    Result<OpArgs> args = decode_op_args(r.op, reqs[i].args);
    if (!args.ok()) continue;
    const auto& a = std::get<SubmitReturnArgs>(*args);
    const std::string& buyer = reqs[i].actor.buyer_id;
    std::unique_ptr<ShadowBuyer>& shadow = shadows_[buyer];
    if (!shadow) shadow = std::make_unique<ShadowBuyer>(buyer);
    Principal p;
    p.role = Role::buyer;
    p.buyer_id = buyer;
    p.subject = buyer;
    shadow->advance(read_events(shadow->cursor(), 1'000'000), scoped(p), version_before, now_);
    if (!shadow->holds_lead(a.lead_id, now_)) {
      // Past the window the portal may have dropped the lead; the server refuses it anyway.
      ++stats_.decisions_unheld;
      continue;
    }
    std::optional<SubmitDecision> decision;
    if (r.decision) {
      Result<SubmitDecision> d = decode_submit_decision(*r.decision);
      if (!d.ok()) {
        problems_.push_back("differential: undecodable decision " + r.decision->dump());
        continue;
      }
      decision = std::move(d).value();
    } else if (r.applied) {
      problems_.push_back("differential: applied submit " + a.return_id + " without a decision");
      continue;
    }
    const Lead* lead = store_->view().find_lead(a.lead_id);
    const Preview pv = shadow->preview(DraftInput{a.return_id, a.lead_id, a.reason, a.note}, now_);
    for (const std::string& d :
         compare_decision(pv, lead != nullptr ? lead->price_cents : 0, decision, r.code)) {
      problems_.push_back("differential: submit " + a.return_id + " of " + a.lead_id + " at v" +
                          std::to_string(version_before) + ": " + d);
    }
    ++stats_.decisions_compared;
    // Which check decided (the evaluation's last), so a run shows every rule was exercised.
    const std::string decided_by =
        pv.evaluation && !pv.evaluation->checks.empty() ? pv.evaluation->checks.back().check : "";
    ++stats_.outcomes[decision ? std::string(to_string(decision->outcome)) + "/" + decided_by
                               : "refused:" + std::string(to_string(*r.code))];
  }
}

void Simulation::check_final_previews(std::vector<std::string>& problems) {
  // Healed and synced: each buyer client's preview of every lead it holds, for every reason,
  // equals the core's answer on the server's state.
  int n = 0;
  for (Client& c : clients_) {
    if (c.is_operator || !c.engine->principal()) continue;
    const Actor actor = Actor::buyer(c.buyer_id);
    for (const Json& lead : c.engine->rows("lead", now_)) {
      for (Reason reason : all_reasons()) {
        const DraftInput d{"X-final-" + std::to_string(++n), str_of(lead, "id"), reason,
                           "final check note"};
        const Preview mine = preview_draft(actor, d, c.engine->view(now_), now_);
        const Preview server = preview_draft(actor, d, store_->view(), now_);
        ++stats_.previews_compared;
        std::string what;
        if (mine.evaluation != server.evaluation) what += " evaluation";
        if (mine.evidence != server.evidence) what += " evidence";
        if (mine.facts != server.facts) what += " facts";
        if (mine.validation.errors != server.validation.errors) what += " errors";
        if (!what.empty()) {
          problems.push_back("differential: " + c.client_id + " previews " + d.lead_id + " " +
                             std::string(to_string(reason)) + " unlike the server:" + what +
                             (mine.facts && server.facts
                                  ? "\n    portal " + to_json(*mine.facts).dump() +
                                        "\n    server " + to_json(*server.facts).dump()
                                  : std::string()));
        }
      }
    }
  }
}

int run_main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::uint64_t {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--seeds") {
      o.seeds = value();
    } else if (a == "--first") {
      o.first = value();
    } else if (a == "--seed") {
      o.first = value();
      o.seeds = 1;
      o.single = true;
    } else if (a == "--inject-bug") {
      o.inject_bug = true;
    } else if (a == "--inject-facts-bug") {
      o.inject_facts_bug = true;
    } else if (a == "--expect-failure") {
      o.expect_failure = true;
    } else if (a == "--no-compact") {
      o.compact = false;
    } else if (a == "--steps") {
      o.chaos_steps = static_cast<int>(value());
    } else {
      std::fprintf(stderr,
                   "usage: sim [--seeds N] [--first S] [--seed S] [--steps K] [--inject-bug] "
                   "[--inject-facts-bug] [--expect-failure] [--no-compact]\n");
      return 2;
    }
  }
  const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const auto start = std::chrono::steady_clock::now();
  Stats total;
  std::uint64_t failed = 0;
  for (std::uint64_t seed = o.first; seed < o.first + o.seeds; ++seed) {
    const std::string path =
        dir + "/returns-sim-" + std::to_string(getpid()) + "-" + std::to_string(seed) + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    std::vector<std::string> problems;
    Stats stats;
    std::vector<std::string> trace;
    {
      Simulation sim(seed, o, path);
      problems = sim.run();
      stats = sim.stats();
      trace = sim.trace;
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    total.add(stats);
    if (!problems.empty()) {
      ++failed;
      if (!o.expect_failure || o.single) {
        std::printf("FAIL seed %llu (%zu problems):\n", static_cast<unsigned long long>(seed),
                    problems.size());
        for (std::size_t k = 0; k < problems.size() && k < 12; ++k)
          std::printf("  %s\n", problems[k].c_str());
        if (o.single)
          for (const std::string& t : trace) std::printf("  trace: %s\n", t.c_str());
        std::printf(
            "  reproduce: %s --seed %llu%s%s%s%s\n", argv[0], static_cast<unsigned long long>(seed),
            o.inject_bug ? " --inject-bug" : "", o.inject_facts_bug ? " --inject-facts-bug" : "",
            o.compact ? "" : " --no-compact",
            o.chaos_steps != 2000 ? (" --steps " + std::to_string(o.chaos_steps)).c_str() : "");
      }
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "sim: %llu seeds from %llu, %llu failed, %.1f s | ops %lld (applied %lld, refused %lld), "
      "frames %lld, connections %lld, drops %lld, duplicates %lld, reorders %lld, cuts %lld, "
      "server crashes %lld%s\n",
      static_cast<unsigned long long>(o.seeds), static_cast<unsigned long long>(o.first),
      static_cast<unsigned long long>(failed), secs, static_cast<long long>(total.ops),
      static_cast<long long>(total.applied), static_cast<long long>(total.refused),
      static_cast<long long>(total.frames), static_cast<long long>(total.connections),
      static_cast<long long>(total.drops), static_cast<long long>(total.duplicates),
      static_cast<long long>(total.reorders), static_cast<long long>(total.disconnects),
      static_cast<long long>(total.crashes),
      o.inject_bug || o.inject_facts_bug ? " [bug injected]" : "");
  std::string outcomes;
  for (const auto& [k, n] : total.outcomes) outcomes += " " + k + " " + std::to_string(n);
  std::printf(
      "sim: preview = decision: %lld submits compared at the version decided on (%lld on leads "
      "the portal no longer held), %lld final previews compared; decided:%s\n",
      static_cast<long long>(total.decisions_compared),
      static_cast<long long>(total.decisions_unheld),
      static_cast<long long>(total.previews_compared), outcomes.c_str());
  std::printf("sim: log compacted %lld times, %lld superseded events dropped\n",
              static_cast<long long>(total.compactions),
              static_cast<long long>(total.events_compacted));
  if (o.expect_failure) {
    std::printf(failed > 0 ? "sim: the checks caught the injected bug\n"
                           : "sim: expected a failure, but every seed passed\n");
    return failed > 0 ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace returns::sim

int main(int argc, char** argv) { return returns::sim::run_main(argc, argv); }
