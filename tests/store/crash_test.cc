// crash_test.cc — SIGKILLs a store under load (tests/tools/crash_child.cc) at random points, many
// times, and after every kill reopens the database and checks: integrity_check is "ok"; every
// op the child acknowledged is stored exactly once with the same answer and its effects;
// clients.last_seq covers every acknowledged seq and op_results has no row beyond it; and no op
// is half-applied — the ledger of every return matches its state, lead status matches the
// returns, aggregates match the rows, and the event log matches the rows it describes.
// Runs with synchronous=FULL and, for fewer kills, NORMAL (a process kill must lose nothing in
// either mode). A last run per database ends with SIGTERM and must answer everything it took.
//
// RETURNS_CRASH_KILLS=N: kills with FULL (default 25; NORMAL gets a third, at least 3).
// RETURNS_CRASH_SEED=S: the schedule's seed (default a fixed one, printed with every run and
// failure, so a run is repeatable); RETURNS_CRASH_SEED=random explores a fresh schedule.
// RETURNS_CRASH_CHILD=PATH: the child program (default: the build's store_crash_child).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "store/sqlite_db.h"
#include "store/store.h"
#include "store/temp_db.h"

extern char** environ;

namespace returns::store {
namespace {

using Key = std::pair<std::string, std::int64_t>;  // (client id, seq)

std::string key_str(const Key& k) { return k.first + "#" + std::to_string(k.second); }

std::string child_path() {
  if (const char* e = std::getenv("RETURNS_CRASH_CHILD"); e != nullptr && *e != 0) return e;
#ifdef RETURNS_CRASH_CHILD
  if (std::filesystem::exists(RETURNS_CRASH_CHILD)) return RETURNS_CRASH_CHILD;
#endif
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "store_crash_child").string();
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == 0) return fallback;
  return std::atoi(v);
}

struct Ack {
  std::string status;  // applied | rejected
  std::string code;    // "-" when applied
};
struct Sub {
  std::string op;
  std::string return_id;  // the target: a return id, or the buyer id of set_policy
  std::string extra;      // lead id (submit, save_draft), message id (post), else "-"
};

// What one child run printed.
struct RunLog {
  std::vector<std::pair<Key, Ack>> acks;  // in the order they arrived
  std::map<Key, Sub> subs;
  bool ready = false;
  bool done = false;
  bool signalled = false;  // we sent the signal (rather than the child ending on its own)
  int wait_status = 0;
  std::string error;  // a problem with the run itself
};

enum class Ending { kill, term };

struct RunPlan {
  std::string db;
  std::string sync;  // full | normal
  std::uint64_t seed = 0;
  int delay_ms = 0;
  bool after_first_ack = false;  // count the delay from the first ACK rather than the spawn
  Ending ending = Ending::kill;
};

void parse_line(const std::string& line, RunLog& log) {
  std::istringstream in(line);
  std::string tag;
  in >> tag;
  if (tag == "ACK") {
    Key k;
    Ack a;
    in >> k.first >> k.second >> a.status >> a.code;
    if (!in) log.error = "bad line: " + line;
    log.acks.emplace_back(std::move(k), std::move(a));
  } else if (tag == "SUB") {
    Key k;
    Sub s;
    in >> k.first >> k.second >> s.op >> s.return_id >> s.extra;
    if (!in) log.error = "bad line: " + line;
    log.subs[k] = std::move(s);
  } else if (tag == "READY") {
    log.ready = true;
  } else if (tag == "DONE") {
    log.done = true;
  } else {
    log.error = "unexpected line: " + line;
  }
}

