#include "recorder/redaction.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace sddsh::recorder;

namespace {

// Made-up secrets are generated, not written out, so that no scanner mistakes this file for a
// leak; the generator is deterministic so a failure repeats.
class FakeSecrets {
 public:
  explicit FakeSecrets(std::uint32_t seed) : state_(seed) {}

  std::string from(std::string_view alphabet, std::size_t length) {
    std::string text;
    for (std::size_t i = 0; i < length; ++i) text += alphabet[next() % alphabet.size()];
    return text;
  }
  std::string alnum(std::size_t length) { return from(kAlnum, length); }
  std::string upper_digits(std::size_t length) { return from(kUpperDigits, length); }
  std::string base64(std::size_t length) { return from(kBase64, length); }
  std::string base64url(std::size_t length) { return from(kBase64Url, length); }

 private:
  static constexpr std::string_view kAlnum =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static constexpr std::string_view kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static constexpr std::string_view kBase64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr std::string_view kBase64Url =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  std::uint32_t next() {  // xorshift32
    state_ ^= state_ << 13U;
    state_ ^= state_ >> 17U;
    state_ ^= state_ << 5U;
    return state_;
  }
  std::uint32_t state_;
};

struct Planted {
  std::string kind;
  std::string secret;
};

// One secret of every built-in kind, as it would appear in a real tool's output.
std::vector<Planted> planted_secrets() {
  FakeSecrets fake(20261121);
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + fake.base64url(60) + "." + fake.base64url(43);
  return {
      {"anthropic_key", "sk-ant-api03-" + fake.base64url(93) + "AA"},
      {"openai_key", "sk-proj-" + fake.base64url(120)},
      {"openai_key", "sk-" + fake.alnum(48)},
      {"github_token", "ghp_" + fake.alnum(36)},
      {"github_token", "gho_" + fake.alnum(36)},
      {"github_token", "ghu_" + fake.alnum(36)},
      {"github_token", "ghs_" + fake.alnum(36)},
      {"github_token", "ghr_" + fake.alnum(36)},
      {"github_token", "github_pat_11" + fake.upper_digits(20) + "_" + fake.alnum(59)},
      {"aws_access_key", "AKIA" + fake.upper_digits(16)},
      {"aws_access_key", "ASIA" + fake.upper_digits(16)},
      {"slack_token", "xoxb-" + fake.from("0123456789", 12) + "-" + fake.from("0123456789", 13) +
                          "-" + fake.alnum(24)},
      {"slack_token", "xoxp-" + fake.from("0123456789", 12) + "-" + fake.alnum(32)},
      {"jwt", jwt},
  };
}

Redactor make_redactor(const std::vector<std::string>& environment = {},
                       const std::vector<std::string>& patterns = {}) {
  auto redactor = Redactor::create(environment, patterns);
  if (!redactor) ADD_FAILURE() << redactor.error().message;
  return std::move(*redactor);
}

std::string pem_private_key(FakeSecrets& fake, std::string_view label, int lines) {
  std::string block = "-----BEGIN " + std::string(label) + "-----\n";
  for (int i = 0; i < lines; ++i) block += fake.base64(64) + "\n";
  block += fake.base64(20) + "==\n";
  block += "-----END " + std::string(label) + "-----";
  return block;
}

std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const auto& part : parts) joined += part;
  return joined;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Each kind

TEST(Redaction, ReplacesEveryBuiltInKind) {
  for (const auto& [kind, secret] : planted_secrets()) {
    auto redactor = make_redactor();
    const std::string out = redactor.redact("export VALUE=" + secret + "\nnext line\n");
    EXPECT_EQ(out, "export VALUE=[REDACTED:" + kind + "]\nnext line\n") << secret;
    EXPECT_EQ(redactor.summary().counts.at(kind), 1U) << secret;
    EXPECT_EQ(redactor.summary().total(), 1U) << secret;
  }
}

