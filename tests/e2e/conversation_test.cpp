// Conversation capture with the real agent CLIs (from npm, offline): Claude Code driven by the
// scripted model server through a Write tool call, with its hooks telling the turns exactly;
// and two sessions of one agent in one directory at once, each keeping its own transcript.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "harness.hpp"
#include "model_server.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
// Cleanup races with sddsh processes still closing their files: never a test failure.
std::error_code ignored;
}  // namespace

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

json read_json(const std::string& path) { return json::parse(read_file(path), nullptr, false); }

std::vector<json> conversation(const std::string& bundle) {
  std::vector<json> messages;
  for (const auto& line : split_lines(read_file(bundle + "/conversation.jsonl")))
    if (json m = json::parse(line, nullptr, false); m.is_object()) messages.push_back(m);
  return messages;
}

// The bundles in a store, once there are `count` of them.
std::vector<std::string> bundles_of(const std::string& store, std::size_t count) {
  std::vector<std::string> bundles;
  wait_until([&] {
    bundles.clear();
    if (fs::exists(store + "/sessions"))
      for (const auto& entry : fs::directory_iterator(store + "/sessions")) bundles.push_back(entry.path());
    return bundles.size() >= count;
  }, 20s);
  return bundles;
}

bool finished(const std::string& bundle) {
  return read_json(bundle + "/session.json").value("status", "") == "finished";
}

std::string fresh_store(const std::string& tag) {
  const std::string store = "/tmp/sddsh-conv-store-" + tag + "-" + std::to_string(::getpid());
  fs::remove_all(store, ignored);
  return store;
}

class Conversation : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }
  Tmux tmux_;
};

}  // namespace

