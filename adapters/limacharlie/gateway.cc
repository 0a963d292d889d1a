#include "adapters/limacharlie/gateway.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <atomic>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/callback_opener.h"
#include "adapters/limacharlie/credential_resolver.h"
#include "adapters/limacharlie/deferral.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/hive_secrets.h"
#include "adapters/limacharlie/in_memory_reply_cache.h"
#include "adapters/limacharlie/org_config.h"
#include "adapters/limacharlie/org_service_calls.h"
#include "adapters/limacharlie/request_translation.h"
#include "adapters/limacharlie/schema.h"
#include "adapters/limacharlie/setup_hints.h"
#include "adapters/limacharlie/stoppable_service_calls.h"
#include "halopsa/v1/halopsa.pb.h"
#include "server/call_runner.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

constexpr absl::string_view kEvents[] = {"subscribe", "unsubscribe", "update"};
constexpr size_t kMaxLoggedErrorBytes = 1024;
constexpr absl::string_view kShuttingDown = "ext-halopsa is shutting down; retry later";

const MethodDescriptor& LookupMethod() { return MethodOf(*FindAction("lookup_client_site")); }

absl::Status UnknownAction(absl::string_view name) {
  std::vector<absl::string_view> names;
  for (const ActionSpec& known : Actions()) names.push_back(known.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown action '", name, "'; known actions: ", absl::StrJoin(names, ", ")));
}

// Actions that write nothing: harmless to run twice, so they need no
// coordination between replicas.
bool IsReadOnly(absl::string_view action) {
  const ActionSpec* spec = FindAction(action);
  return spec != nullptr && !spec->writes;
}

}  // namespace

