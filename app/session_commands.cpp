#include "app/session_commands.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/conversation_commands.hpp"
#include "app/session_text.hpp"
#include "app/task_sessions.hpp"
#include "app/terminal_answers.hpp"
#include "recorder/recover.hpp"
#include "recorder/session_catalog.hpp"

namespace sddsh::app {

namespace {

using recorder::BundleEntry;
using recorder::DiffStat;
using recorder::SessionRecord;
using nlohmann::json;

constexpr std::uint64_t kDefaultMaxFileSize = std::uint64_t{10} << 20;

std::string task_of(const SessionRecord& r) { return r.task_segments.empty() ? "" : r.task_segments.front().task_id; }

std::string exit_text(const SessionRecord& r) {
  if (r.status == SessionRecord::Status::Running) return "running";
  if (r.status == SessionRecord::Status::Recovered) return "recovered";
  return r.exit_code ? std::to_string(*r.exit_code) : "-";
}

void report_unreadable(const recorder::Catalog& catalog) {
  for (const auto& problem : catalog.unreadable) std::fprintf(stderr, "sddsh: skipped %s\n", problem.c_str());
}

json summary_json(const BundleEntry& entry) {
  const SessionRecord& r = entry.record;
  return {{"id", r.id},
          {"started_at", r.started_at},
          {"agent", r.agent},
          {"task", task_of(r).empty() ? json(nullptr) : json(task_of(r))},
          {"turns", r.turns.size()},
          {"files_changed", r.session_stat ? json(r.session_stat->files) : json(nullptr)},
          {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
          {"status", recorder::status_name(r.status)},
          {"duration", r.duration},
          {"bundle", entry.dir}};
}

// git's colours for a patch: headers bold, hunks cyan, removed red, added green.
std::string colour_patch(const std::string& patch) {
  std::string out;
  out.reserve(patch.size() + patch.size() / 8);
  std::size_t begin = 0;
  bool in_header = false;
  while (begin < patch.size()) {
    std::size_t end = patch.find('\n', begin);
    std::string_view line(patch.data() + begin, (end == std::string::npos ? patch.size() : end) - begin);
    const char* colour = nullptr;
    if (line.starts_with("diff --git ")) in_header = true;
    if (line.starts_with("@@")) in_header = false;
    if (in_header) colour = "\x1b[1m";
    else if (line.starts_with("@@")) colour = "\x1b[36m";
    else if (line.starts_with("+")) colour = "\x1b[32m";
    else if (line.starts_with("-")) colour = "\x1b[31m";
    if (colour) out.append(colour).append(line).append("\x1b[m");
    else out.append(line);
    if (end == std::string::npos) break;
    out.push_back('\n');
    begin = end + 1;
  }
  return out;
}

// Like git: through $GIT_PAGER/$PAGER (default "less" with LESS=FRX) when the output is a terminal.
void page(const std::string& text, bool use_pager) {
  const char* pager = std::getenv("SDDSH_PAGER");
  if (!pager) pager = std::getenv("GIT_PAGER");
  if (!pager) pager = std::getenv("PAGER");
  if (!pager) pager = "less";
  if (!use_pager || isatty(1) != 1 || std::string(pager).empty() || std::string(pager) == "cat") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  ::setenv("LESS", std::getenv("LESS") ? std::getenv("LESS") : "FRX", 1);
  FILE* pipe = ::popen(pager, "w");
  if (!pipe) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::fwrite(text.data(), 1, text.size(), pipe);
  ::pclose(pipe);
}

std::optional<std::uint64_t> parse_size_with_suffix(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str()) return std::nullopt;
  std::string suffix(end);
  std::uint64_t scale = 1;
  if (suffix == "k" || suffix == "K") scale = 1024;
  else if (suffix == "m" || suffix == "M") scale = std::uint64_t{1} << 20;
  else if (suffix == "g" || suffix == "G") scale = std::uint64_t{1} << 30;
  else if (!suffix.empty()) return std::nullopt;
  return static_cast<std::uint64_t>(value) * scale;
}

void print_show(const BundleEntry& entry) {
  const SessionRecord& r = entry.record;
  std::string command;
  for (const auto& arg : r.argv) command += (command.empty() ? "" : " ") + arg;
  std::printf("session   %s\n", r.id.c_str());
  std::printf("agent     %s\n", command.c_str());
  std::printf("cwd       %s\n", r.cwd.c_str());
  std::printf("started   %s  (%s)\n", local_time(r.started_unix_ms, "%Y-%m-%d %H:%M:%S").c_str(),
              format_duration(r.duration).c_str());
  std::string status = recorder::status_name(r.status);
  if (r.exit_code) status += ", exit " + std::to_string(*r.exit_code);
  std::printf("status    %s\n", status.c_str());
  for (std::size_t i = 0; i < r.task_segments.size(); ++i) {
    const auto& segment = r.task_segments[i];
    std::string turns;
    for (int turn : segment.turns) turns += (turns.empty() ? "" : ",") + std::to_string(turn);
    std::string span = format_duration(segment.end.value_or(r.duration) - segment.start);
    std::printf("%s %-12s %-8s turns %-8s %s\n", i == 0 ? "task     " : "         ", segment.task_id.c_str(),
                span.c_str(), turns.empty() ? "-" : turns.c_str(),
                segment.stat ? stat_text(segment.stat).c_str() : "");
  }
  if (r.git) {
    std::string where = r.git->detached ? "detached" : (r.git->unborn ? r.git->branch + " (no commit yet)" : r.git->branch);
    if (!r.git->head.empty()) where += " @ " + r.git->head.substr(0, 10);
    if (!r.git->remote_url.empty()) where += "  " + r.git->remote_url;
    std::printf("git       %s\n", where.c_str());
    std::printf("snapshots %zu under %s\n", r.git->snapshots.size(), r.git->ref.c_str());
    if (r.session_stat) std::printf("changes   %s\n", stat_text(r.session_stat).c_str());
    for (const auto& c : r.session_changes) {
      std::string path = c.old_path.empty() ? c.path : c.old_path + " -> " + c.path;
      std::string counts = c.binary ? "binary" : "+" + std::to_string(c.insertions) + " -" + std::to_string(c.deletions);
      std::printf("          %c %-50s %s\n", c.status, path.c_str(), counts.c_str());
    }
  } else {
    std::printf("git       not a repository (no snapshots, no diffs)\n");
  }
  std::printf("terminal  %dx%d, %llu bytes out, %llu events\n", r.cols, r.rows,
              static_cast<unsigned long long>(r.stats.output_bytes), static_cast<unsigned long long>(r.stats.events));
  std::printf("bundle    %s\n", entry.dir.c_str());
  if (r.turns.empty()) std::printf("\nNo turns (no prompt was submitted).\n");
  else std::printf("\nTurns\n");
  for (const auto& t : r.turns) {
    std::string when = local_time(r.started_unix_ms + static_cast<std::int64_t>(t.start * 1000), "%H:%M:%S");
    std::string length = t.end ? format_duration(*t.end - t.start) : "running";
    std::string prompt = first_line(t.prompt, 72);
    if (t.approximate) prompt += "  (approximate)";
    std::printf("  %3d  %s  %-8s %-22s %s\n", t.index, when.c_str(), length.c_str(), stat_text(t.stat).c_str(),
                prompt.c_str());
  }
  for (const auto& w : r.warnings) std::printf("warning: %s\n", w.c_str());
}

}  // namespace

std::uint64_t snapshot_max_file_size() {
  const char* text = std::getenv("SDDSH_SNAPSHOT_MAX_FILE_SIZE");
  if (!text) return kDefaultMaxFileSize;
  auto size = parse_size_with_suffix(text);
  if (!size) {
    std::fprintf(stderr, "sddsh: ignoring SDDSH_SNAPSHOT_MAX_FILE_SIZE=%s (expected bytes, or 512k, 10M, 1G)\n", text);
    return kDefaultMaxFileSize;
  }
  return *size;
}

int run_sessions(const SessionsCommand& command) {
  if (!command.task.empty()) return run_task_sessions(command);
  auto store = this_store();
  if (!store) return fail(store.error().message);
  const recorder::Catalog catalog = recorder::load_catalog(*store);
  report_unreadable(catalog);
  if (command.json) {
    json list = json::array();
    for (const auto& entry : catalog.sessions) list.push_back(summary_json(entry));
    std::printf("%s\n", list.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  if (catalog.sessions.empty()) {
    std::printf("No sessions recorded in %s yet.\n", store->sessions_dir().c_str());
    return 0;
  }
  std::printf("%-10s %-16s %-10s %-12s %5s %5s  %s\n", "SESSION", "STARTED", "AGENT", "TASK", "TURNS", "FILES", "EXIT");
  for (const auto& entry : catalog.sessions) {
    const SessionRecord& r = entry.record;
    std::string files = r.session_stat ? std::to_string(r.session_stat->files) : "-";
    std::printf("%-10s %-16s %-10s %-12s %5zu %5s  %s\n", r.id.substr(0, 8).c_str(),
                local_time(r.started_unix_ms, "%Y-%m-%d %H:%M").c_str(), first_line(r.agent, 10).c_str(),
                task_of(r).empty() ? "-" : first_line(task_of(r), 12).c_str(), r.turns.size(), files.c_str(),
                exit_text(r).c_str());
  }
  return 0;
}

int run_show(const ShowCommand& command) {
  auto store = this_store();
  if (!store) return fail(store.error().message);
  auto entry = recorder::find_session(*store, command.session);
  if (!entry) return fail(entry.error().message);
  if (command.conversation) return show_conversation(*entry);
  if (command.json) std::fputs(recorder::to_json_text(entry->record).c_str(), stdout);
  else print_show(*entry);
  return 0;
}

int run_diff(const DiffCommand& command) {
  auto store = this_store();
  if (!store) return fail(store.error().message);
  auto entry = recorder::find_session(*store, command.session);
  if (!entry) return fail(entry.error().message);
  const SessionRecord& r = entry->record;
  if (!r.git) return fail("session " + r.id.substr(0, 8) + " was not in a git repository: it has no diffs");
  std::string patch_file = r.session_diff;
  std::optional<DiffStat> stat = r.session_stat;
  std::string what = "the session";
  if (command.turn) {
    if (*command.turn > static_cast<int>(r.turns.size()))
      return fail("session " + r.id.substr(0, 8) + " has " + std::to_string(r.turns.size()) + " turns, not " +
                  std::to_string(*command.turn));
    const auto& turn = r.turns[static_cast<std::size_t>(*command.turn - 1)];
    patch_file = turn.diff;
    stat = turn.stat;
    what = "turn " + std::to_string(turn.index);
  }
  if (patch_file.empty())
    return fail("no diff for " + what + " yet" +
                (r.status == SessionRecord::Status::Running ? " (the session is still running, or died: sddsh recover)" : ""));
  if (command.stat) {
    std::printf("%s\n", stat_text(stat).c_str());
    return 0;
  }
  std::string patch = read_file(entry->dir + "/" + patch_file);
  const bool colour = command.colour == DiffCommand::Colour::Always ||
                      (command.colour == DiffCommand::Colour::Auto && isatty(1) == 1 && !std::getenv("NO_COLOR"));
  page(colour ? colour_patch(patch) : patch, command.pager);
  return 0;
}

int run_recover(const RecoverCommand& command) {
  auto store = this_store();
  if (!store) return fail(store.error().message);
  const auto reports = recorder::recover_store(*store, snapshot_max_file_size(), terminal_answers);
  int failures = 0;
  json list = json::array();
  for (const auto& report : reports) {
    using Outcome = recorder::RecoverReport::Outcome;
    const char* outcome = report.outcome == Outcome::Recovered ? "recovered"
                          : report.outcome == Outcome::Running ? "running"
                                                               : "failed";
    failures += report.outcome == Outcome::Failed;
    if (command.json) list.push_back({{"id", report.id}, {"outcome", outcome}, {"detail", report.detail}});
    else if (report.outcome == Outcome::Failed)
      std::fprintf(stderr, "sddsh: %s: cannot recover: %s\n", report.id.substr(0, 8).c_str(), report.detail.c_str());
    else
      std::printf("%-10s %s: %s\n", report.id.substr(0, 8).c_str(), outcome, report.detail.c_str());
  }
  if (command.json) std::printf("%s\n", list.dump(2).c_str());
  else if (reports.empty()) std::printf("Nothing to recover in %s.\n", store->sessions_dir().c_str());
  return failures ? 1 : 0;
}

}  // namespace sddsh::app
