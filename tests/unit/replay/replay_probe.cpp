// A bench probe for replay's keyframes (not a test; run by hand).
//   replay_probe generate DIR [--minutes 60] [--megabytes 200] [--seed 1]
//       writes a bundle (session.json with ~40 turns + terminal.cast) whose output looks like a
//       coding agent's: an Ink-style status area redrawn many times a second, colours, wide
//       characters, build-log bursts, diffs, the alternate screen now and then, idle gaps.
//   replay_probe measure DIR [--seeks 200] [--seed 1]
//       prints one JSON line: first open (any cache deleted first), cached open, seek times,
//       cache size.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/cast_writer.hpp"
#include "recorder/session_record.hpp"
#include "replay/player.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Arguments {
  std::string command;
  std::string dir;
  double minutes = 60;
  double megabytes = 200;
  int seeks = 200;
  unsigned seed = 1;
};

bool parse_arguments(int argc, char** argv, Arguments& args) {
  if (argc < 3) return false;
  args.command = argv[1];
  args.dir = argv[2];
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--minutes") {
      args.minutes = std::atof(value);
    } else if (name == "--megabytes") {
      args.megabytes = std::atof(value);
    } else if (name == "--seeks") {
      args.seeks = std::atoi(value);
    } else if (name == "--seed") {
      args.seed = static_cast<unsigned>(std::atoi(value));
    } else {
      return false;
    }
  }
  return args.command == "generate" || args.command == "measure";
}

// ---- what an agent's terminal output looks like

const std::vector<std::string> kWords = {
    "the",    "parser", "returns", "a",       "result", "when",    "input",  "is",
    "empty",  "fix",    "module",  "test",    "build",  "passes",  "now",    "update",
    "config", "error",  "handle",  "request", "cache",  "invalid", "tokens", "stream",
    "変更",   "テスト", "完了",    "✅",       "🚀",      "données", "naïve",  "über"};
const std::vector<std::string> kSpinner = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};

class AgentOutput {
 public:
  explicit AgentOutput(unsigned seed) : random_(seed) {}

