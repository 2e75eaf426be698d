// memory_replica.h — a Replica held in maps: for tests, the deterministic simulation and the load
// generator. A write is validated and applied to a copy first, so a failed batch changes nothing.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "sync/replica.h"

namespace returns::sync {

class MemoryReplica final : public Replica {
 public:
  Status write(const WriteBatch& batch) override;
  std::optional<std::string> meta(std::string_view key) const override;
  std::optional<std::string> row(std::string_view entity, std::string_view id) const override;
  std::vector<ReplicaRow> rows(std::string_view entity) const override;
  std::vector<ReplicaRow> rows_by_ref(std::string_view entity, std::string_view ref) const override;
  std::size_t row_count() const override { return state_.rows.size(); }
  std::vector<OutboxEntry> outbox() const override;
  std::vector<DraftRecord> drafts() const override;
  std::optional<DraftRecord> draft(std::string_view return_id) const override;

  // Test hook: the next write fails with INTERNAL (and changes nothing).
  void fail_next_write() { fail_next_ = true; }
  std::size_t writes() const { return writes_; }

 private:
  struct State {
    std::map<std::pair<std::string, std::string>, ReplicaRow> rows;  // (entity, id)
    std::map<std::string, std::string, std::less<>> meta;
    std::map<std::int64_t, OutboxEntry> outbox;
    std::map<std::string, DraftRecord, std::less<>> drafts;
  };
  State state_;
  bool fail_next_ = false;
  std::size_t writes_ = 0;
};

}  // namespace returns::sync
