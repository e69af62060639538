#include "tracker-client/local_tracker.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <utility>

#include "tracker-client/local_schema.hpp"
#include "tracker-client/ready_rule.hpp"
#include "tracker-client/sqlite.hpp"
#include "tracker-client/task_rows.hpp"
#include "tracker-client/timestamps.hpp"

namespace sddsh::tracker {

namespace {

// Long enough for an import in one process while others claim; short enough that a stuck
// writer shows up as an error instead of a hang.
constexpr int kBusyTimeoutMs = 10000;
constexpr const char* kIdPrefix = "sd-";
constexpr const char* kAutoCloseReason = "all children closed";

std::optional<std::string> type_name(const std::optional<IssueType>& type) {
  if (!type) return std::nullopt;
  return std::string(name(*type));
}

Failure failure(std::string message) {
  return Failure{Error{0, std::move(message)}};
}
Failure no_task(const std::string& id) {
  return failure("no task " + id);
}

// Runs one public operation; a database failure becomes its Result's error.
template <typename Body>
auto guarded(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const sqlite::Error& error) {
    return Failure{Error{0, std::string("tracker database: ") + error.what()}};
  } catch (const std::bad_alloc&) {
    return failure("tracker database: out of memory");
  }
}

// 4 hex digits, as Beads starts; longer when the short ones are taken.
std::string random_hex(std::size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device source;
  std::string out;
  while (out.size() < digits) {
    unsigned bits = source();
    for (int i = 0; i < 8 && out.size() < digits; ++i, bits >>= 4) out += kHex[bits & 0xf];
  }
  return out;
}

// Why a claim changed nothing, from the task as it is now.
std::string claim_refusal(const Task& task) {
  if (!task.assignee.empty() && task.status != Status::Closed)
    return task.id + " is already claimed by " + task.assignee;
  if (task.status == Status::InProgress) return task.id + " is already in progress";
  return task.id + " is " + name(task.status);
}

// Opens a task again as unclaimed work: the claim belonged to the work that was done.
void mark_open(Task& task) {
  task.status = Status::Open;
  task.closed_at.clear();
  task.close_reason.clear();
  task.closed_by_session.clear();
  task.assignee.clear();
  task.started_at.clear();
}

class LocalTracker final : public Tracker {
 public:
  explicit LocalTracker(sqlite::Database database) : db_(std::move(database)) {}

  Result<std::vector<Task>> ready(const ReadyQuery& query) override {
    return guarded([&]() -> Result<std::vector<Task>> {
      sqlite::Transaction snapshot(db_, sqlite::Transaction::Mode::Read);
      const auto ids =
          ready_ids(issue_facts(), ordering_edges(), query, iso_from_unix_ms(now_unix_ms()));
      std::vector<Task> tasks;
      tasks.reserve(ids.size());
      auto row = db_.prepare(select_tasks("WHERE id = ?1"));
      for (const auto& id : ids) {
        row.reset();
        if (row.bind(1, id).step()) tasks.push_back(task_from_row(row));
      }
      snapshot.commit();
      return tasks;
    });
  }

  Result<std::vector<Task>> list(const ListQuery& query) override {
    return guarded([&]() -> Result<std::vector<Task>> {
      auto statement = db_.prepare(
          select_tasks("WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR issue_type = ?2)"
                       " AND (?1 IS NOT NULL OR ?3 OR status <> 'closed')"
                       " ORDER BY priority, created_at, id"));
      std::optional<std::string> status;
      if (query.status) status = name(*query.status);
      statement.bind_or_null(1, status).bind_or_null(2, type_name(query.type));
      statement.bind(3, std::int64_t{query.include_closed ? 1 : 0});
      return read_tasks(statement);
    });
  }

  Result<Task> get(const std::string& id) override {
    return guarded([&]() -> Result<Task> {
      auto task = find(id);
      if (!task) return no_task(id);
      return std::move(*task);
    });
  }

  Result<std::optional<Task>> find_by_spec(const std::string& dir,
                                           const std::string& task_id) override {
    return guarded([&]() -> Result<std::optional<Task>> {
      // An empty task id names the spec's epic rather than one of its phase features.
      auto statement =
          db_.prepare(select_tasks("WHERE spec_dir = ?1 AND spec_task_id = ?2"
                                   " ORDER BY issue_type <> 'epic', created_at, id LIMIT 1"));
      statement.bind(1, dir).bind(2, task_id);
      if (!statement.step()) return std::optional<Task>{};
      return std::optional<Task>{task_from_row(statement)};
    });
  }

