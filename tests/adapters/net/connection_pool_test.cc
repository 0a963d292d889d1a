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

// The connection pool, through the transport: reuse, limits, the queue.
namespace halopsa::net::transport_test {
namespace {

using ::testing::HasSubstr;

TEST(BeastHttpTransportTest, SequentialRequestsReuseOneConnection) {
  TestServer server;
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);

  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<HttpResponse> response =
        SendAndWait(*transport, Get(server.Url("127.0.0.1", absl::StrCat("/n/", i))));
    ASSERT_TRUE(response.ok()) << i << ": " << response.status();
  }

  EXPECT_EQ(server.counts().accepted, 1);
  EXPECT_EQ(server.requests().size(), 20u);
  EXPECT_EQ(transport->connections_opened(), 1u);
  EXPECT_EQ(transport->open_connections(), 1u);
}

TEST(BeastHttpTransportTest, ConnectionCloseResponseIsNotReused) {
  TestServer server;
  server.set_behavior(Behavior::kRespondAndClose);
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);

  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.0.0.1")));
    ASSERT_TRUE(response.ok()) << i << ": " << response.status();
    EXPECT_EQ(transport->open_connections(), 0u);
  }

  EXPECT_EQ(server.counts().accepted, 3);
  EXPECT_EQ(transport->connections_opened(), 3u);
}

TEST(BeastHttpTransportTest, IdleConnectionIsClosedAfterIdleTimeout) {
  TestServer server;
  BeastTransportOptions options = LoopbackOptions();
  options.idle_timeout = absl::Milliseconds(100);
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  ASSERT_TRUE(SendAndWait(*transport, Get(server.Url("127.0.0.1"))).ok());
  ASSERT_TRUE(server.WaitFor([](const ServerCounts& c) { return c.client_closed == 1; }));
  EXPECT_EQ(transport->open_connections(), 0u);
  ASSERT_TRUE(SendAndWait(*transport, Get(server.Url("127.0.0.1"))).ok());

  EXPECT_EQ(server.counts().accepted, 2);
}

TEST(BeastHttpTransportTest, PoolNeverExceedsMaxConnectionsPerHost) {
  TestServer server;
  server.set_behavior(Behavior::kStall);
  BeastTransportOptions options = LoopbackOptions();
  options.max_connections_per_host = 2;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);
  Results results;

  for (int i = 0; i < 10; ++i) {
    transport->Send(Get(server.Url("127.0.0.1", absl::StrCat("/n/", i))), Soon(),
                    results.Callback());
  }
  ASSERT_TRUE(server.WaitFor([](const ServerCounts& c) { return c.stalled == 2; }));
  EXPECT_EQ(server.counts().accepted, 2);
  EXPECT_EQ(transport->open_connections(), 2u);
  server.ReleaseStalled();

  const std::vector<absl::StatusOr<HttpResponse>> all = results.Wait(10);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(CountCode(all, absl::StatusCode::kOk), 10u);
  EXPECT_EQ(server.counts().accepted, 2);
  EXPECT_EQ(server.requests().size(), 10u);
  EXPECT_EQ(transport->connections_opened(), 2u);
}

TEST(BeastHttpTransportTest, FullQueueFailsWithResourceExhausted) {
  TestServer server;
  server.set_behavior(Behavior::kStall);
  BeastTransportOptions options = LoopbackOptions();
  options.max_connections_per_host = 1;
  options.max_queued_requests_per_host = 2;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);
  Results results;

  for (int i = 0; i < 4; ++i) {
    transport->Send(Get(server.Url("127.0.0.1")), Soon(), results.Callback());
  }
  // One in flight, two queued: the fourth is refused straight away.
  std::vector<absl::StatusOr<HttpResponse>> all = results.Wait(1);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status().code(), absl::StatusCode::kResourceExhausted);
  server.ReleaseStalled();

  all = results.Wait(4);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(CountCode(all, absl::StatusCode::kOk), 3u);
  EXPECT_EQ(server.counts().accepted, 1);
}

TEST(BeastHttpTransportTest, QueuedRequestPastDeadlineLeavesTheQueue) {
  TestServer server;
  server.set_behavior(Behavior::kStall);
  BeastTransportOptions options = LoopbackOptions();
  options.max_connections_per_host = 1;
  options.max_queued_requests_per_host = 1;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);
  Results in_flight;
  Results short_deadline;
  Results queued_later;

  transport->Send(Get(server.Url("127.0.0.1")), Soon(), in_flight.Callback());
  transport->Send(Get(server.Url("127.0.0.1")), absl::Now() + absl::Milliseconds(200),
                  short_deadline.Callback());
  std::vector<absl::StatusOr<HttpResponse>> timed_out = short_deadline.Wait(1);
  ASSERT_EQ(timed_out.size(), 1u);
  EXPECT_EQ(timed_out[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(timed_out[0].status().message(), HasSubstr("waiting for a free connection"));

  // The expired request no longer occupies the only queue place.
  transport->Send(Get(server.Url("127.0.0.1")), Soon(), queued_later.Callback());
  server.ReleaseStalled();
  const std::vector<absl::StatusOr<HttpResponse>> first = in_flight.Wait(1);
  const std::vector<absl::StatusOr<HttpResponse>> later = queued_later.Wait(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_TRUE(first[0].ok()) << first[0].status();
  EXPECT_TRUE(later[0].ok()) << later[0].status();
  EXPECT_EQ(server.requests().size(), 2u);
}
}  // namespace
}  // namespace halopsa::net::transport_test
