// The spec-kit importer: parsing tasks.md (phases, tasks, tags, prose dependencies, malformed
// lines) and applying it to the real local tracker (ready work after import, idempotent
// re-import, a changed file). The real sample lives in ../shared/testdata beside the repository.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tracker-client/local_tracker.hpp"
#include "tracker-client/speckit_import.hpp"

using namespace sddsh::tracker;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSamplePath =
    SDDSH_SOURCE_DIR "/../shared/testdata/spec-kit/todo-console-app.tasks.md";
constexpr const char* kSampleDir = "specs/001-python-console-todo";

// The sample, or nothing when shared/ is not cloned beside the repository.
std::optional<std::string> read_sample() {
  std::ifstream in(kSamplePath, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

#define SAMPLE_OR_SKIP(name)                                                            \
  auto name##_read = read_sample();                                                     \
  if (!name##_read)                                                                     \
    GTEST_SKIP() << "no spec-kit sample at " << kSamplePath                             \
                 << " (clone the shared/ repository beside this one to run this test)"; \
  const std::string name = *name##_read

// Every "- [x]" from the line that starts with `from` on becomes "- [ ]".
std::string untick_from(std::string text, const std::string& from) {
  for (std::size_t at = text.find("- [x]", text.find(from)); at != std::string::npos;
       at = text.find("- [x]", at))
    text.replace(at, 5, "- [ ]");
  return text;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// A phase as the tests name it: its story, or its kind, or (others) its title.
std::string phase_name(const PlannedPhase& phase) {
  switch (phase.kind) {
    case PhaseKind::Setup:
      return "Setup";
    case PhaseKind::Foundational:
      return "Foundational";
    case PhaseKind::Story:
      return phase.story;
    case PhaseKind::Polish:
      return "Polish";
    case PhaseKind::Other:
      return phase.title;
  }
  return "?";
}

// "US3<-US1": US3 waits for US1.
std::set<std::string> edges(const ImportPlan& plan) {
  auto name = [&](const PlanRef& ref) {
    return ref.task_id.empty() ? phase_name(plan.phases[ref.phase]) : ref.task_id;
  };
  std::set<std::string> out;
  for (const auto& block : plan.blocks)
    out.insert(name(block.blocked) + "<-" + name(block.blocker));
  return out;
}

std::vector<std::string> problems(const std::vector<ImportProblem>& list) {
  std::vector<std::string> out;
  for (const auto& problem : list)
    out.push_back(std::to_string(problem.line) + ": " + problem.message);
  return out;
}

const PlannedTask* find_task(const ImportPlan& plan, const std::string& task_id) {
  for (const auto& phase : plan.phases)
    for (const auto& task : phase.tasks)
      if (task.task_id == task_id) return &task;
  return nullptr;
}

template <typename T>
T value_of(sddsh::Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(*result);
}

// A tasks.md of our own: open work, [P], prose dependencies in a line, under a line and in the
// dependencies section.
constexpr const char* kBookmarks = R"md(# Tasks: Bookmarks CLI

## Phase 1: Setup

- [x] T001 Create the `bookmarks/` package
- [ ] T002 [P] Add `pyproject.toml` with the CLI entry point
- [ ] T003 [P] Configure `ruff` in `pyproject.toml`

## Phase 2: Foundational (Blocking Prerequisites)

- [ ] T004 Implement the `Bookmark` model in `bookmarks/model.py`
- [ ] T005 Implement storage in `bookmarks/store.py` (depends on T004)

## Phase 3: User Story 1 - Save a bookmark (Priority: P1) 🎯 MVP

- [ ] T006 [P] [US1] Write a failing test for `save` in `tests/test_save.py`
- [ ] T007 [US1] Implement `save` in `bookmarks/cli.py`
  - depends on T006
  - keep the URL exactly as typed

## Phase 4: User Story 2 - List bookmarks (Priority: P2)

- [ ] T008 [US2] Implement `list` in `bookmarks/cli.py`

## Phase 5: Polish & Cross-Cutting Concerns

- [ ] T009 Write `README.md`
- [ ] T010 Run the whole test suite, blocked by T008

## Dependencies & Execution Order

- **User Story 2 (P2)**: Depends on US1 (it lists what US1 saves).
)md";

// ---------------------------------------------------------------------------------------------
// Parsing.

TEST(ParseTasksMd, SamplePhasesTasksAndStates) {
  SAMPLE_OR_SKIP(sample);
  ImportPlan plan = parse_tasks_md(sample, kSampleDir);
  EXPECT_EQ(plan.spec_dir, kSampleDir);
  EXPECT_EQ(plan.title, "Phase I: Todo In-Memory Python Console App");
  EXPECT_TRUE(plan.problems.empty()) << testing::PrintToString(problems(plan.problems));

  std::vector<std::string> names, titles;
  std::vector<int> priorities;
  std::vector<std::size_t> sizes;
  for (const auto& phase : plan.phases) {
    names.push_back(phase_name(phase));
    titles.push_back(phase.title);
    priorities.push_back(phase.priority);
    sizes.push_back(phase.tasks.size());
    EXPECT_TRUE(phase.done()) << phase.title;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Setup", "Foundational", "US1", "US2", "US3", "US4",
                                             "US5", "Polish"}));
  EXPECT_EQ(titles[2], "Phase 3: User Story 1 - Add a Task");  // "(Priority: P1) 🎯 MVP" cut
  EXPECT_EQ(titles[7], "Phase 8: Polish & Cross-Cutting Concerns");
  // Stories P1 P1 P2 P3 P3; Setup and Foundational as the most urgent story, Polish the least.
  EXPECT_EQ(priorities, (std::vector<int>{1, 1, 1, 1, 2, 3, 3, 3}));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{7, 8, 2, 1, 3, 2, 2, 5}));
  EXPECT_EQ(plan.task_count(), 30u);
  EXPECT_TRUE(plan.done());
  EXPECT_EQ(plan.priority(), 1);

  const PlannedTask* t008 = find_task(plan, "T008");
  ASSERT_NE(t008, nullptr);
  EXPECT_EQ(t008->title,
            "Implement `Task` dataclass in `todo_console_app/model.py` (id, description, "
            "created_timestamp, completed_status)");
  EXPECT_EQ(t008->line, 38);
  EXPECT_TRUE(t008->done);
  EXPECT_FALSE(t008->parallel);
  EXPECT_EQ(find_task(plan, "T020")->story, "US3");
  EXPECT_EQ(find_task(plan, "T029")->title, "Review `quickstart.md` for accuracy and completeness");
}

