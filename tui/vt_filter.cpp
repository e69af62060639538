#include "tui/vt_filter.hpp"

#include <algorithm>

#include <utility>

#include <charconv>
#include <cstdio>

namespace sddsh::tui {
namespace {

constexpr char kEsc = '\x1b';
constexpr char kBel = '\x07';
constexpr char kCan = '\x18';
constexpr char kSub = '\x1a';
constexpr char kShiftOut = '\x0e';  // SO: G1 into GL
constexpr char kShiftIn = '\x0f';   // SI: G0 into GL

bool is_final(char c) { return c >= 0x40 && c <= 0x7e; }
bool is_intermediate(char c) { return c >= 0x20 && c <= 0x2f; }
bool is_leader(char c) { return c >= 0x3c && c <= 0x3f; }
bool is_c0(char c) { return static_cast<unsigned char>(c) < 0x20; }
bool aborts_sequence(char c) { return c == kCan || c == kSub; }
bool ends_escape(char c) { return c >= 0x30 && c <= 0x7e; }


// The OSC heads we answer ourselves; anything that cannot become one is passed straight on.
constexpr std::string_view kFgQuery = "10;?";
constexpr std::string_view kBgQuery = "11;?";

// "1049" -> 1049; empty, oversized or non-numeric -> nullopt-like -1.
long parse_mode(std::string_view digits) {
  long value = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return -1;
  return value;
}

// libvterm's value of a CSI parameter: its leading digits (a ':' sub-parameter follows them);
// -1 when there are none, -2 when there are too many to read the way libvterm does.
long leading_number(std::string_view param) {
  std::size_t digits = 0;
  while (digits < param.size() && param[digits] >= '0' && param[digits] <= '9') ++digits;
  if (digits == 0) return -1;
  if (digits > 9) return -2;
  return parse_mode(param.substr(0, digits));
}

// The first parameter, as libvterm reads it for SM/RM.
long first_number(std::string_view params) {
  return leading_number(params.substr(0, params.find(';')));
}

// libvterm's first two CSI arguments, read as 0.1.4 reads them: ';' and ':' both end an argument,
// digits pile up in a long (wrapping), and the value is masked to 31 bits, where all ones means
// "missing" (VtEvent::kMissing).
std::array<long, 2> libvterm_args(std::string_view params) {
  constexpr std::uint64_t kMissingArg = 0x7FFFFFFF;
  std::array<std::uint64_t, 2> raw{kMissingArg, kMissingArg};
  std::size_t index = 0;
  for (char c : params) {
    if (c == ';' || c == ':') {
      if (++index == raw.size()) break;
    } else if (c >= '0' && c <= '9') {
      std::uint64_t& arg = raw[index];
      if (arg == kMissingArg) arg = 0;
      arg = arg * 10 + static_cast<std::uint64_t>(c - '0');
    }
  }
  std::array<long, 2> args{};
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::uint64_t masked = raw[i] & kMissingArg;
    args[i] = masked == kMissingArg ? VtEvent::kMissing : static_cast<long>(masked);
  }
  return args;
}

std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF8) return 4;
  if (lead < 0xFC) return 5;
  return 6;
}

bool is_utf8_continuation(unsigned char c) { return c >= 0x80 && c < 0xC0; }
bool is_utf8_lead(unsigned char c) { return c >= 0xC0 && c < 0xFE; }

// How many bytes at the end of `text` are a UTF-8 character still waiting for its last bytes,
// by the rules of libvterm's decoder (which also takes 5- and 6-byte forms).
std::size_t unfinished_utf8_length(std::string_view text) {
  const std::size_t limit = std::min(text.size(), VtFilter::kMaxUtf8Tail);
  for (std::size_t n = 1; n <= limit; ++n) {
    const auto c = static_cast<unsigned char>(text[text.size() - n]);
    if (is_utf8_continuation(c)) continue;
    if (is_utf8_lead(c) && n < utf8_sequence_length(c)) return n;
    return 0;
  }
  return 0;
}

bool is_unfinished_utf8(std::string_view tail) {
  return !tail.empty() && tail.size() <= VtFilter::kMaxUtf8Tail &&
         is_utf8_lead(static_cast<unsigned char>(tail[0])) &&
         unfinished_utf8_length(tail) == tail.size();
}

