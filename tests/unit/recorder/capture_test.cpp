// Conversation capture below the CLI: the hook channel over a real socket, finding an agent's
// transcript among others' (by id, and by the files its process holds open), copying it while
// it grows or is rewritten, and putting its messages on the recorder's turns.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "recorder/conversation_builder.hpp"
#include "recorder/hook_channel.hpp"
#include "recorder/transcript_copier.hpp"
#include "recorder/transcript_locator.hpp"
#include "shell/event_loop.hpp"

using namespace sddsh::recorder;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  std::string tmpl = ::testing::TempDir() + "sddsh-capture-XXXXXX";
  return mkdtemp(tmpl.data());
}

void write(const std::string& path, const std::string& text,
           std::ios::openmode mode = std::ios::trunc) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | mode) << text;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A process that holds `path` open for appending, as an agent holds its transcript.
class Holder {
 public:
  explicit Holder(const std::string& path) {
    pid_ = fork();
    if (pid_ == 0) {
      execl("/bin/sh", "sh", "-c", ("exec 3>>'" + path + "'; exec sleep 60").c_str(), nullptr);
      _exit(127);
    }
  }
  ~Holder() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  // The shell has opened the file once /proc shows it.
  bool holds(const std::string& root) const {
    for (int i = 0; i < 200; ++i) {
      if (!files_held_open(pid_, root).empty()) return true;
      usleep(10000);
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace

TEST(HookChannel, TheAgentsHookInputIsReducedToWhatSddshUses) {
  const std::string input =
      R"({"session_id":"s-1","transcript_path":"/h/.claude/projects/p/s-1.jsonl",
    "cwd":"/w","hook_event_name":"PostToolUse","tool_name":"Write",
    "tool_input":{"file_path":"/w/a.txt","content":"secret body"},
    "tool_response":{"filePath":"/w/a.txt","content":"secret body"}})";
  const std::string message = hook_message_from_agent_input(input);
  EXPECT_EQ(message.find("secret body"), std::string::npos) << "tool input and output stay behind";
  auto event = parse_hook_message(message);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->name, "PostToolUse");
  EXPECT_EQ(event->tool_name, "Write");
  EXPECT_EQ(event->files, std::vector<std::string>{"/w/a.txt"});
  EXPECT_EQ(event->agent_session_id, "s-1");
  EXPECT_EQ(event->transcript_path, "/h/.claude/projects/p/s-1.jsonl");

  EXPECT_EQ(hook_message_from_agent_input("not json"), "");
  EXPECT_EQ(hook_message_from_agent_input(R"({"prompt":"no event name"})"), "");
  EXPECT_FALSE(parse_hook_message("{"));
}

TEST(HookChannel, EventsArriveOverTheSocketInTheEventLoop) {
  auto listener = HookListener::open();
  ASSERT_TRUE(listener) << listener.error().message;
  const std::string path = (*listener)->path();
  EXPECT_EQ(fs::status(fs::path(path).parent_path()).permissions() & fs::perms::all,
            fs::perms::owner_all);
  sddsh::shell::EventLoop loop;
  std::vector<HookEvent> events;
  (*listener)->attach(loop, [&](HookEvent e) { events.push_back(std::move(e)); });
  const std::string prompt(200000, 'p');  // a long paste takes several reads
  for (const std::string& input :
       {R"({"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":")" + prompt + R"("})",
        std::string(R"({"hook_event_name":"Stop","session_id":"s"})")}) {
    // The sender does not wait for the loop: a socket buffer takes small messages at once.
    std::thread sender([&, message = hook_message_from_agent_input(input)] {
      EXPECT_TRUE(send_hook_message(path, message, 2000ms));
    });
    const std::size_t before = events.size();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (events.size() == before && std::chrono::steady_clock::now() < deadline) loop.run_once();
    sender.join();
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].name, "UserPromptSubmit");
  EXPECT_EQ(events[0].prompt, prompt);
  EXPECT_EQ(events[1].name, "Stop");
  listener->reset();
  EXPECT_FALSE(fs::exists(path)) << "the socket and its directory go with the listener";
  EXPECT_FALSE(send_hook_message(path, "{}", 200ms)) << "no listener: a quick, clean failure";
}

