// sochdb/core/error.hpp — the exception hierarchy.
//
// Every failure the library reports is an exception derived from `sochdb::error`, which carries
// an `errc` code, a message that names the offending key, file, offset or line, and
// `retryable()`. Absence of a key is not an error (lookups return std::optional); absence of a
// named thing the caller asked for (a collection, a file) is `not_found`.
//
// Messages are written for the person reading a log: "wal segment 000007.log: checksum mismatch
// at offset 81920", not "corruption". Binary keys in messages go through `printable_key()`.
#pragma once

#include <sochdb/version.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// Error codes. The numeric values are stable (they appear in CLI output and MCP errors).
enum class errc : int {
  ok = 0,
  invalid_argument = 1,      ///< the caller passed something the API does not accept
  not_found = 2,             ///< a named thing (file, collection, namespace) does not exist
  already_exists = 3,        ///< a named thing exists and the call asked to create it
  io_error = 4,              ///< the operating system reported a failure
  corruption = 5,            ///< stored bytes fail a checksum, magic or structural check
  transaction_conflict = 6,  ///< a transaction lost a conflict; retrying may succeed
  dimension_mismatch = 7,    ///< a vector has the wrong number of components
  parse_error = 8,           ///< text input (TOON, JSON, SQL, filters) is malformed
  budget_exceeded = 9,       ///< a token budget cannot be met under the strict policy
  locked = 10,               ///< another process (or handle) holds the database lock
  unsupported = 11,          ///< a valid request this build or format version cannot serve
  closed = 12,               ///< the object was closed or the file system went down
};

/// The name of a code, e.g. "corruption".
constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::io_error:
      return "io_error";
    case errc::corruption:
      return "corruption";
    case errc::transaction_conflict:
      return "transaction_conflict";
    case errc::dimension_mismatch:
      return "dimension_mismatch";
    case errc::parse_error:
      return "parse_error";
    case errc::budget_exceeded:
      return "budget_exceeded";
    case errc::locked:
      return "locked";
    case errc::unsupported:
      return "unsupported";
    case errc::closed:
      return "closed";
  }
  return "unknown";
}

/// Base of every exception sochdb throws.
class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}

  /// The error code.
  [[nodiscard]] errc code() const noexcept { return code_; }

  /// True when repeating the same operation may succeed (a transaction conflict, a lock held
  /// by someone else).
  [[nodiscard]] bool retryable() const noexcept {
    return code_ == errc::transaction_conflict || code_ == errc::locked;
  }

 private:
  errc code_;
};

class invalid_argument : public error {
 public:
  explicit invalid_argument(const std::string& message) : error(errc::invalid_argument, message) {}
};

class not_found : public error {
 public:
  explicit not_found(const std::string& message) : error(errc::not_found, message) {}
};

class already_exists : public error {
 public:
  explicit already_exists(const std::string& message) : error(errc::already_exists, message) {}
};

/// An operating-system failure. `sys_errno()` is the errno value (0 when simulated).
class io_error : public error {
 public:
  explicit io_error(const std::string& message, int sys_errno = 0)
      : error(errc::io_error, message), errno_(sys_errno) {}
  [[nodiscard]] int sys_errno() const noexcept { return errno_; }

 private:
  int errno_;
};

class corruption : public error {
 public:
  explicit corruption(const std::string& message) : error(errc::corruption, message) {}
};

class transaction_conflict : public error {
 public:
  explicit transaction_conflict(const std::string& message)
      : error(errc::transaction_conflict, message) {}
};

class dimension_mismatch : public error {
 public:
  dimension_mismatch(const std::string& what, std::size_t expected, std::size_t got)
      : error(errc::dimension_mismatch, what + " expects dimension " + std::to_string(expected) +
                                            ", got " + std::to_string(got)),
        expected_(expected),
        got_(got) {}
  [[nodiscard]] std::size_t expected() const noexcept { return expected_; }
  [[nodiscard]] std::size_t got() const noexcept { return got_; }

 private:
  std::size_t expected_;
  std::size_t got_;
};

/// Malformed text. `what()` reads "<source>: line L, column C: <detail>"; `line()` and
/// `column()` are 1-based (0 when unknown) and `detail()` is the bare message.
class parse_error : public error {
 public:
  parse_error(std::string_view source, std::size_t line, std::size_t column,
              const std::string& detail)
      : error(errc::parse_error, format(source, line, column, detail)),
        line_(line),
        column_(column),
        detail_(detail) {}
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  [[nodiscard]] std::size_t column() const noexcept { return column_; }
  [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

 private:
  static std::string format(std::string_view source, std::size_t line, std::size_t column,
                            const std::string& detail) {
    std::string s(source);
    if (!s.empty()) s += ": ";
    if (line != 0) {
      s += "line " + std::to_string(line);
      if (column != 0) s += ", column " + std::to_string(column);
      s += ": ";
    }
    return s + detail;
  }
  std::size_t line_;
  std::size_t column_;
  std::string detail_;
};

class budget_exceeded : public error {
 public:
  explicit budget_exceeded(const std::string& message) : error(errc::budget_exceeded, message) {}
};

class locked : public error {
 public:
  explicit locked(const std::string& message) : error(errc::locked, message) {}
};

class unsupported : public error {
 public:
  explicit unsupported(const std::string& message) : error(errc::unsupported, message) {}
};

class closed : public error {
 public:
  explicit closed(const std::string& message) : error(errc::closed, message) {}
};

/// Renders a binary key for an error message: printable ASCII as is, everything else as \xHH,
/// quoted, cut after `max_len` input bytes with "...".
inline std::string printable_key(std::string_view key, std::size_t max_len = 64) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t n = key.size() < max_len ? key.size() : max_len;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  out += '\'';
  if (n < key.size()) out += "...";
  return out;
}

SOCHDB_END_NAMESPACE
