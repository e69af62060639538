#pragma once
// The tracker's times: ISO 8601 in UTC with milliseconds ("2025-03-04T05:06:07.089Z"). One
// fixed format, so that comparing two stamps as text compares them as times (SQLite sorts and
// filters on them that way).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sddsh::tracker {

// Milliseconds since the Unix epoch, now.
std::int64_t now_unix_ms();
std::string iso_from_unix_ms(std::int64_t unix_ms);
// "2025-03-04", "2025-03-04T05:06Z", "2025-03-04T05:06:07Z", "2025-03-04T05:06:07.089Z" →
// milliseconds; nothing for any other text.
std::optional<std::int64_t> unix_ms_from_iso(std::string_view text);

}  // namespace sddsh::tracker
