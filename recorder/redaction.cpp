#include "recorder/redaction.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <numeric>
#include <optional>
// GCC 12 with the sanitizers warns falsely (maybe-uninitialized) inside libstdc++'s regex compiler.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#else
#include <regex>
#endif
#include <utility>

// How a text is redacted (docs/redaction.md): one pass over its bytes finds the built-in token
// formats and the environment's literal secrets, std::regex finds the user's extra patterns line
// by line, and the spans found are then cleaned up (our own markers left alone, UTF-8 characters
// kept whole, overlaps merged) before they are replaced. redact_chunks runs the same search over
// the chunks joined, so a secret cut by a chunk boundary is one span like any other.

namespace sddsh::recorder {
namespace {

constexpr std::size_t kMinEnvSecretBytes = 8;
constexpr std::size_t kMaxMarkerKindBytes = 80;
// std::regex recurses once per character it consumes: a long line is matched in windows of
// kRegexWindowBytes, overlapping by 512 bytes so that a match up to that long is never cut.
constexpr std::size_t kRegexWindowBytes = 4096;
constexpr std::size_t kRegexWindowStep = 3584;
// A private key block (even a 4096-bit RSA or PGP key, wrapped in escape codes line by line)
// ends well within this many bytes of its BEGIN line.
constexpr std::size_t kPrivateKeyReach = std::size_t{64} * 1024;
constexpr std::size_t kMaxAuthorityBytes = 512;
constexpr std::string_view kMarkerPrefix = "[REDACTED:";
// Redaction rounds with extra patterns, each over the previous round's result (Redactor::redact).
constexpr int kMaxRounds = 8;

// Kind names, as they appear in markers and summaries.
constexpr std::string_view kAnthropicKey = "anthropic_key";
constexpr std::string_view kOpenAiKey = "openai_key";
constexpr std::string_view kGithubToken = "github_token";
constexpr std::string_view kAwsAccessKey = "aws_access_key";
constexpr std::string_view kSlackToken = "slack_token";
constexpr std::string_view kJwt = "jwt";
constexpr std::string_view kPrivateKey = "private_key";
constexpr std::string_view kUrlCredentials = "url_credentials";
constexpr std::string_view kBearerToken = "bearer_token";
constexpr std::string_view kCustom = "custom";

// When two findings cover the same bytes, the more specific kind names the marker.
enum class Rank : std::uint8_t { kPattern, kContext, kEnvironment, kFormat };

// A stretch of text to replace: [begin, end).
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view kind;  // a constant above, or owned by the RedactionEngine
  Rank rank = Rank::kFormat;

  std::size_t size() const { return end - begin; }
};

// ---------------------------------------------------------------------------------------------
// Characters

enum CharClass : std::uint8_t {
  kDigit = 1U << 0U,
  kUpper = 1U << 1U,
  kLower = 1U << 2U,
  kWordPunct = 1U << 3U,    // '_' and '-': inside identifiers and url-safe base64
  kBase64Punct = 1U << 4U,  // '+', '/' and '=': inside standard base64
  kTrigger = 1U << 5U,      // a byte where a built-in format (or our marker) can start
};
constexpr std::uint8_t kAlnum = kDigit | kUpper | kLower;
constexpr std::uint8_t kWord = kAlnum | kWordPunct;

constexpr std::array<std::uint8_t, 256> make_char_classes() {
  std::array<std::uint8_t, 256> classes{};
  for (int c = '0'; c <= '9'; ++c) classes[c] |= kDigit;
  for (int c = 'A'; c <= 'Z'; ++c) classes[c] |= kUpper;
  for (int c = 'a'; c <= 'z'; ++c) classes[c] |= kLower;
  classes['_'] |= kWordPunct;
  classes['-'] |= kWordPunct;
  for (unsigned char c : std::string_view("+/=")) classes[c] |= kBase64Punct;
  // s: sk-…, secret_access_key; S: SecretAccessKey; g: gh?_…, github_pat_…; A: AKIA/ASIA;
  // x: xox?-…, xapp-…; h: hooks.slack.com; e: eyJ…; -: -----BEGIN; ':': ://; '[': our marker;
  // b/B: Bearer.
  for (unsigned char c : std::string_view("sSgAxhe-:[bB")) classes[c] |= kTrigger;
  return classes;
}
constexpr std::array<std::uint8_t, 256> kCharClasses = make_char_classes();

bool has_class(char c, std::uint8_t mask) {
  return (kCharClasses[static_cast<unsigned char>(c)] & mask) != 0;
}

bool is_alnum(char c) {
  return has_class(c, kAlnum);
}

bool is_word(char c) {
  return has_class(c, kWord);
}

bool is_base64(char c) {
  return has_class(c, kAlnum | kBase64Punct);
}

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

char lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Called at most bytes of a long text and almost always false on the first or second byte: a
// plain loop beats memcmp's call here.
bool starts_with_at(std::string_view text, std::size_t pos, std::string_view prefix) {
  if (text.size() - pos < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (text[pos + i] != prefix[i]) return false;
  }
  return true;
}

// `prefix` in lower case.
bool starts_with_nocase_at(std::string_view text, std::size_t pos, std::string_view prefix) {
  if (text.size() - pos < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower_ascii(text[pos + i]) != prefix[i]) return false;
  }
  return true;
}

// How many bytes from `pos` belong to `mask`, up to `limit`.
std::size_t run_of(std::string_view text, std::size_t pos, std::uint8_t mask,
                   std::size_t limit = std::string_view::npos) {
  std::size_t end = pos;
  const std::size_t stop =
      std::min(text.size(), limit == std::string_view::npos ? text.size() : pos + limit);
  while (end < stop && has_class(text[end], mask)) ++end;
  return end - pos;
}

