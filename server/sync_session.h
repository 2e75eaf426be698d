// sync_session.h — one WebSocket connection speaking the sync protocol (docs/protocol.md):
// hello → welcome (or reset), catch-up in bounded batches, synced, then live changes; pushed ops
// go to the group writer and come back as results. One async_write in flight, a bounded queue;
// a consumer that falls behind is cut off and resumes by cursor. A template on the stream type
// (transport.h): ws:// over PlainStream, wss:// over TlsStream.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "server/hub.h"
#include "server/transport.h"
#include "sync/protocol.h"

namespace returns::server {

struct SessionLimits {
  std::size_t max_queue_frames = 1024;  // beyond this the session is cut off
  double ops_per_second = 50;           // token bucket refill (buyers)
  double op_burst = 200;                // token bucket size (buyers)
  // Operators decide in bulk (one push of up to 100 decisions, several in a row): a larger
  // bucket, so 500 decisions go through at once and a day's queue in seconds.
  double operator_ops_per_second = 200;
  double operator_op_burst = 1000;
  std::chrono::seconds hello_timeout{5};
  std::chrono::seconds idle_timeout{120};
};

// Stream: PlainStream or TlsStream (both instantiated in sync_session.cc); the stream arrives
// from the HttpSession that read the upgrade request, with any TLS handshake done.
template <class Stream>
class SyncSession : public SyncSubscriber,
                    public std::enable_shared_from_this<SyncSession<Stream>> {
 public:
  SyncSession(Stream&& stream, Hub& hub, const std::string& secret, SessionLimits limits);
  ~SyncSession() override;

  // Accepts the upgrade request and starts reading.
  void start(boost::beast::http::request<boost::beast::http::string_body> request);

  // I/O thread: a commit's frames; this session picks its audience's.
  void on_broadcast(const Broadcast& b) override;
  // I/O thread: finish what is queued, then close normally (shutdown).
  void close_gracefully() override;

 private:
  enum class Phase { awaiting_hello, catching_up, live, closing };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_frame(const std::string& text);
  void handle_hello(const sync::Hello& hello);
  void handle_push(const sync::Push& push);
  void request_catch_up();
  void on_catch_up(CatchUp result);
  void send(Frame frame);
  void send_text(std::string text) { send(std::make_shared<const std::string>(std::move(text))); }
  void fail(ErrorCode code, const std::string& message);  // error frame (fatal) then close
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void close(boost::beast::websocket::close_code code, const std::string& reason);
  bool take_token();

  boost::beast::websocket::stream<Stream> ws_;
  boost::beast::flat_buffer buffer_;
  Hub& hub_;
  const std::string& secret_;
  SessionLimits limits_;
  boost::asio::steady_timer hello_timer_;

  Phase phase_ = Phase::awaiting_hello;
  sync::Principal principal_;
  std::string client_id_;
  std::int64_t cursor_ = 0;
  std::deque<Broadcast> pending_live_;  // broadcasts that arrive while catching up
  std::deque<Frame> queue_;
  bool writing_ = false;
  bool close_after_queue_ = false;
  // The close frame sent once the queue drains: 1008 with the reason after a fatal error, 1001
  // on shutdown.
  boost::beast::websocket::close_code close_code_ = boost::beast::websocket::close_code::normal;
  std::string close_reason_;
  bool closed_ = false;
  double tokens_;
  std::chrono::steady_clock::time_point refill_at_;
};

}  // namespace returns::server
