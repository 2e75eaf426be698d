// changes_scan.cc — see changes_scan.h. Every "return std::nullopt" / "return false" below means
// "not for the fast path": the full decoder then reads the frame and names what is wrong.
#include "sync/changes_scan.h"

#include <algorithm>
#include <string>

#include "sync/protocol.h"

namespace returns::sync {
namespace {

constexpr std::int64_t kMaxWireInt = 9'007'199'254'740'991LL;  // 2^53 − 1, as the decoder
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxDataKeys = 64;

// A strict JSON reader over a view: syntax as RFC 8259 (what the full parser accepts, or less).
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  std::size_t pos() const { return i_; }
  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool at(char c) {
    ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool end() {
    ws();
    return i_ == s_.size();
  }

  // A string; `text` is its content when it holds no escape (`escaped` tells).
  bool string(std::string_view* text, bool* escaped) {
    if (!eat('"')) return false;
    const std::size_t start = i_;
    *escaped = false;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        *text = s_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        *escaped = true;
        if (!escape()) return false;
      } else if (c >= 0x80) {
        if (!utf8()) return false;
      } else {
        ++i_;
      }
    }
    return false;
  }

  // A plain non-negative integer within the protocol's range (no sign, fraction or exponent).
  bool wire_int(std::int64_t* out) {
    ws();
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    const std::size_t n = i_ - start;
    if (n == 0 || n > 16 || (n > 1 && s_[start] == '0')) return false;
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return false;
    std::int64_t v = 0;
    for (std::size_t k = start; k < i_; ++k) v = v * 10 + (s_[k] - '0');
    if (v > kMaxWireInt) return false;
    *out = v;
    return true;
  }

  // Any value, checked and skipped.
  bool value(int depth = 0) {
    if (depth > kMaxDepth) return false;
    ws();
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{': {
        ++i_;
        if (eat('}')) return true;
        do {
          std::string_view key;
          bool escaped = false;
          if (!string(&key, &escaped) || !eat(':') || !value(depth + 1)) return false;
        } while (eat(','));
        return eat('}');
      }
      case '[': {
        ++i_;
        if (eat(']')) return true;
        do {
          if (!value(depth + 1)) return false;
        } while (eat(','));
        return eat(']');
      }
      case '"': {
        std::string_view text;
        bool escaped = false;
        return string(&text, &escaped);
      }
      case 't':
        return word("true");
      case 'f':
        return word("false");
      case 'n':
        return word("null");
      default:
        return number();
    }
  }

 private:
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  bool digits() {
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }

  // Exponents and very long numbers are left to the full parser (it refuses what overflows).
  bool number() {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) return false;
    return i_ - start <= 24;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // After a backslash. \u escapes of surrogates (pairs or not) are left to the full parser.
  bool escape() {
    if (i_ + 1 >= s_.size()) return false;
    const char e = s_[i_ + 1];
    i_ += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u': {
        if (i_ + 4 > s_.size()) return false;
        int cp = 0;
        for (int k = 0; k < 4; ++k) {
          const int h = hex(s_[i_ + static_cast<std::size_t>(k)]);
          if (h < 0) return false;
          cp = cp * 16 + h;
        }
        i_ += 4;
        return cp < 0xD800 || cp > 0xDFFF;
      }
      default:
        return false;
    }
  }

  // One UTF-8 sequence of two to four bytes: no overlong forms, no surrogates, ≤ U+10FFFF.
  bool utf8() {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s_[i_ + k]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i_ + n >= s_.size()) return false;
    if (b(1) < lo || b(1) > hi) return false;
    for (std::size_t k = 2; k <= n; ++k) {
      if (b(k) < 0x80 || b(k) > 0xBF) return false;
    }
    i_ += n + 1;
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// The content of a string the scanner accepted (so its escapes are well formed and none is a
// surrogate): escapes replaced, \u as UTF-8.
std::string unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out.push_back(raw[i]);
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        unsigned cp = 0;
        for (int k = 1; k <= 4; ++k) {
          const char h = raw[i + static_cast<std::size_t>(k)];
          cp = cp * 16 + static_cast<unsigned>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        i += 4;
        if (cp < 0x80) {
          out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
          out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
          out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
          out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
        break;
      }
      default:  // " \ /
        out.push_back(e);
    }
  }
  return out;
}

