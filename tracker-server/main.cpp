// sddsh-tracker: serve the tracker's HTTP API, and manage its projects and tokens.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tracker-server/server.hpp"
#include "tracker-server/validate.hpp"

namespace {

using namespace sddsh::server;

int fail(const std::string& message) {
  std::fprintf(stderr, "sddsh-tracker: %s\n", message.c_str());
  return 1;
}

// "127.0.0.1:8470", "[::1]:8470", ":8470" (loopback).
bool parse_listen(const std::string& text, ServerOptions& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = parse_decimal(text.substr(colon + 1));
  if (!port || *port > 65535) return false;
  options.host = host.empty() ? "127.0.0.1" : host;
  options.port = static_cast<int>(*port);
  return true;
}

// SIGINT and SIGTERM are blocked in every thread and taken by one that only stops the server:
// no work happens in a signal handler. Made before run() starts the server's threads, so that
// they all inherit the mask.
class StopOnSignal {
 public:
  explicit StopOnSignal(Server& server) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    waiter_ = std::thread([this, &server] {
      int signal = 0;
      sigwait(&signals_, &signal);
      server.stop();
    });
  }
  ~StopOnSignal() {
    pthread_kill(waiter_.native_handle(), SIGTERM);  // a no-op when it already returned
    waiter_.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  sigset_t signals_{};
  std::thread waiter_;
};

int serve(ServerOptions options, const std::string& listen) {
  if (!parse_listen(listen, options))
    return fail("--listen: expected HOST:PORT, got '" + listen + "'");
  const auto data_dir = options.data_dir;
  const auto scheme = options.cert_file.empty() ? "http" : "https";
  auto server = Server::open(std::move(options));
  if (!server) return fail(server.error().message);
  StopOnSignal stop_on_signal(**server);
  const auto& host = listen.substr(0, listen.rfind(':'));
  std::fprintf(stderr, "sddsh-tracker: serving %s on %s://%s:%d\n", data_dir.c_str(), scheme,
               host.empty() ? "127.0.0.1" : host.c_str(), (*server)->port());
  if (auto ran = (*server)->run(); !ran) return fail(ran.error().message);
  return 0;
}

int create_token(const std::string& data_dir, const std::string& project,
                 const std::string& role_name, std::string label) {
  auto role = parse_role(role_name);
  if (!role) return fail("--role: read, write or admin");
  if (!is_project_name(project))
    return fail("not a project name: '" + project + "' (a-z, 0-9, _ and -)");
  auto store = open_sqlite_store(data_dir);
  if (!store) return fail(store.error().message);
  if (label.empty()) label = project + "-" + role_name;
  auto token = (*store)->create_token(project, *role, label);
  if (!token) return fail(token.error().message);
  std::printf("%s\n", token->c_str());
  return 0;
}

int list_tokens(const std::string& data_dir, bool as_json) {
  auto store = open_sqlite_store(data_dir);
  if (!store) return fail(store.error().message);
  auto tokens = (*store)->list_tokens();
  if (!tokens) return fail(tokens.error().message);
  if (as_json) {
    auto list = nlohmann::json::array();
    for (const auto& token : *tokens)
      list.push_back(nlohmann::json{{"id", token.identity.id},
                                    {"project", token.identity.project},
                                    {"role", name(token.identity.role)},
                                    {"label", token.identity.label},
                                    {"created_at", token.created_at}});
    std::printf("%s\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%-6s %-20s %-6s %-24s %s\n", "ID", "PROJECT", "ROLE", "LABEL", "CREATED");
  for (const auto& token : *tokens)
    std::printf("%-6lld %-20s %-6s %-24s %s\n", static_cast<long long>(token.identity.id),
                token.identity.project.c_str(), name(token.identity.role),
                token.identity.label.c_str(), token.created_at.c_str());
  return 0;
}

int revoke_token(const std::string& data_dir, std::int64_t id) {
  auto store = open_sqlite_store(data_dir);
  if (!store) return fail(store.error().message);
  auto revoked = (*store)->revoke_token(id);
  if (!revoked) return fail(revoked.error().message);
  if (!*revoked) return fail("no token " + std::to_string(id));
  return 0;
}

int create_project(const std::string& data_dir, const std::string& project) {
  if (!is_project_name(project))
    return fail("not a project name: '" + project + "' (a-z, 0-9, _ and -)");
  auto store = open_sqlite_store(data_dir);
  if (!store) return fail(store.error().message);
  if (auto created = (*store)->create_project(project); !created)
    return fail(created.error().message);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sddsh-tracker — the tracker server of sddsh (docs/tracker-api.md)",
               "sddsh-tracker"};
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::simple);

  ServerOptions options;
  std::string listen = "127.0.0.1:8470";
  auto* serve_app = app.add_subcommand("serve", "Serve the tracker API until SIGINT or SIGTERM");
  serve_app
      ->add_option("--data", options.data_dir, "The server's data directory (made when missing)")
      ->required();
  serve_app->add_option("--listen", listen, "HOST:PORT to listen on")->capture_default_str();
  serve_app->add_option("--cert", options.cert_file, "TLS certificate (PEM); with --key: HTTPS");
  serve_app->add_option("--key", options.key_file, "TLS private key (PEM)");
  serve_app->add_option("--max-json-body", options.max_json_body, "Largest JSON body, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 50));
  serve_app->add_option("--max-file-size", options.max_file_size, "Largest session file, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 50));
  serve_app->add_option(
      "--access-log", options.access_log,
      "Append one JSON line per request to this file (default: stderr; '-': none)");

  auto* token_app =
      app.add_subcommand("token", "Make, list and revoke the bearer tokens of projects");
  token_app->require_subcommand(1);
  std::string data_dir, project, role, label;
  bool as_json = false;
  std::int64_t token_id = 0;
  auto* token_create =
      token_app->add_subcommand("create", "Make a token and print it (only this once)");
  token_create->add_option("--data", data_dir, "The server's data directory")->required();
  token_create->add_option("--project", project, "The project it opens (made when missing)")
      ->required();
  token_create->add_option("--role", role, "read, write or admin")
      ->required()
      ->check(CLI::IsMember({"read", "write", "admin"}));
  token_create->add_option("--label", label, "A name for the token, shown in the access log");
  auto* token_list =
      token_app->add_subcommand("list", "List the tokens (never the tokens themselves)");
  token_list->add_option("--data", data_dir, "The server's data directory")->required();
  token_list->add_flag("--json", as_json, "As JSON");
  auto* token_revoke =
      token_app->add_subcommand("revoke", "Revoke a token by its id (see token list)");
  token_revoke->add_option("--data", data_dir, "The server's data directory")->required();
  token_revoke->add_option("--id", token_id, "The token's id")->required();

  auto* project_app = app.add_subcommand("project", "Manage projects");
  project_app->require_subcommand(1);
  auto* project_create =
      project_app->add_subcommand("create", "Make a project (tokens make theirs too)");
  project_create->add_option("--data", data_dir, "The server's data directory")->required();
  project_create->add_option("PROJECT", project, "Its name: a-z, 0-9, _ and -")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);
    return fail(error.what());
  }
  if (serve_app->parsed()) return serve(std::move(options), listen);
  if (token_create->parsed()) return create_token(data_dir, project, role, label);
  if (token_list->parsed()) return list_tokens(data_dir, as_json);
  if (token_revoke->parsed()) return revoke_token(data_dir, token_id);
  if (project_create->parsed()) return create_project(data_dir, project);
  return fail("nothing to do (see --help)");
}
