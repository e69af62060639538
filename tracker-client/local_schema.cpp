#include "tracker-client/local_schema.hpp"

#include <array>
#include <string>

namespace sddsh::tracker {

namespace {

// Version 1: Beads' issues and dependencies, plus what sddsh adds (spec-kit origin, [P]).
// Empty text rather than NULL for unset strings keeps the queries' comparisons simple; the
// spec-kit columns are NULL for tasks that did not come from a spec.
// `auto_closed` remembers that a parent closed by itself, so reopening a child reopens it.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE issues (
  id                TEXT PRIMARY KEY NOT NULL,
  title             TEXT NOT NULL,
  description       TEXT NOT NULL DEFAULT '',
  issue_type        TEXT NOT NULL DEFAULT 'task'
                    CHECK (issue_type IN ('epic', 'feature', 'task', 'bug', 'chore')),
  status            TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'in_progress', 'blocked', 'deferred', 'closed')),
  priority          INTEGER NOT NULL DEFAULT 2 CHECK (priority BETWEEN 0 AND 4),
  assignee          TEXT NOT NULL DEFAULT '',
  labels            TEXT NOT NULL DEFAULT '[]',
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  started_at        TEXT NOT NULL DEFAULT '',
  closed_at         TEXT NOT NULL DEFAULT '',
  defer_until       TEXT NOT NULL DEFAULT '',
  close_reason      TEXT NOT NULL DEFAULT '',
  closed_by_session TEXT NOT NULL DEFAULT '',
  auto_closed       INTEGER NOT NULL DEFAULT 0,
  spec_dir          TEXT,
  spec_task_id      TEXT,
  spec_phase        TEXT,
  parallel          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX issues_by_status ON issues (status, priority, created_at, id);
CREATE INDEX issues_by_created ON issues (created_at);
CREATE INDEX issues_by_spec ON issues (spec_dir, spec_task_id) WHERE spec_dir IS NOT NULL;
CREATE TABLE dependencies (
  issue_id      TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
  depends_on_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
  type          TEXT NOT NULL
                CHECK (type IN ('blocks', 'parent-child', 'related', 'discovered-from')),
  created_at    TEXT NOT NULL,
  PRIMARY KEY (issue_id, depends_on_id, type),
  CHECK (issue_id <> depends_on_id)
) WITHOUT ROWID;
CREATE INDEX dependencies_by_target ON dependencies (depends_on_id, type);
)sql";

constexpr std::array<const char*, 1> kMigrations{kVersion1};

// A database from a newer sddsh may hold what this one would misread or lose.
void refuse_newer(int version, int latest) {
  if (version <= latest) return;
  throw sqlite::Error(0, "the tracker database has schema version " + std::to_string(version) +
                             ", newer than this sddsh knows (" + std::to_string(latest) +
                             "): upgrade sddsh");
}

}  // namespace

std::span<const char* const> schema_migrations() {
  return kMigrations;
}

int schema_version(sqlite::Database& database) {
  auto statement = database.prepare("PRAGMA user_version");
  return statement.step() ? static_cast<int>(statement.integer(0)) : 0;
}

void migrate(sqlite::Database& database, std::span<const char* const> migrations) {
  const auto latest = static_cast<int>(migrations.size());
  int version = schema_version(database);
  if (version == latest) return;  // the usual case: no write lock needed
  refuse_newer(version, latest);
  sqlite::Transaction transaction(database, sqlite::Transaction::Mode::Write);
  // Read again under the lock: another process may have migrated meanwhile.
  version = schema_version(database);
  refuse_newer(version, latest);
  for (int next = version; next < latest; ++next)
    database.execute(migrations[static_cast<std::size_t>(next)]);
  database.execute("PRAGMA user_version = " + std::to_string(latest));
  transaction.commit();
}

}  // namespace sddsh::tracker
