// domain.cc — behaviour that belongs to the domain values themselves (coverage).
#include "core/domain.h"

#include <algorithm>

namespace returns {

bool Coverage::covers(std::string_view state, std::string_view zip) const {
  const bool state_ok =
      states.empty() || std::find(states.begin(), states.end(), state) != states.end();
  if (!state_ok) return false;
  if (zip_prefixes.empty()) return true;
  return std::any_of(zip_prefixes.begin(), zip_prefixes.end(), [&](const std::string& prefix) {
    return zip.substr(0, prefix.size()) == prefix;
  });
}

}  // namespace returns