  Result<Task> create(const NewTask& request) override {
    if (request.title.empty()) return failure("a task needs a title");
    if (request.priority < 0 || request.priority > 4) return failure("priority must be 0..4");
    return guarded([&]() -> Result<Task> {
      auto transaction = writing();
      if (!request.parent.empty() && !find(request.parent)) return no_task(request.parent);
      Task task = new_task(request);
      insert(task);
      if (!request.parent.empty()) {
        insert_edge(
            Dependency{task.id, request.parent, DependencyType::ParentChild, task.created_at});
        settle_parents(task.id, "");
      }
      transaction.commit();
      return get_or_throw(task.id);
    });
  }

  Result<Task> change(const std::string& id, const TaskChange& change) override {
    if (change.priority && (*change.priority < 0 || *change.priority > 4))
      return failure("priority must be 0..4");
    std::string defer_until;
    if (change.defer_until && !change.defer_until->empty()) {
      auto when = unix_ms_from_iso(*change.defer_until);
      if (!when) return failure("defer_until: not an ISO 8601 UTC time: " + *change.defer_until);
      defer_until = iso_from_unix_ms(*when);
    }
    return guarded([&]() -> Result<Task> {
      auto transaction = writing();
      auto task = find(id);
      if (!task) return no_task(id);
      const bool was_closed = task->status == Status::Closed;
      apply(*task, change, defer_until);
      write(*task);
      if (was_closed != (task->status == Status::Closed)) settle_parents(id, "");
      transaction.commit();
      return get_or_throw(id);
    });
  }

  Result<Task> claim(const std::string& id, const std::string& assignee) override {
    if (assignee.empty()) return failure("claiming needs a name to claim for");
    return guarded([&]() -> Result<Task> {
      auto transaction = writing();
      const std::string now = iso_from_unix_ms(now_unix_ms());
      // The claim itself: one conditional update, so of two claimers only one changes the row.
      db_.prepare(
             "UPDATE issues SET status = 'in_progress', assignee = ?2, started_at = ?3, "
             "updated_at = ?3 WHERE id = ?1 AND status = 'open' AND (assignee = '' OR assignee = "
             "?2)")
          .bind(1, id)
          .bind(2, assignee)
          .bind(3, now)
          .run();
      const bool won = db_.changes() == 1;
      auto task = find(id);
      transaction.commit();
      if (!task) return no_task(id);
      if (won || (task->status == Status::InProgress && task->assignee == assignee))
        return std::move(*task);
      return failure(claim_refusal(*task));
    });
  }

  Result<Task> close(const std::string& id, const std::string& reason,
                     const std::string& session_id) override {
    return guarded([&]() -> Result<Task> {
      auto transaction = writing();
      auto task = find(id);
      if (!task) return no_task(id);
      if (task->status == Status::Closed) return std::move(*task);  // closing twice is harmless
      const std::string now = iso_from_unix_ms(now_unix_ms());
      task->status = Status::Closed;
      task->closed_at = now;
      task->updated_at = now;
      task->close_reason = reason;
      task->closed_by_session = session_id;
      write(*task);
      settle_parents(id, session_id);
      transaction.commit();
      return get_or_throw(id);
    });
  }

  Result<Task> reopen(const std::string& id) override {
    return guarded([&]() -> Result<Task> {
      auto transaction = writing();
      auto task = find(id);
      if (!task) return no_task(id);
      if (task->status == Status::Open) return std::move(*task);
      if (task->status != Status::Closed)
        return failure(id + " is " + name(task->status) + ", not closed");
      mark_open(*task);
      task->updated_at = iso_from_unix_ms(now_unix_ms());
      write(*task);
      settle_parents(id, "");
      transaction.commit();
      return get_or_throw(id);
    });
  }

