#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_REQUEST_TRANSLATION_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_REQUEST_TRANSLATION_H_

// Between an action's envelope `data` and its HaloPsaService messages.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/limacharlie/actions.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace halopsa::lc {

// The action's request message from `data_json` (a JSON object with the
// product page's field names). D&R templates render strings, so integer
// fields also take "12" and bool fields "true"/"false"; null means absent.
// INVALID_ARGUMENT (ErrorInfo INVALID_FIELD) names the offending field: an
// unknown one with the closest known name, a wrong type with what is
// expected. Required fields are left for the service to check.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> RequestFromData(const ActionSpec& action,
                                                                           absl::string_view data_json);

// The envelope `data` (a JSON object) for the action's `response` to
// `request`, in the product page's shape (see ResultShape).
absl::StatusOr<std::string> ResultData(const ActionSpec& action, const google::protobuf::Message& request,
                                       const google::protobuf::Message& response);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_REQUEST_TRANSLATION_H_
