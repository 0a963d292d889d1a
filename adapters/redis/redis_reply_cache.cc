#include "adapters/redis/redis_reply_cache.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/error_mapping.h"

namespace halopsa::redis {
namespace {

// KEYS: the reply's key. ARGV: owner token, lease ms. Returns {'done',
// reply}, {'running'} or {'claimed'}.
const RedisScript kClaim(R"lua(
local found = redis.call('HMGET', KEYS[1], 'reply', 'owner')
if found[1] then return {'done', found[1]} end
if found[2] then return {'running'} end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'claimed'}
)lua");

// KEYS: the reply's key. ARGV: owner token, '1' to keep the reply, the
// reply, ttl ms. Does nothing when another attempt holds the claim.
const RedisScript kFinish(R"lua(
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'reply', ARGV[3], 'owner', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('DEL', KEYS[1])
end
return 1
)lua");

// Bound of the Finish script, which runs after the call's deadline too.
constexpr absl::Duration kFinishBound = absl::Seconds(5);

std::string ReplyKey(const lc::ReplyCache::Key& key) { return SharedKey("reply", absl::StrCat(key.first, "\n", key.second)); }

int64_t Milliseconds(absl::Duration duration) { return std::max<int64_t>(1, absl::ToInt64Milliseconds(duration)); }

absl::Status StillRunning() {
  return WithErrorInfo(absl::UnavailableError("an earlier attempt with this idempotency_key is still running; retry later"),
                       kReasonDuplicateInFlight);
}

}  // namespace

struct RedisReplyCache::Attempt {
  Key key;
  std::string redis_key;
  absl::Time deadline;
  Waiter waiter;
  Run run;
  std::string token = NewOwnerToken();
  absl::Duration next_poll;

  void Answer(absl::StatusOr<net::ServerResponse> reply) { std::exchange(waiter, nullptr)(std::move(reply)); }
};

std::string EncodeReply(const net::ServerResponse& reply) {
  // Status, content type, header count, each header on two lines, then the
  // body: none of the lines before the body can contain a newline.
  std::string encoded = absl::StrCat(reply.status, "\n", reply.content_type, "\n");
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : reply.headers) {
    if (name != lc::kReplayHeader) headers.emplace_back(name, value);
  }
  absl::StrAppend(&encoded, headers.size(), "\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&encoded, name, "\n", value, "\n");
  absl::StrAppend(&encoded, reply.body);
  return encoded;
}

std::optional<net::ServerResponse> DecodeReply(absl::string_view encoded) {
  auto line = [&encoded]() -> std::optional<absl::string_view> {
    size_t end = encoded.find('\n');
    if (end == absl::string_view::npos) return std::nullopt;
    absl::string_view text = encoded.substr(0, end);
    encoded.remove_prefix(end + 1);
    return text;
  };
  net::ServerResponse reply;
  std::optional<absl::string_view> status = line(), content_type = line(), count = line();
  size_t headers = 0;
  if (!status || !content_type || !count || !absl::SimpleAtoi(*status, &reply.status) ||
      !absl::SimpleAtoi(*count, &headers)) {
    return std::nullopt;
  }
  reply.content_type = std::string(*content_type);
  for (size_t i = 0; i < headers; ++i) {
    std::optional<absl::string_view> name = line(), value = line();
    if (!name || !value) return std::nullopt;
    reply.headers.emplace_back(std::string(*name), std::string(*value));
  }
  reply.body = std::string(encoded);
  return reply;
}

void RedisReplyCache::Join(const Key& key, absl::Time deadline, Waiter waiter, Run run) {
  auto attempt = std::make_shared<Attempt>();
  attempt->key = key;
  attempt->redis_key = ReplyKey(key);
  attempt->deadline = deadline;
  attempt->waiter = std::move(waiter);
  attempt->run = std::move(run);
  attempt->next_poll = options_.first_poll;
  Claim(std::move(attempt));
}

void RedisReplyCache::Claim(std::shared_ptr<Attempt> attempt) {
  const absl::Duration lease = std::max(attempt->deadline - absl::Now(), absl::ZeroDuration()) + options_.lease_margin;
  // Read before the callback takes `attempt`.
  std::vector<std::string> keys = {attempt->redis_key};
  std::vector<std::string> args = {attempt->token, absl::StrCat(Milliseconds(lease))};
  const absl::Time deadline = attempt->deadline;
  redis_.Eval(kClaim, std::move(keys), std::move(args), deadline,
              [this, attempt = std::move(attempt)](absl::StatusOr<RedisReply> reply) mutable {
                OnClaim(std::move(attempt), std::move(reply));
              });
}

void RedisReplyCache::OnClaim(std::shared_ptr<Attempt> attempt, absl::StatusOr<RedisReply> reply) {
  if (!reply.ok()) return attempt->Answer(reply.status());
  if (reply->type != RedisReply::Type::kArray || reply->elements.empty()) {
    return attempt->Answer(UnexpectedReply("the reply claim"));
  }
  const std::string& verdict = reply->elements[0].text;
  if (verdict == "claimed") {
    {
      absl::MutexLock lock(&mu_);
      running_[attempt->key] = attempt;
    }
    return std::exchange(attempt->run, nullptr)();
  }
  if (verdict == "done" && reply->elements.size() == 2) {
    std::optional<net::ServerResponse> stored = DecodeReply(reply->elements[1].text);
    if (!stored) return attempt->Answer(UnexpectedReply("the reply claim"));
    return attempt->Answer(lc::AsReplay(*std::move(stored)));
  }
  // Another attempt runs (here or on another replica): wait for its reply.
  const absl::Duration wait = attempt->next_poll;
  attempt->next_poll = std::min(wait * 2, options_.max_poll);
  if (absl::Now() + wait >= attempt->deadline) return attempt->Answer(StillRunning());
  redis_.RunAfter(wait, [this, attempt = std::move(attempt)]() mutable { Claim(std::move(attempt)); });
}

void RedisReplyCache::Finish(const Key& key, const net::ServerResponse& reply, bool remember) {
  std::shared_ptr<Attempt> attempt;
  {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(key);
    if (it == running_.end()) return;
    attempt = std::move(it->second);
    running_.erase(it);
  }
  const bool keep = remember && reply.body.size() <= options_.max_reply_bytes;
  // The reply goes out once Redis has it (or failed to take it), so a retry
  // that follows the answer finds it.
  redis_.Eval(kFinish, {attempt->redis_key},
              {attempt->token, keep ? "1" : "0", keep ? EncodeReply(reply) : "", absl::StrCat(Milliseconds(options_.ttl))},
              absl::Now() + kFinishBound,
              [attempt, reply](absl::StatusOr<RedisReply>) mutable { attempt->Answer(std::move(reply)); });
}

}  // namespace halopsa::redis
