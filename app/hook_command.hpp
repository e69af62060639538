#pragma once
// `sddsh hook`: what the hooks sddsh gives an agent run. It must never disturb the agent: it
// prints nothing (Claude Code adds a UserPromptSubmit hook's output to the prompt), always
// exits 0, and gives up quickly when no sddsh listens.
namespace sddsh::app {

int run_hook();

}  // namespace sddsh::app
