// transport.h — the two transports a connection runs over: plain TCP, or TLS over TCP (OpenSSL,
// `--tls-cert`/`--tls-key`). HttpSession and SyncSession are templates on the stream type; the
// only steps in which the transports differ — the server's handshake and ending the connection —
// are the overloads below, so the session logic is written once.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "core/error.h"

namespace returns::server {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A server context from a PEM certificate (chain) file and its PEM private key file, TLS 1.2 or
// later. Nothing is served when this fails: the error names the file that cannot be read or
// parsed, or says that the key does not belong to the certificate.
Result<std::unique_ptr<boost::asio::ssl::context>> make_tls_context(const std::string& cert_file,
                                                                    const std::string& key_file);

// Limits of the TLS steps: a peer that stalls the handshake or the close_notify exchange is cut
// off after these, like one that stalls an HTTP request.
inline constexpr std::chrono::seconds kTlsHandshakeTimeout{10};
inline constexpr std::chrono::seconds kTlsShutdownTimeout{5};

// The server's side of the connection setup, then `done(error_code)`. Plain TCP has none.
template <class Handler>
void async_server_handshake(PlainStream& stream, Handler&& done) {
  boost::asio::post(stream.get_executor(), [done = std::forward<Handler>(done)]() mutable {
    done(boost::beast::error_code());
  });
}
template <class Handler>
void async_server_handshake(TlsStream& stream, Handler&& done) {
  boost::beast::get_lowest_layer(stream).expires_after(kTlsHandshakeTimeout);
  stream.async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(done));
}

// Ends an HTTP connection after its last response: a TCP half-close, or TLS close_notify. The
// socket itself closes when the session that owns the stream goes away; `done` keeps it alive
// until then.
template <class Handler>
void async_end_connection(PlainStream& stream, Handler&& done) {
  boost::beast::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  boost::asio::post(stream.get_executor(), [done = std::forward<Handler>(done)]() mutable {
    done(boost::beast::error_code());
  });
}
template <class Handler>
void async_end_connection(TlsStream& stream, Handler&& done) {
  boost::beast::get_lowest_layer(stream).expires_after(kTlsShutdownTimeout);
  stream.async_shutdown(std::forward<Handler>(done));
}

}  // namespace returns::server