TEST(ParseTasksMd, SampleEdgesFollowPhaseOrderAndStoryDependencies) {
  SAMPLE_OR_SKIP(sample);
  ImportPlan plan = parse_tasks_md(sample, kSampleDir);
  // The phase order, then "User Story 3 (P2): … Depends on US1 (…) and US2 (…)" and its like.
  // "No dependencies on other stories", "Can start after Foundational (Phase 2)" and "Depends
  // on all user stories" name no story, so they add nothing.
  EXPECT_EQ(edges(plan),
            (std::set<std::string>{"Foundational<-Setup", "US1<-Foundational", "US2<-Foundational",
                                   "US3<-Foundational", "US4<-Foundational", "US5<-Foundational",
                                   "Polish<-US1", "Polish<-US2", "Polish<-US3", "Polish<-US4",
                                   "Polish<-US5", "US3<-US1", "US3<-US2", "US4<-US1", "US4<-US2",
                                   "US5<-US1", "US5<-US2"}));
  EXPECT_EQ(plan.blocks.size(), 17u);
}

TEST(ParseTasksMd, OwnFileWithOpenTasksTagsAndProse) {
  ImportPlan plan = parse_tasks_md(kBookmarks, "specs/002-bookmarks");
  EXPECT_TRUE(plan.problems.empty()) << testing::PrintToString(problems(plan.problems));
  EXPECT_EQ(plan.title, "Bookmarks CLI");
  ASSERT_EQ(plan.phases.size(), 5u);
  EXPECT_FALSE(plan.phases[0].done());  // T001 ticked, T002 and T003 not
  EXPECT_TRUE(find_task(plan, "T001")->done);
  EXPECT_TRUE(find_task(plan, "T002")->parallel);
  EXPECT_TRUE(find_task(plan, "T006")->parallel);
  EXPECT_EQ(find_task(plan, "T006")->story, "US1");
  EXPECT_FALSE(find_task(plan, "T007")->parallel);
  EXPECT_EQ(find_task(plan, "T007")->title, "Implement `save` in `bookmarks/cli.py`");
  EXPECT_EQ(find_task(plan, "T007")->description,
            "- depends on T006\n- keep the URL exactly as typed");
  EXPECT_EQ(find_task(plan, "T005")->title,
            "Implement storage in `bookmarks/store.py` (depends on T004)");
  EXPECT_EQ(plan.phases[2].priority, 1);
  EXPECT_EQ(plan.phases[3].priority, 2);
  EXPECT_EQ(plan.phases[0].priority, 1);
  EXPECT_EQ(plan.phases[4].priority, 2);  // the least urgent story is P2
  EXPECT_EQ(edges(plan),
            (std::set<std::string>{"Foundational<-Setup", "US1<-Foundational", "US2<-Foundational",
                                   "Polish<-US1", "Polish<-US2", "T005<-T004", "T007<-T006",
                                   "T010<-T008", "US2<-US1"}));
}

