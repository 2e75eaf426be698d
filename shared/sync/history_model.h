// history_model.h — the what-if read model of the client engine: one buyer's leads, returns and
// ledger entries from the replica, decoded once and then kept in step with every replica write
// (what-if is asked again and again with edited policies while live changes arrive), with the
// engine's optimistic overlay laid over them on each question. Engine::history() asks it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/return_history.h"
#include "sync/replica.h"
#include "sync/row_json.h"

namespace returns::sync {

// The overlay's rows of one entity (replica id → row, nullopt = deleted), or null for none.
using OverlayRows = std::map<std::string, std::optional<Json>>;
using OverlayRowsOf = std::function<const OverlayRows*(const char* entity)>;

class HistoryModel {
 public:
  HistoryModel(const Replica& replica, BadRowReport report);
  ~HistoryModel();
  HistoryModel(const HistoryModel&) = delete;
  HistoryModel& operator=(const HistoryModel&) = delete;

  // Replica write number `writes` (counting from 1) wrote `batch`: the kept rows follow it, or
  // are dropped when they missed a write (then rebuilt when next asked).
  void follow(const WriteBatch& batch, std::uint64_t writes);

  // The buyer's returns decided in `period` as the optimistic view holds them: the replica's rows
  // as of write `writes` with `overlay`'s rows replacing those they name.
  std::vector<HistoricalReturn> history(const std::string& buyer_id, DayRange period,
                                        std::uint64_t writes, const OverlayRowsOf& overlay);

 private:
  struct Rows;
  Rows& rows_of(const std::string& buyer_id, std::uint64_t writes);
  std::vector<Lead> leads(const Rows& rows, const OverlayRows* overlay);
  std::map<std::string, ReturnCase> returns(const Rows& rows, const OverlayRows* overlay);
  const std::map<std::string, LedgerEntry>& replica_ledger(Rows& rows,
                                                           const std::string& return_id);
  // A replica row's text through a core decoder (decode_lead, ...): nothing for a tombstone, for
  // a row whose buyer_id is not `*of_buyer` (when given), or for a row that does not parse
  // (reported by its replica id) or decode (reported by the id it names).
  template <class T>
  std::optional<T> decode_row(std::string_view entity, std::string_view id, const std::string& text,
                              Result<T> (*decode)(const Json&),
                              const std::string* of_buyer = nullptr);
  // A row's decoded value, or nothing when it did not decode (reported by the id it names).
  template <class T>
  std::optional<T> decoded(std::string_view entity, const Json& data, Result<T> value);

  const Replica& replica_;
  BadRowReport report_;
  std::unique_ptr<Rows> rows_;
};

}  // namespace returns::sync
