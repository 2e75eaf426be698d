// temp_db.h — a database path of its own for one test: unique per process and per instance,
// removed with its WAL, shared-memory and journal files when made and when dropped, so no test
// depends on what an earlier run (or another test in the same run) left behind.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace returns::store {

class TempDb {
 public:
  explicit TempDb(const std::string& name) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("returns_" + name + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(++counter) + ".db"))
                .string();
    remove();
  }
  ~TempDb() { remove(); }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  const std::string& path() const { return path_; }
  // Removes the database and its side files now (e.g. to start again at the same path).
  void remove() const {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_ + suffix, ec);
    }
  }

 private:
  std::string path_;
};

}  // namespace returns::store
