#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "recorder/cast_reader.hpp"
#include "recorder/cast_writer.hpp"
#include "tui/utf8.hpp"

extern char** environ;

using namespace sddsh::recorder;
using sddsh::tui::append_utf8;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

constexpr const char* kAsciinema = "/usr/bin/asciinema";
const std::string kReplacement = "\xEF\xBF\xBD";
// How an "x" event starts in a file (a quote inside data would be escaped).
constexpr std::string_view kExtensionLine = ", \"x\", \"";

class TempDir {
 public:
  TempDir() {
    std::string pattern = testing::TempDir() + "cast_test.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

// Records with a real writer and returns the file's path once it is closed.
std::string record(const TempDir& dir, const std::function<void(CastWriter&)>& session,
                   const std::string& name = "session.cast", const CastHeader& header = {}) {
  std::string path = dir.file(name);
  auto writer = CastWriter::create(path, header);
  EXPECT_TRUE(writer) << writer.error().message;
  if (!writer) return path;
  session(**writer);
  const auto closed = (*writer)->close();
  EXPECT_TRUE(closed) << closed.error().message;
  return path;
}

// Everything one stream ('o' or 'i') carried, in order.
std::string stream_bytes(const std::vector<CastEvent>& events, char type) {
  std::string bytes;
  for (const auto& event : events) {
    if (event.type == type) bytes += event.data;
  }
  return bytes;
}

CastFile read_ok(const std::string& path) {
  auto file = read_cast(path);
  EXPECT_TRUE(file) << file.error().message;
  if (!file) return {};
  EXPECT_FALSE(file->problem) << *file->problem;
  return std::move(*file);
}

// Feeds `bytes` to output() in pieces of random sizes (up to `largest`).
void output_in_pieces(CastWriter& writer, std::string_view bytes, std::mt19937& random,
                      std::size_t largest) {
  double seconds = 0;
  while (!bytes.empty()) {
    const std::size_t take =
        std::min(bytes.size(), std::uniform_int_distribution<std::size_t>(1, largest)(random));
    writer.output(seconds += 0.001, bytes.substr(0, take));
    bytes.remove_prefix(take);
  }
}

std::string random_bytes(std::size_t size, std::mt19937& random) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
  return bytes;
}

// Valid UTF-8 of every kind: ASCII controls, 2-, 3- and 4-byte characters, noncharacters.
std::string random_utf8(std::size_t characters, std::mt19937& random) {
  std::string text;
  std::uniform_int_distribution<int> width(0, 3);
  for (std::size_t i = 0; i < characters; ++i) {
    static constexpr char32_t kLimits[] = {0x80, 0x800, 0x10000, 0x110000};
    const int w = width(random);
    const char32_t low = w == 0 ? 0 : kLimits[w - 1];
    char32_t c = std::uniform_int_distribution<char32_t>(low, kLimits[w] - 1)(random);
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;  // surrogates have no UTF-8 form
    append_utf8(text, c);
  }
  return text;
}

// What a terminal program writes: colours, cursor moves, CRLF, tabs, wide and combining
// characters, and the characters JSON and Python care about.
std::string terminal_output() {
  return "\x1b[1;32m✔\x1b[0m build ok\r\n"
         "\ttab\x08\x07 bell, \"quotes\", back\\slash, \\u0041 is not an escape here\r\n"
         "emoji 😀👍🏽 flags 🇫🇷, CJK 漢字かな, combining e\xCC\x81, RTL "
         "שלום\r\n"
         "NUL[\x00] DEL[\x7f] ESC[\x1b] C1 NEL[\xC2\x85] CSI[\xC2\x9B] LS[\xE2\x80\xA8] "
         "PS[\xE2\x80\xA9] BOM[\xEF\xBB\xBF] nonchar[\xEF\xBF\xBF] max[\xF4\x8F\xBF\xBF]\r\n"
         "\x1b]0;title\x07\x1b[?1049h\x1b[H\x1b[2J</script>\r\r\n\n\r"s;
}

// --- asciinema, which reads the terminal (/dev/tty) and so needs one ---

struct AsciinemaRun {
  int exit_code = -1;
  std::string output;    // its standard output: a file, so the bytes are exactly what it wrote
  std::string terminal;  // what it wrote to the terminal (error messages)
};

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs asciinema in a new session on a pseudo-terminal of its own (no terminal is needed here,
// as in CI), with standard output going to a file.
AsciinemaRun run_asciinema(const TempDir& dir, std::vector<std::string> args) {
  AsciinemaRun run;
  if (::access(kAsciinema, X_OK) != 0) {
    ADD_FAILURE() << kAsciinema
                  << " is missing: scripts/setup installs it (apt-get install asciinema)";
    return run;
  }
  const std::string output_path = dir.file("asciinema.out");
  args.insert(args.begin(), "asciinema");
  std::vector<std::string> env = {"LC_ALL=C.UTF-8", "ASCIINEMA_CONFIG_HOME=" + dir.path()};
  for (char** var = environ; *var != nullptr; ++var) {
    const std::string_view entry(*var);
    if (!entry.starts_with("LC_ALL=") && !entry.starts_with("ASCIINEMA_CONFIG_HOME=")) {
      env.emplace_back(entry);
    }
  }
  auto argv = c_strings(args);
  auto envp = c_strings(env);

  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return run;
  }
  if (pid == 0) {
    const int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || ::dup2(out, STDOUT_FILENO) < 0) ::_exit(126);
    ::execve(kAsciinema, argv.data(), envp.data());
    ::_exit(127);
  }
  // Drain the terminal until every holder of it is gone (EIO), with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  char buffer[4096];
  for (;;) {
    pollfd ready{master, POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "asciinema did not finish within 60 s";
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(&ready, 1, 100) <= 0) continue;
    const ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    run.terminal.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.output = read_file(output_path);
  return run;
}

// Each byte that is not part of valid UTF-8 replaced by U+FFFD, as our files show them to
// asciinema. A deliberately plain decoder, apart from the writer's.
std::string with_replacements(std::string_view bytes) {
  std::string text;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t length = c < 0x80   ? 1
                         : c < 0xC2 ? 0
                         : c < 0xE0 ? 2
                         : c < 0xF0 ? 3
                         : c < 0xF5 ? 4
                                    : 0;
    if (length > bytes.size() - i) length = 0;
    if (length > 1) {
      char32_t code = c & (0x7F >> length);
      for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(bytes[i + k]);
        if ((next & 0xC0) != 0x80) length = 0;
        code = code << 6 | (next & 0x3F);
      }
      const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
      if (length != 0 &&
          (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))) {
        length = 0;
      }
    }
    if (length == 0) {
      text += kReplacement;
      ++i;
    } else {
      text.append(bytes.substr(i, length));
      i += length;
    }
  }
  return text;
}

