// What the service reads from HaloPSA, on arbitrary bodies: the JSON parser
// and printer, Halo's error texts and statuses, the created object of a
// create or update, and the paged list assembler.
// Input: 7 header bytes, then the body. The header chooses the HTTP status
// of the error answer (byte 0: 400 + byte % 200), page_size (bytes 1-2) and
// page_no (bytes 3-6) of the list request.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "adapters/halopsa/halo_errors.h"
#include "fuzz/fuzz_check.h"
#include "server/error_mapping.h"
#include "server/halo_api.h"
#include "server/halo_payloads.h"
#include "server/json_values.h"
#include "server/paged_list.h"
#include "server/request_validation.h"

namespace halopsa {
namespace {

using google::protobuf::Value;

// HaloErrorText's bound plus the "…" (3 bytes) it appends.
constexpr size_t kMaxErrorTextBytes = 512 + 3;

// Printing and parsing again gives the same value. Numbers are compared
// to 1e-12 relative: RapidJSON's fast (not full-precision) parser may round
// a long decimal differently from the shortest form it is printed back as.
void CheckRoundTrip(const Value& value) {
  const std::string text = ToJson(value);
  absl::StatusOr<Value> reparsed = ParseJson(text);
  FUZZ_CHECK(reparsed.ok());
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_float_comparison(google::protobuf::util::DefaultFieldComparator::APPROXIMATE);
  comparator.SetDefaultFractionAndMargin(1e-12, 0.0);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  FUZZ_CHECK(differencer.Compare(value, *reparsed));
}

void CheckErrors(absl::string_view body, int http_status) {
  const std::string text = HaloErrorText(body);
  FUZZ_CHECK(text.size() <= kMaxErrorTextBytes);
  for (char c : text) FUZZ_CHECK(!absl::ascii_iscntrl(static_cast<unsigned char>(c)));

  const absl::Status status = FromHaloHttpStatus(http_status, "/api/Tickets", body);
  FUZZ_CHECK(!status.ok());
  FUZZ_CHECK(GetErrorInfo(status).has_value());
  const absl::Status back = FromGrpcStatus(ToGrpcStatus(status));
  FUZZ_CHECK(back.code() == status.code() && back.message() == status.message());
  FUZZ_CHECK(GetErrorInfo(back).has_value() && GetErrorInfo(back)->reason() == GetErrorInfo(status)->reason());
}

void CheckSingleObject(const Value& answer) {
  const bool one_element_list = answer.has_list_value() && answer.list_value().values_size() == 1;
  const Value& object = one_element_list ? answer.list_value().values(0) : answer;
  absl::StatusOr<google::protobuf::Struct> single = SingleObject(answer, "ticket");
  FUZZ_CHECK(single.ok() == object.has_struct_value());
  if (single.ok()) FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*single, object.struct_value()));
  if (!single.ok()) FUZZ_CHECK(single.status().code() == absl::StatusCode::kUnavailable);
}

// Answers every list request with the same body, after the call returned
// (as HaloApi promises), and checks what the assembler asks for.
class FakeHaloApi : public HaloApi {
 public:
  explicit FakeHaloApi(Value answer) : answer_(std::move(answer)) {}

  void Get(const CallContext& context, std::string path, Query query, Callback done) override {
    int page_size = 0;
    int64_t page_no = 0;
    for (const auto& [key, value] : query) {
      if (key == "page_size") FUZZ_CHECK(absl::SimpleAtoi(value, &page_size));
      if (key == "page_no") FUZZ_CHECK(absl::SimpleAtoi(value, &page_no));
    }
    FUZZ_CHECK(page_size >= 1 && page_size <= kHaloMaxPageSize);
    FUZZ_CHECK(page_no >= 1);
    ++gets_;
    pending_.push_back(std::move(done));
  }

  void Post(const CallContext& context, std::string path, Value body, Callback done) override {
    FUZZ_CHECK(false);  // listing never writes
  }

  // Runs the callbacks until no more requests come.
  void Drain() {
    while (!pending_.empty()) {
      Callback done = std::move(pending_.front());
      pending_.pop_front();
      done(answer_);
    }
  }

  int gets() const { return gets_; }

 private:
  const Value answer_;
  std::deque<Callback> pending_;
  int gets_ = 0;
};

void CheckPage(const Value& answer, int page_size, int page_no) {
  PageRequest request;
  request.path = "/api/Tickets";
  request.list_key = "tickets";
  request.page_size = page_size;
  request.page_no = page_no;
  FakeHaloApi api(answer);
  int calls = 0;
  FetchPage(api, CallContext(), std::move(request), [&](absl::StatusOr<Page> page) {
    ++calls;
    if (page.ok()) FUZZ_CHECK(static_cast<int>(page->items.size()) <= page_size);
  });
  api.Drain();
  FUZZ_CHECK(calls == 1);
  // Whole upstream pages, plus one when the window straddles two.
  FUZZ_CHECK(api.gets() <= page_size / kHaloMaxPageSize + 2);
}

void Run(absl::string_view input) {
  constexpr size_t kHeaderBytes = 7;
  if (input.size() < kHeaderBytes) return;
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(input[i])); };
  const int http_status = 400 + static_cast<int>(byte(0) % 200);
  // Every paging request validation lets through: 1..kMaxPageSize, page_no >= 1.
  const int page_size = 1 + static_cast<int>((byte(1) << 8 | byte(2)) % kMaxPageSize);
  const int page_no = 1 + static_cast<int>((byte(3) << 24 | byte(4) << 16 | byte(5) << 8 | byte(6)) % 0x7fffffffu);
  const absl::string_view body = input.substr(kHeaderBytes);

  CheckErrors(body, http_status);
  absl::StatusOr<Value> value = ParseJson(body);
  if (!value.ok()) {
    FUZZ_CHECK(value.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  CheckRoundTrip(*value);
  CheckSingleObject(*value);
  CheckPage(*value, page_size, page_no);
}

}  // namespace
}  // namespace halopsa

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  halopsa::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
