#ifndef HALOPSA_TESTS_TESTING_TEST_SUPPORT_H_
#define HALOPSA_TESTS_TESTING_TEST_SUPPORT_H_

// Small helpers several test binaries share.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
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

// The request message written as proto3 JSON in a test; bad JSON fails it.
template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &message).ok()) << json;
  return message;
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

// How many of `objects` (the simulator's tickets or notes) have `text` in
// their string `field`.
inline int CountContaining(const std::vector<google::protobuf::Struct>& objects, const std::string& field,
                           const std::string& text) {
  int count = 0;
  for (const auto& object : objects) {
    auto value = object.fields().find(field);
    if (value != object.fields().end() && absl::StrContains(value->second.string_value(), text)) ++count;
  }
  return count;
}

// The ids of the simulator's assets whose inventory number is `hostname`.
inline std::vector<int> AssetIdsOf(const std::vector<google::protobuf::Struct>& assets, const std::string& hostname) {
  std::vector<int> ids;
  for (const auto& asset : assets) {
    if (asset.fields().at("inventory_number").string_value() == hostname) {
      ids.push_back(static_cast<int>(asset.fields().at("id").number_value()));
    }
  }
  return ids;
}

// Whether the simulator's `ticket` lists asset `asset_id`.
inline bool Links(const google::protobuf::Struct& ticket, int asset_id) {
  auto assets = ticket.fields().find("assets");
  if (assets == ticket.fields().end()) return false;
  for (const auto& asset : assets->second.list_value().values()) {
    if (static_cast<int>(asset.struct_value().fields().at("id").number_value()) == asset_id) return true;
  }
  return false;
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_TESTING_TEST_SUPPORT_H_
