// sync_session.cc — the sync protocol state machine over one WebSocket.
#include "server/sync_session.h"

#include <boost/asio/post.hpp>

#include "server/log.h"
#include "server/token.h"
#include "sync/server_rules.h"

namespace returns::server {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

template <class Stream>
SyncSession<Stream>::SyncSession(Stream&& stream, Hub& hub, const std::string& secret,
                                 SessionLimits limits)
    : ws_(std::move(stream)),
      hub_(hub),
      secret_(secret),
      limits_(limits),
      hello_timer_(ws_.get_executor()),
      tokens_(limits.op_burst),
      refill_at_(std::chrono::steady_clock::now()) {}

template <class Stream>
SyncSession<Stream>::~SyncSession() {
  hub_.metrics().send_queue_frames -= static_cast<std::int64_t>(queue_.size());
  hub_.leave(this);
}

template <class Stream>
void SyncSession<Stream>::start(beast::http::request<beast::http::string_body> request) {
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts =
      websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = limits_.idle_timeout;
  ws_.set_option(timeouts);
  ws_.read_message_max(sync::kMaxFrameBytes);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "returnsd"); }));
  ws_.async_accept(request,
                   beast::bind_front_handler(&SyncSession::on_accept, this->shared_from_this()));
}

template <class Stream>
void SyncSession<Stream>::on_accept(beast::error_code ec) {
  if (ec) return;
  hub_.join(this->shared_from_this());
  hello_timer_.expires_after(limits_.hello_timeout);
  hello_timer_.async_wait([weak = this->weak_from_this()](beast::error_code tec) {
    auto self = weak.lock();
    if (tec || !self || self->phase_ != Phase::awaiting_hello) return;
    self->fail(ErrorCode::HELLO_REQUIRED, "No hello within 5 seconds.");
  });
  do_read();
}

template <class Stream>
void SyncSession<Stream>::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&SyncSession::on_read, this->shared_from_this()));
}

template <class Stream>
void SyncSession<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // Closed by the peer, timed out, or a frame Beast refused (too big: 1009, invalid UTF-8:
    // 1007); Beast has already sent the close frame where one is due.
    closed_ = true;
    hello_timer_.cancel();
    return;
  }
  if (!ws_.got_text()) {
    buffer_.consume(buffer_.size());
    fail(ErrorCode::BAD_TYPE, "Only text frames carry the protocol.");
    return;
  }
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  handle_frame(text);
  if (!closed_ && !close_after_queue_) do_read();
}

template <class Stream>
void SyncSession<Stream>::handle_frame(const std::string& text) {
  Result<sync::ClientMessage> msg = sync::parse_client_message(text);
  if (!msg.ok()) {
    ++hub_.metrics().protocol_errors;
    if (phase_ == Phase::awaiting_hello) {
      // A wrong proto is UNSUPPORTED_PROTO; a hello whose token is absent, not a string or too
      // long is UNAUTHORIZED ("token missing or malformed", docs/errors.md); anything else that
      // is not a well-formed hello is HELLO_REQUIRED. All fatal.
      ErrorCode code = ErrorCode::HELLO_REQUIRED;
      if (msg.error().code == ErrorCode::UNSUPPORTED_PROTO) code = ErrorCode::UNSUPPORTED_PROTO;
      if (msg.error().field == "token") code = ErrorCode::UNAUTHORIZED;
      fail(code, msg.error().message);
    } else {
      send_text(sync::encode_error(msg.error().code, msg.error().message, false));
    }
    return;
  }
  if (const auto* hello = std::get_if<sync::Hello>(&*msg)) {
    if (phase_ != Phase::awaiting_hello) {
      ++hub_.metrics().protocol_errors;
      send_text(
          sync::encode_error(ErrorCode::HELLO_REQUIRED, "hello was already received.", false));
      return;
    }
    handle_hello(*hello);
  } else if (const auto* push = std::get_if<sync::Push>(&*msg)) {
    if (phase_ == Phase::awaiting_hello) {
      ++hub_.metrics().protocol_errors;
      fail(ErrorCode::HELLO_REQUIRED, "The first frame must be hello.");
      return;
    }
    handle_push(*push);
  } else if (const auto* ping = std::get_if<sync::Ping>(&*msg)) {
    if (phase_ == Phase::awaiting_hello) {
      fail(ErrorCode::HELLO_REQUIRED, "The first frame must be hello.");
      return;
    }
    send_text(sync::encode_pong(ping->t, hub_.clock().now_ms()));
  }
}

