#include "adapters/net/connection_pool.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/net/steady_time.h"

namespace halopsa::net::internal {

namespace asio = boost::asio;

void ConnectionPool::Dispatch(std::shared_ptr<UpstreamCall> call, const Url& url) {
  std::shared_ptr<UpstreamConnection> connection;
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      refused = Cancelled();
    } else {
      HostPool& pool = pools_[call->pool_key];
      if (!pool.idle.empty()) {
        connection = std::move(pool.idle.back());
        pool.idle.pop_back();
      } else if (pool.connections.size() < options_.max_connections_per_host) {
        connection = std::make_shared<UpstreamConnection>(*this, call->pool_key, url);
        pool.connections.insert(connection);
      } else if (pool.queue.size() < options_.max_queued_requests_per_host) {
        Enqueue(pool, call);
        return;
      } else {
        refused = absl::ResourceExhaustedError(
            absl::StrCat("too many requests waiting for a connection to ", call->host_port));
      }
    }
  }
  if (connection) {
    connection->Assign(std::move(call));
  } else {
    CompleteLater(std::move(call), std::move(refused));
  }
}

void ConnectionPool::Enqueue(HostPool& pool, const std::shared_ptr<UpstreamCall>& call) {
  call->queue_pos = pool.queue.insert(pool.queue.end(), call);
  call->queued = true;
  call->queue_timer.emplace(io_, SteadyAfter(call->deadline - absl::Now()));
  call->queue_timer->async_wait([this, call](const boost::beast::error_code& ec) {
    if (!ec) OnQueueTimeout(call);
  });
}

std::shared_ptr<UpstreamCall> ConnectionPool::PopQueued(HostPool& pool) {
  std::shared_ptr<UpstreamCall> call = std::move(pool.queue.front());
  pool.queue.pop_front();
  call->queued = false;
  call->queue_timer->cancel();
  return call;
}

void ConnectionPool::OnQueueTimeout(const std::shared_ptr<UpstreamCall>& call) {
  {
    absl::MutexLock lock(&mu_);
    if (!call->queued) return;  // a connection or Shutdown() took it first
    // A queue is only non-empty while its pool has connections, so the pool exists.
    pools_.at(call->pool_key).queue.erase(call->queue_pos);
    call->queued = false;
  }
  call->Complete(MarkNotSent(QueueTimeout(call->host_port)));
}

Handoff ConnectionPool::Release(const std::shared_ptr<UpstreamConnection>& connection, bool keep) {
  absl::MutexLock lock(&mu_);
  Handoff handoff;
  if (shutting_down_) return handoff;  // Shutdown() has taken every connection
  auto pool = pools_.find(connection->pool_key());
  if (!pool->second.queue.empty()) {
    handoff.next = PopQueued(pool->second);
  } else if (keep) {
    pool->second.idle.push_back(connection);
    handoff.idle = true;
  } else {
    RemoveConnection(pool, connection);
  }
  return handoff;
}

bool ConnectionPool::RemoveIfIdle(const std::shared_ptr<UpstreamConnection>& connection) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  auto pool = pools_.find(connection->pool_key());
  if (pool == pools_.end()) return false;
  auto& idle = pool->second.idle;
  auto it = std::find(idle.begin(), idle.end(), connection);
  if (it == idle.end()) return false;
  idle.erase(it);
  RemoveConnection(pool, connection);
  return true;
}

void ConnectionPool::RemoveConnection(HostPools::iterator pool,
                                      const std::shared_ptr<UpstreamConnection>& connection) {
  pool->second.connections.erase(connection);
  // Without connections there is nothing idle or queued: forget the host.
  if (pool->second.connections.empty()) pools_.erase(pool);
}

void ConnectionPool::CompleteLater(std::shared_ptr<UpstreamCall> call, absl::Status status) {
  asio::post(io_, [call = std::move(call), status = MarkNotSent(std::move(status))]() mutable {
    call->Complete(std::move(status));
  });
}

void ConnectionPool::Shutdown() {
  std::vector<std::shared_ptr<UpstreamCall>> queued;
  std::vector<std::shared_ptr<UpstreamConnection>> connections;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [key, pool] : pools_) {
      while (!pool.queue.empty()) queued.push_back(PopQueued(pool));
      connections.insert(connections.end(), pool.connections.begin(), pool.connections.end());
    }
    pools_.clear();
  }
  for (auto& call : queued) CompleteLater(std::move(call), Cancelled());
  for (const auto& connection : connections) connection->Cancel();
}

}  // namespace halopsa::net::internal
