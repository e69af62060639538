#pragma once
// Packing one task segment of a recorded session into an outbox entry (docs/outbox.md): the
// slice of the cast, the conversation of its turns, its diffs, the agent's transcripts and a
// SessionMeta, every byte redacted on the way. The bundle itself is left as it is, unless
// redact_bundle_in_place (--redact-local) rewrites it.
#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "recorder/conversation_builder.hpp"
#include "recorder/redaction.hpp"
#include "shell/result.hpp"
#include "tracker-client/outbox.hpp"

namespace sddsh::app {

// "<session-id>.<segment index>": one upload per task segment of a session.
std::string upload_id_for(const std::string& session_id, std::size_t segment_index);

struct PackOptions {
  // A segment packed while its session still runs has no conversation.jsonl yet: it is built
  // from the transcripts then, with these answers when there is none.
  recorder::TerminalAnswers terminal_answers;
};

struct PackedUpload {
  std::string upload_id;
  std::string entry_dir;
  recorder::RedactionSummary redaction;  // what this upload's files lost
};

// Stages the outbox entry of segment `segment_index` of the bundle, bound for `url`/`project`.
// `redactor` is copied: its summary is left alone.
Result<PackedUpload> pack_segment(const tracker::Outbox& outbox, const std::string& url,
                                  const std::string& project, const std::string& bundle_dir,
                                  std::size_t segment_index, const recorder::Redactor& redactor,
                                  const PackOptions& options = {});

// A cast is redacted this much at a time, and the last kCastRedactionOverlapBytes of each batch
// (at least) again with the next one, so a secret split across the boundary is seen whole.
inline constexpr std::size_t kCastRedactionBatchBytes = std::size_t{4} << 20;
// Above the longest private key block the redactor replaces whole (64 KiB between its BEGIN and
// END lines, plus those lines).
inline constexpr std::size_t kCastRedactionOverlapBytes = std::size_t{128} << 10;

// The events of [start, end) of the cast at `source` (end unset: to the end), as a cast of their
// own at `dest`: the header's size is the terminal's at `start`, times count from `start`,
// markers are kept; output and input pass through redact_chunks in batches that overlap, so a
// secret split across events (also across batches) goes, and a long cast is never held whole.
Result<recorder::RedactionSummary> write_cast_slice(const std::string& source,
                                                    const std::string& dest, double start,
                                                    std::optional<double> end,
                                                    const recorder::Redactor& redactor);

// --redact-local: the bundle's cast, conversation, transcript copies and patches are rewritten
// redacted (each atomically), and so are the prompts and argv in session.json, whose warnings
// then say what was replaced (kinds and counts). Only for a session that has ended.
Result<recorder::RedactionSummary> redact_bundle_in_place(const std::string& bundle_dir,
                                                          const recorder::Redactor& redactor);

}  // namespace sddsh::app
