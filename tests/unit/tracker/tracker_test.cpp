// The tracker model and the local tracker: names and JSON, the ready rule edge by edge, claim
// and its refusals, close/auto-close/reopen, dependencies, the schema's versions, and a claim
// race between processes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "tracker-client/local_schema.hpp"
#include "tracker-client/local_tracker.hpp"
#include "tracker-client/ready_rule.hpp"
#include "tracker-client/sqlite.hpp"
#include "tracker-client/timestamps.hpp"

using namespace sddsh::tracker;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  std::string tmpl = testing::TempDir() + "sddsh-tracker-XXXXXX";
  return mkdtemp(tmpl.data());
}

template <typename T>
T value_of(sddsh::Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(*result);
}

std::string error_of(const auto& result) {
  return result ? std::string("(succeeded)") : result.error().message;
}

class LocalTrackerTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir();
    path_ = dir_ + "/tracker.db";
    tracker_ = value_of(open_local_tracker(path_));
  }
  void TearDown() override {
    tracker_.reset();
    fs::remove_all(dir_);
  }

  Task add(const std::string& title, IssueType type = IssueType::Task, int priority = 2,
           const std::string& parent = "") {
    NewTask request;
    request.title = title;
    request.issue_type = type;
    request.priority = priority;
    request.parent = parent;
    return value_of(tracker_->create(request));
  }
  Task add_child(const std::string& title, const Task& parent, IssueType type = IssueType::Task) {
    return add(title, type, 2, parent.id);
  }
  void link(const Task& issue, const Task& depends_on, DependencyType type) {
    auto added = tracker_->add_dependency(Dependency{issue.id, depends_on.id, type, ""});
    ASSERT_TRUE(added) << added.error().message;
  }
  void block(const Task& blocked, const Task& blocker) {
    link(blocked, blocker, DependencyType::Blocks);
  }
  std::vector<std::string> ready_titles(const ReadyQuery& query = {}) {
    std::vector<std::string> titles;
    for (const auto& task : value_of(tracker_->ready(query))) titles.push_back(task.title);
    return titles;
  }
  Task reread(const Task& task) { return value_of(tracker_->get(task.id)); }
  // Sets a column by hand, for what the API keeps out of reach (creation times).
  void set_column(const Task& task, const std::string& column, const std::string& value) {
    auto database = sqlite::Database::open(path_, 1000);
    database.prepare("UPDATE issues SET " + column + " = ?2 WHERE id = ?1")
        .bind(1, task.id)
        .bind(2, value)
        .run();
  }

  std::string dir_, path_;
  std::unique_ptr<Tracker> tracker_;
};

using Strings = std::vector<std::string>;

}  // namespace

// --- The model ------------------------------------------------------------------------------

TEST(Model, NamesAreBeadsOnesAndParseBack) {
  EXPECT_STREQ(name(IssueType::Epic), "epic");
  EXPECT_STREQ(name(IssueType::Chore), "chore");
  EXPECT_STREQ(name(Status::InProgress), "in_progress");
  EXPECT_STREQ(name(DependencyType::ParentChild), "parent-child");
  EXPECT_STREQ(name(DependencyType::DiscoveredFrom), "discovered-from");
  for (auto type :
       {IssueType::Epic, IssueType::Feature, IssueType::Task, IssueType::Bug, IssueType::Chore})
    EXPECT_EQ(parse_issue_type(name(type)), type);
  for (auto status :
       {Status::Open, Status::InProgress, Status::Blocked, Status::Deferred, Status::Closed})
    EXPECT_EQ(parse_status(name(status)), status);
  for (auto type : {DependencyType::Blocks, DependencyType::ParentChild, DependencyType::Related,
                    DependencyType::DiscoveredFrom})
    EXPECT_EQ(parse_dependency_type(name(type)), type);
  EXPECT_FALSE(parse_issue_type("Task"));
  EXPECT_FALSE(parse_status("in-progress"));
  EXPECT_FALSE(parse_dependency_type("parent_child"));
}

