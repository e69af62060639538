// The scripted model server, first on its own, then behind each real agent CLI: the script makes
// the agent call its own file-writing tool, and the file appears with the scripted content.
#include <gtest/gtest.h>

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "harness.hpp"
#include "model_server.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json post(const ScriptedModelServer& server, const std::string& path, const json& body) {
  httplib::Client client("127.0.0.1", server.port());
  auto result = client.Post(path.c_str(), body.dump(), "application/json");
  if (!result) return nullptr;
  return json::parse(result->body, nullptr, false);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The request carries the result of a tool call, in whichever protocol it speaks.
bool carries_tool_result(const json& request) {
  for (const auto& message : request.value("messages", json::array())) {  // Anthropic, Chat
    if (message.value("role", "") == "tool") return true;
    for (const auto& block : message.value("content", json::array()))
      if (block.is_object() && block.value("type", "") == "tool_result") return true;
  }
  for (const auto& item : request.value("input", json::array())) {  // Responses
    const std::string type = item.is_object() ? item.value("type", "") : "";
    if (type == "function_call_output" || type == "custom_tool_call_output") return true;
  }
  for (const auto& content : request.value("contents", json::array()))  // Gemini
    for (const auto& part : content.value("parts", json::array()))
      if (part.contains("functionResponse")) return true;
  return false;
}

// The agent setups keep their HOMEs and work directories under one directory per test process.
struct RemovedAtEnd {
  fs::path dir;
  ~RemovedAtEnd() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

const json kTools = json::array({{{"name", "Write"}}});

// How to have an agent do one turn in its non-interactive mode against the server, and which
// of its own tools writes a file.
struct OneTurnRecipe {
  std::string name;
  AgentSetup (*setup)();
  std::vector<std::string> (*args)(const std::string& url, const std::string& prompt);
  // Set after the setup's environment, so that this endpoint is the one the agent gets.
  std::string (*endpoint)(const std::string& url);
  ToolUse (*write)(const std::string& file, const std::string& content);
};

void PrintTo(const OneTurnRecipe& recipe, std::ostream* os) {
  *os << recipe.name;
}

const OneTurnRecipe kRecipes[] = {
    {"claude", claude_code_setup,
     [](const std::string&, const std::string& prompt) {
       return std::vector<std::string>{"-p", prompt, "--permission-mode", "acceptEdits"};
     },
     [](const std::string& url) { return "ANTHROPIC_BASE_URL=" + url; },
     [](const std::string& file, const std::string& content) {
       return ToolUse{"Write", {{"file_path", file}, {"content", content}}};
     }},
    {"codex", codex_setup,
     [](const std::string& url, const std::string& prompt) {
       return std::vector<std::string>{"exec", "-c", "openai_base_url=\"" + url + "/v1\"", prompt};
     },
     [](const std::string&) { return std::string(); },
     // Without metadata for its model, this Codex has no file-writing tool: a command does it.
     [](const std::string& file, const std::string& content) {
       return ToolUse{"exec_command", {{"cmd", "printf '%s' '" + content + "' > " + file}}};
     }},
    {"gemini", gemini_setup,
     [](const std::string&, const std::string& prompt) {
       return std::vector<std::string>{"-p", prompt, "--yolo"};
     },
     [](const std::string& url) { return "GOOGLE_GEMINI_BASE_URL=" + url; },
     [](const std::string& file, const std::string& content) {
       return ToolUse{"write_file", {{"file_path", file}, {"content", content}}};
     }},
    {"copilot", copilot_setup,
     [](const std::string&, const std::string& prompt) {
       return std::vector<std::string>{"-p", prompt, "--allow-all-tools"};
     },
     [](const std::string& url) { return "COPILOT_PROVIDER_BASE_URL=" + url + "/v1"; },
     [](const std::string& file, const std::string& content) {
       return ToolUse{"create", {{"path", file}, {"file_text", content}}};
     }},
};

}  // namespace

TEST(ModelServer, SideRequestsLeaveTheScriptAlone) {
  ScriptedModelServer server({{"first", std::nullopt}});
  // A request without tools is not the conversation (Claude's title request is one).
  json side = post(server, "/v1/messages", {{"model", "small"}, {"messages", json::array()}});
  EXPECT_EQ(side["content"][0]["text"], "OK");
  json first = post(server, "/v1/messages", {{"tools", kTools}, {"messages", json::array()}});
  EXPECT_EQ(first["content"][0]["text"], "first");
  EXPECT_EQ(first["stop_reason"], "end_turn");
  json after = post(server, "/v1/messages", {{"tools", kTools}, {"messages", json::array()}});
  EXPECT_EQ(after["content"][0]["text"], "done");
  EXPECT_EQ(server.replies_used(), 1u);
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.log().size(), 3u);
}

TEST(ModelServer, StructuredSideRequestsGetJsonOfTheirSchema) {
  ScriptedModelServer server({});
  json schema = {
      {"type", "object"},
      {"properties",
       {{"title", {{"type", "string"}}},
        {"next_speaker", {{"type", "string"}, {"enum", json::array({"user", "model"})}}}}}};
  json side = post(server, "/v1/messages", {{"output_config", {{"format", {{"schema", schema}}}}}});
  json title = json::parse(side["content"][0]["text"].get<std::string>());
  EXPECT_EQ(title, json({{"title", "OK"}, {"next_speaker", "user"}}));
}

TEST(ModelServer, UnknownPathsGetANotFoundError) {
  ScriptedModelServer server({});
  httplib::Client client("127.0.0.1", server.port());
  auto result = client.Get("/api/hello");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(json::parse(result->body)["error"]["type"], "not_found_error");
  ASSERT_EQ(server.log().size(), 1u);
  EXPECT_EQ(server.log()[0].path, "/api/hello");
}

class AgentAgainstModel : public ::testing::TestWithParam<OneTurnRecipe> {};

// The script makes the real agent call its own tool; the file appears with the scripted
// content, the agent prints the scripted answer, and the server sees the tool's result.
TEST_P(AgentAgainstModel, WritesTheScriptedFile) {
  const OneTurnRecipe& recipe = GetParam();
  AgentSetup agent = recipe.setup();
  if (!agent.installed())
    GTEST_SKIP() << recipe.name << " is not installed: run scripts/install-agents";
  const RemovedAtEnd scratch{fs::path(agent.workdir).parent_path()};
  // The agents look for the repository they work in.
  ASSERT_EQ(exit_code(run_piped({"git", "init", "-q", agent.workdir}).status), 0);
  const std::string file = agent.workdir + "/hello.txt";
  const std::string content = "Hello from the scripted model";

  ScriptedModelServer model({{"I will write hello.txt.", recipe.write(file, content)},
                             {"Wrote hello.txt for you.", std::nullopt}});
  agent.args = recipe.args(model.base_url(), "write hello.txt");
  const std::string command = agent.command("model", recipe.endpoint(model.base_url()));
  // run_piped kills the agent at the deadline.
  Finished run = run_piped({"/bin/sh", "-c", command}, "", 120s);

  EXPECT_EQ(exit_code(run.status), 0) << run.err;
  EXPECT_NE(run.out.find("Wrote hello.txt for you."), std::string::npos) << run.out << run.err;
  EXPECT_EQ(read_file(file), content);
  const auto requests = model.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_FALSE(carries_tool_result(requests[0]));
  EXPECT_TRUE(carries_tool_result(requests[1])) << requests[1].dump(2);
}

INSTANTIATE_TEST_SUITE_P(RealAgents, AgentAgainstModel, ::testing::ValuesIn(kRecipes),
                         [](const auto& param_info) { return param_info.param.name; });
