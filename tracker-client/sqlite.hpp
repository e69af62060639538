#pragma once
// A thin RAII layer over SQLite's C API for the local tracker: one owner for the connection, one
// for each prepared statement, and a write transaction that rolls back unless committed.
// Failures throw sqlite::Error; the tracker turns them into a Result at its public boundary, so
// the queries themselves read straight through.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace sddsh::tracker::sqlite {

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }  // SQLite's extended result code

 private:
  int code_;
};

class Statement;

class Database {
 public:
  // Opens (creating when missing) the database file. How long a writer waits for another
  // process's lock is `busy_timeout_ms`.
  static Database open(const std::string& path, int busy_timeout_ms);

  // Runs one or more statements that take no parameters and return no rows.
  void execute(std::string_view sql);
  Statement prepare(std::string_view sql);
  // Rows the last INSERT, UPDATE or DELETE changed.
  int changes() const;
  sqlite3* handle() const { return handle_.get(); }

 private:
  struct Close {
    void operator()(sqlite3* handle) const;
  };
  explicit Database(sqlite3* handle) : handle_(handle) {}
  std::unique_ptr<sqlite3, Close> handle_;
};

class Statement {
 public:
  // Parameters are numbered from 1, as in "?1".
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t number);
  Statement& bind_or_null(int index, const std::optional<std::string>& text);  // nullopt: NULL

  // Advances to the next row; false when there is none left.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Makes the statement ready to run again (bindings stay until bound anew).
  void reset();

  std::string text(int column) const;  // NULL reads as ""
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  friend class Database;
  struct Finalize {
    void operator()(sqlite3_stmt* handle) const;
  };
  Statement(sqlite3* database, sqlite3_stmt* handle) : database_(database), handle_(handle) {}
  void check_bind(int code) const;
  sqlite3* database_;
  std::unique_ptr<sqlite3_stmt, Finalize> handle_;
};

// A transaction that rolls back unless committed. Write: BEGIN IMMEDIATE, which takes the write
// lock up front (waiting up to the busy timeout), so two processes never both read a row and
// then race to change it. Read: BEGIN, so several queries see one snapshot of the database.
class Transaction {
 public:
  enum class Mode : unsigned char { Read, Write };
  Transaction(Database& database, Mode mode);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Database& database_;
  bool open_ = true;
};

}  // namespace sddsh::tracker::sqlite