TEST_F(Conversation, ClaudeCodeWriteCallIsInTheConversationTheTurnAndItsDiff) {
  AgentSetup claude = claude_code_setup();
  if (!claude.installed()) GTEST_SKIP() << "claude is not installed: run scripts/install-agents";
  claude.args = {"--permission-mode", "acceptEdits"};
  const std::string work = claude.workdir;
  fs::remove_all(work);
  fs::create_directories(work);
  run_piped({"sh", "-c", "cd " + shell_quote(work) + " && git init -q -b main . && echo base > README && "
                         "git -c user.name=t -c user.email=t@e add -A && git -c user.name=t -c user.email=t@e commit -qm init"});
  ScriptedModelServer model({{.text = "I will create the file.",
                              .tool = ToolUse{"Write", {{"file_path", work + "/hello.txt"},
                                                        {"content", "hello from the model\n"}}}},
                             {.text = "Created hello.txt for you.", .tool = std::nullopt}});
  const std::string store = fresh_store("claude");
  const std::string wrapper = "ANTHROPIC_BASE_URL=" + model.base_url() + " SDDSH_STORE=" + store + " " +
                              shell_quote(sddsh_binary()) + " --no-panel --";
  const std::string command = claude.command("conv", wrapper);  // makes the fresh HOME
  // The user's own settings: sddsh must not touch them.
  const std::string home = "/tmp/sddsh-agents-" + std::to_string(::getpid()) + "/home-claude-conv";
  const std::string user_settings = R"J({"permissions": {"allow": ["Bash(ls:*)"]}, "theme": "dark"})J" "\n";
  fs::create_directories(home + "/.claude");
  std::ofstream(home + "/.claude/settings.json") << user_settings;
  ASSERT_EQ(read_file(home + "/.claude/settings.json"), user_settings);

  tmux_.new_session("c", command, 110, 35);
  // In acceptEdits mode the footer names the mode instead of the shortcuts hint.
  ASSERT_TRUE(tmux_.wait_for_screen("c", [&](auto& s) { return s.find("accept edits on") != std::string::npos; }, 60s))
      << tmux_.capture("c");
  tmux_.send_literal("c", "create hello.txt please");
  tmux_.send_keys("c", {"Enter"});
  ASSERT_TRUE(tmux_.wait_for_screen("c", [](auto& s) { return s.find("Created hello.txt for you.") != std::string::npos; },
                                    60s))
      << tmux_.capture("c");
  EXPECT_EQ(read_file(work + "/hello.txt"), "hello from the model\n");
  const std::string bundle = bundles_of(store, 1).at(0);
  // Stop (from the hook) ends the turn: its snapshot and diff follow.
  ASSERT_TRUE(wait_until([&] {
    json s = read_json(bundle + "/session.json");
    return s.is_object() && s["turns"].size() == 1 && !s["turns"][0]["diff"].get<std::string>().empty();
  }, 20s)) << read_file(bundle + "/session.json");
  // The copy follows the transcript while Claude runs, up to the last answer.
  const std::string claude_copy = bundle + "/transcript/" + fs::path(bundle).filename().string() + ".jsonl";
  ASSERT_TRUE(wait_until([&] { return read_file(claude_copy).find("Created hello.txt for you.") != std::string::npos; }, 20s))
      << read_file(claude_copy);
  tmux_.run({"kill-session", "-t", "c"});
  ASSERT_TRUE(wait_until([&] { return finished(bundle); }, 30s)) << read_file(bundle + "/session.json");

  const json session = read_json(bundle + "/session.json");
  EXPECT_TRUE(session["agent_info"]["hooks"].get<bool>());
  const std::string claude_id = session["agent_info"]["session_id"];
  EXPECT_EQ(claude_id, session["id"]) << "Claude was handed sddsh's session id";
  ASSERT_EQ(session["turns"].size(), 1u);
  const json turn = session["turns"][0];
  EXPECT_EQ(turn["source"], "hook");
  EXPECT_EQ(turn["prompt"], "create hello.txt please");
  EXPECT_EQ(turn["files_touched"], json::array({work + "/hello.txt"}));
  EXPECT_EQ(turn["stat"]["files"], 1);
  const std::string patch = read_file(bundle + "/" + turn["diff"].get<std::string>());
  EXPECT_NE(patch.find("+++ b/hello.txt"), std::string::npos) << patch;
  EXPECT_NE(patch.find("+hello from the model"), std::string::npos) << patch;
  EXPECT_NE(read_file(bundle + "/terminal.cast").find("\"m\", \"turn 1: create hello.txt please\""), std::string::npos);

  // Claude's own transcript is in the bundle...
  ASSERT_EQ(session["transcripts"].size(), 1u) << session.dump(2);
  EXPECT_EQ(session["transcripts"][0]["file"], "transcript/" + claude_id + ".jsonl");
  const std::string copy = read_file(bundle + "/transcript/" + claude_id + ".jsonl");
  EXPECT_NE(copy.find("create hello.txt please"), std::string::npos);
  EXPECT_NE(copy.find("tool_result"), std::string::npos);
  // ...and read into the conversation: prompt, answer, the Write call, the final answer.
  EXPECT_EQ(session["conversation"]["source"], "transcript");
  EXPECT_FALSE(session["conversation"]["agent_version"].get<std::string>().empty());
  const auto messages = conversation(bundle);
  std::vector<std::string> roles;
  for (const auto& m : messages) roles.push_back(m["role"]);
  EXPECT_EQ(roles, (std::vector<std::string>{"user", "assistant", "tool", "assistant"})) << read_file(bundle + "/conversation.jsonl");
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0]["text"], "create hello.txt please");
  EXPECT_EQ(messages[1]["text"], "I will create the file.");
  EXPECT_EQ(messages[2]["tool"]["name"], "Write");
  EXPECT_EQ(messages[2]["tool"]["files"], json::array({work + "/hello.txt"}));
  EXPECT_FALSE(messages[2]["tool"]["output_summary"].get<std::string>().empty());
  EXPECT_EQ(messages[3]["text"], "Created hello.txt for you.");
  for (const auto& m : messages) EXPECT_EQ(m["turn"], 1) << m;

  // The user's settings file is as it was: the hooks were for this session only.
  EXPECT_EQ(read_file(home + "/.claude/settings.json"), user_settings);

  // And for people: the conversation turn by turn, and as Markdown.
  const std::string in_store = "cd " + shell_quote(work) + " && SDDSH_STORE=" + store + " " + shell_quote(sddsh_binary());
  auto shown = run_piped({"sh", "-c", in_store + " show --conversation last"});
  EXPECT_NE(shown.out.find("Write " + work + "/hello.txt"), std::string::npos) << shown.out << shown.err;
  auto md = run_piped({"sh", "-c", in_store + " export last --format md"});
  EXPECT_NE(md.out.find("**Tool: Write** `" + work + "/hello.txt`"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| `hello.txt` | 1 | 0 |"), std::string::npos) << md.out;
  fs::remove_all(store, ignored);
}

class ConcurrentSessions : public ::testing::TestWithParam<AgentSetup> {
 protected:
  void SetUp() override {
    if (!GetParam().installed()) GTEST_SKIP() << GetParam().name << " is not installed: run scripts/install-agents";
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }
  Tmux tmux_;
};

// Same agent, same directory, same HOME, at the same time: each bundle gets the transcript of
// its own agent, never the other's (nor "the newest file").
TEST_P(ConcurrentSessions, EachSessionKeepsItsOwnTranscript) {
  const AgentSetup& agent = GetParam();
  const std::string store = fresh_store("two-" + agent.name);
  const std::string wrapper = "SDDSH_STORE=" + store + " " + shell_quote(sddsh_binary()) + " --no-panel --";
  const std::string command = agent.command("two", wrapper);  // one HOME, prepared once
  // What marks a session's transcript as its own: the prompt; for Gemini CLI, which writes the
  // prompt only once a model answered, the session id sddsh handed it.
  auto mark_of = [&](const json& s) {
    return agent.name == "gemini" ? s["id"].get<std::string>() : s["turns"][0]["prompt"].get<std::string>();
  };
  auto has_own_transcript = [&](const std::string& bundle) {
    const json s = read_json(bundle + "/session.json");
    if (!s.is_object() || s["transcripts"].empty() || s["turns"].empty()) return false;
    return read_file(bundle + "/" + s["transcripts"][0]["file"].get<std::string>()).find(mark_of(s)) != std::string::npos;
  };
  // The second session starts while the first runs, once the first has its transcript: a
  // Gemini CLI starting up removes another one's fresh chat file (sddsh keeps its copy, but the
  // first agent then writes to a file no one can see).
  const std::vector<std::string> prompts{"alpha prompt for session a", "beta prompt for session b"};
  std::vector<std::string> bundles;
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string target = i == 0 ? "a" : "b";
    tmux_.new_session(target, command, 100, 31);
    ASSERT_TRUE(tmux_.wait_for_screen(target, [&](auto& s) { return agent.shows_ready(s); }, 60s)) << tmux_.capture(target);
    tmux_.send_literal(target, prompts[i]);
    ASSERT_TRUE(tmux_.wait_for_screen(target, [&](auto& s) { return s.find(prompts[i]) != std::string::npos; }, 10s));
    tmux_.send_keys(target, {"Enter"});
    bundles = bundles_of(store, i + 1);
    ASSERT_EQ(bundles.size(), i + 1);
    std::sort(bundles.begin(), bundles.end(), [](const std::string& x, const std::string& y) {
      return read_json(x + "/session.json").value("started_unix_ms", 0L) <
             read_json(y + "/session.json").value("started_unix_ms", 0L);
    });
    ASSERT_TRUE(wait_until([&] { return has_own_transcript(bundles[i]); }, 60s)) << read_file(bundles[i] + "/session.json");
  }
  for (const char* name : {"a", "b"}) tmux_.run({"kill-session", "-t", name});
  ASSERT_TRUE(wait_until([&] { return finished(bundles[0]) && finished(bundles[1]); }, 30s));

  std::set<std::string> sources;
  std::vector<json> sessions{read_json(bundles[0] + "/session.json"), read_json(bundles[1] + "/session.json")};
  for (std::size_t i = 0; i < 2; ++i) {
    const json& session = sessions[i];
    const std::string& bundle = bundles[i];
    ASSERT_EQ(session["turns"].size(), 1u) << session.dump(2);
    const std::string typed = session["turns"][0]["prompt"];
    ASSERT_EQ(session["transcripts"].size(), 1u) << session.dump(2);
    sources.insert(session["transcripts"][0]["source"].get<std::string>());
    const std::string copy = read_file(bundle + "/" + session["transcripts"][0]["file"].get<std::string>());
    EXPECT_NE(copy.find(mark_of(session)), std::string::npos) << agent.name << ": its own transcript";
    EXPECT_EQ(copy.find(mark_of(sessions[1 - i])), std::string::npos) << agent.name << ": not the other session's";
    const auto messages = conversation(bundle);
    ASSERT_FALSE(messages.empty());
    EXPECT_EQ(messages[0]["text"], typed);
  }
  EXPECT_EQ(sources.size(), 2u) << "two different files";
  fs::remove_all(store, ignored);
}

