#include "tracker-client/import_report.hpp"

namespace sddsh::tracker {

namespace {

using nlohmann::json;

json counts_json(const ImportCounts& counts) {
  return {{"created", counts.created}, {"updated", counts.updated}, {"unchanged", counts.unchanged}};
}

ImportCounts counts_from(const json& value) {
  return {.created = value.at("created").get<int>(),
          .updated = value.at("updated").get<int>(),
          .unchanged = value.at("unchanged").get<int>()};
}

}  // namespace

json to_json(const ImportReport& report) {
  json vanished = json::array();
  for (const auto& gone : report.vanished)
    vanished.push_back({{"task_id", gone.task_id}, {"id", gone.id}, {"title", gone.title}});
  json problems = json::array();
  for (const auto& problem : report.problems)
    problems.push_back({{"line", problem.line}, {"message", problem.message}});
  return {{"epic_id", report.epic_id},
          {"epic", counts_json(report.epic)},
          {"features", counts_json(report.features)},
          {"tasks", counts_json(report.tasks)},
          {"edges_added", report.edges_added},
          {"vanished", std::move(vanished)},
          {"problems", std::move(problems)}};
}

Result<ImportReport> import_report_from_json(const json& value) {
  // The reply comes from the network: any shape may arrive, and nlohmann's accessors name what
  // was wrong when they throw.
  try {
    ImportReport report;
    report.epic_id = value.at("epic_id").get<std::string>();
    report.epic = counts_from(value.at("epic"));
    report.features = counts_from(value.at("features"));
    report.tasks = counts_from(value.at("tasks"));
    report.edges_added = value.at("edges_added").get<int>();
    for (const auto& gone : value.at("vanished"))
      report.vanished.push_back({.task_id = gone.at("task_id").get<std::string>(),
                                 .id = gone.at("id").get<std::string>(),
                                 .title = gone.at("title").get<std::string>()});
    for (const auto& problem : value.at("problems"))
      report.problems.push_back(
          {.line = problem.at("line").get<int>(), .message = problem.at("message").get<std::string>()});
    return report;
  } catch (const json::exception& e) {
    return Failure{Error{0, std::string("malformed import report: ") + e.what()}};
  }
}

}  // namespace sddsh::tracker
