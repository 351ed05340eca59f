// Tests for checkpoints (tensor/safetensors.h, nn/checkpoint.h, optimiser state): round trips,
// a file laid out by hand as Python's safetensors writes it, every malformed-file fault, the
// atomic write, and resuming training bit for bit.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "helpers.h"

using namespace cake;
namespace fs = std::filesystem;
using cake::testing::values;

namespace {

// A scratch directory for one test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("cake_checkpoint_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a header text and raw data, as Python's writer lays it out.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string padded = header;
  padded.append((8 - padded.size() % 8) % 8, ' ');
  std::uint64_t n = padded.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + padded + data;
}

std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// Checks that loading `path` throws a cake::Error mentioning the file and `fault`.
void check_load_fails(const std::string& path, const std::string& fault) {
  try {
    load_safetensors(path);
    FAIL_CHECK("loading did not fail; expected: ", fault);
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.find(path) != std::string::npos, message);
    CHECK_MESSAGE(message.find(fault) != std::string::npos, "expected '", fault, "' in: ", message);
  }
}

struct SmallNet : nn::Module {
  std::shared_ptr<nn::Linear> fc1, fc2;
  std::shared_ptr<nn::BatchNorm1d> bn;
  SmallNet() {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 8));
    bn = register_module("bn", std::make_shared<nn::BatchNorm1d>(8));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(8, 2));
  }
  Tensor forward(const Tensor& x) override { return fc2->forward(bn->forward(fc1->forward(x)).tanh()); }
};

void check_identical(const nn::Module& a, const nn::Module& b) {
  const auto sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (std::size_t i = 0; i < sa.size(); ++i) {
    CHECK(sa[i].first == sb[i].first);
    CHECK(sa[i].second.dtype() == sb[i].second.dtype());
    CHECK_MESSAGE(equal(sa[i].second, sb[i].second), sa[i].first);
  }
}

}  // namespace

TEST_CASE("a module round-trips through a file, parameters and buffers, bit for bit") {
  TempDir dir;
  manual_seed(0);
  SmallNet net;
  net.forward(randn({5, 4}));  // moves BatchNorm's running statistics and counter
  save(net, dir.file("net.safetensors"));
  SmallNet again;
  load(again, dir.file("net.safetensors"));
  check_identical(net, again);
  CHECK(again.bn->num_batches_tracked.item<std::int64_t>() == 1);
  CHECK(load_safetensors(dir.file("net.safetensors")).metadata.at("cake.module") == "SmallNet");
}

TEST_CASE("a map of tensors round-trips: every dtype, empty, 0-d and non-contiguous tensors, metadata") {
  TempDir dir;
  manual_seed(1);
  const Tensor matrix = randn({3, 4}, kFloat64);
  TensorMap tensors{{"f32", randn({2, 3})},
                    {"f64 transposed", matrix.t()},
                    {"i64", arange(5)},
                    {"u8", tensor({0.0, 7.0, 255.0}, {3}, kUInt8)},
                    {"bool", tensor({1.0, 0.0, 1.0}, {3}, kBool)},
                    {"empty", zeros({0, 3})},
                    {"scalar", full({}, 2.5, kFloat64)}};
  const std::string path = dir.file("tensors.safetensors");
  save_safetensors(path, tensors, {{"epoch", "7"}, {"note", "hello"}});
  const SafetensorsFile back = load_safetensors(path);
  REQUIRE(back.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor& loaded = back.tensors.at(name);
    CHECK_MESSAGE(loaded.sizes() == t.sizes(), name);
    CHECK_MESSAGE(equal(loaded, t.contiguous()), name);
  }
  CHECK(back.metadata == MetadataMap{{"epoch", "7"}, {"note", "hello"}});  // the checksum entry is internal
  // The short spellings.
  save(tensors, path);
  TensorMap loaded{{"stale", ones({1})}};
  load(loaded, path);
  CHECK(loaded.size() == tensors.size());
  CHECK(equal(load_tensors(path).at("i64"), arange(5)));
  CHECK_THROWS_WITH_AS(save_safetensors(path, tensors, {{kChecksumKey, "x"}}), doctest::Contains("reserved"), Error);
}

