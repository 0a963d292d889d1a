#include "server/call_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/case_line.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

// The metric label and log value; empty for a call that did not dedupe.
absl::string_view DedupeOutcomeName(DedupeOutcome outcome) {
  switch (outcome) {
    case DedupeOutcome::kOpened:
      return "opened";
    case DedupeOutcome::kNoted:
      return "noted";
    case DedupeOutcome::kNone:
      break;
  }
  return "";
}

absl::Status InvalidHeader(absl::string_view header, absl::string_view description) {
  return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat("metadata ", header, " ", description)),
                       kReasonInvalidField, {{"field", std::string(header)}});
}

absl::Status MissingHeader(absl::string_view header) {
  return InvalidHeader(header, absl::StrCat("is required when ", kInstanceUrlHeader, " is given"));
}

std::string ValueOrEmpty(MetadataLookup metadata, absl::string_view key) {
  return std::string(metadata(key).value_or(absl::string_view()));
}

// Long enough for calls in flight to drain a little, short against a
// call's deadline.
constexpr absl::Duration kOverloadedRetryDelay = absl::Seconds(1);

// Applies the per-call settings any call may carry; `connection` is
// copied only when one is present.
absl::StatusOr<std::shared_ptr<const HaloConnection>> WithCallSettings(
    MetadataLookup metadata, std::shared_ptr<const HaloConnection> connection) {
  std::optional<absl::string_view> outcome = metadata(kDefaultOutcomeHeader);
  std::optional<absl::string_view> outcome_id = metadata(kDefaultOutcomeIdHeader);
  std::optional<absl::string_view> marker = metadata(kIdempotencyMarkerHeader);
  std::optional<absl::string_view> case_label = metadata(kCaseLabelHeader);
  std::optional<absl::string_view> case_status_map = metadata(kCaseStatusMapHeader);
  if (!outcome && !outcome_id && !marker && !case_label && !case_status_map) return connection;
  auto changed = std::make_shared<HaloConnection>(*connection);
  if (outcome) changed->default_outcome = std::string(*outcome);
  if (outcome_id && (!absl::SimpleAtoi(*outcome_id, &changed->default_outcome_id) || changed->default_outcome_id < 0)) {
    return InvalidHeader(kDefaultOutcomeIdHeader, "must be a HaloPSA outcome id (a positive integer)");
  }
  if (marker) {
    if (*marker != "on" && *marker != "off") return InvalidHeader(kIdempotencyMarkerHeader, "must be on or off");
    changed->idempotency_marker = *marker == "on";
  }
  if (case_label) {
    if (!IsCaseToken(*case_label)) {
      return InvalidHeader(kCaseLabelHeader, "must be 1 to 128 letters, digits and . _ : -");
    }
    changed->case_label = std::string(*case_label);
  }
  if (case_status_map) {
    if (absl::Status valid = ParseCaseStatusMap(*case_status_map).status(); !valid.ok()) {
      return InvalidHeader(kCaseStatusMapHeader, valid.message());
    }
    changed->case_status_map = std::string(*case_status_map);
  }
  return changed;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const HaloConnection>> ConnectionForCall(
    MetadataLookup metadata, const std::shared_ptr<const HaloConnection>& default_connection) {
  std::optional<absl::string_view> instance_url = metadata(kInstanceUrlHeader);
  if (!instance_url) {
    if (default_connection) return WithCallSettings(metadata, default_connection);
    return WithErrorInfo(
        absl::FailedPreconditionError("no HaloPSA connection: the server has no HALOPSA_INSTANCE_URL and the call "
                                      "carries no x-halopsa-instance-url metadata"),
        kReasonNoConnection);
  }
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = std::string(absl::StripSuffix(*instance_url, "/"));
  connection->client_id = ValueOrEmpty(metadata, kClientIdHeader);
  connection->client_secret = ValueOrEmpty(metadata, kClientSecretHeader);
  if (connection->client_id.empty()) return MissingHeader(kClientIdHeader);
  if (connection->client_secret.empty()) return MissingHeader(kClientSecretHeader);
  connection->tenant = ValueOrEmpty(metadata, kTenantHeader);
  std::string scope = ValueOrEmpty(metadata, kScopeHeader);
  if (!scope.empty()) connection->scope = std::move(scope);
  connection->org_id = ValueOrEmpty(metadata, kOrgIdHeader);
  connection->auth_url = std::string(absl::StripSuffix(ValueOrEmpty(metadata, kAuthUrlHeader), "/"));
  return WithCallSettings(metadata, std::move(connection));
}

bool IsPrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

absl::StatusOr<std::string> IdempotencyKeyForCall(MetadataLookup metadata) {
  absl::string_view key = metadata(kIdempotencyKeyHeader).value_or(absl::string_view());
  // The key is never echoed: it is the caller's and may be anything.
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return InvalidHeader(kIdempotencyKeyHeader, absl::StrCat("is longer than ", kMaxIdempotencyKeyBytes, " bytes"));
  }
  if (!IsPrintableAscii(key)) return InvalidHeader(kIdempotencyKeyHeader, "must be printable ASCII");
  return std::string(key);
}