// Each line of a cast must be JSON on its own: the header an object, every event [t, "type",
// "data"].
void expect_every_line_is_json(const std::string& path) {
  std::istringstream lines(read_file(path));
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const auto json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << "line " << number << ": " << line.substr(0, 200);
    if (number == 1) {
      EXPECT_TRUE(json.is_object());
      continue;
    }
    ASSERT_TRUE(json.is_array() && json.size() == 3) << "line " << number;
    EXPECT_TRUE(json[0].is_number() && json[1].is_string() && json[2].is_string()) << number;
  }
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t found = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++found;
  }
  return found;
}

// Waits for `condition` to hold, polling every 10 ms until the deadline.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

// ---- writing, read back by our reader ----

TEST(CastWriter, RandomBytesRoundTrip) {
  TempDir dir;
  std::mt19937 random(1);
  const std::string bytes = random_bytes(300'000, random);
  const std::string path =
      record(dir, [&](CastWriter& w) { output_in_pieces(w, bytes, random, 5000); });
  const CastFile file = read_ok(path);
  EXPECT_EQ(stream_bytes(file.events, 'o'), bytes);
  expect_every_line_is_json(path);
}

TEST(CastWriter, ValidUtf8RoundTripsWithoutExtensionEvents) {
  TempDir dir;
  std::mt19937 random(2);
  const std::string text = random_utf8(50'000, random) + terminal_output();
  const std::string path =
      record(dir, [&](CastWriter& w) { output_in_pieces(w, text, random, 700); });
  const CastFile file = read_ok(path);
  EXPECT_EQ(stream_bytes(file.events, 'o'), text);
  EXPECT_EQ(count(read_file(path), kExtensionLine), 0U) << "valid UTF-8 needs no \"x\" event";
}

TEST(CastWriter, CharacterSplitAcrossReadsIsWrittenWhole) {
  const std::string text = "a😀b€c é漢🇫🇷";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 <= text.size(); ++cut2) {
      TempDir dir;
      const std::string path = record(dir, [&](CastWriter& w) {
        w.output(0.1, std::string_view(text).substr(0, cut));
        w.output(0.2, std::string_view(text).substr(cut, cut2 - cut));
        w.output(0.3, std::string_view(text).substr(cut2));
      });
      const CastFile file = read_ok(path);
      EXPECT_EQ(stream_bytes(file.events, 'o'), text) << cut << " " << cut2;
      const std::string contents = read_file(path);
      EXPECT_EQ(count(contents, kExtensionLine), 0U) << cut << " " << cut2;
      EXPECT_EQ(count(contents, kReplacement), 0U) << cut << " " << cut2;
    }
  }
}

