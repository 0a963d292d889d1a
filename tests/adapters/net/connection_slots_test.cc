#include "adapters/net/connection_slots.h"

#include "gtest/gtest.h"

namespace halopsa::net {
namespace {

// Distinct connection ids.
const int kConnections[8] = {};
ConnectionSlots::Id C(int i) { return &kConnections[i]; }

TEST(ConnectionSlotsTest, WhenFullTheOldestIdleMakesRoomAndWorkingOnesNever) {
  ConnectionSlots slots(/*max_total=*/2, /*max_per_source=*/8);
  ASSERT_TRUE(slots.Admit(C(0), "a").admitted);
  ASSERT_TRUE(slots.Admit(C(1), "b").admitted);
  slots.SetIdle(C(0), false);  // working on a request

  ConnectionSlots::Admission third = slots.Admit(C(2), "c");
  EXPECT_TRUE(third.admitted);
  EXPECT_EQ(third.shed, C(1));
  // C(1) closing does not count against the next newcomer, but nothing is idle now
  // except C(2), which is the next to go.
  ConnectionSlots::Admission fourth = slots.Admit(C(3), "d");
  EXPECT_TRUE(fourth.admitted);
  EXPECT_EQ(fourth.shed, C(2));
  slots.SetIdle(C(3), false);
  EXPECT_FALSE(slots.Admit(C(4), "e").admitted);  // everyone left is working

  slots.Release(C(1));
  slots.Release(C(2));
  EXPECT_EQ(slots.open(), 2u);
}

TEST(ConnectionSlotsTest, OneSourceGetsAtMostItsShare) {
  ConnectionSlots slots(/*max_total=*/8, /*max_per_source=*/2);
  EXPECT_TRUE(slots.Admit(C(0), "a").admitted);
  EXPECT_TRUE(slots.Admit(C(1), "a").admitted);
  EXPECT_FALSE(slots.Admit(C(2), "a").admitted);
  EXPECT_TRUE(slots.Admit(C(3), "b").admitted);
  slots.Release(C(0));
  EXPECT_TRUE(slots.Admit(C(2), "a").admitted);
  EXPECT_EQ(slots.open(), 3u);
}

TEST(ConnectionSlotsTest, ARequestMakesAConnectionIdleAgainAtTheBackOfTheLine) {
  ConnectionSlots slots(/*max_total=*/2, /*max_per_source=*/8);
  ASSERT_TRUE(slots.Admit(C(0), "a").admitted);
  ASSERT_TRUE(slots.Admit(C(1), "b").admitted);
  slots.SetIdle(C(0), false);
  slots.SetIdle(C(0), true);  // answered: now idle longer than nobody
  EXPECT_EQ(slots.Admit(C(2), "c").shed, C(1));
}

}  // namespace
}  // namespace halopsa::net
