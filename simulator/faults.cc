#include "simulator/faults.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace halopsa::sim {
namespace {

constexpr char kTextType[] = "text/plain; charset=utf-8";
// Whole numbers a JSON double holds exactly.
constexpr int64_t kMaxJsonInteger = int64_t{1} << 53;
// Slack for probabilities such as 0.7 + 0.3 that add up to 1 only in decimal.
constexpr double kProbabilitySumSlack = 1e-9;

// A JSON name and the struct member it stands for.
template <typename Owner, typename Type>
struct NamedMember {
  const char* name;
  Type Owner::*member;
};
using ProbabilityField = NamedMember<FaultConfig, double>;
using DurationField = NamedMember<FaultConfig, absl::Duration>;
using CounterField = NamedMember<FaultCounters, int64_t>;

constexpr ProbabilityField kProbabilityFields[] = {
    {"error_before_probability", &FaultConfig::error_before_probability},
    {"drop_before_probability", &FaultConfig::drop_before_probability},
    {"revoke_tokens_probability", &FaultConfig::revoke_tokens_probability},
    {"error_after_probability", &FaultConfig::error_after_probability},
    {"drop_after_probability", &FaultConfig::drop_after_probability},
};

// Durations are milliseconds in JSON.
constexpr DurationField kDurationFields[] = {
    {"latency_min_ms", &FaultConfig::latency_min},
    {"latency_max_ms", &FaultConfig::latency_max},
    {"token_delay_ms", &FaultConfig::token_delay},
    {"rate_limit_window_ms", &FaultConfig::rate_limit_window},
};

constexpr CounterField kCounterFields[] = {
    {"requests", &FaultCounters::requests},
    {"rate_limited", &FaultCounters::rate_limited},
    {"errors_before", &FaultCounters::errors_before},
    {"dropped_before", &FaultCounters::dropped_before},
    {"tokens_revoked", &FaultCounters::tokens_revoked},
    {"errors_after", &FaultCounters::errors_after},
    {"dropped_after", &FaultCounters::dropped_after},
    {"delayed", &FaultCounters::delayed},
    {"token_delayed", &FaultCounters::token_delayed},
    {"peak_window_requests", &FaultCounters::peak_window_requests},
};

// A whole JSON number in [0, max].
std::optional<int64_t> WholeNumber(const Value& value, int64_t max) {
  if (value.kind_case() != Value::kNumberValue) return std::nullopt;
  const double number = value.number_value();
  if (!(number >= 0 && number <= static_cast<double>(max)) || std::floor(number) != number) {
    return std::nullopt;
  }
  return static_cast<int64_t>(number);
}

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// Sets the field `name` of `config` from `value`; false when `name` is not
// a config field at all.
absl::StatusOr<bool> SetField(FaultConfig& config, const std::string& name, const Value& value) {
  for (const ProbabilityField& field : kProbabilityFields) {
    if (name != field.name) continue;
    if (value.kind_case() != Value::kNumberValue) return FieldError(name, "must be a number");
    config.*field.member = value.number_value();
    return true;
  }
  for (const DurationField& field : kDurationFields) {
    if (name != field.name) continue;
    if (value.kind_case() != Value::kNumberValue) return FieldError(name, "must be a number");
    config.*field.member = absl::Milliseconds(value.number_value());
    return true;
  }
  if (name == "seed") {
    const std::optional<int64_t> seed = WholeNumber(value, kMaxJsonInteger);
    if (!seed.has_value()) return FieldError(name, "must be a whole number from 0 to 2^53");
    config.seed = static_cast<uint64_t>(*seed);
    return true;
  }
  if (name == "rate_limit_requests") {
    const std::optional<int64_t> limit = WholeNumber(value, std::numeric_limits<int>::max());
    if (!limit.has_value()) return FieldError(name, "must be a non-negative whole number");
    config.rate_limit_requests = static_cast<int>(*limit);
    return true;
  }
  if (name == "method") {
    if (value.kind_case() != Value::kStringValue) return FieldError(name, "must be a string");
    config.method = value.string_value();
    return true;
  }
  return false;
}

// Halo's wording: "5 minute"; windows that are not whole minutes in seconds.
std::string WindowText(absl::Duration window) {
  absl::Duration remainder;
  const int64_t minutes = absl::IDivDuration(window, absl::Minutes(1), &remainder);
  if (remainder == absl::ZeroDuration()) return absl::StrCat(minutes, " minute");
  return absl::StrFormat("%g second", absl::ToDoubleSeconds(window));
}

net::ServerResponse TextResponse(int status, std::string body) {
  net::ServerResponse response;
  response.status = status;
  response.content_type = kTextType;
  response.body = std::move(body);
  return response;
}

// What Halo, or a proxy in front of it, answers when it fails; the first is
// also the answer after processing.
struct UpstreamError {
  int status;
  const char* text;
};
constexpr UpstreamError kUpstreamErrors[] = {
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

net::ServerResponse ErrorResponse(const UpstreamError& error) {
  return TextResponse(error.status, error.text);
}

net::ServerResponse DroppedConnection() {
  net::ServerResponse response;
  response.drop_connection = true;
  return response;
}

bool AnyFault(const FaultConfig& config) {
  for (const ProbabilityField& field : kProbabilityFields) {
    if (config.*field.member > 0) return true;
  }
  return config.rate_limit_requests > 0 || config.latency_max > absl::ZeroDuration() ||
         config.token_delay > absl::ZeroDuration();
}

}  // namespace

int64_t FaultCounters::failed() const {
  return rate_limited + errors_before + dropped_before + errors_after + dropped_after;
}

absl::Status ValidateFaultConfig(const FaultConfig& config) {
  for (const ProbabilityField& field : kProbabilityFields) {
    const double probability = config.*field.member;
    if (!(probability >= 0 && probability <= 1)) {
      return FieldError(field.name, "must be between 0 and 1");
    }
  }
  // Each phase decides between its error and its drop with one draw.
  const auto exceeds_one = [](double error, double drop) {
    return error + drop > 1 + kProbabilitySumSlack;
  };
  if (exceeds_one(config.error_before_probability, config.drop_before_probability)) {
    return FieldError("drop_before_probability", "plus error_before_probability exceeds 1");
  }
  if (exceeds_one(config.error_after_probability, config.drop_after_probability)) {
    return FieldError("drop_after_probability", "plus error_after_probability exceeds 1");
  }
  for (const DurationField& field : kDurationFields) {
    const absl::Duration duration = config.*field.member;
    if (duration < absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
      return FieldError(field.name, "must be finite and not negative");
    }
  }
  if (config.latency_min > config.latency_max) {
    return FieldError("latency_min_ms", "must not exceed latency_max_ms");
  }
  if (config.rate_limit_requests < 0) {
    return FieldError("rate_limit_requests", "must not be negative");
  }
  if (config.rate_limit_requests > 0 && config.rate_limit_window == absl::ZeroDuration()) {
    return FieldError("rate_limit_window_ms", "must be positive with a rate limit");
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultConfig> ParseFaultConfig(absl::string_view json_text) {
  const absl::StatusOr<Value> json = ParseJson(json_text);
  if (!json.ok() || !json->has_struct_value()) {
    return absl::InvalidArgumentError("the fault config must be a JSON object");
  }
  FaultConfig config;
  for (const auto& [name, value] : json->struct_value().fields()) {
    const absl::StatusOr<bool> known = SetField(config, name, value);
    if (!known.ok()) return known.status();
    if (!*known) return FieldError(name, "unknown field");
  }
  return config;
}

Value FaultConfigToJson(const FaultConfig& config) {
  Struct json;
  Set(json, "seed", JsonNumber(static_cast<double>(config.seed)));
  Set(json, "method", JsonString(config.method));
  Set(json, "rate_limit_requests", JsonNumber(config.rate_limit_requests));
  for (const ProbabilityField& field : kProbabilityFields) {
    Set(json, field.name, JsonNumber(config.*field.member));
  }
  for (const DurationField& field : kDurationFields) {
    Set(json, field.name, JsonNumber(absl::ToDoubleMilliseconds(config.*field.member)));
  }
  return ObjectValue(std::move(json));
}

Value FaultCountersToJson(const FaultCounters& counters) {
  Struct json;
  for (const CounterField& field : kCounterFields) {
    Set(json, field.name, JsonNumber(static_cast<double>(counters.*field.member)));
  }
  Set(json, "failed", JsonNumber(static_cast<double>(counters.failed())));
  std::vector<Value> windows;
  for (int64_t requests : counters.requests_per_window) windows.push_back(JsonNumber(static_cast<double>(requests)));
  Set(json, "requests_per_window", ListValue(std::move(windows)));
  return ObjectValue(std::move(json));
}

void FaultInjector::Configure(FaultConfig config) {
  config_ = std::move(config);
  enabled_ = AnyFault(config_);
  counters_ = FaultCounters();
  random_.seed(config_.seed);
  window_.clear();
  arrivals_.clear();
  first_arrival_ = absl::InfinitePast();
}

void FaultInjector::TurnOff() {
  config_ = FaultConfig();
  enabled_ = false;
  window_.clear();
  arrivals_.clear();
}

FaultPlan FaultInjector::Plan(absl::string_view method, FaultedEndpoint endpoint, absl::Time now) {
  FaultPlan plan;
  if (!enabled_ || (!config_.method.empty() && method != config_.method)) return plan;
  ++counters_.requests;
  if (RateLimited(now)) {
    ++counters_.rate_limited;
    plan.instead_of_processing = TextResponse(
        429, absl::StrFormat("Rate Limit Reached - %d Requests per rolling %s window",
                             config_.rate_limit_requests, WindowText(config_.rate_limit_window)));
    return plan;
  }
  switch (Draw(config_.error_before_probability, config_.drop_before_probability)) {
    case Outcome::kError:
      ++counters_.errors_before;
      plan.instead_of_processing = ErrorResponse(
          kUpstreamErrors[absl::Uniform<size_t>(random_, 0, std::size(kUpstreamErrors))]);
      return plan;
    case Outcome::kDrop:
      ++counters_.dropped_before;
      plan.instead_of_processing = DroppedConnection();
      return plan;
    case Outcome::kNone:
      break;
  }
  if (endpoint == FaultedEndpoint::kApi && config_.revoke_tokens_probability > 0 &&
      Fraction() < config_.revoke_tokens_probability) {
    ++counters_.tokens_revoked;
    plan.revoke_tokens = true;
  }
  switch (Draw(config_.error_after_probability, config_.drop_after_probability)) {
    case Outcome::kError:
      ++counters_.errors_after;
      plan.instead_of_answer = ErrorResponse(kUpstreamErrors[0]);
      break;
    case Outcome::kDrop:
      ++counters_.dropped_after;
      plan.instead_of_answer = DroppedConnection();
      break;
    case Outcome::kNone:
      break;
  }
  plan.delay = endpoint == FaultedEndpoint::kApi ? Latency() : config_.token_delay;
  if (plan.delay > absl::ZeroDuration()) {
    ++(endpoint == FaultedEndpoint::kApi ? counters_.delayed : counters_.token_delayed);
  }
  return plan;
}

double FaultInjector::Fraction() { return absl::Uniform(random_, 0.0, 1.0); }

FaultInjector::Outcome FaultInjector::Draw(double error_probability, double drop_probability) {
  if (error_probability + drop_probability <= 0) return Outcome::kNone;
  const double fraction = Fraction();
  if (fraction < error_probability) return Outcome::kError;
  if (fraction < error_probability + drop_probability) return Outcome::kDrop;
  return Outcome::kNone;
}

bool FaultInjector::RateLimited(absl::Time now) {
  if (config_.rate_limit_requests == 0) return false;
  CountArrival(now);
  while (!window_.empty() && window_.front() <= now - config_.rate_limit_window) {
    window_.pop_front();
  }
  if (window_.size() >= static_cast<size_t>(config_.rate_limit_requests)) return true;
  window_.push_back(now);
  return false;
}

void FaultInjector::CountArrival(absl::Time now) {
  const absl::Duration window = config_.rate_limit_window;
  while (!arrivals_.empty() && arrivals_.front() <= now - window) arrivals_.pop_front();
  if (arrivals_.size() == kMaxTrackedArrivals) arrivals_.pop_front();
  arrivals_.push_back(now);
  counters_.peak_window_requests =
      std::max(counters_.peak_window_requests, static_cast<int64_t>(arrivals_.size()));

  if (first_arrival_ == absl::InfinitePast()) first_arrival_ = now;
  absl::Duration into_window;
  const int64_t index = absl::IDivDuration(now - first_arrival_, window, &into_window);
  std::vector<int64_t>& windows = counters_.requests_per_window;
  if (index >= static_cast<int64_t>(FaultCounters::kMaxCountedWindows)) return;
  if (static_cast<int64_t>(windows.size()) <= index) windows.resize(static_cast<size_t>(index) + 1, 0);
  ++windows[static_cast<size_t>(index)];
}

absl::Duration FaultInjector::Latency() {
  if (config_.latency_max == absl::ZeroDuration()) return absl::ZeroDuration();
  return absl::Nanoseconds(absl::Uniform(absl::IntervalClosed, random_,
                                         absl::ToInt64Nanoseconds(config_.latency_min),
                                         absl::ToInt64Nanoseconds(config_.latency_max)));
}

}  // namespace halopsa::sim