  int below(int n) { return static_cast<int>(random_() % static_cast<unsigned>(n)); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }
  double between(double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random_);
  }

  std::string words(int count) {
    std::string text;
    for (int i = 0; i < count; ++i) {
      if (i) text += ' ';
      text += kWords[static_cast<std::size_t>(below(static_cast<int>(kWords.size())))];
    }
    return text;
  }

  // Ink's way (Claude Code, Gemini CLI): the live area at the bottom is erased upwards, new
  // lines are written where it was, and it is drawn again below them.
  static std::string erase_frame(int lines) {
    std::string out;
    for (int i = 0; i < lines; ++i) out += "\x1b[2K\x1b[1A";
    return out + "\x1b[2K\x1b[G";
  }

  std::string status_frame(int tick, int cols) {
    std::string out;
    out += "\x1b[38;5;" + std::to_string(170 + tick % 6) + "m" + kSpinner[tick % 10] +
           "\x1b[39m \x1b[1mWorking…\x1b[22m \x1b[2m(" + std::to_string(tick / 10) + "s · ↑ " +
           std::to_string(tick * 37 % 9000) + " tokens · esc to interrupt)\x1b[22m\r\n";
    out += "\x1b[2m╭" + repeat("─", cols - 2) + "╮\x1b[22m\r\n";
    out += "\x1b[2m│\x1b[22m > " + std::string(static_cast<std::size_t>(cols - 5), ' ') +
           "\x1b[2m│\x1b[22m\r\n";
    out += "\x1b[2m╰" + repeat("─", cols - 2) + "╯\x1b[22m\r\n";
    out += "  \x1b[2m? for shortcuts\x1b[22m";
    return out;
  }
  static constexpr int kStatusLines = 4;  // line feeds in a status frame

  std::string build_log_line(int step, int total) {
    const int percent = step * 100 / std::max(total, 1);
    std::string line = "[" + pad(percent, 3) + "%] ";
    if (chance(0.03)) {
      line += "\x1b[1m" + file() + ":" + std::to_string(below(900) + 1) + ":" +
              std::to_string(below(80) + 1) + ": \x1b[35mwarning:\x1b[0m\x1b[1m unused variable '" +
              words(1) + "' [-Wunused-variable]\x1b[0m\r\n";
      line += "    int " + words(1) + " = compute(" + words(2) + ");\r\n       \x1b[32m^\x1b[0m";
    } else if (chance(0.3)) {
      line += "\x1b[32mBuilding CXX object " + file() + ".o\x1b[0m";
    } else {
      line += "Building CXX object src/CMakeFiles/lib.dir/" + file() + ".o";
    }
    if (chance(0.001)) line += " \xff\xfe (binary output)";  // not UTF-8: an "x" event
    return line + "\r\n";
  }

  std::string message(int cols) {
    std::string out = "\r\n\x1b[38;2;215;119;87m●\x1b[39m ";
    const int paragraphs = 1 + below(3);
    for (int p = 0; p < paragraphs; ++p) {
      int column = 2;
      for (int w = 0; w < 20 + below(60); ++w) {
        std::string word = chance(0.1) ? "\x1b[1m" + words(1) + "\x1b[22m" : words(1);
        if (chance(0.05)) word = "\x1b[38;5;75m`" + words(1) + "`\x1b[39m";
        if (column + 12 > cols) {
          out += "\r\n  ";
          column = 2;
        }
        out += word + " ";
        column += 10;
      }
      out += "\r\n\r\n";
    }
    return out;
  }

  std::string diff(int cols) {
    std::string out = "\r\n  \x1b[1mUpdate(" + file() + ")\x1b[22m\r\n";
    out += "  ⎿  Updated " + file() + " with " + std::to_string(below(30) + 1) + " additions\r\n";
    for (int i = 0; i < 8 + below(30); ++i) {
      const int kind = below(4);
      const std::string text = "      " + words(3 + below(6));
      const std::string number = pad(100 + i, 5) + " ";
      if (kind == 0) {
        out += "\x1b[48;2;61;1;0m" + number + "-" + text + "\x1b[K\x1b[0m\r\n";
      } else if (kind == 1) {
        out += "\x1b[48;2;2;40;0m" + number + "+" + text + "\x1b[K\x1b[0m\r\n";
      } else {
        out += "\x1b[2m" + number + "\x1b[22m " +
               text.substr(0, static_cast<std::size_t>(cols / 2)) + "\r\n";
      }
    }
    return out;
  }

  // A pager or editor on the alternate screen, updated a few times, then left.
  std::string alt_screen_visit(int rows, int cols, int updates) {
    std::string out = "\x1b[?1049h\x1b[H\x1b[2J";
    for (int u = 0; u < updates; ++u) {
      out += "\x1b[H";
      for (int row = 1; row <= rows; ++row) {
        out += "\x1b[" + std::to_string(row) + ";1H\x1b[K";
        out += row == rows ? "\x1b[7m" + words(3) + " (END)\x1b[27m"
                           : "\x1b[3" + std::to_string(1 + row % 6) + "m" + pad(row + u, 4) +
                                 "\x1b[39m " + words(1 + below(std::max(1, cols / 12)));
      }
    }
    return out + "\x1b[?1049l";
  }

 private:
  static std::string repeat(std::string_view piece, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out += piece;
    return out;
  }
  static std::string pad(int number, int width) {
    std::string text = std::to_string(number);
    return std::string(static_cast<std::size_t>(std::max(0, width - static_cast<int>(text.size()))),
                       ' ') +
           text;
  }
  std::string file() {
    return "src/" + kWords[static_cast<std::size_t>(below(6))] + "/" +
           kWords[static_cast<std::size_t>(below(10))] + "_" + std::to_string(below(50)) + ".cpp";
  }

  std::mt19937 random_;
};

