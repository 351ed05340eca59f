// A bounded-time fuzz test of the file readers (npy, IDX raw and gzip, CSV): random bytes and
// random truncations, byte flips, insertions, deletions and splices of valid files. Every
// input must either load or throw cake::Error: any other exception fails the test, and a
// crash or out-of-bounds read kills it (run it under CAKE_SANITIZE=ON to see the latter).
//
// Each format gets about 2 seconds (CAKE_FUZZ_SECONDS overrides, e.g. 60 for a long run); the
// mutation stream is seeded, so a failure names the iteration that reproduces it.
#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>

#include "cake/data/csv.h"
#include "cake/data/idx.h"
#include "cake/data/npy.h"
#include "helpers.h"
#include "test_files.h"

using namespace cake;

namespace {

double seconds_per_format() {
  const char* env = std::getenv("CAKE_FUZZ_SECONDS");
  return env ? std::atof(env) : 2.0;
}

// Applies 1-3 random edits to a valid file.
std::string mutate(std::string bytes, std::mt19937_64& gen, const std::string& alphabet) {
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(gen() % std::max<std::size_t>(n, 1)); };
  auto random_byte = [&]() -> char {
    return gen() % 2 ? alphabet[pick(alphabet.size())] : static_cast<char>(gen() & 0xff);
  };
  const int edits = 1 + static_cast<int>(gen() % 3);
  for (int e = 0; e < edits; ++e) {
    switch (gen() % 6) {
      case 0: bytes.resize(pick(bytes.size() + 1)); break;  // truncate
      case 1:                                               // flip bits of a few bytes
        for (int k = 0, n = 1 + static_cast<int>(gen() % 8); k < n && !bytes.empty(); ++k)
          bytes[pick(bytes.size())] ^= static_cast<char>(1 << (gen() % 8));
        break;
      case 2: bytes.insert(pick(bytes.size() + 1), 1 + pick(16), random_byte()); break;  // insert
      case 3:                                                                             // delete a run
        if (!bytes.empty()) {
          const std::size_t at = pick(bytes.size());
          bytes.erase(at, 1 + pick(std::min<std::size_t>(32, bytes.size() - at)));
        }
        break;
      case 4:  // overwrite a run with random bytes
        for (std::size_t k = 0, at = pick(bytes.size()), n = 1 + pick(24); k < n && at + k < bytes.size(); ++k)
          bytes[at + k] = random_byte();
        break;
      default:  // splice: the head of this file and the tail of a shifted copy of itself
        if (bytes.size() > 2) {
          const std::size_t cut = pick(bytes.size());
          bytes = bytes.substr(0, cut) + bytes.substr(pick(bytes.size()));
        }
        break;
    }
  }
  return bytes;
}

std::string random_bytes(std::mt19937_64& gen, const std::string& prefix) {
  std::string bytes = prefix;
  const std::size_t n = gen() % 300;
  for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(gen() & 0xff));
  return bytes;
}

struct FuzzStats {
  std::int64_t runs = 0, loaded = 0, refused = 0;
};

// Feeds mutated seeds (and sometimes pure noise behind `magic`) to `read` for the time budget.
FuzzStats fuzz(const std::string& name, const std::vector<std::string>& seeds, const std::string& magic,
               const std::string& alphabet, const std::function<void(const std::filesystem::path&, std::mt19937_64&)>& read) {
  testing::ScratchDir dir("cake_fuzz_" + name);
  const auto path = dir / ("input." + name);
  std::mt19937_64 gen(20240601);
  FuzzStats stats;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds_per_format());
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string bytes = gen() % 8 == 0 ? random_bytes(gen, gen() % 2 ? magic : "")
                                             : mutate(seeds[gen() % seeds.size()], gen, alphabet);
    testing::write_bytes(path, bytes);
    try {
      read(path, gen);
      ++stats.loaded;
    } catch (const Error&) {
      ++stats.refused;
    } catch (const std::exception& e) {
      FAIL("run ", stats.runs, " of the ", name, " fuzzer: ", typeid(e).name(), " escaped instead of cake::Error: ",
           e.what());
    }
    ++stats.runs;
  }
  MESSAGE(name, ": ", stats.runs, " inputs, ", stats.loaded, " loaded, ", stats.refused, " refused");
  return stats;
}

}  // namespace

