#ifndef HALOPSA_TESTS_SERVER_MOCK_SHARED_STATE_H_
#define HALOPSA_TESTS_SERVER_MOCK_SHARED_STATE_H_

#include <string>

#include <gmock/gmock.h>

#include "server/idempotent_create.h"
#include "server/link_locks.h"

namespace halopsa::testing {

class MockOutcomeJournal : public UnknownOutcomeJournal {
 public:
  MOCK_METHOD(void, Begin, (const std::string&, absl::Time, Checked), (override));
  MOCK_METHOD(void, Add, (const std::string&), (override));
  MOCK_METHOD(void, Remove, (const std::string&), (override));
};

class MockLinkLocks : public LinkLocks {
 public:
  MOCK_METHOD(void, Acquire, (const std::string&, absl::Time, Acquired), (override));
};

// Completes a Begin with `earlier` (or a failure).
inline auto AnswerBegin(absl::StatusOr<bool> earlier) {
  return [earlier](const std::string&, absl::Time, UnknownOutcomeJournal::Checked done) { done(earlier); };
}

}  // namespace halopsa::testing

#endif  // HALOPSA_TESTS_SERVER_MOCK_SHARED_STATE_H_