TEST(TranscriptCopier, FollowsAppendsAndTakesRewritesWhole) {
  const std::string dir = temp_dir();
  const std::string source = dir + "/agent/t.jsonl";
  write(source, "{\"a\":1}\n");
  TranscriptCopier copier(dir + "/bundle");
  copier.track(dir + "/agent/not-yet.jsonl");  // the agent has not written it yet
  copier.track(source);
  copier.track(source);
  EXPECT_TRUE(copier.tracks(source));
  EXPECT_TRUE(copier.copies().empty()) << "nothing copied before the first sync";
  EXPECT_TRUE(copier.sync().empty());
  ASSERT_EQ(copier.copies().size(), 1u) << "only what exists is listed";
  const std::string copy = dir + "/bundle/" + copier.copies()[0].file;
  EXPECT_EQ(copier.copies()[0].file, "transcript/t.jsonl");
  EXPECT_EQ(read(copy), "{\"a\":1}\n");
  write(source, "{\"b\":2}\n", std::ios::app);
  EXPECT_TRUE(copier.sync().empty());
  EXPECT_EQ(read(copy), "{\"a\":1}\n{\"b\":2}\n");
  // Rewritten longer, with another beginning: not an append.
  write(source, "{\"c\":3}\n{\"d\":4}\n{\"e\":5}\n");
  EXPECT_TRUE(copier.sync().empty());
  EXPECT_EQ(read(copy), "{\"c\":3}\n{\"d\":4}\n{\"e\":5}\n");
  // Shrunk: whole again. Deleted: the copy stays.
  write(source, "{\"f\":6}\n");
  EXPECT_TRUE(copier.sync().empty());
  EXPECT_EQ(read(copy), "{\"f\":6}\n");
  fs::remove(source);
  EXPECT_TRUE(copier.sync().empty());
  EXPECT_EQ(read(copy), "{\"f\":6}\n");
  EXPECT_EQ(copier.copies()[0].bytes, 8u);
  // Two sources of one name get two copies.
  write(dir + "/other/t.jsonl", "x\n");
  copier.track(dir + "/other/t.jsonl");
  copier.sync();
  EXPECT_EQ(copier.copies()[1].file, "transcript/2-t.jsonl");
  fs::remove_all(dir);
}

TEST(TranscriptLocator, ClaudeTranscriptIsFoundByTheIdItWasGiven) {
  const std::string home = temp_dir();
  const std::string id = "11111111-2222-4333-8444-555555555555";
  const std::string project = claude_project_directory(home + "/.claude", "/tmp/my work.d");
  EXPECT_EQ(project, home + "/.claude/projects/-tmp-my-work-d");
  TranscriptLocator locator({.kind = AgentKind::ClaudeCode,
                             .cwd = "/tmp/my work.d",
                             .agent_session_id = id,
                             .started_unix_ms = now_ms(),
                             .environment = {"HOME=" + home}});
  EXPECT_TRUE(locator.poll(0).empty()) << "not written yet";
  write(project + "/99999999-2222-4333-8444-555555555555.jsonl", "{}\n");  // another session's
  write(project + "/" + id + ".jsonl", "{}\n");
  EXPECT_EQ(locator.poll(0), std::vector<std::string>{project + "/" + id + ".jsonl"});
  EXPECT_TRUE(locator.poll(0).empty()) << "each file is reported once";

  // CLAUDE_CONFIG_DIR moves it.
  TranscriptLocator moved({.kind = AgentKind::ClaudeCode,
                           .cwd = "/w",
                           .agent_session_id = id,
                           .started_unix_ms = now_ms(),
                           .environment = {"HOME=" + home, "CLAUDE_CONFIG_DIR=" + home + "/cfg"}});
  write(home + "/cfg/projects/-w/" + id + ".jsonl", "{}\n");
  EXPECT_EQ(moved.poll(0), std::vector<std::string>{home + "/cfg/projects/-w/" + id + ".jsonl"});
  fs::remove_all(home);
}

