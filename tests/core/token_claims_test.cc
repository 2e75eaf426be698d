// token_claims_test.cc — the pure half of access tokens (core/token_claims.h): what a client may
// read from a token without the secret, and every malformed token refused as UNAUTHORIZED.
#include "core/token_claims.h"

#include <gtest/gtest.h>

namespace returns {
namespace {

TEST(TokenClaims, ABuyerTokenNamesItsBuyerWithoutTheSecret) {
  const TokenClaims c{Role::buyer, "B-alpha", "dana", 1'800'000'000'000};
  const std::string token = encode_claims(c) + "." + base64url_encode("any signature");
  Result<TokenClaims> read = read_token_claims(token);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->role, Role::buyer);
  EXPECT_EQ(read->buyer_id, "B-alpha");
  EXPECT_EQ(read->subject, "dana");
  EXPECT_EQ(read->expires_at, 1'800'000'000'000);
}

TEST(TokenClaims, MalformedTokensAreUnauthorized) {
  const std::string good = encode_claims(TokenClaims{Role::operator_, "", "op", 5});
  const std::string no_buyer = base64url_encode(R"({"role":"buyer","sub":"x","exp":1})");
  const std::string bad_role = base64url_encode(R"({"role":"admin","sub":"x","exp":1})");
  const std::string no_exp = base64url_encode(R"({"role":"operator","sub":"x"})");
  for (const std::string& t :
       {std::string(), std::string("no-dot"), good + ".a.b", good.substr(1) + ".sig",
        std::string("!!!.sig"), no_buyer + ".sig", bad_role + ".sig", no_exp + ".sig",
        base64url_encode("[1,2]") + ".sig", std::string(5000, 'a') + ".sig"}) {
    Result<TokenClaims> r = read_token_claims(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.error().code, ErrorCode::UNAUTHORIZED) << t;
    EXPECT_EQ(r.error().field, "token");
  }
  EXPECT_TRUE(read_token_claims(good + ".sig").ok());
}

TEST(TokenClaims, Base64urlIsCanonicalOnly) {
  for (const std::string& s :
       {std::string(), std::string("f"), std::string("fo"), std::string("foo"), std::string("foob"),
        std::string("fooba"), std::string("foobar"), std::string("\xff\x00\x10", 3)}) {
    const std::string e = base64url_encode(s);
    EXPECT_EQ(base64url_decode(e), s) << e;
  }
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64url_decode("Zg=").has_value());     // padding is not base64url here
  EXPECT_FALSE(base64url_decode("Zh").has_value());      // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("Z").has_value());       // 6 bits: not a byte
  EXPECT_FALSE(base64url_decode("Zm9v+/").has_value());  // the other alphabet
}

}  // namespace
}  // namespace returns
