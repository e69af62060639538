// A driver for scripts/bench.d/snapshot.py: keeps snapshot sessions open in one process, as the
// recorder does, and takes snapshots on command, so that a turn snapshot can be timed with its
// session's index already warm.
//   snapshot_probe REPOSITORY       then, one command a line on stdin:
//     open REF                      start a session (a Snapshotter) on REF
//     take REF LABEL...             take a snapshot in that session
//     close REF                     end the session
// Each command answers one line: "ok SECONDS [COMMIT]" (time spent inside sddsh) or "error ...".
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "recorder/git_snapshot.hpp"

namespace {

using sddsh::recorder::Snapshotter;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class Probe {
 public:
  explicit Probe(std::string repository) : repository_(std::move(repository)) {}

  std::string run(const std::string& line) {
    std::istringstream words(line);
    std::string command, ref;
    words >> command >> ref;
    std::string label;
    std::getline(words >> std::ws, label);
    if (command == "open") return open(ref);
    if (command == "take") return take(ref, label);
    if (command == "close") return sessions_.erase(ref) ? "ok 0" : "error no session " + ref;
    return "error unknown command: " + line;
  }

 private:
  std::string open(const std::string& ref) {
    auto start = Clock::now();
    auto snapshotter = Snapshotter::open(repository_, ref);
    if (!snapshotter) return "error " + snapshotter.error().message;
    double elapsed = seconds_since(start);
    sessions_.insert_or_assign(ref, std::move(*snapshotter));
    return "ok " + std::to_string(elapsed);
  }

  std::string take(const std::string& ref, const std::string& label) {
    auto session = sessions_.find(ref);
    if (session == sessions_.end()) return "error no session " + ref;
    auto start = Clock::now();
    auto snapshot = session->second.take(label);
    if (!snapshot) return "error " + snapshot.error().message;
    return "ok " + std::to_string(seconds_since(start)) + " " + snapshot->commit;
  }

  std::string repository_;
  std::map<std::string, Snapshotter> sessions_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: snapshot_probe REPOSITORY  (commands on stdin: open REF, take REF LABEL, "
                 "close REF)\n";
    return 2;
  }
  Probe probe(argv[1]);
  std::string line;
  while (std::getline(std::cin, line)) std::cout << probe.run(line) << std::endl;
  return 0;
}
