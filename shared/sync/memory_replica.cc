// memory_replica.cc — the in-memory Replica.
#include "sync/memory_replica.h"

#include <set>

namespace returns::sync {

Status MemoryReplica::write(const WriteBatch& batch) {
  if (fail_next_) {
    fail_next_ = false;
    return make_error(ErrorCode::INTERNAL, "", "Injected replica write failure.");
  }
  // Validate first, then apply in place: a failed batch changes nothing.
  std::set<std::int64_t> removed(batch.outbox_remove.begin(), batch.outbox_remove.end());
  std::set<std::int64_t> added;
  for (const OutboxEntry& o : batch.outbox_add) {
    const bool taken = state_.outbox.count(o.seq) > 0 && removed.count(o.seq) == 0;
    if (taken || !added.insert(o.seq).second) {
      return make_error(ErrorCode::INTERNAL, "",
                        "Outbox seq " + std::to_string(o.seq) + " is taken.");
    }
  }
  State& next = state_;
  if (batch.clear_rows) next.rows.clear();
  for (const RowWrite& w : batch.rows) {
    auto key = std::make_pair(w.entity, w.id);
    if (w.data) {
      next.rows[std::move(key)] = ReplicaRow{w.entity, w.id, w.ref, *w.data};
    } else {
      next.rows.erase(key);
    }
  }
  for (const auto& [k, v] : batch.meta) next.meta[k] = v;
  for (std::int64_t seq : batch.outbox_remove) next.outbox.erase(seq);
  for (const OutboxEntry& o : batch.outbox_add) next.outbox.emplace(o.seq, o);
  for (const std::string& id : batch.draft_remove) next.drafts.erase(id);
  for (const DraftRecord& d : batch.draft_put) next.drafts[d.return_id] = d;
  ++writes_;
  return Status::Ok();
}

std::optional<std::string> MemoryReplica::meta(std::string_view key) const {
  auto it = state_.meta.find(key);
  if (it == state_.meta.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> MemoryReplica::row(std::string_view entity, std::string_view id) const {
  auto it = state_.rows.find(std::make_pair(std::string(entity), std::string(id)));
  if (it == state_.rows.end()) return std::nullopt;
  return it->second.data;
}

std::vector<ReplicaRow> MemoryReplica::rows(std::string_view entity) const {
  std::vector<ReplicaRow> out;
  for (auto it = state_.rows.lower_bound(std::make_pair(std::string(entity), std::string()));
       it != state_.rows.end() && it->first.first == entity; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::vector<ReplicaRow> MemoryReplica::rows_by_ref(std::string_view entity,
                                                   std::string_view ref) const {
  std::vector<ReplicaRow> out;
  for (ReplicaRow& r : rows(entity)) {
    if (r.ref == ref) out.push_back(std::move(r));
  }
  return out;
}

std::vector<OutboxEntry> MemoryReplica::outbox() const {
  std::vector<OutboxEntry> out;
  for (const auto& [seq, o] : state_.outbox) out.push_back(o);
  return out;
}

std::vector<DraftRecord> MemoryReplica::drafts() const {
  std::vector<DraftRecord> out;
  for (const auto& [id, d] : state_.drafts) out.push_back(d);
  return out;
}

std::optional<DraftRecord> MemoryReplica::draft(std::string_view return_id) const {
  auto it = state_.drafts.find(return_id);
  if (it == state_.drafts.end()) return std::nullopt;
  return it->second;
}

}  // namespace returns::sync