TEST(Redaction, FindsTokensInTheirUsualSurroundings) {
  for (const auto& [kind, secret] : planted_secrets()) {
    const std::string marker = "[REDACTED:" + kind + "]";
    for (const auto& [before, after] : std::vector<std::pair<std::string, std::string>>{
             {"\"token\": \"", "\","},                 // JSON
             {"curl -H 'X-Api-Key: ", "' https://x"},  // shell
             {"\x1b[1;33m", "\x1b[0m"},                // coloured on a terminal
             {"\\u001b[32m", "\\u001b[0m"},            // the same inside JSON text
             {"line one\\n", "\\n"},                   // after an escaped newline in JSON text
             {"\xe2\x94\x82", "\xe2\x94\x82"},         // inside a box drawn by a TUI
             {"", ""}}) {
      auto redactor = make_redactor();
      EXPECT_EQ(redactor.redact(before + secret + after), before + marker + after) << secret;
    }
  }
}

TEST(Redaction, KeepsSchemeUserAndHostOfAUrlWithCredentials) {
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact("DATABASE_URL=postgres://app:s3cr3t-Pa55@db.example.com:5432/app\n"),
            "DATABASE_URL=postgres://app:[REDACTED:url_credentials]@db.example.com:5432/app\n");
  EXPECT_EQ(redactor.redact("git clone https://alice:p@ss:w0rd@git.example.org/repo.git"),
            "git clone https://alice:[REDACTED:url_credentials]@git.example.org/repo.git");
  EXPECT_EQ(redactor.redact("\"url\":\"amqp://guest:guestguest@rabbit/\""),
            "\"url\":\"amqp://guest:[REDACTED:url_credentials]@rabbit/\"");
  EXPECT_EQ(redactor.summary().counts.at("url_credentials"), 3U);
}

TEST(Redaction, NamesTheTokenKindWhenATokenIsAUrlPassword) {
  FakeSecrets fake(7);
  const std::string token = "ghp_" + fake.alnum(36);
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact("https://x-access-token:" + token + "@github.com/o/r.git"),
            "https://x-access-token:[REDACTED:github_token]@github.com/o/r.git");
  EXPECT_EQ(redactor.redact("https://" + token + "@github.com/o/r.git"),
            "https://[REDACTED:github_token]@github.com/o/r.git");
}

TEST(Redaction, FindsAwsSecretValuesNextToTheirName) {
  FakeSecrets fake(99);
  const std::string secret = fake.base64(40);
  for (const std::string& line : {
           "aws_secret_access_key = " + secret,
           "AWS_SECRET_ACCESS_KEY=" + secret,
           "export AWS_SECRET_ACCESS_KEY=\"" + secret + "\"",
           "    \"SecretAccessKey\": \"" + secret + "\",",
           "{\\\"aws_secret_access_key\\\":\\\"" + secret + "\\\"}",
       }) {
    auto redactor = make_redactor();
    const std::string out = redactor.redact(line);
    EXPECT_EQ(out.find(secret), std::string::npos) << line;
    EXPECT_NE(out.find("[REDACTED:aws_access_key]"), std::string::npos) << line;
  }
}

TEST(Redaction, FindsSlackWebhookUrls) {
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact("https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/"
                            "aBcDeFgHiJkLmNoPqRsTuVwX ok"),
            "https://hooks.slack.com/services/[REDACTED:slack_token] ok");
}

TEST(Redaction, FindsBearerTokens) {
  FakeSecrets fake(3);
  const std::string token = "sdt_" + fake.alnum(40);
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact("Authorization: Bearer " + token + "\r\n"),
            "Authorization: Bearer [REDACTED:bearer_token]\r\n");
}

// ---------------------------------------------------------------------------------------------
// Private keys

TEST(Redaction, ReplacesAPrivateKeyBlockWhole) {
  FakeSecrets fake(11);
  for (std::string_view label :
       {"RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"}) {
    const std::string key = pem_private_key(fake, label, 12);
    auto redactor = make_redactor();
    EXPECT_EQ(redactor.redact("$ cat id\n" + key + "\n$ "), "$ cat id\n[REDACTED:private_key]\n$ ")
        << label;
  }
}