// U+0080..U+009F, the C1 controls, as UTF-8: 0xC2 and then 0x80..0x9F, maybe with C0 controls
// (or DEL) in between, as libvterm's decoder keeps a character across them. 0.1.4 draws such a
// character as a glyph of width -1: the cursor steps back, past column 0, and in insert mode the
// line shifts left of it (a read before the row's cells, found by screen_fuzz). Each becomes
// U+FFFD, which also leaves the decoder where the C1 left it.
bool is_c1_continuation(char c) {
  return static_cast<unsigned char>(c) >= 0x80 && static_cast<unsigned char>(c) < 0xa0;
}

std::string c1_replaced(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";
  std::string out;
  out.reserve(text.size() + kReplacement.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t next = i + 1;
    if (text[i] == '\xc2') {
      while (next < text.size() && (is_c0(text[next]) || text[next] == '\x7f')) ++next;
    }
    if (text[i] == '\xc2' && next < text.size() && is_c1_continuation(text[next])) {
      out += text.substr(i + 1, next - i - 1);  // the controls, obeyed as ever
      out += kReplacement;
      i = next + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

bool draws_something(std::string_view text) {
  return std::ranges::any_of(
      text, [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != '\x7f'; });
}

// A CSI split as libvterm reads it: body is what follows "ESC [", final byte included.
struct CsiParts {
  char leader = 0;
  std::string_view params;
  std::string_view intermediates;
  char final = 0;
};

CsiParts split_csi(std::string_view body) {
  CsiParts parts;
  parts.final = body.back();
  body.remove_suffix(1);
  if (!body.empty() && is_leader(body.front())) {
    parts.leader = body.front();
    body.remove_prefix(1);
  }
  std::size_t params_end = body.size();
  while (params_end > 0 && is_intermediate(body[params_end - 1])) --params_end;
  parts.params = body.substr(0, params_end);
  parts.intermediates = body.substr(params_end);
  return parts;
}

// CSI finals (no leader, no intermediates) after which 0.1.4 drops a pending wrap even when the
// cursor cannot move (CUF at the right edge, CUP to where it is): CUU CUD CUF CUB CNL CPL CHA
// CUP HPA HPR VPA VPR HVP. Any other sequence drops it only by moving the cursor.
bool cancels_wrap(char final) {
  return std::string_view("ABCDEFGH`adef").find(final) != std::string_view::npos;
}

}  // namespace

void VtFilter::feed(std::string_view bytes, VtFilterSink& sink) {
  static constexpr std::string_view kStringStops("\x1b\x07\x18\x1a", 4);
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    // Plain text and string bodies go in spans; only sequence heads go byte by byte.
    if (state_ == State::Ground) {
      pos = pass_text(bytes, pos, sink);
    } else if (state_ == State::String || state_ == State::StringDiscard) {
      std::size_t stop = bytes.find_first_of(kStringStops, pos);
      if (stop == std::string_view::npos) stop = bytes.size();
      if (state_ == State::String) collect_string(bytes.substr(pos, stop - pos));
      pos = stop;
    }
    if (pos < bytes.size()) feed_byte(bytes[pos++], sink);
  }
}

// Up to the next ESC, or SI/SO, which change what libvterm draws text with (see TextSafety).
// A UTF-8 character cut by the end of the input waits for the next feed, so that libvterm gets
// it in one chunk (see utf8_tail_); before anything but text it goes on as it is.
std::size_t VtFilter::pass_text(std::string_view bytes, std::size_t pos, VtFilterSink& sink) {
  std::size_t stop = pos;
  while (stop < bytes.size() && bytes[stop] != kEsc && bytes[stop] != kShiftOut &&
         bytes[stop] != kShiftIn) {
    ++stop;
  }
  const bool at_end = stop == bytes.size();
  const std::string_view span = bytes.substr(pos, stop - pos);
  if (utf8_tail_.empty()) {
    const std::size_t keep = at_end ? unfinished_utf8_length(span) : 0;
    send_text(span.substr(0, span.size() - keep), sink);
    utf8_tail_.assign(span.substr(span.size() - keep));
  } else {
    std::string joined = std::exchange(utf8_tail_, {});
    joined += span;
    const std::size_t keep = at_end ? unfinished_utf8_length(joined) : 0;
    send_text(std::string_view(joined).substr(0, joined.size() - keep), sink);
    utf8_tail_.assign(joined, joined.size() - keep);
  }
  return stop;
}

void VtFilter::send_text(std::string_view span, VtFilterSink& sink) {
  std::string replaced;
  if (span.find('\xc2') != std::string_view::npos) {
    replaced = c1_replaced(span);
    span = replaced;
  }
  if (span.empty()) return;
  if (!text_seen_ || hidden_.single_shift != 0) {
    if (draws_something(span)) {
      text_seen_ = true;
      hidden_.single_shift = 0;  // it shifted the first character of this chunk
    }
  }
  sink.text(span);
}

void VtFilter::collect_string(std::string_view bytes) {
  // libvterm may obey an SO inside a string; an SI there is not trusted to undo one.
  if (bytes.find(kShiftOut) != std::string_view::npos) text_.gl = 1;
  // (0.1.4 does obey both, in order.)
  const std::size_t last_shift = bytes.find_last_of("\x0e\x0f");
  if (last_shift != std::string_view::npos) hidden_.gl = bytes[last_shift] == kShiftOut ? 1 : 0;
  if (held_.size() + bytes.size() > kMaxString) {
    held_.clear();
    state_ = State::StringDiscard;
    return;
  }
  held_ += bytes;
}

void VtFilter::feed_byte(char c, VtFilterSink& sink) {
  switch (state_) {
    case State::Ground:
      if (c == kEsc) {
        start_escape();
      } else {
        track_control(c);
        sink.forward(std::string_view(&c, 1));
      }
      break;
    case State::Escape:
    case State::EscapeIntermediate: on_escape(c, sink); break;
    case State::Csi: on_csi(c, sink); break;
    case State::CsiPassthrough:
      if (c == kEsc) {
        // libvterm drops the CSI it is in on an ESC too; a CAN makes sure it has, even if the
        // filter drops the sequence this ESC starts (see abandon_held).
        sink.forward(std::string_view(&kCan, 1));
        passthrough_.clear();
        start_escape();
        break;
      }
      if (count_csi_separator(c, sink)) break;
      if (c == 'b' && !repeat_allowed(sink)) {
        // An over-long REP (or an unknown CSI ending in 'b'), started in libvterm already:
        // cancelled there instead of ended.
        sink.forward(std::string_view(&kCan, 1));
        passthrough_.clear();
        passthrough_lost_ = false;
        state_ = State::Ground;
        break;
      }
      track_control(c);
      keep_passthrough(c);
      sink.forward(std::string_view(&c, 1));
      if (is_final(c)) {
        finish_passthrough(sink);
      } else if (aborts_sequence(c)) {
        passthrough_.clear();
        state_ = State::Ground;
      }
      break;
    case State::CsiDiscard: on_csi_discard(c); break;
    case State::String: on_string(c, sink); break;
    case State::StringEscape: on_string_escape(c, sink); break;
    case State::StringDiscard:
    case State::StringDiscardEscape: on_discard(c, sink); break;
  }
}

void VtFilter::start_escape() {
  held_.assign(1, kEsc);
  state_ = State::Escape;
}

bool VtFilter::repeat_allowed(const VtFilterSink& sink) const {
  return text_seen_ && sink.can_repeat();
}

void VtFilter::release_held(VtFilterSink& sink) {
  if (!held_.empty()) sink.forward(held_);
  held_.clear();
}

// An ESC cut the held sequence short: libvterm forgets such a sequence too, so only the controls
// in it reach libvterm (it obeys those as they come). Never the sequence's start: were the one
// this ESC begins dropped (a REP with nothing to repeat), libvterm would be left mid-sequence,
// reading the text after it as the rest, where a 'b' is a REP the filter never saw (found by
// screen_fuzz: "ESC NUL DLE ESC / [ b" hung libvterm in a REP of a glyph of width zero).
void VtFilter::abandon_held(VtFilterSink& sink) {
  std::string controls;
  for (char c : std::string_view(held_).substr(held_.empty() ? 0 : 1)) {
    if (is_c0(c)) controls += c;
  }
  if (!controls.empty()) sink.forward(controls);
  held_.clear();
}

// An escape sequence is held whole up to its final byte, so that the filter is back in its
// ground state exactly when libvterm is.
void VtFilter::on_escape(char c, VtFilterSink& sink) {
  if (c == kEsc) {
    abandon_held(sink);  // libvterm restarts the escape too
    start_escape();
    return;
  }
  if (is_c0(c) && !aborts_sequence(c)) {
    // libvterm obeys a control in mid-sequence and goes on; obeying it first is the same.
    track_control(c);
    sink.forward(std::string_view(&c, 1));
    return;
  }
  if (aborts_sequence(c)) {  // CAN/SUB: libvterm drops the sequence as well
    held_ += c;
    release_held(sink);
    state_ = State::Ground;
    return;
  }
  if (c == '\x7f') return;  // DEL is ignored inside sequences; libvterm need not see it
  held_ += c;
  if (ends_escape(c)) {
    finish_escape(sink);
  } else if (is_intermediate(c) && held_.size() <= kMaxHeld) {
    state_ = State::EscapeIntermediate;
  } else {
    // An 8-bit byte or endless intermediates: a broken sequence. libvterm would read what
    // follows in some state of its own (even a CSI whose arguments nobody counts), so the
    // sequence is dropped — tmux aborts it too — and the byte that broke it is read afresh.
    held_.clear();
    state_ = State::Ground;
    if (!is_intermediate(c)) feed_byte(c, sink);
  }
}

void VtFilter::finish_escape(VtFilterSink& sink) {
  const char final = held_.back();
  if (state_ == State::EscapeIntermediate && (final == '[' || final == ']' || final == 'P')) {
    // 0.1.4 starts a CSI, OSC or DCS on these whatever intermediates came before, and forgets
    // them: "ESC ( [ 2 C" moves the cursor (probed). Read as an escape, "ESC ( [ b" was a REP
    // the filter never saw (screen_fuzz); now the filter reads it as libvterm does.
    held_ = {kEsc, final};
    state_ = State::Escape;
  }
  std::string intermediates;
  for (char c : std::string_view(held_).substr(1)) {
    if (is_intermediate(c)) intermediates += c;
  }
  if (state_ == State::Escape) {
    switch (final) {
      case '[':
        csi_has_control_ = false;
        csi_separators_ = 0;
        state_ = State::Csi;
        return;
      case ']': case 'P': case '_': case '^': case 'X':
        state_ = State::String;
        return;
      case 'c':  // RIS
        modes_ = {};
        text_ = {};
        break;
      case 'n': text_.gl = 2; break;  // LS2
      case 'o': text_.gl = 3; break;  // LS3
      case 'N': case 'O': text_.uncertain = true; break;  // SS2, SS3: rare enough to give up
      default: break;
    }
  } else if (state_ == State::EscapeIntermediate) {
    // SCS: ESC ( ) * + designate a 94-character set to G0..G3, ESC - . / a 96-character one to
    // G1..G3. Only "B" (US ASCII) draws ASCII as itself.
    const char set = intermediates.front();
    int g = -1;
    if (set >= '(' && set <= '+') g = set - '(';
    if (set >= '-' && set <= '/') g = set - ',';
    if (g >= 0) {
      const auto bit = static_cast<std::uint8_t>(1u << g);
      const bool ascii = set <= '+' && intermediates.size() == 1 && final == 'B';
      text_.non_ascii_sets = static_cast<std::uint8_t>(ascii ? text_.non_ascii_sets & ~bit
                                                             : text_.non_ascii_sets | bit);
    }
  }
  release_held(sink);
  state_ = State::Ground;
  track_escape(intermediates, final, sink);
}

// What 0.1.4 does with an escape sequence that it keeps to itself (found by probing it: it knows
// only the 94-character sets B, 0 and A; RIS leaves the mouse protocol alone).
void VtFilter::track_escape(std::string_view intermediates, char final, VtFilterSink& sink) {
  if (intermediates.empty()) {
    switch (final) {
      case '7': sink.event({VtEvent::Kind::SaveCursor}); break;
      case 'H': sink.event({VtEvent::Kind::SetTabStop}); break;
      case 'c': {
        const std::uint8_t mouse_protocol = hidden_.mouse_protocol;
        hidden_ = {};
        hidden_.mouse_protocol = mouse_protocol;
        sink.event({VtEvent::Kind::Reset});
        break;
      }
      case '=': hidden_.keypad = true; break;
      case '>': hidden_.keypad = false; break;
      case 'n': hidden_.gl = 2; break;
      case 'o': hidden_.gl = 3; break;
      case '~': hidden_.gr = 1; break;
      case '}': hidden_.gr = 2; break;
      case '|': hidden_.gr = 3; break;
      case 'N': hidden_.single_shift = 2; break;
      case 'O': hidden_.single_shift = 3; break;
      default: break;
    }
    return;
  }
  if (intermediates.size() != 1) return;
  const char set = intermediates.front();
  if (set >= '(' && set <= '+' && (final == 'B' || final == '0' || final == 'A')) {
    hidden_.charsets[static_cast<std::size_t>(set - '(')] = final;
  }
  if (set == ' ' && (final == 'F' || final == 'G')) hidden_.ctrl8bit = final == 'G';
}

void VtFilter::track_control(char c) {
  if (c == kShiftOut) text_.gl = hidden_.gl = 1;
  if (c == kShiftIn) text_.gl = hidden_.gl = 0;
}

// True when `c` took the CSI past what libvterm can hold: the sequence is then dropped, and
// libvterm told to forget the part it already has (CAN aborts a sequence).
bool VtFilter::count_csi_separator(char c, VtFilterSink& sink) {
  if (c != ';' && c != ':') return false;
  if (++csi_separators_ < kMaxCsiSeparators) return false;
  if (state_ == State::CsiPassthrough) sink.forward("\x18");
  passthrough_.clear();
  held_.clear();
  state_ = State::CsiDiscard;
  return true;
}

void VtFilter::on_csi_discard(char c) {
  if (c == kEsc) start_escape();
  else if (is_final(c) || aborts_sequence(c)) state_ = State::Ground;
}

void VtFilter::on_csi(char c, VtFilterSink& sink) {
  if (c == kEsc) {
    abandon_held(sink);
    start_escape();
    return;
  }
  if (count_csi_separator(c, sink)) return;
  held_ += c;
  if (aborts_sequence(c)) {
    release_held(sink);
    state_ = State::Ground;
  } else if (is_final(c)) {
    finish_csi(sink);
  } else if (held_.size() > kMaxHeld) {
    // No sequence we rewrite is this long: stop holding garbage back.
    passthrough_.assign("\x1b[");
    passthrough_lost_ = false;
    for (char held : std::string_view(held_).substr(2)) keep_passthrough(held);
    release_held(sink);
    text_.uncertain = true;  // it might still set a mode nobody read
    state_ = State::CsiPassthrough;
  } else if (is_c0(c)) {
    csi_has_control_ = true;
    track_control(c);
  }
}

void VtFilter::finish_csi(VtFilterSink& sink) {
  state_ = State::Ground;
  std::string_view body(held_);
  std::string without_controls;
  if (csi_has_control_) {
    // libvterm obeys the controls and reads the rest as if they were not there.
    without_controls = "\x1b[";
    for (char c : body.substr(2)) {
      if (!is_c0(c)) without_controls += c;
    }
    body = without_controls;
  }
  body.remove_prefix(2);  // ESC [
  const auto [leader, params, intermediates, final] = split_csi(body);

  // Dropped: REP with nothing to repeat (libvterm would repeat garbage, or for good), and
  // kitty keyboard push/pop/set (we answered the query with "no flags"; nothing to set).
  const bool rep = leader == 0 && intermediates.empty() && final == 'b';
  const bool kitty_flags = (leader == '>' || leader == '<' || leader == '=') && intermediates.empty() &&
                           final == 'u';
  if ((rep && !repeat_allowed(sink)) || kitty_flags) {
    // not passed on
  } else if (csi_has_control_) {
    track_csi(leader, params, intermediates, final);  // only the first DEC mode counts then
    release_held(sink);
    report_csi(leader, params, intermediates, final, sink);
  } else if (leader == '?' && intermediates.empty() && (final == 'h' || final == 'l')) {
    rewrite_dec_mode(params, final, sink);
  } else if (leader == '?' && intermediates == "$" && final == 'p' && params == "2026") {
    // DECRQM: 1 = set, 2 = reset (supported). 0.1.4 would answer "not recognised".
    sink.reply(modes_.synchronized_output ? "\x1b[?2026;1$y" : "\x1b[?2026;2$y");
  } else if (leader == '?' && intermediates.empty() && final == 'u') {
    sink.reply("\x1b[?0u");  // kitty keyboard query: no flags, we do not speak the protocol
  } else {
    if (leader == 0 && intermediates == "!" && final == 'p') modes_.app_cursor_keys = false;
    track_csi(leader, params, intermediates, final);
    release_held(sink);
    report_csi(leader, params, intermediates, final, sink);
  }
  held_.clear();
}

void VtFilter::keep_passthrough(char c) {
  if (passthrough_lost_ || is_c0(c)) return;  // controls were obeyed at once, not part of it
  if (passthrough_.size() >= kMaxPassthrough) {
    passthrough_.clear();
    passthrough_lost_ = true;
    return;
  }
  passthrough_ += c;
}

// An over-long CSI ended: it is read afresh from its copy, for what it may have set.
void VtFilter::finish_passthrough(VtFilterSink& sink) {
  state_ = State::Ground;
  const std::string copy = std::exchange(passthrough_, {});
  const bool lost = std::exchange(passthrough_lost_, false);
  if (lost || copy.size() < 3) return;
  const auto [leader, params, intermediates, final] = split_csi(std::string_view(copy).substr(2));
  track_csi(leader, params, intermediates, final);
  report_csi(leader, params, intermediates, final, sink);
}

// The CSI sequences libvterm passes on whole that change TextSafety (DEC modes are split into
// one sequence each first, and tracked in rewrite_dec_mode).
void VtFilter::track_csi(char leader, std::string_view params, std::string_view intermediates,
                         char final) {
  if (leader == 0 && intermediates == "\"" && final == 'q') {  // DECSCA; 0.1.4 ignores other values
    const long value = libvterm_args(params)[0];
    if (value == VtEvent::kMissing || value == 0 || value == 2) hidden_.protect = false;
    if (value == 1) hidden_.protect = true;
    return;
  }
  // DECSTR is left alone: 0.1.4 does not take '!' as an intermediate, so it resets nothing.
  if (!intermediates.empty() || (final != 'h' && final != 'l')) return;
  const bool on = final == 'h';
  const long mode = first_number(params);
  if (mode == -2) text_.uncertain = true;
  if (leader == 0 && mode == 4) text_.insert = on;
  if (leader == '?' && mode == 6) text_.origin = on;
  if (leader == '?' && mode == 69) text_.lr_margins = on;
  track_mode(leader, libvterm_args(params)[0], on);
}

void VtFilter::track_mode(char leader, long mode, bool on) {
  if (leader == 0 && mode == 20) hidden_.newline = on;
  if (leader != '?') return;
  switch (mode) {
    case 7: hidden_.autowrap = on; break;
    case 1005: hidden_.mouse_protocol = on ? 1 : 0; break;
    case 1006: hidden_.mouse_protocol = on ? 2 : 0; break;
    case 1015: hidden_.mouse_protocol = on ? 3 : 0; break;
    default: break;
  }
}

// Told after the sequence went to libvterm, with the arguments as 0.1.4 reads them.
void VtFilter::report_csi(char leader, std::string_view params, std::string_view intermediates,
                          char final, VtFilterSink& sink) {
  if (!intermediates.empty()) return;
  const auto [first, second] = libvterm_args(params);
  if (leader == '?') {
    if (final == 'h' && (first == 1048 || first == 1049)) sink.event({VtEvent::Kind::SaveCursor});
    return;
  }
  if (leader != 0) return;
  switch (final) {
    case 'r': sink.event({VtEvent::Kind::ScrollRegion, first, second}); break;
    case 's': sink.event({VtEvent::Kind::Margins, first, second}); break;
    case 'b': sink.event({VtEvent::Kind::Repeat}); break;
    case 'g':
      if (first == VtEvent::kMissing || first == 0) sink.event({VtEvent::Kind::ClearTabStop});
      if (first == 3 || first == 5) sink.event({VtEvent::Kind::ClearAllTabStops});
      break;
    default:
      if (cancels_wrap(final)) sink.event({VtEvent::Kind::CancelWrap});
      break;
  }
}

// 0.1.4 keeps only the first parameter of DECSET/DECRST, so each goes in on its own.
void VtFilter::rewrite_dec_mode(std::string_view params, char final, VtFilterSink& sink) {
  const bool on = final == 'h';
  std::string one;
  std::size_t start = 0;
  while (start <= params.size()) {
    std::size_t end = params.find(';', start);
    if (end == std::string_view::npos) end = params.size();
    const std::string_view param = params.substr(start, end - start);
    const long mode = parse_mode(param);
    set_dec_mode(mode, on);
    track_csi('?', param, {}, final);
    if (mode != 2026 && !param.empty()) {  // 0.1.4 does not know ?2026; we keep it
      one.assign("\x1b[?");
      one += param;
      one += final;
      sink.forward(one);
      report_csi('?', param, {}, final, sink);
    }
    start = end + 1;
  }
}

void VtFilter::set_dec_mode(long mode, bool on) {
  switch (mode) {
    case 1: modes_.app_cursor_keys = on; break;
    case 1004: modes_.focus_reporting = on; break;
    case 2004: modes_.bracketed_paste = on; break;
    case 2026: modes_.synchronized_output = on; break;
    default: break;
  }
}

void VtFilter::on_string(char c, VtFilterSink& sink) {
  if (c == kBel) {
    finish_string(std::string_view(&c, 1), sink);  // libvterm accepts BEL for every string
  } else if (c == kEsc) {
    state_ = State::StringEscape;
  } else {  // CAN or SUB: the string is abandoned, as libvterm abandons it
    held_.clear();
    state_ = State::Ground;
  }
}

void VtFilter::on_string_escape(char c, VtFilterSink& sink) {
  if (c == '\\') {
    finish_string("\x1b\\", sink);
    return;
  }
  held_.clear();  // ESC + anything else cuts the string short and starts a new sequence
  start_escape();
  on_escape(c, sink);
}

void VtFilter::on_discard(char c, VtFilterSink& sink) {
  if (state_ == State::StringDiscardEscape && c != '\\') {
    start_escape();
    on_escape(c, sink);
  } else if (c == kEsc) {
    state_ = State::StringDiscardEscape;
  } else {
    state_ = State::Ground;  // BEL, ST, CAN or SUB ended the dropped string
  }
}

void VtFilter::finish_string(std::string_view terminator, VtFilterSink& sink) {
  state_ = State::Ground;
  const std::string_view body = std::string_view(held_).substr(2);
  if (held_[1] == ']' && body == kFgQuery) {
    answer_colour("10", default_fg_, terminator, sink);
  } else if (held_[1] == ']' && body == kBgQuery) {
    answer_colour("11", default_bg_, terminator, sink);
  } else {
    held_ += terminator;
    sink.forward(held_);  // in one write: 0.1.4 loses strings split across writes
  }
  held_.clear();
}

// Answered in the terminator the query used: some agents only accept the one they sent.
void VtFilter::settle_colours(std::optional<Rgb> fg, std::optional<Rgb> bg, VtFilterSink& sink) {
  default_fg_ = fg;
  default_bg_ = bg;
  colours_settled_ = true;
  for (const HeldQuery& query : std::exchange(held_queries_, {}))
    answer_colour(query.which, query.which == "10" ? default_fg_ : default_bg_, query.terminator, sink);
}

void VtFilter::answer_colour(std::string_view which, const std::optional<Rgb>& known,
                             std::string_view terminator, VtFilterSink& sink) {
  if (!colours_settled_) {
    held_queries_.push_back({std::string(which), std::string(terminator)});
    return;
  }
  if (!known) return;  // the user's terminal did not say: no answer beats a wrong one
  const Rgb& colour = *known;
  char rgb[32];
  std::snprintf(rgb, sizeof rgb, "rgb:%02x%02x/%02x%02x/%02x%02x", colour.r, colour.r, colour.g,
                colour.g, colour.b, colour.b);
  std::string answer("\x1b]");
  answer += which;
  answer += ';';
  answer += rgb;
  answer += terminator;
  sink.reply(answer);
}

}  // namespace sddsh::tui

