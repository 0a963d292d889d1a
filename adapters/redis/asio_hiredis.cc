#include "adapters/redis/asio_hiredis.h"

#include <hiredis/async.h>
#include <hiredis/sds.h>

#include <boost/asio/bind_executor.hpp>
#include <utility>

namespace halopsa::redis {

namespace asio = boost::asio;

void AsioHiredisEvents::Attach(redisAsyncContext* context, const Strand& strand, std::atomic<uint64_t>& writes) {
  auto events = std::make_shared<AsioHiredisEvents>(context, strand, writes);
  events->self_ = events;
  context->ev.data = events.get();
  context->ev.addRead = &AddRead;
  context->ev.delRead = &DelRead;
  context->ev.addWrite = &AddWrite;
  context->ev.delWrite = &DelWrite;
  context->ev.cleanup = &Cleanup;
}

AsioHiredisEvents::AsioHiredisEvents(redisAsyncContext* context, const Strand& strand, std::atomic<uint64_t>& writes)
    : context_(context), descriptor_(strand, context->c.fd), writes_(writes) {}

void AsioHiredisEvents::AddRead(void* events) {
  auto* self = static_cast<AsioHiredisEvents*>(events);
  self->want_read_ = true;
  self->ArmRead();
}

void AsioHiredisEvents::DelRead(void* events) { static_cast<AsioHiredisEvents*>(events)->want_read_ = false; }

void AsioHiredisEvents::AddWrite(void* events) {
  auto* self = static_cast<AsioHiredisEvents*>(events);
  self->want_write_ = true;
  self->ArmWrite();
}

void AsioHiredisEvents::DelWrite(void* events) { static_cast<AsioHiredisEvents*>(events)->want_write_ = false; }

void AsioHiredisEvents::Cleanup(void* events) {
  auto* self = static_cast<AsioHiredisEvents*>(events);
  self->context_ = nullptr;
  self->want_read_ = self->want_write_ = false;
  // Pending waits end with operation_aborted; the socket stays hiredis'.
  self->descriptor_.release();
  std::shared_ptr<AsioHiredisEvents> last = std::move(self->self_);  // may free `self` on return
}

// A wait that is still pending when hiredis no longer wants the event ends
// without calling hiredis; one wait per direction at a time.
void AsioHiredisEvents::ArmRead() {
  if (read_armed_ || !want_read_ || context_ == nullptr) return;
  read_armed_ = true;
  descriptor_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& error) {
                           self->read_armed_ = false;
                           if (error || !self->want_read_ || self->context_ == nullptr) return;
                           redisAsyncHandleRead(self->context_);  // may free the context (Cleanup)
                           self->ArmRead();
                         });
}

void AsioHiredisEvents::ArmWrite() {
  if (write_armed_ || !want_write_ || context_ == nullptr) return;
  write_armed_ = true;
  descriptor_.async_wait(asio::posix::stream_descriptor::wait_write,
                         [self = shared_from_this()](const boost::system::error_code& error) {
                           self->write_armed_ = false;
                           if (error || !self->want_write_ || self->context_ == nullptr) return;
                           if (sdslen(self->context_->c.obuf) > 0) self->writes_.fetch_add(1, std::memory_order_relaxed);
                           redisAsyncHandleWrite(self->context_);  // may free the context (Cleanup)
                           self->ArmWrite();
                         });
}

}  // namespace halopsa::redis
