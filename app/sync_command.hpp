#pragma once
// `sddsh sync`: packs the ended task segments that never reached the outbox (sddsh was killed in
// between), then sends everything the outbox holds for the configured remote tracker, with a
// progress bar. Exit status: 0 when nothing is left, 1 when something stays queued or failed,
// 2 when there is no usable remote.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "tracker-client/http_client.hpp"
#include "tracker-client/remote_config.hpp"

namespace sddsh::app {

struct SyncOptions {
  bool json = false;   // nothing but the summary, as JSON
  bool quiet = false;  // nothing but the summary line
  std::string ca_file;
  // What the command finds by itself unless given (tests give them):
  std::optional<tracker::RemoteConfig> remote;  // else the configuration
  std::optional<std::string> store_root;        // else this directory's store
  std::optional<bool> terminal;                 // a redrawn progress line; else isatty(stderr)
  std::optional<std::vector<std::string>> environment;  // for redaction; else this process's
  tracker::RetryPolicy policy;
};

// Progress goes to `err`, the summary to `out`.
int run_sync(const SyncOptions& options, std::ostream& out, std::ostream& err);
int run_sync(const SyncCommand& command);

}  // namespace sddsh::app
