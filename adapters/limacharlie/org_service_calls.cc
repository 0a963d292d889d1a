#include "adapters/limacharlie/org_service_calls.h"

#include <google/protobuf/message.h>

#include <optional>
#include <string>
#include <utility>

#include "adapters/halopsa/halo_errors.h"
#include "server/error_mapping.h"

namespace halopsa::lc {
namespace {

// ErrorInfo reasons meaning HaloPSA refused the credentials.
constexpr absl::string_view kCredentialRejections[] = {kReasonTokenRejected, "UPSTREAM_UNAUTHENTICATED"};

std::shared_ptr<const std::vector<ConnectionSetting>> SettingsOf(const std::shared_ptr<const OrgCall>& call) {
  return std::shared_ptr<const std::vector<ConnectionSetting>>(call, &call->settings);
}

}  // namespace

bool IsCredentialRejection(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) return false;
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (!info) return false;
  for (absl::string_view rejection : kCredentialRejections) {
    if (info->reason() == rejection) return true;
  }
  return false;
}

void OrgServiceCalls::Call(std::shared_ptr<const OrgCall> call, const google::protobuf::MethodDescriptor& method,
                           std::shared_ptr<const google::protobuf::Message> request, ServiceCalls::Callback done) {
  Attempt(std::move(call), method, std::move(request), /*first=*/true, std::move(done));
}

void OrgServiceCalls::Attempt(std::shared_ptr<const OrgCall> call, const google::protobuf::MethodDescriptor& method,
                              std::shared_ptr<const google::protobuf::Message> request, bool first,
                              ServiceCalls::Callback done) {
  const OrgCall& org_call = *call;
  credentials_.Resolve(
      org_call.org, SettingsOf(call), org_call.deadline,
      [this, call, &method, request, first,
       done = std::move(done)](absl::StatusOr<ServiceCalls::Metadata> metadata) mutable {
        if (!metadata.ok()) return done(metadata.status());
        metadata->insert(metadata->end(), call->metadata.begin(), call->metadata.end());
        service_.Call(
            method, request, *metadata, call->deadline,
            [this, call, &method, request, first,
             done = std::move(done)](absl::StatusOr<std::unique_ptr<google::protobuf::Message>> response) mutable {
              if (first && !response.ok() && IsCredentialRejection(response.status()) &&
                  credentials_.ForgetHiveSecrets(call->org.oid, call->settings)) {
                return Attempt(std::move(call), method, std::move(request), /*first=*/false, std::move(done));
              }
              done(std::move(response));
            });
      });
}

}  // namespace halopsa::lc
