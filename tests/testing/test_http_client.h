#ifndef HALOPSA_TESTS_TESTING_TEST_HTTP_CLIENT_H_
#define HALOPSA_TESTS_TESTING_TEST_HTTP_CLIENT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace halopsa::testing {

using TestHeaders = std::vector<std::pair<std::string, std::string>>;

struct TestResponse {
  int status = 0;
  TestHeaders headers;
  std::string body;

  // First header with this name (case-insensitive), "" if absent.
  std::string Header(const std::string& name) const;
};

// Blocking HTTP/1.1 client on one loopback connection, built directly on
// Beast so tests control the exact bytes and see how the server closes.
// Every step gives up after `timeout`.
class TestHttpClient {
 public:
  // With `tls`, the server must present a certificate for 127.0.0.1 signed
  // by tests/testdata/certs/ca.pem.
  static absl::StatusOr<std::unique_ptr<TestHttpClient>> Connect(
      int port, bool tls = false, absl::Duration timeout = absl::Seconds(5));
  ~TestHttpClient();

  absl::Status WriteRaw(const std::string& bytes);
  absl::StatusOr<TestResponse> ReadResponse();
  // Writes one request (Host and Content-Length added) and reads the answer.
  absl::StatusOr<TestResponse> Send(const std::string& method, const std::string& target,
                                    const std::string& body = "",
                                    const TestHeaders& headers = {});
  // True once the server closed the connection (EOF or reset) without
  // sending more bytes; false if it stayed open for the whole timeout.
  bool WaitForClose();

 private:
  class Impl;

  explicit TestHttpClient(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection; each step gives up after `timeout`.
absl::StatusOr<TestResponse> Fetch(int port, bool tls, const std::string& method,
                                   const std::string& target, const std::string& body = "",
                                   const TestHeaders& headers = {},
                                   absl::Duration timeout = absl::Seconds(5));

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_TEST_HTTP_CLIENT_H_
