#pragma once
// The JSON bodies of the API's requests read into the tracker's types: each field's type and
// size checked, the first problem named ("field 'priority': expected an integer from 0 to 4").
// A failure carries its HTTP status (400) in Error::code. Pure; fuzzed through the API.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shell/result.hpp"
#include "tracker-client/tracker.hpp"
#include "tracker-server/store.hpp"

namespace sddsh::server {

constexpr std::size_t kMaxName = 200;  // assignee, actor, label-like one-liners
constexpr std::size_t kMaxTitle = 4096;
constexpr std::size_t kMaxText = 1u << 20;   // descriptions, notes, reasons
constexpr std::size_t kMaxListItems = 1000;  // labels, files of a session

// A failure inside the API: Error::code is the HTTP status.
Failure refuse(int status, std::string message);
// A value shown in a message: JSON-quoted (so control bytes stay visible) and cut short.
std::string shown(std::string_view value);

// Reads the fields of a JSON object, keeping the first problem found; an absent field (or a
// null one) reads as nothing.
class Fields {
 public:
  explicit Fields(const nlohmann::json& object) : object_(object) {}

  // A string of at most `max_length` bytes (and one line, when asked).
  std::optional<std::string> text(const char* name, std::size_t max_length, bool one_line = false);
  std::optional<std::int64_t> integer(const char* name, std::int64_t low, std::int64_t high);
  std::optional<bool> boolean(const char* name);
  std::optional<std::vector<std::string>> strings(const char* name);
  std::optional<tracker::SpecRef> spec_ref(const char* name);
  // A name `parse` knows ("in_progress" → Status::InProgress); `what` says which ones.
  template <typename Parse>
  auto named(const char* name, Parse parse, const char* what) -> decltype(parse("")) {
    auto value = text(name, 64, true);
    if (!value) return std::nullopt;
    auto parsed = parse(*value);
    if (!parsed) return wrong(name, what);
    return parsed;
  }

  const std::optional<std::string>& problem() const { return problem_; }

 private:
  const nlohmann::json* find(const char* name) const;
  std::nullopt_t wrong(const char* name, const std::string& expected);

  const nlohmann::json& object_;
  std::optional<std::string> problem_;
};

Result<tracker::NewTask> new_task_from(const nlohmann::json& body);
// Only the fields present change.
Result<tracker::TaskChange> task_change_from(const nlohmann::json& body);

// What the API checks of a session upload's metadata (the rest is kept as sent).
struct SessionFields {
  std::string task_id, started_at;
  std::vector<StoredFile> files;
};
// The upload id must be "<session_id>.<segment>"; every listed file needs a flat name, a
// SHA-256 and a size of at most `max_file_size`.
Result<SessionFields> session_fields_from(const nlohmann::json& body, const std::string& uid,
                                          std::uint64_t max_file_size);

}  // namespace sddsh::server
