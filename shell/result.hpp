#pragma once
// Results for operations where failure is normal (a command not found, a bad reply, a bad
// file). std::expected would do, but clang 14 — our clang-tidy and libFuzzer compiler — cannot
// compile libstdc++ 12's <expected>, so this is the small subset we use.
#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace sddsh {

struct Error {
  int code = 0;         // errno, when the failure came from the system
  std::string message;  // one line, for the user
};

// The failed side of a Result, as in `return Failure{Error{...}}`.
struct Failure {
  Error error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Failure failure) : state_(std::in_place_index<1>, std::move(failure.error)) {}  // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& operator*() {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& operator*() const {
    assert(has_value());
    return std::get<0>(state_);
  }
  T* operator->() { return &**this; }
  const T* operator->() const { return &**this; }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// An operation that returns nothing but can fail: `return {};` or `return Failure{...}`.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Failure failure) : error_(std::move(failure.error)), failed_(true) {}  // NOLINT

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  const Error& error() const {
    assert(failed_);
    return error_;
  }

 private:
  Error error_;
  bool failed_ = false;
};

// A Failure from errno, prefixed with what we were doing: "open /dev/tty: No such device".
inline Failure system_failure(const std::string& doing, int err = errno) {
  return Failure{Error{err, doing + ": " + std::strerror(err)}};
}

}  // namespace sddsh
