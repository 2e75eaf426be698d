// memory_state.cc — the in-memory reference model: brute-force answers to every CaseView
// question, and commit() that writes Effects the way the store will.
#include "core/memory_state.h"

#include <set>

namespace returns {
namespace {

template <class T, class Decode>
Status load_array(const Json& world, const char* key, Decode decode, std::vector<T>& out) {
  auto it = world.find(key);
  if (it == world.end()) return Status::Ok();
  if (!it->is_array()) {
    return make_error(ErrorCode::BAD_TYPE, key, std::string("Field ") + key + " must be an array.");
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    Result<T> v = decode((*it)[i]);
    if (!v.ok()) {
      Error e = v.error();
      e.field =
          std::string(key) + "[" + std::to_string(i) + "]" + (e.field.empty() ? "" : "." + e.field);
      return e;
    }
    out.push_back(std::move(v).value());
  }
  return Status::Ok();
}

template <class T>
const T* find_in(const std::map<std::string, T>& m, const std::string& id) {
  auto it = m.find(id);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace

Result<MemoryState> MemoryState::from_json(const Json& world) {
  if (!world.is_object()) return make_error(ErrorCode::BAD_TYPE, "", "A world is an object.");
  for (auto it = world.begin(); it != world.end(); ++it) {
    static const std::set<std::string> kKnown = {"buyers",  "suppliers", "campaigns", "leads",
                                                 "returns", "ledger",    "messages"};
    if (kKnown.count(it.key()) == 0) {
      return make_error(ErrorCode::UNKNOWN_FIELD, it.key(), "Unknown world key " + it.key() + ".");
    }
  }
  MemoryState s;
  std::vector<Buyer> buyers;
  std::vector<Supplier> suppliers;
  std::vector<Campaign> campaigns;
  std::vector<Lead> leads;
  std::vector<ReturnCase> returns;
  std::vector<LedgerEntry> ledger;
  std::vector<Message> messages;
  for (Status st : {load_array(world, "buyers", decode_buyer, buyers),
                    load_array(world, "suppliers", decode_supplier, suppliers),
                    load_array(world, "campaigns", decode_campaign, campaigns),
                    load_array(world, "leads", decode_lead, leads),
                    load_array(world, "returns", decode_return, returns),
                    load_array(world, "ledger", decode_ledger_entry, ledger),
                    load_array(world, "messages", decode_message, messages)}) {
    if (!st.ok()) return st.error();
  }
  for (auto& v : buyers) s.put(std::move(v));
  for (auto& v : suppliers) s.put(std::move(v));
  for (auto& v : campaigns) s.put(std::move(v));
  for (auto& v : leads) s.put(std::move(v));
  for (auto& v : returns) s.put(std::move(v));
  s.balances_.apply(ledger);
  s.ledger_ = std::move(ledger);
  s.messages_ = std::move(messages);
  return s;
}

Json MemoryState::to_json() const {
  Json j = Json::object();
  auto dump = [&](const char* key, const auto& map) {
    Json arr = Json::array();
    for (const auto& [id, v] : map) arr.push_back(returns::to_json(v));
    j[key] = std::move(arr);
  };
  dump("buyers", buyers_);
  dump("suppliers", suppliers_);
  dump("campaigns", campaigns_);
  dump("leads", leads_);
  dump("returns", returns_);
  Json ledger = Json::array();
  for (const LedgerEntry& e : ledger_) ledger.push_back(returns::to_json(e));
  j["ledger"] = std::move(ledger);
  Json messages = Json::array();
  for (const Message& m : messages_) messages.push_back(returns::to_json(m));
  j["messages"] = std::move(messages);

  Json wallet = Json::object(), accrued = Json::object(), chargebacks = Json::object();
  for (const auto& [id, b] : buyers_) {
    wallet[id] = balances_.wallet(id);
    accrued[id] = balances_.accrued_adjustment(id);
  }
  for (const auto& [id, s] : suppliers_) chargebacks[id] = balances_.chargebacks(id);
  j["balances"] = Json{{"wallet", std::move(wallet)},
                       {"accrued_adjustment", std::move(accrued)},
                       {"revenue_reversed", balances_.revenue_reversed()},
                       {"chargebacks", std::move(chargebacks)}};
  return j;
}

Json MemoryState::replica_world() const {
  Json j = to_json();
  j.erase("balances");
  // with_derived for every lead at once: the earliest delivery of each (buyer, contact) is the
  // one lead without the flag (delivered_before's order: time, then id).
  std::map<std::pair<std::string, std::string>, std::pair<Millis, std::string>> first;
  for (const auto& [id, l] : leads_) {
    auto [it, fresh] = first.try_emplace({l.buyer_id, l.contact_hash}, l.delivered_at, id);
    if (!fresh && std::pair(l.delivered_at, id) < it->second) it->second = {l.delivered_at, id};
  }
  Json leads = Json::array();
  for (const auto& [id, l] : leads_) {
    Lead out = l;
    out.earlier_delivery = first.at({l.buyer_id, l.contact_hash}).second != id;
    leads.push_back(returns::to_json(out));
  }
  j["leads"] = std::move(leads);
  Json days = Json::array();
  for (const BuyerDay& d : buyer_days()) days.push_back(returns::to_json(d));
  j["buyer_days"] = std::move(days);
  return j;
}

void MemoryState::commit(const Effects& fx) {
  if (fx.ret) {
    if (fx.return_deleted) {
      returns_.erase(fx.ret->id);
    } else {
      returns_[fx.ret->id] = *fx.ret;
    }
  }
  if (fx.lead) leads_[fx.lead->id] = *fx.lead;
  if (fx.buyer) buyers_[fx.buyer->id] = *fx.buyer;
  for (const LedgerEntry& e : fx.ledger) {
    if (balances_.apply(std::span<const LedgerEntry>(&e, 1)) == 1) ledger_.push_back(e);
  }
  if (fx.message) {
    bool seen = false;
    for (const Message& m : messages_) seen = seen || m.id == fx.message->id;
    if (!seen) messages_.push_back(*fx.message);
  }
}

const Lead* MemoryState::find_lead(const std::string& id) const { return find_in(leads_, id); }
const Campaign* MemoryState::find_campaign(const std::string& id) const {
  return find_in(campaigns_, id);
}
const Buyer* MemoryState::find_buyer(const std::string& id) const { return find_in(buyers_, id); }
const Supplier* MemoryState::find_supplier(const std::string& id) const {
  return find_in(suppliers_, id);
}
const ReturnCase* MemoryState::find_return(const std::string& id) const {
  return find_in(returns_, id);
}

std::vector<ReturnCase> MemoryState::returns_for_lead(const std::string& lead_id) const {
  std::vector<ReturnCase> out;
  for (const auto& [id, r] : returns_) {
    if (r.lead_id == lead_id) out.push_back(r);
  }
  return out;
}

std::vector<LedgerEntry> MemoryState::ledger_for_return(const std::string& return_id) const {
  std::vector<LedgerEntry> out;
  for (const LedgerEntry& e : ledger_) {
    if (e.return_id == return_id) out.push_back(e);
  }
  return out;
}

RateCounts MemoryState::trailing_counts(const std::string& buyer_id, Millis now, int days) const {
  RateCounts c;
  const DayRange period = trailing_days(now, days);
  for (const auto& [id, l] : leads_) {
    if (l.buyer_id != buyer_id || !period.contains(utc_day(l.delivered_at))) continue;
    ++c.accepted;
    if (l.status == LeadStatus::returned) ++c.returned;
  }
  return c;
}

int MemoryState::auto_accepted_on_day(const std::string& buyer_id, const std::string& rule_id,
                                      std::int64_t day) const {
  int n = 0;
  for (const auto& [id, r] : returns_) {
    if (r.buyer_id == buyer_id && counts_as_auto_accept(r, rule_id, day)) ++n;
  }
  return n;
}

std::vector<BuyerDay> MemoryState::buyer_days() const {
  std::map<std::pair<std::string, std::int64_t>, BuyerDay> days;
  auto at = [&](const std::string& buyer_id, std::int64_t day) -> BuyerDay& {
    BuyerDay& d = days[{buyer_id, day}];
    d.buyer_id = buyer_id;
    d.day = day;
    return d;
  };
  for (const auto& [id, l] : leads_) {
    BuyerDay& d = at(l.buyer_id, utc_day(l.delivered_at));
    ++d.sold;
    if (l.status == LeadStatus::returned) ++d.returned;
  }
  for (const auto& [id, r] : returns_) {
    if (r.state != ReturnState::accepted || !r.decision) continue;
    if (std::optional<std::string> rule = auto_rule_of(*r.decision)) {
      ++at(r.buyer_id, utc_day(r.decision->at)).auto_accepted[*rule];
    }
  }
  std::vector<BuyerDay> out;
  for (auto& [key, d] : days) out.push_back(std::move(d));
  return out;
}

Lead MemoryState::with_derived(const Lead& lead) const {
  Lead l = lead;
  l.earlier_delivery = delivered_before(l.buyer_id, l.contact_hash, l.id, l.delivered_at);
  return l;
}

bool MemoryState::delivered_before(const std::string& buyer_id, const std::string& contact_hash,
                                   const std::string& lead_id, Millis delivered_at) const {
  for (const auto& [id, l] : leads_) {
    if (id == lead_id || l.buyer_id != buyer_id || l.contact_hash != contact_hash) continue;
    if (l.delivered_at < delivered_at || (l.delivered_at == delivered_at && id < lead_id)) {
      return true;
    }
  }
  return false;
}

}  // namespace returns
