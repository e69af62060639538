// The remote tracker client against the real sddsh-tracker, run in-process on a free loopback
// port: every Tracker method, the error messages, retries and timeouts (the server's fault
// hooks), resumable uploads (the server's drop hook and a TCP proxy that cuts the connection),
// TLS with a self-signed certificate, and the configuration rules.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "tests/support/loopback_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/tracker/tcp_proxy.hpp"
#include "tracker-client/http_client.hpp"
#include "tracker-client/remote_config.hpp"
#include "tracker-client/remote_tracker.hpp"
#include "tracker-client/session_upload.hpp"
#include "tracker-client/sha256.hpp"
#include "tracker-server/server.hpp"

namespace sddsh::tracker {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using server::Role;
using testing::TcpProxy;

using test_support::TempDir;

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Random bytes (not compressible, not all alike: a misplaced range shows in the hash).
std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const auto word = random();
    for (std::size_t j = 0; j < 8 && i + j < size; ++j)
      bytes[i + j] = static_cast<char>(word >> (8 * j));
  }
  return bytes;
}

// The real server on a free loopback port, and a client's configuration for it.
class TestServer : public test_support::LoopbackServer {
 public:
  using LoopbackServer::LoopbackServer;
  RemoteConfig config(const std::string& project, const std::string& token) const {
    return RemoteConfig{.url = url(), .project = project, .token = token, .source = "test"};
  }
};

// Retries are fast in tests: the behaviour is the same, the waits are milliseconds.
RetryPolicy fast_policy() {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.first_backoff = 1ms;
  policy.max_backoff = 5ms;
  policy.connect_timeout = 2000ms;
  policy.request_timeout = 10000ms;
  return policy;
}

class RemoteTrackerTest : public ::testing::Test {
 protected:
  TestServer server;
  std::string alice_token = server.token("alpha", Role::Write, "alice");
  RemoteTracker alice{server.config("alpha", alice_token), fast_policy()};

  Task create(const std::string& title, IssueType type = IssueType::Task, int priority = 2) {
    NewTask task;
    task.title = title;
    task.issue_type = type;
    task.priority = priority;
    auto created = alice.create(task);
    if (!created) throw std::runtime_error("create: " + created.error().message);
    return *created;
  }
};

std::vector<std::string> ids(const std::vector<Task>& tasks) {
  std::vector<std::string> out;
  for (const auto& task : tasks) out.push_back(task.id);
  return out;
}

TEST_F(RemoteTrackerTest, CreateGetListAndChangeRoundTrip) {
  NewTask task;
  task.title = "Write the client";
  task.description = "libcurl";
  task.priority = 1;
  task.labels = {"remote", "http"};
  task.parallel = true;
  task.spec_ref = SpecRef{"specs/007-remote", "T001", "Phase 1: Setup"};
  auto created = alice.create(task);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE(created->id.empty());
  EXPECT_EQ(created->title, "Write the client");
  EXPECT_EQ(created->labels, (std::vector<std::string>{"remote", "http"}));
  EXPECT_TRUE(created->parallel);
  EXPECT_EQ(created->spec_ref, task.spec_ref);

  auto fetched = alice.get(created->id);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(to_json(*fetched), to_json(*created));

  TaskChange change;
  change.title = "Write the HTTP client";
  change.priority = 0;
  change.labels = std::vector<std::string>{"remote"};
  change.status = Status::Blocked;
  auto changed = alice.change(created->id, change);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(changed->title, "Write the HTTP client");
  EXPECT_EQ(changed->priority, 0);
  EXPECT_EQ(changed->status, Status::Blocked);
  EXPECT_EQ(changed->description, "libcurl");  // absent from the change: kept

  auto blocked = alice.list(ListQuery{.status = Status::Blocked});
  ASSERT_TRUE(blocked) << blocked.error().message;
  EXPECT_EQ(ids(*blocked), std::vector<std::string>{created->id});
}

TEST_F(RemoteTrackerTest, ClaimCloseReopenAndNoteRoundTrip) {
  const Task task = create("Claim me");
  auto claimed = alice.claim(task.id, "alice");
  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(claimed->status, Status::InProgress);
  EXPECT_EQ(claimed->assignee, "alice");
  EXPECT_FALSE(claimed->started_at.empty());

  auto noted = alice.add_note(task.id, "halfway there", "alice");
  ASSERT_TRUE(noted) << noted.error().message;
  EXPECT_NE(noted->description.find("alice] halfway there"), std::string::npos);

  auto closed = alice.close(task.id, "done", "20261121-101500-ab12cd");
  ASSERT_TRUE(closed) << closed.error().message;
  EXPECT_EQ(closed->status, Status::Closed);
  EXPECT_EQ(closed->close_reason, "done");
  EXPECT_EQ(closed->closed_by_session, "20261121-101500-ab12cd");

  auto open_only = alice.list(ListQuery{});
  ASSERT_TRUE(open_only) << open_only.error().message;
  EXPECT_TRUE(open_only->empty());
  auto everything = alice.list(ListQuery{.include_closed = true});
  ASSERT_TRUE(everything) << everything.error().message;
  EXPECT_EQ(ids(*everything), std::vector<std::string>{task.id});

  auto reopened = alice.reopen(task.id);
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ(reopened->status, Status::Open);
}

