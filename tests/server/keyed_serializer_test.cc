#include "server/keyed_serializer.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace halopsa {
namespace {

using ::testing::ElementsAre;

TEST(KeyedSerializerTest, SameKeyRunsOneAtATimeInOrder) {
  KeyedSerializer serializer;
  std::vector<std::string> events;
  std::vector<KeyedSerializer::Release> held;
  for (const char* name : {"a", "b", "c"}) {
    serializer.Run("ticket-1", [&, name](KeyedSerializer::Release release) {
      events.push_back(name);
      held.push_back(std::move(release));
    });
  }
  EXPECT_THAT(events, ElementsAre("a"));
  std::move(held[0])();
  EXPECT_THAT(events, ElementsAre("a", "b"));
  std::move(held[1])();
  std::move(held[2])();
  EXPECT_THAT(events, ElementsAre("a", "b", "c"));
  EXPECT_EQ(serializer.active_keys(), 0u);
}

TEST(KeyedSerializerTest, OtherKeysDoNotWait) {
  KeyedSerializer serializer;
  std::vector<KeyedSerializer::Release> held;
  int started = 0;
  for (const char* key : {"ticket-1", "ticket-2"}) {
    serializer.Run(key, [&](KeyedSerializer::Release release) {
      ++started;
      held.push_back(std::move(release));
    });
  }
  EXPECT_EQ(started, 2);
  EXPECT_EQ(serializer.active_keys(), 2u);
  for (auto& release : held) std::move(release)();
  EXPECT_EQ(serializer.active_keys(), 0u);
}

}  // namespace
}  // namespace halopsa
