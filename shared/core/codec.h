// codec.h — JSON codecs for every core type: strict on input (typed errors naming the field,
// never a throw), canonical on output. One codec per type; the protocol and the UI use these.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/lifecycle.h"
#include "core/validation.h"

namespace returns {

using Json = nlohmann::json;

// Parses text without throwing; BAD_JSON on malformed input.
Result<Json> parse_json(std::string_view text);

// Decoders. Unknown fields are refused (UNKNOWN_FIELD) so typos never pass silently.
Result<Buyer> decode_buyer(const Json& j);
Result<Supplier> decode_supplier(const Json& j);
Result<Campaign> decode_campaign(const Json& j);
Result<Lead> decode_lead(const Json& j);
Result<ReturnCase> decode_return(const Json& j);
Result<Message> decode_message(const Json& j);
Result<LedgerEntry> decode_ledger_entry(const Json& j);
Result<Policy> decode_policy(const Json& j);  // also runs validate_policy
Result<Actor> decode_actor(const Json& j);
Result<DraftInput> decode_draft(const Json& j);
Result<HistoricalReturn> decode_historical_return(const Json& j);
// `op` is the wire name ("submit_return", ...); UNKNOWN_OP for others.
Result<OpArgs> decode_op_args(std::string_view op, const Json& args);

// Encoders (canonical field order and names, as documented in docs/domain.md).
Json to_json(const Coverage& v);
Json to_json(const Buyer& v);
Json to_json(const Supplier& v);
Json to_json(const Campaign& v);
Json to_json(const Lead& v);
Json to_json(const Decision& v);
Json to_json(const ReturnCase& v);
Json to_json(const Message& v);
Json to_json(const LedgerEntry& v);
Json to_json(const Policy& v);
Json to_json(const PolicyRule& v);
Json to_json(const PolicyEvaluation& v);
Json to_json(const Evidence& v);
Json to_json(const RoutingAlert& v);
Json to_json(const Effects& v);
Json to_json(const Error& v);
Json to_json(const Validation& v);
Json to_json(const Preview& v);
Json to_json(const ReturnReview& v);
Json to_json(const WhatIfReport& v);
Json to_json(const Actor& v);
Json to_json(const OpArgs& v);  // {"op": name, "args": {...}}

}  // namespace returns