TEST(ParseTasksMd, MalformedLinesAreReportedAndSkipped) {
  const std::string text =
      "# Tasks: Broken\n"                                  // 1
      "- [ ] T000 Before any phase\n"                      // 2
      "## Phase 1: Setup\n"                                // 3
      "- [ ] Create things without an id\n"                // 4
      "- [ ] T001 Good task\n"                             // 5
      "- [x] T001 The same id again\n"                     // 6
      "- [ ] T002 [Q] An unknown tag\n"                    // 7
      "- [~] T003 An odd checkbox\n"                       // 8
      "- [ ] T004\n"                                       // 9
      "- [ ] T005 Depends on T099 and US7\n"               // 10
      "- [ ] T006 [P] Wait for myself, depends on T006\n"  // 11
      "- [ ] [P] T007 Tags first, then the id\n"           // 12
      "## Notes\n"                                         // 13
      "- [ ] T008 Not in a phase\n"                        // 14
      "- [ ] a checklist note, not a task\n";              // 15
  ImportPlan plan = parse_tasks_md(text, "specs/broken");
  EXPECT_EQ(problems(plan.problems),
            (std::vector<std::string>{
                "2: T000 is not under a '## Phase' heading; skipped",
                "4: checklist line without a task id (T###); skipped",
                "6: T001 appears twice (first on line 5); skipped", "7: unknown tag [Q]; skipped",
                "8: T003: unknown checkbox [~] (use [ ] or [x]); skipped",
                "9: T004 has no description; skipped",
                "10: T099 is not a task of this file; the dependency on it is skipped",
                "10: US7 is not a user story phase of this file; the dependency on it is skipped",
                "11: T006 depending on T006 would make it wait for itself; skipped",
                "14: T008 is not under a '## Phase' heading; skipped"}));
  ASSERT_EQ(plan.phases.size(), 1u);
  std::vector<std::string> ids;
  for (const auto& task : plan.phases[0].tasks) ids.push_back(task.task_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"T001", "T005", "T006", "T007"}));
  EXPECT_FALSE(find_task(plan, "T001")->done);  // the first T001 counts
  EXPECT_TRUE(find_task(plan, "T007")->parallel);
  EXPECT_TRUE(plan.blocks.empty());
}

