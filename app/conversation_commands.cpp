#include "app/conversation_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/session_text.hpp"
#include "app/terminal_answers.hpp"
#include "app/upload_packer.hpp"
#include "recorder/cast_reader.hpp"
#include "recorder/conversation_builder.hpp"
#include "recorder/redaction.hpp"
#include "recorder/store.hpp"
#include "shell/environment.hpp"
#include "tracker-client/remote_config.hpp"

namespace sddsh::app {

namespace {

using nlohmann::json;
using recorder::ConversationMessage;
using recorder::SessionRecord;
using Role = ConversationMessage::Role;

constexpr std::size_t kInputSummaryLength = 100;

struct Conversation {
  std::vector<ConversationMessage> messages;
  std::string source;  // for the reader: where the messages come from
};

std::string describe_source(const recorder::ConversationRecord& c) {
  if (c.source == "terminal") return "rebuilt from the terminal (no transcript of the agent)";
  std::string text = "the agent's transcript (" + c.format;
  if (!c.agent_version.empty()) text += ", version " + c.agent_version;
  return text + ")";
}

// conversation.jsonl once the session ended; while it runs (or an old bundle), made now.
Conversation conversation_of(const recorder::BundleEntry& entry) {
  const SessionRecord& r = entry.record;
  if (r.conversation)
    if (auto loaded = recorder::load_conversation(entry.dir))
      return {std::move(*loaded), describe_source(*r.conversation)};
  auto built = recorder::build_conversation(entry.dir, r, terminal_answers);
  return {std::move(built.messages), describe_source(built.record) + ", so far"};
}

// A turn's (or the session's) changes in a few words, also when there is no diff yet.
std::string turn_changes(const std::optional<recorder::DiffStat>& stat) {
  if (!stat) return "no diff";
  return stat->files == 0 ? "no changes" : stat_text(stat);
}

const recorder::TurnRecord* turn_record(const SessionRecord& r, int index) {
  if (index < 1 || index > static_cast<int>(r.turns.size())) return nullptr;
  return &r.turns[static_cast<std::size_t>(index - 1)];
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out += prefix + line + "\n";
  return out;
}

// One file of a unified diff and its counts, as `git diff --numstat` would give them.
struct FileStat {
  std::string path;
  int insertions = 0, deletions = 0;
  bool binary = false;
};

std::vector<FileStat> patch_file_stats(const std::string& patch) {
  std::vector<FileStat> files;
  std::istringstream lines(patch);
  bool in_hunk = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("diff --git ", 0) == 0) {
      const auto b = line.rfind(" b/");
      files.push_back({b == std::string::npos ? line.substr(11) : line.substr(b + 3), 0, 0, false});
      in_hunk = false;
    } else if (files.empty()) {
      continue;
    } else if (line.rfind("@@", 0) == 0) {
      in_hunk = true;
    } else if (!in_hunk && line.rfind("Binary files", 0) == 0) {
      files.back().binary = true;
    } else if (in_hunk && !line.empty() && line[0] == '+') {
      ++files.back().insertions;
    } else if (in_hunk && !line.empty() && line[0] == '-') {
      ++files.back().deletions;
    }
  }
  return files;
}

// ---- show --conversation ----

struct Style {
  bool on = false;
  std::string bold() const { return on ? "\033[1m" : ""; }
  std::string dim() const { return on ? "\033[2m" : ""; }
  std::string cyan() const { return on ? "\033[36m" : ""; }
  std::string reset() const { return on ? "\033[0m" : ""; }
};

void print_turn_header(const SessionRecord& r, int turn, const Style& style) {
  if (turn == 0) {
    std::printf("%s── Before the first prompt%s\n", style.bold().c_str(), style.reset().c_str());
    return;
  }
  std::string facts = "Turn " + std::to_string(turn);
  if (const auto* t = turn_record(r, turn)) {
    facts += " · " +
             local_time(r.started_unix_ms + static_cast<std::int64_t>(t->start * 1000), "%H:%M:%S");
    facts += " · " + turn_changes(t->stat);
  }
  std::printf("%s── %s%s\n", style.bold().c_str(), facts.c_str(), style.reset().c_str());
}

