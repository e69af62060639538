#pragma once
// Reads a cast on a thread of its own and hands its events over in batches through a short
// queue, so that parsing the JSON lines and feeding the screen overlap when keyframes are built.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "recorder/cast_reader.hpp"

namespace sddsh::replay {

struct PipedEvent {
  recorder::CastEvent event;
  recorder::CastPosition after;  // the reader's position() once it had returned this event
};

class CastPipe {
 public:
  // `threaded` false reads on the caller's thread, batch by batch (a machine with one core).
  explicit CastPipe(recorder::CastReader reader, bool threaded = true);
  ~CastPipe();  // stops the reader thread, even mid-file
  CastPipe(const CastPipe&) = delete;
  CastPipe& operator=(const CastPipe&) = delete;

  // The next batch, valid until the next call; nullptr at the end of what is readable.
  std::vector<PipedEvent>* next_batch();
  // How far into the file the batches handed out so far reach.
  std::uint64_t offset() const { return offset_; }
  // Why reading stopped early, once next_batch() has returned nullptr.
  std::optional<std::string> problem() const { return problem_; }

 private:
  using Batch = std::vector<PipedEvent>;
  bool fill(Batch& batch);  // false once the reader has nothing more
  void run();
  Batch* take_ready();
  void give_back_spent();

  recorder::CastReader reader_;
  bool threaded_;
  std::optional<std::string> problem_;  // set by the reader side before it says "done"
  std::uint64_t offset_ = 0;

  // The batches cycle: spare -> (reader fills) -> ready -> (consumer reads) -> spent -> spare.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> storage_;  // owns every batch; deque: pointers stay valid
  std::vector<Batch*> spare_;
  std::deque<Batch*> ready_;
  Batch* in_use_ = nullptr;
  bool done_ = false;           // the reader side has handed over its last batch
  bool stopping_ = false;       // the consumer is gone
  std::exception_ptr failure_;  // thrown on the reader's thread, rethrown to the consumer
  std::thread thread_;
};

}  // namespace sddsh::replay
