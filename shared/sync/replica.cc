// replica.cc — names of the replica's value types.
#include "sync/replica.h"

namespace returns::sync {

std::string_view to_string(DraftStatus status) {
  switch (status) {
    case DraftStatus::saved:
      return "saved";
    case DraftStatus::submitting:
      return "submitting";
    case DraftStatus::refused:
      return "refused";
  }
  return "saved";
}

std::optional<DraftStatus> draft_status_from_string(std::string_view name) {
  if (name == "saved") return DraftStatus::saved;
  if (name == "submitting") return DraftStatus::submitting;
  if (name == "refused") return DraftStatus::refused;
  return std::nullopt;
}

}  // namespace returns::sync
