#pragma once
// The fallback conversation's answers: what the agent showed on its screen during each turn,
// read by replaying the recorded terminal stream through the same screen model the TUI uses.
#include <string>
#include <vector>

#include "recorder/session_record.hpp"

namespace sddsh::app {

// For each turn (index 0 = turn 1): the lines that appeared between the turn's start and its
// end (history and screen, colours and cursor moves gone), trimmed of blank runs.
std::vector<std::string> terminal_answers(const std::string& bundle_dir,
                                          const recorder::SessionRecord& session);

}  // namespace sddsh::app
