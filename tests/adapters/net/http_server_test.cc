#include "adapters/net/http_server.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_http_client.h"

namespace halopsa::net {
namespace {

using ::halopsa::testing::Fetch;
using ::halopsa::testing::TestHttpClient;
using ::halopsa::testing::TestResponse;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kWait = absl::Seconds(5);

std::unique_ptr<HttpServer> StartOrDie(HttpServerOptions options, RequestHandler handler) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

std::unique_ptr<TestHttpClient> ConnectOrDie(int port, bool tls = false) {
  absl::StatusOr<std::unique_ptr<TestHttpClient>> client = TestHttpClient::Connect(port, tls);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

ServerResponse Answer(int status, std::string body = "") {
  ServerResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// Answers with everything it was given, so tests can see what arrived.
void Echo(ServerRequest request, Responder respond) {
  respond(ServerResponse{
      .status = 201,
      .content_type = "text/plain",
      .headers = {{"X-Echo-Header", std::string(request.Header("x-test"))}},
      .body = absl::StrCat(request.method, " ", request.target, " ", request.body)});
}

// Holds Responders for the test to answer later, from its own thread.
class ParkedResponders {
 public:
  void Park(Responder responder) {
    absl::MutexLock lock(&mu_);
    parked_.push_back(std::move(responder));
  }
  // The oldest parked responder, once one arrives within kWait.
  std::optional<Responder> Take() {
    absl::MutexLock lock(&mu_);
    const auto any = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !parked_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&any), kWait)) return std::nullopt;
    Responder first = std::move(parked_.front());
    parked_.erase(parked_.begin());
    return first;
  }

 private:
  absl::Mutex mu_;
  std::vector<Responder> parked_ ABSL_GUARDED_BY(mu_);
};

TEST(HttpServerTest, PlainRequestReachesHandlerAndResponseReachesClient) {
  std::unique_ptr<HttpServer> server = StartOrDie({}, Echo);
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);

  absl::StatusOr<TestResponse> response = Fetch(server->port(), /*tls=*/false, "POST",
                                                "/api/Tickets?page_no=2", "[{\"a\":1}]",
                                                {{"X-Test", "hello"}});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->Header("Content-Type"), "text/plain");
  EXPECT_EQ(response->Header("X-Echo-Header"), "hello");
  EXPECT_EQ(response->body, "POST /api/Tickets?page_no=2 [{\"a\":1}]");
}

TEST(HttpServerTest, TlsRequestAndResponse) {
  HttpServerOptions options;
  options.tls_cert_file = HALOPSA_TESTDATA_DIR "/certs/server.pem";
  options.tls_key_file = HALOPSA_TESTDATA_DIR "/certs/server.key";
  std::unique_ptr<HttpServer> server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);

  absl::StatusOr<TestResponse> response =
      Fetch(server->port(), /*tls=*/true, "GET", "/secure", "", {{"X-Test", "tls"}});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->Header("X-Echo-Header"), "tls");
  EXPECT_EQ(response->body, "GET /secure ");

  // A plain-HTTP client gets no answer from the TLS port.
  EXPECT_FALSE(Fetch(server->port(), /*tls=*/false, "GET", "/secure").ok());
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpServerOptions options;
  options.max_connections = 1;  // a second connection would be closed at once
  std::unique_ptr<HttpServer> server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);

  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<TestResponse> response = client->Send("GET", absl::StrCat("/n/", i));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->body, absl::StrCat("GET /n/", i, " "));
    EXPECT_NE(response->Header("Connection"), "close");
  }
}

TEST(HttpServerTest, ConnectionsBeyondTheLimitAreClosedWhenNoneIsIdle) {
  ParkedResponders parked;
  HttpServerOptions options;
  options.max_connections = 1;
  std::unique_ptr<HttpServer> server =
      StartOrDie(options, [&](ServerRequest, Responder respond) { parked.Park(std::move(respond)); });
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> busy = ConnectOrDie(server->port());
  ASSERT_NE(busy, nullptr);
  ASSERT_TRUE(busy->WriteRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  std::optional<Responder> respond = parked.Take();  // the server is working on its request
  ASSERT_TRUE(respond.has_value());

  std::unique_ptr<TestHttpClient> second = ConnectOrDie(server->port());
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(second->WaitForClose());
  (*respond)(Answer(200, "done"));
  absl::StatusOr<TestResponse> response = busy->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "done");
}

