// libFuzzer target for pass-through mode's view of the agent's output: the mode tracker, fed in
// reads cut at points taken from the input. Invariant: the reset sequence stays small.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "shell/mode_tracker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sddsh::shell::ModeTracker tracker;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::size_t step = 1;
  while (!rest.empty()) {
    const std::size_t take = std::min(step, rest.size());
    tracker.observe(rest.substr(0, take));
    rest.remove_prefix(take);
    step = 1 + (step * 5 + take) % 61;
  }
  if (tracker.reset_sequence().size() > 512) std::abort();
  return 0;
}