class Gateway::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(GatewayOptions options, std::unique_ptr<ServiceCalls> service, net::HttpTransport& lc_api)
      : options_(std::move(options)),
        schema_json_(SchemaJson()),
        opener_(options_.signing_secret, options_.max_body_bytes, options_.max_decoded_body_bytes,
                options_.signature_failures),
        service_(std::move(service), std::string(kShuttingDown)),
        secrets_(lc_api, options_.lc_api_url, options_.secret_cache_max_entries),
        credentials_(secrets_),
        org_calls_(service_, credentials_),
        own_replies_(ReplyCacheOptions{.max_entries = options_.idempotency_max_entries,
                                        .max_bytes = options_.idempotency_max_bytes,
                                        .ttl = options_.idempotency_ttl}),
        replies_(options_.shared_replies != nullptr ? *options_.shared_replies : own_replies_) {}

  void Handle(net::ServerRequest request, net::Responder respond) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) {
        respond(ErrorResponse(absl::UnavailableError(kShuttingDown)));
        return;
      }
      ++active_;
    }
    absl::Time start = absl::Now();
    std::variant<RequestEnvelope, net::ServerResponse> opened = opener_.Open(request);
    auto* envelope = std::get_if<RequestEnvelope>(&opened);
    auto exchange = std::make_shared<const Exchange>(
        Exchange{envelope ? std::move(*envelope) : RequestEnvelope(), start + options_.call_deadline});
    Reply reply = [self = shared_from_this(), respond = std::move(respond), exchange, valid = envelope != nullptr,
                   start](net::ServerResponse response) mutable {
      self->Observe(*exchange, valid, response, start);
      respond(std::move(response));
      self->Release();
    };
    if (auto* refusal = std::get_if<net::ServerResponse>(&opened)) {
      reply(std::move(*refusal));
      return;
    }
    Dispatch(std::move(exchange), std::move(reply));
  }

  void Close() {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    service_.CancelAll();
    absl::MutexLock lock(&mu_, absl::Condition(this, &Impl::Idle));
  }

 private:
  using Reply = absl::AnyInvocable<void(net::ServerResponse)>;
  // An action's answer; `final` is false for a deferral, which must not be
  // kept as its key's reply (the continuation runs under that key).
  using Answer = absl::AnyInvocable<void(net::ServerResponse response, bool final)>;

  // One verified callback being answered.
  struct Exchange {
    RequestEnvelope envelope;
    absl::Time deadline;  // bounds all its work: hive reads and RPCs
    // Set when its write is deferred: the continuation's delay (seconds).
    // Shared with the exchange a continuation turns into.
    std::shared_ptr<std::atomic<int>> deferred_sec = std::make_shared<std::atomic<int>>(0);
  };

  void Observe(const Exchange& exchange, bool valid, const net::ServerResponse& response, absl::Time start) const {
    if (!options_.observer) return;
    const RequestEnvelope& envelope = exchange.envelope;
    bool replayed = false;
    for (const auto& [name, value] : response.headers) replayed = replayed || name == kReplayHeader;
    const bool error_report = valid && envelope.kind == EnvelopeKind::kErrorReport;
    options_.observer(GatewayCall{valid ? KindName(envelope.kind) : "invalid", envelope.action,
                                  !envelope.org.oid.empty() ? envelope.org.oid : envelope.error_oid,
                                  envelope.idempotency_key, response.status, replayed,
                                  replayed ? 0 : exchange.deferred_sec->load(), absl::Now() - start,
                                  error_report ? absl::string_view(envelope.error).substr(0, kMaxLoggedErrorBytes)
                                               : absl::string_view()});
  }

  void Dispatch(std::shared_ptr<const Exchange> exchange, Reply reply) {
    const RequestEnvelope& envelope = exchange->envelope;
    switch (envelope.kind) {
      case EnvelopeKind::kHeartbeat:
        return reply(SuccessResponse("{}"));
      case EnvelopeKind::kErrorReport:  // the observer logs it
        return reply(SuccessResponse("{}"));
      case EnvelopeKind::kSchemaRequest:
        return reply(SuccessResponse(schema_json_));
      case EnvelopeKind::kConfValidation:
        return ValidateConfig(std::move(exchange), std::move(reply));
      case EnvelopeKind::kEvent:
        for (absl::string_view event : kEvents) {
          if (envelope.event_name == event) return reply(SuccessResponse("{}"));
        }
        return reply(ErrorResponse(absl::InvalidArgumentError(absl::StrCat(
            "unknown event_name '", envelope.event_name, "'; known events: ", absl::StrJoin(kEvents, ", ")))));
      case EnvelopeKind::kRequest:
        if (envelope.action == kDeferredAction) return RunDeferred(std::move(exchange), std::move(reply));
        return Deduplicated(std::move(exchange), std::move(reply));
    }
  }

  // A continuation: the request it carries, as if its original callback
  // had been delivered again, so it is deduplicated on the original key
  // (not on LimaCharlie's "<parent key>:<level>").
  void RunDeferred(std::shared_ptr<const Exchange> exchange, Reply reply) {
    absl::StatusOr<DeferredRequest> deferred = ParseDeferredRequest(exchange->envelope.data_json);
    if (!deferred.ok()) return reply(ErrorResponse(deferred.status()));
    Exchange original = *exchange;
    original.envelope.action = std::move(deferred->action);
    original.envelope.data_json = std::move(deferred->data_json);
    original.envelope.idempotency_key = std::move(deferred->idempotency_key);
    Deduplicated(std::make_shared<const Exchange>(std::move(original)), std::move(reply));
  }

  static Answer Unkept(Reply reply) {
    return [reply = std::move(reply)](net::ServerResponse response, bool /*final*/) mutable {
      reply(std::move(response));
    };
  }

  // Runs the request once per (oid, idempotency_key): later copies get the
  // first one's answer. Answers that invite a retry (500) and deferrals are
  // not kept, so that the retry or the continuation runs.
  // When the replies cannot be shared (Redis down), searches and lookups
  // run anyway; writes are refused (retriable) rather than risk a duplicate.
  void Deduplicated(std::shared_ptr<const Exchange> exchange, Reply reply) {
    const RequestEnvelope& envelope = exchange->envelope;
    if (envelope.idempotency_key.empty()) return RunAction(std::move(exchange), Unkept(std::move(reply)));
    ReplyCache::Key key(envelope.org.oid, envelope.idempotency_key);
    const absl::Time deadline = exchange->deadline;
    auto answer = [self = shared_from_this(), exchange, reply = std::move(reply)](
                      absl::StatusOr<net::ServerResponse> response) mutable {
      if (response.ok()) return reply(*std::move(response));
      if (IsReadOnly(exchange->envelope.action)) {
        return self->RunAction(std::move(exchange), Unkept(std::move(reply)));
      }
      reply(ErrorResponse(response.status()));
    };
    auto run = [self = shared_from_this(), exchange, key]() mutable {
      self->RunAction(std::move(exchange), [self, key = std::move(key)](net::ServerResponse response, bool final) {
        self->replies_.Finish(key, response, /*remember=*/final && response.status < 500);
      });
    };
    replies_.Join(key, deadline, std::move(answer), std::move(run));
  }

  void RunAction(std::shared_ptr<const Exchange> exchange, Answer answer) {
    const ActionSpec* action = FindAction(exchange->envelope.action);
    if (action == nullptr) return answer(ErrorResponse(UnknownAction(exchange->envelope.action)), /*final=*/true);
    absl::StatusOr<std::unique_ptr<Message>> parsed = RequestFromData(*action, exchange->envelope.data_json);
    if (!parsed.ok()) return answer(ErrorResponse(parsed.status()), /*final=*/true);
    std::shared_ptr<const Message> request = *std::move(parsed);
    CallService(exchange, MethodOf(*action), request,
                [exchange, action, request,
                 answer = std::move(answer)](absl::StatusOr<std::unique_ptr<Message>> response) mutable {
                  if (!response.ok()) {
                    if (std::optional<int> seconds = DeferralSeconds(*exchange, *action, response.status())) {
                      exchange->deferred_sec->store(*seconds);
                      return answer(DeferredResponse(DeferredRequest{exchange->envelope.action,
                                                                     exchange->envelope.data_json,
                                                                     exchange->envelope.idempotency_key},
                                                     *seconds),
                                    /*final=*/false);
                    }
                    return answer(ErrorResponse(WithSetupHint(response.status())), /*final=*/true);
                  }
                  absl::StatusOr<std::string> data = ResultData(*action, *request, **response);
                  answer(data.ok() ? SuccessResponse(*data) : ErrorResponse(data.status()), /*final=*/true);
                });
  }

  // When a write failed only because the request budget cannot serve it
  // before the callback's deadline: in how many seconds to run it again.
  // Needs the callback's key, which the continuation is deduplicated on.
  static std::optional<int> DeferralSeconds(const Exchange& exchange, const ActionSpec& action,
                                            const absl::Status& status) {
    if (!action.writes || exchange.envelope.idempotency_key.empty()) return std::nullopt;
    return lc::DeferralSeconds(status);
  }

  // Obtains a token for real: the cheapest call that needs one.
  void ValidateConfig(std::shared_ptr<const Exchange> exchange, Reply reply) {
    auto probe = std::make_shared<v1::LookupClientSiteRequest>();
    probe->set_type(v1::LookupClientSiteRequest::client);
    probe->set_page_size(1);
    CallService(std::move(exchange), LookupMethod(), std::move(probe),
                [reply = std::move(reply)](absl::StatusOr<std::unique_ptr<Message>> response) mutable {
                  reply(response.ok() ? SuccessResponse("{}") : ErrorResponse(WithSetupHint(response.status())));
                });
  }

  // Calls `method` on the org's configured connection.
  void CallService(std::shared_ptr<const Exchange> exchange, const MethodDescriptor& method,
                   std::shared_ptr<const Message> request, ServiceCalls::Callback done) {
    const RequestEnvelope& envelope = exchange->envelope;
    absl::StatusOr<std::vector<ConnectionSetting>> settings = SettingsFromConfig(envelope.config);
    if (!settings.ok()) return done(settings.status());
    auto call = std::make_shared<OrgCall>(
        OrgCall{envelope.org, *std::move(settings), {OrgIdMetadata(envelope.org.oid)}, exchange->deadline});
    // Ties the service's log line of the call to this callback, and lets a
    // retried create find what an attempt with an unknown outcome made.
    if (!envelope.idempotency_key.empty()) {
      call->metadata.emplace_back(kRequestIdHeader, envelope.idempotency_key);
      call->metadata.emplace_back(kIdempotencyKeyHeader, envelope.idempotency_key);
    }
    org_calls_.Call(std::move(call), method, std::move(request), std::move(done));
  }

  void Release() {
    absl::MutexLock lock(&mu_);
    --active_;
  }

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; }

  const GatewayOptions options_;
  const std::string schema_json_;
  CallbackOpener opener_;
  StoppableServiceCalls service_;
  HiveSecrets secrets_;
  CredentialResolver credentials_;
  OrgServiceCalls org_calls_;
  InMemoryReplyCache own_replies_;
  ReplyCache& replies_;

  mutable absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;  // callbacks taken and not answered yet
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

Gateway::Gateway(GatewayOptions options, std::unique_ptr<ServiceCalls> service, net::HttpTransport& lc_api)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(service), lc_api)) {}

Gateway::~Gateway() { Stop(); }

void Gateway::Stop() { impl_->Close(); }

void Gateway::Handle(net::ServerRequest request, net::Responder respond) {
  impl_->Handle(std::move(request), std::move(respond));
}

}  // namespace halopsa::lc
