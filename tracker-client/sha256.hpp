#pragma once
// SHA-256 (OpenSSL's libcrypto), in lowercase hex: the content address of an uploaded file and
// the form in which the server keeps tokens.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "shell/result.hpp"

namespace sddsh::tracker {

// Hashes bytes fed in pieces; `hex()` ends it.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  std::string hex();  // once; the hasher is spent afterwards

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string sha256_hex(std::string_view bytes);
// The hash and size of a file, read in blocks (a 100 MB cast is never held in memory).
struct FileDigest {
  std::string sha256;
  std::uint64_t size = 0;
};
Result<FileDigest> sha256_file(const std::string& path);
bool is_sha256_hex(std::string_view text);

}  // namespace sddsh::tracker
