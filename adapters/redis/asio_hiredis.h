#ifndef HALOPSA_ADAPTERS_REDIS_ASIO_HIREDIS_H_
#define HALOPSA_ADAPTERS_REDIS_ASIO_HIREDIS_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>

struct redisAsyncContext;

namespace halopsa::redis {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// hiredis' event-library hooks (addRead, delRead, addWrite, delWrite,
// cleanup) bound to an Asio stream descriptor on the connection's socket:
// readiness waits run on `strand`, which is where every hiredis call of the
// connection must run. hiredis owns the socket and the hooks' lifetime: they
// live until its cleanup hook, which releases the descriptor without closing
// it (hiredis closes the socket itself).
class AsioHiredisEvents : public std::enable_shared_from_this<AsioHiredisEvents> {
 public:
  // Installs the hooks on `context` (on the strand, before any command).
  // `writes` counts the writes that sent buffered commands: pipelined
  // commands written together are one round trip.
  static void Attach(redisAsyncContext* context, const Strand& strand, std::atomic<uint64_t>& writes);

  AsioHiredisEvents(redisAsyncContext* context, const Strand& strand, std::atomic<uint64_t>& writes);

 private:
  static void AddRead(void* events);
  static void DelRead(void* events);
  static void AddWrite(void* events);
  static void DelWrite(void* events);
  static void Cleanup(void* events);

  // What hiredis wants of one direction, and whether a wait is pending.
  struct Interest {
    bool wanted = false;
    bool armed = false;
  };
  using WaitType = boost::asio::posix::stream_descriptor::wait_type;

  void Arm(Interest& interest, WaitType type);

  redisAsyncContext* context_;  // null once hiredis cleaned up
  boost::asio::posix::stream_descriptor descriptor_;
  std::atomic<uint64_t>& writes_;
  Interest read_;
  Interest write_;
  std::shared_ptr<AsioHiredisEvents> self_;  // hiredis' reference, dropped by Cleanup
};

}  // namespace halopsa::redis

#endif  // HALOPSA_ADAPTERS_REDIS_ASIO_HIREDIS_H_
