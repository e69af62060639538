#pragma once
// Generic turn detection: finds the moments the user submits a prompt to the agent, and the
// prompt's text, from nothing but the bytes the user's terminal sent to the agent. It works for
// any CLI, so it can only guess how the agent edits its input line: docs/turns.md says how it
// guesses and where it is wrong. Exact per-agent hooks can replace it later.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sddsh::recorder {

// One press of Enter that submitted something.
struct PromptSubmission {
  std::string text;  // as edited; trailing whitespace trimmed, inner newlines kept
  // History recall, completion, an outside editor or an undo made the text uncertain; the text
  // may even be empty (Up then Enter: the user submitted an entry we never saw).
  bool approximate = false;
  // Came within the debounce window of the previous submission (a paste without bracketed-paste
  // markers, a double Enter): append it to the previous turn's prompt, joined by "\n". Its text
  // starts with one more "\n" for each blank line the burst held before it.
  bool continuation = false;
  bool truncated = false;  // the prompt outgrew kMaxPromptBytes: only its start is kept
};

class TurnDetector {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxPromptBytes = std::size_t{64} * 1024;

  explicit TurnDetector(Clock::duration debounce = std::chrono::milliseconds(500));
  ~TurnDetector();
  TurnDetector(TurnDetector&&) noexcept;             // a moved-from detector may only be
  TurnDetector& operator=(TurnDetector&&) noexcept;  // destroyed or assigned to

  // `user_bytes`: the next bytes sent to the agent, cut anywhere (a key's sequence may straddle
  // two calls). `now`: when they were read; time never comes from anywhere else. Accepts any
  // bytes; throws nothing but std::bad_alloc; memory stays bounded whatever comes.
  std::vector<PromptSubmission> feed(std::string_view user_bytes, Clock::time_point now);
  // What is typed so far and not yet submitted.
  const std::string& pending_text() const;
  // The next submission starts a turn of its own, however soon it comes (the session moved to
  // another task in between).
  void end_burst();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sddsh::recorder
