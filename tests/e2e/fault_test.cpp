// Fault injection through the real binaries: sddsh killed with SIGKILL at random moments (then
// `sddsh recover`), the agent killed by each common signal, the store's file system full, the
// tracker refusing, hanging, losing a commit's reply or cutting an upload, and bundles damaged on
// disk. Each fault must leave what was recorded readable, lose at most the last second, never
// duplicate an upload, and get a clear one-line error rather than a crash.
//
// The kill moments come from a seed printed by each test; SDDSH_FAULT_SEED=N repeats a run.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "fault_proxy.hpp"
#include "harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace sddsh::e2e;
using nlohmann::json;
using sddsh::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The end of a long output, for a failure message.
std::string tail(const std::string& text) { return text.size() > 2000 ? "..." + text.substr(text.size() - 2000) : text; }

std::uint64_t fault_seed() {
  if (const char* text = std::getenv("SDDSH_FAULT_SEED")) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

// Prints the seed where ctest's log keeps it, and in the test's XML properties.
std::uint64_t announce_seed() {
  const std::uint64_t seed = fault_seed();
  std::cout << "[   SEED   ] " << seed << " (SDDSH_FAULT_SEED=" << seed << " repeats this run)" << std::endl;
  testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

// sddsh with its store at `store`.
std::vector<std::string> sddsh_at(const std::string& store, std::vector<std::string> args) {
  std::vector<std::string> argv{"env", "SDDSH_STORE=" + store, sddsh_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> bundles_in(const std::string& store) {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(store + "/sessions", error))
    if (entry.is_directory()) found.push_back(entry.path());
  return found;
}

// A cast read by the test itself: every line must be JSON (the header an object, the events
// [time, code, data] arrays); the output events' data, joined.
struct CastText {
  bool header = false;
  std::vector<std::string> bad_lines;  // "line N: ..."
  std::string output;
  std::size_t events = 0;
};

CastText read_cast_text(const std::string& path) {
  CastText cast;
  std::size_t number = 0;
  for (const auto& line : split_lines(read_file(path))) {
    ++number;
    const json value = json::parse(line, nullptr, false);
    if (number == 1) {
      cast.header = value.is_object() && value.value("version", 0) == 2;
      continue;
    }
    if (!value.is_array() || value.size() != 3 || !value[0].is_number() || !value[1].is_string() ||
        !value[2].is_string()) {
      cast.bad_lines.push_back("line " + std::to_string(number) + ": " + line.substr(0, 80));
      continue;
    }
    ++cast.events;
    if (value[1] == "o") cast.output += value[2].get<std::string>();
  }
  return cast;
}

json show_json(const std::string& store, const std::string& session) {
  auto shown = run_piped(sddsh_at(store, {"show", "--json", session}));
  EXPECT_EQ(exit_code(shown.status), 0) << shown.err;
  json value = json::parse(shown.out, nullptr, false);
  EXPECT_TRUE(value.is_object()) << shown.out;
  return value;
}

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Holds the PTY's output flowing (a TUI that cannot write its frames stops reading its agent)
// for `time`: the wait of a test that kills at a chosen moment, not a synchronisation.
void keep_reading(PtyProcess& terminal, Clock::duration time) {
  (void)terminal.wait_for_output("\x01never printed\x02", time);
}

// Waits until no process has `marker` in its command line; kills those left at the deadline.
void wait_for_agents_gone(const std::string& marker) {
  if (wait_until([&] { return processes_matching(marker).empty(); }, 10s)) return;
  for (pid_t pid : processes_matching(marker)) ::kill(pid, SIGKILL);
  ADD_FAILURE() << "agent processes outlived their sddsh by 10 s: " << marker;
}

// ---------------------------------------------------------------------------------------------
// kill -9 of sddsh at random moments

// The agent stand-in: a numbered line every 50 ms. Once its write has returned, the line and
// that moment (Unix ns) go to `log`, which is the truth of what was printed and when.
std::string numbered_lines_agent(const std::string& log, const std::string& marker) {
  return ": " + marker + "; i=0; while :; do i=$((i+1)); echo \"line $i\"; echo \"line $i $(date +%s%N)\" >> " +
         shell_quote(log) + "; sleep 0.05; done";
}

struct PrintedLine {
  std::string text;  // "line 12"
  std::int64_t at_ns = 0;
};

std::vector<PrintedLine> printed_lines(const std::string& log) {
  std::vector<PrintedLine> lines;
  for (const auto& line : split_lines(read_file(log))) {
    const auto space = line.rfind(' ');
    if (!line.starts_with("line ") || space == std::string::npos) continue;
    lines.push_back({line.substr(0, space), std::strtoll(line.c_str() + space + 1, nullptr, 10)});
  }
  return lines;
}

class KillNine : public testing::TestWithParam<bool> {};

TEST_P(KillNine, RecoverKeepsEverythingButTheLastSecond) {
  const bool tui = GetParam();
  std::mt19937_64 random(announce_seed());
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    // The first round dies while sddsh starts; the others while the agent prints.
    const int delay_ms = round == 0 ? std::uniform_int_distribution<int>(0, 300)(random)
                                    : std::uniform_int_distribution<int>(300, 3500)(random);
    SCOPED_TRACE("round " + std::to_string(round) + ": SIGKILL after " + std::to_string(delay_ms) + " ms");
    TempDir place("sddsh-kill9");
    const std::string store = place / "store";
    const std::string log = place / "printed.log";
    const std::string marker = "kill9-agent-" + std::to_string(::getpid()) + "-" + std::to_string(round);
    std::vector<std::string> args;
    if (!tui) args.push_back("--no-tui");
    for (const char* arg : {"--", "sh", "-c"}) args.emplace_back(arg);
    args.push_back(numbered_lines_agent(log, marker));
    PtyProcess terminal(sddsh_at(store, args), {24, 100, 0, 0}, {"TERM=xterm-256color"});
    keep_reading(terminal, std::chrono::milliseconds(delay_ms));
    const std::int64_t killed_at = unix_now_ns();
    ASSERT_EQ(::kill(terminal.pid(), SIGKILL), 0);
    ASSERT_TRUE(terminal.wait_exit(10s));
    wait_for_agents_gone(marker);

    auto recovered = run_piped(sddsh_at(store, {"recover"}));
    ASSERT_EQ(exit_code(recovered.status), 0) << recovered.out << recovered.err;
    EXPECT_EQ(recovered.err, "");

    const std::vector<PrintedLine> printed = printed_lines(log);
    std::vector<PrintedLine> must_keep;
    for (const auto& line : printed)
      if (line.at_ns <= killed_at - 1'000'000'000) must_keep.push_back(line);
    const auto bundles = bundles_in(store);
    if (!must_keep.empty()) {
      ASSERT_EQ(bundles.size(), 1u) << "lines were printed over a second before the kill";
    }
    // Whatever the moment, every bundle left is readable and finished now.
    for (const auto& bundle : bundles) {
      const json session = show_json(store, bundle);
      EXPECT_EQ(session.value("status", ""), "recovered") << session.dump(2);
      const CastText cast = read_cast_text(bundle + "/terminal.cast");
      EXPECT_TRUE(cast.header || must_keep.empty()) << "no readable cast header";
      EXPECT_EQ(cast.bad_lines, std::vector<std::string>{}) << "recover leaves only whole events";
      for (const auto& line : must_keep)
        ASSERT_NE(cast.output.find(line.text + "\r\n"), std::string::npos)
            << "lost '" << line.text << "', printed " << (killed_at - line.at_ns) / 1'000'000 << " ms before the kill";
      auto exported = run_piped(sddsh_at(store, {"export", "--format", "cast", bundle}));
      if (cast.header) {
        EXPECT_EQ(exit_code(exported.status), 0) << exported.err;
      } else {
        // Killed before the cast existed: nothing to export, and it says so in one line.
        EXPECT_EQ(exit_code(exported.status), 1);
        EXPECT_NE(exported.err.find("has no terminal recording"), std::string::npos) << exported.err;
      }
      // How much the kill cost, for the log: the newest recorded line's age at the kill.
      std::int64_t newest = 0;
      for (const auto& line : printed)
        if (cast.output.find(line.text + "\r\n") != std::string::npos) newest = line.at_ns;
      std::cout << "round " << round << ": killed after " << delay_ms << " ms, " << printed.size()
                << " lines printed, " << must_keep.size() << " due, last recorded line "
                << (newest ? std::to_string((killed_at - newest) / 1'000'000) + " ms" : std::string("(none)"))
                << " before the kill" << std::endl;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, KillNine, testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "Tui" : "NoTui"; });

// A session killed in the instant between making its bundle directory and writing its first
// session.json leaves a directory with only a lock: nothing recorded, nothing to lose.
TEST(KillNineWhileStarting, ABundleWithNothingInItIsClearedByRecover) {
  TempDir place("sddsh-kill9-start");
  const std::string store = place / "store";
  const std::string bundle = store + "/sessions/3f2a9c1d-0000-4000-8000-00000000dead";
  fs::create_directories(bundle + "/diffs");
  write_file(bundle + "/lock", "");
  auto recovered = run_piped(sddsh_at(store, {"recover"}));
  EXPECT_EQ(exit_code(recovered.status), 0) << recovered.out << recovered.err;
  EXPECT_NE(recovered.out.find("nothing recorded"), std::string::npos) << recovered.out;
  EXPECT_FALSE(fs::exists(bundle));
  auto listed = run_piped(sddsh_at(store, {"sessions"}));
  EXPECT_EQ(exit_code(listed.status), 0);
  EXPECT_EQ(listed.err, "") << "no bundle left to skip";
}

// ---------------------------------------------------------------------------------------------
// The agent killed by a signal

struct SignalCase {
  int signal;
  const char* name;
  bool tui;
};

void PrintTo(const SignalCase& c, std::ostream* os) { *os << (c.tui ? "TUI, SIG" : "no TUI, SIG") << c.name; }

std::vector<SignalCase> signal_cases() {
  std::vector<SignalCase> cases;
  for (bool tui : {false, true})
    for (auto [signal, name] : std::initializer_list<std::pair<int, const char*>>{
             {SIGTERM, "TERM"}, {SIGINT, "INT"}, {SIGHUP, "HUP"}, {SIGKILL, "KILL"}, {SIGQUIT, "QUIT"},
             {SIGSEGV, "SEGV"}, {SIGABRT, "ABRT"}, {SIGPIPE, "PIPE"}})
      cases.push_back({signal, name, tui});
  return cases;
}

class AgentKilledBy : public testing::TestWithParam<SignalCase> {};

TEST_P(AgentKilledBy, SddshExitsWith128PlusNAndTheSessionIsFinished) {
  const SignalCase& c = GetParam();
  TempDir place("sddsh-agent-signal");
  const std::string store = place / "store";
  const std::string pid_file = place / "agent.pid";
  // No core file for QUIT, SEGV and ABRT: exec keeps the shell's limit.
  const std::string script = "ulimit -c 0; echo $$ > " + shell_quote(pid_file) + "; echo agent-up; exec sleep 600";
  std::vector<std::string> args;
  if (!c.tui) args.push_back("--no-tui");
  for (const char* arg : {"--", "sh", "-c"}) args.emplace_back(arg);
  args.push_back(script);
  PtyProcess terminal(sddsh_at(store, args), {24, 100, 0, 0}, {"TERM=xterm-256color"});
  pid_t agent = 0;
  ASSERT_TRUE(wait_until([&] {
    keep_reading(terminal, 10ms);
    agent = static_cast<pid_t>(std::atoi(read_file(pid_file).c_str()));
    return agent > 0 && read_file("/proc/" + std::to_string(agent) + "/comm") == "sleep\n";
  }, 20s)) << "the agent never started:\n" << terminal.output();
  ASSERT_EQ(::kill(agent, c.signal), 0);
  const auto status = terminal.wait_exit(20s);
  ASSERT_TRUE(status) << "sddsh did not end after its agent died of SIG" << c.name;
  EXPECT_EQ(exit_code(*status), 128 + c.signal) << "what a shell reports for SIG" << c.name;
  const auto bundles = bundles_in(store);
  ASSERT_EQ(bundles.size(), 1u);
  const json session = show_json(store, bundles[0]);
  EXPECT_EQ(session.value("status", ""), "finished") << session.dump(2);
  EXPECT_EQ(session.value("exit_code", -1), 128 + c.signal) << session.dump(2);
  EXPECT_NE(read_cast_text(bundles[0] + "/terminal.cast").output.find("agent-up"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Signals, AgentKilledBy, testing::ValuesIn(signal_cases()),
                         [](const auto& param_info) {
                           return std::string(param_info.param.tui ? "Tui" : "NoTui") + "_SIG" + param_info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// The store's file system fills up

// A small tmpfs of its own, unmounted (lazily, so a busy mount cannot fail the test) at the end.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& path, const std::string& size) : path_(path) {
    fs::create_directories(path);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool grow(const std::string& size) {
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

class FullDisk : public testing::TestWithParam<bool> {};

// The agent prints for a while after the store is full: it runs to its own end, sddsh exits
// with its status and says the recording is incomplete, and what was recorded is a readable
// prefix of the output, before and after `sddsh recover` (once there is room again).
TEST_P(FullDisk, TheAgentRunsToItsEndAndTheRecordedPrefixStaysReadable) {
  const bool tui = GetParam();
  TempDir place("sddsh-full");
  const std::string store = place / "store";
  // Room for the bundle's start and the TUI's local tracker (SQLite and its WAL, ~40 KB), and
  // for part of the cast only.
  SmallTmpfs disk(store, "96k");
  if (!disk.mounted())
    GTEST_SKIP() << "cannot mount a 96 KB tmpfs for the store (needs root or CAP_SYS_ADMIN): " << disk.error();
  const std::string done = place / "agent-done";
  // About 120 KB of output in small events over ~3 s, then a mark outside the store, exit 3.
  const std::string script = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo \"fill $i $(head -c 400 /dev/zero | tr "
                             "'\\0' x)\"; sleep 0.005; done; echo agent-done > " + shell_quote(done) + "; exit 3";
  std::vector<std::string> args;
  if (!tui) args.push_back("--no-tui");
  for (const char* arg : {"--", "sh", "-c"}) args.emplace_back(arg);
  args.push_back(script);
  PtyProcess terminal(sddsh_at(store, args), {24, 100, 0, 0}, {"TERM=xterm-256color"});
  const auto status = terminal.wait_exit(60s);
  ASSERT_TRUE(status) << tail(terminal.output());
  EXPECT_EQ(exit_code(*status), 3) << "the agent's status\n" << tail(terminal.output());
  EXPECT_EQ(read_file(done), "agent-done\n") << "the agent did not run to its end";
  EXPECT_NE(terminal.output().find("is incomplete"), std::string::npos) << tail(terminal.output());
  EXPECT_NE(terminal.output().find("No space left on device"), std::string::npos) << tail(terminal.output());
  if (!tui) {
    EXPECT_NE(terminal.output().find("fill 300 "), std::string::npos) << "all output reached the terminal";
  }

  const auto bundles = bundles_in(store);
  ASSERT_EQ(bundles.size(), 1u);
  const std::string bundle = bundles[0];
  // The recorded lines are fill 1 .. fill K, in order, nothing skipped.
  auto expect_recorded_prefix = [&](const CastText& cast, bool whole) {
    EXPECT_TRUE(cast.header);
    if (whole) {
      EXPECT_EQ(cast.bad_lines, std::vector<std::string>{});
    }
    EXPECT_LE(cast.bad_lines.size(), 1u) << "at most a cut last line";
    int recorded = 0;
    while (cast.output.find("fill " + std::to_string(recorded + 1) + " ") != std::string::npos) ++recorded;
    EXPECT_GE(recorded, 10) << "the store had room for more than this";
    EXPECT_LT(recorded, 300) << "the store cannot have held it all";
    for (int later = recorded + 2; later <= 300; ++later)
      EXPECT_EQ(cast.output.find("fill " + std::to_string(later) + " "), std::string::npos)
          << "line " << later << " recorded after a gap";
    return recorded;
  };
  // Still full: every reader works on what is there.
  const int before = expect_recorded_prefix(read_cast_text(bundle + "/terminal.cast"), false);
  show_json(store, bundle);
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"show", bundle}, {"export", bundle}, {"sessions"}, {"recover"}}) {
    auto r = run_piped(sddsh_at(store, command));
    EXPECT_TRUE(exit_code(r.status) == 0 || exit_code(r.status) == 1) << command[0] << ": " << r.err;
    if (exit_code(r.status) != 0) {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << command[0] << ": one line\n" << r.err;
    }
  }
  // Room again: recover finishes whatever the full disk left unfinished, and loses nothing.
  ASSERT_TRUE(disk.grow("4m")) << std::strerror(errno);
  auto recovered = run_piped(sddsh_at(store, {"recover"}));
  EXPECT_EQ(exit_code(recovered.status), 0) << recovered.out << recovered.err;
  const json session = show_json(store, bundle);
  EXPECT_NE(session.value("status", ""), "running") << session.dump(2);
  const int after = expect_recorded_prefix(read_cast_text(bundle + "/terminal.cast"), true);
  EXPECT_GE(after, before - 1) << "recover may cut a broken last line, nothing more";
  auto exported = run_piped(sddsh_at(store, {"export", "--format", "cast", bundle}));
  EXPECT_EQ(exit_code(exported.status), 0) << exported.err;
}

INSTANTIATE_TEST_SUITE_P(Modes, FullDisk, testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "Tui" : "NoTui"; });

// ---------------------------------------------------------------------------------------------
// The tracker misbehaving while a session uploads

constexpr const char* kProject = "faults";

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

class TrackerFaults : public testing::Test {
 protected:
  void SetUp() override {
    data_ = place_ / "server";
    port_ = free_loopback_port();
    auto made = run_piped({SDDSH_TRACKER_BINARY, "token", "create", "--data", data_, "--project", kProject,
                           "--role", "write", "--label", "alice"});
    ASSERT_EQ(exit_code(made.status), 0) << made.err;
    token_ = made.out.substr(0, made.out.find('\n'));
    server_ = ::fork();
    if (server_ == 0) {
      const std::string listen = "127.0.0.1:" + std::to_string(port_);
      ::execl(SDDSH_TRACKER_BINARY, SDDSH_TRACKER_BINARY, "serve", "--data", data_.c_str(), "--listen",
              listen.c_str(), "--access-log", (place_ / "access.log").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_TRUE(wait_until([&] {
      return exit_code(run_piped({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port_) + "/v1/health"}).status) == 0;
    }, 20s)) << "sddsh-tracker did not start";
    proxy_.emplace(port_);
    fs::create_directories(work_);
  }
  void TearDown() override {
    proxy_.reset();
    if (server_ > 0) {
      ::kill(server_, SIGKILL);
      ::waitpid(server_, nullptr, 0);
    }
  }

  // sddsh against the tracker, through the proxy.
  Finished sddsh(const std::string& args, Clock::duration timeout = 120s) {
    const std::string command = "cd " + shell_quote(work_) + " && exec env SDDSH_STORE=" + shell_quote(store_) +
                                " XDG_CONFIG_HOME=" + shell_quote(place_ / "config") + " SDDSH_ACTOR=alice" +
                                " SDDSH_TRACKER_URL=" + proxy_->url() + " SDDSH_TRACKER_PROJECT=" + kProject +
                                " SDDSH_TRACKER_TOKEN=" + token_ + " " + shell_quote(sddsh_binary()) + " " + args;
    return run_piped({"sh", "-c", command}, "", timeout);
  }
  json sddsh_json(const std::string& args) {
    auto run = sddsh(args);
    EXPECT_EQ(exit_code(run.status), 0) << args << "\n" << run.out << run.err;
    json value = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(value.is_discarded()) << args << "\n" << run.out;
    return value;
  }

  std::string add_task(const std::string& title) {
    return sddsh_json("task add " + shell_quote(title) + " --json").value("id", "");
  }

  // The uploads the server lists for a task, asked directly (not through the proxy).
  json server_sessions(const std::string& task) {
    auto r = run_piped({"curl", "-sf", "-H", "Authorization: Bearer " + token_,
                        "http://127.0.0.1:" + std::to_string(port_) + "/v1/projects/" + kProject + "/tasks/" + task +
                            "/sessions"});
    EXPECT_EQ(exit_code(r.status), 0) << r.err;
    return json::parse(r.out, nullptr, false).value("sessions", json::array());
  }

  // The one local bundle and the server's copy of its upload say the same: every output byte.
  void expect_server_copy_is_whole(const std::string& task) {
    json listed = sddsh_json("sessions --task " + task + " --fetch --json");
    ASSERT_EQ(listed["local"].size(), 1u) << listed.dump(2);
    ASSERT_EQ(listed["fetched"].size(), 1u) << listed.dump(2);
    const CastText local = read_cast_text(listed["local"][0]["bundle"].get<std::string>() + "/terminal.cast");
    const CastText fetched = read_cast_text(listed["fetched"][0].get<std::string>() + "/terminal.cast");
    EXPECT_EQ(fetched.bad_lines, std::vector<std::string>{});
    EXPECT_EQ(fetched.output.size(), local.output.size());
    EXPECT_TRUE(fetched.output == local.output) << "the server's cast differs from the recorded one";
  }

  std::size_t queued_uploads() {
    std::size_t count = 0;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(store_ + "/outbox", error))
      if (!entry.path().filename().string().starts_with(".")) ++count;
    return count;
  }

  TempDir place_{"sddsh-tracker-faults"};
  std::string data_, token_;
  std::string store_ = place_ / "store";
  std::string work_ = place_ / "work";
  int port_ = 0;
  pid_t server_ = -1;
  std::optional<FaultProxy> proxy_;
};

}  // namespace

namespace sddsh::e2e {
void PrintTo(FaultProxy::Mode mode, std::ostream* os) {
  *os << (mode == FaultProxy::Mode::Refuse ? "503" : mode == FaultProxy::Mode::Reset ? "reset" : "other");
}
}  // namespace sddsh::e2e

namespace {

// A server that refuses — answers 503 to everything, or resets every connection: the session
// ends on time with the agent's status, the upload waits in the outbox, and once the server
// serves, one sync sends exactly one copy.
class TrackerRefusing : public TrackerFaults, public testing::WithParamInterface<FaultProxy::Mode> {};

TEST_P(TrackerRefusing, UploadsWaitInTheOutboxAndGoOnceWhenTheServerServes) {
  const std::string task = add_task("Refused");
  ASSERT_FALSE(task.empty());
  proxy_->set_mode(GetParam());
  const auto started = Clock::now();
  auto session = sddsh("--no-tui --task " + task + " -- sh -c 'seq 1 20000; echo refused-run-done; exit 5'");
  const auto took = Clock::now() - started;
  EXPECT_EQ(exit_code(session.status), 5) << session.err;
  EXPECT_NE(session.out.find("refused-run-done"), std::string::npos);
  EXPECT_LT(took, 45s) << "a refusing server holds the session's end up";
  EXPECT_NE(session.err.find("queued"), std::string::npos) << session.err;
  EXPECT_EQ(queued_uploads(), 1u);
  EXPECT_EQ(server_sessions(task).size(), 0u);

  auto refused = sddsh("sync --json");
  EXPECT_NE(exit_code(refused.status), 0) << refused.out;
  EXPECT_EQ(queued_uploads(), 1u) << "a refused upload is kept";

  proxy_->set_mode(FaultProxy::Mode::Pass);
  json synced = sddsh_json("sync --json");
  EXPECT_EQ(synced.value("uploaded", 0), 1) << synced.dump(2);
  json again = sddsh_json("sync --json");
  EXPECT_EQ(again.value("uploaded", -1), 0) << again.dump(2);
  EXPECT_EQ(queued_uploads(), 0u);
  EXPECT_EQ(server_sessions(task).size(), 1u);
  expect_server_copy_is_whole(task);
}

INSTANTIATE_TEST_SUITE_P(Ways, TrackerRefusing, testing::Values(FaultProxy::Mode::Refuse, FaultProxy::Mode::Reset),
                         [](const auto& param_info) {
                           return param_info.param == FaultProxy::Mode::Refuse ? "Http503" : "ConnectionReset";
                         });

// A server that takes the connection and never answers: the session still ends within the
// upload grace (20 s) plus a margin, the upload is queued, and sync sends it once later.
TEST_F(TrackerFaults, AHangingServerDelaysTheEndByTheGraceAtMostAndLosesNothing) {
  const std::string task = add_task("Hanging");
  ASSERT_FALSE(task.empty());
  const std::string go = place_ / "go";
  // The task is claimed through a working server; then it hangs, before the agent ends.
  PtyProcess terminal({"sh", "-c",
                       "cd " + shell_quote(work_) + " && exec env SDDSH_STORE=" + shell_quote(store_) +
                           " XDG_CONFIG_HOME=" + shell_quote(place_ / "config") + " SDDSH_ACTOR=alice" +
                           " SDDSH_TRACKER_URL=" + proxy_->url() + " SDDSH_TRACKER_PROJECT=" + kProject +
                           " SDDSH_TRACKER_TOKEN=" + token_ + " " + shell_quote(sddsh_binary()) + " --no-tui --task " +
                           task + " -- sh -c " +
                           shell_quote("seq 1 20000; echo agent-waits; while [ ! -e " + go +
                                       " ]; do sleep 0.05; done; echo hanging-run-done; exit 4")},
                      {24, 100, 0, 0});
  ASSERT_TRUE(terminal.wait_for_output("agent-waits", 20s)) << tail(terminal.output());
  proxy_->set_mode(FaultProxy::Mode::Hang);
  write_file(go, "");
  ASSERT_TRUE(terminal.wait_for_output("hanging-run-done", 10s)) << tail(terminal.output());
  const auto ended = Clock::now();
  const auto status = terminal.wait_exit(240s);
  const auto took = Clock::now() - ended;
  ASSERT_TRUE(status) << "sddsh still runs 4 minutes after its agent ended:\n" << tail(terminal.output());
  EXPECT_EQ(exit_code(*status), 4);
  EXPECT_LT(took, 30s) << "the upload grace is 20 s";
  std::cout << "sddsh ended " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after its agent, the tracker hanging" << std::endl;
  EXPECT_NE(terminal.output().find("sddsh sync"), std::string::npos) << tail(terminal.output());
  EXPECT_EQ(queued_uploads(), 1u);

  proxy_->set_mode(FaultProxy::Mode::Pass);
  json synced = sddsh_json("sync --json");
  EXPECT_EQ(synced.value("uploaded", 0), 1) << synced.dump(2);
  EXPECT_EQ(queued_uploads(), 0u);
  EXPECT_EQ(server_sessions(task).size(), 1u);
  expect_server_copy_is_whole(task);
}

// The server applies the commit, and its reply is lost: the retry must not make a second copy.
TEST_F(TrackerFaults, ALostCommitReplyIsRetriedWithoutADuplicate) {
  const std::string task = add_task("Lost reply");
  ASSERT_FALSE(task.empty());
  proxy_->lose_commit_replies(1);
  auto session = sddsh("--no-tui --task " + task + " -- sh -c 'seq 1 20000; echo lost-reply-run-done'");
  EXPECT_EQ(exit_code(session.status), 0) << session.err;
  EXPECT_EQ(proxy_->commit_replies_lost(), 1) << "the fault did not happen";
  // Whether the session's own retry or a later sync sends it again, the server holds one.
  (void)sddsh("sync --json");
  EXPECT_GE(proxy_->commits_seen(), 2);
  EXPECT_EQ(queued_uploads(), 0u);
  EXPECT_EQ(server_sessions(task).size(), 1u);
  expect_server_copy_is_whole(task);
}

// The network cuts the connection in the middle of the cast's upload; the server lives on.
TEST_F(TrackerFaults, AConnectionCutMidUploadResumesIntoOneWholeCopy) {
  const std::string task = add_task("Cut");
  ASSERT_FALSE(task.empty());
  proxy_->cut_after_client_bytes(3 << 20);  // inside the cast (about 9 MB)
  auto session = sddsh("--no-tui --task " + task + " -- sh -c 'seq 1 1200000; echo cut-run-done'");
  EXPECT_EQ(exit_code(session.status), 0) << session.err;
  EXPECT_EQ(proxy_->cuts(), 1) << "the fault did not happen";
  (void)sddsh("sync --json");
  EXPECT_EQ(queued_uploads(), 0u);
  EXPECT_EQ(server_sessions(task).size(), 1u);
  expect_server_copy_is_whole(task);
}

// ---------------------------------------------------------------------------------------------
// Damaged bundles: every reader gives a clear one-line error or shows what is good; none crashes

// A finished session with a turn, its conversation and its cast, recorded once per test program.
const std::string& pristine_bundle() {
  static const std::string bundle = [] {
    static TempDir place("sddsh-pristine");
    const std::string store = place / "store";
    PtyProcess terminal(sddsh_at(store, {"--no-tui", "--", "sh", "-c",
                                         "read a; echo \"answer to $a\"; printf '\\033[1;32mgreen\\033[0m\\n'"}),
                        {24, 80, 0, 0});
    wait_until([&] { return fs::exists(bundles_in(store).empty() ? "" : bundles_in(store)[0] + "/terminal.cast"); },
               20s);
    terminal.write("the first prompt\r");
    terminal.wait_for_output("answer to the first prompt", 20s);
    terminal.wait_exit(20s);
    const auto bundles = bundles_in(store);
    return bundles.size() == 1 ? bundles[0] : std::string();
  }();
  return bundle;
}

struct Damage {
  const char* name;
  const char* file;  // the damaged file, which an error should name
  std::function<void(const std::string& bundle)> apply;
};

void PrintTo(const Damage& damage, std::ostream* os) { *os << damage.name; }

std::string garbage(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

void cut_file(const std::string& path, double fraction) {
  const std::string bytes = read_file(path);
  write_file(path, bytes.substr(0, static_cast<std::size_t>(static_cast<double>(bytes.size()) * fraction)));
}

json session_json_of(const std::string& bundle) { return json::parse(read_file(bundle + "/session.json")); }
void set_session_json(const std::string& bundle, const json& value) { write_file(bundle + "/session.json", value.dump()); }

std::vector<Damage> damages() {
  return {
      {"SessionJsonGarbage", "session.json", [](const std::string& b) { write_file(b + "/session.json", garbage(700, 1)); }},
      {"SessionJsonCutInHalf", "session.json", [](const std::string& b) { cut_file(b + "/session.json", 0.5); }},
      {"SessionJsonEmpty", "session.json", [](const std::string& b) { write_file(b + "/session.json", ""); }},
      {"SessionJsonMissing", "session.json", [](const std::string& b) { fs::remove(b + "/session.json"); }},
      {"SessionJsonWrongTypes", "session.json",
       [](const std::string& b) {
         json j = session_json_of(b);
         for (const char* key : {"turns", "git", "terminal", "duration", "argv", "conversation", "stats", "diff",
                                 "transcripts", "task_segments", "agent_info", "exit_code", "started_unix_ms"})
           j[key] = "?";
         j["id"] = 42;
         set_session_json(b, j);
       }},
      {"SessionJsonFromTheFuture", "session.json",
       [](const std::string& b) {
         json j = session_json_of(b);
         j["version"] = 99;
         set_session_json(b, j);
       }},
      {"SessionJsonNamesFilesOutsideTheBundle", "session.json",
       [](const std::string& b) {
         json j = session_json_of(b);
         j["turns"][0]["diff"] = "../../../../../../../../etc/passwd";
         j["git"] = {{"workdir", "/nonexistent"}, {"ref", "refs/sddsh/sessions/x"}, {"branch", "main"}};
         j["diff"] = {{"files", 1}, {"insertions", 1}, {"deletions", 0}, {"patch", "/etc/passwd"}};
         j["transcripts"] = json::array({{{"source", "/nonexistent"}, {"file", "/etc/passwd"}, {"bytes", 1}}});
         j["agent_info"]["kind"] = "claude";
         j.erase("conversation");
         set_session_json(b, j);
       }},
      {"CastCutMidEvent", "terminal.cast",
       [](const std::string& b) {
         const std::string cast = read_file(b + "/terminal.cast");
         write_file(b + "/terminal.cast", cast.substr(0, cast.rfind("green") + 2));
       }},
      {"CastHeaderGarbage", "terminal.cast",
       [](const std::string& b) {
         const std::string cast = read_file(b + "/terminal.cast");
         write_file(b + "/terminal.cast", garbage(40, 2) + cast.substr(cast.find('\n')));
       }},
      {"CastGarbageLineInTheMiddle", "terminal.cast",
       [](const std::string& b) {
         std::string cast = read_file(b + "/terminal.cast");
         cast.insert(cast.find('\n') + 1, garbage(60, 3) + "\n");
         write_file(b + "/terminal.cast", cast);
       }},
      {"CastAllGarbage", "terminal.cast", [](const std::string& b) { write_file(b + "/terminal.cast", garbage(5000, 4)); }},
      {"CastEmpty", "terminal.cast", [](const std::string& b) { write_file(b + "/terminal.cast", ""); }},
      {"CastMissing", "terminal.cast", [](const std::string& b) { fs::remove(b + "/terminal.cast"); }},
      {"ConversationGarbage", "conversation.jsonl",
       [](const std::string& b) { write_file(b + "/conversation.jsonl", garbage(3000, 5)); }},
      {"ConversationCutMidLine", "conversation.jsonl",
       [](const std::string& b) { cut_file(b + "/conversation.jsonl", 0.7); }},
      {"ConversationMissing", "conversation.jsonl", [](const std::string& b) { fs::remove(b + "/conversation.jsonl"); }},
      {"TranscriptGarbage", "transcript",
       [](const std::string& b) {
         // A Claude Code session whose copied transcript is garbage, its conversation not built yet.
         json j = session_json_of(b);
         j["agent_info"]["kind"] = "claude";
         j["transcripts"] = json::array({{{"source", "/nonexistent/t.jsonl"}, {"file", "transcript/t.jsonl"}, {"bytes", 4000}}});
         j.erase("conversation");
         set_session_json(b, j);
         fs::create_directories(b + "/transcript");
         write_file(b + "/transcript/t.jsonl", garbage(4000, 6) + "\n{\"type\":\"user\",\"message\":{\"content\":7}}\n{\"type\":");
         fs::remove(b + "/conversation.jsonl");
       }},
      {"EverythingGarbageAndStillRunning", "session.json",
       [](const std::string& b) {
         json j = session_json_of(b);
         j["status"] = "running";
         set_session_json(b, j);
         write_file(b + "/terminal.cast", garbage(3000, 7));
         write_file(b + "/conversation.jsonl", garbage(3000, 8));
       }},
  };
}

class DamagedBundle : public testing::TestWithParam<Damage> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(pristine_bundle().empty()) << "the session to damage was not recorded";
    id_ = fs::path(pristine_bundle()).filename();
    bundle_ = store_ + "/sessions/" + id_;
    fs::create_directories(store_ + "/sessions");
    fs::copy(pristine_bundle(), bundle_, fs::copy_options::recursive);
    GetParam().apply(bundle_);
  }

  // A reader either works (0) or fails with one line that says what is wrong, naming the
  // damaged file when it is the reason; never a crash, never a traceback.
  Finished expect_clean_outcome(const std::vector<std::string>& args) {
    auto r = run_piped(sddsh_at(store_, args), "", 60s);
    const std::string what = args[0] + (args.size() > 1 ? " " + args[1] : "");
    EXPECT_TRUE(WIFEXITED(r.status)) << what << ": killed by signal " << (WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0)
                                     << "\n" << r.err;
    const int code = exit_code(r.status);
    EXPECT_TRUE(code == 0 || code == 1) << what << ": exit " << code << "\n" << r.err;
    if (code != 0) {
      EXPECT_TRUE(r.err.starts_with("sddsh: ")) << what << ":\n" << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": one line, not:\n" << r.err;
      EXPECT_FALSE(r.err.find("no session") != std::string::npos && r.err.find(GetParam().file) == std::string::npos)
          << what << ": the session is there, damaged; the error must say so:\n" << r.err;
    }
    EXPECT_EQ(r.out.find("root:x:0:0"), std::string::npos) << what << " read a file outside the bundle";
    return r;
  }

  TempDir place_{"sddsh-damaged"};
  std::string store_ = place_ / "store";
  std::string id_, bundle_;
};

TEST_P(DamagedBundle, ReadersFailClearlyOrShowWhatIsGood) {
  for (const std::string& session : {bundle_, id_.substr(0, 8), std::string("last")}) {
    SCOPED_TRACE("SESSION " + session);
    expect_clean_outcome({"show", session});
    expect_clean_outcome({"show", "--json", session});
    expect_clean_outcome({"show", "--conversation", session});
    expect_clean_outcome({"export", session});
    expect_clean_outcome({"export", "--format", "json", session});
    expect_clean_outcome({"diff", session});
    expect_clean_outcome({"diff", "--turn", "1", session});
  }
  // The cast as asciicast: what is readable of it, or an error; never garbage that asciinema
  // would choke on.
  auto cast = expect_clean_outcome({"export", "--format", "cast", bundle_});
  // An empty cast is what a kill between making the file and writing its header leaves.
  if (GetParam().name == std::string_view("CastEmpty") || GetParam().name == std::string_view("CastMissing")) {
    EXPECT_EQ(exit_code(cast.status), 1);
    EXPECT_NE(cast.err.find("has no terminal recording"), std::string::npos) << cast.err;
  }
  if (exit_code(cast.status) == 0) {
    write_file(place_ / "exported.cast", cast.out);
    const CastText text = read_cast_text(place_ / "exported.cast");
    EXPECT_TRUE(text.header) << "exported a cast without a header:\n" << cast.out.substr(0, 200);
    EXPECT_EQ(text.bad_lines, std::vector<std::string>{}) << "exported broken events";
  }
  expect_clean_outcome({"sessions"});
  expect_clean_outcome({"sessions", "--json"});
  auto recovered = expect_clean_outcome({"recover"});
  // What recover leaves is readable again when it could finish the session.
  if (exit_code(recovered.status) == 0) expect_clean_outcome({"show", bundle_});
}

TEST_P(DamagedBundle, ReplayPlaysWhatIsGoodOrSaysWhyNot) {
  PtyProcess terminal(sddsh_at(store_, {"replay", bundle_}), {30, 120, 0, 0}, {"TERM=xterm-256color"});
  // Either it shows the player (its status line names the keys) or it has ended with an error.
  std::optional<int> status;
  const bool settled = wait_until([&] {
    if (terminal.wait_for_output("help", 50ms)) return true;
    status = terminal.wait_exit(0ms);
    return status.has_value();
  }, 30s);
  ASSERT_TRUE(settled) << "replay neither played nor ended:\n" << terminal.output();
  if (!status) {
    terminal.write("G");
    terminal.write("q");
    status = terminal.wait_exit(20s);
    ASSERT_TRUE(status) << "q did not end the replay";
  }
  EXPECT_TRUE(WIFEXITED(*status)) << "replay crashed:\n" << terminal.output();
  const int code = exit_code(*status);
  EXPECT_TRUE(code == 0 || code == 1) << code << "\n" << terminal.output();
  if (code != 0) {
    const std::string out = terminal.output();
    const auto error = out.rfind("sddsh: ");
    ASSERT_NE(error, std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin() + static_cast<std::ptrdiff_t>(error), out.end(), '\n'), 1) << out.substr(error);
  }
}

INSTANTIATE_TEST_SUITE_P(Damages, DamagedBundle, testing::ValuesIn(damages()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