TEST(Redaction, FindsAPrivateKeyWithEscapedNewlinesInJsonText) {
  FakeSecrets fake(12);
  const std::string key = pem_private_key(fake, "RSA PRIVATE KEY", 10);
  const nlohmann::json line = {{"type", "tool_result"}, {"content", "here it is:\n" + key + "\n"}};
  const std::string raw = line.dump();
  ASSERT_NE(raw.find("KEY-----\\n"), std::string::npos);  // the newlines really are escaped

  auto redactor = make_redactor();
  const std::string out = redactor.redact(raw);
  const auto reparsed = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(reparsed.is_discarded()) << out;
  EXPECT_EQ(reparsed["content"], "here it is:\n[REDACTED:private_key]\n");

  const auto value = redactor.redact_json(line);
  EXPECT_EQ(value["content"], "here it is:\n[REDACTED:private_key]\n");
  EXPECT_EQ(value["type"], "tool_result");
}

TEST(Redaction, FindsAPrivateKeyWrappedInEscapeCodesLineByLine) {
  FakeSecrets fake(13);
  std::string shown = "\x1b[32m-----BEGIN OPENSSH PRIVATE KEY-----\x1b[0m\r\n";
  for (int i = 0; i < 6; ++i) shown += "\x1b[32m" + fake.base64(70) + "\x1b[0m\x1b[K\r\n";
  shown += "\x1b[32m-----END OPENSSH PRIVATE KEY-----\x1b[0m\r\n";
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact("> " + shown + "> done"),
            "> \x1b[32m[REDACTED:private_key]\x1b[0m\r\n> done");
}

TEST(Redaction, FindsAPrivateKeyWhoseEndLineNeverCame) {
  FakeSecrets fake(14);
  std::string shown = "-----BEGIN RSA PRIVATE KEY-----\r\n";
  for (int i = 0; i < 4; ++i) shown += "\x1b[2m" + fake.base64(64) + "\x1b[0m\r\n";
  shown += "^C\r\n$ echo next\r\n";
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact(shown), "[REDACTED:private_key]\x1b[0m\r\n^C\r\n$ echo next\r\n");
}

TEST(Redaction, FindsAPrivateKeyAddedByAPatch) {
  FakeSecrets fake(15);
  std::string patch =
      "diff --git a/deploy/key.pem b/deploy/key.pem\n"
      "new file mode 100644\n"
      "--- /dev/null\n"
      "+++ b/deploy/key.pem\n"
      "@@ -0,0 +1,6 @@\n"
      "+-----BEGIN PRIVATE KEY-----\n";
  for (int i = 0; i < 4; ++i) patch += "+" + fake.base64(64) + "\n";
  patch += "+-----END PRIVATE KEY-----\n";
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact(patch),
            "diff --git a/deploy/key.pem b/deploy/key.pem\n"
            "new file mode 100644\n"
            "--- /dev/null\n"
            "+++ b/deploy/key.pem\n"
            "@@ -0,0 +1,6 @@\n"
            "+[REDACTED:private_key]\n");
}

TEST(Redaction, ManyKeyHeadersWithoutKeysAreLeftAlone) {
  // Each header looks for its END line and key material: the answers are shared between the
  // headers, or this text alone would take seconds.
  std::string text;
  for (int i = 0; i < 20'000; ++i) text += "-----BEGIN PRIVATE KEY----- is a header\n";
  text += "-----END PRIVATE KEY-----\n";
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact(text), text);
}

// ---------------------------------------------------------------------------------------------
// No false positives

