#pragma once
// A test double for the model behind an agent CLI: an HTTP server on loopback that speaks the
// wire protocols the real CLIs use (Anthropic Messages for Claude Code, OpenAI Responses for
// Codex, OpenAI Chat Completions for Copilot CLI, Gemini generateContent for Gemini CLI) and
// answers the agent's conversation from a script fixed by the test. Everything else the agent
// asks for (session titles, Gemini's model routing) gets a short harmless answer that does not
// consume the script, so a test only scripts what the user would see.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sddsh::e2e {

// The model asks the agent to run one of the agent's own tools ("Write", "apply_patch", ...).
// `input` is the tool's JSON arguments; a string is sent as is to a free-form (custom) tool.
struct ToolUse {
  std::string name;
  nlohmann::json input;
};

// One answer of the model: its text, then optionally a tool call that ends the answer.
struct ScriptedReply {
  std::string text;
  std::optional<ToolUse> tool;
};

// One HTTP request as the server received it.
struct ReceivedRequest {
  std::string method;
  std::string target;         // path and query, as sent
  std::string path;           // without the query
  std::string api;            // "anthropic", "responses", "chat", "gemini", or "" when unknown
  bool conversation = false;  // answered from the script (not a side request)
  nlohmann::json body;        // null when the body is empty or not JSON
};

// Called on a server thread after each request has been answered.
using RequestObserver = std::function<void(const ReceivedRequest&)>;

struct ModelServerOptions {
  int port = 0;  // 0: the OS picks a free one
  RequestObserver on_request;
};

class ScriptedModelServer {
 public:
  using Reply = ScriptedReply;
  using Options = ModelServerOptions;

  // Listens on 127.0.0.1 at once. Each conversation request takes the next reply; once the
  // script is used up, the answer is the plain text "done".
  explicit ScriptedModelServer(std::vector<Reply> script, Options options = {});
  ~ScriptedModelServer();  // stops serving and joins the server thread
  ScriptedModelServer(const ScriptedModelServer&) = delete;
  ScriptedModelServer& operator=(const ScriptedModelServer&) = delete;

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>", no trailing slash

  // Bodies of the conversation requests, in the order received.
  std::vector<nlohmann::json> requests() const;
  // Every request, side requests and unknown paths included.
  std::vector<ReceivedRequest> log() const;
  // How many scripted replies have been sent.
  std::size_t replies_used() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sddsh::e2e
