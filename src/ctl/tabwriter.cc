#include "ctl/tabwriter.h"

#include <algorithm>

namespace stolon::ctl {
namespace {

constexpr size_t kTabWidth = 8;
constexpr size_t kPadding = 1;

size_t Utf8Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

using Line = std::vector<std::string>;  // cells; all but the last are tab-terminated

struct Formatter {
  const std::vector<Line>& lines;
  std::vector<size_t> widths;
  std::string out;

  void WriteLines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const Line& line = lines[i];
      for (size_t j = 0; j < line.size(); ++j) {
        out += line[j];
        if (j < widths.size() && j + 1 < line.size()) {
          size_t colw = (widths[j] + kTabWidth - 1) / kTabWidth * kTabWidth;
          size_t textw = Utf8Width(line[j]);
          size_t n = colw > textw ? colw - textw : 0;
          out.append((n + kTabWidth - 1) / kTabWidth, '\t');
        }
      }
      if (i + 1 < lines.size()) out += '\n';
    }
  }

  // Go's tabwriter.format: recursively find column blocks.
  void Format(size_t line0, size_t line1) {
    size_t column = widths.size();
    for (size_t cur = line0; cur < line1; ++cur) {
      if (column + 1 >= lines[cur].size()) continue;
      WriteLines(line0, cur);
      line0 = cur;
      size_t width = 0;
      for (; cur < line1; ++cur) {
        if (column + 1 >= lines[cur].size()) break;
        width = std::max(width, Utf8Width(lines[cur][column]) + kPadding);
      }
      widths.push_back(width);
      Format(line0, cur);
      widths.pop_back();
      line0 = cur;
      if (cur == line1) return;
      // `cur` is the first line outside the block; re-examine it in this column.
      --cur;
    }
    WriteLines(line0, line1);
  }
};

}  // namespace

void TabWriter::Write(const std::string& text) { buffer_ += text; }

std::string TabWriter::Flush() {
  std::vector<Line> lines;
  Line cur(1);
  for (char c : buffer_) {
    if (c == '\n') {
      lines.push_back(std::move(cur));
      cur = Line(1);
    } else if (c == '\t') {
      cur.emplace_back();
    } else {
      cur.back() += c;
    }
  }
  lines.push_back(std::move(cur));  // text after the last newline (usually empty)
  Formatter f{lines, {}, {}};
  f.Format(0, lines.size());
  buffer_.clear();
  return f.out;
}

}  // namespace stolon::ctl
