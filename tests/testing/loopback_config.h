#ifndef HALOPSA_TESTS_TESTING_LOOPBACK_CONFIG_H_
#define HALOPSA_TESTS_TESTING_LOOPBACK_CONFIG_H_

// halopsa-server's configuration as the in-process suites run it: every
// listener on a free loopback port, the test CA trusted, the simulator on
// loopback allowed.

#include <cstdio>
#include <memory>
#include <string>

#include "app/server_app.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/test_support.h"

namespace halopsa::testing {

// The real server's configuration for a test: plaintext gRPC on a free
// loopback port, no admin listener, logs to `log`, and the simulator
// (loopback TLS, the test CA) as its default connection.
inline ServerConfig LoopbackServerConfig(const sim::HaloSimulator& sim, const std::string& client_id,
                                         const std::string& client_secret, std::FILE* log) {
  auto connection = std::make_shared<HaloConnection>();
  connection->instance_url = sim.base_url();
  connection->client_id = client_id;
  connection->client_secret = client_secret;
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.grpc_plaintext = true;
  config.admin_listen = "";
  config.log_output = log;
  config.default_connection = std::move(connection);
  config.transport.extra_ca_file = CertPath("ca.pem");
  config.transport.allow_private_addresses = true;  // the simulator is on loopback
  return config;
}

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

#endif  // HALOPSA_TESTS_TESTING_LOOPBACK_CONFIG_H_
