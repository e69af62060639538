// Builds a large tracker for scripts/bench (`sddsh tasks --ready` on 10 000 tasks and 20 000
// dependencies), through the tracker's own API so the file has exactly our schema.
//   tracker_fixture PATH [TASKS [DEPENDENCIES]]
// The shape is a spec-kit project's, many times over: epics of 9 phase features, each phase
// blocked by the one before, tasks under the phases blocked by earlier tasks of their phase.
// The first 40% of the epics are done (closed task by task, so their phases close by
// themselves), a few tasks are in progress. The same arguments give the same graph.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tracker-client/local_tracker.hpp"

namespace {

using namespace sddsh::tracker;

constexpr int kFeaturesPerEpic = 9;
constexpr int kTasksPerEpic = 200;  // the epic and its features included

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "tracker_fixture: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T checked(sddsh::Result<T> result) {
  if (!result) die(result.error().message);
  return std::move(*result);
}

void checked(const sddsh::Result<void>& result) {
  if (!result) die(result.error().message);
}

struct Phase {
  std::string id;
  std::vector<std::string> tasks;
};

struct Epic {
  std::string id;
  std::vector<Phase> phases;
};

class FixtureBuilder {
 public:
  FixtureBuilder(Tracker& tracker, int tasks, int dependencies)
      : tracker_(tracker), tasks_(tasks), dependencies_(dependencies) {}

  void build() {
    const int epics = std::max(1, tasks_ / kTasksPerEpic);
    for (int e = 0; e < epics; ++e) epics_.push_back(make_epic(e, epics));
    add_task_blockers();
    finish_early_epics();
    std::printf("%d tasks, %d dependencies, %zu epics\n", created_, edges_, epics_.size());
  }

 private:
  Epic make_epic(int index, int epics) {
    Epic epic;
    epic.id = create("Epic " + std::to_string(index), IssueType::Epic, "");
    // The last epic takes what is left, so the total is exactly `tasks_`.
    const int budget = index + 1 < epics ? kTasksPerEpic : tasks_ - created_ + 1;
    const int leaf_tasks = budget - 1 - kFeaturesPerEpic;
    for (int f = 0; f < kFeaturesPerEpic; ++f) {
      Phase phase;
      phase.id = create("Phase " + std::to_string(f + 1), IssueType::Feature, epic.id);
      if (f > 0) block(phase.id, epic.phases.back().id);
      const int count = leaf_tasks / kFeaturesPerEpic + (f < leaf_tasks % kFeaturesPerEpic ? 1 : 0);
      for (int t = 0; t < count; ++t)
        phase.tasks.push_back(
            create("Task " + std::to_string(created_), IssueType::Task, phase.id));
      epic.phases.push_back(std::move(phase));
    }
    return epic;
  }

  // Every task but a phase's first waits for an earlier one of its phase; then random extra
  // edges of the same kind until the dependency count is reached.
  void add_task_blockers() {
    std::vector<const Phase*> phases;
    for (const auto& epic : epics_)
      for (const auto& phase : epic.phases) phases.push_back(&phase);
    for (const Phase* phase : phases)
      for (std::size_t t = 1; t < phase->tasks.size() && edges_ < dependencies_; ++t)
        block(phase->tasks[t], phase->tasks[random_below(t)]);
    while (edges_ < dependencies_) {
      const Phase* phase = phases[random_below(phases.size())];
      if (phase->tasks.size() < 2) continue;
      std::size_t t = 1 + random_below(phase->tasks.size() - 1);
      block(phase->tasks[t], phase->tasks[random_below(t)]);
    }
  }

  void finish_early_epics() {
    const std::size_t done = epics_.size() * 2 / 5;
    for (std::size_t e = 0; e < done; ++e)
      for (const auto& phase : epics_[e].phases)
        for (const auto& task : phase.tasks) checked(tracker_.close(task, "done", "fixture"));
    if (done < epics_.size())
      for (const auto& task : epics_[done].phases.front().tasks)
        if (random_below(3) == 0)
          checked(tracker_.claim(task, "agent-" + std::to_string(random_below(4))));
  }

  std::string create(const std::string& title, IssueType type, const std::string& parent) {
    NewTask request;
    request.title = title;
    request.issue_type = type;
    request.priority = static_cast<int>(random_below(5));
    request.parent = parent;
    if (!parent.empty()) ++edges_;
    ++created_;
    return checked(tracker_.create(request)).id;
  }

  void block(const std::string& blocked, const std::string& blocker) {
    auto before = checked(tracker_.dependencies(blocked)).size();
    checked(tracker_.add_dependency(Dependency{blocked, blocker, DependencyType::Blocks, ""}));
    if (checked(tracker_.dependencies(blocked)).size() > before) ++edges_;
  }

  std::size_t random_below(std::size_t bound) {
    return std::uniform_int_distribution<std::size_t>(0, bound - 1)(random_);
  }

  Tracker& tracker_;
  int tasks_, dependencies_;
  int created_ = 0, edges_ = 0;
  std::vector<Epic> epics_;
  std::mt19937 random_{20250304};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: tracker_fixture PATH [TASKS [DEPENDENCIES]]\n");
    return 2;
  }
  const int tasks = argc > 2 ? static_cast<int>(std::strtol(argv[2], nullptr, 10)) : 10000;
  const int dependencies = argc > 3 ? static_cast<int>(std::strtol(argv[3], nullptr, 10)) : 20000;
  if (tasks < kTasksPerEpic || dependencies < tasks)
    die("need TASKS >= 200 and DEPENDENCIES >= TASKS");
  auto tracker = checked(open_local_tracker(argv[1]));
  FixtureBuilder(*tracker, tasks, dependencies).build();
  auto start = std::chrono::steady_clock::now();
  auto ready = checked(tracker->ready({}));
  auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  std::printf("%zu ready, found in %.1f ms\n", ready.size(), elapsed.count());
  return 0;
}
