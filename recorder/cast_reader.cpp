#include "recorder/cast_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

namespace sddsh::recorder {
namespace {

constexpr std::size_t kReadBytes = std::size_t{256} << 10;
// Our writer's longest line is about 7 MiB (a 1 MiB slice of control characters, escaped).
constexpr std::size_t kLongestLine = std::size_t{64} << 20;
constexpr std::uint32_t kReplacementCharacter = 0xFFFD;

void append_utf8(std::string& out, std::uint32_t code_point) {
  const auto byte = [](std::uint32_t bits) { return static_cast<char>(bits); };
  if (code_point < 0x80) {
    out += byte(code_point);
  } else if (code_point < 0x800) {
    out += byte(0xC0 | code_point >> 6);
    out += byte(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += byte(0xE0 | code_point >> 12);
    out += byte(0x80 | ((code_point >> 6) & 0x3F));
    out += byte(0x80 | (code_point & 0x3F));
  } else {
    out += byte(0xF0 | code_point >> 18);
    out += byte(0x80 | ((code_point >> 12) & 0x3F));
    out += byte(0x80 | ((code_point >> 6) & 0x3F));
    out += byte(0x80 | (code_point & 0x3F));
  }
}

bool is_high_surrogate(std::uint32_t unit) {
  return unit >= 0xD800 && unit <= 0xDBFF;
}
bool is_low_surrogate(std::uint32_t unit) {
  return unit >= 0xDC00 && unit <= 0xDFFF;
}

// The fast path for the one shape event lines have: [number, "type", "data"]. Anything it does
// not know is left to nlohmann::json, which decides.
class EventLineParser {
 public:
  explicit EventLineParser(std::string_view line) : line_(line) {}

  bool parse(double& time, std::string& type, std::string& data) {
    return token('[') && number(time) && token(',') && string(type) && token(',') && string(data) &&
           token(']') && at_end();
  }

 private:
  void skip_whitespace() {
    while (i_ < line_.size() &&
           (line_[i_] == ' ' || line_[i_] == '\t' || line_[i_] == '\r' || line_[i_] == '\n')) {
      ++i_;
    }
  }

  bool token(char c) {
    skip_whitespace();
    if (i_ >= line_.size() || line_[i_] != c) return false;
    ++i_;
    return true;
  }

  bool at_end() {
    skip_whitespace();
    return i_ == line_.size();
  }

  bool number(double& value) {
    skip_whitespace();
    // from_chars would also take "inf", "nan" and a leading '+', which JSON does not.
    if (i_ >= line_.size() || (line_[i_] != '-' && (line_[i_] < '0' || line_[i_] > '9'))) {
      return false;
    }
    const auto [end, error] =
        std::from_chars(line_.data() + i_, line_.data() + line_.size(), value);
    if (error != std::errc()) return false;
    i_ = static_cast<std::size_t>(end - line_.data());
    return std::isfinite(value);
  }

  bool string(std::string& out) {
    if (!token('"')) return false;
    out.clear();
    for (;;) {
      const std::size_t start = i_;
      while (i_ < line_.size() && !special(line_[i_])) ++i_;
      out.append(line_.data() + start, i_ - start);
      if (i_ >= line_.size()) return false;
      if (line_[i_] == '"') {
        ++i_;
        return true;
      }
      if (line_[i_] != '\\' || !escape(out))
        return false;  // a raw control character, or a bad escape
    }
  }

  static bool special(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  }

  bool escape(std::string& out) {
    if (i_ + 1 >= line_.size()) return false;
    const char kind = line_[i_ + 1];
    i_ += 2;
    switch (kind) {
      case '"':
        out += '"';
        return true;
      case '\\':
        out += '\\';
        return true;
      case '/':
        out += '/';
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'u':
        return unicode_escape(out);
      default:
        return false;
    }
  }

  // \uXXXX, a surrogate pair as two of them. A lone surrogate has no UTF-8 form: U+FFFD.
  bool unicode_escape(std::string& out) {
    std::uint32_t unit = 0;
    if (!hex4(i_, unit)) return false;
    i_ += 4;
    std::uint32_t low = 0;
    if (is_high_surrogate(unit) && line_.substr(i_, 2) == "\\u" && hex4(i_ + 2, low) &&
        is_low_surrogate(low)) {
      i_ += 6;
      append_utf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
      return true;
    }
    const bool lone_surrogate = is_high_surrogate(unit) || is_low_surrogate(unit);
    append_utf8(out, lone_surrogate ? kReplacementCharacter : unit);
    return true;
  }

  bool hex4(std::size_t at, std::uint32_t& value) const {
    if (at + 4 > line_.size()) return false;
    value = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const char c = line_[k];
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      value = value << 4 | digit;
    }
    return true;
  }

  std::string_view line_;
  std::size_t i_ = 0;
};

bool parse_event_with_json(std::string_view line, double& time, std::string& type,
                           std::string& data) {
  const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array() || json.size() != 3) return false;
  if (!json[0].is_number() || !json[1].is_string() || !json[2].is_string()) return false;
  time = json[0].get<double>();
  type = json[1].get<std::string>();
  data = json[2].get<std::string>();
  return std::isfinite(time);
}

bool parse_event_line(std::string_view line, double& time, std::string& type, std::string& data) {
  return EventLineParser(line).parse(time, type, data) ||
         parse_event_with_json(line, time, type, data);
}

constexpr std::uint8_t kNotBase64 = 0xFF;

constexpr std::array<std::uint8_t, 256> make_base64_values() {
  std::array<std::uint8_t, 256> values{};
  values.fill(kNotBase64);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return values;
}
constexpr std::array<std::uint8_t, 256> kBase64Values = make_base64_values();

// Standard base64 with padding, as our writer makes it.
bool decode_base64(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.clear();
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last_group = i + 4 == text.size();
    std::uint32_t bits = 0;
    int padding = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      const std::uint8_t value = kBase64Values[static_cast<unsigned char>(c)];
      if (c == '=' && last_group && k >= 2) {
        ++padding;
      } else if (value == kNotBase64 || padding > 0) {
        return false;
      }
      bits = bits << 6 | (value == kNotBase64 ? 0U : value);
    }
    out += static_cast<char>(bits >> 16);
    if (padding < 2) out += static_cast<char>(bits >> 8);
    if (padding < 1) out += static_cast<char>(bits);
  }
  return true;
}