CallRunner::Admission CallRunner::Admit(absl::string_view method, MetadataLookup metadata,
                                        absl::Time caller_deadline) {
  const absl::Time start = absl::Now();
  auto record = std::make_shared<CallRecord>(CallRecord{method, ValueOrEmpty(metadata, kOrgIdHeader),
                                                        ValueOrEmpty(metadata, kRequestIdHeader), start,
                                                        std::make_shared<CallStats>()});
  size_t calls;
  {
    absl::MutexLock lock(&mu_);
    calls = ++calls_in_flight_;
  }
  if (calls > options_.max_calls_in_flight) {
    return {std::move(record),
            WithRetryDelay(WithErrorInfo(absl::ResourceExhaustedError(absl::StrCat(
                                             "the service is at its limit of ", options_.max_calls_in_flight,
                                             " calls in flight; retry later")),
                                         kReasonOverloaded),
                           kOverloadedRetryDelay)};
  }
  absl::StatusOr<std::shared_ptr<const HaloConnection>> connection =
      ConnectionForCall(metadata, options_.default_connection);
  if (!connection.ok()) return {std::move(record), connection.status()};
  absl::StatusOr<std::string> idempotency_key = IdempotencyKeyForCall(metadata);
  if (!idempotency_key.ok()) return {std::move(record), idempotency_key.status()};
  CallContext context{*std::move(connection), std::min(caller_deadline, start + options_.default_deadline),
                      record->stats, *std::move(idempotency_key), record->org};
  return {std::move(record), std::move(context)};
}

void CallRunner::End(const CallRecord& record, const absl::Status& status) {
  absl::Duration elapsed = absl::Now() - record.start;
  std::string code = absl::StatusCodeToString(status.code());
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  const absl::string_view dedupe = DedupeOutcomeName(record.stats->dedupe.load());
  if (options_.metrics != nullptr) {
    if (!dedupe.empty()) options_.metrics->dedupe_detections.With({std::string(dedupe)}).Increment();
    options_.metrics->rpc_calls.With({std::string(record.method), code}).Increment();
    options_.metrics->rpc_latency.With({std::string(record.method)}).Observe(absl::ToDoubleSeconds(elapsed));
    if (!status.ok()) {
      // Reasons come from the service's own constants, never from a caller.
      options_.metrics->rpc_errors.With({std::string(record.method), info ? info->reason() : code}).Increment();
    }
  }
  if (options_.logger != nullptr) {
    options_.logger->Log(status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "rpc",
                         {{"method", record.method},
                          {"org", record.org},
                          {"request_id", record.request_id},
                          {"code", code},
                          {"reason", info ? absl::string_view(info->reason()) : absl::string_view()},
                          {"error", status.message()},
                          {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
                          {"upstream_requests", static_cast<int64_t>(record.stats->upstream_requests.load())},
                          {"dedupe", dedupe}});
  }
  absl::MutexLock lock(&mu_);
  --calls_in_flight_;
}

void CallRunner::Refuse(absl::string_view method, MetadataLookup metadata, const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    ++calls_in_flight_;  // End() takes it out again
  }
  End(CallRecord{method, ValueOrEmpty(metadata, kOrgIdHeader), ValueOrEmpty(metadata, kRequestIdHeader), absl::Now(),
                 std::make_shared<CallStats>()},
      status);
}

bool CallRunner::WaitUntilIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(absl::Condition(this, &CallRunner::Idle), deadline);
}

}  // namespace halopsa
