#include "tracker-client/timestamps.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sddsh::tracker {

namespace {

// Reads exactly `digits` decimal digits at `pos`; advances `pos`.
std::optional<int> read_number(std::string_view text, std::size_t& pos, int digits) {
  if (pos + static_cast<std::size_t>(digits) > text.size()) return std::nullopt;
  int value = 0;
  for (int i = 0; i < digits; ++i) {
    char c = text[pos++];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

struct Fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0;
};

// The date part, "YYYY-MM-DD".
bool read_date(std::string_view text, std::size_t& pos, Fields& f) {
  auto year = read_number(text, pos, 4);
  if (!year || !expect(text, pos, '-')) return false;
  auto month = read_number(text, pos, 2);
  if (!month || !expect(text, pos, '-')) return false;
  auto day = read_number(text, pos, 2);
  if (!day) return false;
  f.year = *year, f.month = *month, f.day = *day;
  return f.month >= 1 && f.month <= 12 && f.day >= 1 && f.day <= 31;
}

// The time part after 'T': "HH:MM", then optionally ":SS" and ".mmm", then 'Z'.
bool read_time(std::string_view text, std::size_t& pos, Fields& f) {
  auto hour = read_number(text, pos, 2);
  if (!hour || !expect(text, pos, ':')) return false;
  auto minute = read_number(text, pos, 2);
  if (!minute) return false;
  f.hour = *hour, f.minute = *minute;
  if (expect(text, pos, ':')) {
    auto second = read_number(text, pos, 2);
    if (!second) return false;
    f.second = *second;
    if (expect(text, pos, '.')) {
      auto millisecond = read_number(text, pos, 3);
      if (!millisecond) return false;
      f.millisecond = *millisecond;
    }
  }
  return expect(text, pos, 'Z') && f.hour < 24 && f.minute < 60 && f.second < 61;
}

}  // namespace

std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso_from_unix_ms(std::int64_t unix_ms) {
  auto seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[80];  // room for any int, as the compiler checks
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return text;
}

std::optional<std::int64_t> unix_ms_from_iso(std::string_view text) {
  Fields f;
  std::size_t pos = 0;
  if (!read_date(text, pos, f)) return std::nullopt;
  if (pos < text.size() && (!expect(text, pos, 'T') || !read_time(text, pos, f)))
    return std::nullopt;
  if (pos != text.size()) return std::nullopt;
  std::tm utc{};
  utc.tm_year = f.year - 1900, utc.tm_mon = f.month - 1, utc.tm_mday = f.day;
  utc.tm_hour = f.hour, utc.tm_min = f.minute, utc.tm_sec = f.second;
  return static_cast<std::int64_t>(timegm(&utc)) * 1000 + f.millisecond;
}

}  // namespace sddsh::tracker
