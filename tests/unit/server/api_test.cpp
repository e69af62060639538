// The tracker's HTTP API on a real sddsh-tracker (in-process, a free loopback port, httplib's
// client or raw bytes) and, where that is clearer, on the dispatch layer itself: auth, bad
// input, the task routes, the claim race, resumable uploads, sessions, import, TLS, the hooks.
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server_test_support.hpp"
#include "tracker-client/sha256.hpp"
#include "tracker-server/api.hpp"

namespace sddsh::server {
namespace {

using testing::bearer;
using testing::json;
using testing::TempDir;

constexpr const char* kJson = "application/json";

class ApiServerTest : public ::testing::Test {
 protected:
  ApiServerTest() {
    auto store = open_sqlite_store(data_dir());
    if (!store) throw std::runtime_error(store.error().message);
    write_ = *(*store)->create_token("alpha", Role::Write, "alice");
    read_ = *(*store)->create_token("alpha", Role::Read, "reader");
    other_ = *(*store)->create_token("beta", Role::Write, "bob");
    server_ = std::make_unique<testing::RunningServer>(ServerOptions{
        .data_dir = data_dir(), .max_json_body = 64u << 10, .access_log = access_log()});
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10);
    client_->set_tcp_nodelay(true);  // as libcurl does: no Nagle wait between headers and body
  }

  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string access_log() const { return dir_.path() + "/access.log"; }
  int port() const { return server_->port(); }

  httplib::Result post(const std::string& path, const json& body, const std::string& token) {
    return client_->Post(path.c_str(), bearer(token), body.dump(), kJson);
  }
  httplib::Result get(const std::string& path, const std::string& token) {
    return client_->Get(path.c_str(), bearer(token));
  }
  json create_task(const std::string& title) {
    auto reply = post("/v1/projects/alpha/tasks", {{"title", title}}, write_);
    EXPECT_TRUE(reply);
    EXPECT_EQ(reply->status, 201) << reply->body;
    return json::parse(reply->body);
  }
  // PUTs bytes as a file piece; Content-Range when `range` is set.
  httplib::Result put_file(const std::string& uid, const std::string& name,
                           const std::string& sha256, const std::string& body,
                           const std::string& range = "") {
    auto headers = bearer(write_);
    headers.emplace("X-Sddsh-Sha256", sha256);
    if (!range.empty()) headers.emplace("Content-Range", range);
    return client_->Put(("/v1/projects/alpha/sessions/" + uid + "/files/" + name).c_str(), headers,
                        body, "application/octet-stream");
  }
  json file_status(const std::string& uid, const std::string& name) {
    auto reply = get("/v1/projects/alpha/sessions/" + uid + "/files/" + name + "/status", write_);
    EXPECT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    return json::parse(reply->body);
  }

