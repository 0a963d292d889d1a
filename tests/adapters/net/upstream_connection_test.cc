#include "adapters/net/beast_http_transport.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/net/transport_test_support.h"

// One request's exchange, through the transport: step timeouts, failures,
// and when a request is sent again.
namespace halopsa::net::transport_test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(BeastHttpTransportTest, ConnectionRefusedIsUnavailable) {
  const uint16_t closed_port = ClosedLoopbackPort();
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response =
      SendAndWait(*transport, Get(absl::StrCat("http://127.0.0.1:", closed_port, "/")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(
      response.status().message(),
      AllOf(HasSubstr(absl::StrCat("connect to 127.0.0.1:", closed_port)), HasSubstr("refused")));
}

TEST(BeastHttpTransportTest, DeadlinePassesWhileServerStalls) {
  TestServer server;
  server.set_behavior(Behavior::kStall);
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);
  const absl::Time start = absl::Now();

  absl::StatusOr<HttpResponse> response =
      SendAndWait(*transport, Get(server.Url("127.0.0.1")), absl::Now() + absl::Milliseconds(200));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr(absl::StrCat("waiting for response from 127.0.0.1:", server.port())));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // well before io_timeout
  server.ReleaseStalled();
}

TEST(BeastHttpTransportTest, IoTimeoutBoundsTheWaitForAResponse) {
  TestServer server;
  server.set_behavior(Behavior::kStall);
  BeastTransportOptions options = LoopbackOptions();
  options.io_timeout = absl::Milliseconds(200);
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.0.0.1")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("waiting for response"));
  EXPECT_EQ(transport->open_connections(), 0u);
  server.ReleaseStalled();
}

TEST(BeastHttpTransportTest, StaleKeepAliveConnectionIsRetriedOnAFreshOne) {
  TestServer server;
  server.set_behavior(Behavior::kRespondThenDrop);
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);

  ASSERT_TRUE(SendAndWait(*transport, Get(server.Url("127.0.0.1"))).ok());
  ASSERT_TRUE(server.WaitFor([](const ServerCounts& c) { return c.dropped == 1; }));
  server.set_behavior(Behavior::kRespond);
  absl::StatusOr<HttpResponse> response =
      SendAndWait(*transport, HttpRequest{"POST", server.Url("127.0.0.1", "/second"), {}, "b", true});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "hello");
  EXPECT_EQ(server.counts().accepted, 2);
  EXPECT_EQ(transport->connections_opened(), 2u);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].target, "/second");
}

// The server read the request and closed without answering: it may have
// processed it, so only an idempotent request is sent again.
TEST(BeastHttpTransportTest, ReusedConnectionClosedAfterTheRequestRetriesOnlyIdempotentRequests) {
  for (const bool idempotent : {false, true}) {
    SCOPED_TRACE(idempotent ? "idempotent" : "not idempotent");
    TestServer server;
    auto transport = MakeTransport(LoopbackOptions());
    ASSERT_NE(transport, nullptr);
    ASSERT_TRUE(SendAndWait(*transport, Get(server.Url("127.0.0.1"))).ok());
    server.set_behavior(Behavior::kCloseWithoutAnswer);

    absl::StatusOr<HttpResponse> response = SendAndWait(
        *transport, HttpRequest{"POST", server.Url("127.0.0.1", "/create"), {}, "{}", idempotent});

    EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
    EXPECT_FALSE(WasNotSent(response.status()));
    EXPECT_EQ(server.requests().size(), idempotent ? 3u : 2u);
  }
}

TEST(BeastHttpTransportTest, FailuresBeforeTheRequestWasWrittenAreMarkedNotSent) {
  const uint16_t closed_port = ClosedLoopbackPort();
  TestServer server;
  server.set_behavior(Behavior::kStall);
  BeastTransportOptions options = LoopbackOptions();
  options.max_connections_per_host = 1;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);
  Results stalled;
  transport->Send(Get(server.Url("127.0.0.1")), absl::Now() + absl::Seconds(1), stalled.Callback());

  // While the stalled request holds the only connection.
  const absl::Status queued_too_long =
      SendAndWait(*transport, Get(server.Url("127.0.0.1")), absl::Now() + absl::Milliseconds(100))
          .status();
  const absl::Status refused =
      SendAndWait(*transport, Get(absl::StrCat("http://127.0.0.1:", closed_port, "/"))).status();
  const absl::Status bad_url = SendAndWait(*transport, Get("ftp://127.0.0.1/")).status();
  const std::vector<absl::StatusOr<HttpResponse>> unanswered = stalled.Wait(1);

  EXPECT_TRUE(WasNotSent(refused)) << refused;
  EXPECT_TRUE(WasNotSent(queued_too_long)) << queued_too_long;
  EXPECT_TRUE(WasNotSent(bad_url)) << bad_url;
  ASSERT_EQ(unanswered.size(), 1u);
  EXPECT_EQ(unanswered[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(WasNotSent(unanswered[0].status())) << "the stalled request was written";
  server.ReleaseStalled();
}

TEST(BeastHttpTransportTest, FreshConnectionClosedWithoutAnswerIsNotRetried) {
  TestServer server;
  server.set_behavior(Behavior::kCloseWithoutAnswer);
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.0.0.1")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr(absl::StrCat("waiting for response from 127.0.0.1:", server.port())));
  EXPECT_EQ(server.counts().accepted, 1);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(BeastHttpTransportTest, OversizedResponseIsResourceExhausted) {
  TestServer server;
  BeastTransportOptions options = LoopbackOptions();
  options.max_response_bytes = 1024;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  server.set_response_body(std::string(1024, 'x'));
  absl::StatusOr<HttpResponse> at_limit = SendAndWait(*transport, Get(server.Url("127.0.0.1")));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->body.size(), 1024u);

  server.set_response_body(std::string(1025, 'x'));
  absl::StatusOr<HttpResponse> over = SendAndWait(*transport, Get(server.Url("127.0.0.1")));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
}
}  // namespace
}  // namespace halopsa::net::transport_test
