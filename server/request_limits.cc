#include "server/request_limits.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/wire_format_lite.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/error_mapping.h"

namespace halopsa {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

absl::Status Malformed() { return absl::InvalidArgumentError("request is not a valid protobuf message"); }

// Walks the wire format guided by the descriptors, entering only message
// fields; every Value met is one node and one level deeper.
class WireScan {
 public:
  explicit WireScan(const JsonLimits& limits) : limits_(limits) {}

  absl::Status Scan(CodedInputStream& in, const Descriptor& type, size_t depth) {
    while (const uint32_t tag = in.ReadTag()) {
      const FieldDescriptor* field = type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
      if (field == nullptr || field->type() != FieldDescriptor::TYPE_MESSAGE ||
          WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        if (!WireFormatLite::SkipField(&in, tag)) return Malformed();
        continue;
      }
      const Descriptor& child = *field->message_type();
      size_t child_depth = depth;
      if (&child == google::protobuf::Value::descriptor()) {
        if (std::optional<JsonLimitExceeded> exceeded = limits_.Count(++child_depth)) {
          return RequestLimitExceeded(*exceeded);
        }
      }
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return Malformed();
      const CodedInputStream::Limit outer = in.PushLimit(static_cast<int>(length));
      if (absl::Status status = Scan(in, child, child_depth); !status.ok()) return status;
      if (!in.ConsumedEntireMessage()) return Malformed();
      in.PopLimit(outer);
    }
    return absl::OkStatus();
  }

 private:
  JsonLimitCounter limits_;
};

}  // namespace

absl::Status RequestLimitExceeded(const JsonLimitExceeded& exceeded) {
  return WithErrorInfo(
      absl::InvalidArgumentError(absl::StrCat("request exceeds ", exceeded.limit, " (", exceeded.value, ")")),
      kReasonRequestTooLarge, {{"limit", std::string(exceeded.limit)}, {"value", absl::StrCat(exceeded.value)}});
}

absl::Status CheckSerializedRequest(absl::string_view wire, const Descriptor& type, const JsonLimits& limits) {
  if (std::optional<JsonLimitExceeded> exceeded = JsonLimitCounter(limits).CheckBytes(wire.size())) {
    return RequestLimitExceeded(*exceeded);
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()), static_cast<int>(wire.size()));
  WireScan scan(limits);
  if (absl::Status status = scan.Scan(in, type, 0); !status.ok()) return status;
  return in.ConsumedEntireMessage() ? absl::OkStatus() : Malformed();
}

}  // namespace halopsa
