#pragma once
#include <string>
#include <vector>

namespace sddsh::app {

// The whole program: parse, run, report. Returns the process exit code.
int run_sddsh(const std::vector<std::string>& args);

}  // namespace sddsh::app