TEST(CastWriter, OneByteAtATime) {
  TempDir dir;
  const std::string text = terminal_output();
  const std::string path = record(dir, [&](CastWriter& w) {
    for (char c : text) w.output(0.5, std::string_view(&c, 1));
  });
  const CastFile file = read_ok(path);
  EXPECT_EQ(stream_bytes(file.events, 'o'), text);
  EXPECT_EQ(count(read_file(path), kExtensionLine), 0U);
}

TEST(CastWriter, InvalidBytesAreKeptExactly) {
  const std::vector<std::string> cases = {
      "\x80",                                // lone continuation byte
      "a\xBF\xBF z",                         // continuation bytes after ASCII
      "\xC0\x80 \xC1\xBF",                   // overlong 2-byte forms
      "\xE0\x80\x80 \xF0\x80\x80\x80",       // overlong 3- and 4-byte forms
      "\xED\xA0\x80\xED\xBF\xBF",            // UTF-16 surrogates
      "\xF4\x90\x80\x80 \xF5\x80 \xFF\xFE",  // beyond U+10FFFF, never-valid bytes
      "\xE2\x82 broken euro",                // truncated sequence in the middle
      "\xC3",                                // truncated at the very end: held back, then closed
      "ok \xF0\x9F\x98",                     // truncated 4-byte sequence at close
  };
  for (const auto& bytes : cases) {
    TempDir dir;
    const std::string path = record(dir, [&](CastWriter& w) { w.output(1, bytes); });
    const CastFile file = read_ok(path);
    EXPECT_EQ(stream_bytes(file.events, 'o'), bytes);
    const std::string contents = read_file(path);
    EXPECT_EQ(count(contents, kExtensionLine), 1U) << contents;
    EXPECT_NE(contents.find(kReplacement), std::string::npos) << contents;
    expect_every_line_is_json(path);
  }
}

TEST(CastWriter, HeldBackBytesThatNeverCompleteAreEscaped) {
  TempDir dir;
  const std::string path = record(dir, [](CastWriter& w) {
    w.output(0.1, "euro \xE2\x82");
    w.output(0.2, "A plain letter, not the euro's last byte");
  });
  EXPECT_EQ(stream_bytes(read_ok(path).events, 'o'),
            "euro \xE2\x82"
            "A plain letter, not the euro's last byte");
}

TEST(CastWriter, ControlCharactersQuotesAndBackslashes) {
  TempDir dir;
  std::string bytes;
  for (int c = 0; c < 0x80; ++c) bytes += static_cast<char>(c);
  bytes += "\"\\\"\\\\ \\n \\u0000 \"";
  const std::string path = record(dir, [&](CastWriter& w) {
    w.output(0, bytes);
    w.input(0.5, bytes);
  });
  const CastFile file = read_ok(path);
  EXPECT_EQ(stream_bytes(file.events, 'o'), bytes);
  EXPECT_EQ(stream_bytes(file.events, 'i'), bytes);
  expect_every_line_is_json(path);
  EXPECT_EQ(count(read_file(path), "\n"), 3U) << "a header and two events, one line each";
}

TEST(CastWriter, HugeEventInOneCall) {
  TempDir dir;
  std::mt19937 random(3);
  std::string bytes = random_utf8(2'000'000, random);
  bytes += random_bytes(1000, random) + "\x1b[0m";
  bytes.resize(10'000'000, '\x1b');
  const std::string path = record(dir, [&](CastWriter& w) { w.output(7, bytes); });
  const CastFile file = read_ok(path);
  EXPECT_EQ(stream_bytes(file.events, 'o'), bytes);
  for (const auto& event : file.events) EXPECT_EQ(event.time, 7);
}

TEST(CastWriter, InputResizesAndMarkersKeepTheirOrder) {
  TempDir dir;
  const std::string path = record(dir, [](CastWriter& w) {
    w.output(0.25, "$ ");
    w.marker(0.5, "turn 1");
    w.input(1.0, "ls\r");
    w.resize(1.5, 132, 43);
    w.output(2.0, "a.txt\r\n");
    w.marker(2.5, "task: \"naïve\" \\ \xFF");
    w.input(3.0, "\x1b[A\x03");
  });
  const CastFile file = read_ok(path);
  const std::vector<CastEvent> expected = {
      {0.25, 'o', "$ "},        {0.5, 'm', "turn 1"},    {1.0, 'i', "ls\r"},
      {1.5, 'r', "132x43"},     {2.0, 'o', "a.txt\r\n"}, {2.5, 'm', "task: \"naïve\" \\ \xFF"},
      {3.0, 'i', "\x1b[A\x03"},
  };
  EXPECT_EQ(file.events, expected);
  const auto size = parse_resize(file.events[3].data);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->cols, 132);
  EXPECT_EQ(size->rows, 43);
}

