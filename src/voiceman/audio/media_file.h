#pragma once
// Checks shared by every decoder: the file must exist, be a regular readable file and
// hold at least one byte. Each failure becomes a MediaError that names the file.
#include <cstdint>
#include <filesystem>
#include <string>

namespace voiceman::audio {

// Throws MediaError("<path>: unreadable (...)" or "<path>: zero bytes") unless the path
// is a non-empty regular file this process can open read-only. Returns its size.
uint64_t check_media_file(const std::filesystem::path& path);

// Throws MediaError with the message "cannot decode '<path>': <reason>".
[[noreturn]] void throw_media_error(const std::filesystem::path& path, const std::string& reason);

}  // namespace voiceman::audio
