#pragma once
// `sddsh sessions --task ID [--fetch]`: the sessions that worked on a task — the local bundles
// with a segment on it, and the uploads attached to it on the remote tracker (fetched into the
// store with --fetch, so that another checkout can read and replay them).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli.hpp"
#include "recorder/session_catalog.hpp"
#include "shell/result.hpp"

namespace sddsh::tracker {
class RemoteTracker;
}

namespace sddsh::app {

int run_task_sessions(const SessionsCommand& command);

// The bundles of this directory's store with a segment on `task`, newest first.
std::vector<recorder::BundleEntry> local_task_bundles(const std::string& task);

// Downloads one session the tracker listed for a task (an element of
// RemoteTracker::task_sessions) into <store_root>/remote/<upload-id>/, once: one already there
// is kept as it is. Returns that directory.
Result<std::string> fetch_task_session(tracker::RemoteTracker& remote, const std::string& store_root,
                                       const nlohmann::json& listed);

// Where `sessions --fetch` puts an uploaded session: <store>/remote/<upload-id>/.
std::string fetched_session_dir(const std::string& store_root, const std::string& upload_id);

}  // namespace sddsh::app
