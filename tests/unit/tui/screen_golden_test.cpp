#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tui/screen.hpp"

namespace sddsh::tui {
namespace {

const std::string kScreens = SDDSH_SOURCE_DIR "/../shared/testdata/agent-screens/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// tmux's capture may end with more or fewer empty lines; the screen has exactly `rows`.
std::vector<std::string> normalized(std::vector<std::string> lines, std::size_t rows) {
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  lines.resize(std::max(lines.size(), rows));
  return lines;
}

class AgentScreenGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(AgentScreenGolden, MatchesTmuxCapture) {
  const std::string name = GetParam();
  Screen screen({.rows = 30, .cols = 100});
  screen.feed(read_file(kScreens + name + ".bytes"));
  const auto expected = normalized(split_lines(read_file(kScreens + name + ".screen.txt")), 30);
  const auto actual = normalized(screen.text_lines(), 30);
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t row = 0; row < expected.size(); ++row) {
    EXPECT_EQ(actual[row], expected[row]) << name << " row " << row;
  }
}

INSTANTIATE_TEST_SUITE_P(RealAgents, AgentScreenGolden,
                         ::testing::Values("codex-100x30", "copilot-100x30", "gemini-100x30"));

}  // namespace
}  // namespace sddsh::tui
