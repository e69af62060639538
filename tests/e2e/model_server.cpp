#include "model_server.hpp"

#include <httplib.h>

#include <cctype>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

namespace sddsh::e2e {

namespace {

using nlohmann::json;
using Reply = ScriptedReply;

const char* const kSideText = "OK";
const char* const kScriptDoneText = "done";

// What a protocol needs to shape one answer.
struct Turn {
  const Reply& reply;
  const json& request;    // the request's body
  std::string_view path;  // Gemini says "stream" in the path, not in the body
  std::string id;         // unique among this server's answers
};

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;
};

Answer json_answer(const json& body, int status = 200) {
  return {status, "application/json", body.dump()};
}

Answer sse_answer(std::string events) {
  return {200, "text/event-stream", std::move(events)};
}

std::string sse_event(std::string_view name, const json& data) {
  return "event: " + std::string(name) + "\ndata: " + data.dump() + "\n\n";
}

std::string sse_data(const json& data) {
  return "data: " + data.dump() + "\n\n";
}

// Text streams in a few pieces, cut after spaces (never inside a UTF-8 sequence), so that
// agents render it incrementally the way they do with a real model.
std::vector<std::string> text_chunks(const std::string& text) {
  constexpr std::size_t kPiece = 24;
  std::vector<std::string> chunks;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t cut = text.find(' ', start + kPiece);
    cut = cut == std::string::npos ? text.size() : cut + 1;
    chunks.push_back(text.substr(start, cut - start));
    start = cut;
  }
  return chunks;
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool has_items(const json& body, const char* key) {
  return body.is_object() && body.contains(key) && body[key].is_array() && !body[key].empty();
}

std::string string_field(const json& body, const char* key, const std::string& fallback) {
  if (body.is_object() && body.contains(key) && body[key].is_string()) return body[key];
  return fallback;
}

bool wants_stream(const json& body) {
  return body.is_object() && body.value("stream", false) == true;
}

// A value that fits a JSON schema, for side requests that ask for structured output (Claude's
// session title, Gemini's routing checks): the first enum value, the side text for strings,
// the smallest number allowed (1 when unsaid: Gemini wants a score of 1 to 100).
json sample_of_schema(const json& schema) {
  if (!schema.is_object()) return kSideText;
  if (schema.contains("enum") && schema["enum"].is_array() && !schema["enum"].empty())
    return schema["enum"][0];
  // Gemini writes its types in capitals.
  const std::string type = lowercase(schema.value("type", "string"));
  if (type == "object") {
    json object = json::object();
    const json properties = schema.value("properties", json::object());
    for (const auto& [key, property] : properties.items()) object[key] = sample_of_schema(property);
    return object;
  }
  if (type == "array") return json::array();
  if (type == "boolean") return false;
  if (type == "integer" || type == "number") return schema.value("minimum", 1);
  return kSideText;
}

// The JSON schema a request wants its answer to follow, wherever its protocol puts it
// (Anthropic output_config, Gemini generationConfig, OpenAI text.format / response_format).
json requested_schema(const json& body) {
  if (!body.is_object()) return nullptr;
  const json::json_pointer places[] = {"/output_config/format/schema"_json_pointer,
                                       "/generationConfig/responseJsonSchema"_json_pointer,
                                       "/generationConfig/responseSchema"_json_pointer,
                                       "/text/format/schema"_json_pointer,
                                       "/response_format/json_schema/schema"_json_pointer};
  for (const auto& place : places)
    if (body.contains(place)) return body[place];
  return nullptr;
}

// What a side request gets: a short text, or a minimal JSON value when it asked for one.
std::string side_text(const json& body) {
  const json schema = requested_schema(body);
  return schema.is_null() ? kSideText : sample_of_schema(schema).dump();
}

// ---- Anthropic Messages (Claude Code) ----

// Claude Code sends its tools with every request of the conversation; its side requests (the
// session title) come with none.
bool anthropic_is_conversation(const json& body) {
  return has_items(body, "tools");
}

json anthropic_blocks(const Turn& t) {
  json blocks = json::array();
  if (!t.reply.text.empty()) blocks.push_back({{"type", "text"}, {"text", t.reply.text}});
  if (t.reply.tool)
    blocks.push_back({{"type", "tool_use"},
                      {"id", "toolu_scripted_" + t.id},
                      {"name", t.reply.tool->name},
                      {"input", t.reply.tool->input}});
  return blocks;
}

json anthropic_usage() {
  return {{"input_tokens", 10},
          {"output_tokens", 10},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", 0}};
}

const char* anthropic_stop_reason(const Reply& reply) {
  return reply.tool ? "tool_use" : "end_turn";
}

std::string anthropic_block_events(int index, const json& block) {
  json start = block;
  json delta;
  std::vector<std::string> pieces;
  if (block["type"] == "text") {
    start["text"] = "";
    pieces = text_chunks(block["text"]);
    delta = {{"type", "text_delta"}};
  } else {
    start["input"] = json::object();
    pieces = {block["input"].dump()};
    delta = {{"type", "input_json_delta"}};
  }
  std::string events =
      sse_event("content_block_start",
                {{"type", "content_block_start"}, {"index", index}, {"content_block", start}});
  for (const auto& piece : pieces) {
    delta[block["type"] == "text" ? "text" : "partial_json"] = piece;
    events += sse_event("content_block_delta",
                        {{"type", "content_block_delta"}, {"index", index}, {"delta", delta}});
  }
  return events +
         sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
}

Answer anthropic_answer(const Turn& t) {
  json message = {{"id", "msg_scripted_" + t.id},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"model", string_field(t.request, "model", "claude-scripted")},
                  {"content", anthropic_blocks(t)},
                  {"stop_reason", anthropic_stop_reason(t.reply)},
                  {"stop_sequence", nullptr},
                  {"usage", anthropic_usage()}};
  if (!wants_stream(t.request)) return json_answer(message);

  json start = message;
  start["content"] = json::array();
  start["stop_reason"] = nullptr;
  std::string events = sse_event("message_start", {{"type", "message_start"}, {"message", start}});
  int index = 0;
  for (const auto& block : message["content"]) events += anthropic_block_events(index++, block);
  events +=
      sse_event("message_delta",
                {{"type", "message_delta"},
                 {"delta", {{"stop_reason", message["stop_reason"]}, {"stop_sequence", nullptr}}},
                 {"usage", {{"output_tokens", 10}}}});
  return sse_answer(events + sse_event("message_stop", {{"type", "message_stop"}}));
}

Answer anthropic_count_tokens(const Turn&) {
  return json_answer({{"input_tokens", 10}});
}

// ---- OpenAI Responses (Codex) ----

bool responses_is_conversation(const json& body) {
  return has_items(body, "tools");
}

// The request says whether a tool takes JSON arguments ("function") or free text ("custom",
// like Codex's apply_patch); the call must match or the agent rejects it.
bool responses_tool_is_custom(const json& request, const std::string& name) {
  for (const auto& tool : request.value("tools", json::array()))
    if (tool.value("name", "") == name) return tool.value("type", "") == "custom";
  return false;
}

std::string tool_input_text(const json& input) {
  return input.is_string() ? input.get<std::string>() : input.dump();
}

json responses_tool_item(const Turn& t) {
  const ToolUse& tool = *t.reply.tool;
  if (responses_tool_is_custom(t.request, tool.name))
    return {{"type", "custom_tool_call"},           {"id", "ctc_scripted_" + t.id},
            {"call_id", "call_scripted_" + t.id},   {"name", tool.name},
            {"input", tool_input_text(tool.input)}, {"status", "completed"}};
  return {{"type", "function_call"},
          {"id", "fc_scripted_" + t.id},
          {"call_id", "call_scripted_" + t.id},
          {"name", tool.name},
          {"arguments", tool.input.dump()},
          {"status", "completed"}};
}

json responses_message_item(const Turn& t, const std::string& text) {
  return {
      {"type", "message"},
      {"id", "msg_scripted_" + t.id},
      {"role", "assistant"},
      {"status", "completed"},
      {"content",
       json::array({{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}}})}};
}

