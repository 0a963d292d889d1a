#ifndef HALOPSA_TESTS_TESTING_LC_TEST_CLIENT_H_
#define HALOPSA_TESTS_TESTING_LC_TEST_CLIENT_H_

// Behaves like LimaCharlie's extension manager: builds each kind of request
// envelope, signs the JSON bytes, gzips them, and reads the response
// envelope. Delivery is pluggable: straight into Gateway::Handle in unit
// tests, over HTTP in integration tests.

#include <rapidjson/document.h>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "adapters/net/http_server.h"

namespace halopsa::lc {
class Gateway;
}  // namespace halopsa::lc

namespace halopsa::lc::testing {

using Config = std::map<std::string, std::string>;

struct TestOrg {
  std::string oid = "8cbe27f4-bfa1-4afb-ba19-138cd51389cd";
  std::string jwt = "org-jwt-1";
  std::string ident = "analyst@example.com";
};

std::string HeartbeatEnvelope();
std::string SchemaRequestEnvelope();
std::string ErrorReportEnvelope(absl::string_view error, absl::string_view oid);
std::string ConfValidationEnvelope(const TestOrg& org, const Config& conf);
// `data_json`: the action's parameters as JSON text.
std::string RequestEnvelope(const TestOrg& org, absl::string_view action, absl::string_view data_json,
                            const Config& config, absl::string_view idempotency_key = "");
std::string EventEnvelope(const TestOrg& org, absl::string_view event_name, const Config& config);

struct SendOptions {
  bool gzip = true;
  bool sign = true;
  std::optional<std::string> signature;  // sent instead of the right one
};
SendOptions Unsigned();
SendOptions Uncompressed();
SendOptions SignedWith(std::string signature);

// A parsed answer.
struct Reply {
  int status = 0;
  std::string body;
  rapidjson::Document json;  // null when the body is not JSON

  bool has_error() const;
  std::string error() const;  // "" when none
  std::optional<bool> retriable() const;
  const rapidjson::Value& data() const;  // the envelope's data ({} when absent)
};

class FakeLimaCharlie {
 public:
  using Deliver = std::function<net::ServerResponse(net::ServerRequest)>;

  FakeLimaCharlie(std::string signing_secret, Deliver deliver)
      : signing_secret_(std::move(signing_secret)), deliver_(std::move(deliver)) {}

  // The POST LimaCharlie would send for `envelope`.
  net::ServerRequest Build(const std::string& envelope, const SendOptions& options = {}) const;
  Reply Send(const std::string& envelope, const SendOptions& options = {}) const;

 private:
  std::string signing_secret_;
  Deliver deliver_;
};

// Hands the request to the gateway and waits (bounded) for its answer;
// status 0 if none came.
net::ServerResponse HandleAndWait(Gateway& gateway, net::ServerRequest request);

Reply ParseReply(net::ServerResponse response);

// JSON text of `value`.
std::string Json(const rapidjson::Value& value);

}  // namespace halopsa::lc::testing

#endif  // HALOPSA_TESTS_TESTING_LC_TEST_CLIENT_H_
