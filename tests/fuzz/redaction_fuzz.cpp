// libFuzzer target for the redactor: it reads everything a session recorded, so any bytes at all.
// Invariants: nothing throws; redacting twice changes nothing more; the chunks of a text, redacted
// as chunks, join into the redacted text; valid UTF-8 stays valid UTF-8; and a planted token
// never survives whatever bytes surround it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "recorder/redaction.hpp"

namespace {

using sddsh::recorder::Redactor;

// A made-up token of a built-in kind, planted between the input's halves.
constexpr std::string_view kPlanted = "ghp_Zq3vK8mN2pL5xR7tW9yB4cD6fH1jA0sE3gU5";

void require(bool condition) {
  if (!condition) std::abort();
}

Redactor compile_redactor() {
  auto redactor = Redactor::create(
      {"GITHUB_TOKEN=not-a-format-but-secret", "DB_PASSWORD=p\"a\\ss w\xc3\xa9rd", "HOME=/root"},
      {"secret=(\\S+)"});
  require(redactor.has_value());
  return std::move(*redactor);
}

// A fresh redactor (empty summary); copies share the compiled patterns, compiled once.
Redactor make_redactor() {
  static const Redactor compiled = compile_redactor();
  return compiled;
}

bool is_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void check_idempotent(std::string_view input) {
  auto first = make_redactor();
  const std::string once = first.redact(input);
  auto second = make_redactor();
  require(second.redact(once) == once);
  require(second.summary().total() == 0);
  if (is_utf8(std::string(input))) require(is_utf8(once));
}

// The first two bytes choose where the rest is cut into three chunks.
void check_chunks(std::string_view input) {
  if (input.size() < 2) return;
  const std::string_view text = input.substr(2);
  const std::size_t first = text.empty() ? 0 : static_cast<unsigned char>(input[0]) % text.size();
  const std::size_t second =
      first +
      (text.size() - first == 0 ? 0 : static_cast<unsigned char>(input[1]) % (text.size() - first));
  const std::vector<std::string> chunks = {std::string(text.substr(0, first)),
                                           std::string(text.substr(first, second - first)),
                                           std::string(text.substr(second))};
  auto whole = make_redactor();
  auto chunked = make_redactor();
  const auto out = chunked.redact_chunks(chunks);
  require(out.size() == chunks.size());
  require(out[0] + out[1] + out[2] == whole.redact(text));
  require(chunked.summary().counts == whole.summary().counts);
}

void check_planted_token_removed(std::string_view input) {
  if (input.find("ghp_") != std::string_view::npos) return;  // the input could hold it already
  const std::string text = std::string(input.substr(0, input.size() / 2)) + " " +
                           std::string(kPlanted) + " " +
                           std::string(input.substr(input.size() / 2));
  auto redactor = make_redactor();
  require(redactor.redact(text).find(kPlanted) == std::string::npos);
}

void check_json(std::string_view input) {
  auto redactor = make_redactor();
  (void)redactor.redact_jsonl(input);
  const auto value = nlohmann::json::parse(input, nullptr, false);
  if (!value.is_discarded()) (void)redactor.redact_json(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_idempotent(input);
  check_chunks(input);
  check_planted_token_removed(input);
  check_json(input);
  return 0;
}