// Starts the child, reads its lines, signals it when planned, reads to EOF and reaps it.
RunLog run_child(const RunPlan& plan) {
  RunLog log;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    log.error = "pipe2 failed";
    return log;
  }
  const std::string exe = child_path();
  const std::string seed = std::to_string(plan.seed);
  std::vector<std::string> args = {exe, "--db", plan.db, "--sync", plan.sync, "--seed", seed};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    log.error = "cannot start " + exe + ": " + std::strerror(rc);
    return log;
  }

  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto give_up = started + std::chrono::seconds(60);
  auto deadline = plan.after_first_ack ? Clock::time_point::max()
                                       : started + std::chrono::milliseconds(plan.delay_ms);
  std::string pending;
  char buf[65536];
  for (;;) {
    const auto now = Clock::now();
    if (!log.signalled && now >= deadline) {
      ::kill(pid, plan.ending == Ending::kill ? SIGKILL : SIGTERM);
      log.signalled = true;
    }
    if (now >= give_up) {
      ::kill(pid, SIGKILL);
      log.error = "the child did not finish in time";
      log.signalled = true;
    }
    const auto until = log.signalled ? give_up : std::min(deadline, give_up);
    const auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(wait_ms, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl = pending.find('\n'); nl != std::string::npos;
         nl = pending.find('\n', start)) {
      parse_line(pending.substr(start, nl - start), log);
      start = nl + 1;
    }
    pending.erase(0, start);
    if (plan.after_first_ack && deadline == Clock::time_point::max() && !log.acks.empty()) {
      deadline = Clock::now() + std::chrono::milliseconds(plan.delay_ms);
    }
  }
  ::close(fds[0]);
  if (!pending.empty()) log.error = "torn line: " + pending;
  ::waitpid(pid, &log.wait_status, 0);
  return log;
}

// Everything acknowledged and announced over all runs on one database.
struct History {
  std::map<Key, Ack> acks;
  std::map<Key, Sub> subs;
  std::map<std::string, std::int64_t> max_acked;
};

Statement query(Database& db, const std::string& sql) {
  Result<Statement> st = db.prepare(sql);
  if (!st.ok()) {
    ADD_FAILURE() << sql << ": " << st.error().message;
    return Statement();
  }
  return std::move(st).value();
}

// "R-b3-17" / "M-o1-5" → (client, seq); nullopt for other ids.
std::optional<Key> key_of(const std::string& id, char prefix) {
  if (id.size() < 5 || id[0] != prefix || id[1] != '-') return std::nullopt;
  const std::size_t dash = id.rfind('-');
  if (dash <= 2) return std::nullopt;
  return Key{id.substr(2, dash - 2), std::stoll(id.substr(dash + 1))};
}

struct AggRow {
  std::int64_t leads = 0, revenue = 0, cost = 0, returned = 0, credited = 0, chargeback = 0;
  friend bool operator==(const AggRow&, const AggRow&) = default;
};
std::ostream& operator<<(std::ostream& os, const AggRow& a) {
  return os << "{leads " << a.leads << ", revenue " << a.revenue << ", cost " << a.cost
            << ", returned " << a.returned << ", credited " << a.credited << ", chargeback "
            << a.chargeback << "}";
}

struct LeadRow {
  std::string buyer, supplier, campaign, status;
  std::int64_t price = 0, cost = 0, day = 0;
  std::string agg_key() const {
    return std::to_string(day) + "|" + buyer + "|" + supplier + "|" + campaign;
  }
};

struct LedgerRow {
  std::string id, kind, return_id, lead_id, reverses;
  std::int64_t seq = 0, amount = 0;
};

