// Tests for nn::Module: registration, dotted names, traversal, train/eval, to(), zero_grad,
// state dicts and printing.
#include <sstream>

#include "helpers.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::values;
using cake::testing::names_of;

namespace {

// Two levels of nesting, a parameter and a buffer at each level, and a Sequential inside.
struct Block : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  Tensor scale, counter;
  Block() {
    fc = register_module("fc", std::make_shared<nn::Linear>(3, 2));
    scale = register_parameter("scale", ones({2}));
    counter = register_buffer("counter", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return fc->forward(x) * scale; }
};

struct Model : nn::Module {
  std::shared_ptr<Block> block;
  std::shared_ptr<nn::Sequential> head;
  Tensor bias;
  Model() {
    block = register_module("block", std::make_shared<Block>());
    head = register_module("head", std::make_shared<nn::Sequential>(std::make_shared<nn::ReLU>(),
                                                                     std::make_shared<nn::Linear>(2, 1)));
    bias = register_parameter("bias", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return head->forward(block->forward(x)) + bias; }
};

}  // namespace

TEST_CASE("named_parameters: dotted names, a module's own first, then its children's (PyTorch's order)") {
  Model model;
  const std::vector<std::string> expected{"bias", "block.scale", "block.fc.weight", "block.fc.bias", "head.1.weight",
                                          "head.1.bias"};
  CHECK(names_of(model.named_parameters()) == expected);
  CHECK(model.parameters().size() == 6);
  CHECK(names_of(model.named_parameters(/*recurse=*/false)) == std::vector<std::string>{"bias"});
  CHECK(names_of(model.named_buffers()) == std::vector<std::string>{"block.counter"});
  // state_dict: parameters then buffers.
  auto state = names_of(model.state_dict());
  CHECK(state.size() == 7);
  CHECK(state.back() == "block.counter");
  // children: direct submodules only.
  auto children = model.named_children();
  REQUIRE(children.size() == 2);
  CHECK(children[0].first == "block");
  CHECK(children[1].first == "head");
  CHECK(model.children()[0].get() == model.block.get());
  int visited = 0;
  model.apply([&](nn::Module&) { ++visited; });
  CHECK(visited == 6);  // Model, Block, Linear, Sequential, ReLU, Linear
}

TEST_CASE("registered parameters are the member tensors themselves") {
  Model model;
  for (const auto& [name, p] : model.named_parameters()) CHECK_MESSAGE(p.requires_grad(), name);
  CHECK(model.named_parameters()[2].second.is_same(model.block->fc->weight));
  {
    NoGradGuard no_grad;
    model.block->fc->weight.fill_(0.25);  // through the member ...
  }
  CHECK(values(model.parameters()[2]) == std::vector<double>(6, 0.25));  // ... seen by the registry
  // register_module returns the pointer it was given.
  nn::Sequential seq;
  auto relu = std::make_shared<nn::ReLU>();
  CHECK(seq.push_back(relu).get() == relu.get());
  nn::Module frozen;
  Tensor w = frozen.register_parameter("w", ones({2}), /*requires_grad=*/false);
  CHECK_FALSE(w.requires_grad());
}

TEST_CASE("registration errors name the module and the problem") {
  Block block;
  CHECK_THROWS_WITH_AS(block.register_parameter("scale", ones({1})), doctest::Contains("already used"), Error);
  CHECK_THROWS_WITH_AS(block.register_buffer("a.b", ones({1})), doctest::Contains("no '.'"), Error);
  Tensor leaf = ones({2}).requires_grad_();
  CHECK_THROWS_WITH_AS(block.register_parameter("derived", leaf * 2.0), doctest::Contains("leaf"), Error);
  CHECK_THROWS_WITH_AS(block.register_module("fc", std::make_shared<nn::ReLU>()), doctest::Contains("already used"),
                       Error);
  nn::Module plain;
  CHECK_THROWS_WITH_AS(plain.forward(ones({1})), doctest::Contains("has no forward"), Error);
}

TEST_CASE("train/eval propagate to every descendant and switch Dropout") {
  manual_seed(0);
  auto seq = std::make_shared<nn::Sequential>(std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Identity>());
  CHECK(seq->is_training());
  Tensor x = ones({1000});
  const auto trained = values(seq->forward(x));
  std::size_t zeros_seen = 0;
  for (double v : trained) {
    CHECK((v == 0.0 || v == 2.0));  // dropped, or kept and scaled by 1 / (1 - p)
    zeros_seen += v == 0.0;
  }
  CHECK(zeros_seen > 400);
  CHECK(zeros_seen < 600);
  seq->eval();
  CHECK_FALSE(seq->is_training());
  CHECK_FALSE((*seq)[0]->is_training());
  CHECK(values(seq->forward(x)) == values(x));
  seq->train();
  CHECK((*seq)[1]->is_training());
}

TEST_CASE("train/eval switch BatchNorm between batch and running statistics") {
  manual_seed(1);
  nn::BatchNorm1d bn(3);
  Tensor x = randn({16, 3}) * 2.0 + 5.0;
  Tensor y = bn.forward(x);
  // Training: normalised with the batch's own statistics.
  testing::check_close(y.mean({0}), zeros({3}), 1e-5, 1e-5);
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);
  bn.eval();
  Tensor y_eval = bn.forward(x);
  // Evaluation: the running statistics (one momentum step from 0 and 1), so not centred.
  Tensor expected = (x - bn.running_mean) / (bn.running_var + 1e-5).sqrt();
  testing::check_close(y_eval, expected, 1e-5, 1e-5);
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);  // evaluation does not count
}

