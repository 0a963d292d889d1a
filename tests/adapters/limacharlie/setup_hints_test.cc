#include "adapters/limacharlie/setup_hints.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

using ::testing::StartsWith;

TEST(SetupHintsTest, ReasonsAboutTheOrgsConfigurationNameTheSettingAndKeepTheMessageAndCode) {
  struct Case {
    absl::string_view reason;
    absl::string_view hint;
  };
  for (const Case& c : {Case{"UPSTREAM_ADDRESS_REFUSED", "config.instance_url is refused"},
                        Case{"INVALID_INSTANCE_URL", "config.instance_url is not usable"},
                        Case{"UPSTREAM_TLS_FAILED", "config.instance_url did not present a trusted TLS certificate"},
                        Case{"UPSTREAM_UNREACHABLE", "config.instance_url could not be reached"},
                        Case{kReasonTokenRejected, "HaloPSA refused config.client_id/config.client_secret"},
                        Case{kReasonInvalidScope, "HaloPSA refused config.scope"},
                        Case{"UPSTREAM_PERMISSION_DENIED", "the HaloPSA API application lacks a permission"}}) {
    absl::Status hinted = WithSetupHint(WithErrorInfo(absl::FailedPreconditionError("HaloPSA said no"), c.reason));
    EXPECT_EQ(hinted.code(), absl::StatusCode::kFailedPrecondition) << c.reason;
    EXPECT_THAT(std::string(hinted.message()), StartsWith(std::string(c.hint))) << c.reason;
    EXPECT_THAT(std::string(hinted.message()), ::testing::EndsWith(": HaloPSA said no")) << c.reason;
  }
}

TEST(SetupHintsTest, OtherStatusesAreUnchanged) {
  const absl::Status unavailable = WithErrorInfo(absl::UnavailableError("503"), "UPSTREAM_UNAVAILABLE");
  EXPECT_EQ(WithSetupHint(unavailable), unavailable);
  EXPECT_EQ(WithSetupHint(absl::InvalidArgumentError("no ErrorInfo")), absl::InvalidArgumentError("no ErrorInfo"));
}

}  // namespace
}  // namespace halopsa::lc
