#include "adapters/net/beast_http_transport.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/net/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace halopsa::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// How long a test waits for something that should happen promptly; only
// reached when the behaviour under test is broken.
constexpr absl::Duration kWaitLimit = absl::Seconds(10);

std::string CertPath(absl::string_view name) {
  return absl::StrCat(HALOPSA_TESTDATA_DIR, "/certs/", name);
}

// ---------------------------------------------------------------------------
// A controllable HTTP(S) server on 127.0.0.1, one io thread.

enum class Behavior {
  kRespond,             // answer and keep the connection
  kRespondAndClose,     // answer with "Connection: close", then close
  kRespondThenDrop,     // answer as keep-alive, then close anyway (an idle cutoff)
  kStall,               // hold the answer until ReleaseStalled()
  kCloseWithoutAnswer,  // close as soon as the request has arrived
};

struct SeenRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ServerCounts {
  int accepted = 0;       // connections accepted
  int stalled = 0;        // answers held back right now
  int dropped = 0;        // connections closed after kRespondThenDrop
  int client_closed = 0;  // connections the client closed between requests
};

class TestServer {
 public:
  // Plain HTTP when `cert` is empty, else TLS with that certificate and key.
  explicit TestServer(const std::string& cert = "", const std::string& key = "") {
    if (!cert.empty()) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain_file(cert);
      tls_->use_private_key_file(key, ssl::context::pem);
    }
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  std::string Url(absl::string_view host, absl::string_view target = "/") const {
    return absl::StrCat(tls_ ? "https" : "http", "://", host, ":", port_, target);
  }
  uint16_t port() const { return port_; }

  void set_behavior(Behavior behavior) {
    absl::MutexLock lock(&mu_);
    behavior_ = behavior;
  }
  void set_response_body(std::string body) {
    absl::MutexLock lock(&mu_);
    response_body_ = std::move(body);
  }

  // Answers every held request and stops holding new ones.
  void ReleaseStalled() {
    std::vector<std::function<void()>> answers;
    {
      absl::MutexLock lock(&mu_);
      behavior_ = Behavior::kRespond;
      answers.swap(stalled_);
      counts_.stalled = 0;
    }
    for (auto& answer : answers) asio::post(io_, std::move(answer));
  }

  ServerCounts counts() const {
    absl::MutexLock lock(&mu_);
    return counts_;
  }
  std::vector<SeenRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  bool WaitFor(const std::function<bool(const ServerCounts&)>& done) {
    absl::MutexLock lock(&mu_);
    const auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done(counts_); };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kWaitLimit);
  }

  // Session side, on the server thread. Records the request and says how to
  // treat it; a stalled request's `answer` runs on ReleaseStalled().
  Behavior Admit(SeenRequest request, std::function<void()> answer) {
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(request));
    if (behavior_ == Behavior::kStall) {
      stalled_.push_back(std::move(answer));
      ++counts_.stalled;
    }
    return behavior_;
  }
  std::string response_body() const {
    absl::MutexLock lock(&mu_);
    return response_body_;
  }
  void Count(int ServerCounts::*counter) {
    absl::MutexLock lock(&mu_);
    ++(counts_.*counter);
  }

 private:
  template <typename Stream>
  class Session;

  void Accept();

  std::optional<ssl::context> tls_;  // outlives the sessions destroyed with io_
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::thread thread_;

  mutable absl::Mutex mu_;
  Behavior behavior_ ABSL_GUARDED_BY(mu_) = Behavior::kRespond;
  std::string response_body_ ABSL_GUARDED_BY(mu_) = "hello";
  ServerCounts counts_ ABSL_GUARDED_BY(mu_);
  std::vector<SeenRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> stalled_ ABSL_GUARDED_BY(mu_);
};

