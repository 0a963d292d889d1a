#include "adapters/redis/redis_client.h"

#include <hiredis/async.h>
#include <openssl/sha.h>

#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <list>
#include <utility>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/redis/asio_hiredis.h"
#include "server/error_mapping.h"

namespace halopsa::redis {

namespace asio = boost::asio;

namespace {

RedisReply CopyReply(const redisReply& reply) {
  RedisReply copy;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      copy.type = RedisReply::Type::kString;
      break;
    case REDIS_REPLY_STATUS:
      copy.type = RedisReply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      copy.type = RedisReply::Type::kError;
      break;
    case REDIS_REPLY_INTEGER:
      copy.type = RedisReply::Type::kInteger;
      copy.integer = reply.integer;
      return copy;
    case REDIS_REPLY_ARRAY:
      copy.type = RedisReply::Type::kArray;
      copy.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) copy.elements.push_back(CopyReply(*reply.element[i]));
      return copy;
    default:
      return copy;  // nil
  }
  copy.text.assign(reply.str, reply.len);
  return copy;
}

absl::Status DeadlinePassed() {
  return WithErrorInfo(absl::DeadlineExceededError("the call's deadline passed while waiting for Redis"),
                       kReasonSharedStateUnavailable);
}

std::chrono::steady_clock::duration ToSteady(absl::Duration duration) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(duration));
}

}  // namespace

absl::Status SharedStateUnavailable(absl::string_view what) {
  return WithErrorInfo(absl::UnavailableError(absl::StrCat("shared state (Redis) unavailable: ", what)),
                       kReasonSharedStateUnavailable);
}

std::string SharedKey(absl::string_view kind, absl::string_view id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  // 16 bytes: collisions are out of reach, the key stays short.
  return absl::StrCat("halopsa:", kind, ":{", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16)), "}");
}

std::string NewOwnerToken() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* bitgen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(*bitgen), absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint64_t>(*bitgen), absl::kZeroPad16));
}

