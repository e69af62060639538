#include "tracker-client/ready_rule.hpp"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace sddsh::tracker {

namespace {

using Index = std::unordered_map<std::string_view, std::size_t>;

Index index_by_id(const std::vector<IssueFacts>& issues) {
  Index index;
  index.reserve(issues.size());
  for (std::size_t i = 0; i < issues.size(); ++i) index.emplace(issues[i].id, i);
  return index;
}

// Marks every issue with an unclosed blocker, then everything below a marked issue: one pass
// over the edges, then a walk down parent-child edges that visits each issue at most once (so
// a cycle of parent-child edges still ends).
std::vector<bool> held_back(const std::vector<IssueFacts>& issues,
                            const std::vector<Dependency>& edges, const Index& index) {
  std::vector<bool> held(issues.size(), false);
  std::vector<std::vector<std::size_t>> children(issues.size());
  std::vector<std::size_t> to_visit;
  for (const auto& edge : edges) {
    auto issue = index.find(edge.issue_id), other = index.find(edge.depends_on_id);
    if (issue == index.end() || other == index.end()) continue;
    if (edge.type == DependencyType::ParentChild) children[other->second].push_back(issue->second);
    const bool open_blocker =
        edge.type == DependencyType::Blocks && issues[other->second].status != Status::Closed;
    if (open_blocker && !held[issue->second]) {
      held[issue->second] = true;
      to_visit.push_back(issue->second);
    }
  }
  while (!to_visit.empty()) {
    std::size_t parent = to_visit.back();
    to_visit.pop_back();
    for (std::size_t child : children[parent])
      if (!held[child]) {
        held[child] = true;
        to_visit.push_back(child);
      }
  }
  return held;
}

bool wanted(const IssueFacts& issue, const ReadyQuery& query, const std::string& now) {
  if (issue.status != Status::Open) return false;
  if (query.type && issue.issue_type != *query.type) return false;
  return issue.defer_until.empty() || issue.defer_until <= now;
}

}  // namespace

std::vector<std::string> ready_ids(const std::vector<IssueFacts>& issues,
                                   const std::vector<Dependency>& edges, const ReadyQuery& query,
                                   const std::string& now) {
  const Index index = index_by_id(issues);
  const std::vector<bool> held = held_back(issues, edges, index);
  std::vector<const IssueFacts*> ready;
  for (std::size_t i = 0; i < issues.size(); ++i)
    if (!held[i] && wanted(issues[i], query, now)) ready.push_back(&issues[i]);
  auto best_first = [](const IssueFacts* a, const IssueFacts* b) {
    return std::tie(a->priority, a->created_at, a->id) <
           std::tie(b->priority, b->created_at, b->id);
  };
  const std::size_t count = query.limit ? std::min(query.limit, ready.size()) : ready.size();
  std::partial_sort(ready.begin(), ready.begin() + static_cast<std::ptrdiff_t>(count), ready.end(),
                    best_first);
  std::vector<std::string> ids;
  ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) ids.push_back(ready[i]->id);
  return ids;
}

}  // namespace sddsh::tracker
