// scripted_model_server: the tests' model double on its own, for trying an agent by hand.
//
//   scripted_model_server [--port N] [--dump DIR] (--script FILE | REPLY...)
//
// A script file is a JSON array of replies; a REPLY argument is one reply, either as JSON or,
// when it is not JSON, as plain text. A reply reads
//   {"text": "I'll write it.",
//    "tool": {"name": "Write", "input": {"file_path": "/tmp/x", "content": "hi"}}}
// The port goes to stdout on a line of its own; each request is logged to stderr, and with
// --dump its body is kept as DIR/<n>-<api>.json. Runs until SIGINT or SIGTERM.
#include <signal.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "model_server.hpp"

namespace {

using nlohmann::json;
using sddsh::e2e::ReceivedRequest;
using sddsh::e2e::ScriptedModelServer;
using sddsh::e2e::ScriptedReply;
using sddsh::e2e::ToolUse;

struct Arguments {
  int port = 0;
  std::string dump_dir;
  std::vector<ScriptedReply> script;
};

ScriptedReply reply_of(const json& j) {
  if (j.is_string()) return {j.get<std::string>(), std::nullopt};
  ScriptedReply reply{j.value("text", ""), std::nullopt};
  if (j.contains("tool"))
    reply.tool =
        ToolUse{j["tool"].at("name").get<std::string>(), j["tool"].value("input", json::object())};
  return reply;
}

std::vector<ScriptedReply> read_script(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  std::vector<ScriptedReply> script;
  for (const auto& item : json::parse(in)) script.push_back(reply_of(item));
  return script;
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--port" && has_value) {
      args.port = std::stoi(argv[++i]);
    } else if (arg == "--dump" && has_value) {
      args.dump_dir = argv[++i];
    } else if (arg == "--script" && has_value) {
      for (auto& reply : read_script(argv[++i])) args.script.push_back(std::move(reply));
    } else if (arg.starts_with("--")) {
      throw std::runtime_error("unknown option " + arg);
    } else {
      json parsed = json::parse(arg, nullptr, false);
      args.script.push_back(parsed.is_object() ? reply_of(parsed)
                                               : ScriptedReply{arg, std::nullopt});
    }
  }
  return args;
}

// Logs one line per request and, with a dump directory, keeps its body.
sddsh::e2e::RequestObserver make_logger(const std::string& dump_dir) {
  auto count = std::make_shared<std::atomic<int>>(0);
  if (!dump_dir.empty()) std::filesystem::create_directories(dump_dir);
  return [count, dump_dir](const ReceivedRequest& r) {
    const int n = ++*count;
    std::cerr << n << " " << r.method << " " << r.target << " [" << (r.api.empty() ? "?" : r.api)
              << (r.conversation ? ", conversation" : "") << "]" << std::endl;
    if (dump_dir.empty()) return;
    const std::string name = std::to_string(n) + "-" + (r.api.empty() ? "other" : r.api) + ".json";
    std::ofstream(dump_dir + "/" + name)
        << json{{"method", r.method}, {"target", r.target}, {"body", r.body}}.dump(2) << "\n";
  };
}

// Blocks until SIGINT or SIGTERM; the signals are blocked first so no handler is needed.
void wait_for_termination(const sigset_t& signals) {
  int received = 0;
  sigwait(&signals, &received);
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Before any thread starts, so that every thread inherits the mask.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    Arguments args = parse_arguments(argc, argv);
    ScriptedModelServer server(std::move(args.script),
                               {.port = args.port, .on_request = make_logger(args.dump_dir)});
    std::cout << server.port() << std::endl;
    wait_for_termination(signals);
  } catch (const std::exception& e) {
    std::cerr << "scripted_model_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
