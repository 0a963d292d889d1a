#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_ACTIONS_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_ACTIONS_H_

// The eight extension actions: which HaloPsaService method each calls, how
// its answer is shaped, and the product page's words for it and its fields.
// Field names and types come from the proto descriptors; this table only
// adds what the descriptors cannot say.

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace google::protobuf {
class MethodDescriptor;
}  // namespace google::protobuf

namespace halopsa::lc {

// The product page's description of one request or response field.
struct FieldDoc {
  absl::string_view name;  // the proto field name (of the request, or of the response message)
  absl::string_view label;
  absl::string_view description;
  absl::string_view default_json = "";  // JSON value; "" when the page states no default
  bool required = false;
};

// How a response message becomes the envelope's `data`.
enum class ResultShape {
  // The object in the response field `result_object`, with the response's
  // scalar fields (its ids) set in it: the ticket, the action.
  kObject,
  // The whole message, every field present (empty lists as []).
  kMessage,
  // Like kMessage, but of the repeated message fields only the one named
  // after the request's `type` value plus "s" (client -> clients).
  kListByType,
};

struct ActionSpec {
  absl::string_view name;    // LimaCharlie action name, e.g. "create_ticket"
  absl::string_view method;  // HaloPsaService method name, e.g. "CreateTicket"
  absl::string_view label;
  absl::string_view short_description;
  absl::string_view long_description;
  absl::Span<const FieldDoc> fields;
  ResultShape result;
  absl::string_view result_object = "";  // kObject only
  // The members of a successful answer's `data`, each named after a field of
  // the response message (its type comes from there); `required` marks the
  // one every answer carries. kObject: the response's scalar fields set in
  // the object (the object's other members are HaloPSA's own).
  absl::Span<const FieldDoc> response_fields;
  // Changes something in HaloPSA: coordinated between replicas, and deferred
  // (a continuation) rather than failed when the request budget is short.
  bool writes = false;
};

absl::Span<const ActionSpec> Actions();

// The action named `name`, or null. Actions() only; the hidden action that
// runs deferred requests is deferral.h's.
const ActionSpec* FindAction(absl::string_view name);

// The documentation of `field`, or null.
const FieldDoc* FindFieldDoc(const ActionSpec& action, absl::string_view field);

// The HaloPsaService method the action calls (exists for every entry of
// Actions(); tested).
const google::protobuf::MethodDescriptor& MethodOf(const ActionSpec& action);

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_ACTIONS_H_