template <class Stream>
void SyncSession<Stream>::handle_hello(const sync::Hello& hello) {
  Result<TokenClaims> claims = verify_token(hello.token, secret_, hub_.clock().now_ms());
  if (!claims.ok()) {
    fail(claims.error().code, claims.error().message);
    return;
  }
  hello_timer_.cancel();
  principal_.role = claims->role;
  principal_.buyer_id = claims->buyer_id;
  principal_.subject = claims->subject;
  client_id_ = hello.client_id;
  tokens_ = principal_.role == Role::operator_ ? limits_.operator_op_burst : limits_.op_burst;
  refill_at_ = std::chrono::steady_clock::now();
  phase_ = Phase::catching_up;  // pushes are accepted from here on; the writer orders them after
  struct HelloFacts {
    std::optional<std::string> bound_to;
    std::int64_t last_seq = 0;
    bool cursor_ok = true;
  };
  auto facts = std::make_shared<HelloFacts>();
  const std::int64_t cursor = hello.cursor;
  const std::string client = client_id_;
  const bool posted = hub_.with_store(
      [facts, client, cursor](store::Store& s) {
        facts->bound_to = s.client_principal(client);
        facts->last_seq = s.last_seq(client);
        // Cursor 0 ("from scratch") is always good; see Hub::catch_up.
        facts->cursor_ok = !sync::cursor_needs_reset(cursor, s.head_version(), s.min_version());
      },
      [self = this->shared_from_this(), facts, cursor] {
        if (self->closed_) return;
        if (facts->bound_to && *facts->bound_to != store::principal_key(self->principal_.actor())) {
          self->fail(ErrorCode::FORBIDDEN, "This client id belongs to another principal.");
          return;
        }
        sync::Welcome w;
        w.server_time = self->hub_.clock().now_ms();
        w.principal = self->principal_;
        w.last_seq = facts->last_seq;
        if (!facts->cursor_ok) {
          self->send_text(sync::encode_reset(0));
          w.cursor = 0;
        } else {
          w.cursor = cursor;
        }
        self->cursor_ = w.cursor;
        self->send_text(sync::encode_welcome(w));
        self->request_catch_up();
      });
  if (!posted) fail(ErrorCode::INTERNAL, "The server is shutting down.");
}

template <class Stream>
void SyncSession<Stream>::request_catch_up() {
  const bool posted =
      hub_.catch_up(principal_, cursor_, [weak = this->weak_from_this()](CatchUp result) {
        if (auto self = weak.lock()) self->on_catch_up(std::move(result));
      });
  if (!posted) close_gracefully();
}

template <class Stream>
void SyncSession<Stream>::on_catch_up(CatchUp result) {
  if (closed_ || phase_ != Phase::catching_up) return;
  if (result.reset) {
    // Compacted while we were catching up: start over from scratch.
    send_text(sync::encode_reset(0));
    cursor_ = 0;
    request_catch_up();
    return;
  }
  if (result.frame) send(result.frame);
  cursor_ = std::max(cursor_, result.to);
  if (!result.done) {
    request_catch_up();
    return;
  }
  send_text(sync::encode_synced(cursor_));
  phase_ = Phase::live;
  std::deque<Broadcast> pending;
  pending.swap(pending_live_);
  for (const Broadcast& b : pending) on_broadcast(b);
}

template <class Stream>
void SyncSession<Stream>::on_broadcast(const Broadcast& b) {
  if (closed_ || phase_ == Phase::awaiting_hello || phase_ == Phase::closing) return;
  if (phase_ == Phase::catching_up) {
    if (pending_live_.size() >= limits_.max_queue_frames) {
      ++hub_.metrics().slow_consumers_cut;
      fail(ErrorCode::RATE_LIMITED, "Too far behind; reconnect and resume from your cursor.");
      return;
    }
    pending_live_.push_back(b);
    return;
  }
  if (b.to <= cursor_) return;  // already delivered by catch-up
  if (principal_.role == Role::operator_) {
    if (b.operators) send(b.operators);
    for (const Frame& f : b.alerts) send(f);
  } else if (auto it = b.buyers.find(principal_.buyer_id); it != b.buyers.end()) {
    send(it->second);
  }
  cursor_ = b.to;
}

template <class Stream>
bool SyncSession<Stream>::take_token() {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - refill_at_).count();
  refill_at_ = now;
  const bool op = principal_.role == Role::operator_;
  const double burst = op ? limits_.operator_op_burst : limits_.op_burst;
  const double rate = op ? limits_.operator_ops_per_second : limits_.ops_per_second;
  tokens_ = std::min(burst, tokens_ + elapsed * rate);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

