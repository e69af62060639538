#pragma once
// The two clocks of a replay: recorded time (the cast's) and shown time, in which every pause
// longer than the idle limit lasts exactly the limit. A pause is squeezed evenly rather than cut,
// so the mapping is a bijection: shown -> recorded -> shown comes back where it started, and a
// position inside a long pause stays inside it when the limit is switched off and on again.
#include <string>
#include <vector>

namespace sddsh::replay {

// A pause between two consecutive events longer than the idle limit, in recorded seconds.
struct Pause {
  double start = 0;
  double end = 0;

  bool operator==(const Pause&) const = default;
};

class Timeline {
 public:
  Timeline() = default;
  // `pauses`: ascending, not overlapping, each longer than `idle_limit`.
  Timeline(const std::vector<Pause>& pauses, double idle_limit);

  // O(log pauses) both ways.
  double shown(double recorded) const;
  double recorded(double shown) const;

 private:
  struct Squeeze {
    Pause pause;
    double shown_start = 0;  // the shown time of pause.start
  };
  const Squeeze* last_starting_at_or_before_recorded(double recorded) const;
  const Squeeze* last_starting_at_or_before_shown(double shown) const;

  std::vector<Squeeze> squeezes_;
  double idle_limit_ = 0;
};

// A time as a replay shows it: "41:07", or "1:02:03" past an hour. Any double is safe (a damaged
// cast can stamp any time).
std::string clock_text(double seconds);

}  // namespace sddsh::replay
