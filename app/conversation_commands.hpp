#pragma once
// The conversation of a recorded session, for people: `sddsh show SESSION --conversation`
// (turn by turn, in the terminal) and `sddsh export SESSION` (Markdown, JSON, asciicast).
#include "app/cli.hpp"
#include "recorder/session_catalog.hpp"

namespace sddsh::app {

int show_conversation(const recorder::BundleEntry& entry);
int run_export(const ExportCommand& command);

}  // namespace sddsh::app
