#ifndef HALOPSA_SERVER_PAGED_LIST_H_
#define HALOPSA_SERVER_PAGED_LIST_H_

#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/halo_api.h"

namespace halopsa {

// HaloPSA serves at most this many list items per request.
inline constexpr int kHaloMaxPageSize = 100;

// One page of a HaloPSA list endpoint, as the caller asked for it.
struct PageRequest {
  std::string path;       // e.g. "/api/Tickets"
  HaloApi::Query filters; // endpoint filters; paging parameters are added here
  std::string list_key;   // e.g. "tickets"
  int page_size = 50;
  int page_no = 1;        // 1-based
};

struct Page {
  int record_count = 0;  // matches across all pages, as HaloPSA counts them
  std::vector<google::protobuf::Struct> items;
};

// Fetches one page, always with `pageinate=true` and an explicit `page_no`
// (without both Halo ignores paging). A page_size above Halo's cap of 100 is
// assembled from consecutive upstream pages, so the caller never silently
// gets fewer items than exist.
void FetchPage(HaloApi& api, const CallContext& context, PageRequest request,
               absl::AnyInvocable<void(absl::StatusOr<Page>)> done);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_PAGED_LIST_H_