TEST(Model, TaskJsonRoundTripsEveryField) {
  Task task;
  task.id = "sd-1a2b";
  task.title = "Add a task";
  task.description = "line one\nline two";
  task.issue_type = IssueType::Bug;
  task.status = Status::InProgress;
  task.priority = 0;
  task.assignee = "alice";
  task.labels = {"cli", "p0"};
  task.created_at = "2025-03-04T05:06:07.089Z";
  task.updated_at = "2025-03-04T05:06:08.000Z";
  task.started_at = "2025-03-04T05:06:08.000Z";
  task.closed_at = "2025-03-05T00:00:00.000Z";
  task.defer_until = "2025-04-01T00:00:00.000Z";
  task.close_reason = "done";
  task.closed_by_session = "20250304-abcdef";
  task.spec_ref = SpecRef{"specs/001-todo", "T012", "Phase 3: User Story 1"};
  task.parallel = true;
  auto json = to_json(task);
  EXPECT_EQ(json["issue_type"], "bug");
  EXPECT_EQ(json["status"], "in_progress");
  EXPECT_EQ(json["spec_ref"]["task_id"], "T012");
  auto back = value_of(task_from_json(nlohmann::json::parse(json.dump())));
  EXPECT_EQ(to_json(back), json);
  EXPECT_EQ(back.spec_ref, task.spec_ref);
  EXPECT_EQ(back.labels, task.labels);
  EXPECT_TRUE(back.parallel);
}

TEST(Model, EmptyOptionalFieldsAreLeftOut) {
  Task task;
  task.id = "sd-0001";
  task.title = "t";
  auto json = to_json(task);
  for (const char* field : {"assignee", "labels", "started_at", "closed_at", "close_reason",
                            "closed_by_session", "defer_until", "spec_ref"})
    EXPECT_FALSE(json.contains(field)) << field;
  for (const char* field : {"id", "title", "description", "issue_type", "status", "priority",
                            "created_at", "updated_at", "parallel"})
    EXPECT_TRUE(json.contains(field)) << field;
  // And null reads as unset, as some writers send it.
  json["assignee"] = nullptr;
  json["spec_ref"] = nullptr;
  auto back = value_of(task_from_json(json));
  EXPECT_EQ(back.assignee, "");
  EXPECT_FALSE(back.spec_ref);
}

TEST(Model, BadTaskJsonNamesTheField) {
  auto base = to_json(Task{.id = "sd-1", .title = "t"});
  auto without = [&](const char* field) {
    auto copy = base;
    copy.erase(field);
    return error_of(task_from_json(copy));
  };
  EXPECT_NE(without("id").find("'id'"), std::string::npos);
  EXPECT_NE(without("title").find("'title'"), std::string::npos);
  EXPECT_NE(without("status").find("'status'"), std::string::npos);
  auto bad = base;
  bad["priority"] = 7;
  EXPECT_NE(error_of(task_from_json(bad)).find("'priority'"), std::string::npos);
  bad = base;
  bad["issue_type"] = "story";
  EXPECT_NE(error_of(task_from_json(bad)).find("'issue_type'"), std::string::npos);
  bad = base;
  bad["labels"] = "x";
  EXPECT_NE(error_of(task_from_json(bad)).find("'labels'"), std::string::npos);
  bad = base;
  bad["unknown_field"] = 1;
  EXPECT_TRUE(task_from_json(bad)) << "unknown fields are ignored";
}

TEST(Model, DependencyJsonRoundTrips) {
  Dependency edge{"sd-a", "sd-b", DependencyType::DiscoveredFrom, "2025-03-04T05:06:07.089Z"};
  auto json = to_json(edge);
  EXPECT_EQ(json, nlohmann::json::parse(R"({"issue_id":"sd-a","depends_on_id":"sd-b",
      "type":"discovered-from","created_at":"2025-03-04T05:06:07.089Z"})"));
  auto back = value_of(dependency_from_json(json));
  EXPECT_EQ(back, edge);
  EXPECT_EQ(back.created_at, edge.created_at);
  json["type"] = "needs";
  EXPECT_NE(error_of(dependency_from_json(json)).find("'type'"), std::string::npos);
}

TEST(Timestamps, IsoTextAndMillisecondsAgree) {
  EXPECT_EQ(iso_from_unix_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso_from_unix_ms(1741064767089), "2025-03-04T05:06:07.089Z");
  EXPECT_EQ(unix_ms_from_iso("2025-03-04T05:06:07.089Z"), 1741064767089);
  EXPECT_EQ(unix_ms_from_iso("2025-03-04"), 1741046400000);
  EXPECT_EQ(unix_ms_from_iso("2025-03-04T05:06Z"), 1741064760000);
  EXPECT_FALSE(unix_ms_from_iso("2025-03-04 05:06"));
  EXPECT_FALSE(unix_ms_from_iso("2025-13-01"));
  EXPECT_FALSE(unix_ms_from_iso("tomorrow"));
}

// --- The ready rule as a pure function -------------------------------------------------

