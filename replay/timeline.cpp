#include "replay/timeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace sddsh::replay {

Timeline::Timeline(const std::vector<Pause>& pauses, double idle_limit) : idle_limit_(idle_limit) {
  squeezes_.reserve(pauses.size());
  double removed = 0;  // recorded seconds cut by the pauses so far
  for (const Pause& pause : pauses) {
    squeezes_.push_back({pause, pause.start - removed});
    removed += (pause.end - pause.start) - idle_limit;
  }
}

const Timeline::Squeeze* Timeline::last_starting_at_or_before_recorded(double recorded) const {
  const auto after = std::upper_bound(
      squeezes_.begin(), squeezes_.end(), recorded,
      [](double time, const Squeeze& squeeze) { return time < squeeze.pause.start; });
  return after == squeezes_.begin() ? nullptr : &*std::prev(after);
}

const Timeline::Squeeze* Timeline::last_starting_at_or_before_shown(double shown) const {
  const auto after = std::upper_bound(
      squeezes_.begin(), squeezes_.end(), shown,
      [](double time, const Squeeze& squeeze) { return time < squeeze.shown_start; });
  return after == squeezes_.begin() ? nullptr : &*std::prev(after);
}

double Timeline::shown(double recorded) const {
  const Squeeze* squeeze = last_starting_at_or_before_recorded(recorded);
  if (squeeze == nullptr) return recorded;
  const Pause& pause = squeeze->pause;
  if (recorded >= pause.end) return squeeze->shown_start + idle_limit_ + (recorded - pause.end);
  const double fraction = (recorded - pause.start) / (pause.end - pause.start);
  return squeeze->shown_start + fraction * idle_limit_;
}

double Timeline::recorded(double shown) const {
  const Squeeze* squeeze = last_starting_at_or_before_shown(shown);
  if (squeeze == nullptr) return shown;
  const Pause& pause = squeeze->pause;
  const double into = shown - squeeze->shown_start;
  if (into >= idle_limit_) return pause.end + (into - idle_limit_);
  return pause.start + into / idle_limit_ * (pause.end - pause.start);
}

std::string clock_text(double seconds) {
  // A hair up, so that 4.9999999 after a trip through the clocks reads 00:05; the hours stop at
  // a number that fits.
  constexpr double kLongest = 1e12;
  const auto whole = static_cast<long long>(std::clamp(std::floor(seconds + 1e-6), 0.0, kLongest));
  char text[32];
  if (whole >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", whole / 3600, whole / 60 % 60,
                  whole % 60);
  } else {
    std::snprintf(text, sizeof text, "%02lld:%02lld", whole / 60, whole % 60);
  }
  return text;
}

}  // namespace sddsh::replay