  TempDir dir_;
  std::string write_, read_, other_;
  std::unique_ptr<testing::RunningServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

std::string error_code(const httplib::Result& reply) {
  auto body = json::parse(reply->body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return "<no error body: " + reply->body + ">";
  return body["error"].value("code", "");
}

// ---- auth ----

TEST_F(ApiServerTest, HealthNeedsNoToken) {
  auto reply = client_->Get("/v1/health");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(json::parse(reply->body), json({{"status", "ok"}, {"version", "0.1.0"}}));
}

TEST_F(ApiServerTest, AuthorizationMatrix) {
  create_task("in alpha");
  // A token of project beta can neither read nor write alpha.
  auto foreign_read = get("/v1/projects/alpha/ready", other_);
  ASSERT_TRUE(foreign_read);
  EXPECT_EQ(foreign_read->status, 403);
  EXPECT_EQ(error_code(foreign_read), "forbidden");
  auto foreign_write = post("/v1/projects/alpha/tasks", {{"title", "x"}}, other_);
  ASSERT_TRUE(foreign_write);
  EXPECT_EQ(foreign_write->status, 403);
  // A wrong token, a malformed header, none at all: 401.
  for (const auto& headers :
       {bearer(write_ + "x"), httplib::Headers{{"Authorization", "Basic abc"}},
        httplib::Headers{}}) {
    auto reply = client_->Get("/v1/projects/alpha/ready", headers);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 401);
    EXPECT_EQ(error_code(reply), "unauthorized");
  }
  // A read token reads, and cannot write.
  auto reading = get("/v1/projects/alpha/ready", read_);
  ASSERT_TRUE(reading);
  EXPECT_EQ(reading->status, 200);
  auto writing = post("/v1/projects/alpha/tasks", {{"title", "x"}}, read_);
  ASSERT_TRUE(writing);
  EXPECT_EQ(writing->status, 403);
  auto list = get("/v1/projects/alpha/tasks", read_);
  ASSERT_TRUE(list);
  EXPECT_EQ(json::parse(list->body)["tasks"].size(), 1u);  // the refused create made nothing
}

TEST_F(ApiServerTest, RevokedTokenIsRefusedAtOnce) {
  ASSERT_EQ(get("/v1/projects/alpha", read_)->status, 200);
  auto tokens = (*server_)->store().list_tokens();
  ASSERT_TRUE(tokens);
  for (const auto& token : *tokens) {
    if (token.identity.label == "reader") {
      ASSERT_TRUE((*server_)->store().revoke_token(token.identity.id));
    }
  }
  EXPECT_EQ(get("/v1/projects/alpha", read_)->status, 401);
}

// ---- bad input ----

TEST_F(ApiServerTest, MalformedJsonIs400) {
  for (const std::string& body : std::vector<std::string>{
           "{\"title\": ", "[1,2]", "\"text\"", "{\"title\": 5}", std::string(100, '[')}) {
    auto reply = client_->Post("/v1/projects/alpha/tasks", bearer(write_), body, kJson);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400) << body;
    EXPECT_EQ(error_code(reply), "bad_request");
  }
}

TEST_F(ApiServerTest, WrongContentTypeIs415) {
  auto reply =
      client_->Post("/v1/projects/alpha/tasks", bearer(write_), R"({"title":"x"})", "text/plain");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 415);
  EXPECT_EQ(error_code(reply), "unsupported_media_type");
}

TEST_F(ApiServerTest, HugeBodyIs413AndTheConnectionGoesOn) {
  const std::string huge = R"({"title":")" + std::string(100u << 10, 'x') + R"("})";
  auto reply = client_->Post("/v1/projects/alpha/tasks", bearer(write_), huge, kJson);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(error_code(reply), "payload_too_large");
  // The same client goes on working.
  auto next = get("/v1/projects/alpha", write_);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(ApiServerTest, ChunkedHugeBodyIs413) {
  // No Content-Length: the limit holds while reading.
  const std::string chunk = std::string(30u << 10, 'x');
  std::string request =
      "POST /v1/projects/alpha/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + write_ +
      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: "
      "close\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    request += size + chunk + "\r\n";
  }
  request += "0\r\n\r\n";
  EXPECT_EQ(testing::raw_http(port(), request).first, 413);
}

TEST_F(ApiServerTest, PathTricksAre400) {
  for (const std::string target :
       {"/v1/projects/alpha/tasks/..%2F..%2Fserver.db", "/v1/projects/alpha/tasks/%2e%2e",
        "/v1/projects/alpha/tasks/../../x", "/v1/projects/alpha/tasks/a%2Fb",
        "/v1/projects/alpha/sessions/..%2F..%2Fblobs/files/x",
        "/v1/projects/alpha/sessions/s.0/files/..",
        "/v1/projects/alpha/sessions/s.0/files/%2e%2e%2fserver.db", "/v1/projects/..%2Falpha",
        "/v1/projects/alpha/tasks/%0a", "/v1/projects/alpha/tasks/x%zz",
        "/v1/projects/ALPHA/ready"}) {
    auto [status, body] = testing::raw_get(port(), target, write_);
    EXPECT_EQ(status, 400) << target << ": " << body;
  }
}

