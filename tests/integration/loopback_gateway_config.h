#ifndef HALOPSA_TESTS_INTEGRATION_LOOPBACK_GATEWAY_CONFIG_H_
#define HALOPSA_TESTS_INTEGRATION_LOOPBACK_GATEWAY_CONFIG_H_

#include <cstdio>
#include <string>

#include "app/server_app.h"
#include "tests/testing/test_support.h"

namespace halopsa::testing {

// halopsa-server's wiring as the gateway suites run it in process: gRPC in
// plaintext and the gateway on loopback port 0, the test CA trusted, the
// simulator on loopback allowed, errors only logged to `log`, no hive
// secrets (LimaCharlie's API unreachable).
inline ServerConfig LoopbackGatewayConfig(std::FILE* log, std::string signing_secret) {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.grpc_plaintext = true;  // loopback only
  config.log_output = log;
  config.log_level = LogLevel::kError;
  config.transport.extra_ca_file = CertPath("ca.pem");
  config.transport.allow_private_addresses = true;  // the simulator is on loopback
  config.gateway_listen = "127.0.0.1:0";
  config.gateway.signing_secret = std::move(signing_secret);
  config.gateway.lc_api_url = "http://127.0.0.1:1";
  return config;
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_INTEGRATION_LOOPBACK_GATEWAY_CONFIG_H_
