// compaction.cc — see compaction.h.
#include "store/compaction.h"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace returns::store {

Result<CompactionPlan> plan_compaction(Database& db) {
  if (Status s = db.exec("BEGIN"); !s.ok()) return s.error();
  CompactionPlan plan;
  Status ended = Status::Ok();
  {
    Result<Statement> st =
        db.prepare("SELECT version, entity, entity_id FROM events ORDER BY version");
    if (!st.ok()) {
      (void)db.exec("ROLLBACK");
      return st.error();
    }
    std::unordered_map<std::string, std::int64_t> newest;  // entity \x1f id -> newest version
    std::int64_t first = 0;
    std::string key;
    while (st->step()) {
      const std::int64_t version = st->int64(0);
      if (plan.scanned++ == 0) first = version;
      key.assign(st->text(1));
      key.push_back('\x1f');
      key.append(st->text(2));
      auto [it, fresh] = newest.try_emplace(key, version);
      if (!fresh) {
        if (it->second != first) plan.superseded.push_back(it->second);
        it->second = version;
      }
      plan.head = version;
    }
    ended = st->status();
  }  // the statement is finalized before the read transaction ends
  (void)db.exec("COMMIT");
  if (!ended.ok()) return ended.error();
  std::sort(plan.superseded.begin(), plan.superseded.end());
  return plan;
}

Result<std::int64_t> drop_events(Database& db, std::span<const std::int64_t> versions) {
  Transaction tx(db);
  if (!tx.begun().ok()) return tx.begun().error();
  Statement& st = db.cached("DELETE FROM events WHERE version = ?1");
  std::int64_t dropped = 0;
  for (std::int64_t v : versions) {
    st.bind(1, v);
    if (Status s = st.run(); !s.ok()) return s.error();
    dropped += db.changes();
  }
  if (Status s = tx.commit(); !s.ok()) return s.error();
  return dropped;
}

Result<CompactionReport> compact_log(Database& db) {
  Result<CompactionPlan> plan = plan_compaction(db);
  if (!plan.ok()) return plan.error();
  Result<std::int64_t> dropped = drop_events(db, plan->superseded);
  if (!dropped.ok()) return dropped.error();
  return CompactionReport{plan->head, plan->scanned,
                          static_cast<std::int64_t>(plan->superseded.size()), *dropped};
}

}  // namespace returns::store
