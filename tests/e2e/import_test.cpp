// `sddsh import` through the real binary: the spec-kit sample into an empty tracker, the ready
// work `sddsh tasks --ready` then shows, a second import that changes nothing, and a malformed
// file that reports file:line and imports the rest. Each test has a directory and store of its
// own, so that one test's tasks never show up in another's ready list.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kSampleDir = "specs/001-python-console-todo";

std::string sample_path() {
  return source_dir() + "/../shared/testdata/spec-kit/todo-console-app.tasks.md";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A project directory with a store of its own, removed with the object.
class Project {
 public:
  Project() {
    std::string tmpl = fs::current_path().string() + "/import-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
  }
  ~Project() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  Project(const Project&) = delete;
  Project& operator=(const Project&) = delete;

  void write(const std::string& relative, const std::string& text) const {
    write_file(dir_ + "/" + relative, text);
  }

  const std::string& dir() const { return dir_; }

  // sddsh ARGS in the project directory (or a subdirectory of it), on the project's store.
  Finished sddsh(const std::string& args, const std::string& subdir = ".") const {
    return run_piped({"sh", "-c",
                      "cd " + shell_quote(dir_ + "/" + subdir) +
                          " && exec env SDDSH_STORE=" + shell_quote(dir_ + "/.store") + " " +
                          shell_quote(sddsh_binary()) + " " + args},
                     "", 60s);
  }

  json sddsh_json(const std::string& args, int expected_exit = 0) const {
    Finished run = sddsh(args);
    EXPECT_EQ(exit_code(run.status), expected_exit) << args << "\n" << run.out << run.err;
    json parsed = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << args << ": " << run.out;
    return parsed;
  }

  // The spec task ids of `sddsh tasks --ready --json [more]`, in its order.
  std::vector<std::string> ready(const std::string& more = "") const {
    std::vector<std::string> ids;
    json tasks = sddsh_json("tasks --ready --json" + more);
    for (const auto& task : tasks)
      ids.push_back(task.contains("spec_ref") ? task["spec_ref"]["task_id"].get<std::string>()
                                              : task["id"].get<std::string>());
    return ids;
  }

 private:
  std::string dir_;
};

#define SAMPLE_OR_SKIP(name)                                                            \
  if (!fs::exists(sample_path()))                                                       \
    GTEST_SKIP() << "no spec-kit sample at " << sample_path()                           \
                 << " (clone the shared/ repository beside this one to run this test)"; \
  const std::string name = read_file(sample_path())

// Every "- [x]" from `from` on becomes "- [ ]".
std::string untick_from(std::string text, const std::string& from) {
  for (std::size_t at = text.find("- [x]", text.find(from)); at != std::string::npos;
       at = text.find("- [x]", at))
    text.replace(at, 5, "- [ ]");
  return text;
}

}  // namespace