namespace sddsh::tui {
namespace {

bool is_string_introducer(char c) {
  return std::string_view("]P_^X").find(c) != std::string_view::npos;
}

// What a held CSI may contain: anything up to its final byte but what would end or abort it.
bool holds_unfinished_csi(std::string_view held, std::size_t limit) {
  if (held.size() < 2 || held.size() > limit || !held.starts_with("\x1b[")) return false;
  return std::ranges::none_of(held.substr(2), [](char c) {
    return is_final(c) || c == kEsc || aborts_sequence(c);
  });
}

int count_separators(std::string_view text) {
  return static_cast<int>(std::ranges::count_if(text, [](char c) { return c == ';' || c == ':'; }));
}

bool valid_held(VtFilter::State state, const VtFilterState& s) {
  using State = VtFilter::State;
  const std::string_view held(s.held);
  switch (state) {
    case State::Escape: return held == "\x1b";
    case State::EscapeIntermediate:
      return held.size() >= 2 && held.size() <= VtFilter::kMaxHeld && held[0] == kEsc &&
             std::ranges::all_of(held.substr(1), is_intermediate);
    case State::Csi:
      return holds_unfinished_csi(held, VtFilter::kMaxHeld) &&
             s.csi_has_control == std::ranges::any_of(held.substr(2), is_c0) &&
             s.csi_separators == count_separators(held);
    case State::String:
    case State::StringEscape:
      return held.size() >= 2 && held.size() <= VtFilter::kMaxString && held[0] == kEsc &&
             is_string_introducer(held[1]) &&
             held.substr(2).find_first_of(std::string_view("\x1b\x07\x18\x1a", 4)) ==
                 std::string_view::npos;
    default: return held.empty();
  }
}

bool valid_passthrough(VtFilter::State state, const VtFilterState& s) {
  if (state != VtFilter::State::CsiPassthrough) return s.passthrough.empty() && !s.passthrough_lost;
  if (s.passthrough_lost) return s.passthrough.empty();
  return holds_unfinished_csi(s.passthrough, VtFilter::kMaxPassthrough) &&
         std::ranges::none_of(std::string_view(s.passthrough).substr(2), is_c0);
}

bool valid_modes(const VtFilterState& s) {
  const HiddenModes& h = s.hidden;
  const auto known_set = [](char c) { return c == 0 || c == 'B' || c == '0' || c == 'A'; };
  return s.text.gl <= 3 && s.text.non_ascii_sets <= 0x0F && h.gl <= 3 && h.gr <= 3 &&
         (h.single_shift == 0 || h.single_shift == 2 || h.single_shift == 3) &&
         h.mouse_protocol <= 3 && std::ranges::all_of(h.charsets, known_set);
}

}  // namespace

VtFilterState VtFilter::state() const {
  return {static_cast<std::uint8_t>(state_), held_, passthrough_, passthrough_lost_, utf8_tail_,
          csi_has_control_, csi_separators_, text_seen_, modes_, text_, hidden_};
}

bool VtFilter::valid(const VtFilterState& s) {
  if (s.parse_state > static_cast<std::uint8_t>(State::StringDiscardEscape)) return false;
  const auto state = static_cast<State>(s.parse_state);
  if (s.csi_separators < 0 || s.csi_separators >= kMaxCsiSeparators) return false;
  if (state == State::Ground ? !(s.utf8_tail.empty() || is_unfinished_utf8(s.utf8_tail))
                             : !s.utf8_tail.empty()) {
    return false;
  }
  return valid_held(state, s) && valid_passthrough(state, s) && valid_modes(s);
}

bool VtFilter::set_state(const VtFilterState& s) {
  if (!valid(s)) return false;
  state_ = static_cast<State>(s.parse_state);
  held_ = s.held;
  passthrough_ = s.passthrough;
  passthrough_lost_ = s.passthrough_lost;
  utf8_tail_ = s.utf8_tail;
  csi_has_control_ = s.csi_has_control;
  csi_separators_ = s.csi_separators;
  text_seen_ = s.text_seen;
  modes_ = s.modes;
  text_ = s.text;
  hidden_ = s.hidden;
  return true;
}

}  // namespace sddsh::tui
