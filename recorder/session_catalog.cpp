#include "recorder/session_catalog.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <optional>

namespace sddsh::recorder {

namespace {

// Ids have no '/': a name with one is a bundle's path (its session.json may be damaged).
bool is_bundle_path(const std::string& name) {
  struct stat st {};
  return name.find('/') != std::string::npos && ::stat(name.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A bundle whose session.json cannot be read is not in the catalog, yet it is the session the
// user means: the reason it cannot be read is the answer, not "no such session".
std::optional<Error> damaged_match(const Store& store, const std::string& prefix) {
  for (const std::string& id : list_bundle_ids(store))
    if (prefix == "last" || id.starts_with(prefix))
      if (auto record = load_session_record(store.bundle_dir(id)); !record) return record.error();
  return std::nullopt;
}

}  // namespace

Catalog load_catalog(const Store& store) {
  Catalog catalog;
  for (const std::string& id : list_bundle_ids(store)) {
    const std::string dir = store.bundle_dir(id);
    auto record = load_session_record(dir);
    if (record)
      catalog.sessions.push_back({dir, std::move(*record)});
    else
      catalog.unreadable.push_back(record.error().message);
  }
  std::ranges::sort(catalog.sessions, [](const BundleEntry& a, const BundleEntry& b) {
    if (a.record.started_unix_ms != b.record.started_unix_ms)
      return a.record.started_unix_ms > b.record.started_unix_ms;
    return a.record.id > b.record.id;
  });
  return catalog;
}

Result<BundleEntry> find_session(const Store& store, const std::string& name) {
  if (name.empty())
    return Failure{Error{0, "no session named (give an id prefix, 'last' or a bundle path)"}};
  if (is_bundle_path(name)) {
    auto record = load_session_record(name);
    if (!record) return Failure{record.error()};
    return BundleEntry{name, std::move(*record)};
  }
  Catalog catalog = load_catalog(store);
  if (name == "last") {
    if (!catalog.sessions.empty()) return std::move(catalog.sessions.front());
    if (auto damaged = damaged_match(store, name))
      return Failure{Error{0, "no readable session in " + store.sessions_dir() + " (" + damaged->message + ")"}};
    return Failure{Error{0, "no sessions recorded in " + store.sessions_dir()}};
  }
  std::vector<BundleEntry> matches;
  for (auto& entry : catalog.sessions)
    if (entry.record.id.starts_with(name)) matches.push_back(std::move(entry));
  if (matches.size() == 1) return std::move(matches.front());
  if (matches.empty()) {
    if (auto damaged = damaged_match(store, name)) return Failure{*damaged};
    return Failure{Error{0, "no session matches '" + name + "' in " + store.sessions_dir()}};
  }
  std::string ids;
  for (std::size_t i = 0; i < matches.size() && i < 5; ++i)
    ids += (i ? ", " : "") + matches[i].record.id.substr(0, 12);
  return Failure{Error{0, "'" + name + "' matches " + std::to_string(matches.size()) +
                              " sessions (" + ids + (matches.size() > 5 ? ", ..." : "") +
                              "); give more of the id"}};
}

}  // namespace sddsh::recorder
