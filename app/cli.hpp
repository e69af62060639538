#pragma once
// The command line: `sddsh [options] [--] AGENT [ARGS...]`, plus subcommands.
#include <sys/ioctl.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace sddsh::app {

struct RunOptions {
  std::vector<std::string> command;  // the agent and its arguments, passed through unchanged
  bool no_tui = false;
  char prefix_byte = 0x1d;       // the prefix key's byte: Ctrl-] by default
  std::string prefix_label = "C-]";
  bool panel = true;
  std::optional<winsize> size;
  std::optional<std::string> task_id;
  bool record_input = true;
  std::optional<std::string> agent_kind;  // --agent-kind: how to find its transcript
  bool redact_local = false;  // --redact-local: the bundle is redacted too, not only the uploads
  std::string ca_file;        // --ca-file: the remote tracker's CA (also SDDSH_TRACKER_CA_FILE)
  // --worktree (with --task): the agent works in the task's own git worktree, branch
  // sddsh/<task-id>, under --worktree-dir (default: the sibling folder <repo>.worktrees), after
  // --worktree-setup (a shell command run there first) succeeded. The two last serve the
  // worktrees of windows opened in the TUI too.
  bool worktree = false;
  std::string worktree_dir;
  std::string worktree_setup;
};

// `sddsh sessions`, `show`, `diff`, `recover`: the recorded sessions of this directory's store.
struct SessionsCommand {
  bool json = false;
  std::string task;  // --task ID: the task's sessions, local and on the remote tracker
  bool fetch = false;  // --fetch (with --task): download the remote ones into the store
  std::string ca_file;
};
struct ShowCommand {
  std::string session;  // id prefix, "last" or a bundle path
  bool json = false;
  bool conversation = false;  // the conversation, turn by turn, instead of the summary
};
// `sddsh export`: a session as Markdown (the conversation with per-turn diffstats), as JSON
// (session.json and the conversation), or as the asciicast.
struct ExportCommand {
  std::string session;
  enum class Format : unsigned char { Markdown, Json, Cast } format = Format::Markdown;
  std::string output;  // a file; empty: standard output
  bool redact = false;  // --redact: secrets replaced as in uploads (docs/redaction.md)
};
// `sddsh replay`: a recorded session played back in the terminal (docs/replay.md).
struct ReplayCommand {
  std::string session;  // id prefix, "last", a bundle path or a .cast file; empty with --task
  std::string task;     // --task ID: choose among the task's sessions, local and remote
  std::optional<int> pick;  // --pick N: the Nth of those (from 1), without asking
  std::string ca_file;
  double speed = 1.0;
  bool idle_limit = true;  // --no-idle-limit turns it off
};
// `sddsh hook`: run by the hooks sddsh gives an agent; reports the event to the running sddsh.
struct HookCommand {};

// `sddsh tasks`: the tracker's open tasks; --ready only those ready to start, --all also closed.
struct TasksCommand {
  std::string ca_file;
  bool ready = false;
  bool all = false;
  bool json = false;
  std::string type;  // "task", "epic", ...; empty: every type
};
// `sddsh task ACTION …`.
struct TaskCommand {
  enum class Action : unsigned char { Show, Claim, Start, Done, Reopen, Note, Add } action = Action::Show;
  std::string id;    // every action but add
  std::string text;  // note: the note; add: the title
  std::string reason;       // done --reason
  std::string description;  // add --description
  std::string type = "task";  // add --type
  std::string parent;         // add --parent ID
  std::string blocks;         // add --blocks ID: the new task blocks ID
  std::optional<int> priority;  // add --priority 0..4
  bool json = false;
  std::string ca_file;
};
// `sddsh dep add ISSUE DEPENDS_ON [--type blocks|parent-child|related|discovered-from]`.
struct DepCommand {
  std::string issue, depends_on;
  std::string type = "blocks";
  std::string ca_file;
};
// `sddsh import PATH`: a spec-kit tasks.md, or its spec dir.
struct ImportCommand {
  std::string path;
  bool json = false;
  std::string ca_file;
};
// `sddsh sync`: uploads what the outbox holds to the remote tracker.
struct SyncCommand {
  bool json = false;
  std::string ca_file;
};
struct DiffCommand {
  std::string session;
  std::optional<int> turn;
  enum class Colour : unsigned char { Auto, Always, Never } colour = Colour::Auto;
  bool stat = false;
  bool pager = true;
};
struct RecoverCommand {
  bool json = false;
};

// Parsing ended the job already: help, version, or an error. `exit_code` is what sddsh returns;
// `text` goes to stdout when the code is 0, else to stderr.
struct ExitNow {
  int exit_code = 0;
  std::string text;
};

using ParsedCommandLine =
    std::variant<RunOptions, ExitNow, SessionsCommand, ShowCommand, DiffCommand, RecoverCommand,
                 ExportCommand, HookCommand, TasksCommand, TaskCommand, DepCommand, ImportCommand,
                 SyncCommand, ReplayCommand>;

ParsedCommandLine parse_command_line(const std::vector<std::string>& args);

// "C-]", "C-a", "^B" → the control byte (0x1d, 0x01, 0x02); nothing when not a control key.
std::optional<char> parse_prefix(const std::string& text);

// "100x30" → 100 columns, 30 rows.
std::optional<winsize> parse_size(const std::string& text);

}  // namespace sddsh::app