  Result<Task> add_note(const std::string& id, const std::string& note,
                        const std::string& actor) override {
    if (note.empty()) return failure("the note is empty");
    return guarded([&]() -> Result<Task> {
      auto transaction = writing();
      auto task = find(id);
      if (!task) return no_task(id);
      const std::string now = iso_from_unix_ms(now_unix_ms());
      if (!task->description.empty()) task->description += "\n\n";
      task->description += "[" + now + (actor.empty() ? "" : " " + actor) + "] " + note;
      task->updated_at = now;
      write(*task);
      transaction.commit();
      return get_or_throw(id);
    });
  }

  Result<void> add_dependency(const Dependency& dependency) override {
    if (dependency.issue_id == dependency.depends_on_id)
      return failure(dependency.issue_id + " cannot depend on itself");
    return guarded([&]() -> Result<void> { return add_edge(dependency); });
  }

  Result<std::vector<Dependency>> dependencies(const std::string& id) override {
    return guarded([&]() -> Result<std::vector<Dependency>> {
      auto statement = db_.prepare("SELECT " + std::string(kDependencyColumns) +
                                   " FROM dependencies"
                                   " WHERE issue_id = ?1 OR depends_on_id = ?1 ORDER BY "
                                   "created_at, issue_id, depends_on_id");
      statement.bind(1, id);
      std::vector<Dependency> edges;
      while (statement.step()) edges.push_back(dependency_from_row(statement));
      return edges;
    });
  }

 private:
  std::optional<Task> find(const std::string& id) {
    auto statement = db_.prepare(select_tasks("WHERE id = ?1"));
    statement.bind(1, id);
    if (!statement.step()) return std::nullopt;
    return task_from_row(statement);
  }

  // The ready rule's inputs: two plain scans, cheaper than any join (docs/tracker.md).
  std::vector<IssueFacts> issue_facts() {
    auto statement =
        db_.prepare("SELECT id, issue_type, status, priority, created_at, defer_until FROM issues");
    std::vector<IssueFacts> facts;
    while (statement.step())
      facts.push_back(IssueFacts{
          statement.text(0), parse_issue_type(statement.text(1)).value_or(IssueType::Task),
          parse_status(statement.text(2)).value_or(Status::Open),
          static_cast<int>(statement.integer(3)), statement.text(4), statement.text(5)});
    return facts;
  }

  std::vector<Dependency> ordering_edges() {
    auto statement = db_.prepare(
        "SELECT issue_id, depends_on_id, type, '' FROM dependencies"
        " WHERE type IN ('blocks', 'parent-child')");
    std::vector<Dependency> edges;
    while (statement.step()) edges.push_back(dependency_from_row(statement));
    return edges;
  }

  sqlite::Transaction writing() {
    return sqlite::Transaction(db_, sqlite::Transaction::Mode::Write);
  }

  // For re-reading a task this transaction has just written.
  Task get_or_throw(const std::string& id) {
    auto task = find(id);
    if (!task) throw sqlite::Error(SQLITE_NOTFOUND, "task " + id + " vanished");
    return std::move(*task);
  }

  Task new_task(const NewTask& request) {
    Task task;
    task.id = unused_id();
    task.title = request.title;
    task.description = request.description;
    task.issue_type = request.issue_type;
    task.status = request.status;
    task.priority = request.priority;
    task.labels = request.labels;
    task.spec_ref = request.spec_ref;
    task.parallel = request.parallel;
    task.created_at = task.updated_at = next_created_at();
    if (task.status == Status::Closed) task.closed_at = task.created_at;
    if (task.status == Status::InProgress) task.started_at = task.created_at;
    return task;
  }

  // Beads-style: a prefix and a few random hex digits, one more digit after a few collisions.
  std::string unused_id() {
    auto taken = db_.prepare("SELECT 1 FROM issues WHERE id = ?1");
    for (std::size_t digits = 4;; ++digits) {
      for (int attempt = 0; attempt < 4; ++attempt) {
        std::string id = kIdPrefix + random_hex(digits);
        taken.reset();
        if (!taken.bind(1, id).step()) return id;
      }
    }
  }

  // Creation times are unique and increasing within a database: an import that creates fifty
  // tasks in one millisecond gets them a millisecond apart, so "oldest first" is creation order.
  std::string next_created_at() {
    std::int64_t now = now_unix_ms();
    auto latest = db_.prepare("SELECT max(created_at) FROM issues");
    if (latest.step() && !latest.is_null(0))
      if (auto last = unix_ms_from_iso(latest.text(0)); last && *last >= now) now = *last + 1;
    return iso_from_unix_ms(now);
  }

