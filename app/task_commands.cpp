#include "app/task_commands.hpp"

#include <git2.h>
#include <langinfo.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "app/session_text.hpp"
#include "app/task_text.hpp"
#include "recorder/git_snapshot.hpp"
#include "recorder/store.hpp"
#include "tracker-client/local_tracker.hpp"
#include "tracker-client/remote_config.hpp"
#include "tracker-client/remote_tracker.hpp"

namespace sddsh::app {

namespace {

using nlohmann::json;
using tracker::Task;
using tracker::Tracker;

// The files of a spec-kit feature directory an agent should read before it starts, in the
// order spec-kit writes them.
constexpr const char* kSpecFiles[] = {"spec.md",       "plan.md",       "tasks.md", "research.md",
                                      "data-model.md", "quickstart.md", "contracts"};

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string current_directory() {
  char path[4096];
  return ::getcwd(path, sizeof path) ? path : ".";
}

// user.name from git's configuration as seen from `directory`: the repository's (which
// includes the global one), else the global one alone.
std::string git_user_name(const std::string& directory) {
  struct Library {  // git_libgit2_init is reference counted; this holds one count
    Library() { git_libgit2_init(); }
    ~Library() { git_libgit2_shutdown(); }
  } library;
  git_repository* raw_repository = nullptr;
  git_config* raw_config = nullptr;
  if (git_repository_open_ext(&raw_repository, directory.c_str(), 0, nullptr) == 0)
    git_repository_config(&raw_config, raw_repository);
  else
    git_config_open_default(&raw_config);
  std::unique_ptr<git_repository, decltype(&git_repository_free)> repository(raw_repository,
                                                                             git_repository_free);
  std::unique_ptr<git_config, decltype(&git_config_free)> config(raw_config, git_config_free);
  struct Buffer {
    git_buf text = GIT_BUF_INIT;
    ~Buffer() { git_buf_dispose(&text); }
  } value;
  std::string name;
  if (config && git_config_get_string_buf(&value.text, config.get(), "user.name") == 0 &&
      value.text.ptr)
    name.assign(value.text.ptr, value.text.size);
  return name;
}

std::string login_name() {
  if (std::string user = environment("USER"); !user.empty()) return user;
  if (const passwd* entry = ::getpwuid(::geteuid()); entry && entry->pw_name) return entry->pw_name;
  return "unknown";
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// Titles are cut and padded by display width, which wcwidth knows only in a UTF-8 locale
// (sddsh's main sets one for the TUI alone).
void use_utf8_ctype() {
  std::setlocale(LC_CTYPE, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

TextStyle output_style() {
  use_utf8_ctype();
  TextStyle style;
  const bool terminal = ::isatty(1) == 1;
  style.colour = terminal && std::getenv("NO_COLOR") == nullptr;
  winsize size{};
  if (terminal && ::ioctl(1, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    style.width = size.ws_col;
  else if (long columns = std::strtol(environment("COLUMNS").c_str(), nullptr, 10); columns > 0)
    style.width = static_cast<std::size_t>(columns);
  return style;
}

void print_json(const json& value) {
  std::printf("%s\n", value.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

// "1a2b" for "sd-1a2b": the prefix may be left out when the id is typed by hand.
std::string resolve_id(Tracker& tracker, const std::string& id) {
  if (id.rfind("sd-", 0) == 0 || tracker.get(id)) return id;
  return tracker.get("sd-" + id) ? "sd-" + id : id;
}

// Either prints the task (as JSON or as `message`) and returns 0, or reports the failure.
int report(const Result<Task>& task, bool as_json, const std::string& message) {
  if (!task) return fail(task.error().message);
  if (as_json)
    print_json(tracker::to_json(*task));
  else
    std::printf("%s\n", message.c_str());
  return 0;
}

std::string labelled(const char* verb, const Task& task) {
  return std::string(verb) + " " + task.id + ": " + task.title;
}

std::string empty_tracker_hint() {
  return "No tasks yet. Import a spec-kit plan with `sddsh import specs/NNN-name`, or add one with "
         "`sddsh task add TITLE`.";
}

// What to say instead of an empty table.
std::string nothing_listed(Tracker& tracker, const TasksCommand& command) {
  auto everything = tracker.list({.include_closed = true});
  if (everything && everything->empty()) return empty_tracker_hint();
  if (command.ready)
    return "Nothing is ready: every open task is claimed or waits for another. `sddsh tasks` lists "
           "them.";
  if (!command.type.empty())
    return "No " + std::string(command.all ? "" : "open ") + command.type + " tasks.";
  return "No open tasks. `sddsh tasks --all` lists the closed ones too.";
}

Result<std::vector<Task>> tasks_for(Tracker& tracker, const TasksCommand& command) {
  std::optional<tracker::IssueType> type;
  if (!command.type.empty()) type = tracker::parse_issue_type(command.type);
  if (command.ready) return tracker.ready({.type = type});
  return tracker.list({.type = type, .include_closed = command.all});
}

std::vector<TaskEdge> edges_of(Tracker& tracker, const Task& task) {
  std::vector<TaskEdge> edges;
  auto dependencies = tracker.dependencies(task.id);
  if (!dependencies) return edges;
  for (const auto& edge : *dependencies) {
    const std::string& other = edge.issue_id == task.id ? edge.depends_on_id : edge.issue_id;
    auto other_task = tracker.get(other);
    edges.push_back({edge, other_task ? std::optional<Task>(*other_task) : std::nullopt});
  }
  return edges;
}

int show_task(Tracker& tracker, const std::string& id, bool as_json) {
  auto task = tracker.get(id);
  if (!task) return fail(task.error().message);
  const std::vector<TaskEdge> edges = edges_of(tracker, *task);
  if (!as_json) {
    std::fputs(task_details(*task, edges, output_style()).c_str(), stdout);
    return 0;
  }
  json out = tracker::to_json(*task);
  out["dependencies"] = json::array();
  out["dependents"] = json::array();
  for (const auto& edge : edges)
    out[edge.dependency.issue_id == task->id ? "dependencies" : "dependents"].push_back(
        tracker::to_json(edge.dependency));
  print_json(out);
  return 0;
}

int start_task(Tracker& tracker, const std::string& id, bool as_json) {
  auto task = tracker.claim(id, current_actor());
  if (!task) return fail(task.error().message);
  const std::string brief = task_brief(*task);
  if (as_json) {
    json out = tracker::to_json(*task);
    out["brief"] = brief;
    print_json(out);
  } else {
    std::fputs(brief.c_str(), stdout);
  }
  return 0;
}

std::set<std::string> ready_now(Tracker& tracker) {
  std::set<std::string> ids;
  if (auto ready = tracker.ready({}); ready)
    for (const auto& task : *ready) ids.insert(task.id);
  return ids;
}

// After a close: the parents that closed with it and the work it let go.
void print_consequences(Tracker& tracker, const Task& closed,
                        const std::set<std::string>& ready_before) {
  std::vector<std::string> parents{closed.id};
  for (std::size_t i = 0; i < parents.size(); ++i) {
    auto edges = tracker.dependencies(parents[i]);
    if (!edges) break;
    for (const auto& edge : *edges) {
      if (edge.type != tracker::DependencyType::ParentChild || edge.issue_id != parents[i])
        continue;
      auto parent = tracker.get(edge.depends_on_id);
      if (!parent || parent->status != tracker::Status::Closed ||
          parent->closed_at < closed.closed_at)
        continue;
      std::printf("%s\n", labelled("Closed too (all its children are closed):", *parent).c_str());
      parents.push_back(parent->id);
    }
  }
  auto ready = tracker.ready({});
  if (!ready) return;
  for (const auto& task : *ready)
    if (!ready_before.count(task.id)) std::printf("%s\n", labelled("Ready now:", task).c_str());
}

int close_task(Tracker& tracker, const TaskCommand& command, const std::string& id) {
  auto before = tracker.get(id);
  if (!before) return fail(before.error().message);
  const bool was_closed = before->status == tracker::Status::Closed;
  const std::set<std::string> ready_before =
      command.json ? std::set<std::string>{} : ready_now(tracker);
  auto task = tracker.close(id, command.reason, environment("SDDSH_SESSION_ID"));
  if (!task || command.json) return report(task, command.json, "");
  std::printf("%s\n", labelled(was_closed ? "Already closed:" : "Closed", *task).c_str());
  if (!was_closed) print_consequences(tracker, *task, ready_before);
  return 0;
}

int add_task(Tracker& tracker, const TaskCommand& command) {
  tracker::NewTask request;
  request.title = command.text;
  request.description = command.description;
  request.issue_type = tracker::parse_issue_type(command.type).value_or(tracker::IssueType::Task);
  request.priority = command.priority.value_or(2);
  if (!command.parent.empty()) request.parent = resolve_id(tracker, command.parent);
  std::string blocks;
  if (!command.blocks.empty()) {
    blocks = resolve_id(tracker, command.blocks);
    if (auto target = tracker.get(blocks); !target) return fail(target.error().message);
  }
  auto task = tracker.create(request);
  if (!task) return fail(task.error().message);
  if (!blocks.empty()) {
    auto added = tracker.add_dependency({blocks, task->id, tracker::DependencyType::Blocks, ""});
    if (!added) return fail("created " + task->id + ", but " + added.error().message);
  }
  return report(task, command.json, labelled("Created", *task));
}

}  // namespace

const tracker::RetryPolicy kInteractiveRetryPolicy{.max_attempts = 2,
                                                  .first_backoff = std::chrono::milliseconds(100),
                                                  .max_backoff = std::chrono::milliseconds(500),
                                                  .connect_timeout = std::chrono::seconds(2),
                                                  .request_timeout = std::chrono::seconds(5)};

Result<std::unique_ptr<Tracker>> open_tracker(const std::string& ca_file, bool interactive) {
  auto remote = tracker::load_remote_config(ca_file);
  if (!remote) return Failure{remote.error()};
  if (*remote)
    return std::unique_ptr<Tracker>(interactive ? std::make_unique<tracker::RemoteTracker>(**remote, kInteractiveRetryPolicy)
                                                : std::make_unique<tracker::RemoteTracker>(**remote));
  auto store = this_store();
  if (!store) return Failure{store.error()};
  if (auto made = recorder::make_directories(store->root); !made) return Failure{made.error()};
  return tracker::open_local_tracker(store->root + "/" + tracker::kLocalTrackerFile);
}

std::string current_actor() {
  if (std::string actor = environment("SDDSH_ACTOR"); !actor.empty()) return actor;
  if (std::string name = git_user_name(current_directory()); !name.empty()) return name;
  return login_name();
}

// Where an imported task's spec dir is from here: the importer stores it relative to the top of
// the working tree (or absolute), while the agent may run in a subdirectory.
std::string spec_dir_from_here(const std::string& dir) {
  if (dir.empty() || dir.front() == '/' || exists(dir)) return dir;
  if (auto facts = recorder::read_git_facts(current_directory()); facts && facts->in_repository) {
    std::string top = facts->workdir;
    if (!top.empty() && top.back() != '/') top += '/';
    if (exists(top + dir)) return top + dir;
  }
  return dir;
}

std::string task_brief(const Task& task) {
  std::vector<std::string> files;
  if (task.spec_ref && !task.spec_ref->dir.empty()) {
    const std::string dir = spec_dir_from_here(task.spec_ref->dir);
    for (const char* file : kSpecFiles)
      if (std::string path = dir + "/" + file; exists(path)) files.push_back(path);
  }
  return brief_text(task, files);
}

int run_tasks(const TasksCommand& command) {
  auto opened = open_tracker(command.ca_file);
  if (!opened) return fail(opened.error().message);
  Tracker& tracker = **opened;
  auto tasks = tasks_for(tracker, command);
  if (!tasks) return fail(tasks.error().message);
  if (command.json) {
    json list = json::array();
    for (const auto& task : *tasks) list.push_back(tracker::to_json(task));
    print_json(list);
  } else if (tasks->empty()) {
    std::printf("%s\n", nothing_listed(tracker, command).c_str());
  } else {
    std::fputs(task_table(*tasks, output_style()).c_str(), stdout);
  }
  return 0;
}

int run_task(const TaskCommand& command) {
  auto opened = open_tracker(command.ca_file);
  if (!opened) return fail(opened.error().message);
  Tracker& tracker = **opened;
  using Action = TaskCommand::Action;
  if (command.action == Action::Add) return add_task(tracker, command);
  const std::string id = resolve_id(tracker, command.id);
  switch (command.action) {
    case Action::Show:
      return show_task(tracker, id, command.json);
    case Action::Claim: {
      auto task = tracker.claim(id, current_actor());
      return report(task, command.json,
                    task ? labelled("Claimed", *task) + " (as " + task->assignee + ")" : "");
    }
    case Action::Start:
      return start_task(tracker, id, command.json);
    case Action::Done:
      return close_task(tracker, command, id);
    case Action::Reopen: {
      auto task = tracker.reopen(id);
      return report(task, command.json, task ? labelled("Reopened", *task) : "");
    }
    case Action::Note: {
      auto task = tracker.add_note(id, command.text, current_actor());
      return report(task, command.json, task ? "Noted on " + task->id : "");
    }
    case Action::Add:
      break;
  }
  return fail("unknown task action");
}

int run_dep(const DepCommand& command) {
  auto opened = open_tracker(command.ca_file);
  if (!opened) return fail(opened.error().message);
  Tracker& tracker = **opened;
  auto type = tracker::parse_dependency_type(command.type);
  if (!type) return fail("unknown dependency type " + command.type);
  const std::string issue = resolve_id(tracker, command.issue);
  const std::string depends_on = resolve_id(tracker, command.depends_on);
  auto added = tracker.add_dependency({issue, depends_on, *type, ""});
  if (!added) return fail(added.error().message);
  const char* relation = *type == tracker::DependencyType::Blocks        ? "now waits for"
                         : *type == tracker::DependencyType::ParentChild ? "is now part of"
                         : *type == tracker::DependencyType::Related     ? "is now related to"
                                                                         : "was discovered from";
  std::printf("%s %s %s\n", issue.c_str(), relation, depends_on.c_str());
  return 0;
}

}  // namespace sddsh::app
