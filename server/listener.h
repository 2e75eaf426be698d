// listener.h — accepts TCP connections and hands each to an HttpSession: over TLS when the
// listener has a TLS context (then it serves https/wss only), else over plain TCP.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "server/http_session.h"

namespace returns::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `tls`: null for plain HTTP/WS; else it must outlive every session (they hold it).
  Listener(boost::asio::io_context& ioc, Hub& hub, const std::string& secret,
           const HttpConfig& config, const SessionLimits& limits,
           boost::asio::ssl::context* tls = nullptr);
  // Binds and listens; the error names what failed.
  Status open(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run();
  void stop();

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Hub& hub_;
  const std::string& secret_;
  const HttpConfig& config_;
  const SessionLimits& limits_;
  boost::asio::ssl::context* tls_;
};

}  // namespace returns::server
