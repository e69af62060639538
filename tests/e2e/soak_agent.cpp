// An agent stand-in for the soak test: it prints random, valid terminal output — colours (16,
// 256, 24-bit), attributes, wide characters, line drawing, cursor moves, erases, scroll regions,
// inserted and deleted lines and characters, long wrapping lines, the alternate screen — in bursts,
// sized to the terminal it has at each burst, until told to stop. Every byte it prints also goes
// to a copy file, so that a test can replay the same bytes elsewhere (in plain tmux).
//
//   soak_agent --seed N --copy FILE --status FILE [--rate BYTES_PER_SECOND] [--final-bursts N]
//
// It runs until SIGUSR1; then it puts the terminal in a known state (primary screen, no scroll
// region, default attributes, cleared, cursor home), prints --final-bursts more bursts at the
// size it has then, writes "final OFFSET COLSxROWS BYTES" to the status file (OFFSET: where the
// final part starts in the copy file) and prints nothing more until SIGTERM. While it runs, the
// status file says "running PID COLSxROWS BYTES" after each burst. The same seed and the same
// size at each burst give the same bytes.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace {

volatile sig_atomic_t g_final = 0;
volatile sig_atomic_t g_stop = 0;

void on_usr1(int) { g_final = 1; }
void on_term(int) { g_stop = 1; }

struct Size {
  int cols = 80;
  int rows = 24;
};

