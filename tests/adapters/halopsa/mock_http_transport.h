#ifndef HALOPSA_TESTS_ADAPTERS_HALOPSA_MOCK_HTTP_TRANSPORT_H_
#define HALOPSA_TESTS_ADAPTERS_HALOPSA_MOCK_HTTP_TRANSPORT_H_

#include <gmock/gmock.h>

#include "adapters/net/http_transport.h"

namespace halopsa::testing {

class MockHttpTransport : public net::HttpTransport {
 public:
  MOCK_METHOD(void, Send, (net::HttpRequest, absl::Time, Callback), (override));
};

// Answers a Send with status and body.
inline auto Respond(int status, std::string body) {
  return [status, body](net::HttpRequest, absl::Time, net::HttpTransport::Callback done) {
    done(net::HttpResponse{status, "application/json", body});
  };
}

MATCHER_P2(RequestTo, method, url, "") { return arg.method == method && arg.url == url; }

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_ADAPTERS_HALOPSA_MOCK_HTTP_TRANSPORT_H_
