// sample_lead.h — a valid lead for store tests: buyer B1, supplier S1, campaign C1 (vertical mva),
// price 50.00, cost 30.00, delivered at `at`, its own contact hash.
#pragma once

#include <string>

#include "core/domain.h"

namespace returns::store {

inline Lead sample_lead(const std::string& id, Millis at) {
  Lead l;
  l.id = id;
  l.buyer_id = "B1";
  l.supplier_id = "S1";
  l.campaign_id = "C1";
  l.vertical = "mva";
  l.state = "TX";
  l.zip = "75001";
  l.contact_hash = "h-" + id;
  l.price_cents = 5000;
  l.cost_cents = 3000;
  l.delivered_at = at;
  return l;
}

}  // namespace returns::store
