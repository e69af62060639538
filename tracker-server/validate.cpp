#include "tracker-server/validate.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace sddsh::server {

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// One leading alphanumeric, then up to `max_rest` characters of alnum + `extra`.
template <typename First, typename Rest>
bool matches_name(std::string_view text, std::size_t max_rest, First first, Rest rest) {
  if (text.empty() || text.size() > max_rest + 1 || !first(text.front())) return false;
  return std::all_of(text.begin() + 1, text.end(), rest);
}

bool is_id_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The media type of a Content-Type value, trimmed and lowercased ("Application/JSON; x" → ...).
std::string media_type(std::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  std::string lowered(type);
  for (auto& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lowered;
}

}  // namespace

bool is_project_name(std::string_view text) {
  return matches_name(text, 62, is_lower_alnum,
                      [](char c) { return is_lower_alnum(c) || c == '_' || c == '-'; });
}

bool is_task_id(std::string_view text) {
  return matches_name(text, 63, is_alnum, is_id_char);
}

bool is_upload_id(std::string_view text) {
  return matches_name(text, 127, is_alnum, is_id_char) && text.find("..") == std::string_view::npos;
}

bool is_file_name(std::string_view text) {
  return is_upload_id(text);
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high < 0 || low < 0 || (high == 0 && low == 0)) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

std::optional<Target> parse_target(std::string_view target) {
  const auto query_at = target.find('?');
  const auto path = target.substr(0, query_at);
  if (path.empty() || path.front() != '/') return std::nullopt;
  Target parsed;
  parsed.path = std::string(path);
  for (auto raw : split(path.substr(1), '/')) {
    auto segment = percent_decode(raw, false);
    if (!segment) return std::nullopt;
    parsed.segments.push_back(std::move(*segment));
  }
  if (query_at == std::string_view::npos) return parsed;
  for (auto pair : split(target.substr(query_at + 1), '&')) {
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto key = percent_decode(pair.substr(0, equals), true);
    auto value =
        percent_decode(equals == std::string_view::npos ? "" : pair.substr(equals + 1), true);
    if (!key || !value) return std::nullopt;
    parsed.query.emplace_back(std::move(*key), std::move(*value));
  }
  return parsed;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<ContentRange> parse_content_range(std::string_view text) {
  constexpr std::string_view kUnit = "bytes ";
  if (text.substr(0, kUnit.size()) != kUnit) return std::nullopt;
  text.remove_prefix(kUnit.size());
  const auto dash = text.find('-'), slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash)
    return std::nullopt;
  auto start = parse_decimal(text.substr(0, dash));
  auto end = parse_decimal(text.substr(dash + 1, slash - dash - 1));
  auto total = parse_decimal(text.substr(slash + 1));
  if (!start || !end || !total || *start > *end || *end >= *total) return std::nullopt;
  return ContentRange{*start, *end, *total};
}

std::optional<std::string_view> bearer_token(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos || !equals_ignoring_case(header.substr(0, space), "bearer"))
    return std::nullopt;
  auto token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool is_plausible_token(std::string_view token) {
  return !token.empty() && token.size() <= 256 &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

bool is_json_media_type(std::string_view content_type) {
  return media_type(content_type) == "application/json";
}

bool is_multipart_media_type(std::string_view content_type) {
  return media_type(content_type).starts_with("multipart/");
}

bool json_depth_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

bool is_single_line(std::string_view text, std::size_t max_length) {
  return text.size() <= max_length && std::none_of(text.begin(), text.end(), [](char c) {
           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

}  // namespace sddsh::server
