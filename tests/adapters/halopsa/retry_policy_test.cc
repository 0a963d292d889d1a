#include "adapters/halopsa/retry_policy.h"

#include <gtest/gtest.h>

#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

absl::StatusOr<net::HttpResponse> Http(int status) { return net::HttpResponse{status, "", ""}; }

struct Row {
  absl::StatusOr<net::HttpResponse> result;
  AttemptFailure repeatable;
  AttemptFailure create;
};

TEST(ClassifyAttemptTest, Table) {
  const absl::Status sent_unavailable = absl::UnavailableError("waiting for response failed");
  const absl::Status sent_timeout = absl::DeadlineExceededError("waiting for response timed out");
  const Row rows[] = {
      {Http(429), AttemptFailure::kRateLimited, AttemptFailure::kRateLimited},
      {Http(503), AttemptFailure::kRateLimited, AttemptFailure::kRateLimited},
      {Http(500), AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
      {Http(502), AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
      {Http(504), AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
      {Http(400), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {Http(403), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {Http(404), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {Http(409), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {sent_unavailable, AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
      {sent_timeout, AttemptFailure::kTransient, AttemptFailure::kOutcomeUnknown},
      {net::MarkNotSent(sent_unavailable), AttemptFailure::kTransient, AttemptFailure::kTransient},
      {net::MarkNotSent(sent_timeout), AttemptFailure::kTransient, AttemptFailure::kTransient},
      {net::MarkNotSent(absl::PermissionDeniedError("private")), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {net::MarkNotSent(absl::FailedPreconditionError("tls")), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {net::MarkNotSent(absl::ResourceExhaustedError("queue")), AttemptFailure::kFinal, AttemptFailure::kFinal},
      {absl::CancelledError("shutdown"), AttemptFailure::kFinal, AttemptFailure::kFinal},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.result.ok() ? absl::StrCat("HTTP ", row.result->status) : row.result.status().ToString());
    EXPECT_EQ(ClassifyAttempt(row.result, /*repeatable=*/true), row.repeatable);
    EXPECT_EQ(ClassifyAttempt(row.result, /*repeatable=*/false), row.create);
  }
}

TEST(ClassifyTokenFailureTest, TransientFailuresRetryRateLimitsBackOffLonger) {
  EXPECT_EQ(ClassifyTokenFailure(absl::UnavailableError("x")), AttemptFailure::kTransient);
  EXPECT_EQ(ClassifyTokenFailure(absl::DeadlineExceededError("x")), AttemptFailure::kTransient);
  EXPECT_EQ(ClassifyTokenFailure(FromHaloHttpStatus(429, "/auth/token", "")), AttemptFailure::kRateLimited);
  EXPECT_EQ(ClassifyTokenFailure(FromHaloHttpStatus(401, "/auth/token", "invalid_client")), AttemptFailure::kFinal);
}

TEST(BackoffTest, DoublesFromTheKindsFirstWaitWithJitterUpToTheCap) {
  const RetryOptions options;
  for (int i = 0; i < 200; ++i) {
    const absl::Duration first = Backoff(options, AttemptFailure::kTransient, 1);
    EXPECT_GE(first, absl::Milliseconds(125));
    EXPECT_LE(first, absl::Milliseconds(250));
    const absl::Duration third = Backoff(options, AttemptFailure::kRateLimited, 3);
    EXPECT_GE(third, absl::Seconds(4));
    EXPECT_LE(third, absl::Seconds(8));
    const absl::Duration late = Backoff(options, AttemptFailure::kRateLimited, 40);
    EXPECT_GE(late, absl::Seconds(30));
    EXPECT_LE(late, absl::Seconds(60));
  }
}

TEST(BackoffTest, JitterSpreadsConcurrentRetries) {
  const RetryOptions options;
  const absl::Duration first = Backoff(options, AttemptFailure::kRateLimited, 2);
  bool differs = false;
  for (int i = 0; i < 50 && !differs; ++i) differs = Backoff(options, AttemptFailure::kRateLimited, 2) != first;
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace halopsa