TEST(HttpServerTest, ConnectionCloseIsHonoured) {
  std::unique_ptr<HttpServer> server = StartOrDie({}, Echo);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);

  absl::StatusOr<TestResponse> response =
      client->Send("GET", "/bye", "", {{"Connection", "close"}});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client->WaitForClose());
}

TEST(HttpServerTest, ResponderMayBeCalledLaterFromAnotherThread) {
  ParkedResponders parked;
  std::unique_ptr<HttpServer> server =
      StartOrDie({}, [&](ServerRequest, Responder respond) { parked.Park(std::move(respond)); });
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->WriteRaw("GET /later HTTP/1.1\r\nHost: x\r\n\r\n").ok());

  std::optional<Responder> respond = parked.Take();
  ASSERT_TRUE(respond.has_value());
  std::thread answerer([&] { (*respond)(Answer(202, "{\"late\":true}")); });
  absl::StatusOr<TestResponse> response = client->ReadResponse();
  answerer.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->Header("Content-Type"), "application/json");
  EXPECT_EQ(response->body, "{\"late\":true}");
}

TEST(HttpServerTest, ExpectContinueGetsAnInterimAnswerBeforeTheBody) {
  std::unique_ptr<HttpServer> server = StartOrDie({}, Echo);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);

  ASSERT_TRUE(client
                  ->WriteRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                             "Expect: 100-continue\r\n\r\n")
                  .ok());
  absl::StatusOr<TestResponse> interim = client->ReadResponse();
  ASSERT_TRUE(interim.ok()) << interim.status();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client->WriteRaw("data").ok());
  absl::StatusOr<TestResponse> response = client->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "POST /upload data");
}

TEST(HttpServerTest, DroppedResponderAnswers500) {
  std::unique_ptr<HttpServer> server = StartOrDie({}, [](ServerRequest, Responder) {});
  ASSERT_NE(server, nullptr);
  absl::StatusOr<TestResponse> response = Fetch(server->port(), false, "GET", "/");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 500);
}

TEST(HttpServerTest, DroppedConnectionClosesWithoutAnyAnswer) {
  for (const bool tls : {false, true}) {
    HttpServerOptions options;
    if (tls) {
      options.tls_cert_file = HALOPSA_TESTDATA_DIR "/certs/server.pem";
      options.tls_key_file = HALOPSA_TESTDATA_DIR "/certs/server.key";
    }
    std::unique_ptr<HttpServer> server = StartOrDie(options, [](ServerRequest, Responder respond) {
      respond(ServerResponse{
          .status = 200, .headers = {}, .body = "never sent", .drop_connection = true});
    });
    ASSERT_NE(server, nullptr);
    std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port(), tls);
    ASSERT_NE(client, nullptr);

    ASSERT_TRUE(client->WriteRaw("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n").ok());
    EXPECT_TRUE(client->WaitForClose()) << (tls ? "https" : "http");
  }
}

TEST(HttpServerTest, BodyOverLimitIs413WithoutCallingHandler) {
  std::atomic<int> calls = 0;
  HttpServerOptions options;
  options.max_body_bytes = 16;
  std::unique_ptr<HttpServer> server = StartOrDie(options, [&](ServerRequest r, Responder respond) {
    ++calls;
    Echo(std::move(r), std::move(respond));
  });
  ASSERT_NE(server, nullptr);

  absl::StatusOr<TestResponse> small = Fetch(server->port(), false, "POST", "/", "0123456789abcdef");
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->status, 201);

  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);
  absl::StatusOr<TestResponse> large = client->Send("POST", "/", std::string(17, 'x'));
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->status, 413);
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServerTest, MalformedRequestIs400AndCloses) {
  std::atomic<int> calls = 0;
  std::unique_ptr<HttpServer> server =
      StartOrDie({}, [&](ServerRequest, Responder respond) { ++calls; });
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);

  ASSERT_TRUE(client->WriteRaw("NOT HTTP AT ALL\r\n\r\n").ok());
  absl::StatusOr<TestResponse> response = client->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(calls.load(), 0);
}

