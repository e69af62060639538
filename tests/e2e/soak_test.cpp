// Soak: random valid terminal output (soak_agent: colours, wide characters, line drawing, scroll
// regions, the alternate screen, ...) through sddsh's TUI in tmux for SDDSH_SOAK_SECONDS
// (default 60), the window resized now and then. Asserted: sddsh never dies, its resident memory
// stays flat once warm (the scrollback is full), the recording has every byte, and its final
// screen is what plain tmux shows for the same bytes.
//
// The ten-minute run (Release):
//   SDDSH_SOAK_SECONDS=600 ctest --test-dir build/release -L soak --output-on-failure
// SDDSH_SOAK_SEED=N repeats a run's output (the resize moments follow the clock).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace sddsh::e2e;
using sddsh::test_support::TempDir;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's quarantine and shadow memory make RSS meaningless
#else
constexpr bool kSanitized = false;
#endif

constexpr int kCols = 100;  // the final window: the pane is 100x30 (--no-panel: all but the status line)
constexpr int kRows = 31;
constexpr int kPaneRows = kRows - 1;
constexpr int kMinCols = 40, kMaxCols = 160, kMinRows = 10, kMaxRows = 50;  // the window's sizes
constexpr long kScrollbackLines = 10000;  // tui::ScreenOptions::scrollback_limit
constexpr long kCellBytes = 16;           // sizeof(tui::Cell)

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

int soak_seconds() {
  const char* text = std::getenv("SDDSH_SOAK_SECONDS");
  const int seconds = text ? std::atoi(text) : 60;
  return std::max(seconds, 20);
}

std::uint64_t soak_seed() {
  if (const char* text = std::getenv("SDDSH_SOAK_SEED")) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

// VmRSS of `pid` in KiB, or -1 once it is gone.
long resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// The generator's status file: "running PID COLSxROWS BYTES" or "final OFFSET COLSxROWS BYTES".
struct AgentStatus {
  std::string phase;
  long long first = 0;  // the pid, or the offset of the final part
  std::string size;
  long long bytes = 0;
};

AgentStatus agent_status(const std::string& path) {
  AgentStatus status;
  std::istringstream(read_file(path)) >> status.phase >> status.first >> status.size >> status.bytes;
  return status;
}

// capture-pane -e ends a line with a colour reset when trailing blanks were once written as
// spaces, not when they were erased: the blanks look the same, so those resets go.
std::string without_trailing_sgr(const std::string& capture) {
  std::string out;
  for (std::string line : split_lines(capture)) {
    for (;;) {
      auto esc = line.rfind("\x1b[");
      if (esc == std::string::npos || line.back() != 'm' ||
          line.find_first_not_of("0123456789;", esc + 2) != line.size() - 1)
        break;
      line.erase(esc);
    }
    out += line + "\n";
  }
  return out;
}

struct Sample {
  double at = 0;  // seconds since the start
  long kib = 0;
};

long max_kib(const std::vector<Sample>& samples, double from, double to) {
  long most = 0;
  for (const auto& s : samples)
    if (s.at >= from && s.at <= to) most = std::max(most, s.kib);
  return most;
}

long kib_near(const std::vector<Sample>& samples, double at) {
  const Sample* best = &samples.front();
  for (const auto& s : samples)
    if (std::abs(s.at - at) < std::abs(best->at - at)) best = &s;
  return best->kib;
}

}  // namespace

