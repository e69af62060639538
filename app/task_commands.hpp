#pragma once
// The tracker's commands: `sddsh tasks`, `sddsh task …`, `sddsh dep add`. They work on the
// tracker of this directory's store (tracker.db beside the sessions). Each returns the exit code.
#include <memory>
#include <string>

#include "app/cli.hpp"
#include "tracker-client/http_client.hpp"
#include "tracker-client/tracker.hpp"

namespace sddsh::app {

// The remote tracker when one is configured (SDDSH_TRACKER_URL or the config file; `ca_file` is a
// --ca-file option), else the local tracker of this directory's store, created on first use.
// `interactive`: someone waits on it (an agent about to start, the TUI): a remote tracker that
// does not answer fails within seconds (2 attempts, 2 s to connect, 5 s a request), not minutes.
Result<std::unique_ptr<tracker::Tracker>> open_tracker(const std::string& ca_file = {}, bool interactive = false);

// The retries of a tracker someone waits on.
extern const tracker::RetryPolicy kInteractiveRetryPolicy;

// Who claims: SDDSH_ACTOR, else git's user.name, else the login name.
std::string current_actor();

// What a task gives an agent to start on: title, description, spec dir and files to read.
std::string task_brief(const tracker::Task& task);

int run_tasks(const TasksCommand& command);
int run_task(const TaskCommand& command);
int run_dep(const DepCommand& command);

}  // namespace sddsh::app
