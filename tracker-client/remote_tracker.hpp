#pragma once
// The remote tracker: every Tracker method over the sddsh-tracker HTTP API (docs/tracker-api.md),
// plus what only the remote has (the server-side import, the sessions attached to tasks).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracker-client/http_client.hpp"
#include "tracker-client/tracker.hpp"

namespace sddsh::tracker {

class RemoteTracker final : public Tracker {  // every Tracker method over the API
 public:
  explicit RemoteTracker(RemoteConfig config, RetryPolicy policy = {});

  Result<std::vector<Task>> ready(const ReadyQuery& query) override;
  Result<std::vector<Task>> list(const ListQuery& query) override;
  Result<Task> get(const std::string& id) override;
  Result<std::optional<Task>> find_by_spec(const std::string& dir,
                                           const std::string& task_id) override;
  Result<Task> create(const NewTask& task) override;
  Result<Task> change(const std::string& id, const TaskChange& change) override;
  Result<Task> claim(const std::string& id, const std::string& assignee) override;
  Result<Task> close(const std::string& id, const std::string& reason,
                     const std::string& session_id) override;
  Result<Task> reopen(const std::string& id) override;
  Result<Task> add_note(const std::string& id, const std::string& note,
                        const std::string& actor) override;
  Result<void> add_dependency(const Dependency& dependency) override;
  Result<std::vector<Dependency>> dependencies(const std::string& id) override;

  // POST import: the server's report.
  Result<nlohmann::json> import_tasks_md(const std::string& spec_dir, const std::string& text);
  // The sessions uploaded for a task, newest first.
  Result<std::vector<nlohmann::json>> task_sessions(const std::string& task_id);
  Result<nlohmann::json> session(const std::string& upload_id);
  // Downloads an uploaded session (its metadata as session.json… and every file) into dest_dir.
  Result<void> fetch_session(const std::string& upload_id, const std::string& dest_dir);

  HttpClient& http();

 private:
  Result<Task> task_reply(const Result<HttpResponse>& reply,
                          std::initializer_list<long> ok = {200, 201});
  std::string task_path(const std::string& id) const;

  HttpClient http_;
};

// The decoders of server replies (pure; fuzzed): a {"tasks":[…]} page, a {"dependencies":[…]}
// list, a {"sessions":[…]} list. Any shape they do not expect is an error naming it.
struct TaskPage {
  std::vector<Task> tasks;
  std::optional<std::string> next_cursor;
};
Result<TaskPage> decode_task_page(const nlohmann::json& reply);
Result<std::vector<Dependency>> decode_dependencies(const nlohmann::json& reply);
Result<std::vector<nlohmann::json>> decode_sessions(const nlohmann::json& reply);

// A session's file list from its metadata ({"files":[{"name","sha256","size"}]}). The names
// become paths on this machine, so only flat names of the API's form are accepted (no '/', no
// "..").
struct SessionFile {
  std::string name, sha256;
  std::uint64_t size = 0;
};
Result<std::vector<SessionFile>> decode_session_files(const nlohmann::json& metadata);

// Names as the API allows them. A project: ^[a-z0-9][a-z0-9_-]{0,62}$. A task id:
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$. An upload id or file name: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$
// and no "..".
bool is_project_name(std::string_view name);
bool is_task_id(std::string_view id);
bool is_upload_name(std::string_view name);

}  // namespace sddsh::tracker