// Checks the database against the history. Returns the number of stored op results.
std::size_t verify(const std::string& path, const History& h) {
  Result<std::unique_ptr<Database>> opened = Database::open(path);
  if (!opened.ok()) {
    ADD_FAILURE() << "reopen: " << opened.error().message;
    return 0;
  }
  Database& db = **opened;

  // 1. The file itself.
  {
    Statement st = query(db, "PRAGMA integrity_check");
    std::vector<std::string> rows;
    while (st.step()) rows.push_back(st.text(0));
    EXPECT_EQ(rows, std::vector<std::string>{"ok"});
    Statement fk = query(db, "PRAGMA foreign_key_check");
    EXPECT_FALSE(fk.step()) << "foreign key violation in " << fk.text(0);
  }
  // Killed before the schema's transaction committed: nothing at all, and nothing acknowledged.
  if (Statement uv = query(db, "PRAGMA user_version"); uv.step() && uv.int64(0) == 0) {
    Statement tables = query(db, "SELECT COUNT(*) FROM sqlite_master");
    EXPECT_TRUE(tables.step() && tables.int64(0) == 0) << "a half-created schema";
    EXPECT_TRUE(h.acks.empty()) << "acknowledged ops without a schema";
    return 0;
  }

  // 2. Exactly-once bookkeeping: per client, op_results holds seqs 1..last_seq, nothing else.
  std::map<std::string, std::int64_t> last_seq;
  {
    Statement st = query(db, "SELECT client_id, last_seq FROM clients");
    while (st.step()) last_seq[st.text(0)] = st.int64(1);
  }
  struct OpRow {
    std::string op, status, code;
    std::int64_t version = 0;
  };
  std::map<Key, OpRow> ops;
  {
    Statement st = query(db, "SELECT client_id, seq, op, status, code, version FROM op_results");
    while (st.step()) {
      ops[Key{st.text(0), st.int64(1)}] =
          OpRow{st.text(2), st.text(3), st.is_null(4) ? "-" : st.text(4), st.int64(5)};
    }
  }
  {
    std::map<std::string, std::int64_t> count;
    for (const auto& [k, row] : ops) {
      ++count[k.first];
      EXPECT_TRUE(last_seq.count(k.first)) << "op result of unknown client " << key_str(k);
      EXPECT_GE(k.second, 1) << key_str(k);
      EXPECT_LE(k.second, last_seq[k.first]) << "op result beyond last_seq: " << key_str(k);
    }
    for (const auto& [client, seq] : last_seq) {
      EXPECT_EQ(count[client], seq) << "op results of " << client << " are not 1..last_seq";
    }
  }

  // 3. Every acknowledged op is stored with the answer the child was given.
  for (const auto& [k, ack] : h.acks) {
    auto it = ops.find(k);
    if (it == ops.end()) {
      ADD_FAILURE() << "acknowledged op lost: " << key_str(k);
      continue;
    }
    EXPECT_EQ(it->second.status, ack.status) << key_str(k);
    EXPECT_EQ(it->second.code, ack.code) << key_str(k);
    EXPECT_GE(last_seq[k.first], k.second) << key_str(k);
  }

  // Rows the op effects are checked against.
  std::map<std::string, ReturnCase> returns;
  std::map<std::string, std::string> return_data;
  {
    Statement st = query(db, "SELECT id, lead_id, buyer_id, state, data FROM returns");
    while (st.step()) {
      const std::string id = st.text(0);
      Result<Json> j = parse_json(st.text(4));
      if (!j.ok()) {
        ADD_FAILURE() << "return " << id << " data: " << j.error().message;
        continue;
      }
      Result<ReturnCase> r = decode_return(*j);
      if (!r.ok()) {
        ADD_FAILURE() << "return " << id << " data: " << r.error().message;
        continue;
      }
      EXPECT_EQ(r->id, id);
      EXPECT_EQ(r->lead_id, st.text(1)) << id;
      EXPECT_EQ(r->buyer_id, st.text(2)) << id;
      EXPECT_EQ(std::string(to_string(r->state)), st.text(3)) << id;
      returns[id] = *r;
      return_data[id] = st.text(4);
    }
  }
  std::map<std::string, std::string> messages;  // id → return id
  {
    Statement st = query(db, "SELECT id, return_id FROM messages");
    while (st.step()) messages[st.text(0)] = st.text(1);
  }
  struct EventRow {
    std::string entity, entity_id, data;
    bool deleted = false;
  };
  std::map<std::int64_t, EventRow> events;
  {
    Statement st = query(db, "SELECT version, entity, entity_id, deleted, data FROM events");
    while (st.step()) {
      events[st.int64(0)] = EventRow{st.text(1), st.text(2), st.text(4), st.int64(3) != 0};
    }
  }

  // Returns whose last event deleted them (discarded drafts).
  std::set<std::string> deleted_returns;
  {
    std::map<std::string, bool> last_deleted;
    for (const auto& [v, e] : events) {
      if (e.entity == "return") last_deleted[e.entity_id] = e.deleted;
    }
    for (const auto& [id, deleted] : last_deleted) {
      if (deleted) deleted_returns.insert(id);
      EXPECT_EQ(returns.count(id) == 0, deleted) << "return " << id << " vs its last event";
    }
  }

  // 4. Every stored op was announced, and an applied op's effects are all there.
  std::set<std::int64_t> applied_versions;
  std::set<std::string> applied_submits;  // return ids
  for (const auto& [k, row] : ops) {
    auto sub = h.subs.find(k);
    if (sub == h.subs.end()) {
      ADD_FAILURE() << "stored op was never submitted: " << key_str(k);
      continue;
    }
    const Sub& s = sub->second;
    EXPECT_EQ(row.op, s.op) << key_str(k);
    if (row.status != "applied") {
      EXPECT_EQ(row.status, "rejected") << key_str(k);
      EXPECT_NE(row.code, "-") << key_str(k);
      continue;
    }
    EXPECT_EQ(row.code, "-") << key_str(k);
    EXPECT_TRUE(applied_versions.insert(row.version).second)
        << "two applied ops share version " << row.version;
    if (s.op == "submit_return") {
      auto r = returns.find(s.return_id);
      if (r == returns.end()) {
        ADD_FAILURE() << "applied submit without its return: " << key_str(k);
      } else {
        EXPECT_EQ(r->second.lead_id, s.extra) << key_str(k);
        EXPECT_NE(r->second.state, ReturnState::draft) << key_str(k);
      }
    }
    if (s.op == "submit_return") applied_submits.insert(s.return_id);
    if (s.op == "save_draft" || s.op == "discard_draft") {
      // The draft is there, or a later discard removed it (its last event says deleted).
      const bool present = returns.count(s.return_id) != 0;
      EXPECT_EQ(present, s.op == "save_draft" && !deleted_returns.count(s.return_id))
          << key_str(k) << " " << s.op << " " << s.return_id;
    }
    if (s.op == "post_message") {
      auto m = messages.find(s.extra);
      if (m == messages.end()) {
        ADD_FAILURE() << "applied post without its message: " << key_str(k);
      } else {
        EXPECT_EQ(m->second, s.return_id) << key_str(k);
      }
    }
    // The op's last event is at its result's version and is about its return (after it only the
    // decision-facts rows the op changed).
    auto ev = events.find(row.version);
    while (ev != events.end() && ev != events.begin() && ev->second.entity == "buyer_day") --ev;
    if (ev == events.end()) {
      ADD_FAILURE() << "no event at version " << row.version << " of " << key_str(k);
    } else {
      const std::string& id = ev->second.entity_id;
      const bool about = id == s.return_id || id.rfind(s.return_id + "#", 0) == 0 ||
                         id == "routing:" + s.return_id || (id == s.extra && s.extra != "-");
      EXPECT_TRUE(about) << key_str(k) << " " << s.op << " " << s.return_id
                         << ": its version's event is " << ev->second.entity << " " << id;
    }
  }
  // Rows made by ops belong to stored ops.
  for (const auto& [id, r] : returns) {
    auto k = key_of(id, 'R');
    if (!k) {
      ADD_FAILURE() << "return with an unexpected id: " << id;
      continue;
    }
    // Made by the op with its key: a save_draft, or a submit (applied, or refused and kept
    // as a draft). Out of draft only through an applied submit.
    auto it = ops.find(*k);
    auto sub = h.subs.find(*k);
    if (it == ops.end() || sub == h.subs.end() || sub->second.return_id != id ||
        (it->second.op != "submit_return" && it->second.op != "save_draft")) {
      ADD_FAILURE() << "return " << id << " without the stored op that made it";
    } else if (it->second.status != "applied") {
      EXPECT_EQ(it->second.op, "submit_return") << "a refused save_draft left " << id;
    }
    if (r.state != ReturnState::draft) {
      EXPECT_TRUE(applied_submits.count(id)) << id << " left draft without an applied submit";
    }
  }
  for (const auto& [id, ret_id] : messages) {
    auto k = key_of(id, 'M');
    auto it = k ? ops.find(*k) : ops.end();
    if (it == ops.end() || it->second.op != "post_message" || it->second.status != "applied") {
      ADD_FAILURE() << "message " << id << " without its applied post";
    }
  }

  // 5. Events: a gapless log; each row's last event carries the row as it is.
  if (!events.empty()) {
    EXPECT_EQ(events.begin()->first, 1);
    EXPECT_EQ(events.rbegin()->first, static_cast<std::int64_t>(events.size()))
        << "event versions have gaps";
  }
  std::map<std::pair<std::string, std::string>, const EventRow*> last_event;
  std::map<std::pair<std::string, std::string>, int> event_count;
  for (const auto& [v, e] : events) {
    last_event[{e.entity, e.entity_id}] = &e;
    ++event_count[{e.entity, e.entity_id}];
  }
  for (const auto& [id, data] : return_data) {
    auto it = last_event.find({"return", id});
    if (it == last_event.end()) {
      ADD_FAILURE() << "return " << id << " has no event";
      continue;
    }
    EXPECT_FALSE(it->second->deleted) << id;
    Result<Json> a = parse_json(it->second->data);
    Result<Json> b = parse_json(data);
    if (!a.ok() || !b.ok()) {
      ADD_FAILURE() << "bad JSON for return " << id;
      continue;
    }
    EXPECT_EQ(*a, *b) << "the last event of return " << id << " differs from its row";
  }
  for (const auto& [id, ret_id] : messages) {
    EXPECT_EQ((event_count[{"message", id}]), 1) << "events of message " << id;
  }
  {
    Statement st = query(db, "SELECT id, data FROM buyers");
    while (st.step()) {
      const std::string id = st.text(0);
      auto it = last_event.find({"buyer", id});
      if (it == last_event.end()) {
        ADD_FAILURE() << "buyer " << id << " has no event";
        continue;
      }
      Result<Json> a = parse_json(it->second->data);
      Result<Json> b = parse_json(st.text(1));
      EXPECT_TRUE(a.ok() && b.ok() && *a == *b) << "the last event of buyer " << id;
    }
  }

  // 6. Leads and ledger.
  std::map<std::string, LeadRow> leads;
  {
    Statement st = query(db,
                         "SELECT id, buyer_id, supplier_id, campaign_id, status, price_cents, "
                         "cost_cents, delivered_at FROM leads");
    while (st.step()) {
      leads[st.text(0)] = LeadRow{st.text(1),  st.text(2),  st.text(3),          st.text(4),
                                  st.int64(5), st.int64(6), utc_day(st.int64(7))};
    }
  }
  std::map<std::string, std::string> buyer_billing;
  {
    Statement st = query(db, "SELECT id, data FROM buyers");
    while (st.step()) {
      Result<Json> j = parse_json(st.text(1));
      if (j.ok()) buyer_billing[st.text(0)] = j->value("billing", "");
    }
  }
  std::vector<LedgerRow> ledger;
  {
    Statement st = query(db,
                         "SELECT id, seq, kind, return_id, lead_id, amount_cents, reverses "
                         "FROM ledger");
    while (st.step()) {
      ledger.push_back(LedgerRow{st.text(0), st.text(2), st.text(3), st.text(4),
                                 st.is_null(6) ? "" : st.text(6), st.int64(1), st.int64(5)});
    }
  }
  std::set<std::int64_t> ledger_seqs;
  std::map<std::string, const LedgerRow*> by_id;
  std::map<std::string, std::vector<const LedgerRow*>> by_return;
  for (const LedgerRow& e : ledger) {
    EXPECT_TRUE(ledger_seqs.insert(e.seq).second) << "ledger seq reused: " << e.seq;
    EXPECT_TRUE(by_id.emplace(e.id, &e).second) << "ledger id twice: " << e.id;
    by_return[e.return_id].push_back(&e);
    EXPECT_EQ((event_count[{"ledger", e.id}]), 1) << "events of ledger entry " << e.id;
  }
  std::set<std::string> reversed;
  for (const LedgerRow& e : ledger) {
    if (e.reverses.empty()) continue;
    auto orig = by_id.find(e.reverses);
    if (orig == by_id.end()) {
      ADD_FAILURE() << e.id << " reverses a missing entry";
      continue;
    }
    EXPECT_EQ(e.id, e.reverses + "/reversal");
    EXPECT_EQ(e.kind, orig->second->kind) << e.id;
    EXPECT_EQ(e.amount, -orig->second->amount) << e.id;
    EXPECT_EQ(e.return_id, orig->second->return_id) << e.id;
    EXPECT_TRUE(reversed.insert(e.reverses).second) << e.reverses << " reversed twice";
  }
  for (const auto& [rid, entries] : by_return) {
    if (!returns.count(rid)) ADD_FAILURE() << "ledger entries of a missing return " << rid;
  }
  std::map<std::string, int> accepted_per_lead, blocking_per_lead;
  for (const auto& [rid, r] : returns) {
    const bool accepted = r.state == ReturnState::accepted;
    if (accepted) ++accepted_per_lead[r.lead_id];
    if (blocks_new_return(r.state)) ++blocking_per_lead[r.lead_id];
    std::set<int> accepts;
    std::map<std::string, Money> net;  // by kind, over originals and reversals
    for (const LedgerRow* e : by_return[rid]) {
      net[e->kind] += e->amount;
      EXPECT_EQ(e->lead_id, r.lead_id) << e->id;
      if (!e->reverses.empty()) continue;
      const std::string prefix = rid + "#";
      const std::size_t slash = e->id.find('/', prefix.size());
      if (e->id.rfind(prefix, 0) != 0 || slash == std::string::npos) {
        ADD_FAILURE() << "ledger id " << e->id;
        continue;
      }
      const int n = std::stoi(e->id.substr(prefix.size(), slash - prefix.size()));
      accepts.insert(n);
      const bool live = !reversed.count(e->id);
      EXPECT_EQ(live, accepted && n == r.accept_count)
          << e->id << " of a " << to_string(r.state) << " return with accept_count "
          << r.accept_count;
    }
    std::set<int> expected_accepts;
    for (int n = 1; n <= r.accept_count; ++n) expected_accepts.insert(n);
    EXPECT_EQ(accepts, expected_accepts) << "accepts of " << rid << " vs its ledger";
    const Money credit = accepted && r.decision ? r.decision->credit_cents : 0;
    const Money chargeback = accepted && r.decision ? r.decision->chargeback_cents : 0;
    if (accepted) {
      EXPECT_TRUE(r.decision.has_value()) << rid;
    }
    const bool prepaid = buyer_billing[r.buyer_id] == "prepaid";
    EXPECT_EQ(net["revenue_reversal"], -credit) << rid;
    EXPECT_EQ(net["wallet_credit"], prepaid ? credit : 0) << rid;
    EXPECT_EQ(net["invoice_adjustment"], prepaid ? 0 : -credit) << rid;
    EXPECT_EQ(net["supplier_chargeback"], -chargeback) << rid;
  }
  for (const auto& [id, l] : leads) {
    EXPECT_LE(blocking_per_lead[id], 1) << "open or accepted returns of lead " << id;
    EXPECT_EQ(l.status == "RETURNED", accepted_per_lead[id] == 1) << "status of lead " << id;
    auto ev = last_event.find({"lead", id});
    if (ev == last_event.end()) {
      ADD_FAILURE() << "lead " << id << " has no event";
    } else {
      Result<Json> j = parse_json(ev->second->data);
      EXPECT_TRUE(j.ok() && j->value("status", "") == l.status) << "the last event of lead " << id;
    }
  }

  // 7. Aggregates match the rows they summarise.
  std::map<std::string, AggRow> expected;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> expected_reason;  // returned, cr
  for (const auto& [id, l] : leads) {
    AggRow& a = expected[l.agg_key()];
    a.leads += 1;
    a.revenue += l.price;
    a.cost += l.cost;
    if (l.status == "RETURNED") a.returned += 1;
  }
  for (const auto& [rid, r] : returns) {
    if (r.state != ReturnState::accepted || !r.reason) continue;
    auto l = leads.find(r.lead_id);
    if (l == leads.end()) {
      ADD_FAILURE() << "return of a missing lead: " << rid;
      continue;
    }
    expected_reason[l->second.agg_key() + "|" + std::string(to_string(*r.reason))].first += 1;
  }
  for (const LedgerRow& e : ledger) {
    auto l = leads.find(e.lead_id);
    if (l == leads.end()) {
      ADD_FAILURE() << "ledger entry of a missing lead: " << e.id;
      continue;
    }
    if (e.kind == "revenue_reversal") {
      expected[l->second.agg_key()].credited -= e.amount;
      const ReturnCase& r = returns[e.return_id];
      if (r.reason) {
        expected_reason[l->second.agg_key() + "|" + std::string(to_string(*r.reason))].second -=
            e.amount;
      }
    } else if (e.kind == "supplier_chargeback") {
      expected[l->second.agg_key()].chargeback -= e.amount;
    }
  }
  {
    std::map<std::string, AggRow> actual;
    Statement st = query(db,
                         "SELECT day, buyer_id, supplier_id, campaign_id, leads, revenue_cents, "
                         "cost_cents, returned, credited_cents, chargeback_cents FROM agg_daily");
    while (st.step()) {
      const std::string key =
          std::to_string(st.int64(0)) + "|" + st.text(1) + "|" + st.text(2) + "|" + st.text(3);
      actual[key] =
          AggRow{st.int64(4), st.int64(5), st.int64(6), st.int64(7), st.int64(8), st.int64(9)};
    }
    for (const auto& [key, a] : actual) {
      if (!expected.count(key)) {
        EXPECT_EQ(a, AggRow{}) << "agg_daily " << key;
      }
    }
    for (const auto& [key, e] : expected) EXPECT_EQ(actual[key], e) << "agg_daily " << key;
  }
  {
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> actual;
    Statement st = query(db,
                         "SELECT day, buyer_id, supplier_id, campaign_id, reason, returned, "
                         "credited_cents FROM agg_reason");
    while (st.step()) {
      const std::string key = std::to_string(st.int64(0)) + "|" + st.text(1) + "|" + st.text(2) +
                              "|" + st.text(3) + "|" + st.text(4);
      actual[key] = {st.int64(5), st.int64(6)};
    }
    for (const auto& [key, a] : actual) {
      if (!expected_reason.count(key)) {
        EXPECT_EQ(a, (std::pair<std::int64_t, std::int64_t>{0, 0})) << "agg_reason " << key;
      }
    }
    for (const auto& [key, e] : expected_reason) {
      EXPECT_EQ(actual[key], e) << "agg_reason " << key;
    }
  }
  return ops.size();
}

