#include "adapters/halopsa/metered_sender.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace halopsa {

void MeteredSender::Send(const CallContext& context, HaloRequest request, Callback done) {
  std::string endpoint = request.endpoint;
  next_.Send(context, std::move(request),
             [this, stats = context.stats, endpoint = std::move(endpoint), done = std::move(done)](
                 HaloAnswer answer) mutable {
               if (stats) stats->upstream_requests.fetch_add(1, std::memory_order_relaxed);
               if (metrics_ != nullptr) {
                 const int http_status = answer.response.ok() ? answer.response->status : 0;
                 metrics_->upstream_requests.With({EndpointLabel(endpoint), absl::StrCat(http_status)}).Increment();
               }
               done(std::move(answer));
             });
}

std::string EndpointLabel(absl::string_view path) {
  std::vector<std::string> segments = absl::StrSplit(path, '/');
  for (std::string& segment : segments) {
    if (!segment.empty() && std::all_of(segment.begin(), segment.end(), absl::ascii_isdigit)) segment = "{id}";
  }
  return absl::StrJoin(segments, "/");
}

}  // namespace halopsa
