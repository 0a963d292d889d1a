#include "adapters/limacharlie/gateway.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <atomic>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/deferral.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/gzip.h"
#include "adapters/limacharlie/hive_secrets.h"
#include "adapters/limacharlie/in_memory_reply_cache.h"
#include "adapters/limacharlie/org_config.h"
#include "adapters/limacharlie/request_translation.h"
#include "adapters/limacharlie/schema.h"
#include "adapters/limacharlie/signature.h"
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

// ErrorInfo reasons meaning HaloPSA refused the credentials: with a hive
// secret, the secret may have been rotated since it was cached.
constexpr absl::string_view kCredentialRejections[] = {kReasonTokenRejected, "UPSTREAM_UNAUTHENTICATED"};

// What an MSP engineer should look at, by ErrorInfo reason, put before the
// service's message (which already carries HaloPSA's own text).
struct Hint {
  absl::string_view reason;
  absl::string_view text;
};
constexpr Hint kHints[] = {
    {"UPSTREAM_ADDRESS_REFUSED",
     "config.instance_url is refused: it must be your HaloPSA tenant's public https:// URL"},
    {"INVALID_INSTANCE_URL", "config.instance_url is not usable: it must be an https:// URL"},
    {"UPSTREAM_TLS_FAILED", "config.instance_url did not present a trusted TLS certificate"},
    {"UPSTREAM_UNREACHABLE", "config.instance_url could not be reached"},
    {kReasonTokenRejected,
     "HaloPSA refused config.client_id/config.client_secret (check the API application, Client ID and Secret "
     "(Services) with Login Type Agent, and the stored secret)"},
    {kReasonInvalidScope, "HaloPSA refused config.scope"},
    {"UPSTREAM_PERMISSION_DENIED",
     "the HaloPSA API application lacks a permission (it needs edit:tickets, edit:assets and read:customers, also "
     "in config.scope unless that is all)"},
};

std::optional<std::string> ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (!info) return std::nullopt;
  return info->reason();
}

absl::Status WithHint(const absl::Status& status) {
  std::optional<std::string> reason = ReasonOf(status);
  if (!reason) return status;
  for (const Hint& hint : kHints) {
    if (hint.reason == *reason) return absl::Status(status.code(), absl::StrCat(hint.text, ": ", status.message()));
  }
  return status;
}

bool IsCredentialRejection(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) return false;
  std::optional<std::string> reason = ReasonOf(status);
  for (absl::string_view rejection : kCredentialRejections) {
    if (reason == rejection) return true;
  }
  return false;
}

bool UsesHive(const std::vector<ConnectionSetting>& settings) {
  for (const ConnectionSetting& setting : settings) {
    if (!setting.hive_secret.empty()) return true;
  }
  return false;
}

absl::string_view HeaderOf(const net::ServerRequest& request, absl::string_view name) {
  std::string_view value = request.Header(std::string_view(name.data(), name.size()));
  return absl::string_view(value.data(), value.size());
}