absl::Status UnexpectedReply(absl::string_view command) {
  return SharedStateUnavailable(absl::StrCat("unexpected reply to ", command));
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  sha1_ = absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

class RedisClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, RedisOptions options)
      : strand_(asio::make_strand(io)),
        options_(std::move(options)),
        reconnect_timer_(strand_),
        next_delay_(options_.min_reconnect_delay),
        down_since_(absl::ToUnixNanos(absl::Now())) {}

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Connect(); });
  }

  // Idempotent. Waits for the strand twice: the second time, failures the
  // closing posted have been delivered.
  void Close() {
    for (int round = 0; round < 2; ++round) {
      std::promise<void> done;
      asio::post(strand_, [this, &done, round] {
        if (round == 0 && !closing_) {
          closing_ = true;
          reconnect_timer_.cancel();
          for (asio::steady_timer& timer : delays_) timer.cancel();
          Reset("the client is closed");
        }
        done.set_value();
      });
      done.get_future().wait();
    }
  }

  // Sends one command; error replies reach `done` as replies.
  void Send(std::vector<std::string> args, absl::Time deadline, Callback done) {
    asio::post(strand_, [self = shared_from_this(), args = std::move(args), deadline, done = std::move(done)]() mutable {
      self->Dispatch(std::move(args), deadline, std::move(done), /*bounded_by_deadline=*/false);
    });
  }

  void RunAfter(absl::Duration delay, Task task) {
    asio::post(strand_, [self = shared_from_this(), delay, task = std::move(task)]() mutable {
      if (self->closing_) return task();
      auto timer = self->delays_.emplace(self->delays_.end(), self->strand_, ToSteady(delay));
      timer->async_wait([self, timer, task = std::move(task)](const boost::system::error_code&) mutable {
        self->delays_.erase(timer);
        task();
      });
    });
  }

  bool up() const { return up_.load(); }
  absl::Duration down_for() const {
    if (up_.load()) return absl::ZeroDuration();
    return absl::Now() - absl::FromUnixNanos(down_since_.load());
  }

  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> writes{0};

 private:
  // One command in flight; hiredis holds a reference until it answers it
  // (or drops it, when the connection goes).
  struct Pending {
    Pending(const Strand& strand, Callback done) : timer(strand), done(std::move(done)) {}
    asio::steady_timer timer;
    Callback done;
    bool finished = false;
    bool handshake = false;
  };
  using PendingRef = std::shared_ptr<Pending>;

  void Dispatch(std::vector<std::string> args, absl::Time deadline, Callback done, bool handshake) {
    const absl::Time now = absl::Now();
    if (context_ == nullptr) return Fail(std::move(done), SharedStateUnavailable(down_reason_));
    if (now >= deadline) return Fail(std::move(done), DeadlinePassed());
    if (pending_ >= options_.max_pending_commands) {
      return Fail(std::move(done), SharedStateUnavailable("too many Redis commands in flight"));
    }
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto pending = std::make_shared<Pending>(strand_, std::move(done));
    pending->handshake = handshake;
    auto* reference = new PendingRef(pending);
    if (redisAsyncCommandArgv(context_, &Impl::OnReply, reference, static_cast<int>(argv.size()), argv.data(),
                              lengths.data()) != REDIS_OK) {
      delete reference;
      return Fail(std::move(pending->done), SharedStateUnavailable("the connection to Redis is closing"));
    }
    ++pending_;
    commands.fetch_add(1, std::memory_order_relaxed);
    const absl::Duration bound = handshake ? options_.connect_timeout : options_.command_timeout;
    const bool cut_by_deadline = deadline < now + bound;
    pending->timer.expires_after(ToSteady(cut_by_deadline ? deadline - now : bound));
    pending->timer.async_wait([self = shared_from_this(), weak = std::weak_ptr<Pending>(pending),
                               cut_by_deadline](const boost::system::error_code& error) {
      PendingRef pending = weak.lock();
      if (error || !pending || pending->finished) return;
      if (cut_by_deadline) return self->Finish(*pending, DeadlinePassed());
      // Pipelined replies come in order: a stuck command holds up the rest,
      // so the connection goes, before the caller hears of it.
      Callback done = self->Detach(*pending);
      self->Reset("Redis did not answer in time");
      self->errors.fetch_add(1, std::memory_order_relaxed);
      done(SharedStateUnavailable("Redis did not answer in time"));
    });
  }

  static void OnReply(redisAsyncContext* context, void* reply, void* privdata) {
    std::unique_ptr<PendingRef> reference(static_cast<PendingRef*>(privdata));
    Pending& pending = **reference;
    if (pending.finished) return;
    auto* self = static_cast<Impl*>(context->data);
    if (reply == nullptr) return self->Finish(pending, SharedStateUnavailable("the connection to Redis was lost"));
    self->Finish(pending, CopyReply(*static_cast<redisReply*>(reply)));
  }

  // Takes the command's callback; hiredis' later answer, if any, is ignored.
  Callback Detach(Pending& pending) {
    pending.finished = true;
    pending.timer.cancel();
    --pending_;
    return std::move(pending.done);
  }

  void Finish(Pending& pending, absl::StatusOr<RedisReply> result) {
    Callback done = Detach(pending);
    if (!result.ok()) errors.fetch_add(1, std::memory_order_relaxed);
    done(std::move(result));
  }

  void Fail(Callback done, absl::Status status) {
    errors.fetch_add(1, std::memory_order_relaxed);
    asio::post(strand_, [done = std::move(done), status = std::move(status)]() mutable { done(std::move(status)); });
  }

  void Connect() {
    if (closing_) return;
    const RedisEndpoint& endpoint = options_.endpoint;
    redisAsyncContext* context = endpoint.socket_path.empty()
                                     ? redisAsyncConnect(endpoint.host.c_str(), endpoint.port)
                                     : redisAsyncConnectUnix(endpoint.socket_path.c_str());
    if (context == nullptr || context->err != 0) {
      std::string why = context == nullptr ? "out of memory" : context->errstr;
      if (context != nullptr) redisAsyncFree(context);
      return Lost(why);
    }
    context->data = this;
    AsioHiredisEvents::Attach(context, strand_, writes);
    redisAsyncSetConnectCallback(context, &Impl::OnConnect);
    redisAsyncSetDisconnectCallback(context, &Impl::OnDisconnect);
    context_ = context;
    Handshake();
  }

  // Queued before any command, so everything sent on this connection comes
  // after the login; the PING's answer says the connection works.
  void Handshake() {
    const RedisEndpoint& endpoint = options_.endpoint;
    const absl::Time deadline = absl::InfiniteFuture();
    auto check = [self = shared_from_this()](absl::string_view step) {
      return [self, step](absl::StatusOr<RedisReply> reply) {
        if (reply.ok() && reply->type != RedisReply::Type::kError) return;
        // Redis' own error text (e.g. WRONGPASS) names no credential.
        self->Reset(reply.ok() ? absl::StrCat("Redis refused ", step, ": ", reply->text)
                               : std::string(reply.status().message()));
      };
    };
    if (!endpoint.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!endpoint.username.empty()) auth.push_back(endpoint.username);
      auth.push_back(endpoint.password);
      Dispatch(std::move(auth), deadline, check("AUTH"), /*handshake=*/true);
    }
    if (endpoint.database != 0) {
      Dispatch({"SELECT", absl::StrCat(endpoint.database)}, deadline, check("SELECT"), true);
    }
    Dispatch({"PING"}, deadline,
             [self = shared_from_this()](absl::StatusOr<RedisReply> reply) {
               if (reply.ok() && reply->type != RedisReply::Type::kError) self->Up();
             },
             true);
  }

  static void OnConnect(const redisAsyncContext* context, int status) {
    if (status == REDIS_OK) return;
    // hiredis frees the context after this callback.
    auto* self = static_cast<Impl*>(context->data);
    if (self->context_ != context) return;
    self->context_ = nullptr;
    self->Lost(context->errstr);
  }

  static void OnDisconnect(const redisAsyncContext* context, int status) {
    auto* self = static_cast<Impl*>(context->data);
    if (self->context_ != context) return;  // we closed it ourselves
    self->context_ = nullptr;
    self->Lost(context->err != 0 ? context->errstr : "Redis closed the connection");
  }

  // Drops the connection (commands in flight fail) and reconnects later.
  void Reset(std::string why) {
    redisAsyncContext* context = std::exchange(context_, nullptr);
    down_reason_ = why;
    if (context != nullptr) redisAsyncFree(context);  // fails what is in flight
    Lost(std::move(why));
  }

  void Up() {
    next_delay_ = options_.min_reconnect_delay;
    if (up_.exchange(true)) return;
    if (options_.on_state_change) options_.on_state_change(true, "");
  }

  void Lost(std::string why) {
    down_reason_ = std::move(why);
    errors.fetch_add(1, std::memory_order_relaxed);
    if (up_.exchange(false)) {
      down_since_.store(absl::ToUnixNanos(absl::Now()));
      if (options_.on_state_change) options_.on_state_change(false, down_reason_);
    }
    if (closing_ || reconnect_scheduled_) return;
    reconnect_scheduled_ = true;
    // Jitter keeps replicas from reconnecting in step.
    absl::Duration delay = next_delay_ * absl::Uniform(bitgen_, 0.5, 1.0);
    next_delay_ = std::min(next_delay_ * 2, options_.max_reconnect_delay);
    reconnect_timer_.expires_after(ToSteady(delay));
    reconnect_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      self->reconnect_scheduled_ = false;
      if (!error) self->Connect();
    });
  }

  Strand strand_;
  const RedisOptions options_;
  // Everything below is touched on the strand only, except the atomics.
  redisAsyncContext* context_ = nullptr;
  std::string down_reason_ = "not connected yet";
  size_t pending_ = 0;
  bool closing_ = false;
  bool reconnect_scheduled_ = false;
  asio::steady_timer reconnect_timer_;
  absl::Duration next_delay_;
  std::list<asio::steady_timer> delays_;  // RunAfter's
  absl::BitGen bitgen_;
  std::atomic<bool> up_{false};
  std::atomic<int64_t> down_since_;
};