TEST_F(ApiServerTest, UnknownRoutesAre404) {
  for (const std::string target :
       {"/v1/nothing", "/v2/health", "/", "/v1/projects/alpha/tasks/a/b/c"}) {
    auto [status, body] = testing::raw_get(port(), target, write_);
    EXPECT_EQ(status, 404) << target;
    EXPECT_NE(body.find("not_found"), std::string::npos);
  }
  auto reply = client_->Delete("/v1/projects/alpha/tasks/x", bearer(write_));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 404);
}

TEST_F(ApiServerTest, BadQueryValuesAre400) {
  for (const std::string query :
       {"?limit=0", "?limit=1001", "?limit=x", "?type=saga", "?bogus=1", "?limit=1&limit=2"}) {
    auto reply = get("/v1/projects/alpha/ready" + query, write_);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400) << query;
  }
  EXPECT_EQ(get("/v1/projects/alpha/tasks?cursor=nonsense", write_)->status, 400);
  EXPECT_EQ(get("/v1/projects/alpha/tasks?status=done", write_)->status, 400);
}

TEST_F(ApiServerTest, BadFieldsAre400) {
  const std::vector<json> bodies = {
      {{"title", ""}},
      {{"title", "x"}, {"priority", 9}},
      {{"title", "x"}, {"issue_type", "saga"}},
      {{"title", "x"}, {"labels", "not-a-list"}},
      {{"title", "x"}, {"parent", "../x"}},
      {{"title", "x"}, {"spec_ref", {{"dir", 5}}}},
  };
  for (const auto& body : bodies) {
    auto reply = post("/v1/projects/alpha/tasks", body, write_);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400) << body.dump() << " → " << reply->body;
  }
}

// ---- tasks ----

TEST_F(ApiServerTest, TaskLifecycle) {
  auto task = create_task("write the parser");
  const std::string path = "/v1/projects/alpha/tasks/" + task["id"].get<std::string>();
  auto fetched = get(path, read_);
  ASSERT_TRUE(fetched);
  EXPECT_EQ(json::parse(fetched->body)["title"], "write the parser");

  auto patched =
      client_->Patch(path.c_str(), bearer(write_), R"({"priority":0,"labels":["core"]})", kJson);
  ASSERT_TRUE(patched);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(json::parse(patched->body)["priority"], 0);

  auto claimed = post(path + "/claim", {{"assignee", "alice"}}, write_);
  ASSERT_EQ(claimed->status, 200) << claimed->body;
  EXPECT_EQ(json::parse(claimed->body)["status"], "in_progress");
  auto again = post(path + "/claim", {{"assignee", "bob"}}, write_);
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(error_code(again), "conflict");
  EXPECT_NE(again->body.find("already claimed by alice"), std::string::npos);

  auto noted = post(path + "/notes", {{"note", "halfway"}, {"actor", "alice"}}, write_);
  ASSERT_EQ(noted->status, 200);
  EXPECT_NE(json::parse(noted->body)["description"].get<std::string>().find("halfway"),
            std::string::npos);

  auto closed =
      post(path + "/close", {{"reason", "done"}, {"session_id", "20261121-101500-ab12cd"}}, write_);
  ASSERT_EQ(closed->status, 200);
  EXPECT_EQ(json::parse(closed->body)["status"], "closed");
  auto reopened = client_->Post((path + "/reopen").c_str(), bearer(write_), "", kJson);
  ASSERT_EQ(reopened->status, 200) << reopened->body;
  EXPECT_EQ(json::parse(reopened->body)["status"], "open");
  EXPECT_EQ(post(path + "/reopen", json::object(), write_)->status,
            200);  // open already: no change
  ASSERT_EQ(post(path + "/claim", {{"assignee", "carol"}}, write_)->status, 200);
  EXPECT_EQ(post(path + "/reopen", json::object(), write_)->status,
            409);  // in progress, not closed

  EXPECT_EQ(get("/v1/projects/alpha/tasks/sd-none", write_)->status, 404);
  EXPECT_EQ(post("/v1/projects/alpha/tasks/sd-none/claim", {{"assignee", "a"}}, write_)->status,
            404);
}

