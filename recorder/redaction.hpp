#pragma once
// Redaction of secrets before a session leaves the machine (issue 7, docs/redaction.md). The
// built-in token formats are found by hand-written scanners, not std::regex: a 100 MB cast must go
// through fast, and std::regex recurses once per character on long input. Nothing here throws.
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shell/result.hpp"

namespace sddsh::recorder {

// What a redactor replaced: kinds and counts, never the values.
struct RedactionSummary {
  std::map<std::string, std::size_t> counts;  // kind → how many; never values
  nlohmann::json to_json() const;             // {"anthropic_key":2,…}
  std::size_t total() const;
  void merge(const RedactionSummary& other);
};

// The text that replaces a secret: "[REDACTED:kind]".
std::string redaction_marker(std::string_view kind);

class RedactionEngine;  // the compiled scanners; shared by copies of a Redactor

// Cheap to copy: copies share what create() compiled and count on their own. One thread at a
// time per copy.
class Redactor {
 public:
  // environment: "NAME=VALUE" strings (the process's environ). Values of at least 8 bytes of
  // secret-looking variables (*_KEY, *_TOKEN, *_SECRET, *_PASS, *PASSWORD*, known names such as
  // GH_TOKEN) become literal secrets of kind "env:NAME"; add "SDDSH_TRACKER_TOKEN=<token>" for a
  // token read from a file. extra_patterns: ECMAScript regexes from the config (kind "custom"),
  // matched line by line (group 1 only, when the pattern has a group); a bad one is an error
  // naming it.
  static Result<Redactor> create(const std::vector<std::string>& environment,
                                 const std::vector<std::string>& extra_patterns = {});

  // Every secret in `text` replaced by "[REDACTED:kind]". Works on plain text, terminal output,
  // unified diffs and raw JSON text alike.
  std::string redact(std::string_view text);
  // A sequence of output chunks in order (a cast's "o" events). A secret split across chunks is
  // found too: its first chunk gets the marker where the secret began, later chunks lose their
  // part.
  std::vector<std::string> redact_chunks(const std::vector<std::string>& chunks);
  // A JSON value: every string in it (keys kept) redacted.
  nlohmann::json redact_json(const nlohmann::json& value);
  // JSON lines text (conversation.jsonl, native transcripts): each line that holds a secret is
  // parsed, its strings redacted and written back with its keys in their original order; other
  // lines stay byte for byte. A line that is not JSON is redacted as text.
  std::string redact_jsonl(std::string_view text);

  const RedactionSummary& summary() const;  // everything this redactor replaced so far
  void reset_summary();                     // e.g. between two task segments

  // The literal secrets taken from the environment: their kinds only (for logs and tests).
  std::vector<std::string> environment_kinds() const;

 private:
  explicit Redactor(std::shared_ptr<const RedactionEngine> engine);
  std::vector<std::string> redact_chunks_once(const std::vector<std::string>& chunks, bool& found);
  std::string redact_json_line(std::string_view raw);

  std::shared_ptr<const RedactionEngine> engine_;
  RedactionSummary summary_;
};

}  // namespace sddsh::recorder