// Folds one run into the history, checking what the run printed on its own terms.
void absorb(const RunLog& log, History& h) {
  EXPECT_TRUE(log.error.empty()) << log.error;
  for (const auto& [k, s] : log.subs) {
    // A seq an earlier run announced but never committed is announced again after a restart;
    // an acknowledged one never is.
    EXPECT_FALSE(h.acks.count(k)) << "a restart re-announced acknowledged " << key_str(k);
    h.subs[k] = s;
  }
  std::map<std::string, std::int64_t> prev;  // last ACK seq per client in this run
  for (const auto& [k, ack] : log.acks) {
    EXPECT_TRUE(log.subs.count(k)) << "ACK without SUB: " << key_str(k);
    EXPECT_FALSE(h.acks.count(k)) << "acknowledged twice: " << key_str(k);
    auto p = prev.find(k.first);
    if (p != prev.end()) {
      EXPECT_EQ(k.second, p->second + 1) << "ACKs of " << k.first << " out of order";
    } else if (auto m = h.max_acked.find(k.first); m != h.max_acked.end()) {
      EXPECT_GT(k.second, m->second) << "a restart reused seqs of " << k.first;
    }
    prev[k.first] = k.second;
    h.acks[k] = ack;
    std::int64_t& max = h.max_acked[k.first];
    max = std::max(max, k.second);
  }
}

