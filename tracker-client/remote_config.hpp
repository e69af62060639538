#pragma once
// Where the remote tracker is and how to reach it: from the environment or the user's config
// file. The token is a secret: it is never printed, logged or recorded, and a file holding it must
// be readable by its owner only.
#include <optional>
#include <string>
#include <vector>

#include "shell/result.hpp"

namespace sddsh::tracker {

struct RemoteConfig {
  std::string url;  // server base URL, "https://tracker.example:8470" (client appends /v1/...)
  std::string project;
  std::string token;    // never printed, logged or recorded
  std::string ca_file;  // empty: the system's CAs
  std::string source;   // "environment" or the config file's path, for messages
};

// The config file: $SDDSH_CONFIG, else $XDG_CONFIG_HOME/sddsh/config.json
// (~/.config/sddsh/config.json):
// {"tracker":{"url","project","token","token_file","ca_file"},"redact":{"patterns":["regex",…]}}
std::string config_file_path();

// SDDSH_TRACKER_URL / SDDSH_TRACKER_PROJECT / SDDSH_TRACKER_TOKEN (or SDDSH_TRACKER_TOKEN_FILE) /
// SDDSH_TRACKER_CA_FILE override the file's keys one by one. nullopt: no remote configured (no
// url). Failure: configured but unusable — url without project or token, a token held in a file
// (the config file or token_file) readable by group/others (must be 0600: say so and refuse), bad
// JSON. `ca_file_override` (a --ca-file option) wins over both.
Result<std::optional<RemoteConfig>> load_remote_config(const std::string& ca_file_override = {});

// Extra redaction patterns: the config's redact.patterns (empty when none).
Result<std::vector<std::string>> load_redact_patterns();

}  // namespace sddsh::tracker
