#include "tui/vt_filter.hpp"

#include <utility>

#include <charconv>
#include <cstdio>

namespace sddsh::tui {
namespace {

constexpr char kEsc = '\x1b';
constexpr char kBel = '\x07';
constexpr char kCan = '\x18';
constexpr char kSub = '\x1a';

bool is_final(char c) { return c >= 0x40 && c <= 0x7e; }
bool is_intermediate(char c) { return c >= 0x20 && c <= 0x2f; }
bool is_leader(char c) { return c >= 0x3c && c <= 0x3f; }
bool is_c0(char c) { return static_cast<unsigned char>(c) < 0x20; }
bool aborts_sequence(char c) { return c == kCan || c == kSub; }

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

}  // namespace

void VtFilter::feed(std::string_view bytes, VtFilterSink& sink) {
  static constexpr std::string_view kStringStops("\x1b\x07\x18\x1a", 4);
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    // Plain text and string bodies go in spans; only sequence heads go byte by byte.
    if (state_ == State::Ground) {
      pos = pass_span(bytes, pos, std::string_view("\x1b", 1), sink);
    } else if (state_ == State::String || state_ == State::StringDiscard) {
      std::size_t stop = bytes.find_first_of(kStringStops, pos);
      if (stop == std::string_view::npos) stop = bytes.size();
      if (state_ == State::String) collect_string(bytes.substr(pos, stop - pos));
      pos = stop;
    }
    if (pos < bytes.size()) feed_byte(bytes[pos++], sink);
  }
}

std::size_t VtFilter::pass_span(std::string_view bytes, std::size_t pos, std::string_view stops,
                                VtFilterSink& sink) {
  std::size_t stop = bytes.find_first_of(stops, pos);
  if (stop == std::string_view::npos) stop = bytes.size();
  if (stop > pos) sink.forward(bytes.substr(pos, stop - pos));
  return stop;
}

void VtFilter::collect_string(std::string_view bytes) {
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
        sink.forward(std::string_view(&c, 1));
      }
      break;
    case State::Escape: on_escape(c, sink); break;
    case State::Csi: on_csi(c, sink); break;
    case State::CsiPassthrough:
      if (c == kEsc) {
        start_escape();
        break;
      }
      sink.forward(std::string_view(&c, 1));
      if (is_final(c) || aborts_sequence(c)) state_ = State::Ground;
      break;
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

void VtFilter::on_escape(char c, VtFilterSink& sink) {
  switch (c) {
    case '[':
      held_ += c;
      csi_has_control_ = false;
      state_ = State::Csi;
      return;
    case ']': case 'P': case '_': case '^': case 'X':
      held_ += c;
      state_ = State::String;
      return;
    case kEsc:
      release_held(sink);  // libvterm restarts the escape too
      start_escape();
      return;
    case 'c':
      modes_ = {};  // RIS
      break;
    default:
      break;
  }
  held_ += c;
  release_held(sink);
  state_ = State::Ground;
}

void VtFilter::on_csi(char c, VtFilterSink& sink) {
  if (c == kEsc) {
    release_held(sink);
    start_escape();
    return;
  }
  held_ += c;
  if (aborts_sequence(c)) {
    release_held(sink);
    state_ = State::Ground;
  } else if (is_final(c)) {
    finish_csi(sink);
  } else if (held_.size() > kMaxHeld) {
    // No sequence we rewrite is this long: stop holding garbage back.
    release_held(sink);
    state_ = State::CsiPassthrough;
  } else if (is_c0(c)) {
    csi_has_control_ = true;
  }
}

void VtFilter::finish_csi(VtFilterSink& sink) {
  state_ = State::Ground;
  std::string_view body(held_);
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

  if (csi_has_control_) {
    release_held(sink);
  } else if (leader == '?' && intermediates.empty() && (final == 'h' || final == 'l')) {
    rewrite_dec_mode(params, final, sink);
  } else if (leader == '?' && intermediates == "$" && final == 'p' && params == "2026") {
    // DECRQM: 1 = set, 2 = reset (supported). 0.1.4 would answer "not recognised".
    sink.reply(modes_.synchronized_output ? "\x1b[?2026;1$y" : "\x1b[?2026;2$y");
  } else if (leader == '?' && intermediates.empty() && final == 'u') {
    sink.reply("\x1b[?0u");  // kitty keyboard query: no flags, we do not speak the protocol
  } else if ((leader == '>' || leader == '<' || leader == '=') && intermediates.empty() &&
             final == 'u') {
    // kitty keyboard push/pop/set: accepted and ignored.
  } else {
    if (leader == 0 && intermediates == "!" && final == 'p') modes_.app_cursor_keys = false;
    release_held(sink);
  }
  held_.clear();
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
