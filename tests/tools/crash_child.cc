// crash_child.cc — the program the crash test (tests/store/crash_test.cc) starts and SIGKILLs.
// It opens a store (setting up buyers, suppliers, campaigns and leads once, idempotently, so a
// kill during setup is fine too), then pushes ops from several client threads through the
// GroupWriter while a feeder posts lead-ingest jobs. Per client, seqs continue from
// Store::last_seq, so every restart resumes where the last one stopped. On stdout:
//   READY                                     the store is open and the clients start
//   SUB <client> <seq> <op> <target> <x>      before an op is submitted (target: the return
//                                             id, or the buyer id of set_policy; x: lead id for
//                                             submit/save_draft, message id for a post, else "-")
//   ACK <client> <seq> <applied|rejected> <code|->   from the op's completion, i.e. only after
//                                             its transaction committed
//   DONE <acks>                               after SIGTERM: clients stopped, writer drained
// Each line is one write(2) to fd 1 (atomic on a pipe, never stuck in a stdio buffer).
//
// Usage: store_crash_child --db PATH [--sync full|normal] [--seed N]
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/group_writer.h"
#include "store/store.h"

namespace {

using returns::Actor;
using returns::Billing;
using returns::Buyer;
using returns::Campaign;
using returns::Json;
using returns::Lead;
using returns::Millis;
using returns::Money;
using returns::Result;
using returns::Status;
using returns::Supplier;
using returns::store::GroupWriter;
using returns::store::OpRequest;
using returns::store::OpResult;
using returns::store::Store;
using returns::store::StoreOptions;

constexpr int kInitialLeads = 300;
constexpr int kFeedLeads = 12;  // leads per ingest job
constexpr int kWindow = 4;      // ops in flight per client
constexpr int kBuyerClients = 6;
constexpr int kOperatorClients = 3;
constexpr std::array<const char*, 3> kBuyers = {"B1", "B2", "B3"};
constexpr std::array<const char*, 3> kCampaigns = {"C1", "C2", "C3"};
constexpr std::array<const char*, 3> kVerticals = {"mva", "solar", "mva"};
constexpr std::array<Money, 3> kPrices = {5000, 8000, 6000};
constexpr std::array<const char*, 5> kReasons = {"bad_contact", "wrong_vertical", "duplicate",
                                                 "tcpa_risk", "out_of_service_area"};

class SystemClock final : public returns::Clock {
 public:
  Millis now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

void emit(const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(1, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::_Exit(5);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "store_crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

// Lead i of the initial set: buyer i % 3; a quarter are older than the 24 h auto-accept rule.
Millis lead_age(int i) { return (i % 4 == 0 ? 30 : 2) * returns::kMillisPerHour; }

Lead make_lead(const std::string& id, int n, Millis delivered_at) {
  const int b = n % 3;
  Lead l;
  l.id = id;
  l.buyer_id = kBuyers[static_cast<std::size_t>(b)];
  l.supplier_id = (n / 3) % 2 == 0 ? "S1" : "S2";
  l.campaign_id = kCampaigns[static_cast<std::size_t>(b)];
  l.vertical = n % 7 == 0 ? "slip_and_fall" : kVerticals[static_cast<std::size_t>(b)];
  l.state = n % 11 == 0 ? "NV" : "TX";
  l.zip = "75001";
  l.contact_hash = "h" + std::to_string(n % 50);
  l.tcpa_flag = n % 5 == 0;
  l.price_cents = kPrices[static_cast<std::size_t>(b)];
  l.cost_cents = kPrices[static_cast<std::size_t>(b)] * 6 / 10;
  l.delivered_at = delivered_at;
  return l;
}

// Idempotent: whatever a killed earlier run left behind, this completes it.
void setup(Store& store, Millis now) {
  for (std::size_t b = 0; b < kBuyers.size(); ++b) {
    if (store.view().find_buyer(kBuyers[b]) != nullptr) continue;
    Buyer buyer{kBuyers[b],
                std::string("Buyer ") + kBuyers[b],
                b == 2 ? Billing::net_terms : Billing::prepaid,
                {},
                returns::default_policy()};
    buyer.coverage.states = {"TX", "OK"};
    if (b != 0) buyer.policy.mode = returns::PolicyMode::manual;
    if (Status s = store.put_buyer(buyer, now); !s.ok()) die("put_buyer: " + s.error().message);
  }
  for (const Supplier& s :
       {Supplier{"S1", "Pass-through supplier", true}, Supplier{"S2", "Plain supplier", false}}) {
    if (store.view().find_supplier(s.id) != nullptr) continue;
    if (Status st = store.put_supplier(s, now); !st.ok())
      die("put_supplier: " + st.error().message);
  }
  for (std::size_t b = 0; b < kCampaigns.size(); ++b) {
    if (store.view().find_campaign(kCampaigns[b]) != nullptr) continue;
    const Campaign c{kCampaigns[b], kBuyers[b], kVerticals[b], kPrices[b]};
    if (Status s = store.put_campaign(c, now); !s.ok()) die("put_campaign: " + s.error().message);
  }
  // The initial leads go in with one ingest (one transaction); a re-send is unchanged.
  Millis base = now;
  if (const Lead* l0 = store.view().find_lead("L0")) base = l0->delivered_at + lead_age(0);
  std::vector<Lead> leads;
  for (int i = 0; i < kInitialLeads; ++i) {
    std::string id = "L";
    id += std::to_string(i);  // appended: GCC 12 flags `"L" + to_string` with -Wrestrict at -O3
    leads.push_back(make_lead(id, i, base - lead_age(i)));
  }
  Result<returns::store::IngestResult> r = store.ingest_leads(leads, now);
  if (!r.ok()) die("ingest: " + r.error().message);
  if (!r->refused.empty()) die("ingest refused: " + r->refused.front().message);
}

std::int64_t count_x_leads(Store& store) {
  Result<returns::store::Statement> st =
      store.db().prepare("SELECT COUNT(*) FROM leads WHERE id LIKE 'X%'");
  if (!st.ok()) die(st.error().message);
  return st->step() ? st->int64(0) : 0;
}

struct Shared {
  std::mutex mu;
  std::array<std::vector<std::string>, 3> returns;  // submitted return ids by buyer index
  std::atomic<int> x_leads{0};
  std::atomic<bool> stop{false};
  std::atomic<long> acks{0};

  std::string recent_return(int buyer, std::mt19937_64& rng) {
    std::lock_guard<std::mutex> lock(mu);
    const auto& v = returns[static_cast<std::size_t>(buyer)];
    if (v.empty()) return {};
    const std::size_t window = std::min<std::size_t>(v.size(), 48);
    return v[v.size() - 1 - rng() % window];
  }
  void add_return(int buyer, std::string id) {
    std::lock_guard<std::mutex> lock(mu);
    returns[static_cast<std::size_t>(buyer)].push_back(std::move(id));
  }
};

struct Client {
  std::string id;
  bool is_operator = false;
  int buyer = 0;  // buyer clients: index into kBuyers
  Actor actor;
  std::int64_t seq = 0;  // last seq used
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::vector<std::pair<std::string, std::string>> drafts;  // saved, unused: (return, lead)

  std::optional<std::pair<std::string, std::string>> take_draft(std::mt19937_64& rng) {
    std::lock_guard<std::mutex> lock(mu);
    if (drafts.empty()) return std::nullopt;
    const std::size_t i = rng() % drafts.size();
    auto d = drafts[i];
    drafts.erase(drafts.begin() + static_cast<std::ptrdiff_t>(i));
    return d;
  }
};

struct Planned {
  OpRequest req;
  std::string return_id;
  std::string extra = "-";
  int buyer = 0;
};

// One of the buyer's leads: initial or fed.
std::string pick_lead(int buyer, Shared& shared, std::mt19937_64& rng) {
  const int xs = shared.x_leads.load();
  if (xs > 3 && rng() % 2 == 0) {
    int n = static_cast<int>(rng() % static_cast<unsigned>(xs));
    n -= ((n % 3) - buyer + 3) % 3;
    if (n < 0) n += 3;
    return "X" + std::to_string(n);
  }
  const int k = static_cast<int>(rng() % (kInitialLeads / 3));
  return "L" + std::to_string(k * 3 + buyer);
}

Planned plan_op(Client& c, Shared& shared, std::mt19937_64& rng, Millis now) {
  Planned p;
  p.req.client_id = c.id;
  p.req.seq = ++c.seq;
  p.req.actor = c.actor;
  p.req.client_time = now;
  const std::string tag = c.id + "-" + std::to_string(c.seq);
  const unsigned r = static_cast<unsigned>(rng() % 100);
  if (!c.is_operator) {
    p.buyer = c.buyer;
    std::string existing = r >= 66 ? shared.recent_return(c.buyer, rng) : std::string();
    std::optional<std::pair<std::string, std::string>> draft;
    if (r >= 55 && r < 66) draft = c.take_draft(rng);
    if (draft && r < 62) {  // submit a saved draft
      p.return_id = draft->first;
      p.extra = draft->second;
      p.req.op = "submit_return";
      p.req.args = Json{{"return_id", p.return_id},
                        {"lead_id", p.extra},
                        {"reason", kReasons[rng() % kReasons.size()]}};
    } else if (draft) {
      p.return_id = draft->first;
      p.req.op = "discard_draft";
      p.req.args = Json{{"return_id", p.return_id}};
    } else if (r >= 45 && r < 55) {  // save a new draft
      p.return_id = "R-" + tag;
      p.extra = pick_lead(c.buyer, shared, rng);
      p.req.op = "save_draft";
      p.req.args = Json{{"return_id", p.return_id}, {"lead_id", p.extra}, {"drafted_at", now}};
      if (rng() % 2 == 0) p.req.args["reason"] = kReasons[rng() % kReasons.size()];
    } else if (existing.empty()) {  // a new return, submitted at once
      p.return_id = "R-" + tag;
      p.extra = pick_lead(c.buyer, shared, rng);
      p.req.op = "submit_return";
      p.req.args = Json{{"return_id", p.return_id},
                        {"lead_id", p.extra},
                        {"reason", kReasons[rng() % kReasons.size()]},
                        {"drafted_at", now - 1000}};
    } else if (r < 90) {
      p.return_id = existing;
      p.extra = "M-" + tag;
      p.req.op = "post_message";
      p.req.args = Json{{"return_id", existing},
                        {"message_id", p.extra},
                        {"body", "Nobody answers this number."}};
    } else {
      p.return_id = existing;
      p.req.op = "withdraw_return";
      p.req.args = Json{{"return_id", existing}};
    }
    return p;
  }
  p.buyer = static_cast<int>(rng() % 3);
  p.return_id = shared.recent_return(p.buyer, rng);
  if (p.return_id.empty()) p.return_id = "R-none";  // refused: RETURN_NOT_FOUND
  if (r < 3) {  // flip a buyer's policy: changes how later submits are decided
    returns::Policy policy = returns::default_policy();
    const auto mode = rng() % 3;
    policy.mode = mode == 0   ? returns::PolicyMode::rules
                  : mode == 1 ? returns::PolicyMode::manual
                              : returns::PolicyMode::always_accept;
    p.return_id = kBuyers[static_cast<std::size_t>(p.buyer)];
    p.req.op = "set_policy";
    p.req.args = Json{{"buyer_id", p.return_id}, {"policy", returns::to_json(policy)}};
  } else if (r < 35) {
    p.req.op = "accept_return";
    p.req.args = Json{{"return_id", p.return_id}};
    if (rng() % 2 == 0) {
      const Money price = kPrices[static_cast<std::size_t>(p.buyer)];
      p.req.args["credit_cents"] = 1 + static_cast<Money>(rng() % static_cast<unsigned>(price));
    }
    if (const auto cb = rng() % 3; cb != 2) p.req.args["charge_back"] = cb == 0;
  } else if (r < 55) {
    p.req.op = "reject_return";
    p.req.args = Json{{"return_id", p.return_id}, {"note", "The contact answered our call."}};
  } else if (r < 75) {
    p.req.op = "reopen_return";
    p.req.args = Json{{"return_id", p.return_id}, {"note", "Second look."}};
  } else {
    p.extra = "M-" + tag;
    p.req.op = "post_message";
    p.req.args = Json{{"return_id", p.return_id},
                      {"message_id", p.extra},
                      {"body", "Can you share the call recording?"}};
  }
  return p;
}

void on_done(Client& c, Shared& shared, const Planned& p, const Result<OpResult>& r) {
  if (!r.ok()) die("batch failed: " + r.error().message);
  const OpResult& res = *r;
  if (res.duplicate || res.code == returns::ErrorCode::SEQ_GAP) {
    die("unexpected answer for " + c.id + " " + std::to_string(res.seq) + ": " + res.message);
  }
  emit("ACK " + res.client_id + " " + std::to_string(res.seq) + " " +
       (res.applied ? "applied" : "rejected") + " " +
       (res.code ? std::string(returns::to_string(*res.code)) : std::string("-")) + "\n");
  shared.acks.fetch_add(1);
  if (res.applied && p.req.op == "submit_return") shared.add_return(p.buyer, p.return_id);
  std::lock_guard<std::mutex> lock(c.mu);
  if (res.applied && p.req.op == "save_draft") c.drafts.emplace_back(p.return_id, p.extra);
  --c.in_flight;
  c.cv.notify_all();
}

void run_client(Client& c, Shared& shared, GroupWriter& writer, const returns::Clock& clock,
                std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  while (!shared.stop.load()) {
    {
      std::unique_lock<std::mutex> lock(c.mu);
      if (!c.cv.wait_for(lock, std::chrono::milliseconds(20),
                         [&] { return c.in_flight < kWindow; })) {
        continue;
      }
      ++c.in_flight;
    }
    auto p = std::make_shared<Planned>(plan_op(c, shared, rng, clock.now_ms()));
    emit("SUB " + c.id + " " + std::to_string(p->req.seq) + " " + p->req.op + " " + p->return_id +
         " " + p->extra + "\n");
    OpRequest req = p->req;
    if (!writer.submit(std::move(req), [&c, &shared, p](const Result<OpResult>& r) {
          on_done(c, shared, *p, r);
        })) {
      die("submit refused for " + c.id);
    }
  }
  // Stopping: everything submitted gets answered before the client leaves.
  std::unique_lock<std::mutex> lock(c.mu);
  c.cv.wait(lock, [&] { return c.in_flight == 0; });
}

// Posts an ingest job now and then: exercises post() between batches under load.
void run_feeder(Shared& shared, GroupWriter& writer, const returns::Clock& clock) {
  while (!shared.stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    writer.post([&shared, &clock](Store& store) {
      const std::int64_t n0 = count_x_leads(store);
      const Millis now = clock.now_ms();
      std::vector<Lead> leads;
      for (std::int64_t n = n0; n < n0 + kFeedLeads; ++n) {
        leads.push_back(
            make_lead("X" + std::to_string(n), static_cast<int>(n), now - returns::kMillisPerHour));
      }
      Result<returns::store::IngestResult> r = store.ingest_leads(leads, now);
      if (!r.ok()) die("feed: " + r.error().message);
      if (r->inserted != kFeedLeads) die("feed inserted " + std::to_string(r->inserted));
      shared.x_leads.store(static_cast<int>(n0 + kFeedLeads));
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  StoreOptions options;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--db" && has_value) {
      path = argv[++i];
    } else if (a == "--sync" && has_value) {
      const std::string v = argv[++i];
      if (v != "full" && v != "normal") die("--sync full|normal");
      options.sync = v == "full" ? returns::store::Database::Sync::full
                                 : returns::store::Database::Sync::normal;
    } else if (a == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      die("usage: store_crash_child --db PATH [--sync full|normal] [--seed N]");
    }
  }
  if (path.empty()) die("--db is required");

  // SIGTERM is taken by sigwait below; every thread inherits the mask.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);

  SystemClock clock;
  Result<std::unique_ptr<Store>> opened = Store::open(path, options);
  if (!opened.ok()) die("open: " + opened.error().message);
  std::unique_ptr<Store> store = std::move(opened).value();
  setup(*store, clock.now_ms());

  Shared shared;
  shared.x_leads.store(static_cast<int>(count_x_leads(*store)));
  {
    Result<returns::store::Statement> st =
        store->db().prepare("SELECT id, buyer_id FROM returns ORDER BY submitted_at, id");
    if (!st.ok()) die(st.error().message);
    while (st->step()) {
      const std::string buyer = st->text(1);
      for (std::size_t b = 0; b < kBuyers.size(); ++b) {
        if (buyer == kBuyers[b]) shared.returns[b].push_back(st->text(0));
      }
    }
  }
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kBuyerClients + kOperatorClients; ++i) {
    auto c = std::make_unique<Client>();
    if (i < kBuyerClients) {
      c->id = "b" + std::to_string(i);
      c->buyer = i % 3;
      c->actor = Actor::buyer(kBuyers[static_cast<std::size_t>(c->buyer)], c->id);
    } else {
      c->id = "o" + std::to_string(i - kBuyerClients);
      c->is_operator = true;
      c->actor = Actor::operator_("op-" + c->id);
    }
    c->seq = store->last_seq(c->id);
    clients.push_back(std::move(c));
  }

  GroupWriter writer(*store, clock);
  emit("READY\n");
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    threads.emplace_back(run_client, std::ref(*clients[i]), std::ref(shared), std::ref(writer),
                         std::cref(clock), seed * 1000003u + i);
  }
  threads.emplace_back(run_feeder, std::ref(shared), std::ref(writer), std::cref(clock));

  int sig = 0;
  while (sigwait(&term, &sig) != 0) {
  }
  shared.stop.store(true);
  for (std::thread& t : threads) t.join();
  writer.stop();
  emit("DONE " + std::to_string(shared.acks.load()) + "\n");
  return 0;
}
