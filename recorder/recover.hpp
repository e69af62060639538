#pragma once
// `sddsh recover`: finishes the bundles of sessions whose sddsh died (kill -9, power loss).
// A bundle is dead when its session.json still says "running" and nobody holds its lock.
#include <cstdint>
#include <string>
#include <vector>

#include "recorder/conversation_builder.hpp"
#include "recorder/store.hpp"
#include "shell/result.hpp"

namespace sddsh::recorder {

struct RecoverReport {
  std::string id;
  enum class Outcome : unsigned char { Recovered, Running, Failed } outcome = Outcome::Recovered;
  std::string detail;  // what was done, or why not
};

// Recovers every dead bundle of the store; bundles that are finished are left alone.
std::vector<RecoverReport> recover_store(const Store& store, std::uint64_t max_snapshot_file_size,
                                         const TerminalAnswers& terminal_answers = {});

// Recovers one bundle directory. A live session (lock held) is reported as Running.
RecoverReport recover_bundle(const std::string& bundle_dir, std::uint64_t max_snapshot_file_size,
                             const TerminalAnswers& terminal_answers = {});

}  // namespace sddsh::recorder
