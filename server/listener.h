// listener.h — accepts TCP connections and hands each to an HttpSession.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "server/http_session.h"

namespace returns::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, Hub& hub, const std::string& secret,
           const HttpConfig& config, const SessionLimits& limits);
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
};

}  // namespace returns::server
