// Replay round trip with a real agent: Claude Code (from npm, offline, its model scripted on
// loopback) runs two turns under sddsh in tmux; whenever its screen has settled, the test takes
// the live screen as tmux shows it, with the moment. Afterwards the bundle is replayed by the
// player (the engine of `sddsh replay`): at each of those moments, and at the very end, the
// replayed screen must be the live one, line for line.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "harness.hpp"
#include "model_server.hpp"
#include "replay/player.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kCols = 110;
constexpr int kRows = 35;  // with --no-panel the agent gets all but the status line

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What tmux shows of the agent's pane: every row but sddsh's status line, trailing blanks cut.
std::vector<std::string> agent_rows(const std::string& capture) {
  std::vector<std::string> rows = split_lines(capture);
  rows.resize(kRows - 1);
  for (auto& row : rows) row = trim_right(row);
  return rows;
}

std::vector<std::string> replayed_rows(sddsh::replay::Player& player) {
  std::vector<std::string> rows = player.screen().text_lines();
  rows.resize(kRows - 1);
  for (auto& row : rows) row = trim_right(row);
  return rows;
}

std::string numbered(const std::vector<std::string>& rows) {
  std::string text;
  for (std::size_t i = 0; i < rows.size(); ++i) text += std::to_string(i) + "|" + rows[i] + "\n";
  return text;
}

// A live screen and when it was seen (unix ms, in the middle of a quiet second).
struct Moment {
  std::int64_t unix_ms = 0;
  std::vector<std::string> rows;
};

class ReplayRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Tmux::available()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }

  // Waits until the screen shows `text` and then stays the same for a second; the moment is the
  // middle of that second, so that a replay a few milliseconds off either way shows the same.
  Moment settled(const std::string& text) {
    EXPECT_TRUE(tmux_.wait_for_screen("r", [&](auto& s) { return s.find(text) != std::string::npos; }, 60s))
        << tmux_.capture("r");
    std::string last = tmux_.capture("r");
    auto since = Clock::now();
    std::int64_t since_ms = unix_ms_now();
    const bool quiet = wait_until(
        [&] {
          const std::string now = tmux_.capture("r");
          if (now != last) {
            last = now;
            since = Clock::now();
            since_ms = unix_ms_now();
          }
          return Clock::now() - since >= 1s;
        },
        30s);
    EXPECT_TRUE(quiet) << "the screen never settled:\n" << last;
    return {since_ms + 500, agent_rows(last)};
  }

  Tmux tmux_;
};

TEST_F(ReplayRoundTrip, ClaudeCodeSessionReplaysAsItWasShown) {
  AgentSetup claude = claude_code_setup();
  if (!claude.installed()) GTEST_SKIP() << "claude is not installed: run scripts/install-agents";
  std::error_code ignored;
  const std::string work = claude.workdir;
  fs::remove_all(work, ignored);
  fs::create_directories(work);
  ScriptedModelServer model({{.text = "The first answer, in a few words.", .tool = std::nullopt},
                             {.text = "The second answer:\n\n- one\n- two\n- three", .tool = std::nullopt}});
  const std::string store = "/tmp/sddsh-replay-store-" + std::to_string(::getpid());
  fs::remove_all(store, ignored);
  const std::string wrapper = "ANTHROPIC_BASE_URL=" + model.base_url() + " SDDSH_STORE=" + store + " " +
                              shell_quote(sddsh_binary()) + " --no-panel --";
  tmux_.new_session("r", claude.command("replay", wrapper), kCols, kRows);

  std::vector<Moment> moments;
  moments.push_back(settled(claude.ready_marker));
  tmux_.send_literal("r", "say something short");
  moments.push_back(settled("say something short"));
  tmux_.send_keys("r", {"Enter"});
  moments.push_back(settled("The first answer, in a few words."));
  tmux_.send_literal("r", "now a list");
  moments.push_back(settled("now a list"));
  tmux_.send_keys("r", {"Enter"});
  moments.push_back(settled("- three"));

  // The agent ends without a word (Claude says goodbye on SIGHUP): its process group is killed,
  // so the recording's last frame is the one the user saw last.
  std::string bundle;
  for (const auto& entry : fs::directory_iterator(store + "/sessions")) bundle = entry.path();
  const int sddsh_pid = json::parse(read_file(bundle + "/session.json")).value("pid", 0);
  ASSERT_GT(sddsh_pid, 0);
  const auto children = run_piped({"pgrep", "-P", std::to_string(sddsh_pid)});
  ASSERT_FALSE(split_lines(children.out).empty()) << "the agent of sddsh " << sddsh_pid;
  for (const auto& child : split_lines(children.out)) run_piped({"kill", "-KILL", "--", "-" + child});
  ASSERT_TRUE(wait_until(
      [&] {
        const json session = json::parse(read_file(bundle + "/session.json"), nullptr, false);
        return session.is_object() && session.value("status", "") == "finished";
      },
      30s))
      << "the session did not finish";
  tmux_.run({"kill-session", "-t", "r"});
  const json session = json::parse(read_file(bundle + "/session.json"));
  const std::int64_t started = session["started_unix_ms"];
  ASSERT_EQ(session["turns"].size(), 2u) << session.dump(2);

  auto opened = sddsh::replay::Player::open(bundle);
  ASSERT_TRUE(opened) << opened.error().message;
  sddsh::replay::Player& player = **opened;
  EXPECT_TRUE(player.problems().empty()) << player.problems().front();
  EXPECT_EQ(player.screen().cols(), kCols);
  EXPECT_EQ(player.screen().rows(), kRows - 1);
  for (std::size_t i = 0; i < moments.size(); ++i) {
    const double at = static_cast<double>(moments[i].unix_ms - started) / 1000.0;
    player.seek(player.shown_time(at));
    EXPECT_EQ(numbered(replayed_rows(player)), numbered(moments[i].rows)) << "moment " << i << " at " << at << " s";
  }
  // The turn markers: each turn starts after its prompt was seen typed (moments 1 and 3) and
  // before its answer settled (2 and 4); `n` lands on it, and the screen there, just before the
  // agent took the prompt, is the typed one.
  player.seek(0);
  for (int turn = 0; turn < 2; ++turn) {
    const double start = session["turns"][turn]["start"];
    const double typed = static_cast<double>(moments[1 + 2 * turn].unix_ms - started) / 1000.0;
    const double answered = static_cast<double>(moments[2 + 2 * turn].unix_ms - started) / 1000.0;
    EXPECT_GT(start, typed) << "turn " << turn + 1;
    EXPECT_LT(start, answered) << "turn " << turn + 1;
    ASSERT_TRUE(player.seek_turn(1)) << "turn " << turn + 1;
    EXPECT_EQ(player.current_turn(), turn);
    EXPECT_NEAR(player.position(), player.shown_time(start), 0.001);
  }
  EXPECT_FALSE(player.seek_turn(1)) << "there is no third turn";
  // The end of the replay is the last screen the live session showed.
  player.seek(player.duration());
  EXPECT_TRUE(player.at_end());
  EXPECT_EQ(numbered(replayed_rows(player)), numbered(moments.back().rows));
  fs::remove_all(store, ignored);
}

}  // namespace