TEST(ParseTasksMd, DependenciesThatWouldWaitForThemselvesAreRefused) {
  const std::string text =
      "## Phase 1: Setup\n"                         // 1
      "- [ ] T001 Scaffold, after T004\n"           // 2
      "## Phase 2: User Story 1 - One\n"            // 3
      "- [ ] T002 [US1] First\n"                    // 4
      "- [ ] T003 [US1] Second, depends on T002\n"  // 5
      "- [ ] T004 [US1] Third; depends on US1\n"    // 6
      "## Dependencies\n"                           // 7
      "- T002 depends on T003\n";                   // 8
  ImportPlan plan = parse_tasks_md(text, "specs/cycles");
  EXPECT_EQ(problems(plan.problems),
            (std::vector<std::string>{
                // Setup blocks US1, so a Setup task cannot wait for a task of US1.
                "2: T001 depending on T004 would make it wait for itself; skipped",
                // A task cannot wait for the phase that waits for it.
                "6: T004 depending on US1 would make it wait for itself; skipped",
                "8: T002 depending on T003 would make it wait for itself; skipped"}));
  EXPECT_EQ(edges(plan), (std::set<std::string>{"US1<-Setup", "T003<-T002"}));
}

// Found by the fuzzer: a story phase with no tasks said to depend on itself.
TEST(ParseTasksMd, APhaseWithoutTasksCannotWaitForItself) {
  const std::string text =
      "## Phase 3: User Story 1 - Save\n"
      "## Dependencies\n"
      "- **User Story 1 (P2)**: Depends on US1\n";
  ImportPlan plan = parse_tasks_md(text, "specs/self");
  EXPECT_EQ(
      problems(plan.problems),
      std::vector<std::string>{"3: US1 depending on US1 would make it wait for itself; skipped"});
  EXPECT_TRUE(plan.blocks.empty());
}

TEST(ParseTasksMd, ProseForms) {
  const std::string text =
      "## Phase 1: Setup\n"
      "- [ ] T001 One\n- [ ] T002 Two\n- [ ] T003 Three\n- [ ] T004 Four\n- [ ] T005 Five\n"
      "- [ ] T006 Six, blocked by T001–T003 (not by `T004.py`)\n"
      "- [ ] T007 Seven (depends on T005) before T008\n"
      "- [ ] T008 Eight\n"
      "## Dependencies & Execution Order\n"
      "### Within the phase\n"
      "- T001 blocks T002, T003. T004 depends on T002; T005 requires T004\n"
      "- Tests (T002..T003) before the rest (T008)\n"
      "```\n"
      "T008 depends on T001 (in a code block: not read)\n"
      "```\n"
      "## Notes\n"
      "- T005 depends on T001 (outside the dependencies section: not read)\n";
  ImportPlan plan = parse_tasks_md(text, "specs/prose");
  EXPECT_TRUE(plan.problems.empty()) << testing::PrintToString(problems(plan.problems));
  EXPECT_EQ(edges(plan),
            (std::set<std::string>{"T006<-T001", "T006<-T002", "T006<-T003", "T007<-T005",
                                   "T008<-T007", "T002<-T001", "T003<-T001", "T004<-T002",
                                   "T005<-T004", "T008<-T002", "T008<-T003"}));
}

