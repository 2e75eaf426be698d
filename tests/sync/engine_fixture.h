// engine_fixture.h — a buyer's small world as server rows, and builders for the frames a server
// sends, for the engine and replica suites.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/codec.h"
#include "sync/engine.h"
#include "sync/protocol.h"

namespace returns::sync::testing {

inline constexpr Millis kT0 = 1'700'000'000'000;  // lead delivery
inline constexpr Millis kHour = kMillisPerHour;
inline const std::string kBuyer = "B-1";

inline Json buyer_row() {
  Buyer b;
  b.id = kBuyer;
  b.name = "Acme Law";
  return to_json(b);  // default policy: auto-accept within 24 h, 168 h window
}

inline Json campaign_row() {
  Campaign c;
  c.id = "C-1";
  c.buyer_id = kBuyer;
  c.vertical = "mva";
  c.price_cents = 5000;
  return to_json(c);
}

inline Json lead_row(const std::string& id, Millis delivered_at = kT0) {
  Lead l;
  l.id = id;
  l.buyer_id = kBuyer;
  l.campaign_id = "C-1";
  l.vertical = "mva";
  l.state = "TX";
  l.zip = "75001";
  l.contact_hash = "hash-" + id;
  l.price_cents = 5000;
  l.delivered_at = delivered_at;
  Json j = to_json(l);
  j.erase("supplier_id");  // as a buyer receives it
  j.erase("cost_cents");
  return j;
}

inline Principal buyer_principal() {
  Principal p;
  p.role = Role::buyer;
  p.buyer_id = kBuyer;
  p.subject = kBuyer;
  return p;
}

inline std::string welcome(std::int64_t last_seq, std::int64_t cursor, Millis server_time) {
  Welcome w;
  w.server_time = server_time;
  w.principal = buyer_principal();
  w.last_seq = last_seq;
  w.cursor = cursor;
  return encode_welcome(w);
}

inline std::string changes(std::int64_t from, std::int64_t to, std::vector<ChangeItem> items) {
  return encode_changes(Changes{from, to, std::move(items)});
}

// The world at versions 1..3: buyer, campaign, lead L-1.
inline std::string world_changes() {
  return changes(0, 3,
                 {ChangeItem{1, "buyer", kBuyer, buyer_row()},
                  ChangeItem{2, "campaign", "C-1", campaign_row()},
                  ChangeItem{3, "lead", "L-1", lead_row("L-1")}});
}

inline std::string applied(std::int64_t seq, std::int64_t version) {
  return encode_result(OpResultMessage{seq, true, std::nullopt, "applied", version, std::nullopt});
}

inline std::string refused(std::int64_t seq, ErrorCode code, std::string message,
                           std::int64_t version) {
  return encode_result(
      OpResultMessage{seq, false, code, std::move(message), version, std::nullopt});
}

// The seqs of every push frame in `frames`, in order.
inline std::vector<std::int64_t> pushed_seqs(const std::vector<std::string>& frames) {
  std::vector<std::int64_t> out;
  for (const std::string& f : frames) {
    Result<ClientMessage> m = parse_client_message(f);
    EXPECT_TRUE(m.ok()) << f;
    if (!m.ok()) continue;
    if (const auto* p = std::get_if<Push>(&*m)) {
      for (const PushedOp& op : p->ops) out.push_back(op.seq);
    }
  }
  return out;
}

}  // namespace returns::sync::testing