TEST(TranscriptLocator, CodexRolloutIsTheOneItsProcessHoldsNotTheNewest) {
  const std::string home = temp_dir();
  const std::string work = home + "/work";
  fs::create_directories(work);
  const std::int64_t started = now_ms();
  const std::time_t seconds = static_cast<std::time_t>(started / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y/%m/%d", &tm);
  const std::string folder = home + "/.codex/sessions/" + day;
  const std::string meta =
      R"({"timestamp":"x","type":"session_meta","payload":{"id":"i","cwd":")" + work + "\"}}\n";
  // Two sessions in the same directory at once; the other one is newer.
  write(folder + "/rollout-ours.jsonl", meta);
  write(folder + "/rollout-theirs.jsonl", meta);
  TranscriptLocator locator({.kind = AgentKind::Codex,
                             .cwd = work,
                             .agent_session_id = std::nullopt,
                             .started_unix_ms = started,
                             .environment = {"HOME=" + home}});
  EXPECT_TRUE(locator.poll(0).empty()) << "no process to ask: no guess";
  Holder ours(folder + "/rollout-ours.jsonl");
  ASSERT_TRUE(ours.holds(locator.transcript_root()));
  EXPECT_EQ(locator.poll(ours.pid()), std::vector<std::string>{folder + "/rollout-ours.jsonl"});

  // A rollout of another directory is not ours even when our process holds it.
  write(folder + "/rollout-elsewhere.jsonl",
        R"({"type":"session_meta","payload":{"cwd":"/elsewhere"}})"
        "\n");
  Holder elsewhere(folder + "/rollout-elsewhere.jsonl");
  ASSERT_TRUE(elsewhere.holds(locator.transcript_root()));
  EXPECT_TRUE(locator.poll(elsewhere.pid()).empty());
  fs::remove_all(home);
}

TEST(ConversationBuilder, MessagesGoOnTheRecordersTurns) {
  SessionRecord session;
  session.started_unix_ms = 1'000'000;
  for (int i = 1; i <= 2; ++i) {
    TurnRecord t;
    t.index = i;
    t.start = i * 10.0;
    session.turns.push_back(t);
  }
  using Role = ConversationMessage::Role;
  auto message = [](Role role, std::int64_t ts) {
    return ConversationMessage{0, ts, role, "x", std::nullopt};
  };
  // As many prompts as turns: paired in order, whatever the clocks say.
  std::vector<ConversationMessage> paired{message(Role::User, 5), message(Role::Assistant, 6),
                                          message(Role::User, 7), message(Role::Tool, 8)};
  assign_turns(paired, session);
  EXPECT_EQ(paired[0].turn, 1);
  EXPECT_EQ(paired[1].turn, 1);
  EXPECT_EQ(paired[2].turn, 2);
  EXPECT_EQ(paired[3].turn, 2);
  // More prompts than turns (one was not seen at the keyboard): by time.
  std::vector<ConversationMessage> timed{
      message(Role::User, 1'010'100), message(Role::User, 1'015'000),
      message(Role::Assistant, 1'016'000), message(Role::User, 1'020'200),
      message(Role::Assistant, 1'021'000)};
  assign_turns(timed, session);
  EXPECT_EQ(timed[0].turn, 1);
  EXPECT_EQ(timed[1].turn, 1);
  EXPECT_EQ(timed[2].turn, 1);
  EXPECT_EQ(timed[3].turn, 2);
  EXPECT_EQ(timed[4].turn, 2);
}

TEST(ConversationBuilder, UnreadableTranscriptIsKeptAndTheTerminalTellsTheConversation) {
  const std::string bundle = temp_dir();
  write(bundle + "/transcript/t.jsonl", "this is not what any agent writes\n");
  SessionRecord session;
  session.agent_info.kind = "claude";
  session.transcripts.push_back({"/gone/t.jsonl", "transcript/t.jsonl", 34});
  TurnRecord t;
  t.index = 1;
  t.start = 1;
  t.end = 2;
  t.prompt = "fix the bug";
  session.turns.push_back(t);
  const auto built =
      build_conversation(bundle, session, [](const std::string&, const SessionRecord&) {
        return std::vector<std::string>{"Fixed: off by one."};
      });
  EXPECT_EQ(built.record.source, "terminal");
  ASSERT_EQ(built.messages.size(), 2u);
  EXPECT_EQ(built.messages[0].text, "fix the bug");
  EXPECT_EQ(built.messages[1].role, ConversationMessage::Role::Assistant);
  EXPECT_EQ(built.messages[1].text, "Fixed: off by one.");
  ASSERT_EQ(built.warnings.size(), 1u);
  EXPECT_NE(built.warnings[0].find("transcript/t.jsonl: not a transcript"), std::string::npos);
  EXPECT_EQ(read(bundle + "/transcript/t.jsonl"), "this is not what any agent writes\n");

  ASSERT_TRUE(write_conversation(bundle, built.messages));
  auto loaded = load_conversation(bundle);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[1].text, "Fixed: off by one.");
  EXPECT_EQ((*loaded)[1].turn, 1);
  fs::remove_all(bundle);
}
