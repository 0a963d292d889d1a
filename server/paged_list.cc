#include "server/paged_list.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/error_mapping.h"
#include "server/json_values.h"

namespace halopsa {
namespace {

using google::protobuf::Value;

absl::Status BadList(const PageRequest& request) {
  return WithErrorInfo(absl::UnavailableError(absl::StrCat("HaloPSA ", request.path, " answered without a \"",
                                                           request.list_key, "\" list")),
                       kReasonUpstreamBadResponse, {{"endpoint", request.path}});
}

// Walks consecutive upstream pages until the requested window is filled or
// the list ends. Owns itself through the callbacks it passes upstream.
class PageAssembler : public std::enable_shared_from_this<PageAssembler> {
 public:
  PageAssembler(HaloApi& api, CallContext context, PageRequest request,
                absl::AnyInvocable<void(absl::StatusOr<Page>)> done)
      : api_(api), context_(std::move(context)), request_(std::move(request)), done_(std::move(done)) {
    upstream_page_size_ = std::min(request_.page_size, kHaloMaxPageSize);
    // 64-bit: the window's position can pass INT_MAX for large page numbers.
    int64_t first_item = static_cast<int64_t>(request_.page_no - 1) * request_.page_size;
    next_upstream_page_ = first_item / upstream_page_size_ + 1;
    skip_ = static_cast<int>(first_item % upstream_page_size_);
  }

  void FetchNext() {
    HaloApi::Query query = request_.filters;
    query.emplace_back("pageinate", "true");
    query.emplace_back("page_size", absl::StrCat(upstream_page_size_));
    query.emplace_back("page_no", absl::StrCat(next_upstream_page_));
    api_.Get(context_, request_.path, std::move(query),
             [self = shared_from_this()](absl::StatusOr<Value> answer) { self->OnPage(std::move(answer)); });
  }

 private:
  void OnPage(absl::StatusOr<Value> answer) {
    if (!answer.ok()) return done_(answer.status());
    if (answer->kind_case() != Value::kStructValue) return done_(BadList(request_));
    auto& fields = *answer->mutable_struct_value()->mutable_fields();
    auto list = fields.find(request_.list_key);
    if (list == fields.end() || list->second.kind_case() != Value::kListValue) return done_(BadList(request_));

    auto* values = list->second.mutable_list_value()->mutable_values();
    int received = values->size();
    for (int i = skip_; i < received && static_cast<int>(page_.items.size()) < request_.page_size; ++i) {
      if ((*values)[i].kind_case() != Value::kStructValue) return done_(BadList(request_));
      page_.items.push_back(std::move(*(*values)[i].mutable_struct_value()));
    }
    skip_ = 0;
    page_.record_count = IntField(answer->struct_value(), "record_count").value_or(received);

    int64_t covered = next_upstream_page_ * upstream_page_size_;
    bool list_ended = received < upstream_page_size_ || covered >= page_.record_count;
    if (static_cast<int>(page_.items.size()) >= request_.page_size || list_ended) {
      return done_(std::move(page_));
    }
    ++next_upstream_page_;
    FetchNext();
  }

  HaloApi& api_;
  const CallContext context_;
  const PageRequest request_;
  absl::AnyInvocable<void(absl::StatusOr<Page>)> done_;
  int upstream_page_size_;
  int64_t next_upstream_page_;
  int skip_;
  Page page_;
};

}  // namespace

void FetchPage(HaloApi& api, const CallContext& context, PageRequest request,
               absl::AnyInvocable<void(absl::StatusOr<Page>)> done) {
  std::make_shared<PageAssembler>(api, context, std::move(request), std::move(done))->FetchNext();
}

}  // namespace halopsa
