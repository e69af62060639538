#pragma once
// A session fetched from the remote tracker (`sessions --task ID --fetch`, <store>/remote/<id>/)
// is an upload, not a bundle: its session.json is the upload's SessionMeta ("format":
// "sddsh-upload", docs/outbox.md) and its patches lie beside it as task.patch and
// turn-NNNN.patch. The replay reads bundles, so this lays one out inside the upload, in
// <upload>/bundle/: a session.json made from the SessionMeta, and links to the upload's cast,
// conversation and patches (nothing is copied; the upload itself is left as fetched).
#include <string>

#include <nlohmann/json.hpp>

#include "recorder/session_record.hpp"
#include "shell/result.hpp"

namespace sddsh::app {

// True when `dir/session.json` is an upload's SessionMeta.
bool is_fetched_upload(const std::string& dir);

// The SessionMeta as a bundle's record: one task segment spanning the whole cast, the turns with
// their patches (bundle-relative, under diffs/, where bundle_of_upload links them).
recorder::SessionRecord record_of_upload(const nlohmann::json& meta, const std::string& upload_dir);

// Makes (or refreshes) <upload_dir>/bundle/ and returns it.
Result<std::string> bundle_of_upload(const std::string& upload_dir);

}  // namespace sddsh::app
