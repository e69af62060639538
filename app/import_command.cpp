#include "app/import_command.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/session_text.hpp"
#include "app/task_commands.hpp"
#include "tracker-client/import_report.hpp"
#include "tracker-client/remote_tracker.hpp"
#include "tracker-client/speckit_import.hpp"

namespace sddsh::app {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using tracker::ImportCounts;
using tracker::ImportPlan;
using tracker::ImportReport;

// Exit codes: 0 when every line imported. 1 when some lines (or dependencies) were skipped and
// the rest imported, as for any other error of sddsh (no file, no phases, a tracker error);
// scripts tell the two apart with --json, which prints a report only when something imported.
// (2 stays CLI11's, for usage errors.)
constexpr int kImported = 0;
constexpr int kPartlyImported = 1;

// PATH names tasks.md itself (any file name will do) or the spec dir holding tasks.md.
Result<fs::path> tasks_file(const std::string& path) {
  std::error_code error;
  fs::path file = path;
  if (fs::is_directory(file, error)) file /= "tasks.md";
  if (!fs::is_regular_file(file, error))
    return Failure{
        Error{ENOENT, file.string() + ": no such file (give a tasks.md or its spec dir)"}};
  return file;
}

Result<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) return system_failure("read " + file.string());
  return text.str();
}

// The top of the git working tree (or worktree) holding `dir`; empty outside repositories.
fs::path work_tree_top(fs::path dir) {
  for (;;) {
    std::error_code error;
    if (fs::exists(dir / ".git", error)) return dir;
    if (!dir.has_relative_path()) return {};
    dir = dir.parent_path();
  }
}

// How spec_ref.dir names the spec dir. Relative to the top of the repository we work in (or,
// outside repositories, to the working directory) when the spec dir is inside it: then every
// import from anywhere in the repository, and from any of its worktrees, names the same epic
// ("specs/001-python-console-todo"). Its absolute path otherwise.
std::string spec_dir_name(const fs::path& file) {
  std::error_code error;
  const fs::path dir = fs::weakly_canonical(fs::absolute(file), error).parent_path();
  const fs::path cwd = fs::weakly_canonical(fs::current_path(), error);
  fs::path base = work_tree_top(cwd);
  if (base.empty()) base = cwd;
  const fs::path relative = dir.lexically_relative(base);
  if (relative.empty() || *relative.begin() == "..") return dir.generic_string();
  return relative.generic_string();
}

std::string counts_text(const ImportCounts& counts) {
  return std::to_string(counts.created) + " created, " + std::to_string(counts.updated) +
         " updated, " + std::to_string(counts.unchanged) + " unchanged";
}

json counts_json(const ImportCounts& counts, std::size_t total) {
  return {{"total", total},
          {"created", counts.created},
          {"updated", counts.updated},
          {"unchanged", counts.unchanged}};
}

const char* epic_state(const ImportCounts& counts) {
  return counts.created ? "created" : counts.updated ? "updated" : "unchanged";
}

void print_summary(const ImportPlan& plan, const ImportReport& report) {
  std::printf("epic %s: %s (%s), %s\n", report.epic_id.c_str(), plan.title.c_str(),
              plan.spec_dir.c_str(), epic_state(report.epic));
  std::printf("%zu features: %s\n", plan.phases.size(), counts_text(report.features).c_str());
  std::printf("%zu tasks: %s\n", plan.task_count(), counts_text(report.tasks).c_str());
  std::printf("%d dependencies added\n", report.edges_added);
  for (const auto& gone : report.vanished)
    std::printf("vanished from the file (kept in the tracker): %s %s %s\n",
                gone.task_id.empty() ? "phase" : gone.task_id.c_str(), gone.id.c_str(),
                gone.title.c_str());
}

void print_problems(const std::string& file, const std::vector<tracker::ImportProblem>& problems) {
  for (const auto& problem : problems)
    std::fprintf(stderr, "%s:%d: %s\n", file.c_str(), problem.line, problem.message.c_str());
}

json report_json(const std::string& file, const ImportPlan& plan, const ImportReport& report) {
  json vanished = json::array();
  for (const auto& gone : report.vanished)
    vanished.push_back({{"task_id", gone.task_id.empty() ? json(nullptr) : json(gone.task_id)},
                        {"id", gone.id},
                        {"title", gone.title}});
  json problems = json::array();
  for (const auto& problem : report.problems)
    problems.push_back({{"file", file}, {"line", problem.line}, {"message", problem.message}});
  json epic = counts_json(report.epic, 1);
  epic.erase("total");
  epic["id"] = report.epic_id;
  epic["title"] = plan.title;
  return {{"file", file},
          {"spec_dir", plan.spec_dir},
          {"epic", std::move(epic)},
          {"features", counts_json(report.features, plan.phases.size())},
          {"tasks", counts_json(report.tasks, plan.task_count())},
          {"dependencies_added", report.edges_added},
          {"vanished", std::move(vanished)},
          {"problems", std::move(problems)}};
}

// A remote tracker imports in one request, with the same importer on its side (one round trip
// instead of one per task, and atomic per project there); the local one applies the plan here.
Result<ImportReport> import_into(tracker::Tracker& tracker, const ImportPlan& plan,
                                 const std::string& text) {
  auto* remote = dynamic_cast<tracker::RemoteTracker*>(&tracker);
  if (!remote) return tracker::apply_import(tracker, plan);
  auto reply = remote->import_tasks_md(plan.spec_dir, text);
  if (!reply) return Failure{reply.error()};
  return tracker::import_report_from_json(*reply);
}

}  // namespace

int run_import(const ImportCommand& command) {
  auto file = tasks_file(command.path);
  if (!file) return fail(file.error().message);
  auto text = read_text(*file);
  if (!text) return fail(text.error().message);
  const std::string name = file->string();
  ImportPlan plan = tracker::parse_tasks_md(*text, spec_dir_name(*file));
  if (plan.phases.empty()) {
    print_problems(name, plan.problems);
    return fail(name + ": no phases (\"## Phase 1: Setup\", …) found; nothing imported");
  }
  auto tracker = open_tracker(command.ca_file);
  if (!tracker) return fail(tracker.error().message);
  auto report = import_into(**tracker, plan, *text);
  if (!report)
    return fail("import stopped: " + report.error().message + " (importing again finishes it)");
  if (command.json) {
    std::printf("%s\n", report_json(name, plan, *report).dump(2).c_str());
  } else {
    print_problems(name, report->problems);
    print_summary(plan, *report);
    if (!report->problems.empty())
      std::fprintf(stderr, "sddsh: %zu problem(s) above were skipped; the rest was imported\n",
                   report->problems.size());
  }
  return report->problems.empty() ? kImported : kPartlyImported;
}

}  // namespace sddsh::app