TEST_F(RemoteTrackerTest, ReadyAndDependenciesFollowTheReadyRule) {
  const Task first = create("First", IssueType::Task, 1);
  const Task second = create("Second", IssueType::Task, 0);
  const Task bug = create("A bug", IssueType::Bug, 2);
  ASSERT_TRUE(alice.add_dependency(Dependency{second.id, first.id, DependencyType::Blocks, {}}));
  // Adding it again changes nothing (the server answers 200 instead of 201).
  ASSERT_TRUE(alice.add_dependency(Dependency{second.id, first.id, DependencyType::Blocks, {}}));

  auto edges = alice.dependencies(second.id);
  ASSERT_TRUE(edges) << edges.error().message;
  ASSERT_EQ(edges->size(), 1U);
  EXPECT_EQ((*edges)[0], (Dependency{second.id, first.id, DependencyType::Blocks, {}}));

  auto ready = alice.ready(ReadyQuery{.type = IssueType::Task});
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(ids(*ready), std::vector<std::string>{first.id});  // second is blocked; bug is no task
  auto all_ready = alice.ready(ReadyQuery{});
  ASSERT_TRUE(all_ready) << all_ready.error().message;
  EXPECT_EQ(ids(*all_ready), (std::vector<std::string>{first.id, bug.id}));  // by priority
  auto one = alice.ready(ReadyQuery{.limit = 1});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(ids(*one), std::vector<std::string>{first.id});
}

constexpr const char* kTasksMd = R"(# Tasks: Remote tracker

## Phase 1: Setup

- [ ] T001 Create the project
- [ ] T002 [P] Add the config

## Phase 2: User Story 1 - Upload (Priority: P1)

- [ ] T003 [US1] Upload a session
)";

TEST_F(RemoteTrackerTest, ImportIsIdempotentAndFindBySpecSeesIt) {
  auto first = alice.import_tasks_md("specs/007-remote", kTasksMd);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->contains("epic_id")) << first->dump();
  auto second = alice.import_tasks_md("specs/007-remote", kTasksMd);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*second)["epic_id"], (*first)["epic_id"]);
  EXPECT_EQ(second->dump().find("\"created\":1"), std::string::npos) << second->dump();

  auto t003 = alice.find_by_spec("specs/007-remote", "T003");
  ASSERT_TRUE(t003) << t003.error().message;
  ASSERT_TRUE(t003->has_value());
  EXPECT_EQ((*t003)->title, "Upload a session");
  auto epic = alice.find_by_spec("specs/007-remote", "");
  ASSERT_TRUE(epic) << epic.error().message;
  ASSERT_TRUE(epic->has_value());
  EXPECT_EQ((*epic)->id, (*first)["epic_id"]);
  auto missing = alice.find_by_spec("specs/007-remote", "T999");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
}

TEST_F(RemoteTrackerTest, ListReadsEveryPage) {
  // More tasks than one page (1000): the client must follow next_cursor.
  std::string tasks_md = "# Tasks: Many\n\n## Phase 1: Setup\n\n";
  for (int i = 1; i <= 1003; ++i)
    tasks_md += "- [ ] T" + std::to_string(1000 + i) + " Task " + std::to_string(i) + "\n";
  auto report = alice.import_tasks_md("specs/001-many", tasks_md);
  ASSERT_TRUE(report) << report.error().message;
  auto all = alice.list(ListQuery{.type = IssueType::Task});
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 1003U);
  const auto all_ids = ids(*all);
  const std::set<std::string> unique(all_ids.begin(), all_ids.end());
  EXPECT_EQ(unique.size(), 1003U);
}

TEST_F(RemoteTrackerTest, ClaimConflictNamesTheHolder) {
  const Task task = create("Contested");
  const std::string bob_token = server.token("alpha", Role::Write, "bob");
  RemoteTracker bob(server.config("alpha", bob_token), fast_policy());
  ASSERT_TRUE(alice.claim(task.id, "alice"));
  auto lost = bob.claim(task.id, "bob");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, 409);
  EXPECT_NE(lost.error().message.find("already claimed by alice"), std::string::npos)
      << lost.error().message;
}

TEST_F(RemoteTrackerTest, ConcurrentClaimsNeverBothWin) {
  std::vector<Task> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(create("Task " + std::to_string(i)));
  const std::string bob_token = server.token("alpha", Role::Write, "bob");
  std::atomic<int> wins[2] = {0, 0};
  auto claim_all = [&](int who, const std::string& token, const std::string& name) {
    RemoteTracker tracker(server.config("alpha", token), fast_policy());
    for (const auto& task : tasks)
      if (tracker.claim(task.id, name)) ++wins[who];
  };
  std::thread a(claim_all, 0, alice_token, "alice");
  std::thread b(claim_all, 1, bob_token, "bob");
  a.join();
  b.join();
  EXPECT_EQ(wins[0] + wins[1], 10);
}