TEST(Redaction, LeavesOrdinaryTextCodeAndDiffsAlone) {
  FakeSecrets fake(21);
  std::string image;  // a moderate base64 image in JSON, as agents' transcripts hold them
  for (int i = 0; i < 64 * 1024 / 64; ++i) image += fake.base64(64);
  const std::vector<std::string> texts = {
      "The task-skipping logic lives in desk-sk-helper; scikit-learn and sk-learn are fine.\n",
      "sk-this-is-a-very-long-kebab-case-identifier-with-no-capitals-at-all\n",
      "The bearer of this letter, and a Bearer token in general, are words.\n",
      "Authorization: Bearer <token>\nAuthorization: Bearer ${SDDSH_TRACKER_TOKEN}\n",
      "ssh://git@github.com:22/org/repo.git http://localhost:8080/path?x=1 mailto:a@b.c\n",
      "postgres://app:${DB_PASSWORD}@db/app and https://user@example.com/\n",
      "commit 3f786850e387550fdab836ed7e6dc881de23001b\nsha256 "
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
      "id 0df2392a-eb68-4125-ab4f-f129f7b57fe5, AKIA is a prefix; AKIAshort; ASIA-Pacific\n",
      "constexpr std::string_view kBegin = \"-----BEGIN RSA PRIVATE KEY-----\";\n"
      "if (line == kBegin) { in_key = true; } else if (line == kEnd) { in_key = false; }\n"
      "constexpr std::string_view kEnd = \"-----END RSA PRIVATE KEY-----\";\n",
      "-----BEGIN CERTIFICATE-----\n" + fake.base64(64) + "\n-----END CERTIFICATE-----\n",
      "-----BEGIN PUBLIC KEY-----\n" + fake.base64(64) + "\n-----END PUBLIC KEY-----\n",
      "diff --git a/src/main.cpp b/src/main.cpp\n--- a/src/main.cpp\n+++ b/src/main.cpp\n"
      "@@ -1,3 +1,4 @@\n #include <cstdio>\n+#include <string>\n int main() {\n-  return 1;\n"
      "+  return 0;\n }\n",
      "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/"
      "png\",\"data\":\"" +
          image + "\"}}\n",
      "data:application/json;base64,eyJhIjoxLCJiIjoidGV4dCJ9 and eyJhIjoxfQ.only-two\n",
      "\x1b[1;32m✓\x1b[0m 42 tests passed \x1b[2m(1.3 s)\x1b[0m — ünïcödé text stays\r\n",
      "xoxo-hugs and kisses, xoxb-short; hooks.slack.com/services/ in prose\n",
      "[REDACTED:github_token] stays as it is\n",
  };
  for (const auto& text : texts) {
    auto redactor = make_redactor();
    EXPECT_EQ(redactor.redact(text), text);
    EXPECT_EQ(redactor.summary().total(), 0U) << text.substr(0, 200);
  }
}

// ---------------------------------------------------------------------------------------------
// The environment

TEST(Redaction, ReplacesValuesOfSecretLookingVariables) {
  auto redactor = make_redactor({
      "HOME=/home/alice",
      "MY_SERVICE_TOKEN=tok-12345678",
      "DB_PASSWORD=correct horse battery",
      "SMTP_PASS=mailmailmail",
      "SHORT_TOKEN=abc123",  // too short to be told apart from ordinary text
      "PASSWORD_STORE_DIR=/home/alice/.password-store",
      "EDITOR=vim",
      "NOEQUALS",
      "=empty-name-value",
  });
  EXPECT_EQ(redactor.environment_kinds(),
            (std::vector<std::string>{"env:MY_SERVICE_TOKEN", "env:DB_PASSWORD", "env:SMTP_PASS"}));
  EXPECT_EQ(redactor.redact("cd /home/alice; login tok-12345678 'correct horse battery' abc123 "
                            "mailmailmail /home/alice/.password-store"),
            "cd /home/alice; login [REDACTED:env:MY_SERVICE_TOKEN] "
            "'[REDACTED:env:DB_PASSWORD]' abc123 [REDACTED:env:SMTP_PASS] "
            "/home/alice/.password-store");
  EXPECT_EQ(redactor.summary().total(), 3U);
}

TEST(Redaction, KnowsTheUsualSecretVariables) {
  for (std::string name :
       {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "SDDSH_TRACKER_TOKEN", "CLIENT_SECRET", "PGPASSWORD", "MYSQL_PWD",
        "db_password", "github_token"}) {
    auto redactor = make_redactor({name + "=value-of-" + name});
    EXPECT_EQ(redactor.redact("x value-of-" + name + " y"), "x [REDACTED:env:" + name + "] y");
  }
}