// ---- the session: turns of typing, working and idling, written as a cast

class SessionWriter {
 public:
  SessionWriter(std::FILE* file, double seconds, double bytes, int turns)
      : file_(file), total_seconds_(seconds), total_bytes_(bytes), turns_(turns) {}

  void run(AgentOutput& agent, sddsh::recorder::SessionRecord& record) {
    cast_ = sddsh::recorder::CastEncoder::header_line(
        {120, 40, 1795256645, "xterm-256color", "/bin/bash", "generated agent session"});
    for (int turn = 0; turn < turns_; ++turn) {
      if (turn == turns_ / 4) resize(100, 30, agent);
      if (turn == turns_ * 3 / 4) resize(120, 40, agent);
      record.turns.push_back(play_turn(agent, turn));
    }
    encoder_.finish(cast_);
    flush();
    record.duration = now_;
    record.stats.output_bytes = output_bytes_;
  }

 private:
  sddsh::recorder::TurnRecord play_turn(AgentOutput& agent, int turn) {
    const double turn_end = total_seconds_ * (turn + 1) / turns_;
    const double bytes_end = total_bytes_ * (turn + 1) / turns_;
    sddsh::recorder::TurnRecord record;
    record.index = turn + 1;
    record.prompt = agent.words(4 + agent.below(8));
    type_prompt(agent, record.prompt);
    record.start = now_;
    encoder_.marker(cast_, now_, record.prompt);
    // Working for about half the turn's time, then idle until the next prompt.
    const double work_end = now_ + (turn_end - now_) * agent.between(0.3, 0.6);
    int tick = 0;
    while (now_ < work_end) {
      const double ticks_left = std::max(1.0, (work_end - now_) * 10);
      const double content =
          std::max(0.0, (bytes_end - static_cast<double>(output_bytes_)) / ticks_left);
      std::string out = AgentOutput::erase_frame(tick == 0 ? 0 : AgentOutput::kStatusLines);
      out += content_of_size(agent, static_cast<std::size_t>(content));
      out += agent.status_frame(tick++, cols_);
      emit(out, 0.0003);
      now_ = std::max(now_, record.start + tick * 0.1);
    }
    record.end = now_;
    // The idle pause: cut by the idle limit in replay.
    now_ = std::max(now_, turn_end - agent.between(0, 1));
    return record;
  }

  void type_prompt(AgentOutput& agent, const std::string& prompt) {
    for (const char c : prompt) {
      now_ += agent.between(0.04, 0.15);
      encoder_.input(cast_, now_, std::string_view(&c, 1));
      emit(std::string(1, c), 0.001);
    }
    now_ += 0.2;
    encoder_.input(cast_, now_, "\r");
  }

  std::string content_of_size(AgentOutput& agent, std::size_t bytes) {
    std::string out;
    while (out.size() < bytes) {
      const int pick = agent.below(100);
      if (pick < 70) {
        for (int i = 0; i < 40; ++i) out += agent.build_log_line(step_++, 5000);
      } else if (pick < 85) {
        out += agent.message(cols_);
      } else if (pick < 99) {
        out += agent.diff(cols_);
      } else {
        out += agent.alt_screen_visit(rows_, cols_, 3);
      }
    }
    return out;
  }

  void resize(int cols, int rows, AgentOutput& agent) {
    cols_ = cols;
    rows_ = rows;
    now_ += 0.5;
    encoder_.resize(cast_, now_, cols, rows);
    emit("\x1b[2J\x1b[H" + agent.message(cols), 0.001);
  }

  // As the PTY hands it over: reads of up to 4 KiB, a fraction of a millisecond apart.
  void emit(std::string_view bytes, double spacing) {
    while (!bytes.empty()) {
      const std::size_t take = std::min<std::size_t>(bytes.size(), 4096);
      encoder_.output(cast_, now_, bytes.substr(0, take));
      output_bytes_ += take;
      bytes.remove_prefix(take);
      now_ += spacing;
    }
    if (cast_.size() > (std::size_t{8} << 20)) flush();
  }