TEST(ParseTasksMd, HeadingsAreReadTolerantly) {
  const std::string text =
      "# Tasks — Old template\n"
      "## Phase 3.1: Setup\n- [ ] T001 a\n"
      "## Phase 3.2: Tests First (TDD)\n- [ ] T002 b\n"
      "### Phase Dependencies\n- [ ] T003 c\n"  // no number: no phase
      "## Phase 3.3 — Core Implementation\n- [ ] T004 d\n"
      "## Phase 3.4 - Integration\n- [ ] T005 e\n"
      "## Polish\n- [ ] T006 f\n"
      "## Validation Checklist\n- [ ] All contracts have tests\n";
  ImportPlan plan = parse_tasks_md(text, "specs/old");
  EXPECT_TRUE(plan.problems.empty()) << testing::PrintToString(problems(plan.problems));
  EXPECT_EQ(plan.title, "Old template");
  std::vector<std::string> names;
  for (const auto& phase : plan.phases) names.push_back(phase_name(phase));
  EXPECT_EQ(names, (std::vector<std::string>{"Setup", "Phase 3.2: Tests First (TDD)",
                                             "Phase 3.3 — Core Implementation",
                                             "Phase 3.4 - Integration", "Polish"}));
  EXPECT_EQ(plan.phases[1].tasks.size(), 2u);  // T003 stays in 3.2
  // Phases that are no stories follow each other; no stories: Setup 1, Polish 3, others 2.
  EXPECT_EQ(edges(plan),
            (std::set<std::string>{
                "Phase 3.2: Tests First (TDD)<-Setup", "Phase 3.3 — Core Implementation<-Setup",
                "Phase 3.4 - Integration<-Setup",
                "Phase 3.3 — Core Implementation<-Phase 3.2: Tests First (TDD)",
                "Phase 3.4 - Integration<-Phase 3.3 — Core Implementation",
                "Polish<-Phase 3.2: Tests First (TDD)", "Polish<-Phase 3.3 — Core Implementation",
                "Polish<-Phase 3.4 - Integration"}));
  EXPECT_EQ(plan.phases[0].priority, 1);
  EXPECT_EQ(plan.phases[2].priority, 2);
  EXPECT_EQ(plan.phases[4].priority, 3);
}

TEST(ParseTasksMd, EmptyAndBinaryInputGiveAnEmptyPlan) {
  EXPECT_TRUE(parse_tasks_md("", "specs/none").phases.empty());
  EXPECT_EQ(parse_tasks_md("", "specs/003-none").title, "003-none");
  constexpr char kJunk[] = "\0\xff## Phase\n- [\n- [x]\n\r\n```";
  EXPECT_TRUE(parse_tasks_md(std::string_view(kJunk, sizeof kJunk - 1), "x").phases.empty());
}

// ---------------------------------------------------------------------------------------------
// Applying, to the real local tracker.

class ImportTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::TempDir() + "sddsh-import-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    tracker_ = value_of(open_local_tracker(dir_ + "/tracker.db"));
  }
  void TearDown() override {
    tracker_.reset();
    fs::remove_all(dir_);
  }

  ImportReport import(const std::string& text, const std::string& spec_dir = kSampleDir) {
    return value_of(apply_import(*tracker_, parse_tasks_md(text, spec_dir)));
  }

  // The T-ids of ready tasks, in the tracker's order.
  std::vector<std::string> ready() {
    std::vector<std::string> ids;
    for (const auto& task : value_of(tracker_->ready({.type = IssueType::Task})))
      ids.push_back(task.spec_ref ? task.spec_ref->task_id : task.id);
    return ids;
  }

  Task by_spec(const std::string& task_id, const std::string& dir = kSampleDir) {
    auto found = value_of(tracker_->find_by_spec(dir, task_id));
    if (!found) throw std::runtime_error("no " + task_id + " in " + dir);
    return *found;
  }

  std::vector<Task> features(const std::string& dir = kSampleDir) {
    std::vector<Task> out;
    for (auto& task :
         value_of(tracker_->list({.type = IssueType::Feature, .include_closed = true})))
      if (task.spec_ref && task.spec_ref->dir == dir) out.push_back(std::move(task));
    return out;
  }

  void close(const std::string& task_id, const std::string& dir = kSampleDir) {
    value_of(tracker_->close(by_spec(task_id, dir).id, "done", ""));
  }

  std::string dir_;
  std::unique_ptr<Tracker> tracker_;
};

