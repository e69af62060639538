#pragma once
// `sddsh import PATH`: a spec-kit tasks.md (or the spec dir holding it) into the tracker.
#include "app/cli.hpp"

namespace sddsh::app {

int run_import(const ImportCommand& command);

}  // namespace sddsh::app
