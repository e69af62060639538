#include "replay/cast_pipe.hpp"

#include <utility>

#include "shell/signal_free_thread.hpp"

namespace sddsh::replay {
namespace {

// Large enough that handing a batch over costs nothing next to filling it, small enough that
// the queue stays a few megabytes.
constexpr std::size_t kBatchBytes = std::size_t{1} << 20;
constexpr std::size_t kBatchEvents = 16384;
constexpr std::size_t kBatches = 4;

}  // namespace

CastPipe::CastPipe(recorder::CastReader reader, bool threaded)
    : reader_(std::move(reader)), threaded_(threaded) {
  for (std::size_t i = 0; i < kBatches; ++i) spare_.push_back(&storage_.emplace_back());
  if (threaded_) thread_ = shell::start_signal_free_thread([this] { run(); });
}

CastPipe::~CastPipe() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool CastPipe::fill(Batch& batch) {
  std::size_t count = 0;
  std::size_t bytes = 0;
  while (count < kBatchEvents && bytes < kBatchBytes) {
    auto event = reader_.next();
    if (!event) break;
    bytes += event->data.size();
    if (count == batch.size()) batch.emplace_back();
    batch[count].event = std::move(*event);
    batch[count].after = reader_.position();
    ++count;
  }
  batch.resize(count);
  return count > 0;
}

void CastPipe::run() {
  try {
    for (;;) {
      Batch* batch = nullptr;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || !spare_.empty(); });
        if (stopping_) return;
        batch = spare_.back();
        spare_.pop_back();
      }
      const bool more = fill(*batch);
      std::lock_guard lock(mutex_);
      if (more) ready_.push_back(batch);
      if (!more) {
        spare_.push_back(batch);
        problem_ = reader_.problem();
        done_ = true;
      }
      changed_.notify_all();
      if (!more) return;
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
    done_ = true;
    changed_.notify_all();
  }
}

std::vector<PipedEvent>* CastPipe::next_batch() {
  if (!threaded_) {
    Batch& batch = storage_.front();
    if (!fill(batch)) {
      problem_ = reader_.problem();
      return nullptr;
    }
    offset_ = batch.back().after.offset;
    return &batch;
  }
  give_back_spent();
  Batch* batch = take_ready();
  if (batch) offset_ = batch->back().after.offset;
  return batch;
}

void CastPipe::give_back_spent() {
  if (in_use_ == nullptr) return;
  {
    std::lock_guard lock(mutex_);
    spare_.push_back(in_use_);
  }
  in_use_ = nullptr;
  changed_.notify_all();
}

CastPipe::Batch* CastPipe::take_ready() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return done_ || !ready_.empty(); });
  if (ready_.empty()) {
    if (failure_) std::rethrow_exception(failure_);
    return nullptr;
  }
  in_use_ = ready_.front();
  ready_.pop_front();
  return in_use_;
}

}  // namespace sddsh::replay
