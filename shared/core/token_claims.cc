// token_claims.cc — base64url and the claims codec of access tokens (no secret involved).
#include "core/token_claims.h"

#include "core/codec.h"

namespace returns {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kMaxTokenBytes = 4096;

Error unauthorized(std::string message) {
  return make_error(ErrorCode::UNAUTHORIZED, "token", std::move(message));
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buf >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buf << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::char_traits<char>::find(kAlphabet, 64, c);
    if (p == nullptr) return std::nullopt;
    buf = (buf << 6) | static_cast<std::uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero padding, or the encoding is not canonical.
  if (bits >= 6 || (buf & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string encode_claims(const TokenClaims& c) {
  Json claims{{"role", to_string(c.role)}, {"sub", c.subject}, {"exp", c.expires_at}};
  if (c.role == Role::buyer) claims["buyer_id"] = c.buyer_id;
  return base64url_encode(claims.dump());
}

Result<TokenClaims> decode_claims(std::string_view payload) {
  const auto json_text = base64url_decode(payload);
  if (!json_text) return unauthorized("The token is malformed.");
  Result<Json> j = parse_json(*json_text);
  if (!j.ok() || !j->is_object()) return unauthorized("The token is malformed.");
  const Json& o = *j;
  if (!o.contains("role") || !o["role"].is_string() || !o.contains("exp") ||
      !o["exp"].is_number_integer() || !o.contains("sub") || !o["sub"].is_string()) {
    return unauthorized("The token is malformed.");
  }
  TokenClaims c;
  auto role = role_from_string(o["role"].get<std::string>());
  if (!role) return unauthorized("The token's role is unknown.");
  c.role = *role;
  c.subject = o["sub"].get<std::string>();
  c.expires_at = o["exp"].get<Millis>();
  if (c.role == Role::buyer) {
    if (!o.contains("buyer_id") || !o["buyer_id"].is_string() ||
        !is_valid_id(o["buyer_id"].get<std::string>())) {
      return unauthorized("A buyer token needs a buyer id.");
    }
    c.buyer_id = o["buyer_id"].get<std::string>();
  }
  return c;
}

Result<TokenClaims> read_token_claims(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return unauthorized("A token is required.");
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos) {
    return unauthorized("The token is malformed.");
  }
  return decode_claims(token.substr(0, dot));
}

}  // namespace returns
