// token.h — HMAC-SHA256 signed access tokens: "<base64url(claims JSON)>.<base64url(mac)>".
// Claims: {"role": "operator"|"buyer", "buyer_id"?, "sub", "exp" (UTC ms)}. The secret lives in
// a file outside the repository (--secret-file, created with random bytes on first start).
#pragma once

#include <string>

#include "core/error.h"
#include "core/token_claims.h"
#include "core/types.h"
#include "sync/protocol.h"

namespace returns::server {

// The claims and their codec are the core's (core/token_claims.h); signing needs the secret.
using returns::base64url_decode;
using returns::base64url_encode;
using returns::TokenClaims;

std::string sign_token(const TokenClaims& claims, const std::string& secret);
// UNAUTHORIZED for malformed or forged tokens, TOKEN_EXPIRED when now >= exp.
Result<TokenClaims> verify_token(const std::string& token, const std::string& secret, Millis now);

// Reads the secret, creating it (32 random bytes, hex, mode 0600) when the file is missing.
Result<std::string> load_or_create_secret(const std::string& path);

}  // namespace returns::server