TEST_CASE("the file layout is safetensors': 8-byte length, aligned JSON header, data offsets, checksum") {
  TempDir dir;
  const std::string path = dir.file("layout.safetensors");
  save(TensorMap{{"b", tensor({1.0, 2.0}, {2}, kFloat64)}, {"a", tensor({3.0}, {1})}}, path);
  const std::string bytes = read_bytes(path);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);  // data starts 8-byte aligned
  REQUIRE(bytes.size() == 8 + n + 4 + 16);
  const std::string header = bytes.substr(8, n);
  CHECK(header.find(R"("a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]})") != std::string::npos);
  CHECK(header.find(R"("b":{"data_offsets":[4,20],"dtype":"F64","shape":[2]})") != std::string::npos);
  CHECK(header.find(kFileChecksumKey) != std::string::npos);
  float a = 0;
  std::memcpy(&a, bytes.data() + 8 + n, 4);
  CHECK(a == 3.0f);
  // The checksum is FNV-1a/64 of the header without its own entry (keys sorted, no spaces),
  // continued over the data section, as 16 hex digits.
  const std::string canonical =
      R"({"__metadata__":{},"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},"b":{"data_offsets":[4,20],"dtype":"F64","shape":[2]}})";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(fnv1a64(bytes.data() + 8 + n, bytes.size() - 8 - n,
                                                        fnv1a64(canonical.data(), canonical.size()))));
  CHECK(header.find(std::string(kFileChecksumKey) + R"(":")" + hex) != std::string::npos);
  // FNV-1a/64 known answers (Fowler/Noll/Vo test vectors).
  CHECK(fnv1a64("", 0) == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
}

TEST_CASE("Python can read what Cake writes (json + struct, no safetensors package needed)") {
  TempDir dir;
  const std::string path = dir.file("py.safetensors");
  save(TensorMap{{"w", tensor({1.5, -2.0, 3.25, 0.0}, {2, 2})}, {"n", arange(3)}}, path);
  const std::string script = dir.file("read.py");
  write_bytes(script,
              "import json, struct, sys\n"
              "b = open(sys.argv[1], 'rb').read()\n"
              "n = struct.unpack('<Q', b[:8])[0]\n"
              "h = json.loads(b[8:8 + n])\n"
              "d = b[8 + n:]\n"
              "w = h['w']; s, e = w['data_offsets']\n"
              "assert w['dtype'] == 'F32' and w['shape'] == [2, 2]\n"
              "assert list(struct.unpack('<4f', d[s:e])) == [1.5, -2.0, 3.25, 0.0]\n"
              "m = h['n']; s, e = m['data_offsets']\n"
              "assert m['dtype'] == 'I64' and list(struct.unpack('<3q', d[s:e])) == [0, 1, 2]\n"
              "assert all(isinstance(v, str) for v in h['__metadata__'].values())\n");
  const int status = std::system(("python3 -S " + script + " " + path + " 2>&1").c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    MESSAGE("python3 not available: skipped");
    return;
  }
  CHECK(status == 0);
}

// The header of a file rewritten by `edit` (the length and padding follow), data unchanged.
void edit_header(const std::string& path, const std::function<void(std::string&)>& edit) {
  const std::string bytes = read_bytes(path);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  while (!header.empty() && header.back() == ' ') header.pop_back();
  edit(header);
  write_bytes(path, safetensors_bytes(header, bytes.substr(8 + n)));
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from, " not in ", text);
  text.replace(at, from.size(), to);
}

