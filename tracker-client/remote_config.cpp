#include "tracker-client/remote_config.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "tracker-client/remote_tracker.hpp"

namespace sddsh::tracker {

namespace {

using nlohmann::json;

// An environment variable, or empty when unset.
std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

Failure config_failure(const std::string& source, const std::string& what) {
  return Failure{Error{0, source + ": " + what}};
}

// A file holding the token must be private: any group or other permission bit refuses it.
Result<void> check_private(const std::string& path, const char* holding) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return system_failure("stat " + path);
  if ((info.st_mode & 077) == 0) return {};
  std::ostringstream mode;
  mode << std::oct << (info.st_mode & 0777);
  return Failure{Error{EACCES, path + " holds " + holding + " but its mode is 0" + mode.str() +
                                   " (readable by others): run `chmod 600 " + path +
                                   "`; refusing to use it"}};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return system_failure("open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return system_failure("read " + path);
  return text.str();
}

// The config file as JSON: an empty object when there is no file.
Result<json> read_config_file(const std::string& path) {
  std::error_code error;
  if (path.empty() || !std::filesystem::exists(path, error)) return json::object();
  auto text = read_file(path);
  if (!text) return Failure{text.error()};
  auto value = json::parse(*text, nullptr, false);
  if (value.is_discarded()) return config_failure(path, "not valid JSON");
  if (!value.is_object()) return config_failure(path, "expected a JSON object");
  return value;
}

// The "tracker" section's string keys; anything else there is an error naming the key.
Result<std::map<std::string, std::string>> tracker_section(const json& config,
                                                           const std::string& path) {
  std::map<std::string, std::string> keys;
  auto section = config.find("tracker");
  if (section == config.end() || section->is_null()) return keys;
  if (!section->is_object()) return config_failure(path, "\"tracker\" must be an object");
  for (const auto& [key, value] : section->items()) {
    if (!value.is_string()) return config_failure(path, "tracker." + key + " must be a string");
    keys[key] = value.get<std::string>();
  }
  return keys;
}

// The token file's content, its trailing newline (and spaces) cut.
Result<std::string> read_token_file(const std::string& path) {
  if (auto check = check_private(path, "the tracker token"); !check) return Failure{check.error()};
  auto text = read_file(path);
  if (!text) return Failure{text.error()};
  while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back()))) text->pop_back();
  return *text;
}

// A relative token_file or ca_file in the config file is relative to that file's directory.
std::string beside(const std::string& config_path, const std::string& file) {
  if (file.empty() || std::filesystem::path(file).is_absolute() || config_path.empty()) return file;
  return (std::filesystem::path(config_path).parent_path() / file).string();
}

// One setting: the environment variable when set, else the file's key.
struct Setting {
  std::string value;
  bool from_environment = false;
};

Setting pick(const char* variable, const std::map<std::string, std::string>& file_keys,
             const char* key) {
  if (auto value = env(variable); !value.empty()) return {value, true};
  auto it = file_keys.find(key);
  return {it == file_keys.end() ? std::string() : it->second, false};
}

// The token, from (in order) SDDSH_TRACKER_TOKEN, SDDSH_TRACKER_TOKEN_FILE, the file's "token",
// the file's "token_file". A config file that holds the token itself must be private too.
Result<std::string> resolve_token(const std::map<std::string, std::string>& file_keys,
                                  const std::string& path) {
  if (file_keys.contains("token"))
    if (auto check = check_private(path, "the tracker token"); !check)
      return Failure{check.error()};
  if (auto token = env("SDDSH_TRACKER_TOKEN"); !token.empty()) return token;
  if (auto file = env("SDDSH_TRACKER_TOKEN_FILE"); !file.empty()) return read_token_file(file);
  if (auto it = file_keys.find("token"); it != file_keys.end()) return it->second;
  if (auto it = file_keys.find("token_file"); it != file_keys.end() && !it->second.empty())
    return read_token_file(beside(path, it->second));
  return std::string();
}

