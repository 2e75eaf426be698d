// token_claims.h — what an access token says, and its wire form without the signature:
// "<base64url(claims JSON)>.<base64url(HMAC-SHA256)>", claims {"role", "buyer_id"?, "sub", "exp"}.
// Signing and verifying need the server's secret and live in server/token.h; this part is pure,
// so a client can read which buyer a token names (the Client Portal names its database by it)
// without trusting it — the server still verifies every token it is given.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/types.h"

namespace returns {

struct TokenClaims {
  Role role = Role::buyer;
  std::string buyer_id;  // buyers only
  std::string subject;
  Millis expires_at = 0;
};

std::string base64url_encode(std::string_view bytes);
// Canonical unpadded base64url only (trailing bits zero); nothing for anything else.
std::optional<std::string> base64url_decode(std::string_view text);

// The payload part of a token: base64url of the claims JSON.
std::string encode_claims(const TokenClaims& claims);
// Decodes a payload part; UNAUTHORIZED (field "token") when it is not a valid claims object.
Result<TokenClaims> decode_claims(std::string_view payload);
// Reads the claims of a whole token WITHOUT checking its signature or expiry (clients only).
// UNAUTHORIZED when the token is malformed.
Result<TokenClaims> read_token_claims(std::string_view token);

}  // namespace returns
