// The tasks.md importer reads files people (and agents) write by hand. Parsing any bytes must
// neither crash nor hang, and the plan it gives must hold together: every edge names a task or
// phase of the plan, no task twice, no edge from an item to itself, problems on real lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "tracker-client/speckit_import.hpp"

namespace {

using sddsh::tracker::ImportPlan;
using sddsh::tracker::PlanRef;

void check(bool holds) {
  if (!holds) std::abort();
}

void check_plan(const ImportPlan& plan, std::string_view input) {
  const auto lines = static_cast<int>(std::count(input.begin(), input.end(), '\n')) + 1;
  std::set<std::string> task_ids;
  for (const auto& phase : plan.phases) {
    check(phase.line >= 1 && phase.line <= lines && phase.priority >= 0 && phase.priority <= 4);
    for (const auto& task : phase.tasks) {
      check(task_ids.insert(task.task_id).second);
      check(!task.title.empty() && task.line >= phase.line && task.line <= lines);
    }
  }
  auto valid = [&](const PlanRef& ref) {
    return ref.task_id.empty() ? ref.phase < plan.phases.size() : task_ids.contains(ref.task_id);
  };
  for (const auto& block : plan.blocks)
    check(valid(block.blocked) && valid(block.blocker) && !(block.blocked == block.blocker));
  for (const auto& problem : plan.problems)
    check(problem.line >= 1 && problem.line <= lines && !problem.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_plan(sddsh::tracker::parse_tasks_md(input, "specs/001-fuzz"), input);
  return 0;
}
