#include "app/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "sddsh_version.hpp"

namespace sddsh::app {

namespace {

// sddsh's own commands: split_at_agent takes a first word that is one of these as ours, not as
// the agent (an agent of that name runs with `sddsh -- NAME`).
constexpr std::array kCommands{"sessions", "show",   "diff", "recover", "export", "hook",
                               "tasks",    "task",   "dep",  "import",  "sync",   "replay"};

constexpr const char* kUsage = "Usage: sddsh [OPTIONS] [--] AGENT [ARGS...]";

constexpr const char* kFooter =
    "\nAGENT is any command (claude, gemini, codex, copilot, ...); its arguments pass through\n"
    "unchanged. Put -- before an agent whose name starts with '-' or is one of the commands.\n"
    "'sddsh COMMAND --help' for each.";

ExitNow usage_error(const std::string& message) {
  return ExitNow{2, "sddsh: " + message + "\n" + kUsage + "\nTry 'sddsh --help' for more.\n"};
}

// CLI11 2.1 has no setter for the usage line; its formatter is the place for it.
class SddshFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_parent() != nullptr) return CLI::Formatter::make_usage(app, std::move(name));
    return std::string(kUsage) + "\n";
  }
};

// CLI11's messages name the option; ours keep the shell's one-line style.
std::string one_line(std::string message) {
  if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
  return message;
}

}  // namespace

std::optional<winsize> parse_size(const std::string& text) {
  auto x = text.find('x');
  if (x == std::string::npos) return std::nullopt;
  unsigned cols = 0, rows = 0;
  auto parse = [](std::string_view part, unsigned& out) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && end == part.data() + part.size() && out >= 1 && out <= 9999;
  };
  std::string_view view(text);
  if (!parse(view.substr(0, x), cols) || !parse(view.substr(x + 1), rows)) return std::nullopt;
  return winsize{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
}

namespace {

struct SplitArguments {
  std::vector<std::string> ours;   // sddsh's options (and a subcommand with its arguments)
  std::vector<std::string> agent;  // the agent command, untouched
};

// The agent command starts at the first argument that is neither an option of ours nor the
// value of one, or right after "--". CLI11's own option table says which options take values.
SplitArguments split_at_agent(const CLI::App& app, const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--") return {{args.begin(), args.begin() + i}, {args.begin() + i + 1, args.end()}};
    if (!arg.starts_with("-") || arg == "-") {
      if (std::ranges::any_of(kCommands, [&](const char* name) { return arg == name; })) return {args, {}};
      return {{args.begin(), args.begin() + i}, {args.begin() + i, args.end()}};
    }
    const auto* option = app.get_option_no_throw(arg.substr(0, arg.find('=')));
    bool takes_value = option && option->get_expected_min() > 0 && arg.find('=') == std::string::npos;
    if (takes_value) ++i;
  }
  return {args, {}};
}

// Every command that talks to a remote tracker takes its CA; it wins over SDDSH_TRACKER_CA_FILE
// and the config file's.
void add_ca_file(CLI::App* command, std::string& ca_file) {
  command->add_option("--ca-file", ca_file, "The remote tracker's CA certificate (PEM), to verify its TLS")
      ->type_name("FILE");
}

}  // namespace

std::optional<char> parse_prefix(const std::string& text) {
  std::string key;
  if (text.size() == 3 && (text.starts_with("C-") || text.starts_with("c-"))) key = text.substr(2);
  else if (text.size() == 2 && text[0] == '^') key = text.substr(1);
  if (key.size() != 1) return std::nullopt;
  char c = key[0];
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  // Ctrl turns '@', 'A'..'Z', '[', '\\', ']', '^', '_' into 0x00..0x1f.
  if (c < '@' || c > '_') return std::nullopt;
  return static_cast<char>(c - '@');
}