json responses_output(const Turn& t) {
  json output = json::array();
  if (!t.reply.text.empty()) output.push_back(responses_message_item(t, t.reply.text));
  if (t.reply.tool) output.push_back(responses_tool_item(t));
  return output;
}

json responses_object(const Turn& t, const char* status, const json& output) {
  return {{"id", "resp_scripted_" + t.id},
          {"object", "response"},
          {"model", string_field(t.request, "model", "gpt-scripted")},
          {"status", status},
          {"output", output},
          {"usage",
           {{"input_tokens", 10},
            {"input_tokens_details", {{"cached_tokens", 0}}},
            {"output_tokens", 10},
            {"output_tokens_details", {{"reasoning_tokens", 0}}},
            {"total_tokens", 20}}}};
}

std::string responses_message_events(const Turn& t, int index, const json& item) {
  json open = item;
  open["status"] = "in_progress";
  open["content"] = json::array();
  std::string events =
      sse_event("response.output_item.added",
                {{"type", "response.output_item.added"}, {"output_index", index}, {"item", open}});
  for (const auto& piece : text_chunks(t.reply.text))
    events += sse_event("response.output_text.delta", {{"type", "response.output_text.delta"},
                                                       {"item_id", item["id"]},
                                                       {"output_index", index},
                                                       {"content_index", 0},
                                                       {"delta", piece}});
  return events;
}