TEST_CASE("the checksum covers the header: edited metadata, swapped offsets or a changed shape are refused") {
  TempDir dir;
  const std::string path = dir.file("whole.safetensors");
  const TensorMap tensors{{"a", tensor({1.0, 2.0}, {2})}, {"b", tensor({3.0, 4.0}, {2})}};
  auto fresh = [&] { save_safetensors(path, tensors, {{"trainer.epoch", "2"}}); };

  fresh();
  edit_header(path, [](std::string& h) { replace_once(h, R"("trainer.epoch":"2")", R"("trainer.epoch":"100")"); });
  check_load_fails(path, "checksum mismatch");
  check_load_fails(path, "edited");

  fresh();  // two tensors of the same size trade places: every byte still "valid"
  edit_header(path, [](std::string& h) {
    replace_once(h, R"("a":{"data_offsets":[0,8])", R"("a":{"data_offsets":[@])");
    replace_once(h, R"("b":{"data_offsets":[8,16])", R"("b":{"data_offsets":[0,8])");
    replace_once(h, R"([@])", R"([8,16])");
  });
  check_load_fails(path, "checksum mismatch");

  fresh();  // the same bytes read as another shape
  edit_header(path, [](std::string& h) { replace_once(h, R"("shape":[2])", R"("shape":[1,2])"); });
  check_load_fails(path, "checksum mismatch");

  fresh();  // untouched, and re-serialised with other whitespace: still the same content
  edit_header(path, [](std::string& h) { replace_once(h, R"("trainer.epoch":"2")", R"("trainer.epoch" : "2")"); });
  const SafetensorsFile back = load_safetensors(path);
  CHECK(back.metadata == MetadataMap{{"trainer.epoch", "2"}});
  CHECK(values(back.tensors.at("b")) == std::vector<double>{3.0, 4.0});
  CHECK_THROWS_WITH_AS(save_safetensors(path, tensors, {{kFileChecksumKey, "0"}}), doctest::Contains("reserved"), Error);
}

TEST_CASE("files of older Cake versions (a data-only checksum) still load, and their data is still checked") {
  TempDir dir;
  const std::string data = float_bytes({1.0f, 2.0f});
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(data.data(), data.size())));
  const std::string header = std::string(R"({"__metadata__":{"checksum.fnv1a64":")") + hex +
                             R"(","note":"old"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_bytes(dir.file("old.safetensors"), safetensors_bytes(header, data));
  const SafetensorsFile old = load_safetensors(dir.file("old.safetensors"));
  CHECK(old.metadata == MetadataMap{{"note", "old"}});
  CHECK(values(old.tensors.at("w")) == std::vector<double>{1.0, 2.0});
  write_bytes(dir.file("old_bad.safetensors"), safetensors_bytes(header, float_bytes({1.0f, 3.0f})));
  check_load_fails(dir.file("old_bad.safetensors"), "checksum mismatch");
}

TEST_CASE("remove_stale_temporaries removes what a killed save left, and nothing else") {
  TempDir dir;
  const std::string path = dir.file("checkpoint.safetensors");
  save(TensorMap{{"w", tensor({1.0}, {1})}}, path);
  write_bytes(dir.file(".checkpoint.safetensors.tmp-a1B2c3"), std::string(4096, 'x'));  // a killed save
  write_bytes(dir.file(".checkpoint.safetensors.tmp-notes.txt"), "mine");                // not mkstemp's
  write_bytes(dir.file(".other.safetensors.tmp-a1B2c3"), "another file's");
  CHECK(remove_stale_temporaries(path) == 1);
  CHECK_FALSE(fs::exists(dir.file(".checkpoint.safetensors.tmp-a1B2c3")));
  CHECK(fs::exists(dir.file(".checkpoint.safetensors.tmp-notes.txt")));
  CHECK(fs::exists(dir.file(".other.safetensors.tmp-a1B2c3")));
  CHECK(fs::exists(path));
}

TEST_CASE("a file written by hand in Python's layout (no checksum, metadata, padding) loads") {
  TempDir dir;
  const std::string path = dir.file("python.safetensors");
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("mask":{"dtype":"BOOL","shape":[2],"data_offsets":[16,18]}})";
  write_bytes(path, safetensors_bytes(header, float_bytes({1.0f, 2.0f, 3.0f, 4.0f}) + std::string("\x01\x00", 2)));
  const SafetensorsFile file = load_safetensors(path);
  CHECK(file.metadata.at("format") == "pt");
  CHECK(values(file.tensors.at("weight")) == std::vector<double>{1, 2, 3, 4});
  CHECK(file.tensors.at("weight").sizes() == Shape{2, 2});
  CHECK(file.tensors.at("mask").dtype() == kBool);
  CHECK(values(file.tensors.at("mask")) == std::vector<double>{1, 0});
}

