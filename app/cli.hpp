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
};

// `sddsh sessions`, `show`, `diff`, `recover`: the recorded sessions of this directory's store.
struct SessionsCommand {
  bool json = false;
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
};
// `sddsh hook`: run by the hooks sddsh gives an agent; reports the event to the running sddsh.
struct HookCommand {};
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
                 ExportCommand, HookCommand>;

ParsedCommandLine parse_command_line(const std::vector<std::string>& args);

// "C-]", "C-a", "^B" → the control byte (0x1d, 0x01, 0x02); nothing when not a control key.
std::optional<char> parse_prefix(const std::string& text);

// "100x30" → 100 columns, 30 rows.
std::optional<winsize> parse_size(const std::string& text);

}  // namespace sddsh::app
