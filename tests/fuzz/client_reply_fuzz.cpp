// The remote tracker client reads replies from a server it does not control. Any status and any
// body must neither crash nor hang json_reply and the decoders; an error message stays one line
// without control characters (it is printed to the user's terminal), and a session's file names
// that pass are safe to use as paths.
//
// Input: "<status>\n<body>", e.g. "200\n{\"tasks\":[]}" (a missing or bad status line means 200).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tracker-client/http_client.hpp"
#include "tracker-client/remote_tracker.hpp"
#include "tracker-client/session_upload.hpp"

namespace {

using namespace sddsh::tracker;

void check(bool holds) {
  if (!holds) std::abort();
}

void check_message(const std::string& message) {
  check(!message.empty());
  for (unsigned char c : message) check(c >= 0x20 && c != 0x7f);
}

HttpResponse parse_input(std::string_view input) {
  HttpResponse response{.status = 200};
  const auto newline = input.find('\n');
  if (newline != std::string_view::npos && newline > 0 && newline <= 3) {
    long status = 0;
    bool digits = true;
    for (char c : input.substr(0, newline)) {
      digits = digits && c >= '0' && c <= '9';
      status = status * 10 + (c - '0');
    }
    if (digits) {
      response.status = status;
      input.remove_prefix(newline + 1);
    }
  }
  response.body = std::string(input);
  response.project = "alpha";
  response.path = "/v1/projects/alpha/tasks/sd-1";
  return response;
}

void decode_everything(const nlohmann::json& value) {
  (void)task_from_json(value);
  (void)dependency_from_json(value);
  (void)decode_task_page(value);
  (void)decode_dependencies(value);
  (void)decode_sessions(value);
  (void)decode_upload_state(value);
  if (auto files = decode_session_files(value); files)
    for (const auto& file : *files)
      check(is_upload_name(file.name) && file.name.find('/') == std::string::npos &&
            file.name.find("..") == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const HttpResponse response = parse_input(input);
  auto value = json_reply(response, {200, 201, 202});
  if (!value) {
    check_message(value.error().message);
    check(value.error().code == static_cast<int>(response.status));
    return 0;
  }
  decode_everything(*value);
  return 0;
}