// A whole number in [low, high], as the header's numbers must be.
std::optional<std::int64_t> whole_number(const nlohmann::json& json, double low, double high) {
  if (!json.is_number()) return std::nullopt;
  const double value = json.get<double>();
  if (!(value >= low && value <= high) || value != std::floor(value)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

std::string string_member(const nlohmann::json& object, const char* name) {
  const auto member = object.find(name);
  return member != object.end() && member->is_string() ? member->get<std::string>() : "";
}

Result<CastHeader> parse_header(std::string_view line) {
  const auto not_ours = [](const std::string& why) {
    return Failure{Error{0, "not an asciicast v2 file: " + why}};
  };
  const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return not_ours("the header is not a JSON object");
  const auto version = json.find("version");
  if (version == json.end() || whole_number(*version, 2, 2) != 2) {
    return not_ours("the header's version is not 2");
  }
  CastHeader header;
  const auto width = json.find("width");
  const auto height = json.find("height");
  const auto size_of = [&](const auto& member) -> std::optional<std::int64_t> {
    return member == json.end() ? std::nullopt : whole_number(*member, 1, 65535);
  };
  if (!size_of(width) || !size_of(height))
    return not_ours("the header has no valid width and height");
  header.width = static_cast<int>(*size_of(width));
  header.height = static_cast<int>(*size_of(height));
  if (const auto timestamp = json.find("timestamp"); timestamp != json.end()) {
    // asciinema writes whole seconds; others write fractions, which we drop.
    if (timestamp->is_number()) {
      const double seconds = std::floor(timestamp->get<double>());
      if (std::abs(seconds) < 1e15) header.timestamp = static_cast<std::int64_t>(seconds);
    }
  }
  if (const auto env = json.find("env"); env != json.end() && env->is_object()) {
    header.term = string_member(*env, "TERM");
    header.shell = string_member(*env, "SHELL");
  }
  header.title = string_member(json, "title");
  return header;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

Result<CastReader> CastReader::open(const std::string& path) {
  shell::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return system_failure("opening " + path);
  CastReader reader(std::move(fd), {}, path);
  if (auto header = reader.read_header(); !header) return Failure{header.error()};
  return Result<CastReader>(std::move(reader));
}

Result<CastReader> CastReader::from_memory(std::string_view text) {
  CastReader reader(shell::UniqueFd(), text, "<memory>");
  if (auto header = reader.read_header(); !header) return Failure{header.error()};
  return Result<CastReader>(std::move(reader));
}

CastReader::CastReader(shell::UniqueFd fd, std::string_view text, std::string name)
    : fd_(std::move(fd)), memory_(text), name_(std::move(name)), at_eof_(!fd_) {}

Result<void> CastReader::read_header() {
  const auto line = next_line();
  if (!line) return Failure{Error{0, name_ + ": " + problem_.value_or("empty file")}};
  auto header = parse_header(line->text);
  if (!header) return Failure{Error{0, name_ + ": " + header.error().message}};
  header_ = std::move(*header);
  mark_valid();
  return {};
}

std::optional<CastEvent> CastReader::next() {
  CastEvent event;
  if (lookahead_) {
    event = std::move(*lookahead_);
    lookahead_.reset();
  } else if (!read_event(event)) {
    return std::nullopt;
  }
  // An "x" with no event of its own before it (right after the header or another "x"): left out.
  while (event.type == 'x') {
    if (!read_event(event)) return std::nullopt;
  }
  CastEvent following;
  if (read_event(following)) {
    if (following.type == 'x') {
      event.data = std::move(following.data);  // the exact bytes, where the text had U+FFFD
    } else {
      lookahead_ = std::move(following);
      lookahead_position_ = event_position_;
    }
  }
  return event;
}

// The next event line as it stands in the file ("x" decoded, not yet applied). Blank lines and
// types of more than one letter (not ours, not asciinema's) are passed over.
bool CastReader::read_event(CastEvent& event) {
  std::string type;
  std::string data;
  while (!stopped_) {
    event_position_ = {data_offset_ + position_, line_number_};
    const auto line = next_line();
    if (!line) return false;
    if (is_blank(line->text)) {
      mark_valid();
      continue;
    }
    const std::string where = "line " + std::to_string(line_number_) + ": ";
    if (!parse_event_line(line->text, event.time, type, data)) {
      stop(where + (line->terminated ? "not an asciicast event" : "truncated"));
      return false;
    }
    if (type == "x" && !decode_base64(data, event.data)) {
      stop(where + "bad \"x\" event");
      return false;
    }
    mark_valid();
    if (type.size() != 1) continue;
    event.type = type[0];
    if (event.type != 'x') event.data = std::move(data);
    return true;
  }
  return false;
}

std::optional<CastReader::Line> CastReader::next_line() {
  std::size_t search_from = position_;
  for (;;) {
    const std::string_view text = data();
    const std::size_t newline = text.find('\n', search_from);
    if (newline != std::string_view::npos) {
      const Line line{text.substr(position_, newline - position_), true};
      position_ = newline + 1;
      ++line_number_;
      return line;
    }
    if (at_eof_) {
      if (position_ == text.size()) return std::nullopt;
      const Line line{text.substr(position_), false};
      position_ = text.size();
      ++line_number_;
      return line;
    }
    if (text.size() - position_ > kLongestLine) {
      stop("line " + std::to_string(line_number_ + 1) + ": longer than 64 MiB");
      return std::nullopt;
    }
    search_from = text.size() - position_;  // where the unsearched part starts after fill()
    if (!fill()) return std::nullopt;
  }
}

// Reads more of the file after the unread part of the buffer (which moves to its start).
bool CastReader::fill() {
  buffer_.erase(0, position_);
  data_offset_ += position_;
  position_ = 0;
  const std::size_t kept = buffer_.size();
  buffer_.resize(kept + kReadBytes);
  ssize_t n = 0;
  do {
    n = ::read(fd_.get(), buffer_.data() + kept, kReadBytes);
  } while (n < 0 && errno == EINTR);
  const int read_errno = errno;
  buffer_.resize(kept + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  if (n < 0) {
    stop(system_failure("reading " + name_, read_errno).error.message);
    return false;
  }
  at_eof_ = n == 0;
  return true;
}

void CastReader::mark_valid() {
  valid_bytes_ = data_offset_ + position_;
  valid_lines_ = line_number_;
}

CastPosition CastReader::position() const {
  return lookahead_ ? lookahead_position_ : CastPosition{valid_bytes_, valid_lines_};
}

void CastReader::seek(const CastPosition& at) {
  lookahead_.reset();
  problem_.reset();
  stopped_ = false;
  line_number_ = at.line;
  if (fd_) {
    buffer_.clear();
    position_ = 0;
    data_offset_ = at.offset;
    at_eof_ = false;
    if (::lseek(fd_.get(), static_cast<off_t>(at.offset), SEEK_SET) < 0) {
      stop(system_failure("seeking in " + name_).error.message);
    }
  } else {
    data_offset_ = 0;
    position_ = static_cast<std::size_t>(std::min<std::uint64_t>(at.offset, memory_.size()));
  }
  mark_valid();
}

void CastReader::stop(const std::string& why) {
  if (!problem_) problem_ = why;
  stopped_ = true;
}

namespace {

Result<CastFile> read_all(Result<CastReader> reader) {
  if (!reader) return Failure{reader.error()};
  CastFile file;
  file.header = reader->header();
  while (auto event = reader->next()) file.events.push_back(std::move(*event));
  file.problem = reader->problem();
  file.valid_bytes = reader->valid_bytes();
  return file;
}

}  // namespace

Result<CastFile> read_cast(const std::string& path) {
  return read_all(CastReader::open(path));
}

Result<CastFile> parse_cast(std::string_view text) {
  return read_all(CastReader::from_memory(text));
}

std::optional<CastSize> parse_resize(std::string_view data) {
  CastSize size{};
  const char* const end = data.data() + data.size();
  const auto cols = std::from_chars(data.data(), end, size.cols);
  if (cols.ec != std::errc() || cols.ptr == end || *cols.ptr != 'x') return std::nullopt;
  const auto rows = std::from_chars(cols.ptr + 1, end, size.rows);
  if (rows.ec != std::errc() || rows.ptr != end || size.cols <= 0 || size.rows <= 0) {
    return std::nullopt;
  }
  return size;
}

}  // namespace sddsh::recorder
