// sqlite_baseline.cc — what SQLite and this disk allow, without returnsd: the rows one
// auto-accepted submit writes (the return, the lead's status, a ledger entry, three aggregate
// upserts, four events, the client's seq and the stored result), written straight into the
// real schema with prepared statements and no reads, no rules and no network, in transactions
// of N ops, WAL and `synchronous` as the server uses them. The ratio of `lean_load`'s ceiling to
// this is the price of everything else (BENCHMARKS.md "The server's ceiling").
//
//   sqlite_baseline [--ops N] [--batches 1,64,1024] [--sync full|normal] [--db PATH]
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "core/types.h"
#include "store/schema.h"
#include "store/sqlite_db.h"

namespace {

using namespace returns;
using namespace returns::store;

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "sqlite_baseline: %s\nusage: sqlite_baseline [--ops N] [--batches 1,64,1024] "
               "[--sync full|normal] [--db PATH]\n",
               why.c_str());
  std::exit(2);
}

// A JSON-sized text of about `n` bytes (the rows' data columns hold the core codec's JSON).
std::string blob(const std::string& id, std::size_t n) {
  std::string s = R"({"id":")" + id + R"(","pad":")";
  s.append(n > s.size() + 2 ? n - s.size() - 2 : 0, 'x');
  return s + "\"}";
}

struct Writer {
  Database& db;
  Statement& ret;
  Statement& lead;
  Statement& ledger;
  Statement& daily;
  Statement& reason;
  Statement& autos;
  Statement& event;
  Statement& client;
  Statement& result;
  std::int64_t ledger_seq = 0;