Size terminal_size() {
  winsize ws{};
  if (::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) return {ws.ws_col, ws.ws_row};
  return {};
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : random_(seed) {}

  // One burst of about `budget` bytes for a terminal of `size`.
  std::string burst(Size size, std::size_t budget) {
    size_ = size;
    std::string out;
    while (out.size() < budget) action(out);
    return out;
  }

  // Back to a state that the bytes before cannot show through: primary screen, whole-screen
  // scroll region, default attributes and charset, autowrap on, cursor shown, cleared, home.
  std::string reset() {
    in_alternate_ = false;
    return "\x1b[?1049l\x1b[r\x1b[0m\x1b(B\x1b[?7h\x1b[4l\x1b[?6l\x1b[?25h\x1b[2J\x1b[H";
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool chance(int percent) { return pick(1, 100) <= percent; }

  void action(std::string& out) {
    const int roll = pick(0, 99);
    if (roll < 22) text_line(out);
    else if (roll < 36) coloured(out);
    else if (roll < 46) wide(out);
    else if (roll < 54) positioned(out);
    else if (roll < 60) erase(out);
    else if (roll < 66) scroll_region(out);
    else if (roll < 72) insert_delete(out);
    else if (roll < 76) alternate_screen(out);
    else if (roll < 84) long_line(out);
    else if (roll < 88) line_drawing(out);
    else if (roll < 92) overwrite(out);
    else if (roll < 95) tabs(out);
    else cursor_visibility(out);
  }

  void word(std::string& out) {
    static const char* const kWords[] = {"agent", "shell", "the", "diff", "turn", "cast", "écrire",
                                         "naïve", "größer", "señal", "λόγος", "ок", "→", "build",
                                         "ready", "task", "✓", "±0.5", "a", "test"};
    out += kWords[pick(0, static_cast<int>(std::size(kWords)) - 1)];
  }

  void words(std::string& out, int count) {
    for (int i = 0; i < count; ++i) {
      if (i) out += ' ';
      word(out);
    }
  }

  void text_line(std::string& out) {
    words(out, pick(1, 12));
    out += "\r\n";
  }

  std::string colour_sgr() {
    switch (pick(0, 5)) {
      case 0: return std::to_string(pick(30, 37));
      case 1: return std::to_string(pick(90, 97));
      case 2: return std::to_string(pick(40, 47));
      case 3: return "38;5;" + std::to_string(pick(0, 255));
      case 4: return "48;5;" + std::to_string(pick(0, 255));
      default:
        return std::string(chance(50) ? "38" : "48") + ";2;" + std::to_string(pick(0, 255)) + ";" +
               std::to_string(pick(0, 255)) + ";" + std::to_string(pick(0, 255));
    }
  }

  void coloured(std::string& out) {
    const int pieces = pick(1, 6);
    for (int i = 0; i < pieces; ++i) {
      static const char* const kAttributes[] = {"1", "3", "4", "7", "9", "22", "23", "24", "27"};
      std::string sgr = colour_sgr();
      if (chance(40)) sgr += std::string(";") + kAttributes[pick(0, 8)];
      out += "\x1b[" + sgr + "m";
      words(out, pick(1, 4));
      if (chance(50)) out += "\x1b[0m";
      out += ' ';
    }
    out += "\x1b[0m\r\n";
  }

  void wide(std::string& out) {
    const int count = pick(1, size_.cols);
    for (int i = 0; i < count; ++i) {
      if (chance(20)) out += static_cast<char>(pick('a', 'z'));
      else if (chance(10)) append_utf8(out, static_cast<char32_t>(pick(0xAC00, 0xD7A3)));  // Hangul
      else append_utf8(out, static_cast<char32_t>(pick(0x4E00, 0x9FA5)));                  // CJK
    }
    out += chance(70) ? "\r\n" : "";
  }

  void positioned(std::string& out) {
    out += "\x1b[" + std::to_string(pick(1, size_.rows)) + ";" + std::to_string(pick(1, size_.cols)) + "H";
    if (chance(30)) out += "\x1b[" + colour_sgr() + "m";
    words(out, pick(1, 3));
    out += "\x1b[0m";
  }

  void erase(std::string& out) {
    static const char* const kErases[] = {"\x1b[K", "\x1b[1K", "\x1b[2K", "\x1b[J", "\x1b[1J", "\x1b[2J"};
    if (chance(40)) out += "\x1b[" + colour_sgr() + "m";  // erases take the background colour
    out += kErases[pick(0, 5)];
    out += "\x1b[0m";
  }

  void scroll_region(std::string& out) {
    if (size_.rows < 4) return;
    const int top = pick(1, size_.rows - 2);
    const int bottom = pick(top + 1, size_.rows);
    out += "\x1b[" + std::to_string(top) + ";" + std::to_string(bottom) + "r";
    out += "\x1b[" + std::to_string(pick(top, bottom)) + ";1H";
    const int lines = pick(1, 2 * (bottom - top + 1));
    for (int i = 0; i < lines; ++i) {
      words(out, pick(1, 5));
      out += "\r\n";
    }
    if (chance(30)) out += "\x1b[" + std::to_string(pick(1, 3)) + (chance(50) ? "S" : "T");
    if (chance(30)) out += "\x1bM";  // reverse index
    out += "\x1b[r";
    out += "\x1b[" + std::to_string(size_.rows) + ";1H";
  }

  void insert_delete(std::string& out) {
    static const char* const kFinals[] = {"L", "M", "@", "P", "X"};
    out += "\x1b[" + std::to_string(pick(1, size_.rows)) + ";" + std::to_string(pick(1, size_.cols)) + "H";
    out += "\x1b[" + std::to_string(pick(1, 5)) + kFinals[pick(0, 4)];
    if (chance(50)) words(out, pick(1, 3));
  }

  void alternate_screen(std::string& out) {
    if (!in_alternate_) {
      out += "\x1b[?1049h";
      if (chance(70)) out += "\x1b[H\x1b[2J";
    } else {
      out += "\x1b[?1049l";
    }
    in_alternate_ = !in_alternate_;
  }

  void long_line(std::string& out) {
    const int length = pick(size_.cols / 2, size_.cols * 3);
    for (int i = 0; i < length; ++i) out += static_cast<char>(pick(33, 126));
    out += "\r\n";
  }

  void line_drawing(std::string& out) {
    static const char32_t kBox[] = {U'─', U'│', U'┌', U'┐', U'└', U'┘', U'├', U'┤', U'┬', U'┴', U'┼', U'═', U'║', U'█', U'░'};
    const int count = pick(1, size_.cols);
    for (int i = 0; i < count; ++i) append_utf8(out, kBox[pick(0, static_cast<int>(std::size(kBox)) - 1)]);
    if (chance(30)) {
      out += "\x1b(0";  // DEC special graphics
      for (int i = 0; i < pick(1, 20); ++i) out += "lqkxjmtuvwn"[pick(0, 10)];
      out += "\x1b(B";
    }
    out += "\r\n";
  }

  void overwrite(std::string& out) {
    words(out, pick(2, 6));
    out += chance(50) ? "\r" : std::string(static_cast<std::size_t>(pick(1, 5)), '\b');
    words(out, pick(1, 3));
    out += "\r\n";
  }

  void tabs(std::string& out) {
    for (int i = pick(1, 6); i > 0; --i) {
      out += '\t';
      word(out);
    }
    out += "\r\n";
  }

  void cursor_visibility(std::string& out) { out += chance(50) ? "\x1b[?25l" : "\x1b[?25h"; }

  std::mt19937_64 random_;
  Size size_;
  bool in_alternate_ = false;
};

class Output {
 public:
  explicit Output(const std::string& copy_path) : copy_(copy_path, std::ios::binary | std::ios::trunc) {}
  bool ok() const { return static_cast<bool>(copy_); }
  std::uint64_t bytes() const { return bytes_; }

  void write(const std::string& bytes) {
    copy_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(1, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) std::exit(3);  // the terminal is gone
      done += static_cast<std::size_t>(n);
    }
    bytes_ += bytes.size();
  }
  void flush() { copy_.flush(); }

 private:
  std::ofstream copy_;
  std::uint64_t bytes_ = 0;
};

