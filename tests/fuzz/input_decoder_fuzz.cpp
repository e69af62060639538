// libFuzzer target for the terminal input path: the bytes are cut into reads at points taken from
// the input itself, fed in Bytes or decode-keys mode, and the decoder's invariants are checked.
// Pastes then go through the PasteSanitizer as the TUI sends them on: what reaches the agent
// between the bracketed-paste markers never holds one (the paste cannot end its bracket early).
// Build: clang++ -std=c++20 -g -fsanitize=fuzzer,address,undefined -I. \
//          tests/fuzz/input_decoder_fuzz.cpp tui/input_decoder.cpp tui/paste.cpp

#include "tui/input_decoder.hpp"
#include "tui/paste.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sddsh::tui::InputDecoder;
using sddsh::tui::InputEvent;
using sddsh::tui::KeyEvent;

void check(bool condition) {
  if (!condition) std::abort();
}

// Text an event carries; all of it together can never exceed what was fed.
std::size_t text_size(const InputEvent& event) {
  if (event.kind == InputEvent::Kind::Key) return event.key.bytes.size();
  return event.bytes.size();
}

void check_event(const InputEvent& event) {
  switch (event.kind) {
    case InputEvent::Kind::Bytes:
    case InputEvent::Kind::PasteData:
      check(!event.bytes.empty());
      break;
    case InputEvent::Kind::Key:
      check(!event.key.bytes.empty());
      if (event.key.kind == KeyEvent::Kind::F) {
        check(event.key.f_number >= 1 && event.key.f_number <= 12);
      }
      break;
    case InputEvent::Kind::Mouse:
      check(event.mouse.row >= 0 && event.mouse.col >= 0);
      check(event.mouse.button >= -1 && event.mouse.button <= 2);
      break;
    default:
      check(event.bytes.empty());
      break;
  }
}

// The TUI's way with a paste: markers around the sanitized text.
class PasteCheck {
 public:
  void see(const InputEvent& event) {
    switch (event.kind) {
      case InputEvent::Kind::PasteStart:
        sent_.clear();
        break;
      case InputEvent::Kind::PasteData:
        sent_ += sanitizer_.filter(event.bytes);
        break;
      case InputEvent::Kind::PasteEnd:
        sent_ += sanitizer_.finish();
        check_bracket("\x1b[200~" + sent_ + "\x1b[201~");
        sent_.clear();
        break;
      default:
        break;
    }
  }

 private:
  static void check_bracket(const std::string& bracketed) {
    check(bracketed.find("\x1b[200~", 1) == std::string::npos);
    check(bracketed.find("\x1b[201~") == bracketed.size() - 6);
  }

  sddsh::tui::PasteSanitizer sanitizer_;
  std::string sent_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // The first byte chooses the mode and the prefix key, the second seeds the read sizes.
  const bool decode_keys = (data[0] & 1) != 0;
  const char prefix = static_cast<char>((data[0] >> 1) & 0x1f);
  unsigned split_state = data[1] | 1u;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  InputDecoder decoder(prefix == 0x1b ? '\x1d' : prefix);
  decoder.set_decode_keys(decode_keys);
  std::vector<InputEvent> events;
  std::size_t fed = 0;
  std::size_t emitted = 0;
  while (fed < input.size()) {
    split_state = split_state * 1103515245u + 12345u;  // cheap deterministic read sizes
    const std::size_t take = 1 + (split_state >> 16) % 97;
    const std::size_t before = events.size();
    decoder.feed(input.substr(fed, take), events);
    fed = std::min(input.size(), fed + take);
    for (std::size_t i = before; i < events.size(); ++i) {
      check_event(events[i]);
      emitted += text_size(events[i]);
    }
    check(emitted <= fed);
    if (decoder.has_pending()) check(fed > emitted);  // held bytes are bytes not yet emitted
    if (split_state & 0x100u) {  // sometimes the caller's timeout fires between reads
      const std::size_t flushed_from = events.size();
      decoder.flush_pending(events);
      for (std::size_t i = flushed_from; i < events.size(); ++i) {
        check_event(events[i]);
        emitted += text_size(events[i]);
      }
      check(!decoder.has_pending());
    }
  }
  decoder.flush_pending(events);
  check(!decoder.has_pending());
  std::size_t total = 0;
  PasteCheck paste;
  for (const InputEvent& event : events) {
    total += text_size(event);
    paste.see(event);
  }
  check(total <= input.size());
  return 0;
}