TEST(ReadyRule, ParentChildCyclesEndAndUnknownIdsAreIgnored) {
  std::vector<IssueFacts> issues{{.id = "a"}, {.id = "b"}, {.id = "c"}, {.id = "blocker"}};
  std::vector<Dependency> edges{{"a", "b", DependencyType::ParentChild, ""},
                                {"b", "a", DependencyType::ParentChild, ""},  // bad data
                                {"a", "blocker", DependencyType::Blocks, ""},
                                {"c", "nowhere", DependencyType::Blocks, ""}};
  EXPECT_EQ(ready_ids(issues, edges, {}, "2025-01-01T00:00:00.000Z"), (Strings{"blocker", "c"}));
}

TEST(ReadyRule, LimitKeepsTheBestOnes) {
  std::vector<IssueFacts> issues;
  for (int i = 0; i < 50; ++i)
    issues.push_back({.id = "t" + std::to_string(100 + i),
                      .priority = 4 - i % 5,
                      .created_at = std::to_string(1000 - i)});
  auto best = ready_ids(issues, {}, {.limit = 3}, "");
  EXPECT_EQ(best, (Strings{"t149", "t144", "t139"})) << "priority 0 first, then the oldest";
}

// --- Creating and reading ------------------------------------------------------------------

TEST_F(LocalTrackerTest, CreatedTasksGetShortUniqueIdsAndIncreasingTimes) {
  std::set<std::string> ids;
  std::string previous;
  const std::regex id_shape("sd-[0-9a-f]{4,}");
  for (int i = 0; i < 300; ++i) {
    Task task = add("t" + std::to_string(i));
    EXPECT_TRUE(std::regex_match(task.id, id_shape)) << task.id;
    EXPECT_TRUE(ids.insert(task.id).second) << "duplicate " << task.id;
    EXPECT_GT(task.created_at, previous) << "creation order is age order";
    previous = task.created_at;
  }
}

TEST_F(LocalTrackerTest, CreateKeepsEveryFieldAndRefusesBadInput) {
  NewTask request;
  request.title = "Parse tasks.md";
  request.description = "the importer";
  request.issue_type = IssueType::Feature;
  request.priority = 1;
  request.labels = {"import"};
  request.spec_ref = SpecRef{"specs/001", "T003", "Phase 1: Setup"};
  request.parallel = true;
  Task task = value_of(tracker_->create(request));
  Task read = reread(task);
  EXPECT_EQ(to_json(read), to_json(task));
  EXPECT_EQ(read.title, "Parse tasks.md");
  EXPECT_EQ(read.labels, Strings{"import"});
  EXPECT_EQ(read.spec_ref, request.spec_ref);
  EXPECT_TRUE(read.parallel);
  EXPECT_EQ(read.status, Status::Open);

  EXPECT_EQ(error_of(tracker_->create(NewTask{})), "a task needs a title");
  request.priority = 5;
  EXPECT_EQ(error_of(tracker_->create(request)), "priority must be 0..4");
  request.priority = 2;
  request.parent = "sd-none";
  EXPECT_EQ(error_of(tracker_->create(request)), "no task sd-none");
  EXPECT_EQ(error_of(tracker_->get("sd-none")), "no task sd-none");
}

TEST_F(LocalTrackerTest, ListShowsOpenWorkUnlessAskedForClosed) {
  Task a = add("a"), b = add("b", IssueType::Bug), c = add("c");
  ASSERT_TRUE(tracker_->close(c.id, "", ""));
  auto titles = [&](const ListQuery& query) {
    Strings out;
    for (const auto& task : value_of(tracker_->list(query))) out.push_back(task.title);
    return out;
  };
  EXPECT_EQ(titles({}), (Strings{"a", "b"}));
  EXPECT_EQ(titles({.include_closed = true}), (Strings{"a", "b", "c"}));
  EXPECT_EQ(titles({.status = Status::Closed}), Strings{"c"});
  EXPECT_EQ(titles({.type = IssueType::Bug}), Strings{"b"});
}