std::string responses_stream(const Turn& t, const json& output) {
  std::string events = sse_event("response.created",
                                 {{"type", "response.created"},
                                  {"response", responses_object(t, "in_progress", json::array())}});
  int index = 0;
  for (const auto& item : output) {
    if (item["type"] == "message")
      events += responses_message_events(t, index, item);
    else
      events += sse_event(
          "response.output_item.added",
          {{"type", "response.output_item.added"}, {"output_index", index}, {"item", item}});
    events +=
        sse_event("response.output_item.done",
                  {{"type", "response.output_item.done"}, {"output_index", index}, {"item", item}});
    ++index;
  }
  return events +
         sse_event("response.completed", {{"type", "response.completed"},
                                          {"response", responses_object(t, "completed", output)}});
}

Answer responses_answer(const Turn& t) {
  json output = responses_output(t);
  if (!wants_stream(t.request)) return json_answer(responses_object(t, "completed", output));
  return sse_answer(responses_stream(t, output));
}

// ---- OpenAI Chat Completions (Copilot CLI with its own provider) ----

bool chat_is_conversation(const json& body) {
  return has_items(body, "tools");
}

json chat_tool_call(const Turn& t) {
  return {{"index", 0},
          {"id", "call_scripted_" + t.id},
          {"type", "function"},
          {"function",
           {{"name", t.reply.tool->name}, {"arguments", tool_input_text(t.reply.tool->input)}}}};
}

const char* chat_finish_reason(const Reply& reply) {
  return reply.tool ? "tool_calls" : "stop";
}

json chat_usage() {
  return {{"prompt_tokens", 10}, {"completion_tokens", 10}, {"total_tokens", 20}};
}

json chat_chunk(const Turn& t, const json& delta, const json& finish_reason) {
  return {{"id", "chatcmpl-scripted-" + t.id},
          {"object", "chat.completion.chunk"},
          {"created", 1767225600},
          {"model", string_field(t.request, "model", "gpt-scripted")},
          {"choices",
           json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}})}};
}

std::string chat_stream(const Turn& t) {
  std::string events = sse_data(chat_chunk(t, {{"role", "assistant"}, {"content", ""}}, nullptr));
  for (const auto& piece : text_chunks(t.reply.text))
    events += sse_data(chat_chunk(t, {{"content", piece}}, nullptr));
  if (t.reply.tool)
    events += sse_data(chat_chunk(t, {{"tool_calls", json::array({chat_tool_call(t)})}}, nullptr));
  json last = chat_chunk(t, json::object(), chat_finish_reason(t.reply));
  last["usage"] = chat_usage();
  return events + sse_data(last) + "data: [DONE]\n\n";
}

Answer chat_answer(const Turn& t) {
  if (wants_stream(t.request)) return sse_answer(chat_stream(t));
  json message = {{"role", "assistant"}, {"content", t.reply.text}};
  if (t.reply.tool) {
    json call = chat_tool_call(t);
    call.erase("index");
    message["tool_calls"] = json::array({call});
  }
  json completion = chat_chunk(t, nullptr, chat_finish_reason(t.reply));
  completion["object"] = "chat.completion";
  completion["choices"][0].erase("delta");
  completion["choices"][0]["message"] = message;
  completion["usage"] = chat_usage();
  return json_answer(completion);
}

