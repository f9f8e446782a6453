// RFC 4180 CSV records (nlu/csv_records.h), the layer under CSV training
// data. What holds: contents either split into records or are refused with
// a DataError naming the place; records printed back as CSV with every
// field quoted split into the same fields (parse, print, parse).
#include <string>
#include <vector>

#include "common/error.h"
#include "fuzz_support.h"
#include "nlu/csv_records.h"

using namespace chatbot;

namespace {

std::string Print(const std::vector<nlu::CsvRecord>& records) {
  std::string out;
  for (const nlu::CsvRecord& record : records) {
    for (size_t i = 0; i < record.fields.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      for (char c : record.fields[i]) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<nlu::CsvRecord> records;
  if (!fuzz::Refused<DataError>(
          [&] { records = nlu::ParseCsv(fuzz::Text(data, size), "input.csv"); }, "input.csv")) {
    return 0;
  }
  int line = 0;
  for (const nlu::CsvRecord& record : records) {
    FUZZ_CHECK(record.line > line, "records out of line order");
    line = record.line;
  }
  const std::string printed = Print(records);
  std::vector<nlu::CsvRecord> again;
  fuzz::Refused<>([&] { again = nlu::ParseCsv(printed, "printed.csv"); });
  FUZZ_CHECK(again.size() == records.size(), printed);
  for (size_t i = 0; i < records.size(); ++i) {
    FUZZ_CHECK(again[i].fields == records[i].fields, printed);
  }
  return 0;
}