void kill_loop(const std::string& sync, int kills, std::uint64_t seed) {
  SCOPED_TRACE("crash test seed " + std::to_string(seed) +
               " (RETURNS_CRASH_SEED=" + std::to_string(seed) + " replays it), sync " + sync);
  const TempDb db_file("crash_" + sync + "_" + std::to_string(seed));
  const TempDb snapshot_file("crash_check_" + sync + "_" + std::to_string(seed));
  const std::string& db = db_file.path();
  const std::string& snapshot = snapshot_file.path();
  auto cleanup = [&] {
    db_file.remove();
    snapshot_file.remove();
  };
  const auto started = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  History h;
  std::size_t stored = 0;
  int killed_under_load = 0;
  for (int i = 0; i <= kills; ++i) {
    RunPlan plan;
    plan.db = db;
    plan.sync = sync;
    plan.seed = rng();
    plan.delay_ms = 5 + static_cast<int>(rng() % 196);
    plan.after_first_ack = i > 0 && rng() % 2 == 0;
    plan.ending = i == kills ? Ending::term : Ending::kill;
    if (plan.ending == Ending::term) plan.after_first_ack = true;
    SCOPED_TRACE("run " + std::to_string(i) + " of " + std::to_string(kills + 1) + ", delay " +
                 std::to_string(plan.delay_ms) + " ms" +
                 (plan.after_first_ack ? " after the first ACK" : " after spawn"));
    const RunLog log = run_child(plan);
    if (plan.ending == Ending::kill) {
      const bool by_kill = WIFSIGNALED(log.wait_status) && WTERMSIG(log.wait_status) == SIGKILL;
      EXPECT_TRUE(log.signalled && by_kill)
          << "the child ended on its own (status " << log.wait_status << ")";
      if (!log.acks.empty()) ++killed_under_load;
    } else {
      EXPECT_TRUE(WIFEXITED(log.wait_status) && WEXITSTATUS(log.wait_status) == 0)
          << "clean stop failed (status " << log.wait_status << ")";
      EXPECT_TRUE(log.done) << "no DONE after SIGTERM";
      std::set<Key> acked;
      for (const auto& a : log.acks) acked.insert(a.first);
      for (const auto& [k, s] : log.subs) {
        EXPECT_TRUE(acked.count(k)) << "SIGTERM dropped the submitted op " << key_str(k);
      }
    }
    absorb(log, h);
    // Check a copy of the files as the kill left them (the database and its WAL; the shared
    // memory index is rebuilt, as after a reboot), so that the next child itself recovers
    // from the crashed state rather than from one this test's connection cleaned up.
    snapshot_file.remove();
    if (!std::filesystem::exists(db)) {
      // Killed before it created the database (a kill a few ms after spawn can land there): a
      // legitimate crash point, and then nothing can have been acknowledged yet.
      EXPECT_TRUE(h.acks.empty()) << "ops were acknowledged but no database file exists";
      if (::testing::Test::HasFailure()) break;
      continue;
    }
    std::filesystem::copy_file(db, snapshot);
    if (std::filesystem::exists(db + "-wal")) {
      std::filesystem::copy_file(db + "-wal", snapshot + "-wal");
    }
    stored = verify(snapshot, h);
    snapshot_file.remove();
    if (plan.ending == Ending::term) stored = verify(db, h);
    if (::testing::Test::HasFailure()) break;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "[ crash    ] sync=%s seed=%llu kills=%d (%d under load) acked=%zu stored=%zu "
      "in %.1f s\n",
      sync.c_str(), static_cast<unsigned long long>(seed), kills, killed_under_load, h.acks.size(),
      stored, seconds);
  EXPECT_GT(h.acks.size(), 0u) << "the child never acknowledged anything";
  EXPECT_GE(stored, h.acks.size());
  EXPECT_GT(killed_under_load, 0) << "no kill hit the child under load";
  if (::testing::Test::HasFailure()) {
    std::printf("[ crash    ] the database is kept for a look: %s\n", db.c_str());
  } else {
    cleanup();
  }
}

std::uint64_t crash_seed() {
  constexpr std::uint64_t kFixedSeed = 20'261'205;
  std::uint64_t seed = kFixedSeed;
  if (const char* s = std::getenv("RETURNS_CRASH_SEED"); s != nullptr && *s != 0) {
    seed = std::string(s) == "random" ? std::random_device{}() : std::strtoull(s, nullptr, 10);
  }
  std::printf("[ crash    ] seed %llu (RETURNS_CRASH_SEED=%llu replays it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

TEST(Crash, ChildIsThere) {
  EXPECT_TRUE(std::filesystem::exists(child_path()))
      << child_path() << " is missing: build the store_crash_child target";
}

TEST(Crash, KillLoopSyncFull) {
  kill_loop("full", std::max(1, env_int("RETURNS_CRASH_KILLS", 25)), crash_seed());
}

TEST(Crash, KillLoopSyncNormal) {
  kill_loop("normal", std::max(3, env_int("RETURNS_CRASH_KILLS", 25) / 3), crash_seed() + 1);
}

}  // namespace
}  // namespace returns::store