// Random tokens mix digits and both cases; words and identifiers rarely do.
bool looks_random(std::string_view token) {
  std::uint8_t seen = 0;
  for (char c : token) seen |= kCharClasses[static_cast<unsigned char>(c)];
  return (seen & kAlnum) == kAlnum;
}

bool has_digit(std::string_view token) {
  return std::any_of(token.begin(), token.end(), [](char c) { return has_class(c, kDigit); });
}

// ---------------------------------------------------------------------------------------------
// Escape codes: terminal output colours tokens, and JSON text escapes control characters.

// The length of an escape character's spelling ending at `end` (ESC itself, or "\u001b",
// "\x1b", "\033", "\e" in JSON or source text), 0 when there is none.
std::size_t escape_spelling_before(std::string_view text, std::size_t end) {
  if (end >= 1 && text[end - 1] == '\x1b') return 1;
  for (std::string_view spelling : {"\\u001b", "\\u001B", "\\x1b", "\\x1B", "\\033", "\\e"}) {
    if (end >= spelling.size() &&
        text.compare(end - spelling.size(), spelling.size(), spelling) == 0) {
      return spelling.size();
    }
  }
  return 0;
}

// Whether an escape sequence (CSI "ESC [ params final", or a two- or three-byte one) ends just
// before `pos`: then `pos` starts a word even though the sequence's final byte is a letter.
bool escape_sequence_ends_at(std::string_view text, std::size_t pos) {
  if (pos == 0 || static_cast<unsigned char>(text[pos - 1]) < 0x30) return false;
  std::size_t i = pos - 1;
  if (escape_spelling_before(text, i) != 0) return true;  // ESC 7, ESC M, …
  if (i >= 1 && std::string_view("()*+").find(text[i - 1]) != std::string_view::npos &&
      escape_spelling_before(text, i - 1) != 0) {
    return true;  // ESC ( B: character set
  }
  constexpr std::size_t kMaxParams = 32;
  std::size_t params = 0;
  while (i > 0 && params < kMaxParams &&
         std::string_view("0123456789;:?<=>").find(text[i - 1]) != std::string_view::npos) {
    --i;
    ++params;
  }
  return i > 0 && text[i - 1] == '[' && escape_spelling_before(text, i - 1) != 0;
}

// A JSON escape ("\n", "\t", "\u0022", …) ends just before `pos`.
bool json_escape_ends_at(std::string_view text, std::size_t pos) {
  if (pos >= 2 && text[pos - 2] == '\\' &&
      std::string_view("nrtbf").find(text[pos - 1]) != std::string_view::npos) {
    return true;
  }
  if (pos < 6 || text[pos - 6] != '\\' || text[pos - 5] != 'u') return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(pos - 4),
                     text.begin() + static_cast<std::ptrdiff_t>(pos), [](char c) {
                       return has_class(c, kDigit) ||
                              (lower_ascii(c) >= 'a' && lower_ascii(c) <= 'f');
                     });
}

// The length of an escape sequence or an escaped line break starting at `pos`, 0 when none.
// Used to step over the decoration between the lines of a private key block.
std::size_t decoration_at(std::string_view text, std::size_t pos) {
  if (starts_with_at(text, pos, "\\n") || starts_with_at(text, pos, "\\r")) return 2;
  std::size_t spelling = 0;
  if (text[pos] == '\x1b') {
    spelling = 1;
  } else {
    for (std::string_view s : {"\\u001b", "\\u001B", "\\x1b", "\\x1B", "\\033"}) {
      if (starts_with_at(text, pos, s)) spelling = s.size();
    }
  }
  if (spelling == 0) return 0;
  std::size_t i = pos + spelling;
  if (i >= text.size()) return spelling;
  if (text[i] != '[') return std::min(text.size() - pos, spelling + 1);
  ++i;
  while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x20 &&
         static_cast<unsigned char>(text[i]) < 0x40) {
    ++i;
  }
  return std::min(text.size(), i + 1) - pos;
}

// ---------------------------------------------------------------------------------------------
// Our own marker

// The length of a "[REDACTED:kind]" marker at `pos`, 0 when there is none.
std::size_t marker_at(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, kMarkerPrefix)) return 0;
  const std::size_t kind_begin = pos + kMarkerPrefix.size();
  std::size_t i = kind_begin;
  while (i < text.size() && i - kind_begin <= kMaxMarkerKindBytes &&
         (is_word(text[i]) || text[i] == ':' || text[i] == '.')) {
    ++i;
  }
  if (i == kind_begin || i - kind_begin > kMaxMarkerKindBytes || i >= text.size() ||
      text[i] != ']') {
    return 0;
  }
  return i + 1 - pos;
}

// ---------------------------------------------------------------------------------------------
// Built-in formats. Each scanner looks at a trigger byte at `pos` and returns the secret's span.

std::optional<Span> format_span(std::size_t begin, std::size_t end, std::string_view kind,
                                Rank rank = Rank::kFormat) {
  return Span{begin, end, kind, rank};
}

// sk-ant-… (Anthropic), sk-… and sk-proj-… (OpenAI).
std::optional<Span> scan_sk_key(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, "sk-")) return std::nullopt;
  if (starts_with_at(text, pos, "sk-ant-")) {
    constexpr std::size_t kMinBody = 24;
    const std::size_t body = run_of(text, pos + 7, kWord);
    if (body >= kMinBody) return format_span(pos, pos + 7 + body, kAnthropicKey);
    return std::nullopt;
  }
  constexpr std::size_t kMinBody = 32;  // "sk-" + a long kebab-case word is not a key
  const std::size_t body = run_of(text, pos + 3, kWord);
  if (body < kMinBody || !looks_random(text.substr(pos + 3, body))) return std::nullopt;
  return format_span(pos, pos + 3 + body, kOpenAiKey);
}

// ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_… (fine-grained).
std::optional<Span> scan_github(std::string_view text, std::size_t pos) {
  if (starts_with_at(text, pos, "github_pat_")) {
    constexpr std::size_t kMinBody = 30;
    const std::size_t body = run_of(text, pos + 11, kAlnum | kWordPunct);
    if (body >= kMinBody && looks_random(text.substr(pos + 11, body))) {
      return format_span(pos, pos + 11 + body, kGithubToken);
    }
    return std::nullopt;
  }
  if (text.size() - pos < 4 || text[pos + 1] != 'h' || text[pos + 3] != '_' ||
      std::string_view("pousr").find(text[pos + 2]) == std::string_view::npos) {
    return std::nullopt;
  }
  constexpr std::size_t kBody = 36;
  const std::size_t body = run_of(text, pos + 4, kAlnum);
  if (body < kBody) return std::nullopt;
  return format_span(pos, pos + 4 + body, kGithubToken);
}

// AKIA/ASIA + 16 upper-case letters or digits.
std::optional<Span> scan_aws_access_key_id(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, "AKIA") && !starts_with_at(text, pos, "ASIA")) {
    return std::nullopt;
  }
  constexpr std::size_t kBody = 16;
  if (run_of(text, pos + 4, kUpper | kDigit, kBody) < kBody) return std::nullopt;
  return format_span(pos, pos + 4 + kBody, kAwsAccessKey);
}

// The value after "aws_secret_access_key" (any case, '_' or '-' or nothing between the words,
// as in env files, ini files and SecretAccessKey in JSON): 40 base64 characters.
std::optional<Span> scan_aws_secret_value(std::string_view text, std::size_t pos) {
  if (!starts_with_nocase_at(text, pos, "secret")) return std::nullopt;
  std::size_t i = pos + 6;
  for (std::string_view word : {"access", "key"}) {
    if (i < text.size() && (text[i] == '_' || text[i] == '-')) ++i;
    if (!starts_with_nocase_at(text, i, word)) return std::nullopt;
    i += word.size();
  }
  constexpr std::size_t kMaxGap = 8;  // ` = "`, `": "`, `\":\"`
  const std::size_t gap_end = std::min(text.size(), i + kMaxGap);
  while (i < gap_end && std::string_view(" \t\"'=:\\").find(text[i]) != std::string_view::npos) {
    ++i;
  }
  // The value is 40 characters; a longer run is taken whole (it may hold more than the key).
  constexpr std::size_t kMinValue = 40;
  const std::size_t value = run_of(text, i, kAlnum | kBase64Punct);
  if (value < kMinValue) return std::nullopt;
  return format_span(i, i + value, kAwsAccessKey);
}

// xoxb-/xoxp-/xoxa-/xoxr-/xoxs-/xoxe.… and xapp-… tokens.
std::optional<Span> scan_slack_token(std::string_view text, std::size_t pos) {
  const bool app_token = starts_with_at(text, pos, "xapp-");
  const bool xox_token = starts_with_at(text, pos, "xox") && text.size() - pos > 4 &&
                         std::string_view("abeprs").find(text[pos + 3]) != std::string_view::npos &&
                         (text[pos + 4] == '-' || text[pos + 4] == '.');
  if (!app_token && !xox_token) return std::nullopt;
  constexpr std::size_t prefix = 5;
  std::size_t end = pos + prefix;
  while (end < text.size() && (is_alnum(text[end]) || text[end] == '-' || text[end] == '.')) {
    ++end;
  }
  while (end > pos + prefix && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
  constexpr std::size_t kMinBody = 10;
  const std::string_view body = text.substr(pos + prefix, end - pos - prefix);
  if (body.size() < kMinBody || !has_digit(body)) return std::nullopt;
  return format_span(pos, end, kSlackToken);
}

// https://hooks.slack.com/services/T…/B…/… : the path after the kind of hook is the secret.
std::optional<Span> scan_slack_webhook(std::string_view text, std::size_t pos) {
  constexpr std::string_view kHost = "hooks.slack.com/";
  if (!starts_with_at(text, pos, kHost)) return std::nullopt;
  const std::size_t path = pos + kHost.size();
  for (std::string_view hook : {"services/", "workflows/", "triggers/"}) {
    if (!starts_with_at(text, path, hook)) continue;
    const std::size_t begin = path + hook.size();
    std::size_t end = begin;
    while (end < text.size() && (is_word(text[end]) || text[end] == '/')) ++end;
    constexpr std::size_t kMinSecret = 8;
    if (end - begin >= kMinSecret && is_alnum(text[begin])) {
      return format_span(begin, end, kSlackToken);
    }
  }
  return std::nullopt;
}

// Three base64url parts separated by dots, the header a JSON object ("eyJ").
std::optional<Span> scan_jwt(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, "eyJ")) return std::nullopt;
  constexpr std::size_t kMinPart = 8;
  std::size_t end = pos;
  for (int part = 0; part < 2; ++part) {
    const std::size_t length = run_of(text, end, kAlnum | kWordPunct);
    if (length < kMinPart || end + length >= text.size() || text[end + length] != '.') {
      return std::nullopt;
    }
    end += length + 1;
  }
  end += run_of(text, end, kAlnum | kWordPunct);  // the signature; empty for "alg":"none"
  return format_span(pos, end, kJwt);
}