TEST(CastWriter, HeaderFieldsRoundTrip) {
  TempDir dir;
  CastHeader header{.width = 211,
                    .height = 57,
                    .timestamp = 1700000000,
                    .term = "xterm-256color",
                    .shell = "/bin/bash",
                    .title = "claude: \"fix\" the ✔ tests\n"};
  const std::string path = record(
      dir, [](CastWriter&) {}, "h.cast", header);
  const CastFile file = read_ok(path);
  EXPECT_EQ(file.header.width, 211);
  EXPECT_EQ(file.header.height, 57);
  EXPECT_EQ(file.header.timestamp, 1700000000);
  EXPECT_EQ(file.header.term, "xterm-256color");
  EXPECT_EQ(file.header.shell, "/bin/bash");
  EXPECT_EQ(file.header.title, header.title);
  EXPECT_TRUE(file.events.empty());
  const auto json = nlohmann::json::parse(read_file(path));
  EXPECT_EQ(json["version"], 2);
  EXPECT_EQ(json["env"]["TERM"], "xterm-256color");
}

TEST(CastWriter, TimesHaveSixDecimals) {
  std::string out;
  CastEncoder encoder;
  encoder.output(out, 1.23456789, "a");
  encoder.marker(out, 0, "m");
  encoder.resize(out, 3600.5, 80, 24);
  encoder.output(out, -1, "negative time becomes 0");
  EXPECT_EQ(out,
            "[1.234568, \"o\", \"a\"]\n"
            "[0.000000, \"m\", \"m\"]\n"
            "[3600.500000, \"r\", \"80x24\"]\n"
            "[0.000000, \"o\", \"negative time becomes 0\"]\n");
}

TEST(CastWriter, EscapesAsJson) {
  std::string out;
  CastEncoder encoder;
  encoder.output(out, 0, "a\"b\\c\x1b[m\r\n\t\x01\x7f é");
  EXPECT_EQ(out, "[0.000000, \"o\", \"a\\\"b\\\\c\\u001b[m\\r\\n\\t\\u0001\x7f é\"]\n");
  out.clear();
  encoder.output(out, 0, "\xFF!");
  EXPECT_EQ(out, "[0.000000, \"o\", \"\xEF\xBF\xBD!\"]\n[0.000000, \"x\", \"/yE=\"]\n");
}

TEST(CastWriter, StatsCountWhatWasWritten) {
  TempDir dir;
  const std::string path = dir.file("stats.cast");
  auto writer = CastWriter::create(path, {});
  ASSERT_TRUE(writer) << writer.error().message;
  (*writer)->output(0.1, "hello");
  (*writer)->input(0.2, "y\r");
  (*writer)->marker(0.3, "turn");
  (*writer)->output(0.4, "\xFF");
  ASSERT_TRUE((*writer)->close());
  const CastStats stats = (*writer)->stats();
  EXPECT_EQ(stats.output_bytes, 6U);
  EXPECT_EQ(stats.input_bytes, 2U);
  EXPECT_EQ(stats.events, 4U);
  EXPECT_EQ(stats.file_bytes, read_file(path).size());
  EXPECT_EQ(stats.dropped_bytes, 0U);
  EXPECT_FALSE((*writer)->error());
  (*writer)->output(1, "after close: ignored");
  EXPECT_TRUE((*writer)->close());
  EXPECT_EQ(read_file(path).size(), stats.file_bytes);
}

