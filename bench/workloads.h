#ifndef HALOPSA_BENCH_WORKLOADS_H_
#define HALOPSA_BENCH_WORKLOADS_H_

// What the benchmark asks of each action: a typical steady-state call, and
// the calls whose upstream requests it counts against the targets.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/net/http_transport.h"
#include "google/protobuf/message.h"

namespace halopsa::bench {

// Calls whose upstream requests are counted one by one.
struct CountCase {
  std::string label;
  // The JSON data of call `seq`; seq starts at a different offset per path
  // so that paths do not share tickets.
  std::function<std::string(int64_t seq)> data;
  int expected_upstream;  // target: upstream requests per call
  bool at_most;           // the target is "at most", not "exactly"
};

struct Workload {
  std::string action;  // as in LimaCharlie requests, e.g. "create_ticket"
  std::string grpc_method;  // "/halopsa.v1.HaloPsaService/CreateTicket"
  const google::protobuf::Message* request_prototype;
  std::string data;  // the steady-state call's JSON data
  // The JSON data of the measured phases' call `seq`; empty = always `data`.
  std::function<std::string(int64_t seq)> measured_data;
  // JSON data the service refuses before any HaloPSA work (its cost floor);
  // empty = not measured.
  std::string refused_data;
  std::vector<CountCase> counts;
};

// The six actions, in the product page's order.
const std::vector<Workload>& Workloads();

// The serialized gRPC request for `data_json` (proto3 JSON).
absl::StatusOr<std::string> SerializeRequest(const Workload& workload, absl::string_view data_json);

// Signed LimaCharlie request envelopes for one action, with a fresh
// idempotency key per call (the gateway answers repeated keys from memory).
class EnvelopeSigner {
 public:
  // `config` is the org's extension configuration (instance_url, ...).
  EnvelopeSigner(std::string gateway_url, std::string secret, const std::map<std::string, std::string>& config);

  net::HttpRequest Request(absl::string_view action, absl::string_view data_json, absl::string_view key) const;

 private:
  const std::string url_;
  const std::string secret_;
  std::string config_json_;
};

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_WORKLOADS_H_