TEST_F(RemoteTrackerTest, MissingTaskIs404WithAClearMessage) {
  auto missing = alice.get("sd-nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, 404);
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("sd-nope"), std::string::npos) << missing.error().message;
  // An id that could rewrite the path never leaves the client.
  auto tricky = alice.get("../projects");
  ASSERT_FALSE(tricky);
  EXPECT_EQ(tricky.error().code, 404);
}

class RemoteTrackerAuthTest : public RemoteTrackerTest {
 protected:
  void expect_no_token(const Error& error, const std::string& token) {
    EXPECT_EQ(error.message.find(token), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find(token.substr(0, 12)), std::string::npos) << error.message;
  }
};

TEST_F(RemoteTrackerAuthTest, WrongTokenIs401AndNeverQuoted) {
  const std::string wrong = "sddsh_wrong_token_0123456789abcdef";
  RemoteTracker intruder(server.config("alpha", wrong), fast_policy());
  auto refused = intruder.list(ListQuery{});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, 401);
  EXPECT_EQ(refused.error().message, "tracker rejected the token (401): check SDDSH_TRACKER_TOKEN");
  expect_no_token(refused.error(), wrong);
}

TEST_F(RemoteTrackerAuthTest, OtherProjectsTokenIs403) {
  const std::string beta_token = server.token("beta", Role::Admin, "carol");
  RemoteTracker carol(server.config("alpha", beta_token), fast_policy());
  auto refused = carol.list(ListQuery{});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, 403);
  EXPECT_NE(refused.error().message.find("no access to project alpha"), std::string::npos)
      << refused.error().message;
  expect_no_token(refused.error(), beta_token);
  auto write = carol.create(NewTask{.title = "sneaky"});
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, 403);
}

TEST_F(RemoteTrackerAuthTest, ReadTokenCannotWrite) {
  const std::string reader_token = server.token("alpha", Role::Read, "reader");
  RemoteTracker reader(server.config("alpha", reader_token), fast_policy());
  EXPECT_TRUE(reader.list(ListQuery{}));
  auto write = reader.create(NewTask{.title = "not allowed"});
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, 403);
  expect_no_token(write.error(), reader_token);
}

class RemoteTrackerFaultTest : public RemoteTrackerTest {};

TEST_F(RemoteTrackerFaultTest, Retries503ThenSucceeds) {
  const Task task = create("Survives hiccups");
  server->fail_next_requests(2, 503);
  auto fetched = alice.get(task.id);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->title, "Survives hiccups");
}

TEST_F(RemoteTrackerFaultTest, GivesUpOn500AfterThePolicysAttempts) {
  server->fail_next_requests(3, 500);
  auto failed = alice.list(ListQuery{});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, 500);
  EXPECT_NE(failed.error().message.find("tracker unreachable: HTTP 500 (after 3 attempts)"),
            std::string::npos)
      << failed.error().message;
  EXPECT_TRUE(alice.list(ListQuery{}));  // the fourth request is served
}

TEST_F(RemoteTrackerFaultTest, A4xxIsNotRetried) {
  server->fail_next_requests(1, 400);
  auto refused = alice.list(ListQuery{});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, 400);
  EXPECT_TRUE(alice.list(ListQuery{}));
}

TEST_F(RemoteTrackerFaultTest, A429IsRetried) {
  server->fail_next_requests(2, 429);
  auto listed = alice.list(ListQuery{});
  ASSERT_TRUE(listed) << listed.error().message;
}

// sddsh-tracker's fault hook sends no Retry-After; a rate-limiting proxy in front of it does.
// This stands in for that proxy: one 429 with Retry-After: 1, then an empty list.
TEST(RetryAfterTest, A429sRetryAfterIsHonoured) {
  httplib::Server limiter;
  std::atomic<int> requests{0};
  limiter.Get(R"(/v1/projects/alpha/tasks)",
              [&](const httplib::Request&, httplib::Response& response) {
                if (requests++ == 0) {
                  response.status = 429;
                  response.set_header("Retry-After", "1");
                  response.set_content(R"({"error":{"code":"rate_limited","message":"slow down"}})",
                                       "application/json");
                  return;
                }
                response.set_content(R"({"tasks":[],"next_cursor":null})", "application/json");
              });
  const int port = limiter.bind_to_any_port("127.0.0.1");
  // Bound means listening: the request waits in the backlog until the loop accepts it.
  std::thread serving([&] { limiter.listen_after_bind(); });
  const auto start = std::chrono::steady_clock::now();
  auto listed = RemoteTracker(RemoteConfig{.url = "http://127.0.0.1:" + std::to_string(port),
                                           .project = "alpha",
                                           .token = "t"},
                              fast_policy())
                    .list(ListQuery{});  // the client goes, closing its keep-alive connection
  const auto waited = std::chrono::steady_clock::now() - start;
  limiter.stop();
  serving.join();
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(requests.load(), 2);
  EXPECT_GE(waited, 1000ms);  // the policy's own backoff is at most 5 ms
}