TEST_F(ApiServerTest, DependenciesAndReady) {
  auto first = create_task("first");
  auto second = create_task("second");
  const json edge = {
      {"issue_id", second["id"]}, {"depends_on_id", first["id"]}, {"type", "blocks"}};
  auto added = post("/v1/projects/alpha/dependencies", edge, write_);
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 201) << added->body;
  EXPECT_EQ(post("/v1/projects/alpha/dependencies", edge, write_)->status, 200);  // it existed
  const json cycle = {
      {"issue_id", first["id"]}, {"depends_on_id", second["id"]}, {"type", "blocks"}};
  EXPECT_EQ(post("/v1/projects/alpha/dependencies", cycle, write_)->status, 409);
  const json dangling = {
      {"issue_id", first["id"]}, {"depends_on_id", "sd-none"}, {"type", "blocks"}};
  EXPECT_EQ(post("/v1/projects/alpha/dependencies", dangling, write_)->status, 404);

  auto edges =
      get("/v1/projects/alpha/tasks/" + first["id"].get<std::string>() + "/dependencies", read_);
  ASSERT_EQ(edges->status, 200);
  EXPECT_EQ(json::parse(edges->body)["dependencies"].size(), 1u);

  auto ready = json::parse(get("/v1/projects/alpha/ready?type=task", read_)->body)["tasks"];
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0]["id"], first["id"]);
  // The cached reply goes with the next write.
  post("/v1/projects/alpha/tasks/" + first["id"].get<std::string>() + "/close",
       {{"reason", "done"}}, write_);
  ready = json::parse(get("/v1/projects/alpha/ready?type=task", read_)->body)["tasks"];
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0]["id"], second["id"]);
}

TEST_F(ApiServerTest, ListPagesWithACursor) {
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) made.push_back(create_task("task " + std::to_string(i))["id"]);
  std::vector<std::string> seen;
  std::string path = "/v1/projects/alpha/tasks?limit=2";
  for (int page = 0; page < 10; ++page) {
    auto reply = json::parse(get(path, read_)->body);
    for (const auto& task : reply["tasks"]) seen.push_back(task["id"]);
    if (reply["next_cursor"].is_null()) break;
    path = "/v1/projects/alpha/tasks?limit=2&cursor=" +
           httplib::detail::encode_query_param(reply["next_cursor"]);
  }
  EXPECT_EQ(seen, made);
}

TEST_F(ApiServerTest, ClaimRaceHasExactlyOneWinner) {
  constexpr int kRounds = 100;
  httplib::Client alice("127.0.0.1", port()), bob("127.0.0.1", port());
  for (auto* client : {&alice, &bob}) {
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    ASSERT_TRUE(client->Get("/v1/health"));  // connected before the race
  }
  for (int round = 0; round < kRounds; ++round) {
    const auto id = create_task("contested " + std::to_string(round))["id"].get<std::string>();
    const auto path = "/v1/projects/alpha/tasks/" + id + "/claim";
    std::latch start(2);
    std::atomic<int> wins = 0, conflicts = 0;
    auto claim = [&](httplib::Client& client, const char* who) {
      start.arrive_and_wait();
      auto reply = client.Post(path.c_str(), bearer(write_), json{{"assignee", who}}.dump(), kJson);
      if (reply && reply->status == 200) ++wins;
      if (reply && reply->status == 409) ++conflicts;
    };
    std::thread a([&] { claim(alice, "alice"); });
    std::thread b([&] { claim(bob, "bob"); });
    a.join();
    b.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
    ASSERT_EQ(conflicts.load(), 1) << "round " << round;
  }
}