void expect_counts(const ImportCounts& counts, int created, int updated, int unchanged,
                   const char* what) {
  EXPECT_EQ(counts.created, created) << what;
  EXPECT_EQ(counts.updated, updated) << what;
  EXPECT_EQ(counts.unchanged, unchanged) << what;
}

TEST_F(ImportTest, SampleImportsClosedAndNothingIsReady) {
  SAMPLE_OR_SKIP(sample);
  ImportReport report = import(sample);
  expect_counts(report.epic, 1, 0, 0, "epic");
  expect_counts(report.features, 8, 0, 0, "features");
  expect_counts(report.tasks, 30, 0, 0, "tasks");
  EXPECT_EQ(report.edges_added, 17);
  EXPECT_TRUE(report.vanished.empty());
  EXPECT_TRUE(report.problems.empty());

  // Every box is ticked: every task, phase and the epic are closed, so no task is ready.
  EXPECT_EQ(ready(), std::vector<std::string>{});
  Task epic = value_of(tracker_->get(report.epic_id));
  EXPECT_EQ(epic.issue_type, IssueType::Epic);
  EXPECT_EQ(epic.status, Status::Closed);
  EXPECT_EQ(epic.title, "Phase I: Todo In-Memory Python Console App");
  EXPECT_EQ(epic.spec_ref, (SpecRef{kSampleDir, "", ""}));
  ASSERT_EQ(features().size(), 8u);
  for (const auto& feature : features()) EXPECT_EQ(feature.status, Status::Closed) << feature.title;

  Task t019 = by_spec("T019");
  EXPECT_EQ(t019.status, Status::Closed);
  EXPECT_EQ(t019.priority, 2);
  EXPECT_EQ(t019.title, "Implement `get_task_by_id` method in `todo_console_app/service.py`");
  EXPECT_EQ(t019.spec_ref,
            (SpecRef{kSampleDir, "T019", "Phase 5: User Story 3 - Mark a Task as Complete"}));
  EXPECT_EQ(by_spec("T001").priority, 1);
  EXPECT_EQ(by_spec("T030").priority, 3);
}

TEST_F(ImportTest, SampleReimportChangesNothing) {
  SAMPLE_OR_SKIP(sample);
  import(sample);
  ImportReport again = import(sample);
  expect_counts(again.epic, 0, 0, 1, "epic");
  expect_counts(again.features, 0, 0, 8, "features");
  expect_counts(again.tasks, 0, 0, 30, "tasks");
  EXPECT_EQ(again.edges_added, 0);
  EXPECT_EQ(value_of(tracker_->list({.include_closed = true})).size(), 39u);
}

// The sample as it stood when Setup and Foundational were done: every box from Phase 3 on open.
//   Setup, Foundational: all ticked → closed, so they block nothing.
//   US1 (P1) T016 T017, US2 (P1) T018: only Foundational (closed) before them → ready.
//   US3 (P2), US4 (P3), US5 (P3): "Depends on US1 … and US2", both open → blocked.
//   Polish: after every story → blocked.
// Ready: priority 1 only, in creation (= file) order: T016, T017, T018.
TEST_F(ImportTest, SampleWithStoriesOpenHasTheHandDerivedReadyList) {
  SAMPLE_OR_SKIP(sample);
  import(untick_from(sample, "## Phase 3:"));
  EXPECT_EQ(ready(), (std::vector<std::string>{"T016", "T017", "T018"}));

  // US1 done: its feature closes by itself; US3-5 still wait for US2.
  close("T016");
  close("T017");
  EXPECT_EQ(ready(), (std::vector<std::string>{"T018"}));
  // US2 done: US3 (P2) before US4 and US5 (P3); Polish still waits for them.
  close("T018");
  EXPECT_EQ(ready(),
            (std::vector<std::string>{"T019", "T020", "T021", "T022", "T023", "T024", "T025"}));
}