// The probe's inputs: a Transfer-Encoding this server does not decode was
// read by Content-Length and answered 200. RFC 9112: 400, then close.
TEST(HttpServerTest, AnyTransferEncodingButChunkedIs400AndCloses) {
  std::atomic<int> calls = 0;
  std::unique_ptr<HttpServer> server = StartOrDie({}, [&](ServerRequest r, Responder respond) {
    ++calls;
    Echo(std::move(r), std::move(respond));
  });
  ASSERT_NE(server, nullptr);
  for (const char* coding : {"gzip", "xchunked", "chunked, identity", "identity", "chunked\r\nTransfer-Encoding: chunked"}) {
    std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client
                    ->WriteRaw(absl::StrCat("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ", coding,
                                            "\r\nContent-Length: 4\r\n\r\nabcd"))
                    .ok());
    absl::StatusOr<TestResponse> response = client->ReadResponse();
    ASSERT_TRUE(response.ok()) << coding << ": " << response.status();
    EXPECT_EQ(response->status, 400) << coding;
    EXPECT_TRUE(client->WaitForClose()) << coding;
  }
  EXPECT_EQ(calls.load(), 0);

  // Exactly "chunked" is read as chunks.
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->WriteRaw("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n").ok());
  absl::StatusOr<TestResponse> response = client->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "POST /c abcd");
}

// The probe's flood: idle connections filled the cap and locked out callers
// with requests. When full, the longest idle connection makes room.
TEST(HttpServerTest, WhenFullTheLongestIdleConnectionIsClosedForANewcomer) {
  HttpServerOptions options;
  options.max_connections = 2;
  std::unique_ptr<HttpServer> server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> idle = ConnectOrDie(server->port());
  std::unique_ptr<TestHttpClient> second = ConnectOrDie(server->port());
  ASSERT_NE(idle, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->Send("GET", "/").ok());  // both are surely registered, `idle` first

  absl::StatusOr<TestResponse> newcomer = Fetch(server->port(), false, "GET", "/new");
  ASSERT_TRUE(newcomer.ok()) << newcomer.status();
  EXPECT_EQ(newcomer->body, "GET /new ");
  EXPECT_TRUE(idle->WaitForClose());
}

TEST(HttpServerTest, ConnectionsBeyondThePerSourceLimitAreClosed) {
  HttpServerOptions options;
  options.max_connections_per_source = 1;
  std::unique_ptr<HttpServer> server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> first = ConnectOrDie(server->port());
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->Send("GET", "/").ok());
  std::unique_ptr<TestHttpClient> second = ConnectOrDie(server->port());
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(second->WaitForClose());
  EXPECT_TRUE(first->Send("GET", "/still-open").ok());
}

TEST(HttpServerTest, RequestsCarryThePeerAddress) {
  std::unique_ptr<HttpServer> server =
      StartOrDie({}, [](ServerRequest r, Responder respond) { respond(Answer(200, r.remote_address)); });
  ASSERT_NE(server, nullptr);
  absl::StatusOr<TestResponse> response = Fetch(server->port(), false, "GET", "/");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "127.0.0.1");
}

TEST(HttpServerTest, StopAcceptingRefusesNewConnectionsAndStillAnswersRequestsInFlight) {
  ParkedResponders parked;
  std::unique_ptr<HttpServer> server =
      StartOrDie({}, [&](ServerRequest, Responder respond) { parked.Park(std::move(respond)); });
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> busy = ConnectOrDie(server->port());
  ASSERT_NE(busy, nullptr);
  ASSERT_TRUE(busy->WriteRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  std::optional<Responder> respond = parked.Take();
  ASSERT_TRUE(respond.has_value());

  server->StopAccepting();
  EXPECT_FALSE(TestHttpClient::Connect(server->port()).ok());
  EXPECT_FALSE(server->WaitUntilClosed(absl::Now() + absl::Milliseconds(50)));
  (*respond)(Answer(200, "late but answered"));
  absl::StatusOr<TestResponse> response = busy->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "late but answered");
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(server->WaitUntilClosed(absl::Now() + kWait));
}

