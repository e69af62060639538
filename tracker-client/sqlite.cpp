#include "tracker-client/sqlite.hpp"

#include <sqlite3.h>

#include <limits>

namespace sddsh::tracker::sqlite {

namespace {

[[noreturn]] void fail(sqlite3* database, int code) {
  throw Error(code, database ? sqlite3_errmsg(database) : sqlite3_errstr(code));
}

int text_length(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error(SQLITE_TOOBIG, "text too long for the tracker database");
  return static_cast<int>(text.size());
}

}  // namespace

void Database::Close::operator()(sqlite3* handle) const {
  sqlite3_close_v2(handle);
}

Database Database::open(const std::string& path, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int code =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database database(raw);  // owns the handle even when opening failed
  if (code != SQLITE_OK)
    throw Error(code, path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(code)));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return database;
}

void Database::execute(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int code = sqlite3_exec(handle(), text.c_str(), nullptr, nullptr, &message);
  if (code == SQLITE_OK) return;
  std::string why = message ? message : sqlite3_errstr(code);
  sqlite3_free(message);
  throw Error(code, why);
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int code = sqlite3_prepare_v2(handle(), sql.data(), text_length(sql), &raw, nullptr);
  if (code != SQLITE_OK) fail(handle(), code);
  return Statement(handle(), raw);
}

int Database::changes() const {
  return sqlite3_changes(handle());
}

void Statement::Finalize::operator()(sqlite3_stmt* handle) const {
  sqlite3_finalize(handle);
}

void Statement::check_bind(int code) const {
  if (code != SQLITE_OK) fail(database_, code);
}

Statement& Statement::bind(int index, std::string_view text) {
  check_bind(
      sqlite3_bind_text(handle_.get(), index, text.data(), text_length(text), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::bind(int index, std::int64_t number) {
  check_bind(sqlite3_bind_int64(handle_.get(), index, number));
  return *this;
}

Statement& Statement::bind_or_null(int index, const std::optional<std::string>& text) {
  if (text) return bind(index, std::string_view(*text));
  check_bind(sqlite3_bind_null(handle_.get(), index));
  return *this;
}

bool Statement::step() {
  int code = sqlite3_step(handle_.get());
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  fail(database_, code);
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(handle_.get());
}

std::string Statement::text(int column) const {
  const unsigned char* value = sqlite3_column_text(handle_.get(), column);
  if (!value) return {};
  return {reinterpret_cast<const char*>(value),
          static_cast<std::size_t>(sqlite3_column_bytes(handle_.get(), column))};
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(handle_.get(), column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(handle_.get(), column) == SQLITE_NULL;
}

Transaction::Transaction(Database& database, Mode mode) : database_(database) {
  database_.execute(mode == Mode::Write ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    database_.execute("ROLLBACK");
  } catch (const Error&) {
    // SQLite may have rolled back already (after an I/O error); nothing is left to undo.
  }
}

void Transaction::commit() {
  database_.execute("COMMIT");
  open_ = false;
}

}  // namespace sddsh::tracker::sqlite
