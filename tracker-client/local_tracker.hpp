#pragma once
// The embedded tracker: one SQLite database (WAL) in the session store, shared by every
// worktree and safe for several sddsh processes at once. The schema is versioned; opening an
// older database migrates it.
#include <memory>
#include <string>

#include "tracker-client/tracker.hpp"

namespace sddsh::tracker {

inline constexpr const char* kLocalTrackerFile = "tracker.db";

// Opens (creating it and its schema when missing) the tracker database at `path`.
Result<std::unique_ptr<Tracker>> open_local_tracker(const std::string& path);

}  // namespace sddsh::tracker