TEST(HttpServerTest, ReadTimeoutClosesStalledClient) {
  std::atomic<int> calls = 0;
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(200);  // the idle timeout stays at 60 s
  std::unique_ptr<HttpServer> server =
      StartOrDie(options, [&](ServerRequest, Responder respond) { ++calls; });
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);

  ASSERT_TRUE(client->WriteRaw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc").ok());
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, IdleTimeoutClosesKeptAliveConnection) {
  HttpServerOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  std::unique_ptr<HttpServer> server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<TestHttpClient> client = ConnectOrDie(server->port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET", "/").ok());
  EXPECT_TRUE(client->WaitForClose());
}

TEST(HttpServerTest, HandlersRunConcurrentlyWithSeveralThreads) {
  absl::Mutex mu;
  int inside = 0;
  HttpServerOptions options;
  options.threads = 2;
  // Each handler waits until both are inside: only possible when they run
  // at the same time on different threads.
  std::unique_ptr<HttpServer> server = StartOrDie(options, [&](ServerRequest r, Responder respond) {
    absl::MutexLock lock(&mu);
    ++inside;
    const auto both = [&]() { return inside >= 2; };
    const bool met = mu.AwaitWithTimeout(absl::Condition(&both), kWait);
    respond(Answer(met ? 200 : 504));
  });
  ASSERT_NE(server, nullptr);

  absl::StatusOr<TestResponse> other;
  std::thread second([&] { other = Fetch(server->port(), false, "GET", "/b"); });
  absl::StatusOr<TestResponse> first = Fetch(server->port(), false, "GET", "/a");
  second.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(other->status, 200);
}

TEST(HttpServerTest, ShutdownClosesIdleConnectionsAndWaitsForResponseInFlight) {
  ParkedResponders parked;
  std::unique_ptr<HttpServer> server = StartOrDie({}, [&](ServerRequest r, Responder respond) {
    if (r.target == "/slow") return parked.Park(std::move(respond));
    Echo(std::move(r), std::move(respond));
  });
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  std::unique_ptr<TestHttpClient> idle = ConnectOrDie(port);
  std::unique_ptr<TestHttpClient> busy = ConnectOrDie(port);
  ASSERT_NE(idle, nullptr);
  ASSERT_NE(busy, nullptr);
  ASSERT_TRUE(idle->Send("GET", "/fast").ok());
  ASSERT_TRUE(busy->WriteRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  std::optional<Responder> respond = parked.Take();
  ASSERT_TRUE(respond.has_value());

  absl::Notification shut_down;
  std::thread stopper([&] {
    server->Shutdown();
    shut_down.Notify();
  });
  EXPECT_TRUE(idle->WaitForClose());
  EXPECT_FALSE(shut_down.HasBeenNotified());
  (*respond)(Answer(200, "finished"));

  absl::StatusOr<TestResponse> response = busy->ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "finished");
  EXPECT_TRUE(busy->WaitForClose());
  EXPECT_TRUE(shut_down.WaitForNotificationWithTimeout(kWait));
  stopper.join();
  EXPECT_FALSE(TestHttpClient::Connect(port).ok());
  server->Shutdown();  // idempotent
}

TEST(HttpServerTest, RejectsInvalidOptions) {
  HttpServerOptions half_tls;
  half_tls.tls_cert_file = HALOPSA_TESTDATA_DIR "/certs/server.pem";
  EXPECT_EQ(HttpServer::Start(half_tls, Echo).status().code(), absl::StatusCode::kInvalidArgument);

  HttpServerOptions missing_key;
  missing_key.tls_cert_file = HALOPSA_TESTDATA_DIR "/certs/server.pem";
  missing_key.tls_key_file = HALOPSA_TESTDATA_DIR "/certs/absent.key";
  EXPECT_EQ(HttpServer::Start(missing_key, Echo).status().code(),
            absl::StatusCode::kInvalidArgument);

  HttpServerOptions no_port;
  no_port.listen = "127.0.0.1";
  EXPECT_EQ(HttpServer::Start(no_port, Echo).status().code(), absl::StatusCode::kInvalidArgument);

  std::unique_ptr<HttpServer> taken = StartOrDie({}, Echo);
  ASSERT_NE(taken, nullptr);
  HttpServerOptions busy_port;
  busy_port.listen = absl::StrCat("127.0.0.1:", taken->port());
  EXPECT_EQ(HttpServer::Start(busy_port, Echo).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace halopsa::net