// "-----BEGIN <label>-----" at `pos`; the label ends in PRIVATE KEY (or PRIVATE KEY BLOCK).
std::optional<std::size_t> private_key_header_end(std::string_view text, std::size_t pos,
                                                  std::string_view opener) {
  if (!starts_with_at(text, pos, opener)) return std::nullopt;
  constexpr std::size_t kMaxLabel = 48;
  const std::size_t label_begin = pos + opener.size();
  std::size_t i = label_begin;
  while (i < text.size() && i - label_begin < kMaxLabel &&
         (has_class(text[i], kUpper | kDigit) || text[i] == ' ')) {
    ++i;
  }
  const std::string_view label = text.substr(label_begin, i - label_begin);
  const bool private_key = label.ends_with("PRIVATE KEY") || label.ends_with("PRIVATE KEY BLOCK");
  if (!private_key || !starts_with_at(text, i, "-----")) return std::nullopt;
  return i + 5;
}

// A key's body holds long runs of random base64; a PEM parser's source code between its BEGIN
// and END literals does not. Returns the first such run at or after `from`: {begin, end}.
constexpr std::size_t kMinKeyMaterialRun = 24;

std::optional<std::pair<std::size_t, std::size_t>> next_key_material(std::string_view text,
                                                                     std::size_t from) {
  std::size_t i = from;
  while (i < text.size()) {
    const std::size_t run = run_of(text, i, kAlnum | kBase64Punct);
    if (run >= kMinKeyMaterialRun && looks_random(text.substr(i, run))) {
      return std::pair{i, i + run};
    }
    i += run + 1;
  }
  return std::nullopt;
}

bool holds_key_material(std::string_view body) {
  return next_key_material(body, 0).has_value();
}

// Where the next END line and the next key material are, remembered across the BEGIN lines of
// one text: a text of many BEGIN lines costs one pass over it, not one pass per line. Queries
// come in increasing order of position; an answer holds for any later query up to it.
class KeyBlockIndex {
 public:
  explicit KeyBlockIndex(std::string_view text) : text_(text) {}

  // The first "-----END …PRIVATE KEY-----" at or after `from`: {begin, end}.
  std::optional<std::pair<std::size_t, std::size_t>> footer_from(std::size_t from) {
    if (!footer_.answers(from)) footer_ = Cached{from, find_footer(from)};
    return footer_.found;
  }

  // Whether [from, to) holds key material.
  bool material_within(std::size_t from, std::size_t to) {
    if (!material_.answers(from)) material_ = Cached{from, next_key_material(text_, from)};
    return material_.found && material_.found->second <= to;
  }

 private:
  struct Cached {
    std::size_t asked = std::string_view::npos;
    std::optional<std::pair<std::size_t, std::size_t>> found;

    bool answers(std::size_t from) const {
      return asked != std::string_view::npos && from >= asked && (!found || from <= found->first);
    }
  };

  std::optional<std::pair<std::size_t, std::size_t>> find_footer(std::size_t from) const {
    for (std::size_t at = text_.find("-----END ", from); at != std::string_view::npos;
         at = text_.find("-----END ", at + 1)) {
      if (auto end = private_key_header_end(text_, at, "-----END ")) return std::pair{at, *end};
    }
    return std::nullopt;
  }

  std::string_view text_;
  Cached footer_;
  Cached material_;
};

// One line of a key block without its END line, decoration (escape codes) stripped.
enum class KeyLine : std::uint8_t { kOther, kHeader, kMaterial, kLast };

KeyLine classify_key_line(std::string_view line, bool after_material) {
  constexpr std::size_t kMaxHeaderLine = 128;
  if (holds_key_material(line)) return KeyLine::kMaterial;
  // The short last line of the base64 ("kR3Q=="), possibly with a diff's "+".
  const bool base64_only = !line.empty() && std::all_of(line.begin(), line.end(), is_base64);
  if (after_material && base64_only) return KeyLine::kLast;
  // Proc-Type:, DEK-Info:, Comment: before the base64 starts.
  const bool header = line.find(": ") != std::string_view::npos && line.size() < kMaxHeaderLine;
  if (!after_material && header) return KeyLine::kHeader;
  return KeyLine::kOther;
}

// Without an END line (the output was cut short): the lines after BEGIN that look like key
// material, with their decoration, up to the last such line.
std::size_t private_key_body_end(std::string_view text, std::size_t from) {
  const std::size_t stop = std::min(text.size(), from + kPrivateKeyReach);
  std::size_t end = from;
  bool after_material = false;
  std::size_t i = from;
  while (i < stop) {
    if (text[i] == '\n' || text[i] == '\r') {
      ++i;
      continue;
    }
    if (const std::size_t decoration = decoration_at(text, i); decoration != 0) {
      i += decoration;
      continue;
    }
    std::string line;  // without the escape codes a terminal put around its parts
    std::size_t line_end = i;
    std::size_t content_end = i;  // the trailing escape codes (colour off) are kept
    while (line_end < stop && text[line_end] != '\n' && text[line_end] != '\r') {
      const std::size_t decoration = decoration_at(text, line_end);
      if (decoration == 2 && text[line_end] == '\\') break;  // an escaped line break
      if (decoration != 0) {
        line_end += decoration;
      } else {
        line += text[line_end++];
        content_end = line_end;
      }
    }
    const KeyLine kind = classify_key_line(line, after_material);
    if (kind == KeyLine::kOther) break;
    end = content_end;
    i = line_end;
    if (kind == KeyLine::kLast) break;
    after_material = after_material || kind == KeyLine::kMaterial;
  }
  return end;
}

std::optional<Span> scan_private_key(std::string_view text, std::size_t pos, KeyBlockIndex& index) {
  const auto header_end = private_key_header_end(text, pos, "-----BEGIN ");
  if (!header_end) return std::nullopt;
  const auto footer = index.footer_from(*header_end);
  if (footer && footer->first - *header_end <= kPrivateKeyReach) {
    if (!index.material_within(*header_end, footer->first)) return std::nullopt;
    return format_span(pos, footer->second, kPrivateKey);
  }
  const std::size_t body_end = private_key_body_end(text, *header_end);
  if (!holds_key_material(text.substr(*header_end, body_end - *header_end))) return std::nullopt;
  return format_span(pos, body_end, kPrivateKey);
}