// A port nothing listens on: bound, then closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(RemoteTrackerUnreachableTest, ConnectionRefusedFailsClearlyAfterRetries) {
  const std::string token = "sddsh_secret_token_never_printed";
  RemoteConfig config{.url = "http://127.0.0.1:" + std::to_string(closed_port()),
                      .project = "alpha",
                      .token = token};
  RemoteTracker tracker(config, fast_policy());
  auto failed = tracker.list(ListQuery{});
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().message.starts_with("tracker unreachable: " + config.url))
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("(after 3 attempts)"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(failed.error().message.find(token), std::string::npos);
}

TEST_F(RemoteTrackerFaultTest, ATimeoutIsRetried) {
  RetryPolicy policy = fast_policy();
  policy.request_timeout = 300ms;
  RemoteTracker impatient(server.config("alpha", alice_token), policy);
  server->delay_next_requests(1, 2000ms);
  auto listed = impatient.list(ListQuery{});
  ASSERT_TRUE(listed) << listed.error().message;
}

TEST_F(RemoteTrackerFaultTest, EveryAttemptTimingOutFails) {
  RetryPolicy policy = fast_policy();
  policy.request_timeout = 200ms;
  policy.max_attempts = 2;
  RemoteTracker impatient(server.config("alpha", alice_token), policy);
  server->delay_next_requests(2, 1000ms);
  auto failed = impatient.list(ListQuery{});
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("tracker unreachable"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("(after 2 attempts)"), std::string::npos)
      << failed.error().message;
}

// A server that takes a request and says nothing: once the client's abort is requested, the
// request ends within about a second (curl's progress calls), without a retry, and a backoff
// wait ends at once. The uploader relies on this to stop on time (its grace, then "queued").
TEST_F(RemoteTrackerFaultTest, AnAbortEndsAHungRequestAndTheBackoffAtOnce) {
  RetryPolicy patient = fast_policy();
  patient.request_timeout = 30000ms;
  HttpClient http(server.config("alpha", alice_token), patient);
  std::stop_source abort;
  http.set_abort(abort.get_token());
  server->delay_next_requests(1, 4000ms);
  const auto started = std::chrono::steady_clock::now();
  std::thread aborter([&] {
    std::this_thread::sleep_for(300ms);  // the request is under way by then
    abort.request_stop();
  });
  auto reply = http.request("GET", http.project_path() + "/tasks");
  const auto took = std::chrono::steady_clock::now() - started;
  aborter.join();
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().message.find("aborted"), std::string::npos) << reply.error().message;
  EXPECT_LT(took, 2500ms) << "the hung request outlived the abort";
  const auto backoff_started = std::chrono::steady_clock::now();
  RetryPolicy slow = patient;
  slow.first_backoff = slow.max_backoff = 20000ms;
  HttpClient waiting(server.config("alpha", alice_token), slow);
  waiting.set_abort(abort.get_token());
  waiting.back_off(3, 20000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - backoff_started, 1000ms);
}

class SessionUploadTest : public RemoteTrackerTest {
 protected:
  TempDir files;

  UploadFile local_file(const std::string& name, const std::string& bytes) {
    write_file(files / name, bytes, 0644);
    auto digest = sha256_file(files / name);
    if (!digest) throw std::runtime_error(digest.error().message);
    return UploadFile{name, files / name, digest->sha256, digest->size};
  }

  // The bytes the server holds, read back through the API.
  std::string server_bytes(const std::string& upload_id, const std::string& name) {
    const std::string dest = files / ("back-" + name);
    auto fetched = alice.http().download(
        alice.http().project_path() + "/sessions/" + upload_id + "/files/" + name, dest);
    if (!fetched) return "download failed: " + fetched.error().message;
    return read_file(dest);
  }

  json metadata(const std::string& upload_id, const std::string& task_id,
                const std::vector<UploadFile>& uploaded) {
    json listed = json::array();
    for (const auto& file : uploaded)
      listed.push_back({{"name", file.name}, {"sha256", file.sha256}, {"size", file.size}});
    return {{"session_id", upload_id.substr(0, upload_id.find('.'))},
            {"task_id", task_id},
            {"segment", std::stoi(upload_id.substr(upload_id.find('.') + 1))},
            {"agent", "claude"},
            {"started_at", "2026-11-21T10:15:00.000Z"},
            {"ended_at", "2026-11-21T10:45:00.000Z"},
            {"files", listed}};
  }
};

constexpr const char* kUploadId = "20261121-101500-ab12cd.0";

