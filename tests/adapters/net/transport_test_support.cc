#include "tests/adapters/net/transport_test_support.h"

#include <type_traits>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace halopsa::net::transport_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string CertPath(absl::string_view name) {
  return absl::StrCat(HALOPSA_TESTDATA_DIR, "/certs/", name);
}

TestServer::TestServer(const std::string& cert, const std::string& key) {
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

void TestServer::ReleaseStalled() {
  std::vector<std::function<void()>> answers;
  {
    absl::MutexLock lock(&mu_);
    behavior_ = Behavior::kRespond;
    answers.swap(stalled_);
    counts_.stalled = 0;
  }
  for (auto& answer : answers) asio::post(io_, std::move(answer));
}

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

HttpRequest Get(std::string url, HeaderList headers) {
  return HttpRequest{"GET", std::move(url), std::move(headers), ""};
}

absl::StatusOr<HttpResponse> SendAndWait(HttpTransport& transport, HttpRequest request,
                                         absl::Time deadline) {
  Results results;
  transport.Send(std::move(request), deadline, results.Callback());
  std::vector<absl::StatusOr<HttpResponse>> all = results.Wait(1);
  if (all.empty()) return absl::InternalError("the callback did not run");
  return all.front();
}

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

uint16_t ClosedLoopbackPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace halopsa::net::transport_test