  void check(const Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "sqlite_baseline: %s\n", s.error().message.c_str());
      std::exit(1);
    }
  }
  void op(std::int64_t i, Millis now) {
    const std::string rid = "R-" + std::to_string(i);
    const std::string lid = "L-" + std::to_string(i);
    const std::string buyer = "B-" + std::to_string(i % 100);
    const std::int64_t day = now / kMillisPerDay;
    check(ret.bind(1, rid)
              .bind(2, lid)
              .bind(3, buyer)
              .bind(4, "accepted")
              .bind(5, "bad_contact")
              .bind(6, now)
              .bind(7, "auto:fast")
              .bind(8, now)
              .bind(9, blob(rid, 420))
              .run());
    check(lead.bind(1, lid).bind(2, "RETURNED").bind(3, now).run());
    check(ledger.bind(1, rid + "#1")
              .bind(2, ++ledger_seq)
              .bind(3, "revenue_reversal")
              .bind(4, rid)
              .bind(5, lid)
              .bind(6, buyer)
              .bind(7, "S-1")
              .bind(8, -2000)
              .bind(9, now)
              .bind(11, blob(rid, 260))
              .run());
    for (int k = 0; k < 2; ++k) {
      check(daily.bind(1, day).bind(2, buyer).bind(3, "S-1").bind(4, "C-1").bind(5, k).run());
    }
    check(reason.bind(1, day)
              .bind(2, buyer)
              .bind(3, "S-1")
              .bind(4, "C-1")
              .bind(5, "bad_contact")
              .run());
    check(autos.bind(1, buyer).bind(2, day).bind(3, "fast").run());
    const char* entities[] = {"return", "lead", "ledger", "buyer_day"};
    const std::size_t sizes[] = {420, 380, 260, 120};
    for (int k = 0; k < 4; ++k) {
      check(event.bind(1, entities[k])
                .bind(2, rid)
                .bind(3, buyer)
                .bind(4, now)
                .bind(5, blob(rid, sizes[k]))
                .run());
    }
    const std::string cid = "client-" + std::to_string(i % 200);
    check(client.bind(1, cid).bind(2, "buyer:" + buyer).bind(3, i).run());
    check(result.bind(1, cid)
              .bind(2, i)
              .bind(3, "submit_return")
              .bind(4, "applied")
              .bind(5, "applied")
              .bind(6, i)
              .bind(7, now)
              .bind(8, blob(rid, 300))
              .run());
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::int64_t ops = 20'000;
  std::vector<int> batches = {1, 64, 1024};
  Database::Sync sync = Database::Sync::full;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + a);
    const std::string v = argv[++i];
    if (a == "--ops") {
      ops = std::atoll(v.c_str());
      if (ops <= 0) usage("--ops takes a positive number");
    } else if (a == "--batches") {
      batches.clear();
      std::stringstream in(v);
      for (std::string part; std::getline(in, part, ',');) {
        const int b = std::atoi(part.c_str());
        if (b <= 0) usage("--batches takes positive numbers");
        batches.push_back(b);
      }
    } else if (a == "--sync") {
      if (v != "full" && v != "normal") usage("--sync is full or normal");
      sync = v == "full" ? Database::Sync::full : Database::Sync::normal;
    } else if (a == "--db") {
      path = v;
    } else {
      usage("unknown flag " + a);
    }
  }
  if (path.empty()) {
    path = (std::filesystem::temp_directory_path() /
            ("sqlite_baseline_" + std::to_string(::getpid()) + ".db"))
               .string();
  }
  std::printf("sqlite_baseline: %lld ops per run, --sync %s, the server's schema\n",
              static_cast<long long>(ops), sync == Database::Sync::full ? "full" : "normal");
  std::printf("%10s %12s %12s %12s %14s\n", "ops/txn", "ops/s", "us/op", "cpu us/op", "pages/op");
  for (const int batch : batches) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    auto opened = Database::open(path, sync);
    if (!opened.ok()) usage("open: " + opened.error().message);
    Database& db = **opened;
    (void)db.exec("PRAGMA cache_size = -65536");
    if (Status s = migrate(db); !s.ok()) usage("schema: " + s.error().message);
    (void)db.exec("INSERT INTO suppliers VALUES ('S-1', '{}')");
    // Leads to return, in one transaction (not timed).
    {
      Transaction tx(db);
      Statement& buyer = db.cached("INSERT OR IGNORE INTO buyers (id, data) VALUES (?1, '{}')");
      Statement& camp = db.cached(
          "INSERT OR IGNORE INTO campaigns (id, buyer_id, data) VALUES ('C-1', ?1, '{}')");
      for (int b = 0; b < 100; ++b) (void)buyer.bind(1, "B-" + std::to_string(b)).run();
      (void)camp.bind(1, "B-0").run();
      Statement& lead = db.cached(
          "INSERT INTO leads (id, buyer_id, supplier_id, campaign_id, vertical, state, zip, "
          "contact_hash, tcpa_flag, price_cents, cost_cents, delivered_at, status) VALUES "
          "(?1, ?2, 'S-1', 'C-1', 'solar', 'TX', '73301', ?1, 0, 2000, 1000, 0, 'ACCEPTED')");
      for (std::int64_t i = 0; i < ops; ++i) {
        (void)lead.bind(1, "L-" + std::to_string(i)).bind(2, "B-" + std::to_string(i % 100)).run();
      }
      if (Status s = tx.commit(); !s.ok()) usage("leads: " + s.error().message);
    }
    Writer w{
        db,
        db.cached("INSERT INTO returns (id, lead_id, buyer_id, state, reason, submitted_at, "
                  "decided_by, decided_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        db.cached("UPDATE leads SET status = ?2, changed_at = ?3 WHERE id = ?1"),
        db.cached("INSERT INTO ledger (id, seq, kind, return_id, lead_id, buyer_id, "
                  "supplier_id, amount_cents, at, reverses, data) VALUES (?1, ?2, ?3, ?4, ?5, "
                  "?6, ?7, ?8, ?9, ?10, ?11)"),
        db.cached("INSERT INTO agg_daily (day, buyer_id, supplier_id, campaign_id, returned) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (day, buyer_id, supplier_id, "
                  "campaign_id) DO UPDATE SET returned = returned + excluded.returned"),
        db.cached("INSERT INTO agg_reason (day, buyer_id, supplier_id, campaign_id, reason, "
                  "returned) VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT (day, buyer_id, "
                  "supplier_id, campaign_id, reason) DO UPDATE SET returned = returned + 1"),
        db.cached("INSERT INTO agg_auto (buyer_id, day, rule, accepted) VALUES (?1, ?2, ?3, "
                  "1) ON CONFLICT (buyer_id, day, rule) DO UPDATE SET accepted = accepted + 1"),
        db.cached("INSERT INTO events (entity, entity_id, buyer_id, at, data) VALUES (?1, ?2, "
                  "?3, ?4, ?5)"),
        db.cached("INSERT INTO clients (client_id, principal, last_seq) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq"),
        db.cached("INSERT INTO op_results (client_id, seq, op, status, message, version, at, "
                  "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")};
    w.ledger.bind_null(10);
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = bench::self_cpu_seconds();
    int pages_cur = 0, pages_hi = 0;
    sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_WRITE, &pages_cur, &pages_hi, 1);
    const Millis now = 1'800'000'000'000;
    for (std::int64_t first = 0; first < ops; first += batch) {
      Transaction tx(db);
      for (std::int64_t i = first; i < std::min(ops, first + batch); ++i) w.op(i, now);
      if (Status s = tx.commit(); !s.ok()) usage("commit: " + s.error().message);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = bench::self_cpu_seconds() - cpu0;
    sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_WRITE, &pages_cur, &pages_hi, 0);
    std::printf("%10d %12.0f %12.1f %12.1f %14.2f\n", batch, static_cast<double>(ops) / s,
                1e6 * s / static_cast<double>(ops), 1e6 * cpu / static_cast<double>(ops),
                static_cast<double>(pages_cur) / static_cast<double>(ops));
    std::fflush(stdout);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return 0;
}
