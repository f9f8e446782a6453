#include "nlu/csv_records.h"

#include "common/error.h"

namespace chatbot::nlu {

std::vector<CsvRecord> ParseCsv(std::string_view contents, const std::string& where) {
  std::vector<CsvRecord> records;
  int line = 1;
  size_t i = 0;
  const size_t n = contents.size();
  auto fail = [&](int at, const std::string& reason) {
    throw DataError(where + ":" + std::to_string(at) + ": " + reason);
  };
  while (i < n) {
    // An empty line (LF or CRLF alone) is no record.
    if (contents[i] == '\n' || (contents[i] == '\r' && i + 1 < n && contents[i + 1] == '\n')) {
      i += contents[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    CsvRecord record;
    record.line = line;
    while (true) {
      std::string field;
      if (i < n && contents[i] == '"') {
        const int opened = line;
        ++i;
        while (true) {
          if (i >= n) fail(opened, "a quoted field is never closed");
          const char c = contents[i++];
          if (c == '"') {
            if (i < n && contents[i] == '"') {
              field += '"';
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field += c;
        }
        if (i < n && contents[i] != ',' && contents[i] != '\n' &&
            !(contents[i] == '\r' && i + 1 < n && contents[i + 1] == '\n')) {
          fail(line,
               "text after the closing quote of a field (write a quote inside a quoted "
               "field as \"\")");
        }
      } else {
        while (i < n && contents[i] != ',' && contents[i] != '\n' &&
               !(contents[i] == '\r' && i + 1 < n && contents[i + 1] == '\n')) {
          field += contents[i++];
        }
      }
      record.fields.push_back(std::move(field));
      if (i < n && contents[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
    if (i < n) {  // the end of the record
      i += contents[i] == '\r' ? 2 : 1;
      ++line;
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace chatbot::nlu
