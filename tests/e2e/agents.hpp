#pragma once
// The real agent CLIs (installed by scripts/install-agents), each set up to start offline into
// its first interactive screen: a fresh HOME with the config that skips login, onboarding,
// trust dialogs, update checks and telemetry, and a fixed working directory so that two runs
// show the same path. The facts behind each setup are in docs/testing-agents.md.
#include <ostream>
#include <string>
#include <vector>

namespace sddsh::e2e {

struct AgentSetup {
  std::string name;
  std::string binary;                // empty when the agent is not installed
  std::string workdir;               // shared by the runs that are compared
  std::vector<std::string> args;     // after the binary
  std::string ready_marker;          // text of the complete first screen
  std::string second_marker;         // also required (Gemini draws its screen in two frames)

  bool installed() const { return !binary.empty(); }
  // The screen shows the agent's complete first screen.
  bool shows_ready(const std::string& screen) const {
    return screen.find(ready_marker) != std::string::npos &&
           (second_marker.empty() || screen.find(second_marker) != std::string::npos);
  }
  // A shell command line that starts the agent in `workdir` with a clean environment and a
  // HOME of its own (`home_tag` keeps two runs apart). `wrapper` goes before the binary.
  std::string command(const std::string& home_tag, const std::string& wrapper = "") const;
};

// gtest prints the parameter of a test by this; the name is all that matters.
inline void PrintTo(const AgentSetup& a, std::ostream* os) { *os << a.name; }

AgentSetup claude_code_setup();
AgentSetup codex_setup();
AgentSetup gemini_setup();
AgentSetup copilot_setup();
std::vector<AgentSetup> all_agent_setups();

}  // namespace sddsh::e2e
