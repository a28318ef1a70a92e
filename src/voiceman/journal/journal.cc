#include "voiceman/journal/journal.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "voiceman/core/errors.h"
#include "voiceman/manifest/manifest.h"

namespace voiceman::journal {
namespace {

namespace fs = std::filesystem;

// Finalizes a prepared statement on every exit path.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const fs::path& path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw IoError(path.string() + ": journal query failed (" + sqlite3_errmsg(db) + ")");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))) : "";
}

}  // namespace

Journal::Journal(const fs::path& out_dir) : path_(out_dir / kJournalFile) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec)
    throw IoError(out_dir.string() + ": cannot create the output folder (" + ec.message() + ")");
  // Two runs writing one OUT would interleave outputs and journal rows.
  const fs::path lock = out_dir / kLockFile;
  // NOFOLLOW here and for the database: a planted symlink must not redirect our writes
  // (into the evidence, for instance).
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (lock_fd_ < 0) throw IoError(lock.string() + ": cannot open (" + std::strerror(errno) + ")");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw ConfigError(out_dir.string() + " is in use by another voiceman run");
  }
  if (sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    ::close(lock_fd_);
    throw IoError(path_.string() + ": cannot open the journal (" + why + ")");
  }
  try {
    // WAL + FULL: each commit is durable once record() returns, and a torn write is
    // rolled back on the next open.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    exec(
        "CREATE TABLE IF NOT EXISTS inputs (path TEXT PRIMARY KEY, status TEXT NOT NULL, "
        "sha256 TEXT, record TEXT NOT NULL, updated_utc TEXT NOT NULL)");
  } catch (...) {
    sqlite3_close(db_);
    ::close(lock_fd_);
    throw;
  }
}

Journal::~Journal() {
  sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

void Journal::exec(const char* sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : "unknown error";
    sqlite3_free(error);
    throw IoError(path_.string() + ": journal write failed (" + why + ")");
  }
}

std::optional<std::string> Journal::meta(std::string_view key) const {
  Statement st(db_, "SELECT value FROM meta WHERE key = ?1", path_);
  st.bind(1, key);
  if (sqlite3_step(st.get()) == SQLITE_ROW) return column_text(st.get(), 0);
  return std::nullopt;
}

void Journal::set_meta(std::string_view key, std::string_view value) {
  Statement st(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", path_);
  st.bind(1, key);
  st.bind(2, value);
  if (sqlite3_step(st.get()) != SQLITE_DONE)
    throw IoError(path_.string() + ": journal write failed (" + sqlite3_errmsg(db_) + ")");
}

std::map<std::string, manifest::InputRecord> Journal::load() const {
  std::map<std::string, manifest::InputRecord> out;
  Statement st(db_, "SELECT path, record FROM inputs", path_);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const nlohmann::ordered_json j =
        nlohmann::ordered_json::parse(column_text(st.get(), 1), nullptr, false);
    if (j.is_discarded())
      throw IntegrityError(path_.string() + ": unreadable journal row for " +
                           column_text(st.get(), 0));
    manifest::InputRecord r = manifest::input_from_json(j);
    out.emplace(r.path, std::move(r));
  }
  if (rc != SQLITE_DONE)
    throw IoError(path_.string() + ": journal read failed (" + sqlite3_errmsg(db_) + ")");
  return out;
}

void Journal::record(const manifest::InputRecord& r) {
  Statement st(db_,
               "INSERT OR REPLACE INTO inputs (path, status, sha256, record, updated_utc) "
               "VALUES (?1, ?2, ?3, ?4, ?5)",
               path_);
  const std::string json =
      manifest::to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string now = manifest::utc_now();
  st.bind(1, r.path);
  st.bind(2, manifest::status_name(r.status));
  st.bind(3, r.before ? r.before->sha256 : "");
  st.bind(4, json);
  st.bind(5, now);
  if (sqlite3_step(st.get()) != SQLITE_DONE)
    throw IoError(path_.string() + ": journal write failed (" + sqlite3_errmsg(db_) + ")");
}

void Journal::clear() { exec("DELETE FROM inputs"); }

}  // namespace voiceman::journal
