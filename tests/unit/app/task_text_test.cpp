// What the task commands print: the table that fits a width, `task show`, and the brief.
#include <gtest/gtest.h>

#include <clocale>
#include <regex>

#include "app/task_text.hpp"
#include "tui/utf8.hpp"

using namespace sddsh::app;
using namespace sddsh::tracker;

namespace {

Task sample(const std::string& id, const std::string& title) {
  Task task;
  task.id = id;
  task.title = title;
  task.created_at = task.updated_at = "2025-03-04T05:06:07.089Z";
  return task;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  return lines;
}

int columns(const std::string& line) {
  return sddsh::tui::display_width(sddsh::tui::decode_utf8(line));
}

class TaskText : public testing::Test {
 protected:
  void SetUp() override { std::setlocale(LC_CTYPE, "C.UTF-8"); }  // as sddsh's main does
};

}  // namespace

TEST_F(TaskText, TableFitsTheWidthAndCutsTitles) {
  std::vector<Task> tasks{
      sample("sd-1a2b",
             "A title far too long for a narrow terminal, with wide ｔｅｘｔ at its end"),
      sample("sd-ffff", "Short")};
  tasks[0].priority = 0;
  const std::string table = task_table(tasks, {.width = 50});
  auto lines = lines_of(table);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0].starts_with("ID       PRI  TYPE  STATUS  TITLE")) << lines[0];
  for (const auto& line : lines) EXPECT_LE(columns(line), 50) << line;
  EXPECT_TRUE(lines[1].ends_with("…")) << lines[1];
  EXPECT_TRUE(lines[2].ends_with("Short"));
  EXPECT_EQ(table.find("\x1b["), std::string::npos);
  // No width (not a terminal): nothing is cut.
  EXPECT_NE(task_table(tasks, {}).find("at its end"), std::string::npos);
}

TEST_F(TaskText, ColumnsForAssigneesAndPhasesOnlyWhenAnyTaskHasOne) {
  std::vector<Task> tasks{sample("sd-1a2b", "Plain")};
  EXPECT_EQ(task_table(tasks, {}).find("ASSIGNEE"), std::string::npos);
  EXPECT_EQ(task_table(tasks, {}).find("PHASE"), std::string::npos);
  Task imported = sample("sd-2b3c", "Create the model");
  imported.spec_ref = SpecRef{"specs/001", "T012", "Phase 3: User Story 1 - Add a Task"};
  imported.parallel = true;
  imported.assignee = "alice";
  imported.status = Status::InProgress;
  tasks.push_back(imported);
  auto lines = lines_of(task_table(tasks, {}));
  EXPECT_TRUE(std::regex_search(lines[0], std::regex("STATUS +ASSIGNEE +PHASE +TITLE")))
      << lines[0];
  EXPECT_TRUE(std::regex_search(
      lines[2], std::regex("in_progress +alice +Phase 3 +T012 \\[P\\] Create the model$")))
      << lines[2];
}

TEST_F(TaskText, ColourOnlyWhenAskedAndPaddingIgnoresIt) {
  std::vector<Task> tasks{sample("sd-1a2b", "Coloured")};
  const std::string plain = task_table(tasks, {.width = 80});
  const std::string coloured = task_table(tasks, {.width = 80, .colour = true});
  EXPECT_NE(coloured.find("\x1b[32mopen\x1b[0m"), std::string::npos) << coloured;
  EXPECT_EQ(std::regex_replace(coloured, std::regex("\x1b\\[[0-9;]*m"), ""), plain);
}

TEST_F(TaskText, DetailsGroupTheEdgesBothWays) {
  Task task = sample("sd-0002", "Middle");
  task.description = "First line\nsecond line";
  task.status = Status::Closed;
  task.closed_at = "2025-03-05T00:00:00.000Z";
  task.close_reason = "done";
  task.closed_by_session = "s1";
  Task blocker = sample("sd-0001", "Before"), waiting = sample("sd-0003", "After"),
       phase = sample("sd-00f0", "Phase");
  std::vector<TaskEdge> edges{{{"sd-0003", "sd-0002", DependencyType::Blocks, ""}, waiting},
                              {{"sd-0002", "sd-0001", DependencyType::Blocks, ""}, blocker},
                              {{"sd-0002", "sd-00f0", DependencyType::ParentChild, ""}, phase},
                              {{"sd-0002", "sd-dead", DependencyType::Related, ""}, std::nullopt}};
  const std::string text = task_details(task, edges, {});
  EXPECT_NE(text.find("  closed    2025-03-05T00:00:00.000Z · done · session s1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  First line\n  second line\n"), std::string::npos) << text;
  const auto part_of = text.find("Part of:\n  sd-00f0"), waits = text.find("Waits for:\n  sd-0001");
  const auto blocks = text.find("Blocks:\n  sd-0003"),
             related = text.find("Related:\n  sd-dead  (missing)");
  ASSERT_NE(part_of, std::string::npos) << text;
  ASSERT_NE(waits, std::string::npos) << text;
  ASSERT_NE(blocks, std::string::npos) << text;
  ASSERT_NE(related, std::string::npos) << text;
  EXPECT_LT(part_of, waits);
  EXPECT_LT(waits, blocks);
  EXPECT_LT(blocks, related);
}

TEST_F(TaskText, BriefNamesTheSpecAndItsFiles) {
  Task task = sample("sd-1a2b", "Create the Task model");
  task.description = "In src/models/task.py";
  task.spec_ref = SpecRef{"specs/001-todo", "T012", "Phase 3: User Story 1 - Add a Task"};
  task.parallel = true;
  const std::string brief = brief_text(task, {"specs/001-todo/spec.md", "specs/001-todo/plan.md"});
  EXPECT_TRUE(brief.starts_with("Task sd-1a2b: Create the Task model\n")) << brief;
  EXPECT_NE(brief.find("Spec: specs/001-todo, task T012, Phase 3: User Story 1 - Add a Task\n"),
            std::string::npos);
  EXPECT_NE(brief.find("Read first: specs/001-todo/spec.md, specs/001-todo/plan.md\n"),
            std::string::npos);
  EXPECT_NE(brief.find("[P]"), std::string::npos);
  EXPECT_NE(brief.find("\nIn src/models/task.py\n"), std::string::npos);
  EXPECT_NE(brief.find("sddsh task done sd-1a2b"), std::string::npos);
  EXPECT_EQ(brief_text(sample("sd-1", "Plain"), {}).find("Spec:"), std::string::npos);
}

TEST(ShortPhase, KeepsTheTextBeforeTheColon) {
  EXPECT_EQ(short_phase("Phase 3: User Story 1 - Add a Task"), "Phase 3");
  EXPECT_EQ(short_phase("Polish"), "Polish");
  EXPECT_EQ(short_phase(""), "");
}