void print_message(const ConversationMessage& m, const std::string& agent, const Style& style) {
  switch (m.role) {
    case Role::User:
      std::printf("%s%s%s\n", style.cyan().c_str(), indent(m.text, "> ").c_str(),
                  style.reset().c_str());
      break;
    case Role::Assistant:
      std::printf("%s%s%s\n%s\n", style.bold().c_str(), agent.c_str(), style.reset().c_str(),
                  m.text.c_str());
      break;
    case Role::Tool: {
      const auto& tool = *m.tool;
      const std::string target = recorder::tool_call_target(tool, kInputSummaryLength, false);
      std::printf("  %s⏺ %s%s %s%s\n", style.bold().c_str(), tool.name.c_str(),
                  style.reset().c_str(), target.c_str(), tool.failed ? "  (failed)" : "");
      if (!tool.output_summary.empty())
        std::printf("%s%s%s", style.dim().c_str(), indent(tool.output_summary, "    │ ").c_str(),
                    style.reset().c_str());
      std::printf("\n");
      break;
    }
  }
}

// ---- export ----

std::string fence_for(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

std::string markdown_turn_header(const SessionRecord& r, const std::string& bundle_dir, int turn) {
  if (turn == 0) return "## Before the first prompt\n\n";
  std::string md = "## Turn " + std::to_string(turn) + "\n\n";
  const auto* t = turn_record(r, turn);
  if (!t) return md;
  md +=
      "*" + local_time(r.started_unix_ms + static_cast<std::int64_t>(t->start * 1000), "%H:%M:%S");
  if (t->end) md += " · " + format_duration(*t->end - t->start);
  md += " · " + turn_changes(t->stat) + "*\n\n";
  if (!t->diff.empty()) {
    const auto files = patch_file_stats(read_file(bundle_dir + "/" + t->diff));
    if (!files.empty()) {
      md += "| File | + | - |\n|---|---:|---:|\n";
      for (const auto& f : files)
        md += "| `" + f.path + "` | " + (f.binary ? "bin" : std::to_string(f.insertions)) + " | " +
              (f.binary ? "" : std::to_string(f.deletions)) + " |\n";
      md += "\n";
    }
  }
  return md;
}

std::string markdown_message(const ConversationMessage& m, const std::string& agent) {
  switch (m.role) {
    case Role::User:
      return "**User**\n\n" + indent(m.text, "> ") + "\n";
    case Role::Assistant:
      return "**" + agent + "**\n\n" + m.text + "\n\n";
    case Role::Tool: {
      const auto& tool = *m.tool;
      std::string md = "**Tool: " + tool.name + "**";
      const std::string target = recorder::tool_call_target(tool, kInputSummaryLength, false);
      if (!target.empty()) md += " `" + target + "`";
      if (tool.failed) md += " (failed)";
      md += "\n\n";
      if (!tool.output_summary.empty()) {
        const std::string fence = fence_for(tool.output_summary);
        md += fence + "\n" + tool.output_summary + "\n" + fence + "\n\n";
      }
      return md;
    }
  }
  return "";
}

std::string markdown(const recorder::BundleEntry& entry, const Conversation& conversation) {
  const SessionRecord& r = entry.record;
  std::string command;
  for (const auto& arg : r.argv) command += (command.empty() ? "" : " ") + arg;
  std::string md = "# Session " + r.id.substr(0, 8) + ": `" + command + "`\n\n";
  md += "- Started: " + local_time(r.started_unix_ms, "%Y-%m-%d %H:%M:%S") + ", " +
        format_duration(r.duration);
  if (r.exit_code) md += ", exit " + std::to_string(*r.exit_code);
  md += "\n- Directory: `" + r.cwd + "`";
  if (r.git) md += " (branch " + (r.git->branch.empty() ? std::string("-") : r.git->branch) + ")";
  md += "\n- Changes: " + turn_changes(r.session_stat) + "\n";
  md += "- Conversation: " + conversation.source + "\n\n";
  int turn = -1;
  for (const auto& m : conversation.messages) {
    if (m.turn != turn) md += markdown_turn_header(r, entry.dir, turn = m.turn);
    md += markdown_message(m, r.agent.empty() ? "Agent" : r.agent);
  }
  return md;
}

json json_export(const recorder::BundleEntry& entry, const Conversation& conversation) {
  json messages = json::array();
  for (const auto& m : conversation.messages)
    messages.push_back(json::parse(recorder::to_jsonl_line(m)));
  return {{"session", json::parse(recorder::to_json_text(entry.record))}, {"conversation", messages}};
}

std::string json_text(const json& value) {
  return value.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<void> write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      return system_failure("write to the output");
    return {};
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return system_failure(path);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return system_failure(path);
  return {};
}

// The redactor uploads use: this environment's secret values and the configured patterns.
Result<recorder::Redactor> export_redactor() {
  auto patterns = tracker::load_redact_patterns();
  if (!patterns) return Failure{patterns.error()};
  return recorder::Redactor::create(shell::current_environment(), *patterns);
}

// The cast with its secrets gone, as the uploader sends it: output and input as chunk streams,
// so a secret split between two events goes too. Written straight to FILE; for the standard
// output through a temporary file.
Result<void> export_redacted_cast(const std::string& cast, const std::string& output,
                                  const recorder::Redactor& redactor) {
  if (!output.empty() && output != "-") {
    auto written = write_cast_slice(cast, output, 0, std::nullopt, redactor);
    if (!written) return Failure{written.error()};
    return {};
  }
  std::string temporary = (std::filesystem::temp_directory_path() / "sddsh-export-XXXXXX").string();
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) return system_failure("create a temporary file");
  ::close(fd);
  auto written = write_cast_slice(cast, temporary, 0, std::nullopt, redactor);
  const std::string text = read_file(temporary);
  ::unlink(temporary.c_str());
  if (!written) return Failure{written.error()};
  return write_output(output, text);
}

}  // namespace

