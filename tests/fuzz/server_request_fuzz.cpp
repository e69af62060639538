// The server's dispatch layer takes whatever a client sends: any method, target, headers and
// body must get an answer (never a crash, a hang or a 5xx for bad input) and every answer must
// be well formed. Input: "METHOD TARGET\nName: value\n...\n\nbody"; "$TOKEN" in a header stands
// for a valid write token, so that the fuzzer gets past auth.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tracker-server/api.hpp"

namespace {

using namespace sddsh::server;

void check(bool holds) {
  if (!holds) std::abort();
}

// A data dir with one project and a write token, removed when the fuzzer exits.
class Fixture {
 public:
  Fixture() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sddsh-server-fuzz-XXXXXX").string();
    check(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    auto store = open_sqlite_store(dir_);
    check(store.has_value());
    store_ = std::move(*store);
    auto token = store_->create_token("alpha", Role::Write, "fuzz");
    check(token.has_value());
    token_ = *token;
    // Small limits keep the disk and the time per input small.
    api_ = std::make_unique<Api>(*store_,
                                 ApiLimits{.max_json_body = 64u << 10, .max_file_size = 1u << 20});
  }
  ~Fixture() {
    api_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Api& api() { return *api_; }
  const std::string& token() const { return token_; }

 private:
  std::string dir_, token_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
};

std::string_view take_line(std::string_view& text) {
  const auto end = text.find('\n');
  auto line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

ApiRequest parse(std::string_view input, const std::string& token) {
  auto first = take_line(input);
  const auto space = first.find(' ');
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto line = take_line(input); !line.empty(); line = take_line(input)) {
    const auto colon = line.find(':');
    std::string value(colon == std::string_view::npos ? "" : line.substr(colon + 1));
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (auto at = value.find("$TOKEN"); at != std::string::npos) value.replace(at, 6, token);
    headers.emplace_back(std::string(line.substr(0, colon)), value);
  }
  return make_request(std::string(first.substr(0, space)),
                      std::string(space == std::string_view::npos ? "" : first.substr(space + 1)),
                      std::string(input), std::move(headers));
}

void check_response(const ApiResponse& response) {
  check(response.status >= 200 && response.status < 500);  // bad input is never the server's fault
  if (!response.file_path.empty()) return;
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  check(body.is_object());
  if (response.status >= 400) {
    check(body.contains("error") && body["error"].contains("code") &&
          body["error"].contains("message"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto request = parse(input, fixture.token());
  check_response(fixture.api().handle(request));
  if (auto early = fixture.api().preflight(parse(input, fixture.token()))) check_response(*early);
  return 0;
}
