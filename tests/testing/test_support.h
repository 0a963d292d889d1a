#ifndef HALOPSA_TESTS_TESTING_TEST_SUPPORT_H_
#define HALOPSA_TESTS_TESTING_TEST_SUPPORT_H_

// Small helpers several test binaries share.

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "simulator/halo_simulator.h"

namespace halopsa::testing {

// The test certificates (tests/testdata/certs/).
inline std::string CertPath(const std::string& name) { return std::string(HALOPSA_TESTDATA_DIR "/certs/") + name; }

// halopsa-sim over HTTPS on a free loopback port, with the test CA's
// certificate and these API credentials.
inline absl::StatusOr<std::unique_ptr<sim::HaloSimulator>> StartTlsSimulator(const std::string& client_id,
                                                                            const std::string& client_secret,
                                                                            int threads = 1) {
  sim::SimulatorOptions options;
  options.threads = threads;
  options.tls_cert_file = CertPath("server.pem");
  options.tls_key_file = CertPath("server.key");
  options.client_id = client_id;
  options.client_secret = client_secret;
  return sim::HaloSimulator::Start(options);
}

// Everything written so far to a log captured in a temporary file.
inline std::string ReadCapturedLog(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  return text;
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_TEST_SUPPORT_H_
