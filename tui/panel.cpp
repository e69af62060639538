#include "tui/panel.hpp"

#include <cstdio>

namespace sddsh::tui {

std::string format_elapsed(long seconds) {
  char text[32];
  if (seconds >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", seconds / 3600, seconds / 60 % 60, seconds % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", seconds / 60, seconds % 60);
  return text;
}

std::vector<PanelLine> SessionSection::lines() const {
  std::vector<PanelLine> lines;
  lines.push_back({"agent    " + facts_.agent});
  switch (facts_.state) {
    case SessionFacts::State::Running: lines.push_back({"state    running"}); break;
    case SessionFacts::State::Waiting:
      lines.push_back({"state    waiting for you", PanelLine::Tone::Alert});
      break;
    case SessionFacts::State::Exited:
      lines.push_back({"state    exited (" + std::to_string(facts_.exit_code) + ")", PanelLine::Tone::Dim});
      break;
  }
  lines.push_back({"elapsed  " + format_elapsed(facts_.elapsed_seconds)});
  if (!facts_.recording.empty()) lines.push_back({"record   " + facts_.recording});
  if (!facts_.title.empty()) lines.push_back({"title    " + facts_.title, PanelLine::Tone::Dim});
  return lines;
}

}  // namespace sddsh::tui