INSTANTIATE_TEST_SUITE_P(RealAgents, ConcurrentSessions, ::testing::ValuesIn(all_agent_setups()),
                         [](const auto& param_info) { return param_info.param.name; });

namespace {

// An agent driven interactively against the scripted model through one of its own tools.
struct ScriptedAgent {
  std::string name;
  AgentSetup (*setup)();
  // Lets the tool run without asking (and for Codex, names the endpoint).
  std::vector<std::string> (*args)(const std::string& url);
  std::string (*endpoint)(const std::string& url);  // after the setup's own environment
  ToolUse (*write)(const std::string& file);
  bool names_the_file;  // the tool's input has the path (a shell command does not, for the parser)
};

void PrintTo(const ScriptedAgent& agent, std::ostream* os) { *os << agent.name; }

const ScriptedAgent kScriptedAgents[] = {
    // Without metadata for its model this Codex offers no file tool: a command writes the file.
    {"codex", codex_setup,
     [](const std::string& url) { return std::vector<std::string>{"-c", "openai_base_url=\"" + url + "/v1\""}; },
     [](const std::string&) { return std::string(); },
     [](const std::string& file) { return ToolUse{"exec_command", {{"cmd", "printf 'hello from the model' > " + file}}}; },
     false},
    {"gemini", gemini_setup, [](const std::string&) { return std::vector<std::string>{"--yolo"}; },
     [](const std::string& url) { return "GOOGLE_GEMINI_BASE_URL=" + url; },
     [](const std::string& file) { return ToolUse{"write_file", {{"file_path", file}, {"content", "hello from the model"}}}; },
     true},
    {"copilot", copilot_setup, [](const std::string&) { return std::vector<std::string>{"--allow-all-tools"}; },
     [](const std::string& url) { return "COPILOT_PROVIDER_BASE_URL=" + url + "/v1"; },
     [](const std::string& file) { return ToolUse{"create", {{"path", file}, {"file_text", "hello from the model"}}}; },
     true},
};

class ScriptedConversation : public ::testing::TestWithParam<ScriptedAgent> {
 protected:
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }
  Tmux tmux_;
};

}  // namespace

