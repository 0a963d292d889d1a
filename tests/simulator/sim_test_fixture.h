#ifndef HALOPSA_TESTS_SIMULATOR_SIM_TEST_FIXTURE_H_
#define HALOPSA_TESTS_SIMULATOR_SIM_TEST_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "simulator/halo_simulator.h"
#include "simulator/json.h"
#include "tests/testing/test_http_client.h"

namespace halopsa::sim {

inline constexpr char kFormType[] = "application/x-www-form-urlencoded";
inline constexpr char kGoodForm[] =
    "grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret&scope=all";

inline std::unique_ptr<HaloSimulator> StartSimulator(SimulatorOptions options = {}) {
  absl::StatusOr<std::unique_ptr<HaloSimulator>> simulator = HaloSimulator::Start(options);
  EXPECT_TRUE(simulator.ok()) << simulator.status();
  return simulator.ok() ? *std::move(simulator) : nullptr;
}

// One request on a fresh connection; a transport failure fails the test and
// comes back as status 0.
inline testing::TestResponse Call(int port, bool tls, const std::string& method,
                                  const std::string& target, const std::string& body = "",
                                  const testing::TestHeaders& headers = {}) {
  absl::StatusOr<testing::TestResponse> response =
      testing::Fetch(port, tls, method, target, body, headers);
  EXPECT_TRUE(response.ok()) << method << " " << target << ": " << response.status();
  return response.ok() ? *std::move(response) : testing::TestResponse();
}

inline testing::TestResponse RequestToken(const HaloSimulator& simulator, const std::string& form,
                                          const std::string& query = "") {
  return Call(simulator.port(), absl::StartsWith(simulator.base_url(), "https"), "POST",
              "/auth/token" + query, form, {{"Content-Type", kFormType}});
}

inline Value Json(const testing::TestResponse& response) {
  absl::StatusOr<Value> parsed = ParseJson(response.body);
  EXPECT_TRUE(parsed.ok()) << "not JSON: " << response.body;
  return parsed.ok() ? *std::move(parsed) : NullValue();
}

// Accessors that fail the test (not crash) on a missing field.
inline Value Get(const Value& object, const std::string& key) {
  const Value* field = object.has_struct_value() ? Field(object.struct_value(), key) : nullptr;
  EXPECT_NE(field, nullptr) << "no field " << key << " in " << ToJson(object);
  return field != nullptr ? *field : NullValue();
}
inline double Number(const Value& object, const std::string& key) {
  return Get(object, key).number_value();
}
inline std::string Text(const Value& object, const std::string& key) {
  return Get(object, key).string_value();
}
inline bool Has(const Value& object, const std::string& key) {
  return object.has_struct_value() && Field(object.struct_value(), key) != nullptr;
}

// The "id" of every object in a JSON array.
inline std::vector<int64_t> Ids(const Value& list) {
  std::vector<int64_t> ids;
  for (const Value& item : list.list_value().values()) {
    ids.push_back(IntField(item.struct_value(), "id").value_or(-1));
  }
  return ids;
}

// A running simulator plus a valid token; Api() calls carry it.
class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    simulator_ = StartSimulator();
    ASSERT_NE(simulator_, nullptr);
    const testing::TestResponse token = RequestToken(*simulator_, kGoodForm);
    ASSERT_EQ(token.status, 200) << token.body;
    token_ = Text(Json(token), "access_token");
  }

  testing::TestResponse Api(const std::string& method, const std::string& target,
                            const std::string& body = "") {
    return Call(simulator_->port(), /*tls=*/false, method, target, body,
                {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
  }
  Value ApiJson(const std::string& method, const std::string& target,
                const std::string& body = "", int expected_status = 200) {
    const testing::TestResponse response = Api(method, target, body);
    EXPECT_EQ(response.status, expected_status) << method << " " << target << ": " << response.body;
    return Json(response);
  }

  std::unique_ptr<HaloSimulator> simulator_;
  std::string token_;
};

}  // namespace halopsa::sim

#endif  // HALOPSA_TESTS_SIMULATOR_SIM_TEST_FIXTURE_H_
