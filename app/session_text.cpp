#include "app/session_text.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace sddsh::app {

namespace {

std::string current_directory() {
  char path[4096];
  return ::getcwd(path, sizeof path) ? path : ".";
}

}  // namespace

int fail(const std::string& message) {
  std::fprintf(stderr, "sddsh: %s\n", message.c_str());
  return 1;
}

Result<recorder::Store> this_store() {
  return recorder::locate_store(current_directory());
}

std::string local_time(std::int64_t unix_ms, const char* format) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  std::strftime(text, sizeof text, format, &local);
  return text;
}

std::string format_duration(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh %02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm %02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

std::string stat_text(const std::optional<recorder::DiffStat>& stat) {
  if (!stat) return "";
  return std::to_string(stat->files) + (stat->files == 1 ? " file " : " files ") + "+" +
         std::to_string(stat->insertions) + " -" + std::to_string(stat->deletions);
}

std::string first_line(const std::string& text, std::size_t width) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > width) {
    std::size_t cut = width;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xc0) == 0x80) --cut;
    line = line.substr(0, cut) + "…";
  }
  return line;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace sddsh::app
