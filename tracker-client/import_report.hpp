#pragma once
// An import report as JSON, both ways: the server answers a batch import with it and the client
// prints it as it prints a local import's.
#include <nlohmann/json.hpp>

#include "shell/result.hpp"
#include "tracker-client/speckit_import.hpp"

namespace sddsh::tracker {

// {"epic_id", "epic"|"features"|"tasks": {"created","updated","unchanged"}, "edges_added",
//  "vanished": [{"task_id","id","title"}], "problems": [{"line","message"}]}
nlohmann::json to_json(const ImportReport& report);
// Missing or mistyped fields are an error that names them.
Result<ImportReport> import_report_from_json(const nlohmann::json& value);

}  // namespace sddsh::tracker
