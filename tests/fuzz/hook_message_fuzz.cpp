// `sddsh hook` reduces whatever JSON an agent's hook hands it, and the recorder parses what comes
// over its socket. Neither may throw or crash; what the reduction makes must parse back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "recorder/hook_channel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)sddsh::recorder::parse_hook_message(input);
  const std::string message = sddsh::recorder::hook_message_from_agent_input(input);
  if (!message.empty() && !sddsh::recorder::parse_hook_message(message)) std::abort();
  return 0;
}
