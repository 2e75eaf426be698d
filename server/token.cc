// token.cc — token signing and verification with OpenSSL's HMAC, constant-time comparison.
#include "server/token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/codec.h"

namespace returns::server {
namespace {

std::string hmac(const std::string& secret, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

Error unauthorized(std::string message) {
  return make_error(ErrorCode::UNAUTHORIZED, "token", std::move(message));
}

}  // namespace

std::string sign_token(const TokenClaims& c, const std::string& secret) {
  const std::string payload = encode_claims(c);
  return payload + "." + base64url_encode(hmac(secret, payload));
}

Result<TokenClaims> verify_token(const std::string& token, const std::string& secret, Millis now) {
  if (token.empty() || token.size() > 4096) return unauthorized("A token is required.");
  const auto dot = token.find('.');
  if (dot == std::string::npos || token.find('.', dot + 1) != std::string::npos) {
    return unauthorized("The token is malformed.");
  }
  const std::string payload = token.substr(0, dot);
  const auto mac = base64url_decode(token.substr(dot + 1));
  const std::string expected = hmac(secret, payload);
  if (!mac || mac->size() != expected.size() ||
      CRYPTO_memcmp(mac->data(), expected.data(), expected.size()) != 0) {
    return unauthorized("The token's signature is not valid.");
  }
  Result<TokenClaims> c = decode_claims(payload);
  if (!c.ok()) return c.error();
  if (now >= c->expires_at) {
    return make_error(ErrorCode::TOKEN_EXPIRED, "token", "The token has expired.");
  }
  return c;
}

Result<std::string> load_or_create_secret(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      return make_error(ErrorCode::INTERNAL, "", "No randomness for a new secret.");
    }
    std::string hex;
    for (unsigned char b : raw) {
      static constexpr char kHex[] = "0123456789abcdef";
      hex += kHex[b >> 4];
      hex += kHex[b & 15];
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
      return make_error(ErrorCode::INTERNAL, "", "Cannot create the secret file " + path + ".");
    const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
    ::close(fd);
    if (!ok)
      return make_error(ErrorCode::INTERNAL, "", "Cannot write the secret file " + path + ".");
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < 16) {
    return make_error(ErrorCode::INTERNAL, "",
                      "The secret in " + path + " is shorter than 16 bytes.");
  }
  return secret;
}

}  // namespace returns::server
