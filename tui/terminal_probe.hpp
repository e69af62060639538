#pragma once
// What sddsh asks the user's terminal once at start, so that it can answer the agent's questions
// truthfully: its default colours (OSC 10/11). A terminal that does not know (tmux 3.3, say)
// stays silent, and then so does sddsh.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tui/vt_filter.hpp"

namespace sddsh::tui {

struct TerminalColours {
  std::optional<Rgb> foreground;
  std::optional<Rgb> background;
};

// Writes the OSC 10/11 queries and a DA1 request (which every terminal answers: its reply marks
// the end), then reads replies until DA1's or the timeout. Anything else read meanwhile (keys the
// user typed) is appended to `typed`, to be handled as input.
TerminalColours probe_terminal_colours(int input_fd, int output_fd, std::chrono::milliseconds timeout,
                                       std::string& typed);

// Parses a reply body "rgb:RRRR/GGGG/BBBB" (1 to 4 hex digits a channel).
std::optional<Rgb> parse_colour_spec(std::string_view spec);

// Removes the replies from `buffer`, filling `colours`; true once the DA1 reply was seen.
// Incomplete replies at the end stay in `buffer`.
bool take_probe_replies(std::string& buffer, TerminalColours& colours, std::string& typed);

}  // namespace sddsh::tui
