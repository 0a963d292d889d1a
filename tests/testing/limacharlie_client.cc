#include "tests/testing/limacharlie_client.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace halopsa::testing {
namespace {

using lc::testing::Reply;

// LimaCharlie's bound on in_delay_sec (lc-extension common.ContinuationRequest).
constexpr int kMaxContinuationDelaySec = 300;
constexpr absl::Duration kIdleConnectionReuse = absl::Seconds(5);

// The body standing in for an answer that never came, naming why.
std::string NoAnswer(const absl::Status& failure) {
  rapidjson::Document body(rapidjson::kObjectType);
  const std::string text = absl::StrCat("no answer: ", failure.ToString());
  body.AddMember("error", rapidjson::Value(text.c_str(), body.GetAllocator()), body.GetAllocator());
  return lc::testing::Json(body);
}

// One continuation a 200 asked for.
struct Continuation {
  int delay_sec = 0;
  std::string action;
  std::string state_json;
};

// The reply's continuations, or an error naming what is malformed (a
// continuation LimaCharlie itself would refuse ends the chain as lost).
absl::StatusOr<std::vector<Continuation>> ContinuationsOf(const Reply& reply) {
  std::vector<Continuation> continuations;
  if (!reply.json.IsObject() || !reply.json.HasMember("continuations")) return continuations;
  const rapidjson::Value& list = reply.json["continuations"];
  if (!list.IsArray()) return absl::InvalidArgumentError("continuations is not a list");
  for (const rapidjson::Value& entry : list.GetArray()) {
    if (!entry.IsObject() || !entry.HasMember("in_delay_sec") || !entry["in_delay_sec"].IsInt() ||
        !entry.HasMember("action") || !entry["action"].IsString() || !entry.HasMember("state") ||
        !entry["state"].IsObject()) {
      return absl::InvalidArgumentError(absl::StrCat("malformed continuation ", lc::testing::Json(entry)));
    }
    const int delay = entry["in_delay_sec"].GetInt();
    if (delay < 0 || delay > kMaxContinuationDelaySec) {
      return absl::InvalidArgumentError(absl::StrCat("continuation in_delay_sec ", delay, " outside 0..300"));
    }
    continuations.push_back({delay, entry["action"].GetString(), lc::testing::Json(entry["state"])});
  }
  return continuations;
}

}  // namespace

// One logical call and every continuation it led to.
struct LimaCharlieClient::Chain {
  LimaCharlieCall call;  // org and config are reused by its continuations
  Done done;
  absl::Mutex mu;
  absl::Time started ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  int open_branches ABSL_GUARDED_BY(mu) = 1;
  bool all_succeeded ABSL_GUARDED_BY(mu) = true;
  CallOutcome outcome ABSL_GUARDED_BY(mu);
};

// One webhook call (the original or a continuation) and its deliveries.
struct LimaCharlieClient::Attempt {
  std::shared_ptr<Chain> chain;
  net::ServerRequest request;  // signed and gzipped once: every delivery is the same
  std::string idempotency_key;
  int level = 0;
  int deliveries = 0;
};

absl::StatusOr<std::unique_ptr<LimaCharlieClient>> LimaCharlieClient::Create(LimaCharlieOptions options) {
  if (options.gateway_port <= 0 || options.max_attempts < 1 || !(options.time_scale > 0)) {
    return absl::InvalidArgumentError("LimaCharlieClient needs a gateway port, attempts >= 1 and a positive time scale");
  }
  std::unique_ptr<LimaCharlieClient> client(new LimaCharlieClient(options));
  net::BeastTransportOptions transport;
  transport.threads = 1;
  transport.allow_insecure_http = true;
  transport.allow_private_addresses = true;  // the gateway is on loopback
  transport.max_connections_per_host = options.max_connections;
  transport.max_queued_requests_per_host = options.max_connections * 16;
  transport.io_timeout = client->Scaled(options.webhook_timeout);
  // Below the gateway's idle timeout (10 s): a delivery on a kept-alive
  // connection the gateway is closing would be lost, not answered.
  transport.idle_timeout = kIdleConnectionReuse;
  absl::StatusOr<std::unique_ptr<net::BeastHttpTransport>> created = net::BeastHttpTransport::Create(transport);
  if (!created.ok()) return created.status();
  client->transport_ = *std::move(created);
  client->timer_ = std::make_unique<net::IoContextScheduler>(client->transport_->io_context());
  return client;
}

// The signer's delivery is never used: calls go out asynchronously here.
LimaCharlieClient::LimaCharlieClient(LimaCharlieOptions options)
    : options_(std::move(options)),
      signer_(options_.signing_secret, nullptr),
      random_(options_.seed) {}

LimaCharlieClient::~LimaCharlieClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  timer_.reset();      // deliveries still waiting for their time end now, abandoned
  transport_.reset();  // so do answers still awaited; they schedule nothing more
}

void LimaCharlieClient::CallAt(absl::Time when, LimaCharlieCall call, Done done) {
  auto chain = std::make_shared<Chain>();
  auto attempt = std::make_shared<Attempt>();
  attempt->chain = chain;
  attempt->idempotency_key = call.idempotency_key;
  attempt->request = signer_.Build(
      lc::testing::RequestEnvelope(call.org, call.action, call.data_json, call.config, call.idempotency_key));
  chain->call = std::move(call);
  chain->done = std::move(done);
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  timer_->RunAt(when, [this, attempt]() mutable { Deliver(std::move(attempt)); });
}

int LimaCharlieClient::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

