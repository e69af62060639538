// libFuzzer target for asciicast files, both ways.
// Reading: any bytes as a cast file. Invariants: the good part the reader reports (valid_bytes)
// reads again as the same events with no problem.
// Writing: any bytes as a session (events cut at points taken from the input), encoded and read
// back. Invariant: every byte of output and input comes back exactly, and so do markers and
// resizes, in order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "recorder/cast_writer.hpp"

namespace {

using sddsh::recorder::CastEncoder;
using sddsh::recorder::CastEvent;

void check_reader(std::string_view text) {
  const auto file = sddsh::recorder::parse_cast(text);
  if (!file) return;
  if (!file->problem) {
    if (file->valid_bytes != text.size()) std::abort();
    return;
  }
  if (file->valid_bytes > text.size()) std::abort();
  const auto good_part = sddsh::recorder::parse_cast(text.substr(0, file->valid_bytes));
  if (!good_part || good_part->problem || good_part->events != file->events) std::abort();
}

struct Session {
  std::string cast;
  std::string output;
  std::string input;
  std::vector<CastEvent> others;  // markers and resizes
};

// The first byte of each step says what it is; the bytes after it are its data.
Session play_script(std::string_view script) {
  Session session;
  CastEncoder encoder;
  session.cast = CastEncoder::header_line({});
  double seconds = 0;
  std::size_t step = 1;
  while (!script.empty()) {
    const auto op = static_cast<unsigned char>(script[0]);
    script.remove_prefix(1);
    const std::string_view bytes = script.substr(0, step);
    script.remove_prefix(bytes.size());
    step = 1 + (step * 7 + bytes.size() + op) % 97;
    seconds += 0.001 * (op >> 4);
    switch (op & 3) {
      case 0:
      case 1:
        encoder.output(session.cast, seconds, bytes);
        session.output += bytes;
        break;
      case 2:
        encoder.input(session.cast, seconds, bytes);
        session.input += bytes;
        break;
      default:
        if (op & 4) {
          encoder.marker(session.cast, seconds, bytes);
          session.others.push_back({seconds, 'm', std::string(bytes)});
        } else {
          const int cols = static_cast<int>(bytes.size()) + 1;
          encoder.resize(session.cast, seconds, cols, op);
          session.others.push_back({seconds, 'r', std::to_string(cols) + "x" + std::to_string(op)});
        }
    }
  }
  encoder.finish(session.cast);
  return session;
}

void check_round_trip(std::string_view script) {
  const Session session = play_script(script);
  const auto file = sddsh::recorder::parse_cast(session.cast);
  if (!file || file->problem) std::abort();
  std::string output;
  std::string input;
  std::vector<CastEvent> others;
  for (const auto& event : file->events) {
    if (event.type == 'o') output += event.data;
    if (event.type == 'i') input += event.data;
    if (event.type == 'm' || event.type == 'r') others.push_back({0, event.type, event.data});
  }
  if (output != session.output || input != session.input) std::abort();
  if (others.size() != session.others.size()) std::abort();
  for (std::size_t i = 0; i < others.size(); ++i) {
    if (others[i].type != session.others[i].type || others[i].data != session.others[i].data) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_reader(input);
  check_round_trip(input);
  return 0;
}