net::ServerResponse EmptyResponse() {
  net::ServerResponse response;
  response.content_type.clear();
  return response;
}

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
        service_(std::move(service)),
        secrets_(lc_api, options_.lc_api_url, options_.secret_cache_max_entries),
        own_replies_(ReplyCacheOptions{.max_entries = options_.idempotency_max_entries,
                                        .max_bytes = options_.idempotency_max_bytes,
                                        .ttl = options_.idempotency_ttl}),
        replies_(options_.shared_replies != nullptr ? *options_.shared_replies : own_replies_),
        signature_failures_(options_.signature_failures) {}

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
    std::variant<RequestEnvelope, net::ServerResponse> opened = Open(request);
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
    service_->CancelAll();
    absl::MutexLock lock(&mu_, absl::Condition(this, &Impl::Idle));
  }

 private:
  using Reply = absl::AnyInvocable<void(net::ServerResponse)>;
  // An action's answer; `final` is false for a deferral, which must not be
  // kept as its key's reply (the continuation runs under that key).
  using Answer = absl::AnyInvocable<void(net::ServerResponse response, bool final)>;
  using Metadata = ServiceCalls::Metadata;
  using MetadataCallback = absl::AnyInvocable<void(absl::StatusOr<Metadata>)>;
  using Settings = std::shared_ptr<const std::vector<ConnectionSetting>>;

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

  // The envelope of a callback that passed the size, encoding and
  // signature checks, or the answer refusing it.
  std::variant<RequestEnvelope, net::ServerResponse> Open(const net::ServerRequest& request) const {
    if (request.body.size() > options_.max_body_bytes) {
      return ErrorResponse(413, absl::StrCat("request body exceeds ", options_.max_body_bytes, " bytes"));
    }
    const absl::string_view signature = HeaderOf(request, kSignatureHeader);
    if (signature.empty()) return EmptyResponse();  // what LimaCharlie's SDK answers
    if (!signature_failures_.Allows(request.remote_address)) {
      net::ServerResponse refused =
          ErrorResponse(429, "too many requests with an invalid lc-ext-sig from this address; retry later");
      refused.headers.emplace_back("Retry-After", "1");
      return refused;
    }
    // Until the signature holds, every refusal spends the source's budget.
    std::variant<std::string, net::ServerResponse> decoded = Decode(request);
    if (auto* refusal = std::get_if<net::ServerResponse>(&decoded)) {
      signature_failures_.RecordFailure(request.remote_address);
      return std::move(*refusal);
    }
    const std::string& body = std::get<std::string>(decoded);
    if (options_.signing_secret.empty() || !VerifySignature(options_.signing_secret, body, signature)) {
      signature_failures_.RecordFailure(request.remote_address);
      return ErrorResponse(401, "invalid lc-ext-sig signature");
    }
    absl::StatusOr<RequestEnvelope> envelope = ParseRequestEnvelope(body);
    if (!envelope.ok()) return ErrorResponse(envelope.status());
    return *std::move(envelope);
  }

  // The body with its Content-Encoding undone (inflating at most
  // max_decoded_body_bytes), or the answer refusing it.
  std::variant<std::string, net::ServerResponse> Decode(const net::ServerRequest& request) const {
    const std::string encoding =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(HeaderOf(request, "Content-Encoding")));
    if (encoding.empty() || encoding == "identity") return request.body;
    if (encoding != "gzip" && encoding != "x-gzip") {
      return ErrorResponse(absl::InvalidArgumentError(absl::StrCat("unsupported Content-Encoding '", encoding, "'")));
    }
    absl::StatusOr<std::string> inflated = Gunzip(request.body, options_.max_decoded_body_bytes);
    if (inflated.status().code() == absl::StatusCode::kResourceExhausted) {
      return ErrorResponse(413, inflated.status().message());
    }
    if (!inflated.ok()) {
      return ErrorResponse(
          absl::InvalidArgumentError(absl::StrCat("request body is not valid gzip: ", inflated.status().message())));
    }
    return *std::move(inflated);
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
                    return answer(ErrorResponse(WithHint(response.status())), /*final=*/true);
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
                  reply(response.ok() ? SuccessResponse("{}") : ErrorResponse(WithHint(response.status())));
                });
  }

  // Calls `method` on the org's configured connection.
  void CallService(std::shared_ptr<const Exchange> exchange, const MethodDescriptor& method,
                   std::shared_ptr<const Message> request, ServiceCalls::Callback done) {
    absl::StatusOr<std::vector<ConnectionSetting>> settings = SettingsFromConfig(exchange->envelope.config);
    if (!settings.ok()) return done(settings.status());
    Attempt(std::move(exchange), method, std::move(request),
            std::make_shared<const std::vector<ConnectionSetting>>(*std::move(settings)), /*first=*/true,
            std::move(done));
  }

  // The first attempt may be repeated once with freshly read hive secrets
  // when HaloPSA refuses the credentials (the secret may have been rotated).
  void Attempt(std::shared_ptr<const Exchange> exchange, const MethodDescriptor& method,
               std::shared_ptr<const Message> request, Settings settings, bool first, ServiceCalls::Callback done) {
    auto call = [self = shared_from_this(), exchange, &method, request, settings, first,
                 done = std::move(done)](absl::StatusOr<Metadata> metadata) mutable {
      if (!metadata.ok()) return done(metadata.status());
      if (self->closed()) return done(absl::CancelledError(kShuttingDown));
      self->service_->Call(
          method, request, *metadata, exchange->deadline,
          [self, exchange, &method, request, settings, first,
           done = std::move(done)](absl::StatusOr<std::unique_ptr<Message>> response) mutable {
            if (!response.ok() && response.status().code() == absl::StatusCode::kCancelled && self->closed()) {
              return done(absl::CancelledError(kShuttingDown));
            }
            if (first && !response.ok() && IsCredentialRejection(response.status()) && UsesHive(*settings)) {
              for (const ConnectionSetting& setting : *settings) {
                if (!setting.hive_secret.empty()) {
                  self->secrets_.Forget(exchange->envelope.org.oid, setting.hive_secret);
                }
              }
              return self->Attempt(exchange, method, request, settings, /*first=*/false, std::move(done));
            }
            done(std::move(response));
          });
    };
    ResolveFrom(std::move(exchange), std::move(settings), 0, {}, std::move(call));
  }

  // Metadata for settings[index...], reading hive secrets one after another.
  void ResolveFrom(std::shared_ptr<const Exchange> exchange, Settings settings, size_t index, Metadata metadata,
                   MetadataCallback done) {
    for (; index < settings->size(); ++index) {
      const ConnectionSetting& setting = (*settings)[index];
      if (setting.hive_secret.empty()) {
        metadata.emplace_back(setting.field->metadata_key, setting.value);
        continue;
      }
      const Org& org = exchange->envelope.org;
      secrets_.Resolve(
          org.oid, org.jwt, setting.hive_secret, exchange->deadline,
          [self = shared_from_this(), exchange, settings, index, metadata = std::move(metadata),
           done = std::move(done)](absl::StatusOr<std::string> secret) mutable {
            const ConnectionSetting& setting = (*settings)[index];
            if (!secret.ok()) {
              return done(absl::Status(secret.status().code(),
                                       absl::StrCat("config.", setting.field->name, ": cannot read ", kHiveSecretPrefix,
                                                    setting.hive_secret, ": ", secret.status().message())));
            }
            if (absl::Status status = CheckSettingValue(*setting.field, *secret); !status.ok()) return done(status);
            metadata.emplace_back(setting.field->metadata_key, *std::move(secret));
            self->ResolveFrom(std::move(exchange), std::move(settings), index + 1, std::move(metadata),
                              std::move(done));
          });
      return;
    }
    metadata.push_back(OrgIdMetadata(exchange->envelope.org.oid));
    // Ties the service's log line of the call to this callback, and lets a
    // retried create find what an attempt with an unknown outcome made.
    if (!exchange->envelope.idempotency_key.empty()) {
      metadata.emplace_back(kRequestIdHeader, exchange->envelope.idempotency_key);
      metadata.emplace_back(kIdempotencyKeyHeader, exchange->envelope.idempotency_key);
    }
    done(std::move(metadata));
  }

  void Release() {
    absl::MutexLock lock(&mu_);
    --active_;
  }

  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; }

  const GatewayOptions options_;
  const std::string schema_json_;
  std::unique_ptr<ServiceCalls> service_;
  HiveSecrets secrets_;
  InMemoryReplyCache own_replies_;
  ReplyCache& replies_;
  mutable FailureThrottle signature_failures_;

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
