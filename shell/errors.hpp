#pragma once
// Results for operations where failure is normal (a command not found, a bad terminal).
#include <cerrno>
#include <cstring>
#include <expected>
#include <string>

namespace sddsh::shell {

struct Error {
  int code = 0;         // errno, when the failure came from the system
  std::string message;  // one line, for the user
};

template <typename T>
using Result = std::expected<T, Error>;

// An Error from errno, prefixed with what we were doing: "open /dev/tty: No such device".
inline std::unexpected<Error> system_error(const std::string& doing, int err = errno) {
  return std::unexpected(Error{err, doing + ": " + std::strerror(err)});
}

}  // namespace sddsh::shell
