#ifndef HALOPSA_ADAPTERS_NET_CONNECTION_POOL_H_
#define HALOPSA_ADAPTERS_NET_CONNECTION_POOL_H_

#include <atomic>
#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "adapters/net/beast_http_transport.h"
#include "adapters/net/upstream_connection.h"
#include "adapters/net/url.h"

namespace halopsa::net::internal {

// Connections of one scheme+host+port.
struct HostPool {
  std::unordered_set<std::shared_ptr<UpstreamConnection>> connections;  // busy and idle
  std::vector<std::shared_ptr<UpstreamConnection>> idle;                // most recently used last
  std::list<std::shared_ptr<UpstreamCall>> queue;                       // oldest first
};

// What a connection does after its call: take the next queued call, wait in
// the pool, or go away.
struct Handoff {
  std::shared_ptr<UpstreamCall> next;
  bool idle = false;
};

// Connections per scheme+host+port, at most max_connections_per_host each,
// and the calls waiting for one (bounded, each until its deadline).
// Thread-safe. `options`, `io` and `tls` must outlive it.
class ConnectionPool {
 public:
  ConnectionPool(const BeastTransportOptions& options, boost::asio::io_context& io,
                 boost::asio::ssl::context& tls)
      : options_(options), io_(io), tls_(tls) {}

  // Gives `call` to an idle or a new connection, queues it, or fails it
  // (RESOURCE_EXHAUSTED when the queue is full, CANCELLED after Shutdown).
  void Dispatch(std::shared_ptr<UpstreamCall> call, const Url& url);
  // Fails `call`, which never reached a connection, on an io thread, never
  // in the caller's.
  void CompleteLater(std::shared_ptr<UpstreamCall> call, absl::Status status);
  // Fails the queued calls and cancels every connection; later calls fail.
  void Shutdown();

  size_t open_connections() const { return open_.load(); }
  size_t connections_opened() const { return opened_.load(); }

  // For connections.
  const BeastTransportOptions& options() const { return options_; }
  boost::asio::io_context& io() { return io_; }
  boost::asio::ssl::context& tls() { return tls_; }
  void CountOpened() {
    ++open_;
    ++opened_;
  }
  void CountClosed() { --open_; }
  Handoff Release(const std::shared_ptr<UpstreamConnection>& connection, bool keep);
  // True if `connection` was idle in its pool and now is not in it any more.
  bool RemoveIfIdle(const std::shared_ptr<UpstreamConnection>& connection);

 private:
  using HostPools = std::unordered_map<std::string, HostPool>;

  void Enqueue(HostPool& pool, const std::shared_ptr<UpstreamCall>& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<UpstreamCall> PopQueued(HostPool& pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnQueueTimeout(const std::shared_ptr<UpstreamCall>& call);
  void RemoveConnection(HostPools::iterator pool,
                        const std::shared_ptr<UpstreamConnection>& connection)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BeastTransportOptions& options_;
  boost::asio::io_context& io_;
  boost::asio::ssl::context& tls_;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> opened_{0};

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  HostPools pools_ ABSL_GUARDED_BY(mu_);
};

}  // namespace halopsa::net::internal

#endif  // HALOPSA_ADAPTERS_NET_CONNECTION_POOL_H_