// The characters that end a URL's authority (user:password@host:port).
bool ends_authority(char c) {
  return std::string_view("/?#\"'<>`\\ \t\r\n\x1b").find(c) != std::string_view::npos;
}

// scheme://user:password@host: the password. `pos` is at the ':' of "://".
std::optional<Span> scan_url_credentials(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, "://") || pos == 0 || !has_class(text[pos - 1], kLower | kUpper)) {
    return std::nullopt;
  }
  const std::size_t authority = pos + 3;
  std::size_t authority_end = authority;
  const std::size_t stop = std::min(text.size(), authority + kMaxAuthorityBytes);
  while (authority_end < stop && !ends_authority(text[authority_end])) ++authority_end;
  // The last '@' is the one before the host: "p@ss" in a password is a common mistake.
  const std::size_t last_at = text.substr(authority, authority_end - authority).rfind('@');
  if (last_at == std::string_view::npos) return std::nullopt;
  const std::size_t at = authority + last_at;
  // User info that holds a marker was redacted before: whatever was left of it was left on
  // purpose, and the marker may have removed the byte that ended the authority then.
  const std::string_view user_info = text.substr(authority, at - authority);
  if (user_info.find(kMarkerPrefix) != std::string_view::npos) return std::nullopt;
  const std::size_t colon = user_info.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::size_t password = authority + colon + 1;
  const std::string_view value = text.substr(password, at - password);
  if (value.empty() || value.starts_with("${") || value.starts_with("{{")) {
    return std::nullopt;  // nothing there, or a template's placeholder
  }
  return format_span(password, at, kUrlCredentials, Rank::kContext);
}

// "Bearer <token>" as in an Authorization header: the token.
std::optional<Span> scan_bearer(std::string_view text, std::size_t pos) {
  if (!starts_with_nocase_at(text, pos, "bearer ")) return std::nullopt;
  std::size_t begin = pos + 7;
  while (begin < text.size() && text[begin] == ' ') ++begin;
  std::size_t end = begin;
  while (end < text.size() && (is_alnum(text[end]) || std::string_view("._~+/=-").find(text[end]) !=
                                                          std::string_view::npos)) {
    ++end;
  }
  constexpr std::size_t kMinToken = 20;
  if (end - begin < kMinToken || !has_digit(text.substr(begin, end - begin))) return std::nullopt;
  return format_span(begin, end, kBearerToken, Rank::kContext);
}

// Formats that are only a secret when they start a word: "task-…" holds no "sk-" key.
std::optional<Span> scan_word_start(std::string_view text, std::size_t pos) {
  switch (text[pos]) {
    case 's':
      return scan_sk_key(text, pos);
    case 'g':
      return scan_github(text, pos);
    case 'A':
      return scan_aws_access_key_id(text, pos);
    case 'x':
      return scan_slack_token(text, pos);
    case 'e':
      return scan_jwt(text, pos);
    default:
      return std::nullopt;
  }
}

