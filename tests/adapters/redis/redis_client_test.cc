#include "adapters/redis/redis_client.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/error_mapping.h"
#include "tests/adapters/redis/redis_test_support.h"

namespace halopsa::redis {
namespace {

using ::halopsa::testing::RedisServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Awaited;
using testing::Eventually;
using testing::IoThreads;
using testing::OptionsFor;
using testing::RunCommand;

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  return info ? info->reason() : "";
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServerProcess>> server = RedisServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<RedisClient> Connect(RedisOptions options) {
    std::unique_ptr<RedisClient> client = RedisClient::Start(io_.io(), std::move(options));
    EXPECT_TRUE(Eventually([&] { return client->up(); })) << "never connected";
    return client;
  }

  IoThreads io_;
  std::unique_ptr<RedisServerProcess> server_;
};

TEST_F(RedisClientTest, RunsBinarySafeCommands) {
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(server_->url()));
  const std::string value("a\0b\r\nc", 6);
  ASSERT_TRUE(RunCommand(*client, {"SET", "k", value}).ok());
  absl::StatusOr<RedisReply> reply = RunCommand(*client, {"GET", "k"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->type, RedisReply::Type::kString);
  EXPECT_EQ(reply->text, value);
  absl::StatusOr<RedisReply> missing = RunCommand(*client, {"GET", "absent"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->type, RedisReply::Type::kNil);
}

TEST_F(RedisClientTest, ErrorRepliesAreSharedStateFailures) {
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(server_->url()));
  ASSERT_TRUE(RunCommand(*client, {"SET", "k", "text"}).ok());
  absl::StatusOr<RedisReply> reply = RunCommand(*client, {"INCR", "k"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(reply.status()), kReasonSharedStateUnavailable);
}

TEST_F(RedisClientTest, LogsInAndSelectsTheDatabase) {
  std::unique_ptr<RedisServerProcess> locked = *RedisServerProcess::Start({.password = "pa ss"});
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(absl::StrCat(locked->url(), "?db=3")));
  absl::StatusOr<RedisReply> info = RunCommand(*client, {"CLIENT", "INFO"});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->text, HasSubstr(" db=3 "));
}

TEST_F(RedisClientTest, AWrongPasswordKeepsItDownWithoutSayingThePassword) {
  std::unique_ptr<RedisServerProcess> locked = *RedisServerProcess::Start({.password = "right"});
  RedisOptions options = OptionsFor(absl::StrCat("unix://:wrong-hunter2@", locked->socket_path()));
  std::vector<std::string> reasons;
  absl::Mutex mu;
  options.on_state_change = [&](bool up, absl::string_view why) {
    absl::MutexLock lock(&mu);
    reasons.emplace_back(why);
  };
  std::unique_ptr<RedisClient> client = RedisClient::Start(io_.io(), options);
  ASSERT_TRUE(Eventually([&] { return client->errors() >= 3; }));
  EXPECT_FALSE(client->up());
  absl::StatusOr<RedisReply> reply = RunCommand(*client, {"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(ReasonOf(reply.status()), kReasonSharedStateUnavailable);
  EXPECT_THAT(reply.status().ToString(), Not(HasSubstr("hunter2")));
  client.reset();
  for (const std::string& why : reasons) EXPECT_THAT(why, Not(HasSubstr("hunter2")));
}

TEST_F(RedisClientTest, ScriptsRunByShaAndAreSentAgainAfterAFlush) {
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(server_->url()));
  const RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(RunCommand(*client, {"SCRIPT", "FLUSH"}).ok());
    for (int expected : {2, 4}) {
      Awaited<absl::StatusOr<RedisReply>> reply;
      client->Eval(script, {"counter"}, {"2"}, absl::Now() + absl::Seconds(5), reply.Callback());
      absl::StatusOr<RedisReply> result = reply.Get();
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->integer, expected + round * 4);
    }
  }
}

TEST_F(RedisClientTest, CommandsIssuedTogetherArePipelinedInOneWrite) {
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(server_->url()));
  const uint64_t trips_before = client->round_trips();
  constexpr int kCommands = 50;
  std::atomic<int> answered{0};
  // Issued from one strand task, so that all are queued before the write.
  client->RunAfter(absl::ZeroDuration(), [&] {
    for (int i = 0; i < kCommands; ++i) {
      client->Command({"INCR", "n"}, absl::Now() + absl::Seconds(5),
                      [&](absl::StatusOr<RedisReply> reply) { answered += reply.ok() ? 1 : 0; });
    }
  });
  ASSERT_TRUE(Eventually([&] { return answered.load() == kCommands; }));
  EXPECT_EQ(client->round_trips() - trips_before, 1u);
}

TEST_F(RedisClientTest, FailsAtOnceWhileRedisIsDownAndRecoversAfterARestart) {
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(server_->url()));
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !client->up(); }));
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> refused = RunCommand(*client, {"PING"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(refused.status()), kReasonSharedStateUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "no waiting for a Redis that is gone";
  EXPECT_GT(client->down_for(), absl::ZeroDuration());

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return client->up(); })) << "reconnects with backoff";
  EXPECT_TRUE(RunCommand(*client, {"PING"}).ok());
  EXPECT_EQ(client->down_for(), absl::ZeroDuration());
}

TEST_F(RedisClientTest, ACommandRedisDoesNotAnswerTimesOutAndTheConnectionIsRenewed) {
  RedisOptions options = OptionsFor(server_->url());
  options.command_timeout = absl::Milliseconds(200);
  std::unique_ptr<RedisClient> client = Connect(options);
  server_->Freeze();
  absl::StatusOr<RedisReply> stuck = RunCommand(*client, {"PING"});
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(stuck.status()), kReasonSharedStateUnavailable);
  server_->Thaw();
  ASSERT_TRUE(Eventually([&] { return client->up(); }));
  EXPECT_TRUE(RunCommand(*client, {"PING"}).ok());
}

TEST_F(RedisClientTest, TheCallersDeadlineCutsAWaitShort) {
  RedisOptions options = OptionsFor(server_->url());
  options.command_timeout = absl::Seconds(30);
  std::unique_ptr<RedisClient> client = Connect(options);
  server_->Freeze();
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> late = RunCommand(*client, {"PING"}, absl::Milliseconds(100));
  server_->Thaw();
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ReasonOf(late.status()), kReasonSharedStateUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(RedisClientTest, ClosingFailsCommandsInFlightAndLaterOnes) {
  std::unique_ptr<RedisClient> client = Connect(OptionsFor(server_->url()));
  server_->Freeze();
  Awaited<absl::StatusOr<RedisReply>> in_flight;
  client->Command({"PING"}, absl::Now() + absl::Seconds(30), in_flight.Callback());
  client->Close();
  EXPECT_FALSE(in_flight.Get().ok());
  EXPECT_FALSE(RunCommand(*client, {"PING"}).ok());
  server_->Thaw();
}

TEST(SharedKeyTest, BoundedAndDistinctPerId) {
  const std::string key = SharedKey("journal", std::string(5000, 'x'));
  EXPECT_LT(key.size(), 64u);
  EXPECT_THAT(key, ::testing::StartsWith("halopsa:journal:{"));
  EXPECT_NE(SharedKey("journal", "a"), SharedKey("journal", "b"));
  EXPECT_NE(NewOwnerToken(), NewOwnerToken());
}

}  // namespace
}  // namespace halopsa::redis
