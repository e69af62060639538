#pragma once
// Keeps a copy of the agent's transcript files in the bundle while the session runs: agents
// delete old transcripts (Claude Code after 30 days) and some rewrite theirs. A copy grows with
// what the agent appends and is taken whole again when the agent rewrote the file.
#include <cstdint>
#include <string>
#include <vector>

#include "recorder/session_record.hpp"
#include "shell/result.hpp"

namespace sddsh::recorder {

class TranscriptCopier {
 public:
  explicit TranscriptCopier(std::string bundle_dir);

  // Starts copying `source` (again a no-op when tracked already).
  void track(const std::string& source);
  bool tracks(const std::string& source) const;

  // Brings every copy up to date with its source. A source that vanished keeps its copy.
  // Returns what went wrong, one error per file.
  std::vector<Error> sync();

  // The files copied so far.
  std::vector<TranscriptFileRecord> copies() const;

 private:
  struct Tracked {
    TranscriptFileRecord copy;  // file: "transcript/<name>", relative to the bundle
    bool exists = false;        // copied at least once (the agent may not have written it yet)
    std::int64_t modified_ns = 0;
    std::string tail;  // the copy's last bytes: a source that no longer ends so was rewritten
  };
  Result<void> sync_one(Tracked& tracked);
  Result<void> copy_whole(Tracked& tracked, int source_fd, std::uint64_t size);
  Result<void> append(Tracked& tracked, int source_fd, std::uint64_t size);
  std::string copy_name(const std::string& source) const;

  std::string bundle_dir_;
  std::vector<Tracked> tracked_;
};

}  // namespace sddsh::recorder
