#pragma once
// The sessions of a store, as the commands see them: listed newest first, named by an id
// prefix, `last`, or a bundle's path.
#include <string>
#include <vector>

#include "recorder/session_record.hpp"
#include "recorder/store.hpp"
#include "shell/result.hpp"

namespace sddsh::recorder {

struct BundleEntry {
  std::string dir;
  SessionRecord record;
};

struct Catalog {
  std::vector<BundleEntry> sessions;    // newest first
  std::vector<std::string> unreadable;  // "<dir>: why", for bundles whose session.json is broken
};

Catalog load_catalog(const Store& store);

// "last", a unique id prefix, or a path to a bundle directory.
Result<BundleEntry> find_session(const Store& store, const std::string& name);

}  // namespace sddsh::recorder