TEST_F(SessionUploadTest, UploadsExactBytesInChunksWithProgress) {
  const std::string bytes = random_bytes(20 << 20, 1);  // 3 chunks
  const UploadFile file = local_file("terminal.cast", bytes);
  std::uint64_t last = 0;
  bool monotonic = true;
  auto uploaded = upload_file(
      alice.http(), kUploadId, file,
      [&](std::uint64_t done, std::uint64_t total) {
        monotonic = monotonic && done >= last && total == bytes.size();
        last = done;
      },
      UploadOptions{.chunk_bytes = 8 << 20});
  ASSERT_TRUE(uploaded) << uploaded.error().message;
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last, bytes.size());
  EXPECT_TRUE(server_bytes(kUploadId, "terminal.cast") == bytes);
}

TEST_F(SessionUploadTest, EmptyAndSmallFilesUploadWhole) {
  const UploadFile empty = local_file("task.patch", "");
  const UploadFile small = local_file("conversation.jsonl", "{\"turn\":1}\n");
  ASSERT_TRUE(upload_file(alice.http(), kUploadId, empty));
  ASSERT_TRUE(upload_file(alice.http(), kUploadId, small));
  EXPECT_EQ(server_bytes(kUploadId, "task.patch"), "");
  EXPECT_EQ(server_bytes(kUploadId, "conversation.jsonl"), "{\"turn\":1}\n");
}

TEST_F(SessionUploadTest, ResumesAfterTheServerDropsTheUpload) {
  const std::string bytes = random_bytes(20 << 20, 2);
  const UploadFile file = local_file("terminal.cast", bytes);
  server->drop_next_upload_after(3 << 20);  // inside the first chunk
  auto uploaded =
      upload_file(alice.http(), kUploadId, file, {}, UploadOptions{.chunk_bytes = 8 << 20});
  ASSERT_TRUE(uploaded) << uploaded.error().message;
  EXPECT_TRUE(server_bytes(kUploadId, "terminal.cast") == bytes);
}

TEST_F(SessionUploadTest, ResumesAfterTheNetworkCutsMidUpload) {
  const std::string bytes = random_bytes(20 << 20, 3);
  const UploadFile file = local_file("terminal.cast", bytes);
  TcpProxy proxy(server.port());
  RemoteConfig via_proxy = server.config("alpha", alice_token);
  via_proxy.url = "http://127.0.0.1:" + std::to_string(proxy.port());
  HttpClient http(via_proxy, fast_policy());
  proxy.cut_at(11 << 20);  // inside the second chunk
  auto uploaded = upload_file(http, kUploadId, file);
  ASSERT_TRUE(uploaded) << uploaded.error().message;
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_TRUE(server_bytes(kUploadId, "terminal.cast") == bytes);
  // Resumed, not restarted: little more than the file went through (headers, the cut's loss).
  EXPECT_LT(proxy.client_bytes(), bytes.size() + (9U << 20)) << proxy.client_bytes();
}

TEST_F(SessionUploadTest, AFileTheServerHoldsIsNotSentAgain) {
  const std::string bytes = random_bytes(10 << 20, 4);
  const UploadFile file = local_file("terminal.cast", bytes);
  ASSERT_TRUE(upload_file(alice.http(), kUploadId, file));
  TcpProxy proxy(server.port());
  RemoteConfig via_proxy = server.config("alpha", alice_token);
  via_proxy.url = "http://127.0.0.1:" + std::to_string(proxy.port());
  HttpClient http(via_proxy, fast_policy());
  // The same upload again, and the same bytes in another upload (content-addressed).
  ASSERT_TRUE(upload_file(http, kUploadId, file));
  auto again = upload_file(http, "20261121-101500-ab12cd.1", file);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_LT(proxy.client_bytes(), 64U << 10) << proxy.client_bytes();
}

TEST_F(SessionUploadTest, PutSessionCommitsOnceAndListsNewestFirst) {
  const Task task = create("Recorded");
  const UploadFile cast = local_file("terminal.cast", random_bytes(100000, 5));
  ASSERT_TRUE(upload_file(alice.http(), kUploadId, cast));
  ASSERT_TRUE(put_session(alice.http(), kUploadId, metadata(kUploadId, task.id, {cast})));
  ASSERT_TRUE(put_session(alice.http(), kUploadId, metadata(kUploadId, task.id, {cast})));  // retry
  const std::string later = "20261121-111500-ab12cd.0";
  ASSERT_TRUE(upload_file(alice.http(), later, cast));
  ASSERT_TRUE(put_session(alice.http(), later, metadata(later, task.id, {cast})));

  auto sessions = alice.task_sessions(task.id);
  ASSERT_TRUE(sessions) << sessions.error().message;
  ASSERT_EQ(sessions->size(), 2U);
  EXPECT_EQ((*sessions)[0].value("session_id", ""), "20261121-111500-ab12cd");
  EXPECT_EQ((*sessions)[1].value("session_id", ""), "20261121-101500-ab12cd");
  auto one = alice.session(kUploadId);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->value("uploaded_by", ""), "alice");
}

