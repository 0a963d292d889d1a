#include "adapters/net/beast_http_transport.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/net/transport_test_support.h"

// The transport facade: round trips, request checks and framing, options,
// and what the destructor guarantees.
namespace halopsa::net::transport_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(BeastHttpTransportTest, GetRoundTripSendsHeadersAndReturnsResponse) {
  TestServer server;
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(
      *transport, Get(server.Url("127.0.0.1", "/api/Tickets?count=5&q=a%20b"),
                      {{"Authorization", "Bearer t0ken"}, {"Accept", "application/json"}}));

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(response->body, "hello");
  const std::vector<SeenRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/api/Tickets?count=5&q=a%20b");
  EXPECT_EQ(seen[0].headers.at("authorization"), "Bearer t0ken");
  EXPECT_EQ(seen[0].headers.at("accept"), "application/json");
  EXPECT_EQ(seen[0].headers.at("host"), absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(seen[0].headers.at("user-agent"), "ext-halopsa/1.0");
  EXPECT_EQ(seen[0].headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(seen[0].body, "");
}

TEST(BeastHttpTransportTest, PostSendsBodyAndOverridesTransportHeaders) {
  TestServer server;
  BeastTransportOptions options = LoopbackOptions();
  options.user_agent = "test-agent/2";
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response =
      SendAndWait(*transport, HttpRequest{"POST",
                                          server.Url("127.0.0.1", "/auth/token"),
                                          {{"Content-Type", "application/x-www-form-urlencoded"},
                                           {"Host", "evil.example"},
                                           {"Content-Length", "999"},
                                           {"Transfer-Encoding", "chunked"}},
                                          "grant_type=client_credentials&client_secret=s3cret"});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  const std::vector<SeenRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, "grant_type=client_credentials&client_secret=s3cret");
  EXPECT_EQ(seen[0].headers.at("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(seen[0].headers.at("content-length"), "50");
  EXPECT_EQ(seen[0].headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(seen[0].headers.at("host"), absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(seen[0].headers.at("user-agent"), "test-agent/2");
}

TEST(BeastHttpTransportTest, CreateRejectsUnusableOptions) {
  BeastTransportOptions no_threads;
  no_threads.threads = 0;
  BeastTransportOptions no_connections;
  no_connections.max_connections_per_host = 0;
  BeastTransportOptions infinite_timeout;
  infinite_timeout.io_timeout = absl::InfiniteDuration();
  BeastTransportOptions bad_agent;
  bad_agent.user_agent = "a\r\nX-Injected: 1";
  for (const BeastTransportOptions& options :
       {no_threads, no_connections, infinite_timeout, bad_agent}) {
    EXPECT_EQ(BeastHttpTransport::Create(options).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(BeastHttpTransportTest, InvalidRequestsFailWithoutEchoingSecrets) {
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);
  const HttpRequest requests[] = {
      Get("https://user:s3cret@example.com/"),
      Get("ftp://example.com/"),
      Get("http://127.0.0.1:1/", {{"Authorization", "Bearer s3cret\r\nX-Injected: 1"}}),
      Get("http://127.0.0.1:1/", {{"Bad Name s3cret", "v"}}),
      HttpRequest{"TRACE", "http://127.0.0.1:1/", {}, "s3cret"},
  };
  for (const HttpRequest& request : requests) {
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << request.url;
    EXPECT_THAT(response.status().message(), Not(HasSubstr("s3cret")));
  }
  EXPECT_EQ(transport->connections_opened(), 0u);
}

TEST(BeastHttpTransportTest, PastDeadlineFailsAtOnceOnATransportThread) {
  TestServer server;
  auto transport = MakeTransport(LoopbackOptions());
  ASSERT_NE(transport, nullptr);
  Results results;

  transport->Send(Get(server.Url("127.0.0.1")), absl::Now() - absl::Seconds(1), results.Callback());

  std::vector<absl::StatusOr<HttpResponse>> all = results.Wait(1);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(results.threads()[0], std::this_thread::get_id());
  EXPECT_EQ(server.counts().accepted, 0);
}

TEST(BeastHttpTransportTest, DestructorRunsEveryPendingCallbackOnce) {
  TestServer server;
  server.set_behavior(Behavior::kStall);
  BeastTransportOptions options = LoopbackOptions();
  options.max_connections_per_host = 2;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);
  Results results;

  for (int i = 0; i < 5; ++i) {
    transport->Send(Get(server.Url("127.0.0.1")), Soon(), results.Callback());
  }
  ASSERT_TRUE(server.WaitFor([](const ServerCounts& c) { return c.stalled == 2; }));
  transport.reset();

  // The destructor has joined its threads: no callback can still be coming.
  const std::vector<absl::StatusOr<HttpResponse>> all = results.results();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(CountCode(all, absl::StatusCode::kCancelled), 5u);
  server.ReleaseStalled();
}
}  // namespace
}  // namespace halopsa::net::transport_test