TEST_F(LocalTrackerTest, FindBySpecMatchesDirAndTaskId) {
  NewTask epic{
      .title = "Todo", .issue_type = IssueType::Epic, .spec_ref = SpecRef{"specs/001", "", ""}};
  NewTask phase{.title = "Setup",
                .issue_type = IssueType::Feature,
                .spec_ref = SpecRef{"specs/001", "", "Phase 1: Setup"}};
  NewTask t1{.title = "T001", .spec_ref = SpecRef{"specs/001", "T001", "Phase 1: Setup"}};
  NewTask other{.title = "other T001", .spec_ref = SpecRef{"specs/002", "T001", "Phase 1"}};
  Task phase_task = value_of(tracker_->create(phase));  // before the epic: the epic still wins
  Task epic_task = value_of(tracker_->create(epic));
  Task t1_task = value_of(tracker_->create(t1));
  ASSERT_TRUE(tracker_->create(other));
  EXPECT_EQ(value_of(tracker_->find_by_spec("specs/001", "T001"))->id, t1_task.id);
  EXPECT_EQ(value_of(tracker_->find_by_spec("specs/001", ""))->id, epic_task.id);
  EXPECT_FALSE(value_of(tracker_->find_by_spec("specs/001", "T999")));
  EXPECT_FALSE(value_of(tracker_->find_by_spec("specs/003", "T001")));
  (void)phase_task;
}

TEST_F(LocalTrackerTest, ChangeUpdatesOnlyWhatIsSet) {
  Task task = add("old");
  TaskChange change;
  change.title = "new";
  change.priority = 0;
  change.labels = Strings{"x", "y"};
  Task changed = value_of(tracker_->change(task.id, change));
  EXPECT_EQ(changed.title, "new");
  EXPECT_EQ(changed.priority, 0);
  EXPECT_EQ(changed.labels, (Strings{"x", "y"}));
  EXPECT_EQ(changed.description, task.description);
  EXPECT_EQ(changed.created_at, task.created_at);
  EXPECT_GE(changed.updated_at, task.updated_at);
  EXPECT_EQ(error_of(tracker_->change(task.id, TaskChange{.priority = 9})),
            "priority must be 0..4");
  EXPECT_NE(
      error_of(tracker_->change(task.id, TaskChange{.defer_until = "soon"})).find("defer_until"),
      std::string::npos);
  // A date alone is accepted and kept in the one stored form.
  EXPECT_EQ(
      value_of(tracker_->change(task.id, TaskChange{.defer_until = "2999-01-02"})).defer_until,
      "2999-01-02T00:00:00.000Z");
}

