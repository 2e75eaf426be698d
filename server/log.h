// log.h — structured log lines: one JSON object per line on stderr.
#pragma once

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace returns::server {

inline void log_event(const char* level, const char* event, nlohmann::json fields = {}) {
  if (!fields.is_object()) fields = nlohmann::json::object();
  fields["level"] = level;
  fields["event"] = event;
  fields["ts"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  const std::string line = fields.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace returns::server