  void insert(const Task& task) {
    auto statement = db_.prepare(
        "INSERT INTO issues (id, title, description, issue_type, status, priority, assignee,"
        " labels, created_at, updated_at, started_at, closed_at, defer_until, close_reason,"
        " closed_by_session, spec_dir, spec_task_id, spec_phase, parallel)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19)");
    bind_task(statement, task);
    statement.run();
  }

  // Every field of `task`. A status that changes by this write clears the auto-closed mark:
  // only settle_parents sets it.
  void write(const Task& task) {
    auto statement = db_.prepare(
        "UPDATE issues SET title = ?2, description = ?3, issue_type = ?4,"
        " auto_closed = CASE WHEN status = ?5 THEN auto_closed ELSE 0 END, status = ?5,"
        " priority = ?6, assignee = ?7, labels = ?8, created_at = ?9, updated_at = ?10,"
        " started_at = ?11, closed_at = ?12, defer_until = ?13, close_reason = ?14,"
        " closed_by_session = ?15, spec_dir = ?16, spec_task_id = ?17, spec_phase = ?18,"
        " parallel = ?19 WHERE id = ?1");
    bind_task(statement, task);
    statement.run();
  }

  static void apply(Task& task, const TaskChange& change, const std::string& defer_until) {
    const std::string now = iso_from_unix_ms(now_unix_ms());
    if (change.title) task.title = *change.title;
    if (change.description) task.description = *change.description;
    if (change.assignee) task.assignee = *change.assignee;
    if (change.defer_until) task.defer_until = defer_until;
    if (change.priority) task.priority = *change.priority;
    if (change.labels) task.labels = *change.labels;
    if (change.parallel) task.parallel = *change.parallel;
    if (change.spec_ref) task.spec_ref = *change.spec_ref;
    if (change.status && *change.status != task.status) apply_status(task, *change.status, now);
    task.updated_at = now;
  }

  // Keeps the time stamps true to the status: closing stamps closed_at, leaving closed clears
  // what closing set, starting stamps started_at.
  static void apply_status(Task& task, Status status, const std::string& now) {
    if (task.status == Status::Closed) {
      task.closed_at.clear();
      task.close_reason.clear();
      task.closed_by_session.clear();
    }
    task.status = status;
    if (status == Status::Closed) task.closed_at = now;
    if (status == Status::InProgress && task.started_at.empty()) task.started_at = now;
  }

  Result<void> add_edge(const Dependency& edge) {
    auto transaction = writing();
    for (const auto* id : {&edge.issue_id, &edge.depends_on_id})
      if (!find(*id)) return no_task(*id);
    if (has_edge(edge)) return {};  // adding it again changes nothing
    const bool ordering =
        edge.type == DependencyType::Blocks || edge.type == DependencyType::ParentChild;
    if (ordering && depends_on(edge.depends_on_id, edge.issue_id, edge.type))
      return failure(cycle_message(edge));
    Dependency stamped = edge;
    if (stamped.created_at.empty()) stamped.created_at = iso_from_unix_ms(now_unix_ms());
    insert_edge(stamped);
    if (edge.type == DependencyType::ParentChild) settle_parents(edge.issue_id, "");
    transaction.commit();
    return {};
  }

  static std::string cycle_message(const Dependency& edge) {
    const char* relation =
        edge.type == DependencyType::Blocks ? " already blocks " : " is already an ancestor of ";
    return "refused: " + edge.issue_id + relation + edge.depends_on_id +
           " (directly or through others); the edge would make a cycle";
  }

  bool has_edge(const Dependency& edge) {
    auto statement = db_.prepare(
        "SELECT 1 FROM dependencies WHERE issue_id = ?1 AND depends_on_id = ?2 AND type = ?3");
    statement.bind(1, edge.issue_id).bind(2, edge.depends_on_id).bind(3, name(edge.type));
    return statement.step();
  }

  // Whether `from` depends on `to` through edges of `type`, following them transitively.
  bool depends_on(const std::string& from, const std::string& to, DependencyType type) {
    auto statement = db_.prepare(
        "WITH RECURSIVE reach(id) AS (SELECT ?1 UNION SELECT d.depends_on_id FROM dependencies d"
        " JOIN reach r ON d.issue_id = r.id WHERE d.type = ?3)"
        " SELECT 1 FROM reach WHERE id = ?2");
    statement.bind(1, from).bind(2, to).bind(3, name(type));
    return statement.step();
  }

