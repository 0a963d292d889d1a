#ifndef HALOPSA_TESTS_TESTING_LOOPBACK_STACK_H_
#define HALOPSA_TESTS_TESTING_LOOPBACK_STACK_H_

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
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

  // The server ends its calls in flight within its shutdown grace, or by
  // their deadlines. One that never ends (a bug, say a token request that
  // never answers) fails the test after `stop_bound_`, and the server and
  // simulator are left behind so that the tests after it still run.
  void TearDown() override {
    if (app_ != nullptr && !DestroyedWithin(std::move(app_), stop_bound_)) {
      ADD_FAILURE() << "the server did not stop within " << absl::FormatDuration(stop_bound_)
                    << "; it and the simulator are left running";
      (void)sim_.release();
      return;
    }
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
    stop_bound_ = config.shutdown_grace + absl::Seconds(10);
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

 private:
  // Destroys `app` on a thread of its own; false when that did not end
  // within `bound` (the thread then goes on alone).
  static bool DestroyedWithin(std::unique_ptr<ServerApp> app, absl::Duration bound) {
    auto destroyed = std::make_shared<absl::Notification>();
    std::thread([app = std::move(app), destroyed]() mutable {
      app.reset();
      destroyed->Notify();
    }).detach();
    return destroyed->WaitForNotificationWithTimeout(bound);
  }

  absl::Duration stop_bound_ = absl::Seconds(30);
};

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_LOOPBACK_STACK_H_