// ---- Gemini generateContent (Gemini CLI) ----

bool gemini_is_streaming(std::string_view path) {
  return path.find(":streamGenerateContent") != std::string_view::npos;
}

bool gemini_is_conversation(const json& body) {
  return has_items(body, "tools");
}

json gemini_chunk(const Turn& t, const json& parts, bool last) {
  json candidate = {{"content", {{"role", "model"}, {"parts", parts}}}, {"index", 0}};
  if (last) candidate["finishReason"] = "STOP";
  return {{"candidates", json::array({candidate})},
          {"usageMetadata",
           {{"promptTokenCount", 10}, {"candidatesTokenCount", 10}, {"totalTokenCount", 20}}},
          {"modelVersion", "gemini-scripted"},
          {"responseId", "scripted-" + t.id}};
}

json gemini_parts(const Turn& t, const std::string& text) {
  json parts = json::array();
  if (!text.empty()) parts.push_back({{"text", text}});
  if (t.reply.tool)
    parts.push_back(
        {{"functionCall", {{"name", t.reply.tool->name}, {"args", t.reply.tool->input}}}});
  return parts;
}

Answer gemini_answer(const Turn& t) {
  const std::string& text = t.reply.text;
  if (!gemini_is_streaming(t.path))
    return json_answer(gemini_chunk(t, gemini_parts(t, text), true));
  std::string events;
  std::vector<std::string> pieces = text_chunks(text);
  // The last chunk carries the tool call (if any) and the finish reason.
  std::string last_piece = pieces.empty() ? "" : pieces.back();
  if (!pieces.empty()) pieces.pop_back();
  for (const auto& piece : pieces)
    events += sse_data(gemini_chunk(t, json::array({{{"text", piece}}}), false));
  return sse_answer(events + sse_data(gemini_chunk(t, gemini_parts(t, last_piece), true)));
}

Answer gemini_count_tokens(const Turn&) {
  return json_answer({{"totalTokens", 10}});
}

// ---- routing ----

// One endpoint: which requests it takes, and how it answers. Endpoints without
// `is_conversation` never consume the script.
struct Endpoint {
  const char* api;
  const char* method;
  bool (*matches)(std::string_view path);
  bool (*is_conversation)(const json& body);
  Answer (*answer)(const Turn& turn);
};

bool ends_with(std::string_view s, std::string_view end) {
  return s.size() >= end.size() && s.substr(s.size() - end.size()) == end;
}

const Endpoint kEndpoints[] = {
    {"anthropic", "POST", [](std::string_view p) { return ends_with(p, "/v1/messages"); },
     anthropic_is_conversation, anthropic_answer},
    {"anthropic", "POST",
     [](std::string_view p) { return ends_with(p, "/v1/messages/count_tokens"); }, nullptr,
     anthropic_count_tokens},
    {"responses", "POST", [](std::string_view p) { return ends_with(p, "/responses"); },
     responses_is_conversation, responses_answer},
    {"chat", "POST", [](std::string_view p) { return ends_with(p, "/chat/completions"); },
     chat_is_conversation, chat_answer},
    {"gemini", "POST",
     [](std::string_view p) {
       return ends_with(p, ":generateContent") || ends_with(p, ":streamGenerateContent");
     },
     gemini_is_conversation, gemini_answer},
    {"gemini", "POST", [](std::string_view p) { return ends_with(p, ":countTokens"); }, nullptr,
     gemini_count_tokens},
};

const Endpoint* endpoint_for(const std::string& method, std::string_view path) {
  for (const auto& endpoint : kEndpoints)
    if (method == endpoint.method && endpoint.matches(path)) return &endpoint;
  return nullptr;
}

// One error body that the Anthropic, OpenAI and Gemini clients all read as "not found".
Answer not_found(const std::string& method, const std::string& path) {
  const std::string message = "scripted model server: no " + method + " " + path;
  return json_answer({{"type", "error"},
                      {"error",
                       {{"type", "not_found_error"},
                        {"code", 404},
                        {"status", "NOT_FOUND"},
                        {"message", message}}}},
                     404);
}

// This server speaks HTTP only. Codex first tries the Responses API over a WebSocket and goes
// over to HTTP at once on 426; on any other refusal it retries for seconds before it does.
bool asks_for_websocket(const httplib::Request& req) {
  return lowercase(req.get_header_value("Upgrade")) == "websocket";
}

