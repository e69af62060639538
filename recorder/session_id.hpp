#pragma once
// Session ids: random UUIDs (version 4), so that ids made on different machines never collide
// when their sessions meet on a shared tracker.
#include <string>
#include <string_view>

namespace sddsh::recorder {

std::string new_session_id();
bool is_session_id(std::string_view text);

}  // namespace sddsh::recorder