bool LimaCharlieClient::WaitUntilIdle(absl::Duration bound) const {
  const auto idle = [](const int* in_flight) { return *in_flight == 0; };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(+idle, &in_flight_), bound);
}

void LimaCharlieClient::Deliver(std::shared_ptr<Attempt> attempt) {
  {
    absl::MutexLock lock(&attempt->chain->mu);
    attempt->chain->started = std::min(attempt->chain->started, absl::Now());
    ++attempt->chain->outcome.deliveries;
  }
  ++attempt->deliveries;
  net::HttpRequest request{"POST", absl::StrCat("http://127.0.0.1:", options_.gateway_port, "/"),
                           attempt->request.headers, attempt->request.body};
  const absl::Time deadline = absl::Now() + Scaled(options_.webhook_timeout);
  {
    absl::MutexLock lock(&mu_);  // the destructor cannot take the transport meanwhile
    if (!stopping_) {
      transport_->Send(std::move(request), deadline, [this, attempt](absl::StatusOr<net::HttpResponse> answer) {
        net::ServerResponse response;
        response.status = 0;  // no answer: LimaCharlie retries
        response.body = answer.ok() ? std::move(answer->body) : NoAnswer(answer.status());
        if (answer.ok()) response.status = answer->status;
        Answered(attempt, lc::testing::ParseReply(std::move(response)));
      });
      return;
    }
  }
  EndBranch(attempt->chain, false, nullptr);
}

void LimaCharlieClient::Answered(std::shared_ptr<Attempt> attempt, Reply reply) {
  const int status = reply.status;
  if (status == 200 && !reply.has_error()) return FollowContinuations(attempt, reply);
  if ((status == 0 || status >= 500) && attempt->deliveries < options_.max_attempts) {
    const absl::Duration pause = Backoff(attempt->deliveries);
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      absl::MutexLock chain_lock(&attempt->chain->mu);
      ++attempt->chain->outcome.retries;
      timer_->RunAt(absl::Now() + pause, [this, attempt]() mutable { Deliver(std::move(attempt)); });
      return;
    }
  }
  EndBranch(attempt->chain, false, &reply);
}

void LimaCharlieClient::FollowContinuations(const std::shared_ptr<Attempt>& attempt, const Reply& reply) {
  const std::shared_ptr<Chain>& chain = attempt->chain;
  absl::StatusOr<std::vector<Continuation>> continuations = ContinuationsOf(reply);
  const int level = attempt->level + 1;
  if (continuations.ok() && level > options_.max_continuation_depth && !continuations->empty()) {
    continuations = absl::ResourceExhaustedError(absl::StrCat("continuations deeper than ", level - 1));
  }
  if (!continuations.ok() || continuations->empty()) {
    if (!continuations.ok()) {
      absl::MutexLock lock(&chain->mu);
      chain->outcome.final_error = std::string(continuations.status().message());
    }
    return EndBranch(chain, continuations.ok(), continuations.ok() ? &reply : nullptr);
  }
  {
    absl::MutexLock lock(&chain->mu);
    chain->open_branches += static_cast<int>(continuations->size()) - 1;
    chain->outcome.deferrals += static_cast<int>(continuations->size());
    chain->outcome.max_level = std::max(chain->outcome.max_level, level);
  }
  for (Continuation& continuation : *continuations) {
    auto next = std::make_shared<Attempt>();
    next->chain = chain;
    next->level = level;
    next->idempotency_key = absl::StrCat(attempt->idempotency_key, ":", level);
    next->request = signer_.Build(lc::testing::RequestEnvelope(chain->call.org, continuation.action,
                                                               continuation.state_json, chain->call.config,
                                                               next->idempotency_key));
    bool scheduled = false;
    {
      absl::MutexLock lock(&mu_);  // the destructor cannot take the timer meanwhile
      if (!stopping_) {
        timer_->RunAt(absl::Now() + absl::Seconds(continuation.delay_sec),
                      [this, next]() mutable { Deliver(std::move(next)); });
        scheduled = true;
      }
    }
    if (!scheduled) EndBranch(chain, false, nullptr);
  }
}

void LimaCharlieClient::EndBranch(const std::shared_ptr<Chain>& chain, bool succeeded, const Reply* reply) {
  Done done;
  CallOutcome outcome;
  {
    absl::MutexLock lock(&chain->mu);
    chain->all_succeeded = chain->all_succeeded && succeeded;
    if (reply != nullptr) {
      chain->outcome.final_status = reply->status;
      chain->outcome.final_error = reply->error();
      chain->outcome.final_data_json = lc::testing::Json(reply->data());
    } else if (chain->outcome.final_error.empty()) {
      chain->outcome.final_error = "abandoned";
    }
    if (--chain->open_branches > 0) return;
    chain->outcome.succeeded = chain->all_succeeded;
    chain->outcome.elapsed = absl::Now() - chain->started;
    outcome = chain->outcome;
    done = std::move(chain->done);
  }
  if (done) done(std::move(outcome));
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

absl::Duration LimaCharlieClient::Backoff(int failed_deliveries) {
  absl::Duration pause = options_.first_backoff;
  for (int i = 1; i < failed_deliveries && pause < options_.max_backoff; ++i) pause *= 2;
  double jitter;
  {
    absl::MutexLock lock(&mu_);
    jitter = absl::Uniform(random_, 0.75, 1.25);
  }
  pause = std::clamp(pause * jitter, options_.first_backoff, options_.max_backoff);
  return Scaled(pause);
}

}  // namespace halopsa::testing