TEST(CastWriter, OutputReachesTheDiskWithinASecond) {
  TempDir dir;
  const std::string path = dir.file("live.cast");
  auto writer = CastWriter::create(path, {});
  ASSERT_TRUE(writer) << writer.error().message;
  (*writer)->output(0.1, "first words");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(
      eventually([&] { return read_file(path).find("first words") != std::string::npos; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // The file is a valid cast while the session runs.
  const CastFile file = read_ok(path);
  ASSERT_EQ(file.events.size(), 1U);
  EXPECT_EQ(file.events[0].data, "first words");
}

TEST(CastWriter, CannotCreateInAMissingDirectory) {
  auto writer = CastWriter::create("/nonexistent/dir/x.cast", {});
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().code, ENOENT);
  EXPECT_NE(writer.error().message.find("/nonexistent/dir/x.cast"), std::string::npos);
}

// ---- a full disk, a stalled disk ----

TEST(CastWriter, FullDeviceIsReportedOnce) {
  auto writer = CastWriter::create("/dev/full", {});
  ASSERT_TRUE(writer) << writer.error().message;
  ASSERT_TRUE(eventually([&] { return (*writer)->error().has_value(); }, 2s));
  EXPECT_EQ((*writer)->error()->code, ENOSPC);
  for (int i = 0; i < 100; ++i) (*writer)->output(i, "the agent keeps going");
  const auto closed = (*writer)->close();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ENOSPC);
  EXPECT_NE(closed.error().message.find("No space left"), std::string::npos);
  EXPECT_EQ((*writer)->stats().dropped_bytes, 100U * 21);
}

// A small file system fills up in the middle of the recording: the file keeps every complete
// line written before, and nothing after.
TEST(CastWriter, FileSystemFillsUp) {
  TempDir dir;
  const std::string mount_point = dir.file("small");
  ::mkdir(mount_point.c_str(), 0700);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "); FullDeviceIsReportedOnce covers ENOSPC";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};

  const std::string path = mount_point + "/full.cast";
  CastWriterOptions options;
  options.flush_delay = 1ms;  // one write per chunk, without waiting
  auto writer = CastWriter::create(path, {}, options);
  ASSERT_TRUE(writer) << writer.error().message;
  std::string offered;
  const std::string chunk(5000, 'z');
  for (int i = 0; i < 100 && !(*writer)->error(); ++i) {
    const auto before = (*writer)->stats();
    (*writer)->output(i, chunk);
    offered += chunk;
    ASSERT_TRUE(eventually(
        [&] {
          const auto now = (*writer)->stats();
          return now.file_bytes > before.file_bytes || (*writer)->error();
        },
        2s));
  }
  for (int i = 0; i < 10; ++i) (*writer)->output(100 + i, chunk);
  offered += std::string(10 * chunk.size(), 'z');
  const auto closed = (*writer)->close();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ENOSPC);

  const CastFile file = read_ok(path);
  const std::string recorded = stream_bytes(file.events, 'o');
  EXPECT_GT(recorded.size(), 0U);
  EXPECT_EQ(offered.substr(0, recorded.size()), recorded);
  const auto stats = (*writer)->stats();
  EXPECT_EQ(recorded.size() + stats.dropped_bytes, offered.size());
  EXPECT_EQ(stats.file_bytes, read_file(path).size());
}

// The reader of a FIFO never reads: the writer thread blocks, pending data reaches its bound and
// what comes after is dropped (and counted) instead of growing memory or blocking the caller.
TEST(CastWriter, StalledDiskDropsInsteadOfGrowing) {
  TempDir dir;
  const std::string path = dir.file("stalled.fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  sddsh::shell::UniqueFd reader(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader);
  CastWriterOptions options;
  options.max_pending_bytes = std::size_t{1} << 20;
  auto writer = CastWriter::create(path, {}, options);
  ASSERT_TRUE(writer) << writer.error().message;

  const std::size_t total = std::size_t{8} << 20;
  const std::string chunk(std::size_t{64} << 10, 'q');
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t sent = 0; sent < total; sent += chunk.size()) (*writer)->output(1, chunk);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "output() must not wait for the disk";
  const auto stats = (*writer)->stats();
  EXPECT_GT(stats.dropped_bytes, total / 2);
  ASSERT_TRUE((*writer)->error());
  EXPECT_NE((*writer)->error()->message.find("fell behind"), std::string::npos);

  // Someone reads at last: what was kept arrives whole and valid.
  std::string drained;
  std::thread drain([&] {
    ::fcntl(reader.get(), F_SETFL, 0);
    char buffer[65536];
    ssize_t n = 0;
    while ((n = ::read(reader.get(), buffer, sizeof buffer)) > 0) {
      drained.append(buffer, static_cast<std::size_t>(n));
    }
  });
  EXPECT_FALSE((*writer)->close());
  drain.join();
  auto file = parse_cast(drained);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_FALSE(file->problem);
  const auto recorded = stream_bytes(file->events, 'o');
  EXPECT_EQ(recorded.size() + (*writer)->stats().dropped_bytes, total);
  EXPECT_EQ(recorded, std::string(recorded.size(), 'q'));
}

