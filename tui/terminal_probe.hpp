#pragma once
// What sddsh asks the user's terminal once at start, so that it can answer the agent's questions
// truthfully: its default colours (OSC 10/11). A terminal that does not know (tmux 3.3, say)
// stays silent, and then so does sddsh.
#include <optional>
#include <string>
#include <string_view>

#include "tui/vt_filter.hpp"

namespace sddsh::tui {

struct TerminalColours {
  std::optional<Rgb> foreground;
  std::optional<Rgb> background;
};

// Parses a reply body "rgb:RRRR/GGGG/BBBB" (1 to 4 hex digits a channel).
std::optional<Rgb> parse_colour_spec(std::string_view spec);

// The probe sends OSC 10 and 11 queries and then DA1, which every terminal answers, so DA1's
// reply marks the end. This removes the replies from `buffer` (input read from the terminal),
// filling `colours`, and moves what is not a reply (keys typed meanwhile) to `typed`. True once
// the DA1 reply was seen; an incomplete reply at the end stays in `buffer`.
bool take_probe_replies(std::string& buffer, TerminalColours& colours, std::string& typed);

}  // namespace sddsh::tui
