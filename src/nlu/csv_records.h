// RFC 4180 CSV records, for training data exported from spreadsheets and
// labelling tools: fields separated by commas, a field in double quotes may
// hold commas, line breaks and doubled quotes (""), records end with LF or
// CRLF. Each record carries the line it starts on, so that messages about
// it name the line an editor shows.
#ifndef CHATBOT_NLU_CSV_RECORDS_H_
#define CHATBOT_NLU_CSV_RECORDS_H_

#include <string>
#include <string_view>
#include <vector>

namespace chatbot::nlu {

struct CsvRecord {
  int line = 0;  // where the record starts, from 1
  std::vector<std::string> fields;
};

// Splits `contents` into records. A line holding nothing at all is skipped
// (it is no record). Throws DataError "<where>:LINE: reason" for a quote
// that is never closed or text after a closing quote.
std::vector<CsvRecord> ParseCsv(std::string_view contents, const std::string& where);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_CSV_RECORDS_H_