TEST(Redaction, FindsAnEnvironmentValueAsJsonTextSpellsIt) {
  auto redactor = make_redactor({"API_KEY=pa\"ss\\word99"});
  const std::string raw = nlohmann::json({{"cmd", "login pa\"ss\\word99"}}).dump();
  EXPECT_EQ(redactor.redact(raw), "{\"cmd\":\"login [REDACTED:env:API_KEY]\"}");
}

TEST(Redaction, PrefersTheTokenKindWhenAVariableHoldsAKnownFormat) {
  FakeSecrets fake(31);
  const std::string token = "ghp_" + fake.alnum(36);
  auto redactor = make_redactor({"GITHUB_TOKEN=" + token});
  EXPECT_EQ(redactor.redact("token " + token), "token [REDACTED:github_token]");
}

// ---------------------------------------------------------------------------------------------
// Chunks

TEST(Redaction, FindsASecretSplitAcrossTwoChunksAtEverySplitPoint) {
  auto secrets = planted_secrets();
  secrets.push_back({"env:GH_TOKEN", "secret-from-the-environment"});
  for (const auto& [kind, secret] : secrets) {
    auto redactor = make_redactor({"GH_TOKEN=secret-from-the-environment"});
    const std::string marker = "[REDACTED:" + kind + "]";
    for (std::size_t split = 1; split < secret.size(); ++split) {
      const auto out = redactor.redact_chunks(
          {"\x1b[0mkey: " + secret.substr(0, split), secret.substr(split) + "\r\n$ "});
      ASSERT_EQ(out.size(), 2U);
      EXPECT_EQ(out[0], "\x1b[0mkey: " + marker) << secret << " split at " << split;
      EXPECT_EQ(out[1], "\r\n$ ") << secret << " split at " << split;
    }
    EXPECT_EQ(redactor.summary().total(), secret.size() - 1) << secret;
  }
}

TEST(Redaction, FindsASecretSplitAcrossThreeChunksAtEverySplitPoint) {
  FakeSecrets fake(41);
  for (const std::string& secret :
       {"sk-ant-api03-" + fake.base64url(40), "AKIA" + fake.upper_digits(16)}) {
    for (std::size_t first = 1; first < secret.size(); ++first) {
      for (std::size_t second = first + 1; second < secret.size(); ++second) {
        auto redactor = make_redactor();
        const auto out = redactor.redact_chunks({"> " + secret.substr(0, first),
                                                 secret.substr(first, second - first),
                                                 secret.substr(second) + " <"});
        ASSERT_EQ(out.size(), 3U);
        EXPECT_TRUE(out[0].starts_with("> [REDACTED:")) << out[0];
        EXPECT_EQ(out[1], "");
        EXPECT_EQ(out[2], " <");
        EXPECT_EQ(redactor.summary().total(), 1U);
      }
    }
  }
}

