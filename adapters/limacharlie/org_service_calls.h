#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_ORG_SERVICE_CALLS_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_ORG_SERVICE_CALLS_H_

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "adapters/limacharlie/credential_resolver.h"
#include "adapters/limacharlie/envelope.h"
#include "adapters/limacharlie/org_config.h"
#include "server/service_calls.h"

namespace google::protobuf {
class Message;
class MethodDescriptor;
}  // namespace google::protobuf

namespace halopsa::lc {

// What a call on an org's own HaloPSA connection needs besides the request.
struct OrgCall {
  Org org;
  std::vector<ConnectionSetting> settings;  // the org's configured connection
  ServiceCalls::Metadata metadata;          // sent after the connection's (org id, request id...)
  absl::Time deadline;                      // bounds the hive reads and the calls
};

// HaloPsaService calls on an org's own connection, with the rotation retry:
// when HaloPSA refuses credentials read from the hive, the secret may have
// been rotated since it was cached, so the secrets are read again and the
// call is made once more. Literal credentials are never retried.
// Thread-safe.
class OrgServiceCalls {
 public:
  // Both must outlive every call started here.
  OrgServiceCalls(ServiceCalls& service, CredentialResolver& credentials)
      : service_(service), credentials_(credentials) {}

  // Calls `method` with the org's credentials; `done` runs exactly once
  // with the response or the first failure (of the hive reads or of the
  // last attempt).
  void Call(std::shared_ptr<const OrgCall> call, const google::protobuf::MethodDescriptor& method,
            std::shared_ptr<const google::protobuf::Message> request, ServiceCalls::Callback done);

 private:
  void Attempt(std::shared_ptr<const OrgCall> call, const google::protobuf::MethodDescriptor& method,
               std::shared_ptr<const google::protobuf::Message> request, bool first, ServiceCalls::Callback done);

  ServiceCalls& service_;
  CredentialResolver& credentials_;
};

// HaloPSA refused the credentials (the token request or a call with its
// token): what a rotated secret causes.
bool IsCredentialRejection(const absl::Status& status);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_ORG_SERVICE_CALLS_H_