TEST(Import, SampleImportsClosedSoNothingIsReady) {
  SAMPLE_OR_SKIP(sample);
  Project project;
  project.write(kSampleDir + "/tasks.md", sample);
  Finished run = project.sddsh("import " + kSampleDir);
  ASSERT_EQ(exit_code(run.status), 0) << run.out << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("(specs/001-python-console-todo), created"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("8 features: 8 created, 0 updated, 0 unchanged"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("30 tasks: 30 created, 0 updated, 0 unchanged"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("17 dependencies added"), std::string::npos) << run.out;
  // Every box of the sample is ticked: the tasks, phases and epic are closed, nothing is ready.
  EXPECT_EQ(project.ready(), std::vector<std::string>{});
  EXPECT_EQ(project.sddsh_json("tasks --all --json").size(), 39u);
}

TEST(Import, SecondImportChangesNothing) {
  SAMPLE_OR_SKIP(sample);
  Project project;
  project.write(kSampleDir + "/tasks.md", sample);
  json first = project.sddsh_json("import --json " + kSampleDir + "/tasks.md");
  json again = project.sddsh_json("import --json " + kSampleDir);
  EXPECT_EQ(again["epic"]["id"], first["epic"]["id"]);
  EXPECT_EQ(again["epic"]["unchanged"], 1);
  EXPECT_EQ(again["features"],
            (json{{"total", 8}, {"created", 0}, {"updated", 0}, {"unchanged", 8}}));
  EXPECT_EQ(again["tasks"],
            (json{{"total", 30}, {"created", 0}, {"updated", 0}, {"unchanged", 30}}));
  EXPECT_EQ(again["dependencies_added"], 0);
  EXPECT_EQ(again["problems"], json::array());
  EXPECT_EQ(project.sddsh_json("tasks --all --json").size(), 39u);
}

// The sample with every box from Phase 3 on open: Setup and Foundational are closed; US1 and US2
// (P1) wait for nothing open; US3-5 wait for US1 and US2; Polish waits for every story.
TEST(Import, SampleWithOpenStoriesReadiesUs1AndUs2) {
  SAMPLE_OR_SKIP(sample);
  Project project;
  project.write(kSampleDir + "/tasks.md", untick_from(sample, "## Phase 3:"));
  Finished run = project.sddsh("import " + kSampleDir);
  ASSERT_EQ(exit_code(run.status), 0) << run.out << run.err;
  EXPECT_EQ(project.ready(" --type task"), (std::vector<std::string>{"T016", "T017", "T018"}));
}

TEST(Import, MalformedFileReportsFileAndLineAndImportsTheRest) {
  Project project;
  project.write("specs/009-broken/tasks.md",
                "# Tasks: Broken\n"
                "\n"
                "## Phase 1: Setup\n"
                "- [ ] Create things without an id\n"
                "- [ ] T001 Create the package\n"
                "- [ ] T002 [Q] Something with an unknown tag\n"
                "- [ ] T003 Add the entry point, depends on T001\n");
  Finished run = project.sddsh("import specs/009-broken");
  EXPECT_EQ(exit_code(run.status), 1) << run.out << run.err;
  EXPECT_NE(run.err.find(
                "specs/009-broken/tasks.md:4: checklist line without a task id (T###); skipped\n"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("specs/009-broken/tasks.md:6: unknown tag [Q]; skipped\n"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("2 tasks: 2 created"), std::string::npos) << run.out;
  EXPECT_EQ(project.ready(" --type task"), std::vector<std::string>{"T001"});

  // Again, for a script: the same problems as data, nothing new, still exit 1.
  json again = project.sddsh_json("import --json specs/009-broken", 1);
  EXPECT_EQ(again["tasks"]["unchanged"], 2);
  EXPECT_EQ(again["problems"][0],
            (json{{"file", "specs/009-broken/tasks.md"},
                  {"line", 4},
                  {"message", "checklist line without a task id (T###); skipped"}}));
  EXPECT_EQ(again["problems"].size(), 2u);
}

// The epic is named by the spec dir's path from the repository's top, wherever we import from.
TEST(Import, SpecDirIsNamedFromTheRepositoryTop) {
  Project project;
  ASSERT_EQ(exit_code(run_piped({"git", "init", "-q", project.dir()}).status), 0);
  project.write("specs/010-sub/tasks.md", "# Tasks: Sub\n## Phase 1: Setup\n- [ ] T001 Start\n");
  project.write("src/.keep", "");
  Finished run = project.sddsh("import --json ../specs/010-sub/tasks.md", "src");
  ASSERT_EQ(exit_code(run.status), 0) << run.err;
  json report = json::parse(run.out, nullptr, false);
  EXPECT_EQ(report["spec_dir"], "specs/010-sub") << run.out;
  json again = project.sddsh_json("import --json specs/010-sub");
  EXPECT_EQ(again["epic"]["id"], report["epic"]["id"]);
  EXPECT_EQ(again["tasks"]["unchanged"], 1);
}

TEST(Import, MissingFileFailsWithOneLine) {
  Project project;
  Finished run = project.sddsh("import specs/404-nothing");
  EXPECT_EQ(exit_code(run.status), 1);
  EXPECT_EQ(run.err, "sddsh: specs/404-nothing: no such file (give a tasks.md or its spec dir)\n");
  EXPECT_EQ(run.out, "");
}