TEST_F(LocalTrackerTest, NotesAppendWithTimeAndActor) {
  Task task = add("t");
  Task noted = value_of(tracker_->add_note(task.id, "first", "alice"));
  EXPECT_TRUE(std::regex_match(
      noted.description, std::regex(R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z alice\] first)")))
      << noted.description;
  noted = value_of(tracker_->add_note(task.id, "second", ""));
  EXPECT_TRUE(std::regex_search(noted.description, std::regex(R"(first\n\n\[[^ \]]+\] second$)")))
      << noted.description;
  EXPECT_EQ(error_of(tracker_->add_note("sd-none", "x", "")), "no task sd-none");
}

// --- The ready rule ---------------------------------------------------------------------

TEST_F(LocalTrackerTest, BlocksEdgeHoldsBackUntilTheBlockerCloses) {
  Task first = add("first"), second = add("second");
  block(second, first);
  EXPECT_EQ(ready_titles(), Strings{"first"});
  ASSERT_TRUE(tracker_->claim(first.id, "alice"));
  EXPECT_EQ(ready_titles(), Strings{}) << "an in-progress blocker still blocks";
  ASSERT_TRUE(tracker_->close(first.id, "", ""));
  EXPECT_EQ(ready_titles(), Strings{"second"});
}

TEST_F(LocalTrackerTest, RelatedAndDiscoveredFromDoNotBlock) {
  Task a = add("a"), b = add("b"), c = add("c");
  link(b, a, DependencyType::Related);
  link(c, a, DependencyType::DiscoveredFrom);
  EXPECT_EQ(ready_titles(), (Strings{"a", "b", "c"}));
}

TEST_F(LocalTrackerTest, OnlyOpenTasksAreReady) {
  Task open = add("open"), blocked = add("blocked"), deferred = add("deferred"), mine = add("mine");
  ASSERT_TRUE(tracker_->change(blocked.id, TaskChange{.status = Status::Blocked}));
  ASSERT_TRUE(tracker_->change(deferred.id, TaskChange{.status = Status::Deferred}));
  ASSERT_TRUE(tracker_->claim(mine.id, "alice"));
  EXPECT_EQ(ready_titles(), Strings{"open"});
}

TEST_F(LocalTrackerTest, BlockingIsInheritedDownParentChildEdges) {
  Task setup = add("setup", IssueType::Feature);
  Task story = add("story", IssueType::Feature);
  Task part = add_child("part", story, IssueType::Feature);
  Task leaf = add_child("leaf", part);
  Task setup_task = add_child("setup task", setup);
  block(story, setup);
  EXPECT_EQ(ready_titles({.type = IssueType::Task}), Strings{"setup task"})
      << "a blocked parent holds back its children and their children";
  ASSERT_TRUE(tracker_->close(setup_task.id, "", ""));  // closes setup by itself
  EXPECT_EQ(reread(setup).status, Status::Closed);
  EXPECT_EQ(ready_titles({.type = IssueType::Task}), Strings{"leaf"});
  (void)leaf;
}

TEST_F(LocalTrackerTest, AnOpenParentAloneDoesNotBlock) {
  Task feature = add("feature", IssueType::Feature);
  add_child("child", feature);
  EXPECT_EQ(ready_titles(), (Strings{"feature", "child"}));
}

TEST_F(LocalTrackerTest, BlockerOfAGrandparentBlocksTheGrandchild) {
  Task blocker = add("blocker");
  Task epic = add("epic", IssueType::Epic);
  Task feature = add_child("feature", epic, IssueType::Feature);
  add_child("task", feature);
  block(epic, blocker);
  EXPECT_EQ(ready_titles(), Strings{"blocker"});
}

TEST_F(LocalTrackerTest, DeferredUntilTheFutureIsNotReady) {
  Task past = add("past"), future = add("future");
  ASSERT_TRUE(tracker_->change(past.id,
                               TaskChange{.defer_until = iso_from_unix_ms(now_unix_ms() - 60000)}));
  ASSERT_TRUE(tracker_->change(
      future.id, TaskChange{.defer_until = iso_from_unix_ms(now_unix_ms() + 3600000)}));
  EXPECT_EQ(ready_titles(), Strings{"past"});
  ASSERT_TRUE(tracker_->change(future.id, TaskChange{.defer_until = ""}));
  EXPECT_EQ(ready_titles(), (Strings{"past", "future"}));
}

TEST_F(LocalTrackerTest, ReadyIsOrderedByPriorityThenAgeThenId) {
  Task low = add("low", IssueType::Task, 3);
  Task young = add("young", IssueType::Task, 1);
  Task old = add("old", IssueType::Task, 1);
  Task twin_a = add("twin a", IssueType::Task, 1);
  Task twin_b = add("twin b", IssueType::Task, 1);
  Task urgent = add("urgent", IssueType::Task, 0);
  set_column(young, "created_at", "2025-01-02T00:00:00.000Z");
  set_column(old, "created_at", "2025-01-01T00:00:00.000Z");
  // Same priority and age: the id decides.
  set_column(twin_a, "created_at", "2025-01-03T00:00:00.000Z");
  set_column(twin_b, "created_at", "2025-01-03T00:00:00.000Z");
  Strings twins = twin_a.id < twin_b.id ? Strings{"twin a", "twin b"} : Strings{"twin b", "twin a"};
  Strings expected{"urgent", "old", "young", twins[0], twins[1], "low"};
  EXPECT_EQ(ready_titles(), expected);
  (void)low, (void)urgent;
}

TEST_F(LocalTrackerTest, ReadyFiltersByTypeAndLimits) {
  add("epic", IssueType::Epic);
  add("bug", IssueType::Bug);
  add("task 1");
  add("task 2");
  add("task 3");
  EXPECT_EQ(ready_titles({.type = IssueType::Task}), (Strings{"task 1", "task 2", "task 3"}));
  EXPECT_EQ(ready_titles({.type = IssueType::Bug}), Strings{"bug"});
  EXPECT_EQ(ready_titles({.limit = 2}), (Strings{"epic", "bug"}));
  EXPECT_EQ(ready_titles({.type = IssueType::Task, .limit = 1}), Strings{"task 1"});
}

// --- Claim ------------------------------------------------------------------------------

TEST_F(LocalTrackerTest, ClaimTakesAnOpenTask) {
  Task task = add("t");
  Task claimed = value_of(tracker_->claim(task.id, "alice"));
  EXPECT_EQ(claimed.status, Status::InProgress);
  EXPECT_EQ(claimed.assignee, "alice");
  EXPECT_FALSE(claimed.started_at.empty());
  EXPECT_EQ(claimed.updated_at, claimed.started_at);
}

TEST_F(LocalTrackerTest, ClaimSaysWhyItFails) {
  Task task = add("t"), closed = add("closed");
  ASSERT_TRUE(tracker_->claim(task.id, "alice"));
  ASSERT_TRUE(tracker_->close(closed.id, "", ""));
  EXPECT_EQ(error_of(tracker_->claim(task.id, "bob")), task.id + " is already claimed by alice");
  EXPECT_EQ(error_of(tracker_->claim(closed.id, "bob")), closed.id + " is closed");
  EXPECT_EQ(error_of(tracker_->claim("sd-zzzz", "bob")), "no task sd-zzzz");
  EXPECT_EQ(error_of(tracker_->claim(task.id, "")), "claiming needs a name to claim for");
  Task deferred = add("deferred");
  ASSERT_TRUE(tracker_->change(deferred.id, TaskChange{.status = Status::Deferred}));
  EXPECT_EQ(error_of(tracker_->claim(deferred.id, "bob")), deferred.id + " is deferred");
}

TEST_F(LocalTrackerTest, ClaimingOnesOwnTaskAgainIsFine) {
  Task task = add("t");
  Task first = value_of(tracker_->claim(task.id, "alice"));
  Task again = value_of(tracker_->claim(task.id, "alice"));
  EXPECT_EQ(again.status, Status::InProgress);
  EXPECT_EQ(again.started_at, first.started_at) << "the second claim changes nothing";
  // An open task assigned to alice (by hand) is hers to claim, nobody else's.
  Task assigned = add("assigned");
  ASSERT_TRUE(tracker_->change(assigned.id, TaskChange{.assignee = "alice"}));
  EXPECT_EQ(error_of(tracker_->claim(assigned.id, "bob")),
            assigned.id + " is already claimed by alice");
  EXPECT_TRUE(tracker_->claim(assigned.id, "alice"));
}

// --- Close, auto-close, reopen ----------------------------------------------------------

TEST_F(LocalTrackerTest, CloseRecordsReasonAndSession) {
  Task task = add("t");
  Task closed = value_of(tracker_->close(task.id, "merged", "20250304-abc"));
  EXPECT_EQ(closed.status, Status::Closed);
  EXPECT_EQ(closed.close_reason, "merged");
  EXPECT_EQ(closed.closed_by_session, "20250304-abc");
  EXPECT_FALSE(closed.closed_at.empty());
  Task twice = value_of(tracker_->close(task.id, "again", "other"));
  EXPECT_EQ(twice.close_reason, "merged") << "closing a closed task changes nothing";
  EXPECT_EQ(error_of(tracker_->close("sd-none", "", "")), "no task sd-none");
}

TEST_F(LocalTrackerTest, LastChildClosingClosesTheParentsUpTheChain) {
  Task epic = add("epic", IssueType::Epic);
  Task phase1 = add_child("phase 1", epic, IssueType::Feature);
  Task phase2 = add_child("phase 2", epic, IssueType::Feature);
  Task t1 = add_child("t1", phase1), t2 = add_child("t2", phase1), t3 = add_child("t3", phase2);
  block(phase2, phase1);
  EXPECT_EQ(ready_titles({.type = IssueType::Task}), (Strings{"t1", "t2"}));

  ASSERT_TRUE(tracker_->close(t1.id, "", "s1"));
  EXPECT_EQ(reread(phase1).status, Status::Open) << "t2 is still open";
  ASSERT_TRUE(tracker_->close(t2.id, "", "s1"));
  Task closed_phase = reread(phase1);
  EXPECT_EQ(closed_phase.status, Status::Closed);
  EXPECT_EQ(closed_phase.close_reason, "all children closed");
  EXPECT_EQ(closed_phase.closed_by_session, "s1");
  EXPECT_EQ(reread(epic).status, Status::Open) << "phase 2 is still open";
  EXPECT_EQ(ready_titles({.type = IssueType::Task}), Strings{"t3"})
      << "the next phase is ready by itself";

  ASSERT_TRUE(tracker_->close(t3.id, "", "s2"));
  EXPECT_EQ(reread(phase2).status, Status::Closed);
  EXPECT_EQ(reread(epic).status, Status::Closed);
  EXPECT_EQ(reread(epic).close_reason, "all children closed");

  // Reopening t1 reopens phase 1 and the epic (both closed by themselves), not phase 2.
  Task reopened = value_of(tracker_->reopen(t1.id));
  EXPECT_EQ(reopened.status, Status::Open);
  EXPECT_EQ(reopened.closed_at, "");
  EXPECT_EQ(reopened.close_reason, "");
  EXPECT_EQ(reread(phase1).status, Status::Open);
  EXPECT_EQ(reread(phase1).close_reason, "");
  EXPECT_EQ(reread(epic).status, Status::Open);
  EXPECT_EQ(reread(phase2).status, Status::Closed);
  EXPECT_EQ(ready_titles({.type = IssueType::Task}), Strings{"t1"})
      << "phase 2's blocker is open again";
}

TEST_F(LocalTrackerTest, ReopenLeavesParentsClosedByHandAlone) {
  Task feature = add("feature", IssueType::Feature);
  Task child = add_child("child", feature), other = add_child("other", feature);
  ASSERT_TRUE(tracker_->close(feature.id, "won't do", ""));
  ASSERT_TRUE(tracker_->close(child.id, "", ""));
  ASSERT_TRUE(tracker_->close(other.id, "", ""));
  ASSERT_TRUE(tracker_->reopen(child.id));
  EXPECT_EQ(reread(feature).status, Status::Closed);
  EXPECT_EQ(reread(feature).close_reason, "won't do");
}

TEST_F(LocalTrackerTest, OnlyEpicsAndFeaturesCloseByThemselves) {
  Task parent = add("a task with a subtask");
  Task sub = add_child("subtask", parent);
  ASSERT_TRUE(tracker_->close(sub.id, "", ""));
  EXPECT_EQ(reread(parent).status, Status::Open);
}

TEST_F(LocalTrackerTest, ANewOpenChildReopensAParentThatClosedByItself) {
  Task feature = add("feature", IssueType::Feature);
  Task done = add_child("done", feature);
  ASSERT_TRUE(tracker_->close(done.id, "", ""));
  ASSERT_EQ(reread(feature).status, Status::Closed);
  add_child("more work", feature);
  EXPECT_EQ(reread(feature).status, Status::Open);
  // Closed children created under it (an import of [x] lines) close it again.
  Task closing = add_child("closing", feature);
  ASSERT_TRUE(tracker_->change(closing.id, TaskChange{.status = Status::Closed}));
  EXPECT_EQ(reread(feature).status, Status::Open) << "'more work' is still open";
}

TEST_F(LocalTrackerTest, ReopenNeedsAClosedTaskAndClearsTheClaim) {
  Task task = add("t");
  ASSERT_TRUE(tracker_->claim(task.id, "alice"));
  EXPECT_EQ(error_of(tracker_->reopen(task.id)), task.id + " is in_progress, not closed");
  ASSERT_TRUE(tracker_->close(task.id, "", ""));
  Task reopened = value_of(tracker_->reopen(task.id));
  EXPECT_EQ(reopened.assignee, "");
  EXPECT_EQ(reopened.started_at, "");
  EXPECT_TRUE(tracker_->claim(task.id, "bob")) << "reopened work is anybody's to claim";
}

// --- Dependencies -----------------------------------------------------------------------

TEST_F(LocalTrackerTest, DependenciesAreCheckedAndIdempotent) {
  Task a = add("a"), b = add("b"), c = add("c");
  EXPECT_EQ(error_of(tracker_->add_dependency({a.id, a.id, DependencyType::Blocks, ""})),
            a.id + " cannot depend on itself");
  EXPECT_EQ(error_of(tracker_->add_dependency({a.id, "sd-none", DependencyType::Blocks, ""})),
            "no task sd-none");
  EXPECT_EQ(error_of(tracker_->add_dependency({"sd-none", a.id, DependencyType::Related, ""})),
            "no task sd-none");
  block(b, a);
  block(b, a);  // again: success, no second edge
  block(c, b);
  auto cycle = tracker_->add_dependency({a.id, c.id, DependencyType::Blocks, ""});
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("cycle"), std::string::npos) << cycle.error().message;
  EXPECT_NE(cycle.error().message.find(a.id), std::string::npos) << cycle.error().message;
  // Other types may point back: a related edge is no ordering.
  link(a, c, DependencyType::Related);

  auto edges = value_of(tracker_->dependencies(b.id));
  ASSERT_EQ(edges.size(), 2u) << "one edge each way, the duplicate not stored";
  auto has = [&](const Dependency& wanted) {
    return std::find(edges.begin(), edges.end(), wanted) != edges.end();
  };
  EXPECT_TRUE(has({b.id, a.id, DependencyType::Blocks, ""}));
  EXPECT_TRUE(has({c.id, b.id, DependencyType::Blocks, ""}));
  EXPECT_FALSE(edges[0].created_at.empty());
}

