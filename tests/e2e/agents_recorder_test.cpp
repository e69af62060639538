// Sessions of real agents (from npm, offline) are recorded with the prompts the user typed:
// the generic turn detector against each agent's real input editor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "harness.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
// Cleanup races with sddsh processes still closing their files: never a test failure.
std::error_code ignored;
}  // namespace

namespace {

class AgentRecording : public ::testing::TestWithParam<AgentSetup> {
 protected:
  void SetUp() override {
    if (!GetParam().installed()) GTEST_SKIP() << GetParam().name << " is not installed: run scripts/install-agents";
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }

  bool ready(const std::string& screen) const { return GetParam().shows_ready(screen); }

  Tmux tmux_;
};

json only_session(const std::string& store) {
  const std::string sessions = store + "/sessions";
  if (!fs::exists(sessions)) return nullptr;
  for (const auto& entry : fs::directory_iterator(sessions)) {
    std::ifstream in(entry.path() / "session.json");
    json j = json::parse(in, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  }
  return nullptr;
}

}  // namespace

TEST_P(AgentRecording, TurnsHoldThePromptsAsTyped) {
  const AgentSetup& agent = GetParam();
  const std::string store = "/tmp/sddsh-agent-store-" + agent.name + "-" + std::to_string(::getpid());
  fs::remove_all(store, ignored);
  // The agent's environment is cleared (env -i); the store is given to sddsh on its own.
  const std::string wrapper = "SDDSH_STORE=" + store + " " + shell_quote(sddsh_binary()) + " --no-panel --";
  tmux_.new_session("agent", agent.command("rec", wrapper), 100, 31);
  ASSERT_TRUE(tmux_.wait_for_screen("agent", [&](auto& s) { return ready(s); }, 60s))
      << "never became ready:\n" << tmux_.capture("agent");

  // Typed with a typo fixed by Backspace; Enter on its own, as a person presses it.
  tmux_.send_literal("agent", "write a haiku about gitt");
  tmux_.send_keys("agent", {"BSpace"});
  ASSERT_TRUE(tmux_.wait_for_screen("agent", [](auto& s) { return s.find("haiku about git") != std::string::npos; }, 10s))
      << tmux_.capture("agent");
  tmux_.send_keys("agent", {"Enter"});
  // The turn is in the session as soon as the prompt is submitted.
  json session;
  ASSERT_TRUE(wait_until([&] {
    session = only_session(store);
    return session.is_object() && session["turns"].size() == 1;
  }, 20s)) << session.dump(2) << "\n" << tmux_.capture("agent");
  EXPECT_EQ(session["turns"][0]["prompt"], "write a haiku about git");
  EXPECT_FALSE(session["turns"][0]["approximate"].get<bool>());
  // While the agent runs, sddsh finds its own transcript (by the session id it handed the
  // agent, or for Codex by the file its process holds) and copies it into the bundle. Offline,
  // Gemini CLI writes the prompt into it only once a model answered: its copy has the session.
  const std::string bundle = store + "/sessions/" + session["id"].get<std::string>();
  const bool writes_prompt_offline = agent.name != "gemini";
  const std::string mark = writes_prompt_offline ? "write a haiku about git" : session["id"].get<std::string>();
  ASSERT_TRUE(wait_until([&] {
    session = only_session(store);
    if (!session.is_object() || session["transcripts"].size() != 1) return false;
    std::ifstream copy(bundle + "/" + session["transcripts"][0]["file"].get<std::string>());
    return std::string(std::istreambuf_iterator<char>(copy), {}).find(mark) != std::string::npos;
  }, 30s)) << session.dump(2);

  // Hanging up the terminal ends the agent; the session is finished with its cast.
  tmux_.run({"kill-session", "-t", "agent"});
  ASSERT_TRUE(wait_until([&] {
    session = only_session(store);
    return session.is_object() && session["status"] == "finished";
  }, 30s)) << session.dump(2);
  EXPECT_EQ(session["turns"].size(), 1u);
  std::ifstream cast(store + "/sessions/" + session["id"].get<std::string>() + "/terminal.cast");
  std::string text((std::istreambuf_iterator<char>(cast)), {});
  EXPECT_NE(text.find("\"m\", \"turn 1: write a haiku about git\""), std::string::npos);

  // The transcript was read: the prompt is its first user message.
  EXPECT_EQ(session["agent_info"]["kind"], agent.name);
  ASSERT_EQ(session["transcripts"].size(), 1u) << session.dump(2);
  // Without a prompt in the transcript, the conversation is the fallback's, from the terminal.
  EXPECT_EQ(session["conversation"]["source"], writes_prompt_offline ? "transcript" : "terminal") << session.dump(2);
  EXPECT_FALSE(session["conversation"]["format"].get<std::string>().empty());
  EXPECT_TRUE(session["warnings"].empty()) << session.dump(2);
  std::ifstream lines(bundle + "/conversation.jsonl");
  json first_user;
  for (std::string line; std::getline(lines, line) && first_user.is_null();)
    if (json m = json::parse(line, nullptr, false); m.is_object() && m["role"] == "user") first_user = m;
  ASSERT_TRUE(first_user.is_object());
  EXPECT_EQ(first_user["text"], "write a haiku about git");
  EXPECT_EQ(first_user["turn"], 1);
  if (agent.name == "claude") {
    // Claude Code's hooks told the prompt: the turn is exact.
    EXPECT_TRUE(session["agent_info"]["hooks"].get<bool>());
    EXPECT_EQ(session["turns"][0]["source"], "hook");
  }
  fs::remove_all(store, ignored);
}

INSTANTIATE_TEST_SUITE_P(RealAgents, AgentRecording, ::testing::ValuesIn(all_agent_setups()),
                         [](const auto& param_info) { return param_info.param.name; });