TEST(Redaction, ChunksKeepTheirCountAndTheirCleanParts) {
  FakeSecrets fake(42);
  const std::string token = "ghs_" + fake.alnum(36);
  auto redactor = make_redactor();
  const auto out = redactor.redact_chunks(
      {"plain", "", "a " + token.substr(0, 10), "", token.substr(10) + " b", "tail"});
  EXPECT_EQ(out,
            (std::vector<std::string>{"plain", "", "a [REDACTED:github_token]", "", " b", "tail"}));
  EXPECT_TRUE(redactor.redact_chunks({}).empty());
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(Redaction, RedactsEveryStringOfAJsonValueAndKeepsItsKeys) {
  FakeSecrets fake(51);
  const std::string token = "ghp_" + fake.alnum(36);
  const nlohmann::json value = {
      {"session_id", "s-1"},
      {"segment", 2},
      {"env", {{"GITHUB_TOKEN", token}, {"list", {1, "x " + token, nullptr, true}}}},
      {token, "a key is kept"}};
  auto redactor = make_redactor();
  const auto out = redactor.redact_json(value);
  EXPECT_EQ(out["env"]["GITHUB_TOKEN"], "[REDACTED:github_token]");
  EXPECT_EQ(out["env"]["list"], nlohmann::json({1, "x [REDACTED:github_token]", nullptr, true}));
  EXPECT_EQ(out["segment"], 2);
  EXPECT_EQ(out[token], "a key is kept");
  EXPECT_EQ(redactor.summary().counts.at("github_token"), 2U);
}

TEST(Redaction, WalksDeeplyNestedJsonWithoutRecursion) {
  constexpr int kDepth = 200'000;
  const std::string text = std::string(kDepth, '[') +
                           "\"sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"" +
                           std::string(kDepth, ']');
  const auto value = nlohmann::json::parse(text);
  auto redactor = make_redactor();
  const auto out = redactor.redact_json(value);
  EXPECT_EQ(redactor.summary().total(), 1U);
  const nlohmann::json* inner = &out;
  for (int i = 0; i < kDepth; ++i) inner = &(*inner)[0];
  EXPECT_EQ(*inner, "[REDACTED:anthropic_key]");
}

TEST(Redaction, RewritesOnlyTheJsonLinesThatHoldASecret) {
  FakeSecrets fake(52);
  const std::string token = "xoxp-" + fake.from("0123456789", 12) + "-" + fake.alnum(32);
  const std::string text =
      "{\"z\": 1,  \"a\": \"clean line, spacing kept\"}\n"
      "{\"z\":2,\"a\":\"" +
      token +
      "\",\"m\":[\"é\"]}\r\n"
      "not json " +
      token +
      "\n"
      "{\"last\":\"no newline\"}";
  auto redactor = make_redactor();
  EXPECT_EQ(redactor.redact_jsonl(text),
            "{\"z\": 1,  \"a\": \"clean line, spacing kept\"}\n"
            "{\"z\":2,\"a\":\"[REDACTED:slack_token]\",\"m\":[\"é\"]}\r\n"
            "not json [REDACTED:slack_token]\n"
            "{\"last\":\"no newline\"}");
  EXPECT_EQ(redactor.summary().total(), 2U);
}

// ---------------------------------------------------------------------------------------------
// Patches

TEST(Redaction, FindsATokenOnAnAddedLineOfAPatch) {
  FakeSecrets fake(61);
  const std::string token = "sk-ant-api03-" + fake.base64url(93) + "AA";
  const std::string patch =
      "diff --git a/config.py b/config.py\n"
      "index 83db48f..bf269f4 100644\n"
      "--- a/config.py\n"
      "+++ b/config.py\n"
      "@@ -1,2 +1,3 @@\n"
      " import os\n"
      "+API_KEY = \"" +
      token +
      "\"\n"
      " DEBUG = False\n";
  auto redactor = make_redactor();
  const std::string out = redactor.redact(patch);
  EXPECT_EQ(out,
            "diff --git a/config.py b/config.py\n"
            "index 83db48f..bf269f4 100644\n"
            "--- a/config.py\n"
            "+++ b/config.py\n"
            "@@ -1,2 +1,3 @@\n"
            " import os\n"
            "+API_KEY = \"[REDACTED:anthropic_key]\"\n"
            " DEBUG = False\n");
}

// ---------------------------------------------------------------------------------------------
// Summary, patterns, idempotence

TEST(Redaction, SummaryCountsKindsNeverValues) {
  FakeSecrets fake(71);
  const std::string github = "ghp_" + fake.alnum(36);
  const std::string aws = "AKIA" + fake.upper_digits(16);
  auto redactor = make_redactor();
  (void)redactor.redact(github + " " + aws + " " + github);
  (void)redactor.redact_chunks({"ghp_" + fake.alnum(20), fake.alnum(16)});
  EXPECT_EQ(redactor.summary().to_json(),
            nlohmann::json({{"aws_access_key", 1}, {"github_token", 3}}));
  EXPECT_EQ(redactor.summary().total(), 4U);
  EXPECT_EQ(redactor.summary().to_json().dump().find(github), std::string::npos);

  RedactionSummary sum;
  sum.merge(redactor.summary());
  sum.merge(redactor.summary());
  EXPECT_EQ(sum.counts.at("github_token"), 6U);
  EXPECT_EQ(sum.total(), 8U);
  EXPECT_EQ(RedactionSummary{}.to_json(), nlohmann::json::object());

  redactor.reset_summary();
  EXPECT_EQ(redactor.summary().total(), 0U);
}

TEST(Redaction, RejectsABadExtraPatternByName) {
  auto bad = Redactor::create({}, {"internal-[0-9]+", "([unclosed"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("([unclosed"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(Redactor::create({}, {""}));
}

TEST(Redaction, AppliesExtraPatternsAsCustomKind) {
  auto redactor = make_redactor({}, {"internal-[0-9]{6}", "passwd=(\\S+)", "^Secret: .*$"});
  EXPECT_EQ(redactor.redact("ticket internal-123456 ok\nrun passwd=hunter2 now\n"
                            "Secret: all of this line\nNot Secret: x"),
            "ticket [REDACTED:custom] ok\nrun passwd=[REDACTED:custom] now\n"
            "[REDACTED:custom]\nNot Secret: x");
  EXPECT_EQ(redactor.summary().counts.at("custom"), 3U);
}

TEST(Redaction, ExtraPatternsSeeTheValuesOfJsonStrings) {
  auto redactor = make_redactor({}, {"^pin: (\\d+)$"});
  const std::string line = nlohmann::json({{"out", "login ok\npin: 4711\nbye"}}).dump();
  EXPECT_EQ(redactor.redact_jsonl(line + "\n"),
            "{\"out\":\"login ok\\npin: [REDACTED:custom]\\nbye\"}\n");
}

TEST(Redaction, ExtraPatternsNeverCutACharacterInHalf) {
  auto redactor = make_redactor({}, {"\\xA9"});  // the second byte of "é" (C3 A9)
  const std::string out = redactor.redact("é € e");
  EXPECT_NO_THROW((void)nlohmann::json(out).dump()) << out;
  EXPECT_EQ(out, "[REDACTED:custom] € e");
}

TEST(Redaction, ExtraPatternsSurviveVeryLongLines) {
  // Unbounded, ".*" would recurse once per byte of the line and overflow the stack.
  auto redactor = make_redactor({}, {"token=(\\w+)", "b.*z"});
  std::string line = "b" + std::string(3'000'000, 'a');
  line += " token=abcdef123 ";
  const std::string out = redactor.redact(line);
  EXPECT_NE(out.find("token=[REDACTED:custom]"), std::string::npos);
}

TEST(Redaction, RedactingTwiceChangesNothingMore) {
  FakeSecrets fake(81);
  std::string text;
  for (const auto& [kind, secret] : planted_secrets()) text += "v=" + secret + "\n";
  const std::string github = "ghp_" + fake.alnum(36);
  text += "https://" + github + ":x-oauth-basic@github.com\n";  // a token as the user name
  text += "glued " + std::string("environment-secret") + github + "\n";
  text += "aws AKIA" + fake.upper_digits(16) + "environment-secret\n";
  text += pem_private_key(fake, "EC PRIVATE KEY", 3) + "\n";
  text += "already [REDACTED:jwt] here, marker words REDACTED stay\n";
  const std::vector<std::string> environment = {"SOME_SECRET=environment-secret"};
  const std::vector<std::string> patterns = {"marker \\w+", "REDACTED"};

  auto first = make_redactor(environment, patterns);
  const std::string once = first.redact(text);
  EXPECT_EQ(once.find(github), std::string::npos) << once;
  auto second = make_redactor(environment, patterns);
  EXPECT_EQ(second.redact(once), once);
  EXPECT_EQ(second.summary().total(), 0U) << second.summary().to_json().dump();

  const auto chunks =
      first.redact_chunks({text.substr(0, 100), text.substr(100, 7), text.substr(107)});
  EXPECT_EQ(join(chunks), once);
  EXPECT_EQ(second.redact_chunks(chunks), chunks);
}

// Found by redaction_fuzz: the blank in the key's header ended the pattern's match the first
// time; once the key was a marker, the pattern matched on, past it.
TEST(Redaction, ExtraPatternsMatchingAnewAfterABuiltInAreRedactedAtOnce) {
  FakeSecrets fake(85);
  const std::string text = "{\"secret=\":\"-----BEGIN RSA PRIVATE KEY-----\\n" + fake.base64(64) +
                           "\\n--\":\"next\", \"x\":1}";
  auto first = make_redactor({}, {"secret=(\\S+)"});
  const std::string once = first.redact(text);
  auto second = make_redactor({}, {"secret=(\\S+)"});
  EXPECT_EQ(second.redact(once), once);
  EXPECT_EQ(once, "{\"secret=[REDACTED:private_key][REDACTED:custom] \"x\":1}");
}

TEST(Redaction, NeverThrowsOnArbitraryBytes) {
  FakeSecrets fake(91);
  auto redactor = make_redactor({"X_TOKEN=\x01\x02\x03\x04\x05\x06\x07\x08"}, {"[\\x00-\\x20]+"});
  for (int round = 0; round < 200; ++round) {
    std::string bytes =
        fake.from(std::string("\x00\x1b[]-:/@sk-ant-ghp_AKIAeyJ.\\n\xff\xc3\xa9", 26) +
                      "-----BEGIN PRIVATE KEY-----",
                  static_cast<std::size_t>(round) * 37);
    EXPECT_NO_THROW((void)redactor.redact(bytes));
    EXPECT_NO_THROW((void)redactor.redact_chunks(
        {bytes.substr(0, bytes.size() / 2), bytes.substr(bytes.size() / 2)}));
    EXPECT_NO_THROW((void)redactor.redact_jsonl(bytes));
  }
}

// ---------------------------------------------------------------------------------------------
// Speed (a sanity figure, printed; the acceptance bar is measured by hand, docs/redaction.md)

TEST(Redaction, LargeTerminalOutputGoesThroughQuickly) {
  FakeSecrets fake(101);
  const std::string token = "ghp_" + fake.alnum(36);
  std::string block;
  block += "\x1b[1;34m~/src/project\x1b[0m $ make -j8\r\n";
  block += "[ 42%] Building CXX object recorder/CMakeFiles/sddsh_recorder.dir/session.cpp.o\r\n";
  block += "\x1b[32m✓\x1b[0m the agent says: I'll look at src/main.cpp and fix the test.\r\n";
  block += "{\"type\":\"text\",\"text\":\"Let me check the configuration first.\"}\r\n";
  block += "+  const auto result = store.open(path); // see https://example.com/docs?x=1\r\n";
  block += "export GITHUB_TOKEN=" + token + "\r\n";
  constexpr std::size_t kTarget = 32U << 20U;
  std::vector<std::string> chunks;
  std::size_t size = 0;
  while (size < kTarget) {
    chunks.push_back(block);
    size += block.size();
  }
  const std::size_t planted = chunks.size();
  const std::string text = join(chunks);

  auto redactor = make_redactor({"HOME=/home/alice", "OPENAI_API_KEY=sk-notreallyakey12345"});
  const auto start = std::chrono::steady_clock::now();
  const std::string out = redactor.redact(text);
  const auto middle = std::chrono::steady_clock::now();
  const auto out_chunks = redactor.redact_chunks(chunks);
  const auto end = std::chrono::steady_clock::now();

  const auto rate = [&](auto from, auto to) {
    return static_cast<double>(text.size()) / (1 << 20) /
           std::chrono::duration<double>(to - from).count();
  };
  std::printf("redact: %.0f MB/s, redact_chunks: %.0f MB/s over %zu MB\n", rate(start, middle),
              rate(middle, end), text.size() >> 20U);
  EXPECT_EQ(count_of(out, "[REDACTED:github_token]"), planted);
  EXPECT_EQ(out.find(token), std::string::npos);
  EXPECT_EQ(join(out_chunks), out);
}
