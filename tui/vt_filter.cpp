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
std::size_t VtFilter::pass_text(std::string_view bytes, std::size_t pos, VtFilterSink& sink) {
  std::size_t stop = pos;
  while (stop < bytes.size() && bytes[stop] != kEsc && bytes[stop] != kShiftOut &&
         bytes[stop] != kShiftIn) {
    ++stop;
  }
  if (stop > pos) {
    const std::string_view span = bytes.substr(pos, stop - pos);
    if (!text_seen_)
      text_seen_ = std::ranges::any_of(span, [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != '\x7f'; });
    sink.text(span);
  }
  return stop;
}

void VtFilter::collect_string(std::string_view bytes) {
  // libvterm may obey an SO inside a string; an SI there is not trusted to undo one.
  if (bytes.find(kShiftOut) != std::string_view::npos) text_.gl = 1;
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
        start_escape();
        break;
      }
      if (count_csi_separator(c, sink)) break;
      track_control(c);
      sink.forward(std::string_view(&c, 1));
      if (is_final(c) || aborts_sequence(c)) state_ = State::Ground;
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

void VtFilter::release_held(VtFilterSink& sink) {
  if (!held_.empty()) sink.forward(held_);
  held_.clear();
}

// An escape sequence is held whole up to its final byte, so that the filter is back in its
// ground state exactly when libvterm is.
void VtFilter::on_escape(char c, VtFilterSink& sink) {
  if (c == kEsc) {
    release_held(sink);  // libvterm restarts the escape too
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
    std::string intermediates;
    for (char c : std::string_view(held_).substr(1)) {
      if (is_intermediate(c)) intermediates += c;
    }
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
}

void VtFilter::track_control(char c) {
  if (c == kShiftOut) text_.gl = 1;
  if (c == kShiftIn) text_.gl = 0;
}

// True when `c` took the CSI past what libvterm can hold: the sequence is then dropped, and
// libvterm told to forget the part it already has (CAN aborts a sequence).
bool VtFilter::count_csi_separator(char c, VtFilterSink& sink) {
  if (c != ';' && c != ':') return false;
  if (++csi_separators_ < kMaxCsiSeparators) return false;
  if (state_ == State::CsiPassthrough) sink.forward("\x18");
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
    release_held(sink);
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
  const char final = body.back();
  body.remove_suffix(1);
  char leader = 0;
  if (!body.empty() && is_leader(body.front())) {
    leader = body.front();
    body.remove_prefix(1);
  }
  std::size_t params_end = body.size();
  while (params_end > 0 && is_intermediate(body[params_end - 1])) --params_end;
  const std::string_view params = body.substr(0, params_end);
  const std::string_view intermediates = body.substr(params_end);

  // Dropped: REP with nothing to repeat yet (libvterm would repeat garbage, see text_seen_), and
  // kitty keyboard push/pop/set (we answered the query with "no flags"; nothing to set).
  const bool rep = leader == 0 && intermediates.empty() && final == 'b';
  const bool kitty_flags = (leader == '>' || leader == '<' || leader == '=') && intermediates.empty() &&
                           final == 'u';
  if ((rep && !text_seen_) || kitty_flags) {
    // not passed on
  } else if (csi_has_control_) {
    track_csi(leader, params, intermediates, final);  // only the first DEC mode counts then
    release_held(sink);
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
  }
  held_.clear();
}

// The CSI sequences libvterm passes on whole that change TextSafety (DEC modes are split into
// one sequence each first, and tracked in rewrite_dec_mode).
void VtFilter::track_csi(char leader, std::string_view params, std::string_view intermediates,
                         char final) {
  // DECSTR is left alone: 0.1.4 does not take '!' as an intermediate, so it resets nothing.
  if (!intermediates.empty() || (final != 'h' && final != 'l')) return;
  const bool on = final == 'h';
  const long mode = first_number(params);
  if (mode == -2) text_.uncertain = true;
  if (leader == 0 && mode == 4) text_.insert = on;
  if (leader == '?' && mode == 6) text_.origin = on;
  if (leader == '?' && mode == 69) text_.lr_margins = on;
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