TEST(Soak, RandomOutputThroughTheTuiKeepsMemoryFlatAndEndsAsTmuxDoes) {
  if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  const int seconds = soak_seconds();
  const std::uint64_t seed = soak_seed();
  std::cout << "[   SEED   ] " << seed << " (SDDSH_SOAK_SEED=" << seed << "), " << seconds << " s" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  TempDir place("sddsh-soak");
  const std::string copy = place / "bytes";
  const std::string status_file = place / "status";
  Tmux tmux;
  tmux.new_session("s",
                   "exec env TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 " + shell_quote(sddsh_binary()) +
                       " --no-panel -- " + shell_quote(SOAK_AGENT_BINARY) + " --seed " + std::to_string(seed) +
                       " --copy " + shell_quote(copy) + " --status " + shell_quote(status_file),
                   kCols, kRows);
  const pid_t sddsh = static_cast<pid_t>(std::atoi(tmux.run({"display-message", "-p", "-t", "s", "#{pane_pid}"}).c_str()));
  ASSERT_TRUE(wait_until([&] { return agent_status(status_file).phase == "running"; }, 20s))
      << "the generator never printed:\n" << tmux.capture("s");
  ASSERT_EQ(read_file("/proc/" + std::to_string(sddsh) + "/comm"), "sddsh\n");
  const pid_t agent = static_cast<pid_t>(agent_status(status_file).first);

  // The warm-up fills the scrollback at the largest size, then rewraps it to the narrowest and
  // back, then to one column less: the scrollback's peak (the biggest lines, and the old and new
  // copies of a rewrap, both nearly the widest) is reached before the memory is watched. Without
  // that last rewrap the peak came with the first random size near the widest, at a random
  // moment of the watched time. Then random sizes between those.
  std::mt19937_64 random(seed);
  const auto started = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
  const double warm = std::min(60.0, seconds / 3.0);
  struct Resize {
    double at;
    int cols, rows;
  };
  std::vector<Resize> warm_up{{1, kMaxCols, kMaxRows},
                              {warm * 0.5, kMinCols, kMinRows},
                              {warm * 0.7, kMaxCols, kMaxRows},
                              {warm * 0.85, kMaxCols - 1, kMaxRows}};
  std::vector<Sample> samples;
  std::vector<std::string> sizes;
  double next_resize = warm;
  while (elapsed() < seconds) {
    const long kib = resident_kib(sddsh);
    ASSERT_GT(kib, 0) << "sddsh died after " << elapsed() << " s:\n" << tmux.capture("s");
    if (samples.empty() || static_cast<int>(elapsed()) / 30 != static_cast<int>(samples.back().at) / 30)
      std::cout << static_cast<int>(elapsed()) << " s: RSS " << kib << " KiB, " << agent_status(status_file).bytes
                << " bytes printed" << std::endl;
    samples.push_back({elapsed(), kib});
    if (!warm_up.empty() && elapsed() >= warm_up.front().at) {
      tmux.resize_window("s", warm_up.front().cols, warm_up.front().rows);
      sizes.push_back(std::to_string(warm_up.front().cols) + "x" + std::to_string(warm_up.front().rows));
      warm_up.erase(warm_up.begin());
    } else if (elapsed() >= next_resize) {
      const int cols = std::uniform_int_distribution<int>(kMinCols, kMaxCols)(random);
      const int rows = std::uniform_int_distribution<int>(kMinRows, kMaxRows)(random);
      tmux.resize_window("s", cols, rows);
      sizes.push_back(std::to_string(cols) + "x" + std::to_string(rows));
      next_resize = elapsed() + std::uniform_real_distribution<double>(3, 10)(random);
    }
    // The sampling interval; it ends early only if sddsh dies.
    wait_until([&] { return resident_kib(sddsh) < 0; }, 2s);
  }

  // The end: the final size, then the generator's last part, printed at that size.
  tmux.resize_window("s", kCols, kRows);
  const std::string pane_size = std::to_string(kCols) + "x" + std::to_string(kPaneRows);
  ASSERT_TRUE(wait_until([&] { return agent_status(status_file).size == pane_size; }, 20s))
      << "the agent's terminal never became " << pane_size << ": " << read_file(status_file);
  ASSERT_EQ(::kill(agent, SIGUSR1), 0);
  AgentStatus final_status;
  ASSERT_TRUE(wait_until([&] { return (final_status = agent_status(status_file)).phase == "final"; }, 60s))
      << read_file(status_file);
  ASSERT_EQ(final_status.size, pane_size) << "the final part was printed at another size";
  samples.push_back({elapsed(), resident_kib(sddsh)});

  // Plain tmux, a pane of the agent's size, the same bytes from the reset on.
  tmux.new_session("r", "tail -c +" + std::to_string(final_status.first + 1) + " " + shell_quote(copy) +
                             "; exec sleep 100000",
                   kCols, kPaneRows);
  const std::vector<std::string> sddsh_pane{"capture-pane", "-p", "-t", "s", "-S", "0", "-E", std::to_string(kPaneRows - 1)};
  std::vector<std::string> sddsh_pane_colours = sddsh_pane;
  sddsh_pane_colours.push_back("-e");
  std::string through, direct;
  const bool same_text = wait_until([&] {
    through = tmux.run(sddsh_pane);
    direct = tmux.run({"capture-pane", "-p", "-t", "r"});
    return through == direct;
  }, 30s);
  EXPECT_TRUE(same_text) << "--- plain tmux:\n" << direct << "--- through sddsh:\n" << through;
  const bool same_colours = wait_until([&] {
    through = without_trailing_sgr(tmux.run(sddsh_pane_colours));
    direct = without_trailing_sgr(tmux.run({"capture-pane", "-p", "-e", "-t", "r"}));
    return through == direct;
  }, 10s);
  EXPECT_TRUE(same_colours) << "--- plain tmux:\n" << direct << "--- through sddsh:\n" << through;

  // Memory. RSS is a high-water mark (freed heap stays with the process), and it steps up when
  // a rewrap of a full scrollback needs more room than any before; a leak grows with the bytes
  // printed instead. So: after the warm-up (a third of the run, at most a minute) the peak of
  // the second half may pass the peak of the first half by at most 10% + 2 MiB, and no peak may
  // pass what the scrollback can take: its lines at the widest size, twice (a rewrap holds the
  // old and the new copy), over the memory at the start.
  const double middle = warm + (seconds - warm) / 2;
  constexpr long kScrollbackCeilingKib = 2L * kScrollbackLines * kMaxCols * kCellBytes / 1024;
  const long early = max_kib(samples, warm, middle);
  const long late = max_kib(samples, middle, 1e9);
  const long peak = max_kib(samples, 0, 1e9);
  std::ostringstream figures;
  figures << "RSS KiB: start " << samples.front().kib << ", at " << warm << " s " << kib_near(samples, warm)
          << ", at 60 s " << kib_near(samples, 60) << ", end " << samples.back().kib << ", peak " << peak
          << "; peak " << early << " in ["
          << warm << " s, " << middle << " s], " << late << " after; " << final_status.bytes << " bytes printed, "
          << sizes.size() << " resizes; screens " << (same_text && same_colours ? "equal" : "DIFFER");
  std::cout << figures.str() << std::endl;
  RecordProperty("figures", figures.str());
  if (kSanitized) {
    std::cout << "(sanitized build: RSS reported, not asserted)" << std::endl;
  } else {
    EXPECT_LE(late, early + early / 10 + 2048) << "resident memory grows after the warm-up";
    EXPECT_LE(peak, samples.front().kib + kScrollbackCeilingKib) << "more memory than the scrollback can take";
  }

  // The agent ends; so does sddsh, and its recording holds every byte the agent printed.
  ASSERT_EQ(::kill(agent, SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return resident_kib(sddsh) < 0; }, 30s)) << "sddsh did not end with its agent";
  auto shown = run_piped({sddsh_binary(), "show", "--json", "last"});
  ASSERT_EQ(exit_code(shown.status), 0) << shown.err;
  const auto session = nlohmann::json::parse(shown.out, nullptr, false);
  EXPECT_EQ(session.value("status", ""), "finished") << shown.out.substr(0, 2000);
  // The agent's terminal turns each \n into \r\n (ONLCR) on its way to sddsh.
  long long newlines = 0;
  {
    std::ifstream in(copy, std::ios::binary);
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0)
      newlines += std::count(buffer, buffer + in.gcount(), '\n');
  }
  EXPECT_EQ(session["stats"].value("output_bytes", 0LL), final_status.bytes + newlines) << "the recording lost output";
  EXPECT_EQ(session["stats"].value("dropped_bytes", -1LL), 0);
}