// Formats found by what surrounds them; their span may start after `pos`.
std::optional<Span> scan_anywhere(std::string_view text, std::size_t pos, KeyBlockIndex& keys) {
  switch (text[pos]) {
    case 's':
    case 'S':
      return scan_aws_secret_value(text, pos);
    case 'h':
      return scan_slack_webhook(text, pos);
    case '-':
      return scan_private_key(text, pos, keys);
    case ':':
      return scan_url_credentials(text, pos);
    case 'b':
    case 'B':
      return scan_bearer(text, pos);
    default:
      return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// The environment

std::string upper_ascii(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return upper;
}

// Names whose values are secrets, beyond the *_KEY, *_TOKEN, … rules.
constexpr std::array<std::string_view, 12> kSecretNames = {"ANTHROPIC_API_KEY",
                                                           "OPENAI_API_KEY",
                                                           "GITHUB_TOKEN",
                                                           "GH_TOKEN",
                                                           "GITHUB_PAT",
                                                           "AWS_SECRET_ACCESS_KEY",
                                                           "SDDSH_TRACKER_TOKEN",
                                                           "PGPASSWORD",
                                                           "MYSQL_PWD",
                                                           "TOKEN",
                                                           "SECRET",
                                                           "API_KEY"};

bool is_secret_name(std::string_view name) {
  const std::string upper = upper_ascii(name);
  const std::string_view n = upper;
  if (std::find(kSecretNames.begin(), kSecretNames.end(), n) != kSecretNames.end()) return true;
  // Where a secret is kept is not a secret: PASSWORD_STORE_DIR, GIT_TOKEN_FILE.
  for (std::string_view place : {"_DIR", "_FILE", "_PATH", "_SOCK", "_HELPER"}) {
    if (n.ends_with(place)) return false;
  }
  for (std::string_view suffix :
       {"_KEY", "_TOKEN", "_SECRET", "_PASS", "_PWD", "_PASSPHRASE", "_APIKEY"}) {
    if (n.ends_with(suffix)) return true;
  }
  return n.find("PASSWORD") != std::string_view::npos || n.find("PASSWD") != std::string_view::npos;
}

// A variable's name made safe for a marker: "env:NAME".
std::string environment_kind(std::string_view name) {
  std::string kind = "env:";
  for (char c : name.substr(0, kMaxMarkerKindBytes - 4)) kind += is_word(c) || c == '.' ? c : '_';
  return kind;
}

// How a value looks inside JSON text, when that differs from the value.
std::optional<std::string> json_spelling(const std::string& value) {
  std::string quoted;
  try {
    quoted = nlohmann::json(value).dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not UTF-8: no JSON writer would write it
  }
  std::string spelling = quoted.substr(1, quoted.size() - 2);
  if (spelling == value || spelling.size() < kMinEnvSecretBytes) return std::nullopt;
  return spelling;
}

// ---------------------------------------------------------------------------------------------
// Span clean-up

// Spans never cut a UTF-8 character: a JSON writer would reject what is left of it.
void widen_to_characters(std::string_view text, Span& span) {
  for (int step = 0; step < 3 && span.begin > 0 && span.begin < text.size() &&
                     is_utf8_continuation(text[span.begin]);
       ++step) {
    --span.begin;
  }
  for (int step = 0; step < 3 && span.end < text.size() && is_utf8_continuation(text[span.end]);
       ++step) {
    ++span.end;
  }
}

// The parts of `span` outside our markers (sorted, disjoint), appended to `out`.
void append_outside_markers(const Span& span, const std::vector<Span>& markers,
                            std::vector<Span>& out) {
  auto marker = std::lower_bound(markers.begin(), markers.end(), span.begin,
                                 [](const Span& m, std::size_t at) { return m.end <= at; });
  Span rest = span;
  for (; marker != markers.end() && marker->begin < rest.end; ++marker) {
    if (marker->begin > rest.begin)
      out.push_back(Span{rest.begin, marker->begin, rest.kind, rest.rank});
    rest.begin = std::max(rest.begin, marker->end);
  }
  if (rest.begin < rest.end) out.push_back(rest);
}

// Which of two overlapping findings names the merged span.
const Span& stronger(const Span& a, const Span& b) {
  if (a.size() != b.size()) return a.size() > b.size() ? a : b;
  return b.rank > a.rank ? b : a;
}

// Sorted, disjoint spans; overlapping findings become one.
std::vector<Span> merge_overlaps(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Span> merged;
  for (const Span& span : spans) {
    if (merged.empty() || span.begin >= merged.back().end) {
      merged.push_back(span);
      continue;
    }
    Span& last = merged.back();
    const Span& named = stronger(last, span);
    last = Span{last.begin, std::max(last.end, span.end), named.kind, named.rank};
  }
  return merged;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The engine: what create() compiled, shared by copies of a Redactor.

class RedactionEngine {
 public:
  struct Literal {
    std::string value;
    std::string kind;
  };
  struct Pattern {
    std::string source;
    std::regex regex;
  };

  void add_literal(std::string value, std::string kind);
  void add_pattern(std::string source, std::regex regex) {
    patterns_.push_back(Pattern{std::move(source), std::move(regex)});
  }
  std::vector<std::string> literal_kinds() const;
  bool has_patterns() const { return !patterns_.empty(); }

  // The spans to replace in `text`: sorted, disjoint, outside our markers.
  std::vector<Span> find(std::string_view text) const;

 private:
  std::optional<Span> literal_at(std::string_view text, std::size_t pos) const;
  std::optional<Span> format_at(std::string_view text, std::size_t pos, std::size_t last_match_end,
                                KeyBlockIndex& keys) const;
  void find_patterns(std::string_view text, std::vector<Span>& spans) const;
  void find_in_window(std::string_view text, std::size_t begin, std::size_t end,
                      std::vector<Span>& spans) const;

  std::vector<Literal> literals_;
  // Literal indexes by their first byte, longest first.
  std::array<std::vector<std::uint32_t>, 256> literals_by_first_byte_{};
  // Bytes where a format or a literal can start: the scan skips all others in a tight loop.
  std::array<bool, 256> starts_something_ = make_starts_something();

  static std::array<bool, 256> make_starts_something() {
    std::array<bool, 256> starts{};
    for (std::size_t byte = 0; byte < starts.size(); ++byte) {
      starts[byte] = (kCharClasses[byte] & kTrigger) != 0;
    }
    return starts;
  }
  std::vector<Pattern> patterns_;
};

void RedactionEngine::add_literal(std::string value, std::string kind) {
  const bool known = std::any_of(literals_.begin(), literals_.end(),
                                 [&](const Literal& literal) { return literal.value == value; });
  if (known) return;  // the same secret in two variables: the first one names it
  starts_something_[static_cast<unsigned char>(value.front())] = true;
  auto& bucket = literals_by_first_byte_[static_cast<unsigned char>(value.front())];
  bucket.push_back(static_cast<std::uint32_t>(literals_.size()));
  literals_.push_back(Literal{std::move(value), std::move(kind)});
  std::stable_sort(bucket.begin(), bucket.end(), [this](std::uint32_t a, std::uint32_t b) {
    return literals_[a].value.size() > literals_[b].value.size();
  });
}

std::vector<std::string> RedactionEngine::literal_kinds() const {
  std::vector<std::string> kinds;
  for (const Literal& literal : literals_) {
    if (std::find(kinds.begin(), kinds.end(), literal.kind) == kinds.end()) {
      kinds.push_back(literal.kind);
    }
  }
  return kinds;
}

std::optional<Span> RedactionEngine::literal_at(std::string_view text, std::size_t pos) const {
  for (std::uint32_t index : literals_by_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const Literal& literal = literals_[index];
    if (starts_with_at(text, pos, literal.value)) {
      return Span{pos, pos + literal.value.size(), literal.kind, Rank::kEnvironment};
    }
  }
  return std::nullopt;
}

std::optional<Span> RedactionEngine::format_at(std::string_view text, std::size_t pos,
                                               std::size_t last_match_end,
                                               KeyBlockIndex& keys) const {
  if (auto span = scan_word_start(text, pos)) {
    // A secret right after another one starts a word too: once the first is replaced, it would.
    const bool word_start = pos == 0 || pos == last_match_end || !is_word(text[pos - 1]) ||
                            escape_sequence_ends_at(text, pos) || json_escape_ends_at(text, pos);
    if (word_start) return span;
  }
  return scan_anywhere(text, pos, keys);
}

std::vector<Span> RedactionEngine::find(std::string_view text) const {
  std::vector<Span> spans;
  std::vector<Span> markers;
  KeyBlockIndex keys(text);
  std::size_t last_match_end = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && !starts_something_[static_cast<unsigned char>(text[pos])]) ++pos;
    if (pos == text.size()) break;
    const bool trigger = has_class(text[pos], kTrigger);
    if (const std::size_t marker = marker_at(text, pos); marker != 0) {
      markers.push_back(Span{pos, pos + marker, kCustom, Rank::kPattern});
      pos += marker;
      last_match_end = pos;
      continue;
    }
    std::optional<Span> found = trigger ? format_at(text, pos, last_match_end, keys) : std::nullopt;
    // A span found by its context (a URL's password) starts later: what lies before it is
    // still scanned, and so is the span itself, which may hold a more specific format.
    if (found && found->begin != pos) {
      spans.push_back(*found);
      found.reset();
    }
    if (auto literal = literal_at(text, pos)) {
      if (!found || literal->size() > found->size()) found = literal;
    }
    if (!found) {
      ++pos;
      continue;
    }
    spans.push_back(*found);
    pos = found->end;
    last_match_end = pos;
  }
  find_patterns(text, spans);
  std::vector<Span> clean;
  clean.reserve(spans.size());
  for (Span& span : spans) {
    widen_to_characters(text, span);
    append_outside_markers(span, markers, clean);
  }
  return merge_overlaps(std::move(clean));
}

void RedactionEngine::find_patterns(std::string_view text, std::vector<Span>& spans) const {
  if (patterns_.empty()) return;
  std::size_t line = 0;
  while (line < text.size()) {
    std::size_t line_end = text.find('\n', line);
    if (line_end == std::string_view::npos) line_end = text.size();
    for (std::size_t window = line; window < line_end; window += kRegexWindowStep) {
      find_in_window(text, window, std::min(line_end, window + kRegexWindowBytes), spans);
      if (window + kRegexWindowBytes >= line_end) break;
    }
    line = line_end + 1;
  }
}

void RedactionEngine::find_in_window(std::string_view text, std::size_t begin, std::size_t end,
                                     std::vector<Span>& spans) const {
  const char* const base = text.data();
  // A window that starts inside a line must not match "^" or a word boundary at its start.
  const bool inside_line = begin > 0 && text[begin - 1] != '\n';
  const auto flags =
      inside_line ? std::regex_constants::match_prev_avail : std::regex_constants::match_default;
  for (const Pattern& pattern : patterns_) {
    try {
      for (std::cregex_iterator it(base + begin, base + end, pattern.regex, flags), last;
           it != last; ++it) {
        const auto& match = *it;
        const std::size_t group = match.size() > 1 && match[1].matched ? 1 : 0;
        const auto from = static_cast<std::size_t>(match[group].first - base);
        const auto to = static_cast<std::size_t>(match[group].second - base);
        if (to > from) spans.push_back(Span{from, to, kCustom, Rank::kPattern});
      }
    } catch (const std::exception&) {
      // std::regex gave up (too complex): fail closed, the whole window is redacted.
      spans.push_back(Span{begin, end, kCustom, Rank::kPattern});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// RedactionSummary

nlohmann::json RedactionSummary::to_json() const {
  nlohmann::json counted = nlohmann::json::object();
  for (const auto& [kind, count] : counts) counted[kind] = count;
  return counted;
}

std::size_t RedactionSummary::total() const {
  return std::accumulate(counts.begin(), counts.end(), std::size_t{0},
                         [](std::size_t sum, const auto& entry) { return sum + entry.second; });
}

void RedactionSummary::merge(const RedactionSummary& other) {
  for (const auto& [kind, count] : other.counts) counts[kind] += count;
}

std::string redaction_marker(std::string_view kind) {
  std::string marker(kMarkerPrefix);
  marker += kind;
  marker += ']';
  return marker;
}

// ---------------------------------------------------------------------------------------------
// Redactor

namespace {

// Replaces `spans` (sorted, disjoint) in `text`, counting them in `summary`.
std::string replace_spans(std::string_view text, const std::vector<Span>& spans,
                          RedactionSummary& summary) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const Span& span : spans) {
    out.append(text.substr(pos, span.begin - pos));
    out += redaction_marker(span.kind);
    ++summary.counts[std::string(span.kind)];
    pos = span.end;
  }
  out.append(text.substr(pos));
  return out;
}

// The parts of `joined` (the chunks one after the other, chunk i ending at ends[i]) that remain.
std::vector<std::string> replace_spans_in_chunks(std::string_view joined,
                                                 const std::vector<std::size_t>& ends,
                                                 const std::vector<Span>& spans,
                                                 RedactionSummary& summary) {
  std::vector<std::string> chunks;
  chunks.reserve(ends.size());
  std::size_t next_span = 0;
  std::size_t chunk_begin = 0;
  for (std::size_t chunk_end : ends) {
    std::string out;
    out.reserve(chunk_end - chunk_begin);
    std::size_t pos = chunk_begin;
    while (next_span < spans.size() && spans[next_span].begin < chunk_end) {
      const Span& span = spans[next_span];
      if (span.begin >= chunk_begin) {  // the secret starts here: the marker goes here
        out.append(joined.substr(pos, span.begin - pos));
        out += redaction_marker(span.kind);
        ++summary.counts[std::string(span.kind)];
      }
      pos = std::min(span.end, chunk_end);
      if (span.end > chunk_end) break;  // it goes on in the next chunk
      ++next_span;
    }
    out.append(joined.substr(pos, chunk_end - pos));
    chunks.push_back(std::move(out));
    chunk_begin = chunk_end;
  }
  return chunks;
}

// Redacts every string in a JSON value, keys kept. Iterative: the value may nest deeply.
template <typename Json>
Json redact_strings(const Json& value, Redactor& redactor) {
  Json result;
  std::vector<std::pair<const Json*, Json*>> pending{{&value, &result}};
  while (!pending.empty()) {
    const auto [from, to] = pending.back();
    pending.pop_back();
    if (from->is_string()) {
      *to = redactor.redact(from->template get_ref<const typename Json::string_t&>());
    } else if (from->is_array()) {
      const auto& items = from->template get_ref<const typename Json::array_t&>();
      *to = Json::array();
      auto& copies = to->template get_ref<typename Json::array_t&>();
      copies.resize(items.size());
      for (std::size_t i = 0; i < items.size(); ++i) pending.emplace_back(&items[i], &copies[i]);
    } else if (from->is_object()) {
      const auto& members = from->template get_ref<const typename Json::object_t&>();
      *to = Json::object();
      // All keys first: inserting into an ordered_json object moves its earlier members.
      for (const auto& member : members) (*to)[member.first] = nullptr;
      // Same keys in the same order on both sides (sorted, or as inserted): walk them together.
      auto copy = to->template get_ref<typename Json::object_t&>().begin();
      for (auto member = members.begin(); member != members.end(); ++member, ++copy) {
        pending.emplace_back(&member->second, &copy->second);
      }
    } else {
      *to = *from;
    }
  }
  return result;
}

}  // namespace

Redactor::Redactor(std::shared_ptr<const RedactionEngine> engine) : engine_(std::move(engine)) {}

Result<Redactor> Redactor::create(const std::vector<std::string>& environment,
                                  const std::vector<std::string>& extra_patterns) {
  auto engine = std::make_shared<RedactionEngine>();
  for (const std::string& entry : environment) {
    const std::size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) continue;
    const std::string_view name = std::string_view(entry).substr(0, equals);
    std::string value = entry.substr(equals + 1);
    if (value.size() < kMinEnvSecretBytes || !is_secret_name(name)) continue;
    const std::string kind = environment_kind(name);
    if (auto spelling = json_spelling(value)) engine->add_literal(std::move(*spelling), kind);
    engine->add_literal(std::move(value), kind);
  }
  for (const std::string& source : extra_patterns) {
    if (source.empty()) return Failure{Error{0, "redaction pattern \"\" is empty"}};
    try {
      engine->add_pattern(source, std::regex(source, std::regex::ECMAScript));
    } catch (const std::exception& error) {
      return Failure{
          Error{0, "redaction pattern \"" + source + "\" is not a valid regex: " + error.what()}};
    }
  }
  return Redactor(std::move(engine));
}

std::string Redactor::redact(std::string_view text) {
  auto spans = engine_->find(text);
  std::string out = replace_spans(text, spans, summary_);
  // An extra pattern can match anew where a marker replaced what stopped it (say a blank in a
  // private key's header); the built-in formats never do. Redact until nothing more is found.
  for (int round = 1; round < kMaxRounds && !spans.empty() && engine_->has_patterns(); ++round) {
    spans = engine_->find(out);
    out = replace_spans(out, spans, summary_);
  }
  return out;
}

std::vector<std::string> Redactor::redact_chunks(const std::vector<std::string>& chunks) {
  bool found = false;
  std::vector<std::string> out = redact_chunks_once(chunks, found);
  for (int round = 1; round < kMaxRounds && found && engine_->has_patterns(); ++round) {
    out = redact_chunks_once(out, found);  // see redact()
  }
  return out;
}

std::vector<std::string> Redactor::redact_chunks_once(const std::vector<std::string>& chunks,
                                                      bool& found) {
  std::string joined;
  std::vector<std::size_t> ends;
  ends.reserve(chunks.size());
  for (const std::string& chunk : chunks) {
    joined += chunk;
    ends.push_back(joined.size());
  }
  const auto spans = engine_->find(joined);
  found = !spans.empty();
  return replace_spans_in_chunks(joined, ends, spans, summary_);
}

nlohmann::json Redactor::redact_json(const nlohmann::json& value) {
  return redact_strings(value, *this);
}

std::string Redactor::redact_jsonl(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t line = 0;
  while (line < text.size()) {
    std::size_t line_end = text.find('\n', line);
    const bool terminated = line_end != std::string_view::npos;
    if (!terminated) line_end = text.size();
    out += redact_json_line(text.substr(line, line_end - line));
    if (terminated) out += '\n';
    line = line_end + 1;
  }
  return out;
}

std::string Redactor::redact_json_line(std::string_view raw) {
  // The built-in scanners read JSON text as well as its strings (escaped newlines, escape codes
  // spelt \u001b, values as JSON spells them), so a line where they find nothing needs no
  // parsing. Extra patterns are meant for the strings' values: those lines are always parsed.
  if (!engine_->has_patterns() && engine_->find(raw).empty()) return std::string(raw);
  const auto parsed = nlohmann::ordered_json::parse(raw, nullptr, false);
  if (parsed.is_discarded()) return redact(raw);
  const std::size_t before = summary_.total();
  const auto redacted = redact_strings(parsed, *this);
  if (summary_.total() == before) return std::string(raw);  // kept byte for byte
  std::string line =
      redacted.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (raw.ends_with('\r')) line += '\r';
  return line;
}

const RedactionSummary& Redactor::summary() const {
  return summary_;
}

void Redactor::reset_summary() {
  summary_ = RedactionSummary{};
}

std::vector<std::string> Redactor::environment_kinds() const {
  return engine_->literal_kinds();
}

}  // namespace sddsh::recorder
