#pragma once
// The local tracker's schema and how a database gets there. PRAGMA user_version holds the
// number of migrations applied; opening a database applies the missing ones in one write
// transaction, so two processes opening a new file at once create the schema once.
#include <span>

#include "tracker-client/sqlite.hpp"

namespace sddsh::tracker {

// migrations[i] takes a database from version i to version i + 1. Append only: a released
// migration never changes.
std::span<const char* const> schema_migrations();

// Brings `database` to version migrations.size(). A database of a newer version than that (made
// by a newer sddsh) is refused with an sqlite::Error rather than misread.
void migrate(sqlite::Database& database, std::span<const char* const> migrations);

int schema_version(sqlite::Database& database);

}  // namespace sddsh::tracker