template <typename Stream>
class TestServer::Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... StreamArgs>
  explicit Session(TestServer& server, StreamArgs&&... args)
      : server_(server), stream_(std::forward<StreamArgs>(args)...) {}

  void Run() {
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](const beast::error_code& ec) {
                                if (!ec) self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = this->shared_from_this()](const beast::error_code& ec, size_t) {
                       if (ec == http::error::end_of_stream) {
                         self->server_.Count(&ServerCounts::client_closed);
                       } else if (!ec) {
                         self->OnRequest();
                       }
                     });
  }

  void OnRequest() {
    SeenRequest seen{
        std::string(request_.method_string()), std::string(request_.target()), request_.body(), {}};
    for (const auto& field : request_) {
      seen.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
          std::string(field.value());
    }
    const Behavior behavior = server_.Admit(
        std::move(seen), [self = this->shared_from_this()] { self->Respond(Behavior::kRespond); });
    switch (behavior) {
      case Behavior::kStall:
        return;
      case Behavior::kCloseWithoutAnswer:
        return Close();
      default:
        return Respond(behavior);
    }
  }

  void Respond(Behavior behavior) {
    response_ = {};
    response_.result(http::status::ok);
    response_.version(11);
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    response_.body() = server_.response_body();
    response_.keep_alive(behavior != Behavior::kRespondAndClose);
    response_.prepare_payload();
    http::async_write(
        stream_, response_,
        [self = this->shared_from_this(), behavior](const beast::error_code& ec, size_t) {
          if (ec) return;
          if (behavior == Behavior::kRespond) return self->Read();
          self->Close();
          if (behavior == Behavior::kRespondThenDrop) {
            self->server_.Count(&ServerCounts::dropped);
          }
        });
  }

  void Close() {
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  TestServer& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void TestServer::Accept() {
  acceptor_.async_accept([this](const beast::error_code& ec, tcp::socket socket) {
    if (ec) return;
    Count(&ServerCounts::accepted);
    if (tls_) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket),
                                                                      *tls_)
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket))->Run();
    }
    Accept();
  });
}

// ---------------------------------------------------------------------------
// Client-side helpers.

// Collects callback results. Shared state, so a callback arriving after a
// failed test's wait gave up stays harmless.
class Results {
 public:
  HttpTransport::Callback Callback() {
    return [state = state_](absl::StatusOr<HttpResponse> result) {
      absl::MutexLock lock(&state->mu);
      state->results.push_back(std::move(result));
      state->threads.push_back(std::this_thread::get_id());
    };
  }

  // Waits (bounded) until `n` callbacks have run; returns all results so far.
  std::vector<absl::StatusOr<HttpResponse>> Wait(size_t n) {
    absl::MutexLock lock(&state_->mu);
    const auto enough = [&]() { return state_->results.size() >= n; };
    state_->mu.AwaitWithTimeout(absl::Condition(&enough), kWaitLimit);
    return state_->results;
  }

  std::vector<absl::StatusOr<HttpResponse>> results() const {
    absl::MutexLock lock(&state_->mu);
    return state_->results;
  }
  std::vector<std::thread::id> threads() const {
    absl::MutexLock lock(&state_->mu);
    return state_->threads;
  }

 private:
  struct State {
    mutable absl::Mutex mu;
    std::vector<absl::StatusOr<HttpResponse>> results ABSL_GUARDED_BY(mu);
    std::vector<std::thread::id> threads ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

HttpRequest Get(std::string url, HeaderList headers = {}) {
  return HttpRequest{"GET", std::move(url), std::move(headers), ""};
}

absl::Time Soon() { return absl::Now() + kWaitLimit; }

absl::StatusOr<HttpResponse> SendAndWait(HttpTransport& transport, HttpRequest request,
                                         absl::Time deadline = Soon()) {
  Results results;
  transport.Send(std::move(request), deadline, results.Callback());
  std::vector<absl::StatusOr<HttpResponse>> all = results.Wait(1);
  if (all.empty()) return absl::InternalError("the callback did not run");
  return all.front();
}

// Plain HTTP to 127.0.0.1 is what every non-policy test needs.
BeastTransportOptions LoopbackOptions() {
  BeastTransportOptions options;
  options.allow_insecure_http = true;
  options.allow_private_addresses = true;
  return options;
}

std::unique_ptr<BeastHttpTransport> MakeTransport(BeastTransportOptions options) {
  absl::StatusOr<std::unique_ptr<BeastHttpTransport>> transport =
      BeastHttpTransport::Create(std::move(options));
  if (!transport.ok()) {
    ADD_FAILURE() << transport.status();
    return nullptr;
  }
  return *std::move(transport);
}

size_t CountCode(const std::vector<absl::StatusOr<HttpResponse>>& results, absl::StatusCode code) {
  size_t n = 0;
  for (const auto& result : results) n += result.status().code() == code ? 1 : 0;
  return n;
}

// A port that was just free: nothing listens there now.
uint16_t ClosedLoopbackPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// ---------------------------------------------------------------------------
// Round trips.

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

// ---------------------------------------------------------------------------
// TLS.

BeastTransportOptions TlsOptions() {
  BeastTransportOptions options;
  options.allow_private_addresses = true;
  options.extra_ca_file = CertPath("ca.pem");
  return options;
}

TEST(BeastHttpTransportTest, HttpsVerifiesServerAgainstExtraCa) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  auto transport = MakeTransport(TlsOptions());
  ASSERT_NE(transport, nullptr);

