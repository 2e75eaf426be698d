// listener.cc — the accept loop.
#include "server/listener.h"

#include <boost/asio/strand.hpp>

namespace returns::server {

Listener::Listener(boost::asio::io_context& ioc, Hub& hub, const std::string& secret,
                   const HttpConfig& config, const SessionLimits& limits,
                   boost::asio::ssl::context* tls)
    : ioc_(ioc),
      acceptor_(ioc),
      hub_(hub),
      secret_(secret),
      config_(config),
      limits_(limits),
      tls_(tls) {}

Status Listener::open(const boost::asio::ip::tcp::endpoint& endpoint) {
  boost::beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorCode::INTERNAL, "listen", "Cannot listen: " + ec.message());
  return Status::Ok();
}

void Listener::run() { do_accept(); }

void Listener::stop() {
  boost::beast::error_code ec;
  acceptor_.close(ec);
}

void Listener::do_accept() {
  acceptor_.async_accept(
      ioc_, boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket) {
  if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
  // Small frames go out at once: with Nagle, a frame queued right after another (a result, then
  // its changes) waited for the peer's delayed ACK, ~40 ms.
  if (!ec) {
    boost::beast::error_code ignored;
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  }
  if (!ec && tls_ != nullptr) {
    std::make_shared<HttpSession<TlsStream>>(TlsStream(PlainStream(std::move(socket)), *tls_), hub_,
                                             secret_, config_, limits_)
        ->run();
  } else if (!ec) {
    std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)), hub_, secret_,
                                               config_, limits_)
        ->run();
  }
  do_accept();
}

}  // namespace returns::server
