// extract_examples: turns documentation into programs, so that examples are compiled (and the
// tour is run) by the test suite and cannot drift from the library.
//
//   extract_examples markdown docs/tour.md tour out.cpp
//       concatenates, in order, every fenced block opened by "```cpp tour" in docs/tour.md;
//   extract_examples headers ROOT tests/docs/example_inputs out.cpp nn/module.h nn/linear.h ...
//       takes the usage example of each header (a path under the source root ROOT) and wraps it
//       in a function of its own, after the header's inputs (below).
//
// The header convention: a header opens with a comment; inside it, the first run of
// consecutive lines written "//   code" (two slashes and three spaces) is the usage example
// (later indented lines, in notes, are prose). Lines starting "//   #" (e.g. a "# Python:"
// aside) are skipped. The example is compiled as the body of a function that is never called,
// after #include <cake/cake.h> and an #include of the header itself (so headers that cake.h
// leaves out, such as tensor/blas.h, are covered too).
//
// An example should read as what a student would write. When it uses values it does not make
// itself (the data X, a model `net`, a batch), they are declared in the header's *inputs file*
// rather than in the header, which stays short:
//
//   tests/docs/example_inputs/<header path, "/" written "__">.inc, e.g. nn__linear.h.inc:
//     cake::Tensor x = cake::randn({8, 1, 28, 28});   // declarations, put before the example
//     #include "cake/tensor/native/elementwise.h"     // #include lines go to the file's top
//     // @example                                     // optional: lines below it go *after*
//     // @namespace-scope                             // the example defines functions or
//                                                     // registers kernels: put it (and the
//                                                     // inputs) in namespace cake::example_<n>
//
// The two markers stand alone on their lines. A header with no inputs file must have a
// self-contained example; an inputs file that matches no header given is an error (a renamed
// header would otherwise lose its inputs silently). Since the functions never run, inputs only
// need the right types (a file name that does not exist is fine).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <set>
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

// An inputs file split into its parts (see the opening comment).
struct Inputs {
  std::vector<std::string> includes, before, after;
  bool namespace_scope = false;
};

Inputs read_inputs(const std::string& path) {
  Inputs inputs;
  std::ifstream probe(path);
  if (!probe) return inputs;  // no inputs file: the example declares all it uses
  bool past_example = false;
  for (const std::string& line : read_lines(path)) {
    if (line.rfind("#include", 0) == 0) {
      inputs.includes.push_back(line);
    } else if (line == "// @namespace-scope") {
      inputs.namespace_scope = true;
    } else if (line == "// @example") {
      if (past_example) throw std::runtime_error("extract_examples: '" + path + "' has two '// @example' lines");
      past_example = true;
    } else {
      (past_example ? inputs.after : inputs.before).push_back(line);
    }
  }
  return inputs;
}

// The "//   code" lines of `path`'s opening comment, without the "//   ".
std::vector<std::string> usage_example(const std::string& path) {
  std::vector<std::string> example;
  for (const std::string& line : read_lines(path)) {
    if (line.rfind("//", 0) != 0) break;  // the opening comment has ended
    if (line.rfind("//   ", 0) != 0) {
      if (!example.empty()) break;  // the example's run of lines has ended
      continue;
    }
    if (line.rfind("//   #", 0) == 0) continue;
    example.push_back(line.substr(5));
  }
  if (example.empty()) throw std::runtime_error("extract_examples: '" + path + "' has no usage example (\"//   code\")");
  return example;
}

// tensor/tensor.h -> tensor__tensor.h.inc
std::string inputs_name(const std::string& header) {
  std::string name = header;
  for (std::size_t at = name.find('/'); at != std::string::npos; at = name.find('/', at + 2))
    name.replace(at, 1, "__");
  return name + ".inc";
}

std::string header_examples(const std::string& root, const std::string& inputs_dir,
                            const std::vector<std::string>& headers) {
  std::ostringstream includes, body;
  includes << "// The usage examples of Cake's headers, extracted by tests/docs/extract_examples.cpp.\n"
           << "#include <cake/cake.h>\n\n#include <cstdint>\n#include <iostream>\n#include <memory>\n"
           << "#include <string>\n#include <vector>\n\n";
  std::set<std::string> used;  // the inputs files that belong to a header
  int index = 0;
  for (const std::string& header : headers) {
    used.insert(inputs_name(header));
    const Inputs inputs = read_inputs(inputs_dir + "/" + inputs_name(header));
    includes << "#include \"cake/" << header << "\"\n";
    for (const std::string& line : inputs.includes) includes << line << "\n";
    const std::string indent = inputs.namespace_scope ? "" : "  ";
    body << "// ---- " << header << "\n";
    if (inputs.namespace_scope)
      body << "namespace cake::example_" << index << " {\n";
    else
      body << "namespace example_" << index << " {\n[[maybe_unused]] void run() {\n";
    for (const std::string& line : inputs.before) body << indent << line << "\n";
    for (const std::string& line : usage_example(root + "/" + header)) body << indent << line << "\n";
    for (const std::string& line : inputs.after) body << indent << line << "\n";
    if (!inputs.namespace_scope) body << "}\n";
    body << "}  // namespace example_" << index++ << "\n\n";
  }
  // An inputs file whose header was renamed or removed would silently stop being used.
  for (const auto& entry : std::filesystem::directory_iterator(inputs_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".inc" && !used.contains(name))
      throw std::runtime_error("extract_examples: inputs file '" + entry.path().string() +
                               "' belongs to no header given (renamed or removed?)");
  }
  body << "int main() {}\n";
  return includes.str() + "\n" + body.str();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    std::string text, output;
    if (args.size() == 4 && args[0] == "markdown") {
      text = markdown_blocks(args[1], args[2]);
      output = args[3];
    } else if (args.size() >= 5 && args[0] == "headers") {
      output = args[3];
      text = header_examples(args[1], args[2], std::vector<std::string>(args.begin() + 4, args.end()));
    } else {
      std::cerr << "usage: extract_examples markdown FILE.md TAG OUT.cpp | headers ROOT INPUTS_DIR OUT.cpp HEADER...\n";
      return 2;
    }
    std::ofstream(output) << text;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