Answer websocket_refused() {
  return json_answer({{"type", "error"},
                      {"error",
                       {{"type", "upgrade_required"},
                        {"code", 426},
                        {"message", "scripted model server: HTTP only, no WebSocket"}}}},
                     426);
}

json parse_body(const std::string& body) {
  if (body.empty()) return nullptr;
  json parsed = json::parse(body, nullptr, false);
  return parsed.is_discarded() ? json(nullptr) : parsed;
}

}  // namespace

struct ScriptedModelServer::State {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  RequestObserver on_request;

  mutable std::mutex mutex;  // guards everything below
  std::vector<Reply> script;
  std::size_t next_reply = 0;
  std::size_t answers = 0;
  std::vector<ReceivedRequest> log;

  // Takes the next scripted reply (or the side reply) and a fresh answer id, under the lock.
  std::pair<Reply, std::string> take_reply(bool conversation, const json& body) {
    std::lock_guard lock(mutex);
    std::string id = std::to_string(++answers);
    if (!conversation) return {Reply{side_text(body), std::nullopt}, id};
    if (next_reply < script.size()) return {script[next_reply++], id};
    return {Reply{kScriptDoneText, std::nullopt}, id};
  }

  void record(const ReceivedRequest& request) {
    {
      std::lock_guard lock(mutex);
      log.push_back(request);
    }
    if (on_request) on_request(request);
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    ReceivedRequest received{.method = req.method,
                             .target = req.target,
                             .path = req.path,
                             .api = "",
                             .conversation = false,
                             .body = parse_body(req.body)};
    Answer answer;
    if (asks_for_websocket(req)) {
      answer = websocket_refused();
    } else if (const Endpoint* endpoint = endpoint_for(req.method, req.path)) {
      received.api = endpoint->api;
      received.conversation = endpoint->is_conversation && endpoint->is_conversation(received.body);
      auto [reply, id] = take_reply(received.conversation, received.body);
      answer = endpoint->answer(Turn{reply, received.body, req.path, id});
    } else {
      answer = not_found(req.method, req.path);
    }
    res.status = answer.status;
    res.set_content(answer.body, answer.content_type.c_str());
    record(received);
  }
};

ScriptedModelServer::ScriptedModelServer(std::vector<Reply> script, Options options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.script = std::move(script);
  s.on_request = std::move(options.on_request);
  auto handler = [&s](const httplib::Request& req, httplib::Response& res) { s.handle(req, res); };
  // An agent keeps its connections open between requests, each holding a thread of the pool
  // for httplib's keep-alive time (5 s); the default pool of 8 would make new ones wait.
  s.server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  const std::string any = ".*";
  s.server.Get(any, handler)
      .Post(any, handler)
      .Put(any, handler)
      .Patch(any, handler)
      .Delete(any, handler)
      .Options(any, handler);
  const char* host = "127.0.0.1";
  s.port = options.port == 0 ? s.server.bind_to_any_port(host)
                             : (s.server.bind_to_port(host, options.port) ? options.port : -1);
  if (s.port <= 0)
    throw std::runtime_error("scripted model server: cannot listen on " + std::string(host) + ":" +
                             std::to_string(options.port));
  s.thread = std::thread([&s] { s.server.listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop runs, and this version has no ready
  // signal: wait for the loop (microseconds), or a quick destruction would hang in join().
  while (!s.server.is_running()) std::this_thread::yield();
}

ScriptedModelServer::~ScriptedModelServer() {
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

int ScriptedModelServer::port() const {
  return state_->port;
}

std::string ScriptedModelServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(state_->port);
}

std::vector<nlohmann::json> ScriptedModelServer::requests() const {
  std::lock_guard lock(state_->mutex);
  std::vector<nlohmann::json> bodies;
  for (const auto& request : state_->log)
    if (request.conversation) bodies.push_back(request.body);
  return bodies;
}

std::vector<ReceivedRequest> ScriptedModelServer::log() const {
  std::lock_guard lock(state_->mutex);
  return state_->log;
}

std::size_t ScriptedModelServer::replies_used() const {
  std::lock_guard lock(state_->mutex);
  return state_->next_reply;
}

}  // namespace sddsh::e2e