// One item: exactly v, entity, id and data (an object), each once, in any order.
bool scan_item(Scanner& sc, std::string_view frame, ScannedItem* item) {
  if (!sc.eat('{')) return false;
  bool have_v = false, have_entity = false, have_id = false, have_data = false;
  std::size_t data_start = 0, data_end = 0;
  do {
    std::string_view key;
    bool escaped = false;
    if (!sc.string(&key, &escaped) || escaped || !sc.eat(':')) return false;
    if (key == "v") {
      if (have_v || !sc.wire_int(&item->v)) return false;
      have_v = true;
    } else if (key == "entity" || key == "id") {
      bool& have = key == "entity" ? have_entity : have_id;
      std::string_view& out = key == "entity" ? item->entity : item->id;
      if (have || !sc.string(&out, &escaped) || escaped) return false;
      have = true;
    } else if (key == "data") {
      if (have_data || !sc.at('{')) return false;
      have_data = true;
      data_start = sc.pos();
      if (!sc.value(1)) return false;
      data_end = sc.pos();
    } else {
      return false;
    }
  } while (sc.eat(','));
  if (!sc.eat('}') || !have_v || !have_entity || !have_id || !have_data) return false;
  item->data = frame.substr(data_start, data_end - data_start);
  // The data's own top-level fields: the replica's key and the deletion mark.
  Scanner d(item->data);
  const std::string_view ref_key = replica_ref_key(item->entity);
  std::vector<std::string_view> keys;
  std::vector<std::string> unescaped;   // keys written with escapes, as read
  unescaped.reserve(kMaxDataKeys + 1);  // (so the views into it stay valid)
  d.eat('{');
  if (d.eat('}')) return true;
  do {
    std::string_view key;
    bool escaped = false;
    if (!d.string(&key, &escaped) || !d.eat(':')) return false;
    if (escaped) key = unescaped.emplace_back(unescape(key));
    if (keys.size() >= kMaxDataKeys || std::find(keys.begin(), keys.end(), key) != keys.end()) {
      return false;  // a key twice: which one counts is the full parser's business
    }
    keys.push_back(key);
    if (!ref_key.empty() && key == ref_key && d.at('"')) {
      std::string_view ref;
      if (!d.string(&ref, &escaped)) return false;
      item->ref = escaped ? unescape(ref) : std::string(ref);
    } else if (key == "deleted" && d.at('t')) {
      if (!d.value(1)) return false;
      item->deleted = true;
    } else if (!d.value(1)) {
      return false;
    }
  } while (d.eat(','));
  return d.eat('}') && d.end();
}

}  // namespace

const char* replica_ref_key(std::string_view entity) {
  if (entity == "return") return "lead_id";
  if (entity == "ledger" || entity == "message") return "return_id";
  if (entity == "lead" || entity == "campaign" || entity == "buyer_day") return "buyer_id";
  return "";
}

std::optional<ScannedChanges> scan_changes(std::string_view frame) {
  Scanner sc(frame);
  ScannedChanges out;
  bool have_type = false, have_from = false, have_to = false, have_items = false;
  if (!sc.eat('{')) return std::nullopt;
  do {
    std::string_view key;
    bool escaped = false;
    if (!sc.string(&key, &escaped) || escaped || !sc.eat(':')) return std::nullopt;
    if (key == "type") {
      std::string_view type;
      if (have_type || !sc.string(&type, &escaped) || escaped || type != "changes") {
        return std::nullopt;
      }
      have_type = true;
    } else if (key == "from" || key == "to") {
      bool& have = key == "from" ? have_from : have_to;
      if (have || !sc.wire_int(key == "from" ? &out.from : &out.to)) return std::nullopt;
      have = true;
    } else if (key == "items") {
      if (have_items || !sc.eat('[')) return std::nullopt;
      have_items = true;
      if (!sc.eat(']')) {
        do {
          ScannedItem item;
          if (!scan_item(sc, frame, &item)) return std::nullopt;
          out.items.push_back(std::move(item));
        } while (sc.eat(','));
        if (!sc.eat(']')) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  } while (sc.eat(','));
  if (!sc.eat('}') || !sc.end()) return std::nullopt;
  if (!have_type || !have_from || !have_to || !have_items || out.from > out.to) return std::nullopt;
  // What the full decoder checks of each item.
  std::int64_t prev = out.from;
  for (const ScannedItem& item : out.items) {
    if (item.v <= prev || item.v > out.to || item.id.empty() || !known_entity(item.entity)) {
      return std::nullopt;
    }
    prev = item.v;
  }
  return out;
}

}  // namespace returns::sync