TEST_CASE("fuzz: the .npy reader loads or throws cake::Error, nothing else") {
  testing::ScratchDir seeds_dir("cake_fuzz_npy_seeds");
  manual_seed(0);
  std::vector<std::string> seeds;
  const std::vector<Tensor> tensors = {randn({3, 4}), randn({2, 2, 2}, kFloat64), randint(-50, 50, {6}),
                                       randint(0, 256, {4, 3}, kUInt8), rand({5}) > 0.5, full({}, 1.0)};
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto path = seeds_dir / ("seed" + std::to_string(i) + ".npy");
    data::write_npy(path, tensors[i]);
    seeds.push_back(testing::read_bytes(path));
  }
  for (const char* fixture : {"v2_f4.npy", "v3_f4.npy", "i4_2x2.npy", "fortran.npy", "big_endian.npy"})
    seeds.push_back(testing::read_bytes(testing::fixture_dir() / fixture));
  const FuzzStats stats =
      fuzz("npy", seeds, "\x93NUMPY\x01", "{}()[]'\":, 0123456789<|>fiubTrueFalsdcpoh\n",
           [](const std::filesystem::path& p, std::mt19937_64& gen) { data::read_npy(p, {.allow_nan = gen() % 2 == 0}); });
  CHECK(stats.loaded > 0);  // mutations inside the data leave loadable files: the fuzzer got past the header
  CHECK(stats.refused > 0);
}

TEST_CASE("fuzz: the IDX reader (raw and gzip) loads or throws cake::Error, nothing else") {
  testing::ScratchDir seeds_dir("cake_fuzz_idx_seeds");
  manual_seed(1);
  std::vector<std::string> seeds;
  const std::vector<Tensor> tensors = {randint(0, 256, {3, 5, 4}, kUInt8), randint(0, 10, {7}), randn({2, 3}),
                                       randn({4}, kFloat64)};
  for (std::size_t i = 0; i < tensors.size(); ++i)
    for (bool gzip : {false, true}) {
      const auto path = seeds_dir / ("seed" + std::to_string(i) + (gzip ? ".gz" : ""));
      data::write_idx(path, tensors[i], gzip);
      seeds.push_back(testing::read_bytes(path));
    }
  const FuzzStats stats = fuzz("idx", seeds, std::string("\0\0\x08\x03", 4), std::string("\0\x01\x08\x0c\x0d\x1f\x8b", 7),
                               [](const std::filesystem::path& p, std::mt19937_64&) { data::read_idx(p); });
  CHECK(stats.loaded > 0);
  CHECK(stats.refused > 0);
}

TEST_CASE("fuzz: the CSV reader loads or throws cake::Error, nothing else") {
  const std::vector<std::string> seeds = {
      "a,b,label\n1.5,2,0\n-3e2,4,1\n5,nan,2\n",
      "1,2,3\r\n4,5,6\r\n",
      "# comment\n\"x, y\",\"q\"\"uote\",class\n1,2,setosa\n3,4,virginica\n\n",
      "\xEF\xBB\xBFh1;h2\n0.25;-1\n",
      "x\ty\n1\t2\n",
  };
  const FuzzStats stats = fuzz("csv", seeds, "a,b\n", "0123456789,.;\"#\n\r\t -+eEnaifINF\xEF\xBB\xBF",
                               [](const std::filesystem::path& p, std::mt19937_64& gen) {
                                 data::CsvOptions options;
                                 options.delimiter = gen() % 4 == 0 ? ';' : ',';
                                 if (gen() % 3 == 0) options.header = gen() % 2 == 0;
                                 if (gen() % 3 == 0) options.label_index = static_cast<std::int64_t>(gen() % 7) - 3;
                                 else if (gen() % 4 == 0) options.label_name = "label";
                                 options.allow_nan = gen() % 2 == 0;
                                 data::read_csv(p, options);
                               });
  CHECK(stats.loaded > 0);
  CHECK(stats.refused > 0);
}