// Control characters in a token would split the Authorization header.
bool is_header_safe(const std::string& text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// Names what is missing or wrong, pointing at both places the user can set it.
Result<void> check_complete(const RemoteConfig& config, const std::string& path) {
  std::string missing;
  auto need = [&](const std::string& value, const char* variable, const char* key) {
    if (!value.empty()) return;
    if (!missing.empty()) missing += ", ";
    missing += std::string(variable) + " (or tracker." + key + ")";
  };
  need(config.project, "SDDSH_TRACKER_PROJECT", "project");
  need(config.token, "SDDSH_TRACKER_TOKEN", "token or tracker.token_file");
  const std::string where = path.empty() ? "environment" : "environment and " + path;
  if (!missing.empty())
    return Failure{Error{0, "remote tracker at " + config.url + " is not fully configured (" +
                                where + "): missing " + missing}};
  if (!config.url.starts_with("http://") && !config.url.starts_with("https://"))
    return Failure{Error{0, "tracker URL " + config.url + " must start with https:// or http://"}};
  // Credentials in the URL would show in every message that names the server.
  const auto authority = config.url.substr(config.url.find("//") + 2);
  if (authority.substr(0, authority.find('/')).find('@') != std::string::npos)
    return Failure{Error{0,
                         "the tracker URL must not hold credentials: put the token in "
                         "SDDSH_TRACKER_TOKEN or tracker.token_file"}};
  if (!is_project_name(config.project))
    return Failure{Error{0, "tracker project '" + config.project +
                                "' is not a valid name (lowercase letters, digits, '-', '_')"}};
  if (!is_header_safe(config.token))
    return Failure{Error{0, "the tracker token contains control characters"}};
  return {};
}

Result<void> check_ca_file(const std::string& ca_file) {
  if (ca_file.empty()) return {};
  std::ifstream in(ca_file);
  if (!in) return system_failure("CA file " + ca_file);
  return {};
}

}  // namespace

std::string config_file_path() {
  if (auto path = env("SDDSH_CONFIG"); !path.empty()) return path;
  if (auto xdg = env("XDG_CONFIG_HOME"); !xdg.empty()) return xdg + "/sddsh/config.json";
  if (auto home = env("HOME"); !home.empty()) return home + "/.config/sddsh/config.json";
  return {};
}

Result<std::optional<RemoteConfig>> load_remote_config(const std::string& ca_file_override) {
  const std::string path = config_file_path();
  auto file = read_config_file(path);
  if (!file) return Failure{file.error()};
  auto keys = tracker_section(*file, path);
  if (!keys) return Failure{keys.error()};

  auto url = pick("SDDSH_TRACKER_URL", *keys, "url");
  if (url.value.empty()) return std::optional<RemoteConfig>{};
  RemoteConfig config;
  config.url = url.value;
  while (config.url.ends_with('/')) config.url.pop_back();
  config.source = url.from_environment ? "environment" : path;
  config.project = pick("SDDSH_TRACKER_PROJECT", *keys, "project").value;
  auto ca = pick("SDDSH_TRACKER_CA_FILE", *keys, "ca_file");
  config.ca_file = ca.from_environment ? ca.value : beside(path, ca.value);
  if (!ca_file_override.empty()) config.ca_file = ca_file_override;

  auto token = resolve_token(*keys, path);
  if (!token) return Failure{token.error()};
  config.token = std::move(*token);
  if (auto complete = check_complete(config, path); !complete) return Failure{complete.error()};
  if (auto ca_ok = check_ca_file(config.ca_file); !ca_ok) return Failure{ca_ok.error()};
  return std::optional<RemoteConfig>{std::move(config)};
}

Result<std::vector<std::string>> load_redact_patterns() {
  const std::string path = config_file_path();
  auto file = read_config_file(path);
  if (!file) return Failure{file.error()};
  std::vector<std::string> patterns;
  auto redact = file->find("redact");
  if (redact == file->end() || redact->is_null()) return patterns;
  auto list = redact->is_object() ? redact->find("patterns") : redact->end();
  if (!redact->is_object() || (list != redact->end() && !list->is_array()))
    return config_failure(path, "redact.patterns must be an array of strings");
  if (list == redact->end()) return patterns;
  for (const auto& pattern : *list) {
    if (!pattern.is_string()) return config_failure(path, "redact.patterns must hold strings");
    patterns.push_back(pattern.get<std::string>());
  }
  return patterns;
}

}  // namespace sddsh::tracker