TEST_F(ApiServerTest, ImportTwiceCreatesNothingTheSecondTime) {
  const std::string tasks_md =
      "# Tasks: Todo\n\n## Phase 1: Setup\n\n- [ ] T001 Create the project\n- [ ] T002 [P] Add a "
      "linter\n";
  const json body = {{"spec_dir", "specs/001-todo"}, {"tasks_md", tasks_md}};
  auto first = post("/v1/projects/alpha/import", body, write_);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(json::parse(first->body)["tasks"]["created"], 2);
  auto second = json::parse(post("/v1/projects/alpha/import", body, write_)->body);
  EXPECT_EQ(second["tasks"]["created"], 0);
  EXPECT_EQ(second["tasks"]["unchanged"], 2);
  EXPECT_EQ(second["epic"]["created"], 0);
  auto found = get("/v1/projects/alpha/spec-tasks?dir=specs%2F001-todo&task_id=T002", read_);
  ASSERT_EQ(found->status, 200);
  EXPECT_EQ(json::parse(found->body)["spec_ref"]["task_id"], "T002");
  EXPECT_EQ(get("/v1/projects/alpha/spec-tasks?dir=specs%2F001-todo&task_id=T999", read_)->status,
            404);
  EXPECT_EQ(get("/v1/projects/alpha/spec-tasks", read_)->status, 400);
  EXPECT_EQ(post("/v1/projects/alpha/import", {{"spec_dir", "x"}}, write_)->status, 400);
}

// ---- uploads and sessions ----

TEST_F(ApiServerTest, ResumableUpload) {
  std::string bytes;
  for (int i = 0; i < 30000; ++i) bytes += static_cast<char>('a' + i % 26);
  const auto sha = tracker::sha256_hex(bytes);
  auto first = put_file("s.0", "terminal.cast", sha, bytes.substr(0, 10000), "bytes 0-9999/30000");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  EXPECT_EQ(json::parse(first->body), json({{"offset", 10000}, {"complete", false}}));
  // A piece that starts elsewhere: 409 with where the server stands.
  auto wrong =
      put_file("s.0", "terminal.cast", sha, bytes.substr(20000), "bytes 20000-29999/30000");
  ASSERT_EQ(wrong->status, 409);
  EXPECT_EQ(error_code(wrong), "offset_mismatch");
  EXPECT_EQ(json::parse(wrong->body)["offset"], 10000);
  EXPECT_EQ(file_status("s.0", "terminal.cast"), json({{"offset", 10000}, {"complete", false}}));
  auto rest = put_file("s.0", "terminal.cast", sha, bytes.substr(10000), "bytes 10000-29999/30000");
  ASSERT_EQ(rest->status, 200) << rest->body;
  EXPECT_EQ(
      json::parse(rest->body),
      json({{"name", "terminal.cast"}, {"sha256", sha}, {"size", 30000}, {"complete", true}}));
  auto fetched = get("/v1/projects/alpha/sessions/s.0/files/terminal.cast", read_);
  ASSERT_EQ(fetched->status, 200);
  EXPECT_EQ(fetched->body, bytes);
  EXPECT_EQ(fetched->get_header_value("X-Sddsh-Sha256"), sha);
  // The same bytes again (another session, or a retry): complete at once.
  auto again = put_file("t.0", "terminal.cast", sha, bytes);
  ASSERT_EQ(again->status, 200);
  EXPECT_TRUE(json::parse(again->body)["complete"]);
}

TEST_F(ApiServerTest, HashMismatchIs400AndDropsThePartial) {
  const std::string bytes = "these are the bytes";
  auto reply = put_file("s.0", "task.patch", tracker::sha256_hex("something else!!!!!"), bytes);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(file_status("s.0", "task.patch"), json({{"offset", 0}, {"complete", false}}));
  EXPECT_EQ(get("/v1/projects/alpha/sessions/s.0/files/task.patch", read_)->status, 404);
}

