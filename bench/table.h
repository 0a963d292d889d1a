#ifndef HALOPSA_BENCH_TABLE_H_
#define HALOPSA_BENCH_TABLE_H_

// A table the benchmark prints twice: aligned text for the terminal and
// markdown for the report file.

#include <string>
#include <vector>

namespace halopsa::bench {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string Text() const;
  std::string Markdown() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace halopsa::bench

#endif  // HALOPSA_BENCH_TABLE_H_