TEST_CASE("malformed files give a cake::Error naming the file and the fault") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  save(TensorMap{{"w", tensor({1.0, 2.0, 3.0, 4.0}, {4})}}, good);
  const std::string bytes = read_bytes(good);
  const std::string bad = dir.file("bad.safetensors");
  auto bad_header = [&](const std::string& header, const std::string& data) {
    write_bytes(bad, safetensors_bytes(header, data));
  };
  const std::string eight = float_bytes({1.0f, 2.0f});

  SUBCASE("truncated inside the data") {
    write_bytes(bad, bytes.substr(0, bytes.size() - 3));
    check_load_fails(bad, "outside the data section");
  }
  SUBCASE("truncated inside the length") {
    write_bytes(bad, bytes.substr(0, 5));
    check_load_fails(bad, "fewer than the 8-byte header length");
  }
  SUBCASE("header length larger than the file") {
    std::string b = bytes;
    const std::uint64_t huge = 1ull << 40;
    std::memcpy(b.data(), &huge, 8);
    write_bytes(bad, b);
    check_load_fails(bad, "header length 1099511627776 exceeds");
  }
  SUBCASE("offsets out of bounds") {
    bad_header(R"({"w":{"dtype":"F32","shape":[200],"data_offsets":[0,800]}})", eight);
    check_load_fails(bad, "lie outside the data section of 8 bytes");
  }
  SUBCASE("wrong dtype string") {
    bad_header(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,8]}})", eight);
    check_load_fails(bad, "unsupported dtype \"F8_E4M3\"");
  }
  SUBCASE("size inconsistent with dtype and shape") {
    bad_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight);
    check_load_fails(bad, "hold 8 bytes but dtype F32 with shape [3] needs 12");
  }
  SUBCASE("overlapping tensors") {
    bad_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               eight);
    check_load_fails(bad, "overlap");
  }
  SUBCASE("bytes owned by no tensor") {
    bad_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight);
    check_load_fails(bad, "belong to no tensor");
  }
  SUBCASE("negative shape") {
    bad_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight);
    check_load_fails(bad, "non-negative integer");
  }
  SUBCASE("not JSON") {
    bad_header(R"({"w": [1, 2)", eight);
    check_load_fails(bad, "not valid JSON");
  }
  SUBCASE("duplicate names") {
    bad_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
               eight);
    check_load_fails(bad, "names 'w' twice");
  }
  SUBCASE("invalid boolean byte") {
    bad_header(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", std::string("\x01\x02", 2));
    check_load_fails(bad, "holds the byte 2");
  }
  SUBCASE("checksum mismatch: one flipped data bit") {
    std::string b = bytes;
    b[b.size() - 1] ^= 0x01;
    write_bytes(bad, b);
    check_load_fails(bad, "checksum mismatch");
  }
  SUBCASE("missing file") { check_load_fails(dir.file("nope.safetensors"), "cannot open"); }
}

TEST_CASE("loading into a module with other names or shapes names both sides and the file") {
  TempDir dir;
  const std::string path = dir.file("linear.safetensors");
  nn::Linear small(4, 2);
  save(small, path);
  nn::Linear wide(5, 2);
  CHECK_THROWS_WITH_AS(load(wide, path),
                       doctest::Contains(("'weight' has shape [2, 5] in the module but [2, 4] in '" + path + "'").c_str()), Error);
  nn::Linear no_bias(4, 2, /*bias=*/false);
  CHECK_THROWS_WITH_AS(load(no_bias, path), doctest::Contains(("'bias' in '" + path + "' but not in the module").c_str()), Error);
  nn::Sequential seq(std::make_shared<nn::Linear>(4, 2));
  CHECK_THROWS_WITH_AS(load(seq, path), doctest::Contains("'0.weight', '0.bias' in the module but not in"), Error);
}

TEST_CASE("saving is atomic: a failed write leaves the previous file intact and no temporary behind") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  nn::Linear old_model(2, 2);
  save(old_model, path);
  const std::string old_bytes = read_bytes(path);

  // Make the next write fail part-way: cap the size of any file this process writes (works for
  // root too, unlike permissions), and ignore the signal the kernel would send.
  nn::Linear big_model(256, 256);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit capped = saved;
  capped.rlim_cur = 64 * 1024;  // far below the ~260 KB the big model needs
  auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &capped) == 0);
  bool threw = false;
  try {
    save(big_model, path);
  } catch (const Error& e) {
    threw = true;
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(std::string(e.what()).find("write failed") != std::string::npos);
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  CHECK(threw);
  CHECK(read_bytes(path) == old_bytes);  // the old checkpoint survives, byte for byte
  nn::Linear reloaded(2, 2);
  load(reloaded, path);
  check_identical(reloaded, old_model);
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) {
    ++files;
    CHECK_MESSAGE(entry.path().filename() == "model.safetensors", "left behind: ", entry.path());
  }
  CHECK(files == 1);

  // A successful save replaces the file; a directory that does not exist is a clear error.
  save(big_model, path);
  nn::Linear big_again(256, 256);
  load(big_again, path);
  check_identical(big_again, big_model);
  CHECK_THROWS_WITH_AS(save(old_model, dir.file("missing/dir/model.safetensors")),
                       doctest::Contains("cannot create a temporary file"), Error);
}