TEST_F(ApiServerTest, FilePutChecksItsHeaders) {
  const auto sha = tracker::sha256_hex("abc");
  EXPECT_EQ(put_file("s.0", "f", "not-a-hash", "abc")->status, 400);
  EXPECT_EQ(put_file("s.0", "f", sha, "abc", "bytes 0-9/3")->status, 400);
  EXPECT_EQ(put_file("s.0", "f", sha, "abc", "bytes 0-1/3")->status, 400);  // 3 bytes sent, 2 said
  EXPECT_EQ(put_file("s.0", "f", sha, "abc", "items 0-2/3")->status, 400);
  auto form =
      client_->Put("/v1/projects/alpha/sessions/s.0/files/f",
                   httplib::Headers{{"Authorization", "Bearer " + write_}, {"X-Sddsh-Sha256", sha}},
                   "abc", "multipart/form-data; boundary=x");
  EXPECT_EQ(form->status, 415);
  auto read_only =
      client_->Put("/v1/projects/alpha/sessions/s.0/files/f",
                   httplib::Headers{{"Authorization", "Bearer " + read_}, {"X-Sddsh-Sha256", sha}},
                   "abc", "application/octet-stream");
  EXPECT_EQ(read_only->status, 403);
}

TEST_F(ApiServerTest, SessionPutTwiceListsOneSession) {
  const auto task = create_task("with a session")["id"].get<std::string>();
  const std::string cast = "{\"version\": 2}\n";
  ASSERT_EQ(put_file("20261121-101500-ab12cd.0", "terminal.cast", tracker::sha256_hex(cast), cast)
                ->status,
            200);
  json meta = {{"session_id", "20261121-101500-ab12cd"},
               {"task_id", task},
               {"segment", 0},
               {"agent", "claude"},
               {"started_at", "2026-11-21T10:15:00.000Z"},
               {"ended_at", "2026-11-21T10:45:00.000Z"},
               {"redaction", {{"anthropic", 1}}},
               {"files",
                {{{"name", "terminal.cast"},
                  {"sha256", tracker::sha256_hex(cast)},
                  {"size", cast.size()}}}}};
  const std::string path = "/v1/projects/alpha/sessions/20261121-101500-ab12cd.0";
  auto first = client_->Put(path.c_str(), bearer(write_), meta.dump(), kJson);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201) << first->body;
  auto second = client_->Put(path.c_str(), bearer(write_), meta.dump(), kJson);
  EXPECT_EQ(second->status, 200);
  auto sessions =
      json::parse(get("/v1/projects/alpha/tasks/" + task + "/sessions", read_)->body)["sessions"];
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["redaction"]["anthropic"], 1);  // other fields are kept
  EXPECT_EQ(sessions[0]["uploaded_by"], "alice");
  auto one = json::parse(get(path, read_)->body);
  EXPECT_EQ(one["agent"], "claude");
  EXPECT_FALSE(one["uploaded_at"].get<std::string>().empty());
}

TEST_F(ApiServerTest, SessionPutRefusesMissingFilesAndUnknownTasks) {
  const auto task = create_task("t")["id"].get<std::string>();
  json meta = {
      {"session_id", "s1"},
      {"task_id", task},
      {"segment", 2},
      {"files", {{{"name", "terminal.cast"}, {"sha256", std::string(64, 'a')}, {"size", 5}}}}};
  auto missing =
      client_->Put("/v1/projects/alpha/sessions/s1.2", bearer(write_), meta.dump(), kJson);
  ASSERT_EQ(missing->status, 409);
  EXPECT_EQ(error_code(missing), "missing_files");
  EXPECT_EQ(json::parse(missing->body)["missing"], json({"terminal.cast"}));
  meta["files"] = json::array();
  meta["task_id"] = "sd-none";
  EXPECT_EQ(
      client_->Put("/v1/projects/alpha/sessions/s1.2", bearer(write_), meta.dump(), kJson)->status,
      404);
  meta["task_id"] = task;
  // The upload id must be <session_id>.<segment>.
  EXPECT_EQ(
      client_->Put("/v1/projects/alpha/sessions/s1.3", bearer(write_), meta.dump(), kJson)->status,
      400);
  EXPECT_EQ(
      client_->Put("/v1/projects/alpha/sessions/s1.2", bearer(write_), meta.dump(), kJson)->status,
      201);
  EXPECT_EQ(get("/v1/projects/alpha/sessions/s9.0", read_)->status, 404);
}

// ---- the access log ----

