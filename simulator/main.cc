// halopsa-sim: serves the in-memory HaloPSA until SIGINT or SIGTERM.

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "simulator/faults.h"
#include "simulator/halo_simulator.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port to listen on; port 0 picks a free one");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain; with --tls_key, serve HTTPS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::string, client_id, "sim-client", "OAuth2 client id /auth/token accepts");
ABSL_FLAG(std::string, client_secret, "sim-secret", "OAuth2 client secret /auth/token accepts");
ABSL_FLAG(std::string, tenant, "", "when set, /auth/token requires ?tenant=<this>");
ABSL_FLAG(bool, hosted_auth, false,
          "Halo-hosted: tokens only from a separate auth listener, which GET /api/authinfo names");
ABSL_FLAG(std::string, auth_listen, "127.0.0.1:0", "host:port of the auth listener with --hosted_auth");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Hours(1), "lifetime of issued access tokens");
ABSL_FLAG(int, threads, 1, "server threads");
ABSL_FLAG(std::string, faults, "",
          "faults to inject from the start, as the JSON POST /_sim/faults takes, e.g. "
          "'{\"seed\": 7, \"error_before_probability\": 0.2}'; empty = none");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("halopsa-sim: an in-memory HaloPSA for local runs and tests (never for production).");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "simulator/main.cc"); };
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);

  // Blocked before any thread starts, so all threads inherit the mask and
  // the signals reach only the sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  halopsa::sim::SimulatorOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.client_id = absl::GetFlag(FLAGS_client_id);
  options.client_secret = absl::GetFlag(FLAGS_client_secret);
  options.tenant = absl::GetFlag(FLAGS_tenant);
  options.hosted_auth = absl::GetFlag(FLAGS_hosted_auth);
  options.auth_listen = absl::GetFlag(FLAGS_auth_listen);
  options.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  options.threads = absl::GetFlag(FLAGS_threads);

  absl::StatusOr<std::unique_ptr<halopsa::sim::HaloSimulator>> simulator =
      halopsa::sim::HaloSimulator::Start(options);
  if (!simulator.ok()) {
    std::cerr << "halopsa-sim: " << simulator.status() << std::endl;
    return 1;
  }
  if (const std::string faults = absl::GetFlag(FLAGS_faults); !faults.empty()) {
    absl::StatusOr<halopsa::sim::FaultConfig> config = halopsa::sim::ParseFaultConfig(faults);
    const absl::Status set =
        config.ok() ? (*simulator)->SetFaults(*std::move(config)) : config.status();
    if (!set.ok()) {
      std::cerr << "halopsa-sim: --faults: " << set << std::endl;
      return 1;
    }
  }
  std::cout << "halopsa-sim listening on " << (*simulator)->base_url() << std::endl;
  if (options.hosted_auth) std::cout << "halopsa-sim auth server at " << (*simulator)->auth_url() << std::endl;

  int received = 0;
  sigwait(&stop_signals, &received);
  (*simulator)->Shutdown();
  return 0;
}