TEST_CASE("to(dtype) converts floating parameters and buffers in place, and their gradients") {
  auto bn = std::make_shared<nn::BatchNorm2d>(2);
  auto fc = std::make_shared<nn::Linear>(2, 2);
  Tensor member = fc->weight;  // a handle held elsewhere, as an optimiser would
  (fc->forward(ones({1, 2}))).sum().backward();
  REQUIRE(fc->weight.grad().defined());
  fc->to(kFloat64);
  CHECK(fc->weight.dtype() == kFloat64);
  CHECK(member.dtype() == kFloat64);  // same TensorImpl, so every handle sees the move
  CHECK(fc->weight.grad().dtype() == kFloat64);
  CHECK(fc->weight.requires_grad());
  CHECK(fc->weight.is_leaf());
  bn->to(kFloat64);
  CHECK(bn->running_mean.dtype() == kFloat64);
  CHECK(bn->num_batches_tracked.dtype() == kInt64);  // integers stay integers
  CHECK(bn->weight.dtype() == kFloat64);
  CHECK_THROWS_AS(fc->to(kInt64), Error);
  // The moved parameters still train: a forward/backward in float64 works.
  fc->zero_grad();
  fc->forward(ones({1, 2}, kFloat64)).sum().backward();
  CHECK(fc->weight.grad().dtype() == kFloat64);
  fc->to(Device::cpu(), kFloat32);
  CHECK(member.dtype() == kFloat32);
}

TEST_CASE("zero_grad drops or zeroes gradients") {
  nn::Linear fc(3, 2);
  fc.forward(ones({4, 3})).sum().backward();
  fc.zero_grad(/*set_to_none=*/false);
  REQUIRE(fc.weight.grad().defined());
  CHECK(values(fc.weight.grad()) == std::vector<double>(6, 0.0));
  fc.zero_grad();
  CHECK_FALSE(fc.weight.grad().defined());
  CHECK_FALSE(fc.bias.grad().defined());
}

TEST_CASE("load_state_dict copies values and refuses mismatches without touching the module") {
  Model a, b;
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : a.state_dict()) state[name] = t.detach().clone();
  b.load_state_dict(state);
  for (const auto& [name, t] : b.state_dict()) CHECK_MESSAGE(values(t) == values(state[name]), name);

  Model c;
  const auto before = values(c.block->fc->weight);
  auto wrong_shape = state;
  wrong_shape["head.1.weight"] = zeros({3, 3});
  wrong_shape["block.fc.weight"] = zeros({2, 3});  // valid, but must not be copied either
  CHECK_THROWS_WITH_AS(c.load_state_dict(wrong_shape, true, "ckpt"),
                       doctest::Contains("'head.1.weight' has shape [1, 2] in the module but [3, 3] in ckpt"), Error);
  CHECK(values(c.block->fc->weight) == before);

  auto missing = state;
  missing.erase("bias");
  CHECK_THROWS_WITH_AS(c.load_state_dict(missing), doctest::Contains("'bias' in the module but not in"), Error);
  auto extra = state;
  extra["surprise"] = zeros({1});
  CHECK_THROWS_WITH_AS(c.load_state_dict(extra), doctest::Contains("'surprise' in state dict but not in the module"),
                       Error);
  c.load_state_dict(extra, /*strict=*/false);  // non-strict: loads what matches
  CHECK(values(c.bias) == values(state["bias"]));
}

TEST_CASE("printing shows the module tree") {
  Model model;
  std::ostringstream out;
  out << model;
  const std::string text = out.str();
  CHECK(text.find("Model(") == 0);
  CHECK(text.find("(block): Block(") != std::string::npos);
  CHECK(text.find("(fc): Linear(in_features=3, out_features=2, bias=true)") != std::string::npos);
  CHECK(text.find("(0): ReLU()") != std::string::npos);
  std::ostringstream conv;
  conv << nn::Conv2d(1, 4, 3, {.stride = 2, .padding = 1});
  CHECK(conv.str() == "Conv2d(1, 4, kernel_size=3, stride=2, padding=1)");
}
