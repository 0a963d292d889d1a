#ifndef HALOPSA_TESTS_INTEGRATION_LC_OVER_HTTP_H_
#define HALOPSA_TESTS_INTEGRATION_LC_OVER_HTTP_H_

#include <string>
#include <utility>

#include "adapters/net/http_server.h"
#include "tests/adapters/limacharlie/lc_test_client.h"
#include "tests/simulator/test_http_client.h"

namespace halopsa::lc::testing {

// LimaCharlie POSTing over HTTP to a gateway on loopback `port`. No answer
// at all (a broken connection) reads as status 0, which LimaCharlie retries.
inline FakeLimaCharlie LimaCharlieAt(int port, std::string signing_secret) {
  return FakeLimaCharlie(std::move(signing_secret), [port](net::ServerRequest request) {
    net::ServerResponse response;
    response.status = 0;
    auto answer =
        halopsa::testing::Fetch(port, /*tls=*/false, request.method, request.target, request.body, request.headers);
    if (!answer.ok()) return response;
    response.status = answer->status;
    response.content_type = answer->Header("Content-Type");
    response.body = answer->body;
    return response;
  });
}

}  // namespace halopsa::lc::testing

#endif  // HALOPSA_TESTS_INTEGRATION_LC_OVER_HTTP_H_