  void insert_edge(const Dependency& edge) {
    db_.prepare(
           "INSERT INTO dependencies (issue_id, depends_on_id, type, created_at)"
           " VALUES (?1, ?2, ?3, ?4)")
        .bind(1, edge.issue_id)
        .bind(2, edge.depends_on_id)
        .bind(3, name(edge.type))
        .bind(4, edge.created_at)
        .run();
  }

  struct ParentState {
    std::string id;
    Status status = Status::Open;
    bool auto_closed = false;
    int open_children = 0;
  };

  // The epics and features `child` belongs to, each with how many of its children are open.
  std::vector<ParentState> container_parents(const std::string& child) {
    auto statement = db_.prepare(
        "SELECT p.id, p.status, p.auto_closed,"
        " (SELECT count(*) FROM dependencies c JOIN issues k ON k.id = c.issue_id"
        "   WHERE c.depends_on_id = p.id AND c.type = 'parent-child' AND k.status <> 'closed')"
        " FROM dependencies d JOIN issues p ON p.id = d.depends_on_id"
        " WHERE d.issue_id = ?1 AND d.type = 'parent-child' AND p.issue_type IN ('epic', "
        "'feature')");
    statement.bind(1, child);
    std::vector<ParentState> parents;
    while (statement.step())
      parents.push_back(
          ParentState{statement.text(0), parse_status(statement.text(1)).value_or(Status::Open),
                      statement.integer(2) != 0, static_cast<int>(statement.integer(3))});
    return parents;
  }

  // After `child` opened or closed: a parent whose children are now all closed closes by
  // itself; a parent that had closed by itself and now has an open child opens again. Each
  // change may do the same to the next parent up.
  void settle_parents(const std::string& child, const std::string& session_id, int depth = 0) {
    if (depth > 64) return;  // parent-child cycles are refused; this only bounds bad data
    for (const auto& parent : container_parents(child)) {
      const bool closed = parent.status == Status::Closed;
      if (!closed && parent.open_children == 0) {
        auto_close(parent.id, session_id);
      } else if (closed && parent.auto_closed && parent.open_children > 0) {
        auto_reopen(parent.id);
      } else {
        continue;
      }
      settle_parents(parent.id, session_id, depth + 1);
    }
  }

  void auto_close(const std::string& id, const std::string& session_id) {
    const std::string now = iso_from_unix_ms(now_unix_ms());
    db_.prepare(
           "UPDATE issues SET status = 'closed', closed_at = ?2, updated_at = ?2,"
           " close_reason = ?3, closed_by_session = ?4, auto_closed = 1 WHERE id = ?1")
        .bind(1, id)
        .bind(2, now)
        .bind(3, kAutoCloseReason)
        .bind(4, session_id)
        .run();
  }

  void auto_reopen(const std::string& id) {
    Task task = get_or_throw(id);
    mark_open(task);
    task.updated_at = iso_from_unix_ms(now_unix_ms());
    write(task);  // the status changes, so the auto-closed mark goes
  }

  sqlite::Database db_;
};

// A statement of its own, finished on return: an unfinished one would hold a read transaction,
// and the journal mode cannot change inside a transaction.
std::string journal_mode(sqlite::Database& database) {
  auto mode = database.prepare("PRAGMA journal_mode");
  return mode.step() ? mode.text(0) : "";
}

// WAL lets readers (the panel, `tasks`) run while one process writes; a persistent setting of
// the file, so only its creator has to switch it.
void use_write_ahead_log(sqlite::Database& database) {
  if (journal_mode(database) == "wal") return;
  database.execute("PRAGMA journal_mode = WAL");
}

}  // namespace

Result<std::unique_ptr<Tracker>> open_local_tracker(const std::string& path) {
  return guarded([&]() -> Result<std::unique_ptr<Tracker>> {
    auto database = sqlite::Database::open(path, kBusyTimeoutMs);
    use_write_ahead_log(database);
    database.execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
    migrate(database, schema_migrations());
    return std::unique_ptr<Tracker>(std::make_unique<LocalTracker>(std::move(database)));
  });
}

}  // namespace sddsh::tracker