TEST_F(ImportTest, OwnFileReadyWorkFollowsPhasesAndProse) {
  const std::string dir = "specs/002-bookmarks";
  ImportReport report = import(kBookmarks, dir);
  expect_counts(report.tasks, 10, 0, 0, "tasks");
  EXPECT_EQ(report.edges_added, 9);
  EXPECT_EQ(value_of(tracker_->get(report.epic_id)).priority, 1);
  // Setup still open (T002, T003) holds back everything after it.
  EXPECT_EQ(ready(), (std::vector<std::string>{"T002", "T003"}));
  close("T002", dir);
  close("T003", dir);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T004"}));  // T005 depends on T004
  close("T004", dir);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T005"}));
  close("T005", dir);
  EXPECT_EQ(ready(),
            (std::vector<std::string>{"T006"}));  // T007 under "depends on T006"; US2 after US1
  close("T006", dir);
  close("T007", dir);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T008"}));
  close("T008", dir);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T009", "T010"}));

  // The tracker moved on; the file did not. Re-importing reopens nothing and changes nothing.
  ImportReport again = import(kBookmarks, dir);
  expect_counts(again.tasks, 0, 0, 10, "tasks");
  expect_counts(again.features, 0, 0, 5, "features");
  expect_counts(again.epic, 0, 0, 1, "epic");
  EXPECT_EQ(again.edges_added, 0);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T009", "T010"}));
}

TEST_F(ImportTest, ChangedFileUpdatesAddsAndReportsVanished) {
  const std::string dir = "specs/002-bookmarks";
  import(kBookmarks, dir);
  const std::string old_t009 = by_spec("T009", dir).id;
  std::string changed = kBookmarks;
  changed = replace(changed, "- [ ] T002 [P] Add", "- [x] T002 [P] Add");          // ticked
  changed = replace(changed, "- [ ] T009 Write `README.md`\n", "");                // removed
  changed = replace(changed, "- [ ] T003 [P] Configure", "- [ ] T003 Configure");  // not [P]
  changed = replace(changed, "List bookmarks (Priority: P2)",
                    "List saved bookmarks (Priority: P3)");  // reworded, less urgent
  changed += "\n## Phase 6: Release\n\n- [ ] T011 Tag v1.0, after T008\n";
  ImportReport report = import(changed, dir);

  // T011 new; T002 closed, T003 lost [P], T008 under a reworded phase at P3, and T010 at P3
  // too: Polish is as urgent as the least urgent story, now P3.
  expect_counts(report.tasks, 1, 4, 5, "tasks");
  // Release new; US2 reworded, Polish at P3; Setup (T003 still open), Foundational, US1 as were.
  expect_counts(report.features, 1, 2, 3, "features");
  ASSERT_EQ(report.vanished.size(), 1u);
  EXPECT_EQ(report.vanished[0].task_id, "T009");
  EXPECT_EQ(report.vanished[0].id, old_t009);
  EXPECT_EQ(by_spec("T009", dir).status, Status::Open) << "vanished tasks are kept";
  EXPECT_EQ(by_spec("T002", dir).status, Status::Closed);
  EXPECT_FALSE(by_spec("T003", dir).parallel);
  Task t008 = by_spec("T008", dir);
  EXPECT_EQ(t008.priority, 3);
  EXPECT_EQ(t008.spec_ref->phase, "Phase 4: User Story 2 - List saved bookmarks");
  EXPECT_EQ(features(dir).size(), 6u) << "the reworded phase is the same feature";
  EXPECT_EQ(by_spec("T010", dir).priority, 3);
  // Release, unrecognized, stands with the stories (after Foundational, before Polish); T011
  // waits for T008.
  EXPECT_EQ(report.edges_added, 3);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T003"}));

  ImportReport again = import(changed, dir);
  expect_counts(again.tasks, 0, 0, 10, "tasks");
  expect_counts(again.features, 0, 0, 6, "features");
  EXPECT_EQ(again.edges_added, 0);
  EXPECT_EQ(again.vanished.size(), 1u) << "reported again: the file still lacks it";
}

