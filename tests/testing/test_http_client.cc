#include "tests/testing/test_http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace halopsa::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class TestHttpClient::Impl {
 public:
  Impl(int port, bool tls, absl::Duration timeout)
      : port_(port), timeout_(absl::ToChronoNanoseconds(timeout)), tls_context_(ssl::context::tls_client) {
    if (tls) {
      tls_stream_.emplace(ioc_, tls_context_);
    } else {
      plain_stream_.emplace(ioc_);
    }
  }

  absl::Status Connect() {
    beast::error_code ec;
    if (tls_stream_.has_value()) {
      tls_context_.load_verify_file(HALOPSA_TESTDATA_DIR "/certs/ca.pem", ec);
      if (ec) return absl::InternalError(ec.message());
      tls_stream_->set_verify_mode(ssl::verify_peer);
      tls_stream_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    }
    const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"),
                                 static_cast<unsigned short>(port_));
    lowest().expires_after(timeout_);
    lowest().async_connect(endpoint, [&ec](beast::error_code e) { ec = e; });
    Run();
    if (ec) return absl::UnavailableError(absl::StrCat("connect: ", ec.message()));
    if (tls_stream_.has_value()) {
      lowest().expires_after(timeout_);
      tls_stream_->async_handshake(ssl::stream_base::client, [&ec](beast::error_code e) { ec = e; });
      Run();
      if (ec) return absl::UnavailableError(absl::StrCat("handshake: ", ec.message()));
    }
    return absl::OkStatus();
  }

  absl::Status WriteRaw(const std::string& bytes) {
    beast::error_code ec;
    lowest().expires_after(timeout_);
    WithStream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(bytes), [&ec](beast::error_code e, size_t) { ec = e; });
    });
    Run();
    if (ec) return absl::UnavailableError(absl::StrCat("write: ", ec.message()));
    return absl::OkStatus();
  }

  absl::StatusOr<TestResponse> ReadResponse() {
    beast::error_code ec;
    http::response<http::string_body> response;
    lowest().expires_after(timeout_);
    WithStream([&](auto& stream) {
      http::async_read(stream, buffer_, response, [&ec](beast::error_code e, size_t) { ec = e; });
    });
    Run();
    if (ec) return absl::UnavailableError(absl::StrCat("read: ", ec.message()));
    TestResponse out;
    out.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(response.body());
    return out;
  }

  bool WaitForClose() {
    if (buffer_.size() > 0) return false;
    beast::error_code ec;
    size_t received = 0;
    lowest().expires_after(timeout_);
    WithStream([&](auto& stream) {
      stream.async_read_some(buffer_.prepare(1024), [&](beast::error_code e, size_t n) {
        ec = e;
        received = n;
      });
    });
    Run();
    return received == 0 && ec && ec != beast::error::timeout;
  }

 private:
  beast::tcp_stream& lowest() {
    return tls_stream_.has_value() ? beast::get_lowest_layer(*tls_stream_) : *plain_stream_;
  }

  template <typename F>
  void WithStream(F&& f) {
    if (tls_stream_.has_value()) {
      f(*tls_stream_);
    } else {
      f(*plain_stream_);
    }
  }

  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  const int port_;
  const std::chrono::nanoseconds timeout_;
  asio::io_context ioc_;
  ssl::context tls_context_;
  std::optional<beast::tcp_stream> plain_stream_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  beast::flat_buffer buffer_;
};

std::string TestResponse::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<TestHttpClient>> TestHttpClient::Connect(int port, bool tls,
                                                                         absl::Duration timeout) {
  auto impl = std::make_unique<Impl>(port, tls, timeout);
  if (absl::Status status = impl->Connect(); !status.ok()) return status;
  return std::unique_ptr<TestHttpClient>(new TestHttpClient(std::move(impl)));
}

TestHttpClient::TestHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestHttpClient::~TestHttpClient() = default;

absl::Status TestHttpClient::WriteRaw(const std::string& bytes) { return impl_->WriteRaw(bytes); }

absl::StatusOr<TestResponse> TestHttpClient::ReadResponse() { return impl_->ReadResponse(); }

absl::StatusOr<TestResponse> TestHttpClient::Send(const std::string& method,
                                                  const std::string& target,
                                                  const std::string& body,
                                                  const TestHeaders& headers) {
  std::string request = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&request, name, ": ", value, "\r\n");
  absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n\r\n", body);
  if (absl::Status status = WriteRaw(request); !status.ok()) return status;
  return ReadResponse();
}

bool TestHttpClient::WaitForClose() { return impl_->WaitForClose(); }

absl::StatusOr<TestResponse> Fetch(int port, bool tls, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   const TestHeaders& headers, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<TestHttpClient>> client = TestHttpClient::Connect(port, tls, timeout);
  if (!client.ok()) return client.status();
  return (*client)->Send(method, target, body, headers);
}

}  // namespace halopsa::testing