TEST_F(LocalTrackerTest, ParentChildCyclesAreRefused) {
  Task epic = add("epic", IssueType::Epic);
  Task feature = add_child("feature", epic, IssueType::Feature);
  auto cycle = tracker_->add_dependency({epic.id, feature.id, DependencyType::ParentChild, ""});
  EXPECT_FALSE(cycle);
}

// --- The database -----------------------------------------------------------------------

TEST_F(LocalTrackerTest, NewDatabaseIsAtTheLatestSchemaInWalMode) {
  auto database = sqlite::Database::open(path_, 1000);
  EXPECT_EQ(schema_version(database), static_cast<int>(schema_migrations().size()));
  auto mode = database.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
}

TEST_F(LocalTrackerTest, OlderDatabasesMigrateAndNewerOnesAreRefused) {
  Task kept = add("kept");
  tracker_.reset();
  const int current = static_cast<int>(schema_migrations().size());
  // A later sddsh's list: ours plus one more step.
  std::vector<const char*> later(schema_migrations().begin(), schema_migrations().end());
  later.push_back("ALTER TABLE issues ADD COLUMN estimate_minutes INTEGER");
  {
    auto database = sqlite::Database::open(path_, 1000);
    migrate(database, later);
    EXPECT_EQ(schema_version(database), current + 1);
    auto row = database.prepare("SELECT title, estimate_minutes FROM issues WHERE id = ?1");
    row.bind(1, kept.id);
    ASSERT_TRUE(row.step()) << "the migration kept the data";
    EXPECT_EQ(row.text(0), "kept");
    EXPECT_TRUE(row.is_null(1));
  }
  auto newer = open_local_tracker(path_);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("newer than this sddsh knows"), std::string::npos)
      << newer.error().message;
}

