#ifndef HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_MOCK_REPLY_CACHE_H_
#define HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_MOCK_REPLY_CACHE_H_

#include <gmock/gmock.h>

#include "adapters/limacharlie/reply_cache.h"

namespace halopsa::lc::testing {

class MockReplyCache : public ReplyCache {
 public:
  MOCK_METHOD(void, Join, (const Key& key, absl::Time deadline, Waiter waiter, Run run), (override));
  MOCK_METHOD(void, Finish, (const Key& key, const net::ServerResponse& reply, bool remember), (override));
};

}  // namespace halopsa::lc::testing

#endif  // HALOPSA_TESTS_ADAPTERS_LIMACHARLIE_MOCK_REPLY_CACHE_H_