template <class Stream>
void SyncSession<Stream>::handle_push(const sync::Push& push) {
  for (const sync::PushedOp& op : push.ops) {
    if (!take_token()) {
      ++hub_.metrics().ops_rate_limited;
      send_text(sync::encode_error(
          ErrorCode::RATE_LIMITED,
          "Too many ops; seq " + std::to_string(op.seq) + " and later were not applied.", false));
      return;
    }
    store::OpRequest req{client_id_, op.seq, principal_.actor(), op.op, op.args, op.client_time};
    const bool queued =
        hub_.writer().submit(std::move(req), [this_io = &hub_, weak = this->weak_from_this(),
                                              seq = op.seq](const Result<store::OpResult>& r) {
          (void)this_io;
          auto result = std::make_shared<Result<store::OpResult>>(r);
          std::shared_ptr<SyncSession> self = weak.lock();
          if (!self) return;
          boost::asio::post(self->ws_.get_executor(), [self, result, seq] {
            Metrics& m = self->hub_.metrics();
            if (!result->ok()) {
              self->send_text(sync::encode_error(
                  ErrorCode::INTERNAL,
                  "seq " + std::to_string(seq) + " was not applied; resend it.", false));
              return;
            }
            const store::OpResult& res = **result;
            if (res.code == ErrorCode::SEQ_GAP && !res.duplicate) {
              ++m.protocol_errors;
            } else if (res.duplicate) {
              ++m.ops_duplicate;
            } else if (res.applied) {
              ++m.ops_applied;
            } else {
              ++m.ops_refused;
            }
            self->send_text(
                sync::answer_frame(sync::OpAnswer{res.seq, res.applied, res.code, res.message,
                                                  res.version, res.duplicate, res.decision}));
          });
        });
    if (!queued) {
      send_text(sync::encode_error(ErrorCode::RATE_LIMITED,
                                   "The server is busy or stopping; seq " + std::to_string(op.seq) +
                                       " and later were not applied.",
                                   false));
      return;
    }
  }
}

template <class Stream>
void SyncSession<Stream>::send(Frame frame) {
  if (closed_) return;
  if (queue_.size() >= limits_.max_queue_frames) {
    ++hub_.metrics().slow_consumers_cut;
    log_event("warn", "slow_consumer", {{"client_id", client_id_}});
    // Keep only the frame being written (its buffer is in use), drop the rest.
    const std::size_t keep = writing_ ? 1 : 0;
    hub_.metrics().send_queue_frames -= static_cast<std::int64_t>(queue_.size() - keep);
    queue_.resize(keep);
    close(websocket::close_code::policy_error, "slow consumer: reconnect and resume by cursor");
    return;
  }
  queue_.push_back(std::move(frame));
  ++hub_.metrics().send_queue_frames;
  if (!writing_) do_write();
}

template <class Stream>
void SyncSession<Stream>::do_write() {
  if (queue_.empty() || closed_) return;
  writing_ = true;
  ws_.text(true);
  ws_.async_write(boost::asio::buffer(*queue_.front()),
                  beast::bind_front_handler(&SyncSession::on_write, this->shared_from_this()));
}

template <class Stream>
void SyncSession<Stream>::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (!queue_.empty()) {
    queue_.pop_front();
    --hub_.metrics().send_queue_frames;
  }
  if (ec) {
    closed_ = true;
    return;
  }
  ++hub_.metrics().frames_sent;
  if (!queue_.empty()) {
    do_write();
  } else if (close_after_queue_) {
    close(close_code_, close_reason_);
  }
}

template <class Stream>
void SyncSession<Stream>::fail(ErrorCode code, const std::string& message) {
  if (closed_ || close_after_queue_) return;  // already closing: the first reason stands
  send_text(sync::encode_error(code, message, true));
  close_after_queue_ = true;
  close_code_ = websocket::close_code::policy_error;
  close_reason_ = message;
  if (!writing_ && queue_.empty()) close(close_code_, close_reason_);
}

template <class Stream>
void SyncSession<Stream>::close_gracefully() {
  if (closed_) return;
  phase_ = Phase::closing;
  if (!close_after_queue_) {
    close_after_queue_ = true;
    close_code_ = websocket::close_code::going_away;
    close_reason_ = "server shutting down";
  }
  if (!writing_ && queue_.empty()) close(close_code_, close_reason_);
}

template <class Stream>
void SyncSession<Stream>::close(websocket::close_code code, const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  hello_timer_.cancel();
  // A close reason is at most 123 bytes of UTF-8: cut at a character boundary.
  std::size_t cut = std::min<std::size_t>(reason.size(), 120);
  auto continuation = [&](std::size_t i) {
    return (static_cast<unsigned char>(reason[i]) & 0xC0) == 0x80;
  };
  while (cut > 0 && cut < reason.size() && continuation(cut)) --cut;
  websocket::close_reason cr(code, reason.substr(0, cut));
  ws_.async_close(cr, [self = this->shared_from_this()](beast::error_code) {});
}

template class SyncSession<PlainStream>;
template class SyncSession<TlsStream>;

}  // namespace returns::server
