#pragma once
// The resume journal: an SQLite database in OUT holding each input's last known state.
// A row is committed only after that input's outputs are durably on disk, so after a
// crash (even SIGKILL) the journal never claims more than what exists.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "voiceman/manifest/records.h"

struct sqlite3;

namespace voiceman::journal {

inline constexpr const char* kJournalFile = "journal.sqlite3";
inline constexpr const char* kLockFile = "journal.lock";

class Journal {
 public:
  // Creates OUT if needed, takes an exclusive lock on it (ConfigError if another run holds
  // it) and opens or creates the database (IoError if it cannot).
  explicit Journal(const std::filesystem::path& out_dir);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  std::optional<std::string> meta(std::string_view key) const;
  void set_meta(std::string_view key, std::string_view value);

  // All recorded inputs, keyed by their absolute path.
  std::map<std::string, manifest::InputRecord> load() const;
  // Inserts or replaces the row for record.path in one durable transaction.
  void record(const manifest::InputRecord& record);
  // Forgets every input (for --no-resume); meta is kept.
  void clear();

 private:
  void exec(const char* sql) const;
  sqlite3* db_ = nullptr;
  int lock_fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace voiceman::journal