TEST_F(SessionUploadTest, PutSessionNamesMissingFiles) {
  const Task task = create("Recorded");
  const UploadFile cast = local_file("terminal.cast", "not uploaded");
  auto refused = put_session(alice.http(), kUploadId, metadata(kUploadId, task.id, {cast}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, 409);
  EXPECT_NE(refused.error().message.find("missing: terminal.cast"), std::string::npos)
      << refused.error().message;
}

TEST_F(SessionUploadTest, FetchSessionDownloadsEveryFile) {
  const Task task = create("Replay me");
  const UploadFile cast = local_file("terminal.cast", random_bytes(3 << 20, 6));
  const UploadFile turns = local_file("conversation.jsonl", "{\"turn\":1,\"role\":\"user\"}\n");
  ASSERT_TRUE(upload_file(alice.http(), kUploadId, cast));
  ASSERT_TRUE(upload_file(alice.http(), kUploadId, turns));
  ASSERT_TRUE(put_session(alice.http(), kUploadId, metadata(kUploadId, task.id, {cast, turns})));

  const std::string reader_token = server.token("alpha", Role::Read, "reader");
  RemoteTracker reader(server.config("alpha", reader_token), fast_policy());
  TempDir checkout;
  auto fetched = reader.fetch_session(kUploadId, checkout / "session");
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_TRUE(read_file(checkout / "session/terminal.cast") == read_file(cast.path));
  EXPECT_EQ(read_file(checkout / "session/conversation.jsonl"), read_file(turns.path));
  auto saved = json::parse(read_file(checkout / "session/upload.json"), nullptr, false);
  EXPECT_EQ(saved.value("task_id", ""), task.id);
  EXPECT_EQ(json::parse(read_file(checkout / "session/session.json"), nullptr, false), saved);
  EXPECT_FALSE(std::filesystem::exists(checkout / "session/terminal.cast.part"));

  // An upload with its own session.json keeps that one.
  const std::string second = "20261121-101500-ab12cd.1";
  const UploadFile bundle_json =
      local_file("session.json", "{\"id\":\"20261121-101500-ab12cd\"}\n");
  ASSERT_TRUE(upload_file(alice.http(), second, bundle_json));
  ASSERT_TRUE(upload_file(alice.http(), second, cast));
  auto committed =
      put_session(alice.http(), second, metadata(second, task.id, {bundle_json, cast}));
  ASSERT_TRUE(committed) << committed.error().message;
  auto own = reader.fetch_session(second, checkout / "second");
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ(read_file(checkout / "second/session.json"), read_file(bundle_json.path));
  EXPECT_TRUE(read_file(checkout / "second/terminal.cast") == read_file(cast.path));
  EXPECT_TRUE(std::filesystem::exists(checkout / "second/upload.json"));
}

// A certificate for 127.0.0.1, made with the openssl CLI.
struct SelfSigned {
  TempDir dir;
  std::string cert = dir / "cert.pem", key = dir / "key.pem";
  SelfSigned() {
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
  }
};

TEST(RemoteTrackerTlsTest, SelfSignedIsAcceptedWithItsCaFileAndRefusedWithout) {
  SelfSigned certificate;
  TestServer server(
      server::ServerOptions{.cert_file = certificate.cert, .key_file = certificate.key});
  const std::string token = server.token("alpha", Role::Write, "alice");

  RemoteConfig trusting = server.config("alpha", token);
  trusting.ca_file = certificate.cert;
  RemoteTracker tracker(trusting, fast_policy());
  auto created = tracker.create(NewTask{.title = "over TLS"});
  ASSERT_TRUE(created) << created.error().message;

  RemoteTracker untrusting(server.config("alpha", token), fast_policy());
  auto refused = untrusting.list(ListQuery{});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().message.starts_with("TLS verification of https://127.0.0.1:"))
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find(token), std::string::npos);
}

// Sets (or unsets, for nullptr) an environment variable for a test's duration.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class RemoteConfigTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string config_path = dir / "config.json";
  ScopedEnv config{"SDDSH_CONFIG", config_path.c_str()};
  ScopedEnv url{"SDDSH_TRACKER_URL", nullptr};
  ScopedEnv project{"SDDSH_TRACKER_PROJECT", nullptr};
  ScopedEnv token{"SDDSH_TRACKER_TOKEN", nullptr};
  ScopedEnv token_file{"SDDSH_TRACKER_TOKEN_FILE", nullptr};
  ScopedEnv ca_file{"SDDSH_TRACKER_CA_FILE", nullptr};
};

