#include "app/task_sessions.hpp"

#include <unistd.h>

#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/session_text.hpp"
#include "recorder/session_catalog.hpp"
#include "recorder/store.hpp"
#include "tracker-client/remote_config.hpp"
#include "tracker-client/remote_tracker.hpp"

namespace sddsh::app {

namespace {

using nlohmann::json;

// A field of a server reply as text, whatever arrived ("" when absent or not a string/number).
std::string text_of(const json& value, const char* key) {
  const auto found = value.find(key);
  if (found == value.end()) return "";
  if (found->is_string()) return found->get<std::string>();
  if (found->is_number()) return found->dump();
  return "";
}

std::size_t count_of(const json& value, const char* key) {
  const auto found = value.find(key);
  return found != value.end() && found->is_array() ? found->size() : 0;
}

bool worked_on(const recorder::SessionRecord& record, const std::string& task) {
  for (const auto& segment : record.task_segments)
    if (segment.task_id == task) return true;
  return false;
}

json local_json(const recorder::BundleEntry& entry) {
  const auto& r = entry.record;
  return {{"id", r.id}, {"started_at", r.started_at}, {"agent", r.agent},
          {"turns", r.turns.size()}, {"status", recorder::status_name(r.status)},
          {"bundle", entry.dir}};
}

std::vector<json> local_sessions(const std::string& task) {
  std::vector<json> found;
  for (const auto& entry : local_task_bundles(task)) found.push_back(local_json(entry));
  return found;
}

void print_local(const std::vector<json>& sessions) {
  std::printf("Here (%zu):\n", sessions.size());
  for (const auto& s : sessions)
    std::printf("  %-28s %-24s %-10s %3s turns  %s\n", text_of(s, "id").c_str(),
                text_of(s, "started_at").c_str(), text_of(s, "agent").c_str(),
                s["turns"].dump().c_str(), text_of(s, "status").c_str());
}

void print_remote(const std::vector<json>& sessions, const std::string& project) {
  std::printf("On the tracker, project %s (%zu):\n", project.c_str(), sessions.size());
  for (const auto& s : sessions)
    std::printf("  %-30s %-24s %-10s %3zu turns  by %s on %s\n", text_of(s, "upload_id").c_str(),
                text_of(s, "started_at").c_str(), text_of(s, "agent").c_str(), count_of(s, "turns"),
                text_of(s, "uploaded_by").c_str(), text_of(s, "hostname").c_str());
}

// Downloads each upload once; one that is already in the store is kept as it is.
Result<std::vector<std::string>> fetch_all(tracker::RemoteTracker& remote,
                                           const std::vector<json>& sessions) {
  auto store = this_store();
  if (!store) return Failure{store.error()};
  std::vector<std::string> dirs;
  for (const auto& s : sessions) {
    if (text_of(s, "upload_id").empty()) continue;
    auto dir = fetch_task_session(remote, store->root, s);
    if (!dir) return Failure{dir.error()};
    dirs.push_back(std::move(*dir));
  }
  return dirs;
}

}  // namespace

std::vector<recorder::BundleEntry> local_task_bundles(const std::string& task) {
  std::vector<recorder::BundleEntry> found;
  auto store = this_store();
  if (!store) return found;
  for (auto& entry : recorder::load_catalog(*store).sessions)
    if (worked_on(entry.record, task)) found.push_back(std::move(entry));
  return found;
}

Result<std::string> fetch_task_session(tracker::RemoteTracker& remote, const std::string& store_root,
                                       const nlohmann::json& listed) {
  const std::string id = text_of(listed, "upload_id");
  if (id.empty()) return Failure{Error{0, "the tracker listed a session without an upload_id"}};
  const std::string dir = fetched_session_dir(store_root, id);
  if (::access((dir + "/session.json").c_str(), F_OK) != 0) {
    if (auto made = recorder::make_directories(dir); !made) return Failure{made.error()};
    if (auto fetched = remote.fetch_session(id, dir); !fetched)
      return Failure{Error{0, "fetch " + id + ": " + fetched.error().message}};
  }
  return dir;
}

std::string fetched_session_dir(const std::string& store_root, const std::string& upload_id) {
  return store_root + "/remote/" + upload_id;
}

int run_task_sessions(const SessionsCommand& command) {
  const std::vector<json> here = local_sessions(command.task);
  auto config = tracker::load_remote_config(command.ca_file);
  if (!config) return fail(config.error().message);
  if (!*config && command.fetch) return fail("sessions --fetch: no remote tracker configured (SDDSH_TRACKER_URL)");
  std::vector<json> remote_sessions;
  std::optional<tracker::RemoteTracker> remote;
  if (*config) {
    remote.emplace(**config);
    auto listed = remote->task_sessions(command.task);
    if (!listed) return fail(listed.error().message);
    remote_sessions = std::move(*listed);
  }
  std::vector<std::string> fetched;
  if (command.fetch) {
    auto dirs = fetch_all(*remote, remote_sessions);
    if (!dirs) return fail(dirs.error().message);
    fetched = std::move(*dirs);
  }
  if (command.json) {
    json out = {{"task", command.task}, {"local", here}, {"remote", remote_sessions}};
    if (command.fetch) out["fetched"] = fetched;
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  print_local(here);
  if (*config) print_remote(remote_sessions, (*config)->project);
  for (const auto& dir : fetched) std::printf("fetched %s\n", dir.c_str());
  return 0;
}

}  // namespace sddsh::app