  void flush() {
    std::fwrite(cast_.data(), 1, cast_.size(), file_);
    cast_.clear();
  }

  std::FILE* file_;
  double total_seconds_;
  double total_bytes_;
  int turns_;
  int cols_ = 120;
  int rows_ = 40;
  int step_ = 0;
  double now_ = 0;
  std::uint64_t output_bytes_ = 0;
  sddsh::recorder::CastEncoder encoder_;
  std::string cast_;
};

int generate(const Arguments& args) {
  std::filesystem::create_directories(args.dir);
  const std::string cast_path = args.dir + "/terminal.cast";
  std::FILE* file = std::fopen(cast_path.c_str(), "wb");
  if (file == nullptr) {
    std::perror(cast_path.c_str());
    return 1;
  }
  sddsh::recorder::SessionRecord record;
  record.id = "00000000-0000-4000-8000-000000000001";
  record.agent = "claude";
  record.argv = {"claude"};
  record.status = sddsh::recorder::SessionRecord::Status::Finished;
  record.cols = 120;
  record.rows = 40;
  AgentOutput agent(args.seed);
  SessionWriter writer(file, args.minutes * 60, args.megabytes * 1e6, 40);
  writer.run(agent, record);
  std::fclose(file);
  const auto written =
      sddsh::recorder::write_file_atomically(args.dir + "/session.json", to_json_text(record));
  if (!written) {
    std::fprintf(stderr, "%s\n", written.error().message.c_str());
    return 1;
  }
  std::printf("{\"cast_bytes\":%llu,\"output_bytes\":%llu,\"seconds\":%.1f,\"turns\":%zu}\n",
              static_cast<unsigned long long>(std::filesystem::file_size(cast_path)),
              static_cast<unsigned long long>(record.stats.output_bytes), record.duration,
              record.turns.size());
  return 0;
}

// ---- measuring

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(at, values.size() - 1)];
}

int measure(const Arguments& args) {
  using sddsh::replay::Player;
  std::filesystem::remove(args.dir + "/replay/keyframes");
  auto start = Clock::now();
  auto first = Player::open(args.dir);
  const double open_first = seconds_since(start);
  if (!first) {
    std::fprintf(stderr, "%s\n", first.error().message.c_str());
    return 1;
  }
  first->reset();
  start = Clock::now();
  auto player = Player::open(args.dir);
  const double open_cached = seconds_since(start);
  if (!player) return 1;
  if (!(*player)->keyframe_info().from_cache) std::fprintf(stderr, "warning: cache not used\n");
  std::mt19937 random(args.seed);
  std::uniform_real_distribution<double> anywhere(0, (*player)->duration());
  std::vector<double> seek_ms;
  for (int i = 0; i < args.seeks; ++i) {
    const double target = anywhere(random);
    start = Clock::now();
    (*player)->seek(target);
    seek_ms.push_back(seconds_since(start) * 1000);
  }
  std::printf(
      "{\"open_first_s\":%.3f, \"open_cached_s\":%.4f, \"seek_p50_ms\":%.2f, "
      "\"seek_p99_ms\":%.2f, \"seek_max_ms\":%.2f, \"cache_bytes\":%llu}\n",
      open_first, open_cached, percentile(seek_ms, 0.5), percentile(seek_ms, 0.99),
      percentile(seek_ms, 1.0),
      static_cast<unsigned long long>((*player)->keyframe_info().cache_bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  if (!parse_arguments(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: replay_probe generate DIR [--minutes 60] [--megabytes 200] [--seed N]\n"
                 "       replay_probe measure DIR [--seeks 200] [--seed N]\n");
    return 2;
  }
  return args.command == "generate" ? generate(args) : measure(args);
}
