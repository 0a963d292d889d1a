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
  self->read_.wanted = true;
  self->Arm(self->read_, WaitType::wait_read);
}

void AsioHiredisEvents::DelRead(void* events) { static_cast<AsioHiredisEvents*>(events)->read_.wanted = false; }

void AsioHiredisEvents::AddWrite(void* events) {
  auto* self = static_cast<AsioHiredisEvents*>(events);
  self->write_.wanted = true;
  self->Arm(self->write_, WaitType::wait_write);
}

void AsioHiredisEvents::DelWrite(void* events) { static_cast<AsioHiredisEvents*>(events)->write_.wanted = false; }

void AsioHiredisEvents::Cleanup(void* events) {
  auto* self = static_cast<AsioHiredisEvents*>(events);
  self->context_ = nullptr;
  self->read_.wanted = self->write_.wanted = false;
  // Pending waits end with operation_aborted; the socket stays hiredis'.
  self->descriptor_.release();
  std::shared_ptr<AsioHiredisEvents> last = std::move(self->self_);  // may free `self` on return
}

// A wait that is still pending when hiredis no longer wants the event ends
// without calling hiredis; one wait per direction at a time.
void AsioHiredisEvents::Arm(Interest& interest, WaitType type) {
  if (interest.armed || !interest.wanted || context_ == nullptr) return;
  interest.armed = true;
  descriptor_.async_wait(type, [self = shared_from_this(), &interest, type](const boost::system::error_code& error) {
    interest.armed = false;
    if (error || !interest.wanted || self->context_ == nullptr) return;
    // Either call may free the context (Cleanup).
    if (type == WaitType::wait_read) {
      redisAsyncHandleRead(self->context_);
    } else {
      if (sdslen(self->context_->c.obuf) > 0) self->writes_.fetch_add(1, std::memory_order_relaxed);
      redisAsyncHandleWrite(self->context_);
    }
    self->Arm(interest, type);
  });
}

}  // namespace halopsa::redis
