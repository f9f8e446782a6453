// Error types shared by every module.
//
// Bad input (configuration, training data, model files, requests) is reported
// by throwing one of these; the message always names what was wrong and where
// (file, line, key), so the command line and the server can show it unchanged.
#ifndef CHATBOT_COMMON_ERROR_H_
#define CHATBOT_COMMON_ERROR_H_

#include <stdexcept>
#include <string>

namespace chatbot {

// Base of every error the product reports to a person.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file, environment variable or flag is invalid.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Training or evaluation data is malformed ("file:line: reason").
class DataError : public Error {
 public:
  using Error::Error;
};

// Session storage failed (database unavailable, constraint violated).
class StoreError : public Error {
 public:
  using Error::Error;
};

// The storage server cannot be reached (refused, gone away, no connection
// free in time): the service answers 503 with Retry-After, and a later
// request may succeed without a restart.
class StoreUnavailable : public StoreError {
 public:
  using StoreError::StoreError;
};

// The file system holding the storage is full (SQLITE_FULL): the service
// answers 503 with Retry-After and serves writes again once there is space,
// without a restart.
class StoreFull : public StoreError {
 public:
  using StoreError::StoreError;
};

// A model on disk is missing, damaged, foreign or of another format version.
class ModelError : public Error {
 public:
  using Error::Error;
};

// Reading or writing a file failed at the operating-system level.
class IoError : public Error {
 public:
  using Error::Error;
};

// `message` without the source location Boost appends to the text of its
// system errors (" [boost.json:3 at ./boost/json/basic_parser_impl.hpp:2750
// in function 'write_some']"): messages are for the people running the
// service, and name our files, never the libraries' sources.
inline std::string WithoutSourceLocation(std::string message) {
  const size_t open = message.rfind(" [");
  if (open != std::string::npos && !message.empty() && message.back() == ']' &&
      message.find(" at ", open) != std::string::npos) {
    message.erase(open);
  }
  return message;
}

}  // namespace chatbot

#endif  // CHATBOT_COMMON_ERROR_H_
