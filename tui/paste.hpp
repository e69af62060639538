#pragma once
// Pasted text goes to the agent inside bracketed-paste markers. The text itself must not carry
// a marker, or a crafted paste could end the bracket early and have what follows run as typed
// input. Pastes arrive in chunks, so a marker can also be split across them.
#include <string>
#include <string_view>

namespace sddsh::tui {

class PasteSanitizer {
 public:
  // The safe part of `chunk`; a possible start of a marker at its end is held for the next one.
  std::string filter(std::string_view chunk);
  // At the paste's end: what was held (it did not become a marker).
  std::string finish();

 private:
  std::string held_;
};

// A whole text as one bracketed paste (for text sddsh pastes itself, such as a task's brief).
std::string bracketed_paste(std::string_view text);

}  // namespace sddsh::tui