TEST_F(ApiServerTest, AccessLogShowsWhoButNoSecrets) {
  get("/v1/projects/alpha/spec-tasks?dir=secret-dir-value&task_id=T1", write_);
  client_->Get("/v1/projects/alpha/ready", bearer("not-a-real-token"));
  server_.reset();  // every line written
  const auto log = testing::read_file(access_log());
  EXPECT_EQ(log.find(write_), std::string::npos);
  EXPECT_EQ(log.find("not-a-real-token"), std::string::npos);
  EXPECT_EQ(log.find("secret-dir-value"), std::string::npos);
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto entry = json::parse(line);
    for (const auto* field : {"time", "remote", "method", "path", "status", "bytes", "duration_ms",
                              "project", "token"}) {
      EXPECT_TRUE(entry.contains(field)) << field << " in " << line;
    }
    ++count;
  }
  ASSERT_EQ(count, 2);
  EXPECT_EQ(json::parse(log.substr(0, log.find('\n')))["token"], "alice");
}

// ---- TLS ----

TEST(ApiTlsTest, ServesHttpsWithItsCertificate) {
  TempDir dir;
  const auto cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  testing::make_self_signed_certificate(cert, key);
  auto store = open_sqlite_store(dir.path() + "/data");
  ASSERT_TRUE(store);
  auto token = (*store)->create_token("alpha", Role::Read, "tls");
  ASSERT_TRUE(token);
  testing::RunningServer server(ServerOptions{
      .data_dir = dir.path() + "/data", .cert_file = cert, .key_file = key, .access_log = "-"});
  httplib::SSLClient client("127.0.0.1", server.port());
  client.set_ca_cert_path(cert.c_str());
  client.enable_server_certificate_verification(true);
  auto reply = client.Get("/v1/projects/alpha", bearer(*token));
  ASSERT_TRUE(reply) << httplib::to_string(reply.error());
  EXPECT_EQ(reply->status, 200);
  // Plain HTTP on the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", server.port());
  plain.set_read_timeout(2);
  auto refused = plain.Get("/v1/health");
  EXPECT_TRUE(!refused || refused->status != 200);
}

TEST(ApiTlsTest, AMissingCertificateFailsToOpen) {
  TempDir dir;
  auto opened = Server::open({.data_dir = dir.path(),
                              .port = 0,
                              .cert_file = dir.path() + "/none.pem",
                              .key_file = dir.path() + "/none.key",
                              .access_log = "-"});
  EXPECT_FALSE(opened);
  auto half =
      Server::open({.data_dir = dir.path(), .port = 0, .cert_file = "x", .access_log = "-"});
  EXPECT_FALSE(half);
}

// ---- the test hooks ----

TEST_F(ApiServerTest, FailNextRequestsAnswersTheStatus) {
  (*server_)->fail_next_requests(2, 503);
  EXPECT_EQ(get("/v1/projects/alpha", read_)->status, 503);
  EXPECT_EQ(post("/v1/projects/alpha/tasks", {{"title", "x"}}, write_)->status, 503);
  EXPECT_EQ(get("/v1/projects/alpha", read_)->status, 200);
  // The failed create did nothing.
  EXPECT_EQ(json::parse(get("/v1/projects/alpha/tasks", read_)->body)["tasks"].size(), 0u);
}