// sddsh killed (-9) at a random moment: the cast is valid up to its last complete line, and what
// it holds is a prefix of the session's output.
TEST(CastWriter, KillNineLeavesAValidPrefix) {
  std::mt19937 random(8);
  std::string stream = random_utf8(200'000, random);
  for (std::size_t at = 1000; at < stream.size(); at += 7919) stream[at] = '\xFF';
  for (int round = 0; round < 6; ++round) {
    TempDir dir;
    const std::string path = dir.file("killed.cast");
    const auto kill_at = std::uniform_int_distribution<std::size_t>(2000, 400'000)(random);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // the recording process: writes until killed (or gives up after 30 s)
      CastWriterOptions options;
      options.flush_delay = 2ms;
      auto writer = CastWriter::create(path, {}, options);
      if (!writer) ::_exit(1);
      std::mt19937 pieces(static_cast<unsigned>(round));
      std::string_view rest = stream;
      for (int i = 0; i < 300'000 && !rest.empty(); ++i) {
        const std::size_t take = std::min(rest.size(), std::size_t{1} + pieces() % 600);
        (*writer)->output(i * 0.001, rest.substr(0, take));
        rest.remove_prefix(take);
        ::usleep(100);
      }
      ::_exit(2);
    }
    const bool grew = eventually(
        [&] {
          struct stat st {};
          return ::stat(path.c_str(), &st) == 0 && static_cast<std::size_t>(st.st_size) >= kill_at;
        },
        20s);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(grew) << "the recording never reached " << kill_at << " bytes";
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself: " << status;

    const auto file = read_cast(path);
    ASSERT_TRUE(file) << file.error().message;
    if (file->problem) {
      EXPECT_NE(file->problem->find("truncated"), std::string::npos) << *file->problem;
    }
    const std::string recorded = stream_bytes(file->events, 'o');
    EXPECT_GT(recorded.size(), 0U);
    // The last event may have lost its "x" line (then it reads with U+FFFD): compare up to it.
    const std::size_t last_size = file->events.empty() ? 0 : file->events.back().data.size();
    const std::size_t sure = recorded.size() - last_size;
    EXPECT_EQ(recorded.substr(0, sure), stream.substr(0, sure)) << "round " << round;
  }
}

// ---- asciinema 2.2 reads what we write ----

TEST(CastWriter, AsciinemaCatReproducesValidOutputExactly) {
  TempDir dir;
  std::mt19937 random(4);
  const std::string text = terminal_output() + random_utf8(100'000, random) + terminal_output();
  const std::string path = record(dir, [&](CastWriter& w) {
    output_in_pieces(w, text, random, 3000);
    w.input(99, "typed\r");
    w.marker(99, "turn 2");
    w.resize(99, 100, 30);
    w.input(99, "\xFF not UTF-8 input");
  });
  const auto run = run_asciinema(dir, {"cat", path});
  ASSERT_EQ(run.exit_code, 0) << run.terminal;
  EXPECT_TRUE(run.output == text) << "asciinema cat printed " << run.output.size()
                                  << " bytes, expected " << text.size();
}

TEST(CastWriter, AsciinemaCatShowsReplacementCharactersForInvalidBytes) {
  TempDir dir;
  std::mt19937 random(5);
  std::string bytes = "start \xFF\xFE \xC0\x80 \xED\xA0\x80 ok é " + random_bytes(20'000, random);
  bytes += " ends inside a character \xE2\x82";
  const std::string path =
      record(dir, [&](CastWriter& w) { output_in_pieces(w, bytes, random, 100); });
  const auto run = run_asciinema(dir, {"cat", path});
  ASSERT_EQ(run.exit_code, 0) << run.terminal;
  EXPECT_TRUE(run.output == with_replacements(bytes));
  EXPECT_EQ(stream_bytes(read_ok(path).events, 'o'), bytes);
}

TEST(CastWriter, AsciinemaPlayAcceptsOurFiles) {
  TempDir dir;
  std::mt19937 random(6);
  const std::string bytes = terminal_output() + "\xFF\xC3" + random_utf8(2000, random);
  const std::string path = record(dir, [&](CastWriter& w) {
    w.marker(0, "turn 1");
    output_in_pieces(w, bytes, random, 200);
    w.resize(5, 90, 20);
    w.input(5, "q");
  });
  const auto run = run_asciinema(dir, {"play", "-s", "100", "-i", "0.01", path});
  ASSERT_EQ(run.exit_code, 0) << run.terminal;
  EXPECT_TRUE(run.output == with_replacements(bytes));
}

// ---- reading ----

namespace {

// A small cast with an event of every kind; its last line is `last_line`.
std::string sample_cast(const std::string& last_line) {
  return "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
         "[0.1, \"o\", \"hello \\u001b[1mworld\\u001b[0m\\r\\n\"]\n"
         "[0.2, \"i\", \"y\"]\n"
         "[0.3, \"o\", \"\xEF\xBF\xBD\"]\n"
         "[0.3, \"x\", \"/w==\"]\n"
         "[0.4, \"m\", \"turn 2\"]\n" +
         last_line;
}

const std::vector<CastEvent> kSampleEvents = {
    {0.1, 'o', "hello \x1b[1mworld\x1b[0m\r\n"},
    {0.2, 'i', "y"},
    {0.3, 'o', "\xFF"},
    {0.4, 'm', "turn 2"},
};

}  // namespace

TEST(CastReader, ReadsEveryKindOfEvent) {
  const std::string text = sample_cast("");
  auto file = parse_cast(text);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_FALSE(file->problem);
  EXPECT_EQ(file->events, kSampleEvents);
  EXPECT_EQ(file->valid_bytes, text.size());
  EXPECT_EQ(file->header.width, 80);
  EXPECT_EQ(file->header.height, 24);
}

TEST(CastReader, TruncatedAtEveryByteOfTheLastLine) {
  TempDir dir;
  const std::string last_line = "[0.5, \"o\", \"last \\u00e9 \\\" line \\ud83d\\ude00\"]\n";
  const std::string whole = sample_cast(last_line);
  const std::size_t last_start = whole.size() - last_line.size();
  std::vector<CastEvent> all = kSampleEvents;
  all.push_back({0.5, 'o', "last é \" line 😀"});
  for (std::size_t cut = last_start; cut <= whole.size(); ++cut) {
    const std::string path = dir.file("cut.cast");
    write_file(path, whole.substr(0, cut));
    const auto file = read_cast(path);
    ASSERT_TRUE(file) << file.error().message;
    const bool complete = cut >= whole.size() - 1;  // only the final newline missing is fine
    if (cut == last_start || complete) {
      EXPECT_FALSE(file->problem) << cut;
      EXPECT_EQ(file->events, complete ? all : kSampleEvents) << cut;
      EXPECT_EQ(file->valid_bytes, cut);
    } else {
      ASSERT_TRUE(file->problem) << cut;
      EXPECT_EQ(*file->problem, "line 7: truncated");
      EXPECT_EQ(file->events, kSampleEvents) << cut;
      EXPECT_EQ(file->valid_bytes, last_start);
    }
  }
}

TEST(CastReader, TruncatedExtensionLineLeavesReplacementCharacters) {
  const std::string text = sample_cast("[0.5, \"o\", \"a\xEF\xBF\xBD\"]\n[0.5, \"x\", \"Yf8");
  auto file = parse_cast(text);
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->problem);
  EXPECT_EQ(*file->problem, "line 8: truncated");
  ASSERT_EQ(file->events.size(), kSampleEvents.size() + 1);
  EXPECT_EQ(file->events.back().data, "a\xEF\xBF\xBD");
}

TEST(CastReader, BadLineStopsReadingAndSaysWhere) {
  const std::vector<std::string> bad_lines = {
      "garbage",
      "[0.5, \"o\"]",
      "[0.5, \"o\", 5]",
      "[0.5, \"o\", \"a\", \"b\"]",
      "{\"time\": 0.5}",
      "[NaN, \"o\", \"a\"]",
      "[Infinity, \"o\", \"a\"]",
      "[-inf, \"o\", \"a\"]",
      "[+1, \"o\", \"a\"]",
      "[0.5, \"o\", \"a\"",
      "[0.5, \"o\", \"bad \\q escape\"]",
      "[0.5, \"o\", \"raw \t tab\"]",
      "[0.5, \"o\", \"\\u12\"]",
      "[0.5, \"x\", \"not base64!\"]",
      "[0.5, \"x\", \"YQ=a\"]",
      "[0.5, \"o\", \"a\"] trailing",
  };
  for (const auto& bad : bad_lines) {
    const std::string text = sample_cast(bad + "\n[9, \"o\", \"never read\"]\n");
    auto file = parse_cast(text);
    ASSERT_TRUE(file) << bad;
    ASSERT_TRUE(file->problem) << bad;
    EXPECT_EQ(file->problem->rfind("line 7: ", 0), 0U) << *file->problem;
    EXPECT_EQ(file->events, kSampleEvents) << bad;
    EXPECT_EQ(file->valid_bytes, sample_cast("").size()) << bad;
  }
}

TEST(CastReader, EmptyFileIsNotACast) {
  TempDir dir;
  write_file(dir.file("empty.cast"), "");
  const auto file = read_cast(dir.file("empty.cast"));
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("empty"), std::string::npos) << file.error().message;
  EXPECT_FALSE(read_cast(dir.file("missing.cast")));
  EXPECT_FALSE(read_cast(dir.path())) << "a directory";
}

TEST(CastReader, HeaderOnly) {
  for (const std::string text : {"{\"version\": 2, \"width\": 80, \"height\": 24}\n",
                                 "{\"version\": 2, \"width\": 80, \"height\": 24}"}) {
    auto file = parse_cast(text);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_TRUE(file->events.empty());
    EXPECT_FALSE(file->problem);
    EXPECT_EQ(file->valid_bytes, text.size());
  }
}

TEST(CastReader, UnreadableHeaders) {
  for (const std::string header : {
           "not json",
           "[2, 80, 24]",
           "{\"version\": 1, \"width\": 80, \"height\": 24}",
           "{\"version\": \"2\", \"width\": 80, \"height\": 24}",
           "{\"version\": 2, \"height\": 24}",
           "{\"version\": 2, \"width\": \"80\", \"height\": 24}",
           "{\"version\": 2, \"width\": 0, \"height\": 24}",
           "{\"version\": 2, \"width\": 80.5, \"height\": 24}",
           "{\"version\": 2, \"width\": 80, \"height\": 1e99}",
           "{\"version\": 2, \"width\": 80, \"height\": 24",
       }) {
    auto file = parse_cast(header + "\n[0.1, \"o\", \"a\"]\n");
    ASSERT_FALSE(file) << header;
    EXPECT_NE(file.error().message.find("not an asciicast v2 file"), std::string::npos)
        << file.error().message;
  }
}

TEST(CastReader, ReadsAsciinemasOwnStyle) {
  const std::string text =
      "{\"version\": 2, \"width\": 100, \"height\": 30, \"timestamp\": 1700000000.75, "
      "\"idle_time_limit\": 2.5, \"env\": {\"SHELL\": \"/bin/zsh\", \"TERM\": \"screen\"}, "
      "\"theme\": {\"fg\": \"#fff\"}}\r\n"
      "[0.5, \"o\", \"caf\u00e9 \\ud83d\\ude00\"]\r\n"
      "\n"
      "  [ 1 , \"o\" , \"\\/\\b\\f\" ]  \n"
      "[1.5e0, \"o\", \"\\u00E9\"]\n"
      "[2, \"i\", \"\"]\n";
  auto file = parse_cast(text);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_FALSE(file->problem) << *file->problem;
  EXPECT_EQ(file->header.timestamp, 1700000000);
  EXPECT_EQ(file->header.shell, "/bin/zsh");
  EXPECT_EQ(file->header.term, "screen");
  const std::vector<CastEvent> expected = {
      {0.5, 'o', "café 😀"}, {1, 'o', "/\b\f"}, {1.5, 'o', "é"}, {2, 'i', ""}};
  EXPECT_EQ(file->events, expected);
}

TEST(CastReader, LoneSurrogatesBecomeReplacementCharacters) {
  auto file = parse_cast(sample_cast(
      "[1, \"o\", \"\\ud800|\\udc00|\\ud83d\\u0041|\\ud83d\\ud83d\\ude00|\\ud83d\"]\n"));
  ASSERT_TRUE(file);
  EXPECT_FALSE(file->problem);
  EXPECT_EQ(file->events.back().data, kReplacement + "|" + kReplacement + "|" + kReplacement +
                                          "A|" + kReplacement + "😀|" + kReplacement);
}

TEST(CastReader, OtherTypesAndStrayExtensionEvents) {
  const std::string text =
      "{\"version\": 2, \"width\": 80, \"height\": 24}\n"
      "[0.1, \"x\", \"YQ==\"]\n"         // nothing before it: left out
      "[0.2, \"later\", \"skipped\"]\n"  // a type of a later format: skipped
      "[0.3, \"z\", \"kept\"]\n"
      "[0.4, \"x\", \"Yg==\"]\n"   // replaces the "z" event's data
      "[0.5, \"x\", \"Yw==\"]\n";  // a second one: left out
  auto file = parse_cast(text);
  ASSERT_TRUE(file);
  EXPECT_FALSE(file->problem);
  const std::vector<CastEvent> expected = {{0.3, 'z', "b"}};
  EXPECT_EQ(file->events, expected);
}

TEST(CastReader, StreamingReaderMatchesReadCast) {
  TempDir dir;
  std::mt19937 random(7);
  // Long lines (beyond the reader's 256 KiB reads) and many short ones.
  const std::string bytes = random_bytes(3'000'000, random);
  const std::string path = record(dir, [&](CastWriter& w) {
    output_in_pieces(w, bytes, random, 1'500'000);
    for (int i = 0; i < 5000; ++i) w.output(10 + i, "line " + std::to_string(i) + "\r\n");
  });
  auto reader = CastReader::open(path);
  ASSERT_TRUE(reader) << reader.error().message;
  std::vector<CastEvent> streamed;
  while (auto event = reader->next()) streamed.push_back(std::move(*event));
  EXPECT_FALSE(reader->problem());
  EXPECT_EQ(reader->valid_bytes(), read_file(path).size());
  const CastFile file = read_ok(path);
  EXPECT_EQ(streamed, file.events);
  EXPECT_EQ(stream_bytes(streamed, 'o').substr(0, bytes.size()), bytes);
}

TEST(CastReader, ParseResize) {
  EXPECT_TRUE(parse_resize("80x24"));
  EXPECT_FALSE(parse_resize("80x"));
  EXPECT_FALSE(parse_resize("x24"));
  EXPECT_FALSE(parse_resize("80x24 "));
  EXPECT_FALSE(parse_resize("0x24"));
  EXPECT_FALSE(parse_resize(""));
}