TEST_F(LocalTrackerTest, AnEmptyFileIsMigratedFromVersionZero) {
  const std::string empty = dir_ + "/empty.db";
  { auto database = sqlite::Database::open(empty, 1000); }
  auto tracker = open_local_tracker(empty);
  ASSERT_TRUE(tracker) << tracker.error().message;
  EXPECT_TRUE((*tracker)->create(NewTask{.title = "first"}));
}

TEST_F(LocalTrackerTest, TwoConnectionsSeeEachOthersWrites) {
  auto other = value_of(open_local_tracker(path_));
  Task task = add("shared");
  ASSERT_TRUE(other->claim(task.id, "bob"));
  EXPECT_EQ(error_of(tracker_->claim(task.id, "alice")), task.id + " is already claimed by bob");
}

// --- Claim race -------------------------------------------------------------------------

// 20 processes open the database, wait at a barrier (a pipe whose write end the parent closes)
// and claim the same task at once. Exactly one may win; every other must be told who did.
TEST_F(LocalTrackerTest, TwentyProcessesClaimingOneTaskHaveOneWinner) {
  constexpr int kClaimers = 20;
  Task task = add("contested");
  tracker_.reset();  // no connection crosses fork()
  int barrier[2];
  int results[2];
  ASSERT_EQ(pipe(barrier), 0);
  ASSERT_EQ(pipe(results), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kClaimers; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(barrier[1]);
      close(results[0]);
      auto tracker = open_local_tracker(path_);
      char go;
      while (read(barrier[0], &go, 1) < 0 && errno == EINTR) {
      }
      std::string line;
      if (!tracker) {
        line = "error " + tracker.error().message;
      } else {
        auto claimed = (*tracker)->claim(task.id, "agent-" + std::to_string(i));
        line = claimed ? "won agent-" + std::to_string(i) : "lost " + claimed.error().message;
      }
      line += "\n";  // one write, shorter than PIPE_BUF: lines never interleave
      ssize_t written = write(results[1], line.data(), line.size());
      _exit(written == static_cast<ssize_t>(line.size()) ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(barrier[0]);
  close(results[1]);
  close(barrier[1]);  // go
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(results[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0);
    output.append(buffer, static_cast<std::size_t>(n));
  }
  close(results[0]);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  std::istringstream lines(output);
  std::string winner;
  int wins = 0, losses = 0;
  std::vector<std::string> refusals;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("won ", 0) == 0) {
      ++wins;
      winner = line.substr(4);
    } else {
      ++losses;
      refusals.push_back(line);
    }
  }
  ASSERT_EQ(wins, 1) << output;
  EXPECT_EQ(losses, kClaimers - 1) << output;
  for (const auto& refusal : refusals)
    EXPECT_EQ(refusal, "lost " + task.id + " is already claimed by " + winner);
  auto tracker = value_of(open_local_tracker(path_));
  EXPECT_EQ(value_of(tracker->get(task.id)).assignee, winner);
}
