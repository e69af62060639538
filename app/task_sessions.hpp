#pragma once
// `sddsh sessions --task ID [--fetch]`: the sessions that worked on a task — the local bundles
// with a segment on it, and the uploads attached to it on the remote tracker (fetched into the
// store with --fetch, so that another checkout can read and replay them).
#include "app/cli.hpp"

namespace sddsh::app {

int run_task_sessions(const SessionsCommand& command);

// Where `sessions --fetch` puts an uploaded session: <store>/remote/<upload-id>/.
std::string fetched_session_dir(const std::string& store_root, const std::string& upload_id);

}  // namespace sddsh::app
