#pragma once
// The ready rule on its own, apart from any store: which issues are ready to start, given each
// issue's few facts that matter and the `blocks` and `parent-child` edges. The local tracker
// feeds it two table scans; a server with another database can feed it the same.
#include <string>
#include <vector>

#include "tracker-client/model.hpp"
#include "tracker-client/tracker.hpp"

namespace sddsh::tracker {

// What the rule reads of an issue.
struct IssueFacts {
  std::string id;
  IssueType issue_type = IssueType::Task;
  Status status = Status::Open;
  int priority = 2;
  std::string created_at;
  std::string defer_until;  // empty: not deferred
};

// Ids of the ready issues, best first. Ready: status open; no `blocks` edge to an issue that is
// not closed; no ancestor (through parent-child edges) that has such an edge; defer_until
// empty or not after `now`; of the query's type. Ordered by priority, then created_at, then id;
// at most query.limit of them when that is not 0. Edges of other types, and edges naming an
// issue not in `issues`, change nothing.
std::vector<std::string> ready_ids(const std::vector<IssueFacts>& issues,
                                   const std::vector<Dependency>& edges, const ReadyQuery& query,
                                   const std::string& now);

}  // namespace sddsh::tracker