std::unique_ptr<RedisClient> RedisClient::Start(asio::io_context& io, RedisOptions options) {
  // hiredis writes with write(), not send(MSG_NOSIGNAL): a Redis that died
  // with commands in flight must fail the write (EPIPE, then a reconnect),
  // not end the whole process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_shared<Impl>(io, std::move(options));
  impl->Start();
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(impl)));
}

RedisClient::RedisClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisClient::~RedisClient() { impl_->Close(); }

void RedisClient::Close() { impl_->Close(); }

namespace {

// Redis' error replies become failures; `what` names the command in them.
RedisClient::Callback FailingOnErrorReplies(std::string what, RedisClient::Callback done) {
  return [what = std::move(what), done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
    if (reply.ok() && reply->type == RedisReply::Type::kError) {
      return done(SharedStateUnavailable(absl::StrCat("Redis refused ", what, ": ", reply->text)));
    }
    done(std::move(reply));
  };
}

}  // namespace

void RedisClient::Command(std::vector<std::string> args, absl::Time deadline, Callback done) {
  std::string name = args.empty() ? "" : args.front();
  impl_->Send(std::move(args), deadline, FailingOnErrorReplies(std::move(name), std::move(done)));
}

void RedisClient::Eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args,
                       absl::Time deadline, Callback done) {
  std::vector<std::string> command = {"EVALSHA", script.sha1(), absl::StrCat(keys.size())};
  command.insert(command.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
  command.insert(command.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  impl_->Send(command, deadline, [impl = impl_, source = script.source(), command, deadline,
                                  done = FailingOnErrorReplies("a script", std::move(done))](
                                     absl::StatusOr<RedisReply> reply) mutable {
    if (reply.ok() && reply->type == RedisReply::Type::kError && absl::StartsWith(reply->text, "NOSCRIPT")) {
      command[0] = "EVAL";
      command[1] = std::move(source);
      return impl->Send(std::move(command), deadline, std::move(done));
    }
    done(std::move(reply));
  });
}

void RedisClient::RunAfter(absl::Duration delay, Task task) { impl_->RunAfter(delay, std::move(task)); }

bool RedisClient::up() const { return impl_->up(); }
absl::Duration RedisClient::down_for() const { return impl_->down_for(); }
uint64_t RedisClient::errors() const { return impl_->errors.load(); }
uint64_t RedisClient::commands_sent() const { return impl_->commands.load(); }
uint64_t RedisClient::round_trips() const { return impl_->writes.load(); }

}  // namespace halopsa::redis