// ---- optimiser state -----------------------------------------------------------------------------

namespace {

// Trains `steps` steps on fixed data (no randomness inside the loop).
void train_steps(SmallNet& net, optim::Optimizer& opt, int steps) {
  const Tensor x = linspace(-1.0, 1.0, 24).view({6, 4});
  const Tensor y = linspace(0.5, -0.5, 12).view({6, 2});
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    nn::functional::mse_loss(net.forward(x), y).backward();
    opt.step();
  }
}

template <class Optimizer, class Options>
void check_resume(const Options& options, const std::string& label) {
  INFO("optimiser: ", label);
  TempDir dir;
  manual_seed(5);
  SmallNet net;
  Optimizer opt(net.parameters(), options);
  optim::StepLR schedule(opt, 1, 0.5);  // changes lr, which must be restored too
  train_steps(net, opt, 3);
  schedule.step();
  save(net, dir.file("net.safetensors"));
  save(opt, dir.file("opt.safetensors"));
  train_steps(net, opt, 2);  // the uninterrupted run

  SmallNet resumed;  // fresh, differently initialised, then loaded
  Optimizer resumed_opt(resumed.parameters(), Options{});
  load(resumed, dir.file("net.safetensors"));
  load(resumed_opt, dir.file("opt.safetensors"));
  CHECK(resumed_opt.lr() == opt.lr());
  train_steps(resumed, resumed_opt, 2);
  check_identical(resumed, net);  // bit for bit
  for (std::size_t i = 0; i < net.parameters().size(); ++i) {
    CHECK(resumed_opt.state(i).step == opt.state(i).step);
    for (const auto& [name, t] : opt.state(i).tensors) CHECK_MESSAGE(equal(resumed_opt.state(i).tensors.at(name), t), name);
  }
}

}  // namespace

TEST_CASE("optimiser state round-trips: train 3, save, train 2 == load, train 2 (bit-identical)") {
  check_resume<optim::SGD>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true}, "SGD");
  check_resume<optim::Adam>(optim::AdamOptions{.lr = 0.01, .weight_decay = 1e-5, .amsgrad = true}, "Adam");
  check_resume<optim::AdamW>(optim::AdamWOptions{.lr = 0.01}, "AdamW");
  check_resume<optim::RMSprop>(optim::RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true}, "RMSprop");
  check_resume<optim::Adagrad>(optim::AdagradOptions{.lr = 0.1, .lr_decay = 0.01}, "Adagrad");
}

TEST_CASE("optimiser state from another optimiser or other parameters is refused") {
  TempDir dir;
  SmallNet net;
  optim::Adam adam(net.parameters());
  train_steps(net, adam, 1);
  const std::string path = dir.file("adam.safetensors");
  save(adam, path);
  optim::SGD sgd(net.parameters());
  CHECK_THROWS_WITH_AS(load(sgd, path), doctest::Contains("holds the state of a Adam optimiser"), Error);
  optim::Adam fewer(net.fc1->parameters());
  CHECK_THROWS_WITH_AS(load(fewer, path), doctest::Contains("has 6 parameters but this optimiser has 2"), Error);
  // Same count, other shapes: the state of parameter 0 (fc1.weight [8, 4]) against fc2.weight.
  std::vector<Tensor> swapped = net.parameters();
  std::swap(swapped[0], swapped[4]);
  optim::Adam reordered(swapped);
  CHECK_THROWS_WITH_AS(load(reordered, path), doctest::Contains("'state.0.exp_avg' has shape [8, 4] but parameter 0 has shape [2, 8]"),
                       Error);
}