// Replaced whole (rename), so that a reader never sees half of it.
void write_status(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  std::ofstream(temporary, std::ios::trunc) << text << "\n";
  std::rename(temporary.c_str(), path.c_str());
}

std::string size_text(Size size) { return std::to_string(size.cols) + "x" + std::to_string(size.rows); }

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;
  std::string copy_path, status_path;
  double rate = 200'000;
  int final_bursts = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--seed") seed = std::strtoull(value, nullptr, 10);
    else if (flag == "--copy") copy_path = value;
    else if (flag == "--status") status_path = value;
    else if (flag == "--rate") rate = std::strtod(value, nullptr);
    else if (flag == "--final-bursts") final_bursts = std::atoi(value);
  }
  if (copy_path.empty() || status_path.empty() || rate <= 0) {
    std::fprintf(stderr, "usage: soak_agent --seed N --copy FILE --status FILE [--rate B/S] [--final-bursts N]\n");
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = on_usr1;
  ::sigaction(SIGUSR1, &action, nullptr);
  action.sa_handler = on_term;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);

  Output output(copy_path);
  if (!output.ok()) return 2;
  Generator generator(seed);
  std::mt19937_64 pacing(seed ^ 0x9e3779b97f4a7c15ULL);
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  // Bursts of 0.5..16 KB; the pause after each keeps the average at `rate`.
  auto burst_budget = [&] { return std::uniform_int_distribution<std::size_t>(512, 16384)(pacing); };
  while (!g_final && !g_stop) {
    const Size size = terminal_size();
    output.write(generator.burst(size, burst_budget()));
    write_status(status_path, "running " + std::to_string(::getpid()) + " " + size_text(size) + " " + std::to_string(output.bytes()));
    const auto due = started + std::chrono::duration<double>(static_cast<double>(output.bytes()) / rate);
    if (due > Clock::now()) std::this_thread::sleep_until(due);  // pacing, not synchronisation
  }
  if (g_stop) return 0;
  const Size size = terminal_size();
  const std::uint64_t offset = output.bytes();
  output.write(generator.reset());
  for (int i = 0; i < final_bursts && !g_stop; ++i) output.write(generator.burst(size, burst_budget()));
  output.flush();
  write_status(status_path, "final " + std::to_string(offset) + " " + size_text(size) + " " +
                                std::to_string(output.bytes()));
  // Nothing more until told to end; the signal cannot slip in between the test and the wait.
  sigset_t ending, previous;
  sigemptyset(&ending);
  sigaddset(&ending, SIGTERM);
  sigaddset(&ending, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &ending, &previous);
  while (!g_stop) ::sigsuspend(&previous);
  return 0;
}