  for (const char* host : {"127.0.0.1", "localhost"}) {
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url(host, "/x")));
    ASSERT_TRUE(response.ok()) << host << ": " << response.status();
    EXPECT_EQ(response->body, "hello");
  }
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(BeastHttpTransportTest, HttpsRejectsUntrustedCertificate) {
  TestServer server(CertPath("untrusted.pem"), CertPath("untrusted.key"));
  auto transport = MakeTransport(TlsOptions());
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("localhost")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr("TLS certificate verification failed for localhost: self-signed"));
  EXPECT_TRUE(server.requests().empty());
}

TEST(BeastHttpTransportTest, HttpsRejectsCertificateForAnotherName) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  auto transport = MakeTransport(TlsOptions());
  ASSERT_NE(transport, nullptr);

  // "127.1" reaches 127.0.0.1 but is neither of the certificate's names.
  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.1")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("hostname mismatch"));
  EXPECT_TRUE(server.requests().empty());
}

TEST(BeastHttpTransportTest, HttpsWithoutTheTestCaFails) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  BeastTransportOptions options = TlsOptions();
  options.extra_ca_file.clear();
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("localhost")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
}

TEST(BeastHttpTransportTest, CreateFailsForUnreadableCaFile) {
  BeastTransportOptions options;
  options.extra_ca_file = CertPath("does-not-exist.pem");
  EXPECT_EQ(BeastHttpTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
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

// ---------------------------------------------------------------------------
// Destination policy and request validation.

TEST(BeastHttpTransportTest, PlainHttpRefusedUnlessAllowed) {
  TestServer server;
  BeastTransportOptions options = LoopbackOptions();
  options.allow_insecure_http = false;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url("127.0.0.1")));

  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
  EXPECT_EQ(server.counts().accepted, 0);
}

TEST(BeastHttpTransportTest, PrivateDestinationsRefusedUnlessAllowed) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  BeastTransportOptions options = TlsOptions();
  options.allow_private_addresses = false;
  auto transport = MakeTransport(options);
  ASSERT_NE(transport, nullptr);

  // The name is checked by what it resolves to, not by how it is spelled.
  for (const char* host : {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]"}) {
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url(host)));
    EXPECT_EQ(response.status().code(), absl::StatusCode::kPermissionDenied)
        << host << ": " << response.status();
  }
  EXPECT_EQ(server.counts().accepted, 0);
}

TEST(BeastHttpTransportTest, ScopedAllowanceOpensOnlyTheListedHostsAndRanges) {
  TestServer server(CertPath("server.pem"), CertPath("server.key"));
  struct Case {
    const char* allowed;
    const char* host;
    bool reaches;
  };
  const Case cases[] = {
      {"127.0.0.0/8", "127.0.0.1", true},
      {"127.0.0.1/32", "[::ffff:127.0.0.1]", true},  // the IPv4 it carries is in range
      {"10.0.0.0/8", "127.0.0.1", false},
      {"localhost", "localhost", true},
      {"halo.corp.example", "localhost", false},
  };
  for (const Case& c : cases) {
    BeastTransportOptions options = TlsOptions();
    options.allow_private_addresses = false;
    options.allowed_upstreams = *UpstreamAllowance::Parse(c.allowed);
    auto transport = MakeTransport(options);
    ASSERT_NE(transport, nullptr);
    absl::StatusOr<HttpResponse> response = SendAndWait(*transport, Get(server.Url(c.host)));
    if (c.reaches) {
      // The certificate is for 127.0.0.1: reaching it is what counts here.
      EXPECT_NE(response.status().code(), absl::StatusCode::kPermissionDenied) << c.allowed << " " << c.host;
    } else {
      EXPECT_EQ(response.status().code(), absl::StatusCode::kPermissionDenied) << c.allowed << " " << c.host;
    }
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

// ---------------------------------------------------------------------------
// Connection pool.

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

// ---------------------------------------------------------------------------
// Timeouts and failures.

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
}  // namespace halopsa::net
