// extract_examples: turns documentation into programs, so that examples are compiled (and the
// tour is run) by the test suite and cannot drift from the library.
//
//   extract_examples markdown docs/tour.md tour out.cpp
//       concatenates, in order, every fenced block opened by "```cpp tour" in docs/tour.md;
//   extract_examples headers out.cpp nn/module.h nn/options.h ...
//       takes each header's usage example and wraps it in a function of its own.
//
// The header convention: a header opens with a comment; inside it, the first run of
// consecutive lines written "//   code" (two slashes and three spaces) is the usage example
// (later indented lines, in notes, are prose). The example must be
// self-contained (declare what it uses), since it is compiled as a function body after
// #include <cake/cake.h>. Lines starting "//   #" (e.g. a "# Python:" aside) are skipped.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("extract_examples: cannot open '" + path + "'");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string markdown_blocks(const std::string& path, const std::string& tag) {
  std::ostringstream out;
  out << "// Extracted from " << path << " (blocks marked cpp " << tag << "); do not edit.\n";
  bool inside = false;
  int blocks = 0;
  for (const std::string& line : read_lines(path)) {
    if (!inside && line == "```cpp " + tag) {
      inside = true;
      ++blocks;
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside) {
      out << line << "\n";
    }
  }
  if (inside) throw std::runtime_error("extract_examples: '" + path + "' ends inside a ```cpp " + tag + " block");
  if (blocks == 0) throw std::runtime_error("extract_examples: '" + path + "' has no ```cpp " + tag + " block");
  return out.str();
}

std::string header_examples(const std::vector<std::string>& headers) {
  std::ostringstream out;
  out << "// The usage examples of Cake's headers, extracted by tests/docs/extract_examples.cpp.\n"
      << "#include <cake/cake.h>\n\n#include <iostream>\n\n";
  int index = 0;
  for (const std::string& path : headers) {
    out << "// ---- " << path << "\nnamespace example_" << index << " {\n[[maybe_unused]] void run() {\n";
    int lines = 0;
    for (const std::string& line : read_lines(path)) {
      if (line.rfind("//", 0) != 0) break;  // the opening comment has ended
      if (line.rfind("//   ", 0) != 0) {
        if (lines > 0) break;  // the example's run of lines has ended
        continue;
      }
      if (line.rfind("//   #", 0) == 0) continue;
      out << "  " << line.substr(5) << "\n";
      ++lines;
    }
    if (lines == 0) throw std::runtime_error("extract_examples: '" + path + "' has no usage example (\"//   code\")");
    out << "}\n}  // namespace example_" << index++ << "\n\n";
  }
  out << "int main() {}\n";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    std::string text, output;
    if (args.size() == 4 && args[0] == "markdown") {
      text = markdown_blocks(args[1], args[2]);
      output = args[3];
    } else if (args.size() >= 3 && args[0] == "headers") {
      output = args[1];
      text = header_examples(std::vector<std::string>(args.begin() + 2, args.end()));
    } else {
      std::cerr << "usage: extract_examples markdown FILE.md TAG OUT.cpp | headers OUT.cpp HEADER...\n";
      return 2;
    }
    std::ofstream(output) << text;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
