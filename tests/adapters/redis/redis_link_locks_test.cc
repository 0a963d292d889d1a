#include "adapters/redis/redis_link_locks.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/error_mapping.h"
#include "tests/adapters/redis/redis_test_support.h"

namespace halopsa::redis {
namespace {

using ::halopsa::testing::RedisServerProcess;
using testing::Awaited;
using testing::Eventually;
using testing::IoThreads;
using testing::OptionsFor;
using testing::RunCommand;

using Lock = absl::StatusOr<LinkLocks::Release>;

// Two replicas' lock sets over one Redis.
class RedisLinkLocksTest : public ::testing::Test {
 protected:
  // Commands in flight end while what their callbacks touch still exists.
  void TearDown() override {
    for (auto& client : clients_) {
      if (client) client->Close();
    }
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServerProcess>> server = RedisServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    for (int i = 0; i < 2; ++i) {
      clients_[i] = RedisClient::Start(io_.io(), OptionsFor(server_->url()));
      ASSERT_TRUE(Eventually([&] { return clients_[i]->up(); }));
      locks_[i] = std::make_unique<RedisLinkLocks>(*clients_[i], options_);
    }
  }

  Lock Acquire(int replica, const std::string& key, absl::Duration within = absl::Seconds(5)) {
    Awaited<Lock> lock;
    locks_[replica]->Acquire(key, absl::Now() + within, lock.Callback());
    return lock.Get();
  }

  bool Held(const std::string& key) {
    absl::StatusOr<RedisReply> exists = RunCommand(*clients_[0], {"EXISTS", SharedKey("lock", key)});
    return exists.ok() && exists->integer == 1;
  }

  RedisLockOptions options_;
  IoThreads io_;
  std::unique_ptr<RedisServerProcess> server_;
  std::unique_ptr<RedisClient> clients_[2];
  std::unique_ptr<RedisLinkLocks> locks_[2];
};

TEST_F(RedisLinkLocksTest, AHeldLockMakesTheOtherReplicaWaitUntilItsRelease) {
  Lock first = Acquire(0, "ticket 5");
  ASSERT_TRUE(first.ok()) << first.status();
  std::atomic<bool> second_held{false};
  LinkLocks::Release second_release;
  locks_[1]->Acquire("ticket 5", absl::Now() + absl::Seconds(10), [&](Lock lock) {
    ASSERT_TRUE(lock.ok()) << lock.status();
    second_release = *std::move(lock);
    second_held = true;
  });
  // The second polls; nothing moves while the first holds the lease.
  EXPECT_FALSE(Eventually([&] { return second_held.load(); }, absl::Milliseconds(200)));
  (*first)();
  ASSERT_TRUE(Eventually([&] { return second_held.load(); }));
  second_release();
  ASSERT_TRUE(Eventually([&] { return !Held("ticket 5"); }));
}

TEST_F(RedisLinkLocksTest, OtherKeysDoNotWait) {
  Lock ticket = Acquire(0, "ticket 5");
  Lock host = Acquire(1, "host a");
  ASSERT_TRUE(ticket.ok() && host.ok());
  (*ticket)();
  (*host)();
}

TEST_F(RedisLinkLocksTest, AWaiterWhoseDeadlinePassesGivesUp) {
  Lock held = Acquire(0, "ticket 5");
  ASSERT_TRUE(held.ok());
  Lock late = Acquire(1, "ticket 5", absl::Milliseconds(150));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  (*held)();
}

TEST_F(RedisLinkLocksTest, ALeaseThatRanOutCannotReleaseTheNextOwnersLock) {
  options_.lease_margin = absl::ZeroDuration();
  RedisLinkLocks short_leases(*clients_[0], options_);
  Awaited<Lock> dying;
  short_leases.Acquire("host a", absl::Now() + absl::Milliseconds(100), dying.Callback());
  Lock stale = dying.Get();
  ASSERT_TRUE(stale.ok());
  // Its holder stalled past the lease (or died): the other replica gets it.
  Lock next = Acquire(1, "host a");
  ASSERT_TRUE(next.ok()) << next.status();
  (*stale)();  // compare-and-delete: not its lock any more
  Lock third = Acquire(0, "host a", absl::Milliseconds(300));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kDeadlineExceeded) << "the next owner still holds it";
  EXPECT_TRUE(Held("host a"));
  (*next)();
}

TEST_F(RedisLinkLocksTest, WithoutRedisNoLockIsGivenAndTheyComeBackAfterARestart) {
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !clients_[0]->up(); }));
  Lock refused = Acquire(0, "ticket 5");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), kReasonSharedStateUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return clients_[0]->up(); }));
  Lock again = Acquire(0, "ticket 5");
  ASSERT_TRUE(again.ok()) << again.status();
  (*again)();
}

}  // namespace
}  // namespace halopsa::redis
