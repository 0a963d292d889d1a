#ifndef HALOPSA_TESTS_TESTING_LOOPBACK_STACK_H_
#define HALOPSA_TESTS_TESTING_LOOPBACK_STACK_H_

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "app/server_app.h"
#include "google/protobuf/struct.pb.h"
#include "simulator/halo_simulator.h"
#include "tests/testing/test_support.h"

namespace halopsa::testing {

// The set-up and teardown the in-process integration suites share: the
// simulator over loopback TLS and the real server (gRPC, and the gateway
// when its config has one), all on port 0, torn down in the order that lets
// the simulator stop (the server first: it holds pooled connections to it).
// `Base` is ::testing::Test or a ::testing::TestWithParam<>.
template <typename Base = ::testing::Test>
class LoopbackStackTest : public Base {
 protected:
  ~LoopbackStackTest() override { std::fclose(log_); }

  void TearDown() override {
    app_.reset();
    if (sim_) sim_->Shutdown();
  }

  // halopsa-sim with the test CA's certificate and these API credentials.
  ::testing::AssertionResult StartSimulator(const std::string& client_id, const std::string& client_secret,
                                            int threads = 1) {
    auto simulator = StartTlsSimulator(client_id, client_secret, threads);
    if (!simulator.ok()) return ::testing::AssertionFailure() << "the simulator did not start: " << simulator.status();
    sim_ = *std::move(simulator);
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult StartServer(const ServerConfig& config) {
    auto app = ServerApp::Start(config);
    if (!app.ok()) return ::testing::AssertionFailure() << "the server did not start: " << app.status();
    app_ = *std::move(app);
    return ::testing::AssertionSuccess();
  }

  // The simulator's ticket `id`; a missing one fails the test and reads as
  // an empty ticket.
  google::protobuf::Struct TicketInHalo(int id) const {
    std::optional<google::protobuf::Struct> ticket = sim_->ticket(id);
    if (!ticket.has_value()) ADD_FAILURE() << "HaloPSA has no ticket " << id;
    return ticket.value_or(google::protobuf::Struct());
  }

  // The server's JSON lines, kept out of the test output (ReadCapturedLog).
  std::FILE* log_ = std::tmpfile();
  std::unique_ptr<sim::HaloSimulator> sim_;
  std::unique_ptr<ServerApp> app_;
};

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_LOOPBACK_STACK_H_