ParsedCommandLine parse_command_line(const std::vector<std::string>& args) {
  CLI::App app{"sddsh — the agent shell of spec-driven development.\n"
               "Runs a coding-agent CLI in a terminal of its own and records the session.",
               "sddsh"};
  app.formatter(std::make_shared<SddshFormatter>());
  app.footer(kFooter);

  RunOptions run;
  std::string size_text;
  std::string task;
  bool show_version = false;
  app.add_flag("--no-tui", run.no_tui, "Pass the agent's terminal through unchanged, like script(1)");
  app.add_option("--size", size_text,
                 "The agent's terminal size when there is no terminal to take it from "
                 "(default 80x24)")
      ->type_name("COLSxROWS");
  app.add_option("--task", task, "Start on this task (sets SDDSH_TASK_ID for the agent)")
      ->type_name("ID");
  std::string prefix;
  app.add_option("--prefix", prefix, "The prefix key for sddsh's own commands (default C-])")
      ->type_name("KEY");
  bool no_panel = false;
  app.add_flag("--no-panel", no_panel, "Start with the side panel hidden (prefix s shows it)");
  bool no_record_input = false;
  app.add_flag("--no-record-input", no_record_input,
               "Leave the keys typed out of the terminal recording (prompts are still kept)");
  std::string agent_kind;
  app.add_option("--agent-kind", agent_kind,
                 "Which agent this is, when its name does not say: claude, gemini, copilot, "
                 "codex or generic (decides where its transcript is found)")
      ->type_name("KIND")
      ->check(CLI::IsMember({"claude", "gemini", "copilot", "codex", "generic"}));
  app.add_flag("--redact-local", run.redact_local,
               "Redact secrets in this session's local bundle too (uploads are always redacted)");
  app.add_flag("--worktree", run.worktree,
               "With --task: work in the task's own git worktree (branch sddsh/ID), made if missing");
  app.add_option("--worktree-dir", run.worktree_dir,
                 "Where task worktrees go (default: <repo>.worktrees beside the repository)")
      ->type_name("DIR");
  app.add_option("--worktree-setup", run.worktree_setup,
                 "A shell command run in a new worktree before the agent starts (e.g. 'npm ci')")
      ->type_name("CMD");
  add_ca_file(&app, run.ca_file);
  app.add_flag("-V,--version", show_version, "Print the version and exit");

  SessionsCommand sessions;
  auto* sessions_app = app.add_subcommand("sessions", "List the recorded sessions, newest first");
  sessions_app->add_flag("--json", sessions.json, "One JSON array, for scripts");
  sessions_app->add_option("--task", sessions.task, "Only this task's sessions, here and on the remote tracker")
      ->type_name("ID");
  sessions_app->add_flag("--fetch", sessions.fetch,
                         "With --task: download the task's sessions from the remote tracker into the store");
  add_ca_file(sessions_app, sessions.ca_file);
  ShowCommand show;
  auto* show_app = app.add_subcommand("show", "Summarize a session: turns, prompts, changes");
  show_app->add_option("SESSION", show.session, "An id prefix, 'last' (the default) or a bundle path");
  show_app->add_flag("--json", show.json, "The session's session.json");
  show_app->add_flag("--conversation", show.conversation,
                     "The conversation turn by turn: prompts, answers, tool calls");
  DiffCommand diff;
  std::string colour = "auto";
  bool no_pager = false;
  auto* diff_app = app.add_subcommand("diff", "Show a session's changes (or one turn's) as a patch");
  diff_app->add_option("SESSION", diff.session, "An id prefix, 'last' (the default) or a bundle path");
  diff_app->add_option("--turn", diff.turn, "Only this turn's changes")->type_name("N")->check(CLI::PositiveNumber);
  diff_app->add_flag("--stat", diff.stat, "Only the files changed, with counts");
  diff_app->add_option("--color,--colour", colour, "auto, always or never")
      ->type_name("WHEN")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  diff_app->add_flag("--no-pager", no_pager, "Print straight to the output, even on a terminal");
  RecoverCommand recover;
  auto* recover_app = app.add_subcommand("recover", "Finish the sessions whose sddsh died (kill -9, power loss)");
  recover_app->add_flag("--json", recover.json, "One JSON array, for scripts");
  ExportCommand export_command;
  std::string export_format = "md";
  auto* export_app = app.add_subcommand(
      "export", "Export a session: md (the conversation), json, or cast (for asciinema)");
  export_app->add_option("SESSION", export_command.session,
                         "An id prefix, 'last' (the default) or a bundle path");
  export_app->add_option("--format,-f", export_format, "md, json or cast (default md)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"md", "markdown", "json", "cast", "asciicast"}));
  export_app->add_option("--output,-o", export_command.output, "Write to FILE instead of the output")
      ->type_name("FILE");
  export_app->add_flag("--redact", export_command.redact,
                       "Replace secrets (tokens, keys, secret environment values) as uploads do");
  ReplayCommand replay;
  bool no_idle_limit = false;
  auto* replay_app = app.add_subcommand(
      "replay", "Replay a recorded session in the terminal, with its turns, diffs and conversation");
  replay_app->add_option("SESSION", replay.session,
                         "An id prefix, 'last' (the default), a bundle path or a .cast file");
  replay_app->add_option("--task", replay.task,
                         "Choose among the sessions of this task, here and on the remote tracker")
      ->type_name("ID");
  replay_app->add_option("--pick", replay.pick, "With --task: replay the Nth of its sessions without asking")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  replay_app->add_option("--speed", replay.speed, "Start at this speed, 0.25 to 16 (default 1; + and - change it)")
      ->type_name("X")
      ->check(CLI::Range(0.25, 16.0));
  replay_app->add_flag("--no-idle-limit", no_idle_limit,
                       "Keep pauses as long as they were (by default pauses over 2 s are cut; i toggles)");
  add_ca_file(replay_app, replay.ca_file);
  auto* hook_app = app.add_subcommand(
      "hook", "Report an agent's hook event (JSON on stdin) to the sddsh running it; "
              "run by the hooks sddsh gives the agent, not by hand");
  TasksCommand tasks;
  auto* tasks_app = app.add_subcommand("tasks", "List the tracker's open tasks (--ready: ready work only)");
  tasks_app->add_flag("--ready", tasks.ready, "Only tasks ready to start: open, nothing blocking them");
  tasks_app->add_flag("--all", tasks.all, "Closed tasks too");
  tasks_app->add_flag("--json", tasks.json, "One JSON array (Beads' fields), for scripts");
  tasks_app->add_option("--type", tasks.type, "Only this type: epic, feature, task, bug or chore")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"epic", "feature", "task", "bug", "chore"}));
  add_ca_file(tasks_app, tasks.ca_file);
  TaskCommand task_command;
  auto* task_app = app.add_subcommand("task", "Show, claim, start, finish, reopen, note or add a task");
  task_app->require_subcommand(1);
  struct TaskAction {
    const char* name;
    TaskCommand::Action action;
    const char* what;
  };
  for (const auto& [name, action, what] :
       {TaskAction{"show", TaskCommand::Action::Show, "A task with its dependencies"},
        TaskAction{"claim", TaskCommand::Action::Claim, "Take an open task (atomic: one claimer wins)"},
        TaskAction{"start", TaskCommand::Action::Start, "Claim a task and print its brief for an agent"},
        TaskAction{"done", TaskCommand::Action::Done, "Close a task"},
        TaskAction{"reopen", TaskCommand::Action::Reopen, "Open a closed task again"},
        TaskAction{"note", TaskCommand::Action::Note, "Add a note to a task"}}) {
    auto* sub = task_app->add_subcommand(name, what);
    sub->add_option("ID", task_command.id, "The task's id")->required();
    sub->add_flag("--json", task_command.json, "The task as JSON");
    add_ca_file(sub, task_command.ca_file);
    if (action == TaskCommand::Action::Note) sub->add_option("TEXT", task_command.text, "The note")->required();
    if (action == TaskCommand::Action::Done) sub->add_option("--reason", task_command.reason, "Why it is closed")->type_name("TEXT");
    sub->callback([&task_command, action = action] { task_command.action = action; });
  }
  auto* add_app = task_app->add_subcommand("add", "Create a task");
  add_app->add_option("TITLE", task_command.text, "The title")->required();
  add_app->add_option("--description,-d", task_command.description, "What it is about")->type_name("TEXT");
  add_app->add_option("--type,-t", task_command.type, "epic, feature, task (default), bug or chore")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"epic", "feature", "task", "bug", "chore"}));
  add_app->add_option("--parent", task_command.parent, "Its epic or feature")->type_name("ID");
  add_app->add_option("--blocks", task_command.blocks, "A task that cannot start before this one is done")->type_name("ID");
  add_app->add_option("--priority,-p", task_command.priority, "0 (highest) to 4; default 2")
      ->type_name("N")
      ->check(CLI::Range(0, 4));
  add_app->add_flag("--json", task_command.json, "The task as JSON");
  add_ca_file(add_app, task_command.ca_file);
  add_app->callback([&task_command] { task_command.action = TaskCommand::Action::Add; });
  DepCommand dep;
  auto* dep_app = app.add_subcommand("dep", "Add a dependency between two tasks");
  dep_app->require_subcommand(1);
  auto* dep_add = dep_app->add_subcommand("add", "ISSUE depends on DEPENDS_ON (by default: is blocked by it)");
  dep_add->add_option("ISSUE", dep.issue, "The task that depends")->required();
  dep_add->add_option("DEPENDS_ON", dep.depends_on, "The task it depends on (for parent-child: its parent)")->required();
  dep_add->add_option("--type,-t", dep.type, "blocks (default), parent-child, related or discovered-from")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"blocks", "parent-child", "related", "discovered-from"}));
  add_ca_file(dep_add, dep.ca_file);
  ImportCommand import_command;
  auto* import_app = app.add_subcommand("import", "Import a spec-kit tasks.md (or the spec dir holding it) as tasks");
  import_app->add_option("PATH", import_command.path, "specs/NNN-name/tasks.md, or specs/NNN-name")->required();
  import_app->add_flag("--json", import_command.json, "What was created, updated and skipped, as JSON");
  add_ca_file(import_app, import_command.ca_file);
  SyncCommand sync;
  auto* sync_app = app.add_subcommand("sync", "Upload the sessions queued for the remote tracker, with progress");
  sync_app->add_flag("--json", sync.json, "Only a summary, as JSON");
  add_ca_file(sync_app, sync.ca_file);

  auto [ours, agent] = split_at_agent(app, args);
  std::vector<std::string> reversed(ours.rbegin(), ours.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    // The help of the innermost command given: `sddsh task claim --help` is claim's.
    const CLI::App* asked = &app;
    while (!asked->get_subcommands().empty()) asked = asked->get_subcommands().front();
    return ExitNow{0, asked->help()};
  } catch (const CLI::ExtrasError&) {
    for (const auto& arg : ours)
      if (arg.starts_with("-") && !app.get_option_no_throw(arg.substr(0, arg.find('='))))
        return usage_error("unknown option: " + arg);
    return usage_error("unexpected arguments");
  } catch (const CLI::ParseError& e) {
    return usage_error(one_line(e.what()));
  }
  if (show_version) return ExitNow{0, std::string("sddsh ") + version + "\n"};
  if (sessions_app->parsed()) {
    if (sessions.fetch && sessions.task.empty()) return usage_error("sessions: --fetch needs --task ID");
    return sessions;
  }
  if (show_app->parsed()) {
    if (show.session.empty()) show.session = "last";
    return show;
  }
  if (diff_app->parsed()) {
    if (diff.session.empty()) diff.session = "last";
    diff.colour = colour == "always" ? DiffCommand::Colour::Always
                  : colour == "never" ? DiffCommand::Colour::Never
                                      : DiffCommand::Colour::Auto;
    diff.pager = !no_pager;
    return diff;
  }
  if (recover_app->parsed()) return recover;
  if (export_app->parsed()) {
    if (export_command.session.empty()) export_command.session = "last";
    export_command.format = export_format == "json" ? ExportCommand::Format::Json
                            : export_format == "cast" || export_format == "asciicast"
                                ? ExportCommand::Format::Cast
                                : ExportCommand::Format::Markdown;
    return export_command;
  }
  if (replay_app->parsed()) {
    if (!replay.task.empty() && !replay.session.empty())
      return usage_error("replay: give a SESSION or --task ID, not both");
    if (replay.pick && replay.task.empty()) return usage_error("replay: --pick needs --task ID");
    if (replay.session.empty() && replay.task.empty()) replay.session = "last";
    replay.idle_limit = !no_idle_limit;
    return replay;
  }
  if (hook_app->parsed()) return HookCommand{};
  if (tasks_app->parsed()) return tasks;
  if (task_app->parsed()) return task_command;
  if (dep_app->parsed()) return dep;
  if (import_app->parsed()) return import_command;
  if (sync_app->parsed()) return sync;

  if (agent.empty()) return usage_error("no agent given (for example: sddsh claude)");
  run.command = std::move(agent);
  if (!size_text.empty()) {
    run.size = parse_size(size_text);
    if (!run.size) return usage_error("--size: expected COLSxROWS like 100x30, got '" + size_text + "'");
  }
  if (!task.empty()) run.task_id = task;
  // --worktree-dir and --worktree-setup also serve the worktrees of windows opened later, so
  // they stand without --task; --worktree itself is the first agent's, on its task.
  if (run.worktree && !run.task_id) return usage_error("--worktree needs --task ID (the worktree is the task's)");
  if (!prefix.empty()) {
    auto byte = parse_prefix(prefix);
    if (!byte) return usage_error("--prefix: expected a control key like C-] or C-a, got '" + prefix + "'");
    run.prefix_byte = *byte;
    run.prefix_label = "C-" + std::string(1, static_cast<char>(std::tolower(prefix.back())));
  }
  run.panel = !no_panel;
  run.record_input = !no_record_input;
  if (!agent_kind.empty()) run.agent_kind = agent_kind;
  return run;
}

}  // namespace sddsh::app
