#include "recorder/transcript_json.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <exception>

namespace sddsh::recorder::transcript {

namespace {

// Counts brackets outside strings; enough to refuse a hostile nesting before nlohmann sees it.
bool nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

bool consume(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Exactly `count` decimal digits.
bool read_number(std::string_view& text, int count, int& value) {
  value = 0;
  for (int i = 0; i < count; ++i) {
    if (text.empty() || !is_digit(text.front())) return false;
    value = value * 10 + (text.front() - '0');
    text.remove_prefix(1);
  }
  return true;
}

// ".123456" → 123 ms; digits past the millisecond are dropped, not rounded.
bool read_fraction_ms(std::string_view& text, int& millis) {
  millis = 0;
  int digits = 0;
  while (!text.empty() && is_digit(text.front())) {
    if (digits < 3) millis = millis * 10 + (text.front() - '0');
    ++digits;
    text.remove_prefix(1);
  }
  for (int i = digits; i < 3; ++i) millis *= 10;
  return digits > 0;
}

// "Z", "+02:00", "-0530" or nothing (UTC) → minutes east of UTC.
bool read_zone(std::string_view& text, int& offset_minutes) {
  offset_minutes = 0;
  if (consume(text, 'Z') || consume(text, 'z') || text.empty()) return true;
  const char sign = text.front();
  if (sign != '+' && sign != '-') return false;
  text.remove_prefix(1);
  int hours = 0;
  int minutes = 0;
  if (!read_number(text, 2, hours)) return false;
  consume(text, ':');
  if (!read_number(text, 2, minutes) || hours > 23 || minutes > 59) return false;
  offset_minutes = (sign == '-' ? -1 : 1) * (hours * 60 + minutes);
  return true;
}

bool is_continuation_byte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string trimmed_line(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  return std::string(trim_left(line));
}

}  // namespace

std::optional<json> parse_json(std::string_view text) {
  if (nests_deeper_than(text, kMaxJsonNesting)) return std::nullopt;
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

void for_each_jsonl_record(std::string_view text, ParsedTranscript& out,
                           const std::function<void(const json&)>& read_record) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const bool complete = end != std::string_view::npos;
    const std::string_view line = text.substr(0, complete ? end : text.size());
    text.remove_prefix(complete ? end + 1 : text.size());
    if (is_blank(line)) continue;
    const std::optional<json> record = parse_json(line);
    if (!record && !complete) continue;  // the agent is still writing this line
    ++out.records;
    if (!record || !record->is_object()) {
      ++out.bad_records;
      continue;
    }
    try {
      read_record(*record);
    } catch (const std::exception&) {
      ++out.bad_records;  // a shape the reader did not expect; the rest of the file still counts
    }
  }
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nullptr : &*found;
}

const json* object_member(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_object() ? value : nullptr;
}

const json* array_member(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_array() ? value : nullptr;
}

std::string string_member(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

bool is_true(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

std::optional<std::int64_t> integer_member(const json& object, const char* key) {
  const json* value = member(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_number_integer()) return value->get<std::int64_t>();
  return std::nullopt;
}

std::int64_t timestamp_member(const json& object, const char* key) {
  return parse_iso8601_ms(string_member(object, key)).value_or(0);
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  int offset_minutes = 0;
  if (!read_number(text, 4, year) || !consume(text, '-') || !read_number(text, 2, month) ||
      !consume(text, '-') || !read_number(text, 2, day)) {
    return std::nullopt;
  }
  if (!consume(text, 'T') && !consume(text, 't') && !consume(text, ' ')) return std::nullopt;
  if (!read_number(text, 2, hour) || !consume(text, ':') || !read_number(text, 2, minute) ||
      !consume(text, ':') || !read_number(text, 2, second)) {
    return std::nullopt;
  }
  if (consume(text, '.') && !read_fraction_ms(text, millis)) return std::nullopt;
  if (!read_zone(text, offset_minutes) || !text.empty()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const auto time = sys_days{date} + hours{hour} + minutes{minute - offset_minutes} +
                    seconds{second} + milliseconds{millis};
  return time.time_since_epoch() / milliseconds{1};
}

std::optional<std::string> format_iso8601_ms(std::int64_t unix_ms) {
  constexpr std::int64_t kYear0 = -62167219200000;      // 0000-01-01T00:00:00.000Z
  constexpr std::int64_t kYear10000 = 253402300800000;  // 10000-01-01T00:00:00.000Z
  if (unix_ms < kYear0 || unix_ms >= kYear10000) return std::nullopt;
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds{unix_ms}};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  std::array<char, 48> buffer{};  // room for any int the compiler cannot rule out
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()),
                static_cast<int>(clock.subseconds().count()));
  return std::string(buffer.data());
}

std::string summarize_output(std::string_view text) {
  if (text.size() <= kToolOutputSummaryLength) return std::string(text);
  std::size_t cut = kToolOutputSummaryLength;
  // Back to the lead byte of the character the cut falls in (at most 3 steps in UTF-8; past
  // that the bytes are not UTF-8 and any cut will do).
  for (int step = 0; step < 3 && cut > 0 && is_continuation_byte(text[cut]); ++step) --cut;
  return std::string(text.substr(0, cut)) + "…";
}

std::vector<std::string> paths_in_tool_input(const json& input) {
  static constexpr std::array kPathKeys = {"file_path",     "filePath",     "path",
                                           "absolute_path", "absolutePath", "notebook_path",
                                           "target_file"};
  static constexpr std::array kPathListKeys = {"paths", "file_paths", "filePaths"};
  std::vector<std::string> paths;
  for (const char* key : kPathKeys) {
    const std::string path = string_member(input, key);
    if (!path.empty()) add_paths(paths, {path});
  }
  for (const char* key : kPathListKeys) {
    const json* list = array_member(input, key);
    if (list == nullptr) continue;
    for (const json& path : *list) {
      if (path.is_string() && !path.get_ref<const std::string&>().empty()) {
        add_paths(paths, {path.get<std::string>()});
      }
    }
  }
  return paths;
}

std::vector<std::string> paths_in_patch(std::string_view patch) {
  std::vector<std::string> paths;
  while (!patch.empty()) {
    const std::size_t end = patch.find('\n');
    const std::string_view line = patch.substr(0, end);
    patch.remove_prefix(end == std::string_view::npos ? patch.size() : end + 1);
    for (const std::string_view marker :
         {"*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "}) {
      if (line.starts_with(marker)) {
        const std::string path = trimmed_line(line.substr(marker.size()));
        if (!path.empty()) add_paths(paths, {path});
      }
    }
  }
  return paths;
}

void add_paths(std::vector<std::string>& files, const std::vector<std::string>& more) {
  for (const std::string& path : more) {
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
}

json input_object(const json& value) {
  if (value.is_object()) return value;
  if (value.is_null()) return json::object();
  return json{{"input", value}};
}

std::optional<long> number_after(std::string_view text, std::string_view marker) {
  const std::size_t at = text.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  text.remove_prefix(at + marker.size());
  const bool negative = consume(text, '-');
  long value = 0;
  int digits = 0;
  while (!text.empty() && is_digit(text.front()) && digits < 9) {
    value = value * 10 + (text.front() - '0');
    text.remove_prefix(1);
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  return negative ? -value : value;
}

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes) {
  for (const std::string_view prefix : prefixes) {
    if (text.starts_with(prefix)) return true;
  }
  return false;
}

std::string_view trim_left(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r')) {
    text.remove_prefix(1);
  }
  return text;
}

bool is_blank(std::string_view text) {
  return trim_left(text).empty();
}

std::string joined_texts(const json& blocks, std::initializer_list<std::string_view> types) {
  if (blocks.is_string()) return blocks.get<std::string>();
  if (!blocks.is_array()) return {};
  std::string joined;
  for (const json& block : blocks) {
    std::string text;
    if (block.is_string()) {
      text = block.get<std::string>();
    } else {
      const std::string type = string_member(block, "type");
      if (types.size() != 0 && std::find(types.begin(), types.end(), type) == types.end()) {
        continue;
      }
      text = string_member(block, "text");
    }
    if (text.empty()) continue;
    if (!joined.empty()) joined += '\n';
    joined += text;
  }
  return joined;
}

void ConversationBuilder::user(std::string text, std::int64_t ts_ms) {
  out_.messages.push_back(
      {.ts_ms = ts_ms, .role = ConversationMessage::Role::User, .text = std::move(text)});
}

void ConversationBuilder::assistant(std::string text, std::int64_t ts_ms) {
  if (text.empty()) return;
  out_.messages.push_back(
      {.ts_ms = ts_ms, .role = ConversationMessage::Role::Assistant, .text = std::move(text)});
}

void ConversationBuilder::tool(ToolCall call, std::int64_t ts_ms) {
  if (!call.id.empty()) calls_[call.id] = out_.messages.size();
  out_.messages.push_back(
      {.ts_ms = ts_ms, .role = ConversationMessage::Role::Tool, .tool = std::move(call)});
}

bool ConversationBuilder::has_tool(const std::string& id) const {
  return calls_.contains(id);
}

void ConversationBuilder::tool_result(const std::string& id, std::string_view output, bool failed) {
  ToolCall* call = find(id);
  if (call == nullptr) return;
  call->output_summary = summarize_output(output);
  call->failed = call->failed || failed;
}

void ConversationBuilder::tool_failed(const std::string& id) {
  if (ToolCall* call = find(id)) call->failed = true;
}

void ConversationBuilder::tool_files(const std::string& id, const std::vector<std::string>& files) {
  if (ToolCall* call = find(id)) add_paths(call->files, files);
}

ToolCall* ConversationBuilder::find(const std::string& id) {
  if (id.empty()) return nullptr;
  const auto found = calls_.find(id);
  if (found == calls_.end() || found->second >= out_.messages.size()) return nullptr;
  std::optional<ToolCall>& tool = out_.messages[found->second].tool;
  return tool ? &*tool : nullptr;
}

}  // namespace sddsh::recorder::transcript