int show_conversation(const recorder::BundleEntry& entry) {
  const Conversation conversation = conversation_of(entry);
  const SessionRecord& r = entry.record;
  const Style style{.on = isatty(1) == 1 && std::getenv("NO_COLOR") == nullptr};
  std::printf("Session %s · %s · %s\n\n", r.id.substr(0, 8).c_str(), r.agent.c_str(),
              conversation.source.c_str());
  if (conversation.messages.empty()) std::printf("Nothing was said in this session.\n");
  int turn = -1;
  for (const auto& m : conversation.messages) {
    if (m.turn != turn) print_turn_header(r, turn = m.turn, style);
    print_message(m, r.agent.empty() ? "agent" : r.agent, style);
  }
  return 0;
}

int run_export(const ExportCommand& command) {
  auto store = this_store();
  if (!store) return fail(store.error().message);
  auto entry = recorder::find_session(*store, command.session);
  if (!entry) return fail(entry.error().message);
  std::optional<recorder::Redactor> redactor;
  if (command.redact) {
    auto made = export_redactor();
    if (!made) return fail("--redact: " + made.error().message);
    redactor.emplace(std::move(*made));
  }
  std::string text;
  switch (command.format) {
    case ExportCommand::Format::Cast: {
      const std::string cast = entry->dir + "/terminal.cast";
      // An empty cast is a session killed between making the file and writing its header.
      std::error_code unreadable;
      if (::access(cast.c_str(), R_OK) != 0 || std::filesystem::file_size(cast, unreadable) == 0)
        return fail("session " + entry->record.id.substr(0, 8) + " has no terminal recording");
      if (redactor) {
        if (auto written = export_redacted_cast(cast, command.output, *redactor); !written)
          return fail(written.error().message);
        return 0;
      }
      // Only whole events go out: a damaged cast is exported up to its last good line.
      auto reader = recorder::CastReader::open(cast);
      if (!reader) return fail(reader.error().message);
      while (reader->next()) {
      }
      text = read_file(cast);
      if (reader->problem()) {
        text.resize(std::min<std::size_t>(text.size(), reader->valid_bytes()));
        std::fprintf(stderr, "sddsh: warning: %s: %s; exported up to there\n", cast.c_str(),
                     reader->problem()->c_str());
      }
      break;
    }
    case ExportCommand::Format::Json: {
      const json exported = json_export(*entry, conversation_of(*entry));
      text = json_text(redactor ? redactor->redact_json(exported) : exported);
      break;
    }
    case ExportCommand::Format::Markdown:
      text = markdown(*entry, conversation_of(*entry));
      if (redactor) text = redactor->redact(text);
      break;
  }
  if (auto written = write_output(command.output, text); !written)
    return fail(written.error().message);
  return 0;
}

}  // namespace sddsh::app
