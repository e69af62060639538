#include "recorder/transcript_locator.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "shell/environment.hpp"
#include "shell/process_tree.hpp"

namespace sddsh::recorder {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Files older than the session by more than this are not its own (clock steps, coarse times).
constexpr std::int64_t kStartSlackMs = 2000;
// How much of a file's start is read to find the session's id or directory in it.
constexpr std::size_t kHeadBytes = 64 * 1024;

std::string env_or(const TranscriptSearch& search, const char* name, const std::string& fallback) {
  std::string value = shell::environment_value(search.environment, name);
  return value.empty() ? fallback : value;
}

std::int64_t modified_ms(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
}

std::string file_head(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(kHeadBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

std::vector<std::string> files_in(const std::string& directory, const std::string& extension) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == extension)
      files.push_back(it->path().string());
  return files;
}

std::vector<std::string> subdirectories(const std::string& directory) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) dirs.push_back(it->path().string());
  return dirs;
}

// "2026/11/21" for a time, in local time (Codex names its day folders so) or UTC.
std::string day_path(std::int64_t unix_ms, bool local) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  if (local)
    ::localtime_r(&seconds, &tm);
  else
    ::gmtime_r(&seconds, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y/%m/%d", &tm);
  return text;
}

// The cwd a Codex rollout's first record (session_meta) names.
std::string codex_session_cwd(const std::string& head) {
  const json first = json::parse(head.substr(0, head.find('\n')), nullptr, false);
  if (!first.is_object()) return "";
  auto payload = first.find("payload");
  if (payload == first.end() || !payload->is_object()) return "";
  auto cwd = payload->find("cwd");
  return cwd != payload->end() && cwd->is_string() ? cwd->get<std::string>() : "";
}

std::string canonical(const std::string& path) {
  char real[PATH_MAX];
  return ::realpath(path.c_str(), real) ? real : path;
}

}  // namespace

std::string claude_project_directory(const std::string& config_dir, const std::string& cwd) {
  std::string name = cwd;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  return config_dir + "/projects/" + name;
}

std::set<std::string> files_held_open(pid_t pid, const std::string& root) {
  std::set<std::string> held;
  if (pid <= 0) return held;
  std::vector<pid_t> tree = shell::descendants_of(pid);
  tree.push_back(pid);
  for (pid_t process : tree) {
    std::error_code ec;
    const std::string fd_dir = "/proc/" + std::to_string(process) + "/fd";
    for (fs::directory_iterator it(fd_dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code link_error;
      const std::string target = fs::read_symlink(it->path(), link_error).string();
      if (!link_error && target.compare(0, root.size(), root) == 0) held.insert(target);
    }
  }
  return held;
}

TranscriptLocator::TranscriptLocator(TranscriptSearch search) : search_(std::move(search)) {
  home_ = shell::environment_value(search_.environment, "HOME");
  search_.cwd = canonical(search_.cwd);
}

std::string TranscriptLocator::transcript_root() const {
  // Canonical: the agent's open files are compared with it as /proc shows them.
  return canonical(agent_transcript_root());
}

std::string TranscriptLocator::agent_transcript_root() const {
  switch (search_.kind) {
    case AgentKind::ClaudeCode:
      return env_or(search_, "CLAUDE_CONFIG_DIR", home_ + "/.claude") + "/projects";
    case AgentKind::GeminiCli:
      return env_or(search_, "GEMINI_CLI_HOME", home_) + "/.gemini/tmp";
    case AgentKind::CopilotCli:
      return env_or(search_, "COPILOT_HOME", home_ + "/.copilot") + "/session-state";
    case AgentKind::Codex:
      return env_or(search_, "CODEX_HOME", home_ + "/.codex") + "/sessions";
    case AgentKind::Generic:
      break;
  }
  return "";
}

// The files that could be this session's, before checking that they are.
std::vector<std::string> TranscriptLocator::candidates() const {
  const std::string root = transcript_root();
  const auto& id = search_.agent_session_id;
  switch (search_.kind) {
    case AgentKind::ClaudeCode: {
      if (!id) return {};
      // Claude shortens very long project names; the id is unique across projects anyway.
      std::vector<std::string> paths;
      for (const auto& project : subdirectories(root))
        if (std::string path = project + "/" + *id + ".jsonl"; ::access(path.c_str(), F_OK) == 0)
          paths.push_back(path);
      return paths;
    }
    case AgentKind::CopilotCli: {
      if (id) return {root + "/" + *id + "/events.jsonl"};
      std::vector<std::string> paths;
      for (const auto& dir : subdirectories(root)) paths.push_back(dir + "/events.jsonl");
      return paths;
    }
    case AgentKind::GeminiCli: {
      std::vector<std::string> paths;
      for (const auto& project : subdirectories(root))
        for (const char* extension : {".jsonl", ".json"})
          for (auto& file : files_in(project + "/chats", extension)) paths.push_back(file);
      return paths;
    }
    case AgentKind::Codex: {
      std::vector<std::string> paths;
      std::set<std::string> days;
      // The start's day and today's (a session past midnight), in local time and in UTC.
      const std::int64_t now_ms = static_cast<std::int64_t>(std::time(nullptr)) * 1000;
      for (std::int64_t at : {search_.started_unix_ms, now_ms})
        for (bool local : {true, false}) days.insert(day_path(at, local));
      for (const auto& day : days)
        for (auto& file : files_in(root + "/" + day, ".jsonl")) paths.push_back(file);
      return paths;
    }
    case AgentKind::Generic:
      break;
  }
  return {};
}

bool TranscriptLocator::belongs_to_session(const std::string& path,
                                           const std::set<std::string>& held_open) const {
  if (::access(path.c_str(), R_OK) != 0) return false;
  if (modified_ms(path) < search_.started_unix_ms - kStartSlackMs) return false;
  const auto& id = search_.agent_session_id;
  switch (search_.kind) {
    case AgentKind::ClaudeCode:
      return true;  // its name is the id
    case AgentKind::CopilotCli:
      if (id) return true;  // its folder is the id
      return held_open.contains(path);
    case AgentKind::GeminiCli:
      if (id) return file_head(path).find(*id) != std::string::npos;
      return held_open.contains(path);
    case AgentKind::Codex:
      return held_open.contains(path) &&
             canonical(codex_session_cwd(file_head(path))) == search_.cwd;
    case AgentKind::Generic:
      break;
  }
  return false;
}

std::vector<std::string> TranscriptLocator::poll(pid_t agent_pid) {
  std::vector<std::string> fresh;
  const std::vector<std::string> paths = candidates();
  bool unknown = false;
  for (const auto& path : paths) unknown = unknown || !found_.contains(path);
  if (!unknown) return fresh;
  const bool needs_open_files = search_.kind == AgentKind::Codex || !search_.agent_session_id;
  const std::set<std::string> held =
      needs_open_files ? files_held_open(agent_pid, transcript_root()) : std::set<std::string>{};
  for (const auto& path : paths) {
    if (found_.contains(path) || !belongs_to_session(path, held)) continue;
    found_.insert(path);
    fresh.push_back(path);
  }
  return fresh;
}

}  // namespace sddsh::recorder
