// transport.cc — loading the server's TLS certificate and key (OpenSSL).
#include "server/transport.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace returns::server {

namespace ssl = boost::asio::ssl;

namespace {

Error tls_error(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::INTERNAL, field, field + ": " + message);
}

// The oldest OpenSSL error queued, as text (and the queue cleared).
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<std::FILE, FileCloser> open_file(const std::string& path) {
  return std::unique_ptr<std::FILE, FileCloser>(std::fopen(path.c_str(), "rb"));
}

// Never prompt on the terminal for a passphrase: an encrypted key is refused instead.
int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

Result<std::unique_ptr<ssl::context>> make_tls_context(const std::string& cert_file,
                                                       const std::string& key_file) {
  // Read both files ourselves first, so that each failure names its file and a mismatched pair
  // says so (OpenSSL's own loaders report both as a generic "key values mismatch").
  auto cert_in = open_file(cert_file);
  if (!cert_in) return tls_error("--tls-cert", "cannot read " + cert_file + ": " + strerror(errno));
  auto key_in = open_file(key_file);
  if (!key_in) return tls_error("--tls-key", "cannot read " + key_file + ": " + strerror(errno));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_X509(cert_in.get(), nullptr, &no_passphrase, nullptr));
  if (!cert) {
    return tls_error("--tls-cert",
                     cert_file + " holds no PEM certificate (" + openssl_reason() + ")");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_PrivateKey(key_in.get(), nullptr, &no_passphrase, nullptr));
  if (!key) {
    return tls_error("--tls-key",
                     key_file + " holds no unencrypted PEM private key (" + openssl_reason() + ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return tls_error("--tls-key", key_file + " does not match the certificate in " + cert_file);
  }

  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return tls_error("--tls-cert", "cannot require TLS 1.2 (" + openssl_reason() + ")");
  }
  ctx->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
  SSL_CTX_set_default_passwd_cb(native, &no_passphrase);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return tls_error("--tls-cert", "cannot use " + cert_file + ": " + ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return tls_error("--tls-key", "cannot use " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return tls_error("--tls-key", key_file + " does not match the certificate in " + cert_file +
                                      " (" + openssl_reason() + ")");
  }
  return ctx;
}

}  // namespace returns::server