// The same as for Claude Code, without hooks: the agent's transcript is found, copied and read
// into prompt, answer, tool call and final answer, and the turn's diff has the file.
TEST_P(ScriptedConversation, ToolCallIsInTheConversationAndTheTurnsDiff) {
  const ScriptedAgent& recipe = GetParam();
  AgentSetup agent = recipe.setup();
  if (!agent.installed()) GTEST_SKIP() << recipe.name << " is not installed: run scripts/install-agents";
  const std::string work = agent.workdir;
  fs::remove_all(work);
  fs::create_directories(work);
  run_piped({"sh", "-c", "cd " + shell_quote(work) + " && git init -q -b main . && echo base > README && "
                         "git -c user.name=t -c user.email=t@e add -A && git -c user.name=t -c user.email=t@e commit -qm init"});
  const std::string file = work + "/hello.txt";
  ScriptedModelServer model({{.text = "I will write hello.txt.", .tool = recipe.write(file)},
                             {.text = "Wrote hello.txt for you.", .tool = std::nullopt}});
  agent.args = recipe.args(model.base_url());
  const std::string store = fresh_store("scripted-" + recipe.name);
  const std::string wrapper = recipe.endpoint(model.base_url()) + " SDDSH_STORE=" + store + " " +
                              shell_quote(sddsh_binary()) + " --no-panel --";
  tmux_.new_session("s", agent.command("scripted", wrapper), 110, 35);
  ASSERT_TRUE(tmux_.wait_for_screen("s", [&](auto& s) { return agent.shows_ready(s); }, 60s)) << tmux_.capture("s");
  tmux_.send_literal("s", "write hello.txt please");
  ASSERT_TRUE(tmux_.wait_for_screen("s", [](auto& s) { return s.find("write hello.txt please") != std::string::npos; }, 10s));
  tmux_.send_keys("s", {"Enter"});
  ASSERT_TRUE(tmux_.wait_for_screen("s", [](auto& s) { return s.find("Wrote hello.txt for you.") != std::string::npos; },
                                    60s))
      << tmux_.capture("s");
  EXPECT_EQ(read_file(file), "hello from the model");
  const std::string bundle = bundles_of(store, 1).at(0);
  // The turn settles once the agent is quiet; the copy follows the transcript to the answer.
  ASSERT_TRUE(wait_until([&] {
    const json s = read_json(bundle + "/session.json");
    if (!s.is_object() || s["turns"].size() != 1 || s["turns"][0]["diff"].get<std::string>().empty()) return false;
    if (s["transcripts"].size() != 1) return false;
    return read_file(bundle + "/" + s["transcripts"][0]["file"].get<std::string>()).find("Wrote hello.txt for you.") !=
           std::string::npos;
  }, 30s)) << read_file(bundle + "/session.json");
  tmux_.run({"kill-session", "-t", "s"});
  ASSERT_TRUE(wait_until([&] { return finished(bundle); }, 30s)) << read_file(bundle + "/session.json");

  const json session = read_json(bundle + "/session.json");
  EXPECT_EQ(session["conversation"]["source"], "transcript") << session.dump(2);
  EXPECT_EQ(session["turns"][0]["stat"]["files"], 1) << session.dump(2);
  EXPECT_NE(read_file(bundle + "/" + session["turns"][0]["diff"].get<std::string>()).find("+++ b/hello.txt"),
            std::string::npos);
  const auto messages = conversation(bundle);
  const std::string all = read_file(bundle + "/conversation.jsonl");
  auto find = [&](const std::string& role, const std::string& text) {
    return std::find_if(messages.begin(), messages.end(), [&](const json& m) {
      return m["role"] == role && m["text"].get<std::string>().find(text) != std::string::npos;
    });
  };
  const auto prompt = find("user", "write hello.txt please");
  const auto before = find("assistant", "I will write hello.txt.");
  const auto after = find("assistant", "Wrote hello.txt for you.");
  const auto tool = std::find_if(messages.begin(), messages.end(), [&](const json& m) {
    return m["role"] == "tool" && m["tool"]["name"] == recipe.write(file).name;
  });
  ASSERT_NE(prompt, messages.end()) << all;
  ASSERT_NE(before, messages.end()) << all;
  ASSERT_NE(tool, messages.end()) << all;
  ASSERT_NE(after, messages.end()) << all;
  EXPECT_TRUE(prompt < before && before < tool && tool < after) << all;
  if (recipe.names_the_file) {
    EXPECT_EQ((*tool)["tool"]["files"], json::array({file})) << all;
  }
  for (const auto& m : messages) {
    if (m["role"] != "user" || m["text"] == "write hello.txt please") {
      EXPECT_EQ(m["turn"], 1) << m;
    }
  }
  fs::remove_all(store, ignored);
}