TEST_F(ApiServerTest, DelayNextRequestsProvokesATimeout) {
  (*server_)->delay_next_requests(1, std::chrono::milliseconds(1500));
  httplib::Client impatient("127.0.0.1", port());
  impatient.set_read_timeout(0, 200'000);
  auto late = impatient.Get("/v1/health");
  EXPECT_FALSE(late);
  EXPECT_EQ(late.error(), httplib::Error::Read);
  EXPECT_EQ(get("/v1/projects/alpha", read_)->status, 200);
}

TEST_F(ApiServerTest, DropNextUploadKeepsWhatArrived) {
  std::string bytes(50000, 'z');
  bytes[123] = 'q';
  const auto sha = tracker::sha256_hex(bytes);
  (*server_)->drop_next_upload_after(20000);
  httplib::Client uploader("127.0.0.1", port());
  auto headers = bearer(write_);
  headers.emplace("X-Sddsh-Sha256", sha);
  auto dropped = uploader.Put("/v1/projects/alpha/sessions/s.0/files/big", headers, bytes,
                              "application/octet-stream");
  EXPECT_FALSE(dropped && dropped->status == 200);
  EXPECT_EQ(file_status("s.0", "big"), json({{"offset", 20000}, {"complete", false}}));
  auto rest = put_file("s.0", "big", sha, bytes.substr(20000), "bytes 20000-49999/50000");
  ASSERT_EQ(rest->status, 200) << rest->body;
  EXPECT_EQ(get("/v1/projects/alpha/sessions/s.0/files/big", read_)->body, bytes);
}

TEST_F(ApiServerTest, DropAfterTheLastByteCompletesOnStatus) {
  const std::string bytes(3000, 'w');
  (*server_)->drop_next_upload_after(bytes.size());
  httplib::Client uploader("127.0.0.1", port());
  auto headers = bearer(write_);
  headers.emplace("X-Sddsh-Sha256", tracker::sha256_hex(bytes));
  auto dropped = uploader.Put("/v1/projects/alpha/sessions/s.0/files/f", headers, bytes,
                              "application/octet-stream");
  EXPECT_FALSE(dropped);
  EXPECT_EQ(file_status("s.0", "f")["complete"], true);
}

// ---- the dispatch layer ----

class ApiDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = open_sqlite_store(dir_.path());
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
    token_ = *store_->create_token("alpha", Role::Write, "w");
    api_ = std::make_unique<Api>(*store_, ApiLimits{.max_json_body = 1024, .max_file_size = 4096});
  }
  ApiResponse call(const std::string& method, const std::string& target,
                   const std::string& body = "",
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + token_);
    return api_->handle(make_request(method, target, body, std::move(headers)));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::string token_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiDispatchTest, FileTooLargeIs413) {
  auto reply = call("PUT", "/v1/projects/alpha/sessions/s.0/files/f", "",
                    {{"X-Sddsh-Sha256", std::string(64, 'a')},
                     {"Content-Range", "bytes 0-9/5000"},
                     {"Content-Length", "10"}});
  EXPECT_EQ(reply.status, 413);
}

TEST_F(ApiDispatchTest, AnEmptyFileUploads) {
  auto reply = call("PUT", "/v1/projects/alpha/sessions/s.0/files/empty", "",
                    {{"X-Sddsh-Sha256", tracker::sha256_hex("")}});
  EXPECT_EQ(reply.status, 200) << reply.body;
}

TEST_F(ApiDispatchTest, BodyLongerThanItsRangeIs400) {
  auto reply = call("PUT", "/v1/projects/alpha/sessions/s.0/files/f", "abcdef",
                    {{"X-Sddsh-Sha256", std::string(64, 'a')},
                     {"Content-Range", "bytes 0-2/10"},
                     {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(reply.status, 400);
}

TEST_F(ApiDispatchTest, PreflightAnswersBeforeTheBody) {
  ApiRequest request = make_request("POST", "/v1/projects/alpha/tasks", "",
                                    {{"Authorization", "Bearer " + token_},
                                     {"Content-Length", "5000"},
                                     {"Content-Type", "application/json"}});
  auto early = api_->preflight(request);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 413);
  request.headers = {
      {"Authorization", "Bearer " + token_}, {"Content-Length", "10"}, {"Content-Type", kJson}};
  EXPECT_FALSE(api_->preflight(request));  // the body is needed
}

TEST_F(ApiDispatchTest, NeverThrowsOnOddRequests) {
  for (const std::string& target : std::vector<std::string>{
           "", "*", "/v1/projects/alpha/tasks?%", "/v1/projects/alpha/ready?=&&=", "/v1//projects",
           std::string(5000, '/')}) {
    auto reply = call("GET", target);
    EXPECT_GE(reply.status, 400) << target;
    EXPECT_LT(reply.status, 500) << target;
  }
}

}  // namespace
}  // namespace sddsh::server
