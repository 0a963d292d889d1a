#ifndef HALOPSA_TESTS_ADAPTERS_HALOPSA_MOCK_HALO_REQUEST_SENDER_H_
#define HALOPSA_TESTS_ADAPTERS_HALOPSA_MOCK_HALO_REQUEST_SENDER_H_

#include <gmock/gmock.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "adapters/halopsa/halo_request_sender.h"
#include "adapters/halopsa/request_budget.h"

namespace halopsa::testing {

// The layer below the one under test.
class MockHaloRequestSender : public HaloRequestSender {
 public:
  MOCK_METHOD(void, Send, (const CallContext&, HaloRequest, Callback), (override));
};

class MockRequestBudget : public RequestBudget {
 public:
  MOCK_METHOD(void, Reserve, (const std::string&, const std::string&, absl::Time, Reserved), (override));
  MOCK_METHOD(void, PauseUntil, (const std::string&, absl::Time), (override));
};

// Answers a HaloRequestSender::Send with HaloPSA's `status` and `body`.
inline auto AnswerHttp(int status, std::string body = "") {
  return [status, body](const CallContext&, HaloRequest, HaloRequestSender::Callback done) {
    done(HaloAnswer{net::HttpResponse{status, "application/json", body}});
  };
}

// Answers a HaloRequestSender::Send with `failure`, as a layer that did not
// send (`unsent` set) or as the transport.
inline auto AnswerFailure(absl::Status failure, std::optional<AttemptFailure> unsent = std::nullopt) {
  return [failure, unsent](const CallContext&, HaloRequest, HaloRequestSender::Callback done) {
    done(HaloAnswer{failure, unsent});
  };
}

MATCHER_P2(HaloRequestTo, method, url, "") { return arg.method == method && arg.url == url; }

// A call's context on a connection to https://acme.halopsa.com, client "c".
inline CallContext AcmeContext(absl::Time deadline) {
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = "https://acme.halopsa.com";
  connection->auth_url = "https://acme.halopsa.com/auth";  // no discovery
  connection->client_id = "c";
  connection->client_secret = "s";
  return CallContext{connection, deadline, nullptr, ""};
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_ADAPTERS_HALOPSA_MOCK_HALO_REQUEST_SENDER_H_
