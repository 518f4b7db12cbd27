// Keeps the documentation's code true: every ```cpp block of README.md and docs/*.md is compiled
// against the public headers, and every ```cpp signature block must still be found, word for
// word (whitespace aside), in a public header.
//
// The rules a block is held to (docs/README-level conventions, stated in docs/api.md):
//   - a block with `main(` is a whole program and is compiled exactly as written;
//   - any other block is a fragment: it is compiled as the body of a main(), its #include lines
//     moved to file scope;
//   - a block with no #include line gets the pages' stated prelude: <childproc/childproc.hpp>,
//     <iostream>, <string>, `using namespace std::chrono_literals;` and
//     `namespace json = childproc::json;`. A block with its own #include gets nothing: it must be
//     complete, as a reader would paste it.
// Compiler errors point into the Markdown file (#line), so a failure names the page and line.
//
// The compilers are started with the library itself, two at a time.
#include <childproc/childproc.hpp>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Block {
  std::string page;    // the Markdown file
  int first_line = 0;  // 1-based line of the block's first code line
  std::vector<std::string> lines;
  bool signature = false;
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<Block> blocks_of(const std::string& page) {
  std::ifstream in(page);
  std::vector<Block> out;
  std::string line;
  int n = 0;
  bool in_fence = false;  // inside any fenced block
  Block* cpp = nullptr;   // the C++ block being read, if the fence is one
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (in_fence) {
      if (t == "```") {
        in_fence = false;
        cpp = nullptr;
      } else if (cpp != nullptr) {
        cpp->lines.push_back(line);
      }
      continue;
    }
    if (t.rfind("```", 0) != 0) continue;
    in_fence = true;
    std::istringstream info(t.substr(3));
    std::string lang, kind;
    info >> lang >> kind;
    if (lang == "cpp" || lang == "c++") {
      out.push_back({page, n + 1, {}, kind == "signature"});
      cpp = &out.back();
    }
  }
  return out;
}

std::string squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// A signature block's declarations (split at ';'), each of which a header must contain.
std::vector<std::string> missing_declarations(const Block& b, const std::string& headers) {
  std::string text;
  for (const auto& l : b.lines)
    text += l + "\n";
  std::vector<std::string> missing;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size() - 1;
    std::string decl = squeeze(text.substr(start, end - start + 1));
    if (!decl.empty() && headers.find(decl) == std::string::npos) missing.push_back(decl);
    start = end + 1;
  }
  return missing;
}

std::string translation_unit(const Block& b) {
  static const std::regex has_main(R"(\bmain\s*\()");
  bool whole = false, has_include = false;
  for (const auto& l : b.lines) {
    whole = whole || std::regex_search(l, has_main);
    has_include = has_include || trim(l).rfind("#include", 0) == 0;
  }
  std::ostringstream tu;
  if (!has_include)
    tu << "#include <childproc/childproc.hpp>\n#include <iostream>\n#include <string>\n"
          "using namespace std::chrono_literals;\nnamespace json = childproc::json;\n";
  if (whole) {
    tu << "#line " << b.first_line << " \"" << b.page << "\"\n";
    for (const auto& l : b.lines)
      tu << l << "\n";
    return tu.str();
  }
  for (std::size_t i = 0; i < b.lines.size(); ++i)
    if (trim(b.lines[i]).rfind("#include", 0) == 0)
      tu << "#line " << b.first_line + static_cast<int>(i) << " \"" << b.page << "\"\n"
         << b.lines[i] << "\n";
  tu << "int main() {\n#line " << b.first_line << " \"" << b.page << "\"\n";
  for (const auto& l : b.lines)
    tu << (trim(l).rfind("#include", 0) == 0 ? std::string() : l) << "\n";
  tu << "}\n";
  return tu.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: doc_snippets <c++ compiler> <include dir> <work dir> <page.md>...\n";
    return 2;
  }
  const std::string compiler = argv[1];
  const std::filesystem::path include_dir = argv[2];
  const std::filesystem::path work = argv[3];
  std::filesystem::create_directories(work);

  std::string headers;
  for (const auto& entry : std::filesystem::directory_iterator(include_dir / "childproc")) {
    std::ifstream in(entry.path());
    headers += squeeze(std::string(std::istreambuf_iterator<char>(in), {})) + " ";
  }

  int failed = 0, compiled = 0, signatures = 0;
  std::deque<std::pair<std::string, std::filesystem::path>> to_compile;  // label, file
  for (int i = 4; i < argc; ++i) {
    for (const Block& b : blocks_of(argv[i])) {
      std::string label = b.page + ":" + std::to_string(b.first_line - 1);
      if (b.signature) {
        auto missing = missing_declarations(b, headers);
        for (const auto& decl : missing)
          std::cout << label << ": signature not found in any public header: " << decl << "\n";
        ++(missing.empty() ? signatures : failed);
        continue;
      }
      auto file = work / ("snippet_" + std::to_string(to_compile.size()) + ".cpp");
      std::ofstream(file) << translation_unit(b);
      to_compile.emplace_back(label, file);
    }
  }

  // Two compilers at a time, each started as its predecessor closes.
  childproc::Loop loop;
  std::function<void()> start_next = [&] {
    if (to_compile.empty()) return;
    auto [label, file] = to_compile.front();
    to_compile.pop_front();
    childproc::exec_file(
        compiler, {"-std=c++20", "-fsyntax-only", "-I", include_dir.string(), file.string()},
        {.max_buffer = childproc::kUnlimited},
        [&, label = label](const std::optional<childproc::ExecError>& error, std::string,
                           std::string err) {
          if (error) {
            ++failed;
            std::cout << label << ": does not compile\n" << err << "\n";
          } else {
            ++compiled;
            std::cout << label << ": compiles\n";
          }
          start_next();
        },
        loop);
  };
  start_next();
  start_next();
  loop.run();

  std::cout << "docs: " << compiled << " snippets compiled, " << signatures
            << " signature blocks found in the headers, " << failed << " blocks wrong\n";
  return failed == 0 && compiled > 0 ? 0 : 1;
}
