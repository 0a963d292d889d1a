#include "adapters/redis/redis_outcome_journal.h"

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

class RedisOutcomeJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServerProcess>> server = RedisServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    for (auto& client : clients_) {
      client = RedisClient::Start(io_.io(), OptionsFor(server_->url()));
      ASSERT_TRUE(Eventually([&] { return client->up(); }));
    }
  }

  absl::StatusOr<bool> Begin(RedisOutcomeJournal& journal, const std::string& key) {
    Awaited<absl::StatusOr<bool>> earlier;
    journal.Begin(key, absl::Now() + absl::Seconds(5), earlier.Callback());
    return earlier.Get();
  }

  bool Journaled(const std::string& key) {
    absl::StatusOr<RedisReply> exists = RunCommand(*clients_[0], {"EXISTS", SharedKey("journal", key)});
    return exists.ok() && exists->integer == 1;
  }

  IoThreads io_;
  std::unique_ptr<RedisServerProcess> server_;
  std::unique_ptr<RedisClient> clients_[2];
};

TEST_F(RedisOutcomeJournalTest, AnAttemptOnOneReplicaIsSeenByTheNextOnAnother) {
  RedisOutcomeJournal first(*clients_[0]), second(*clients_[1]);
  EXPECT_FALSE(*Begin(first, "k"));
  // The first replica died here, or its outcome was unknown.
  EXPECT_TRUE(*Begin(second, "k"));
  second.Remove("k");
  ASSERT_TRUE(Eventually([&] { return !Journaled("k"); }));
  EXPECT_FALSE(*Begin(first, "k"));
}

TEST_F(RedisOutcomeJournalTest, AddKeepsTheKeyWithItsTtl) {
  RedisOutcomeJournal journal(*clients_[0], absl::Minutes(10));
  journal.Add("unknown");
  ASSERT_TRUE(Eventually([&] { return Journaled("unknown"); }));
  absl::StatusOr<RedisReply> ttl = RunCommand(*clients_[0], {"PTTL", SharedKey("journal", "unknown")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Minutes(9)));
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Minutes(10)));
}

TEST_F(RedisOutcomeJournalTest, WithoutRedisBeginFailsAndRecoversAfterARestart) {
  RedisOutcomeJournal journal(*clients_[0]);
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !clients_[0]->up(); }));
  absl::StatusOr<bool> refused = Begin(journal, "k");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), kReasonSharedStateUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return clients_[0]->up(); }));
  absl::StatusOr<bool> again = Begin(journal, "k");
  ASSERT_TRUE(again.ok()) << again.status();
}

}  // namespace
}  // namespace halopsa::redis
