// row_json.h — reading replica rows (the JSON the server sent) without throwing: a tombstone
// test and typed reads where a wrong type reads as the fallback. Shared by the engine's views.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/codec.h"

namespace returns::sync {

// Reports a replica row the core cannot read (entity, id, why); it is then treated as absent.
using BadRowReport = std::function<void(std::string_view, std::string_view, const Error&)>;

// A deleted row (a discarded draft) is {"id": ..., "deleted": true}.
inline bool is_deleted_row(const Json& data) {
  auto it = data.find("deleted");
  return it != data.end() && it->is_boolean() && it->get<bool>();
}

template <class T>
T get_or(const Json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else {
    return it->is_number_integer() ? it->template get<T>() : fallback;
  }
}

}  // namespace returns::sync