TEST_F(ImportTest, AClosedPhaseStaysClosedAndAVanishedPhaseIsReported) {
  const std::string dir = "specs/002-bookmarks";
  import(kBookmarks, dir);
  // Someone closes the US2 phase by hand while its task is open; the file did not change.
  Task us2;
  for (const auto& feature : features(dir))
    if (feature.title.starts_with("Phase 4:")) us2 = feature;
  value_of(tracker_->close(us2.id, "dropped", ""));
  // And the Polish phase leaves the file.
  const std::string text = kBookmarks;
  const std::string without_polish =
      text.substr(0, text.find("## Phase 5:")) + text.substr(text.find("## Dependencies"));
  ImportReport report = import(without_polish, dir);
  EXPECT_EQ(value_of(tracker_->get(us2.id)).status, Status::Closed) << "the file reopens nothing";
  expect_counts(report.features, 0, 0, 4, "features");
  expect_counts(report.tasks, 0, 0, 8, "tasks");
  std::vector<std::string> vanished;
  for (const auto& gone : report.vanished) vanished.push_back(gone.task_id + "|" + gone.title);
  EXPECT_EQ(vanished, (std::vector<std::string>{"T009|Write `README.md`",
                                                "T010|Run the whole test suite, blocked by T008",
                                                "|Phase 5: Polish & Cross-Cutting Concerns"}));
}

TEST_F(ImportTest, NewOpenTaskReopensAFinishedPhaseAndEpic) {
  SAMPLE_OR_SKIP(sample);
  ImportReport first = import(sample);
  const std::string more =
      replace(sample, "- [x] T030 ", "- [ ] T031 Add a `--version` flag\n- [x] T030 ");
  ImportReport report = import(more);
  expect_counts(report.tasks, 1, 0, 30, "tasks");
  expect_counts(report.features, 0, 1, 7, "features");
  expect_counts(report.epic, 0, 1, 0, "epic");
  EXPECT_EQ(value_of(tracker_->get(first.epic_id)).status, Status::Open);
  EXPECT_EQ(ready(), (std::vector<std::string>{"T031"}));
  // Ticking it closes the phase and the epic again.
  ImportReport done = import(replace(more, "- [ ] T031", "- [x] T031"));
  expect_counts(done.tasks, 0, 1, 30, "tasks");
  expect_counts(done.features, 0, 1, 7, "features");
  EXPECT_EQ(value_of(tracker_->get(first.epic_id)).status, Status::Closed);
}

TEST_F(ImportTest, MalformedLinesDoNotStopTheRest) {
  const std::string text =
      "# Tasks: Broken\n"
      "## Phase 1: Setup\n"
      "- [ ] T001 Good\n"
      "- [ ] no id here\n"
      "- [ ] T002 [Q] bad tag\n"
      "- [ ] T003 Also good, depends on T001\n";
  ImportReport report = import(text, "specs/broken");
  EXPECT_EQ(problems(report.problems),
            (std::vector<std::string>{"4: checklist line without a task id (T###); skipped",
                                      "5: unknown tag [Q]; skipped"}));
  expect_counts(report.tasks, 2, 0, 0, "tasks");
  EXPECT_EQ(ready(), (std::vector<std::string>{"T001"}));
}

TEST_F(ImportTest, SpecDirsAreSeparateEpics) {
  ImportReport a = import(kBookmarks, "specs/002-bookmarks");
  ImportReport b = import(kBookmarks, "other/specs/002-bookmarks");
  EXPECT_NE(a.epic_id, b.epic_id);
  expect_counts(b.tasks, 10, 0, 0, "tasks");
  EXPECT_EQ(ready(), (std::vector<std::string>{"T002", "T003", "T002", "T003"}));
}

}  // namespace
