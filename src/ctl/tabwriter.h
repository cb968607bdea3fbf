// A text table formatter with the semantics of Go's text/tabwriter as stolonctl uses it
// (minwidth 0, tabwidth 8, padding 1, padchar '\t'): tab-terminated cells in adjacent lines form a
// column; each column is padded with tabs to a multiple of 8 wide enough for its widest cell + 1.
// Cell width counts UTF-8 code points, as Go does.
#pragma once

#include <string>
#include <vector>

namespace stolon::ctl {

class TabWriter {
 public:
  // Appends text; lines are split on '\n' and cells on '\t'.
  void Write(const std::string& text);
  // Formats everything written so far and returns it (and clears the buffer).
  std::string Flush();

 private:
  std::string buffer_;
};

}  // namespace stolon::ctl