TEST_F(RemoteConfigTest, TheConfigFileIsFoundWhereDocumented) {
  EXPECT_EQ(config_file_path(), config_path);
  ScopedEnv no_config("SDDSH_CONFIG", nullptr);
  ScopedEnv xdg("XDG_CONFIG_HOME", "/xdg");
  EXPECT_EQ(config_file_path(), "/xdg/sddsh/config.json");
  ScopedEnv no_xdg("XDG_CONFIG_HOME", nullptr);
  ScopedEnv home("HOME", "/home/alice");
  EXPECT_EQ(config_file_path(), "/home/alice/.config/sddsh/config.json");
}

TEST_F(RemoteConfigTest, NoUrlMeansNoRemote) {
  auto none = load_remote_config();
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
  write_file(config_path, R"({"tracker":{"project":"alpha"}})");
  auto still_none = load_remote_config();
  ASSERT_TRUE(still_none) << still_none.error().message;
  EXPECT_FALSE(still_none->has_value());
}

TEST_F(RemoteConfigTest, ReadsTheFileAndTheEnvironmentOverridesItKeyByKey) {
  write_file(
      config_path,
      R"({"tracker":{"url":"https://tracker.example:8470/","project":"alpha","token":"file-token"}})");
  auto from_file = load_remote_config();
  ASSERT_TRUE(from_file) << from_file.error().message;
  ASSERT_TRUE(from_file->has_value());
  EXPECT_EQ((*from_file)->url, "https://tracker.example:8470");
  EXPECT_EQ((*from_file)->project, "alpha");
  EXPECT_EQ((*from_file)->token, "file-token");
  EXPECT_EQ((*from_file)->source, config_path);

  ScopedEnv env_project("SDDSH_TRACKER_PROJECT", "beta");
  ScopedEnv env_token("SDDSH_TRACKER_TOKEN", "env-token");
  auto overridden = load_remote_config("/etc/ssl/certs/ca-certificates.crt");
  ASSERT_TRUE(overridden) << overridden.error().message;
  EXPECT_EQ((*overridden)->url, "https://tracker.example:8470");
  EXPECT_EQ((*overridden)->project, "beta");
  EXPECT_EQ((*overridden)->token, "env-token");
  EXPECT_EQ((*overridden)->ca_file, "/etc/ssl/certs/ca-certificates.crt");

  ScopedEnv env_url("SDDSH_TRACKER_URL", "http://127.0.0.1:9000");
  auto from_env = load_remote_config();
  ASSERT_TRUE(from_env) << from_env.error().message;
  EXPECT_EQ((*from_env)->url, "http://127.0.0.1:9000");
  EXPECT_EQ((*from_env)->source, "environment");
}

TEST_F(RemoteConfigTest, ATokenFileReadableByOthersIsRefused) {
  write_file(dir / "token", "secret-in-file\n", 0644);
  write_file(config_path,
             R"({"tracker":{"url":"http://h:1","project":"alpha","token_file":"token"}})");
  auto refused = load_remote_config();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("0644"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("secret-in-file"), std::string::npos);

  ::chmod((dir / "token").c_str(), 0600);
  auto accepted = load_remote_config();
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ((*accepted)->token, "secret-in-file");  // the newline cut

  ::chmod((dir / "token").c_str(), 0640);
  ScopedEnv env_file("SDDSH_TRACKER_TOKEN_FILE", (dir / "token").c_str());
  EXPECT_FALSE(load_remote_config());
}

TEST_F(RemoteConfigTest, AConfigFileHoldingTheTokenMustBePrivate) {
  write_file(config_path, R"({"tracker":{"url":"http://h:1","project":"alpha","token":"t0k3n"}})",
             0644);
  auto refused = load_remote_config();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(config_path), std::string::npos);
  EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(refused.error().message.find("t0k3n"), std::string::npos);
  // Without a token in it, a readable config file is fine.
  write_file(config_path, R"({"tracker":{"url":"http://h:1","project":"alpha"}})", 0644);
  ScopedEnv env_token("SDDSH_TRACKER_TOKEN", "t0k3n");
  EXPECT_TRUE(load_remote_config());
}

TEST_F(RemoteConfigTest, MissingKeysAreNamed) {
  ScopedEnv env_url("SDDSH_TRACKER_URL", "http://127.0.0.1:9000");
  auto incomplete = load_remote_config();
  ASSERT_FALSE(incomplete);
  EXPECT_NE(incomplete.error().message.find("SDDSH_TRACKER_PROJECT"), std::string::npos)
      << incomplete.error().message;
  EXPECT_NE(incomplete.error().message.find("SDDSH_TRACKER_TOKEN"), std::string::npos);
  ScopedEnv env_project("SDDSH_TRACKER_PROJECT", "alpha");
  auto no_token = load_remote_config();
  ASSERT_FALSE(no_token);
  EXPECT_EQ(no_token.error().message.find("SDDSH_TRACKER_PROJECT"), std::string::npos);
  EXPECT_NE(no_token.error().message.find("missing SDDSH_TRACKER_TOKEN"), std::string::npos)
      << no_token.error().message;
}

TEST_F(RemoteConfigTest, BadValuesAreRefusedWithTheirReason) {
  write_file(config_path, "{\"tracker\": {");
  auto bad_json = load_remote_config();
  ASSERT_FALSE(bad_json);
  EXPECT_EQ(bad_json.error().message, config_path + ": not valid JSON");

  write_file(config_path, R"({"tracker":{"url":"ftp://h","project":"alpha"}})");
  ScopedEnv env_token("SDDSH_TRACKER_TOKEN", "t");
  auto bad_scheme = load_remote_config();
  ASSERT_FALSE(bad_scheme);
  EXPECT_NE(bad_scheme.error().message.find("https://"), std::string::npos);

  write_file(config_path, R"({"tracker":{"url":"http://h","project":"Alpha/../x"}})");
  EXPECT_FALSE(load_remote_config());
  write_file(config_path,
             R"({"tracker":{"url":"http://h","project":"alpha","ca_file":"none.pem"}})");
  auto no_ca = load_remote_config();
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().message.find("none.pem"), std::string::npos);
}

TEST_F(RemoteConfigTest, RedactPatternsComeFromTheConfigFile) {
  auto none = load_redact_patterns();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  write_file(config_path, R"({"redact":{"patterns":["acme-[0-9a-f]{32}","internal\\.corp"]}})");
  auto patterns = load_redact_patterns();
  ASSERT_TRUE(patterns) << patterns.error().message;
  EXPECT_EQ(*patterns, (std::vector<std::string>{"acme-[0-9a-f]{32}", "internal\\.corp"}));
  write_file(config_path, R"({"redact":{"patterns":[1]}})");
  EXPECT_FALSE(load_redact_patterns());
}

TEST(RetryPolicyTest, BackoffDoublesUpToTheCap) {
  RetryPolicy policy;  // 200 ms, doubling, at most 5 s
  EXPECT_EQ(backoff_ceiling(policy, 1), 200ms);
  EXPECT_EQ(backoff_ceiling(policy, 2), 400ms);
  EXPECT_EQ(backoff_ceiling(policy, 5), 3200ms);
  EXPECT_EQ(backoff_ceiling(policy, 6), 5000ms);
  EXPECT_EQ(backoff_ceiling(policy, 60), 5000ms);
}

TEST(ReplyDecodingTest, UnsafeSessionFileNamesAreRefused) {
  const std::string hash(64, 'a');
  for (const char* name : {"../etc/passwd", "a/b", "..", ".hidden", "x..y", "", "a\\b"}) {
    const json metadata = {{"files", {{{"name", name}, {"sha256", hash}}}}};
    EXPECT_FALSE(decode_session_files(metadata)) << name;
  }
  auto fine = decode_session_files(
      json{{"files", {{{"name", "turn-0001.patch"}, {"sha256", hash}, {"size", 3}}}}});
  ASSERT_TRUE(fine) << fine.error().message;
  EXPECT_EQ((*fine)[0].size, 3U);
}

TEST(ApiNameTest, NamesFollowTheApisRules) {
  EXPECT_TRUE(is_project_name("acme-web_2"));
  EXPECT_TRUE(is_project_name(std::string(63, 'a')));
  EXPECT_FALSE(is_project_name(std::string(64, 'a')));
  for (const char* bad : {"", "Acme", "-acme", "a.b", "a/b", "a b"})
    EXPECT_FALSE(is_project_name(bad)) << bad;
  EXPECT_TRUE(is_task_id("sd-1a2b"));
  EXPECT_TRUE(is_task_id("T.1_x-Y"));
  EXPECT_FALSE(is_task_id(std::string(65, 'a')));
  for (const char* bad : {"", ".x", "../x", "a/b", "a%2Fb", "é"})
    EXPECT_FALSE(is_task_id(bad)) << bad;
  EXPECT_TRUE(is_upload_name("20261121-101500-ab12cd.0"));
  EXPECT_TRUE(is_upload_name(std::string(128, 'a')));
  EXPECT_FALSE(is_upload_name(std::string(129, 'a')));
  EXPECT_FALSE(is_upload_name("x..y"));
}

TEST(ReplyDecodingTest, JsonReplyNamesWhatWentWrong) {
  HttpResponse garbage{.status = 200, .body = "<html>proxy error</html>"};
  auto not_json = json_reply(garbage);
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().message, "the tracker's reply is not JSON (HTTP 200)");
  HttpResponse conflict{
      .status = 409,
      .body =
          R"({"error":{"code":"conflict","message":"sd-1 is already claimed by bob\u001b[2J"}})"};
  auto refused = json_reply(conflict);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "sd-1 is already claimed by bob [2J");  // no escape codes
  EXPECT_FALSE(decode_task_page(json{{"tasks", {{{"id", 1}}}}}));
  EXPECT_FALSE(decode_task_page(json{{"tasks", json::array()}, {"next_cursor", 5}}));
  EXPECT_FALSE(decode_upload_state(json{{"offset", -1}}));
}

}  // namespace
}  // namespace sddsh::tracker
