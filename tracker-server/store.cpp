#include "tracker-server/store.hpp"

namespace sddsh::server {

const char* name(Role role) {
  switch (role) {
    case Role::Read:
      return "read";
    case Role::Write:
      return "write";
    case Role::Admin:
      return "admin";
  }
  return "read";
}

std::optional<Role> parse_role(std::string_view text) {
  for (auto role : {Role::Read, Role::Write, Role::Admin})
    if (text == name(role)) return role;
  return std::nullopt;
}

bool role_allows(Role held, Role needed) {
  return static_cast<int>(held) >= static_cast<int>(needed);
}

}  // namespace sddsh::server