INSTANTIATE_TEST_SUITE_P(RealAgents, ScriptedConversation, ::testing::ValuesIn(kScriptedAgents),
                         [](const auto& param_info) { return param_info.param.name; });

// The task queue with a real agent: the picked task's brief lands in Claude Code's prompt without
// being sent; Enter sends it (the model gets the task), and done closes the task, with the
// session's segment holding the task's diff.
TEST_F(Conversation, PickedTaskBriefReachesClaudeCodeAndItsSegmentHasTheDiff) {
  AgentSetup claude = claude_code_setup();
  if (!claude.installed()) GTEST_SKIP() << "claude is not installed: run scripts/install-agents";
  claude.args = {"--permission-mode", "acceptEdits"};
  const std::string work = claude.workdir;
  fs::remove_all(work);
  fs::create_directories(work);
  run_piped({"sh", "-c", "cd " + shell_quote(work) + " && git init -q -b main . && echo base > README && "
                         "git -c user.name=t -c user.email=t@e add -A && git -c user.name=t -c user.email=t@e commit -qm init"});
  const std::string store = fresh_store("task-claude");
  const std::string in_store = "cd " + shell_quote(work) + " && SDDSH_STORE=" + store + " SDDSH_ACTOR=tester " +
                               shell_quote(sddsh_binary());
  auto added = run_piped({"sh", "-c", in_store + " task add 'Create greeting.txt' --description 'A friendly greeting.' --json"});
  ASSERT_EQ(exit_code(added.status), 0) << added.err;
  const std::string task = json::parse(added.out).value("id", "");
  ASSERT_FALSE(task.empty()) << added.out;

  ScriptedModelServer model({{.text = "Creating it.",
                              .tool = ToolUse{"Write", {{"file_path", work + "/greeting.txt"}, {"content", "hello\n"}}}},
                             {.text = "Greeting written.", .tool = std::nullopt}});
  const std::string wrapper = "ANTHROPIC_BASE_URL=" + model.base_url() + " SDDSH_STORE=" + store +
                              " SDDSH_ACTOR=tester " + shell_quote(sddsh_binary()) + " --";
  tmux_.new_session("c", claude.command("task", wrapper), 150, 35);
  ASSERT_TRUE(tmux_.wait_for_screen("c", [&](auto& s) { return s.find("accept edits on") != std::string::npos; }, 60s))
      << tmux_.capture("c");
  ASSERT_TRUE(tmux_.wait_for_screen("c", [](auto& s) { return s.find("Create greeting.txt") != std::string::npos; }, 10s))
      << "the queue shows the task:\n" << tmux_.capture("c");
  tmux_.send_keys("c", {"C-]", "t"});
  tmux_.send_keys("c", {"Enter"});
  // In Claude's prompt (it folds a multi-line paste into a placeholder), and not sent.
  ASSERT_TRUE(tmux_.wait_for_screen("c", [](auto& s) { return s.find("Pasted text") != std::string::npos ||
                                                              s.find("A friendly greeting.") != std::string::npos; }, 10s))
      << tmux_.capture("c");
  EXPECT_TRUE(model.requests().empty()) << "the brief waits for Enter";
  tmux_.send_keys("c", {"Enter"});
  ASSERT_TRUE(tmux_.wait_for_screen("c", [](auto& s) { return s.find("Greeting written.") != std::string::npos; }, 60s))
      << tmux_.capture("c");
  ASSERT_FALSE(model.requests().empty());
  EXPECT_NE(model.requests().front().dump().find("Create greeting.txt"), std::string::npos)
      << "the model got the task's brief";
  tmux_.send_keys("c", {"C-]", "t"});
  tmux_.send_keys("c", {"d"});
  auto status_of_task = [&] {
    auto shown = run_piped({"sh", "-c", in_store + " task show " + task + " --json"});
    return json::parse(shown.out, nullptr, false).value("status", "");
  };
  ASSERT_TRUE(wait_until([&] { return status_of_task() == "closed"; }, 10s));
  tmux_.run({"kill-session", "-t", "c"});
  const std::string bundle = bundles_of(store, 1).at(0);
  ASSERT_TRUE(wait_until([&] { return finished(bundle); }, 30s));
  const json session = read_json(bundle + "/session.json");
  ASSERT_EQ(session["task_segments"].size(), 1u) << session.dump(2);
  const json& segment = session["task_segments"][0];
  EXPECT_EQ(segment["task_id"], task);
  EXPECT_NE(read_file(bundle + "/" + segment["diff"].get<std::string>()).find("+++ b/greeting.txt"), std::string::npos)
      << segment;
  fs::remove_all(store, ignored);
}
