#include "tui/panel.hpp"

#include <algorithm>
#include <cstdio>

namespace sddsh::tui {

// To the minute: the panel's clock wakes sddsh once a minute, not once a second.
std::string format_elapsed_minutes(long seconds) {
  const long minutes = seconds / 60;
  if (minutes < 1) return "< 1 min";
  if (minutes < 60) return std::to_string(minutes) + " min";
  char text[32];
  std::snprintf(text, sizeof text, "%ld h %02ld min", minutes / 60, minutes % 60);
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
  lines.push_back({"elapsed  " + format_elapsed_minutes(facts_.elapsed_seconds)});
  if (!facts_.recording.empty()) lines.push_back({"record   " + facts_.recording});
  if (!facts_.title.empty()) lines.push_back({"title    " + facts_.title, PanelLine::Tone::Dim});
  return lines;
}

namespace {

std::string task_line(const QueuedTask& task) {
  return "P" + std::to_string(task.priority) + (task.parallel ? " [P] " : " ") + task.title;
}

std::string task_detail(const QueuedTask& task) {
  return "   " + task.id + (task.phase.empty() ? "" : " · " + task.phase);
}

}  // namespace

std::vector<PanelLine> TaskQueueSection::lines() const {
  std::vector<PanelLine> lines;
  if (view_.current) {
    lines.push_back({"▶ " + view_.current->title, PanelLine::Tone::Accent});
    lines.push_back({task_detail(*view_.current), PanelLine::Tone::Dim});
  }
  if (view_.ready.empty()) lines.push_back({"no ready tasks", PanelLine::Tone::Dim});
  // A window of the queue that keeps the selection in sight.
  const int count = static_cast<int>(view_.ready.size());
  const int first = std::clamp(view_.selected - kShown + 1, 0, std::max(0, count - kShown));
  for (int i = first; i < std::min(count, first + kShown); ++i) {
    const QueuedTask& task = view_.ready[static_cast<std::size_t>(i)];
    const bool selected = i == view_.selected;
    lines.push_back({task_line(task), selected ? PanelLine::Tone::Selected : PanelLine::Tone::Normal});
    if (selected) lines.push_back({task_detail(task), PanelLine::Tone::Dim});
  }
  if (count > first + kShown)
    lines.push_back({"… " + std::to_string(count - first - kShown) + " more", PanelLine::Tone::Dim});
  if (!view_.message.empty())
    lines.push_back({view_.message, view_.message_is_error ? PanelLine::Tone::Alert : PanelLine::Tone::Dim});
  if (!view_.desk.queue_note.empty())
    lines.push_back({view_.desk.queue_note, view_.desk.stale ? PanelLine::Tone::Alert : PanelLine::Tone::Dim});
  if (!view_.desk.uploads.empty())
    lines.push_back({view_.desk.uploads, view_.desk.uploads_alert ? PanelLine::Tone::Alert : PanelLine::Tone::Dim});
  return lines;
}

std::string window_state_text(const WindowSummary& window) {
  switch (window.state) {
    case WindowSummary::State::SettingUp: return "setting up its worktree";
    case WindowSummary::State::Running: return "running";
    case WindowSummary::State::Waiting: return "waiting for you";
    case WindowSummary::State::Exited: return "exited " + std::to_string(window.exit_code);
    case WindowSummary::State::Failed: return "failed to start";
  }
  return "";
}

namespace {

// After the window's name: ! a bell rang, • output the user has not seen.
std::string unread_mark(const WindowSummary& window) {
  if (window.unread_bell) return "!";
  if (window.unread_output) return "•";
  return "";
}

PanelLine::Tone window_tone(const WindowSummary& window) {
  if (window.current) return PanelLine::Tone::Selected;
  if (window.state == WindowSummary::State::Waiting || window.unread_bell) return PanelLine::Tone::Alert;
  if (window.state == WindowSummary::State::Exited || window.state == WindowSummary::State::Failed)
    return PanelLine::Tone::Dim;
  return PanelLine::Tone::Normal;
}

}  // namespace

std::vector<PanelLine> WindowsSection::lines() const {
  std::vector<PanelLine> lines;
  for (const WindowSummary& window : windows_) {
    std::string head = std::to_string(window.number) + " " + window.agent + unread_mark(window);
    if (!window.task_id.empty()) head += "  " + window.task_id;
    lines.push_back({head, window_tone(window)});
    lines.push_back({"  " + window_state_text(window),
                     window.state == WindowSummary::State::Waiting ? PanelLine::Tone::Alert : PanelLine::Tone::Dim});
  }
  return lines;
}

std::string window_list_text(const std::vector<WindowSummary>& windows) {
  std::string text;
  for (const WindowSummary& window : windows) {
    if (!text.empty()) text += ' ';
    text += std::to_string(window.number) + ":" + window.agent + (window.current ? "*" : unread_mark(window));
  }
  return text;
}

}  // namespace sddsh::tui
