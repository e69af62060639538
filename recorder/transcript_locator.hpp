#pragma once
// Finds the transcript files the agent of this session writes, without guessing: a file is
// taken when its name or content carries the session id sddsh handed the agent, when the
// agent's own hooks name it, or (Codex, which takes no id) when the agent's process holds it
// open and it starts in this session's directory. Two sessions of the same agent in the same
// directory at once therefore never take each other's files.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "recorder/agent_kind.hpp"

namespace sddsh::recorder {

struct TranscriptSearch {
  AgentKind kind = AgentKind::Generic;
  std::string cwd;
  std::optional<std::string> agent_session_id;  // handed to the agent, or given by the user
  std::int64_t started_unix_ms = 0;
  std::vector<std::string> environment;  // the agent's: HOME, CLAUDE_CONFIG_DIR, CODEX_HOME, ...
};

class TranscriptLocator {
 public:
  explicit TranscriptLocator(TranscriptSearch search);

  // One look: the files of this session not returned before. `agent_pid` is the agent's
  // process while it runs (0 after it ended): its open files identify what it writes.
  std::vector<std::string> poll(pid_t agent_pid);

  // The folder the agent's transcripts go to, for messages ("~/.codex/sessions").
  std::string transcript_root() const;

 private:
  std::string agent_transcript_root() const;
  std::vector<std::string> candidates() const;
  bool belongs_to_session(const std::string& path, const std::set<std::string>& held_open) const;

  TranscriptSearch search_;
  std::string home_;
  std::set<std::string> found_;
};

// The directory Claude Code keeps a project's transcripts in: every character of `cwd` that is
// not a letter or digit becomes '-'.
std::string claude_project_directory(const std::string& config_dir, const std::string& cwd);

// Files under `root` that the processes in the tree of `pid` hold open.
std::set<std::string> files_held_open(pid_t pid, const std::string& root);

}  // namespace sddsh::recorder
