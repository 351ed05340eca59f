// Tests for nn::AnyModule and nn::AnyValue (nn/any_module.h): forward with one to six arguments
// on real modules (Linear, Sequential, MultiheadAttention, TransformerEncoder and
// TransformerDecoderLayer with masks, LSTM with its state, user modules with a two-tensor
// forward and with a (tensor, double) forward); forward<T> against any_forward's AnyValue;
// get<M>, ptr<M>, type_info; copies share, clone() is deep; the errors, by message.
#include "cake/nn/any_module.h"

#include <string>
#include <tuple>

#include "cake/nn/nn.h"
#include "helpers.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::contains;

namespace {

// A user's module whose forward takes two tensors (and no single-tensor form), cloneable.
struct GatedSumImpl : nn::Cloneable<GatedSumImpl> {
  nn::Linear gate{nullptr};
  GatedSumImpl() { reset(); }
  void reset() override { gate = register_module("gate", nn::Linear(3, 3)); }
  Tensor forward(const Tensor& a, const Tensor& b) { return a * gate(b).sigmoid() + b; }
};
CAKE_MODULE(GatedSum);

// A user's module with one forward of its own argument types: AnyModule reads them off it.
struct ScaledSoftmax : nn::Module {
  Tensor forward(const Tensor& x, double temperature) { return (x / temperature).softmax(-1); }
};

}  // namespace

TEST_CASE("AnyModule calls forward with one argument: Linear and Sequential, made from values and shared_ptrs") {
  manual_seed(1);
  auto linear = std::make_shared<nn::Linear>(4, 2);
  nn::AnyModule from_ptr(linear);
  const Tensor x = randn({3, 4});
  CHECK(equal(from_ptr.forward(x), linear->forward(x)));
  CHECK(equal(from_ptr.forward<Tensor>(x), linear->forward(x)));

  nn::Sequential seq(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  nn::AnyModule from_value(seq);  // seq becomes a handle to the heap layer, as register_module makes it
  CHECK(equal(from_value.forward(x), seq(x)));
  CHECK(from_value.ptr() == seq.ptr());
  CHECK(from_value.type_info() == typeid(nn::Sequential));
  CHECK(&from_value.get<nn::Sequential>() == seq.get());
  CHECK(from_value.ptr<nn::Sequential>()->size() == 3);
  CHECK_FALSE(from_value.is_empty());
}

TEST_CASE("AnyModule calls the overloaded forwards: MultiheadAttention, TransformerEncoder with masks, a decoder layer") {
  manual_seed(2);
  auto attention = std::make_shared<nn::MultiheadAttention>(nn::MultiheadAttentionOptions(8, 2));
  nn::AnyModule any_attention(attention);
  const Tensor q = randn({2, 3, 8}), kv = randn({2, 5, 8}), key_bias = randn({2, 5});
  CHECK(equal(any_attention.forward(q), attention->forward(q)));                       // self-attention
  CHECK(equal(any_attention.forward(q, kv, kv), attention->forward(q, kv, kv)));        // defaults filled in
  CHECK(equal(any_attention.forward(q, kv, kv, key_bias), attention->forward(q, kv, kv, key_bias)));

  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(
      nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(16).dropout(0.0)), 2));
  nn::AnyModule any_encoder(encoder);
  const Tensor src = randn({5, 3, 8}), causal = nn::Transformer::generate_square_subsequent_mask(5);
  const Tensor pad = tensor(std::vector<bool>{false, false, false, false, false, false, false, false, false, true, false,
                                              false, false, true, true},
                            {3, 5});  // rows 1 and 2 padded at the end
  CHECK(equal(any_encoder.forward(src), encoder(src)));
  CHECK(equal(any_encoder.forward(src, causal, pad), encoder->forward(src, causal, pad)));
  CHECK(equal(any_encoder.forward(src, Tensor(), pad), encoder->forward(src, {}, pad)));  // Tensor() for "none"

  nn::TransformerDecoderLayer decoder(nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(16).dropout(0.0));
  nn::AnyModule any_decoder(decoder);
  const Tensor tgt = randn({4, 3, 8}), tgt_causal = nn::Transformer::generate_square_subsequent_mask(4);
  CHECK(equal(any_decoder.forward(tgt, src, tgt_causal, Tensor(), Tensor(), pad),
              decoder->forward(tgt, src, tgt_causal, {}, {}, pad)));
}

TEST_CASE("AnyModule: user modules (a two-tensor forward, a forward of its own types) and the LSTM's state") {
  manual_seed(3);
  GatedSum gated;
  nn::AnyModule any_gated(gated);
  const Tensor a = randn({2, 3}), b = randn({2, 3});
  CHECK(equal(any_gated.forward(a, b), gated(a, b)));
  CHECK(any_gated.type_info() == typeid(GatedSumImpl));  // the module type, as libtorch's
  GatedSum back = any_gated.get<GatedSum>();              // a holder type gives a holder
  CHECK(back.ptr() == gated.ptr());

  nn::AnyModule softmax(std::make_shared<ScaledSoftmax>());
  check_close(softmax.forward(a, 2.0), (a / 2.0).softmax(-1), 0, 0);

  nn::LSTM lstm(nn::LSTMOptions(3, 4));
  nn::AnyModule any_lstm(lstm);
  const Tensor sequence = randn({5, 2, 3});
  using Output = std::tuple<Tensor, std::tuple<Tensor, Tensor>>;
  const auto [out, state] = any_lstm.forward<Output>(sequence);
  CHECK(equal(out, std::get<0>(lstm(sequence))));
  const auto [out2, state2] = any_lstm.forward<Output>(sequence, state);  // carry (h, c) on
  CHECK(equal(out2, std::get<0>(lstm->forward(sequence, state))));
}

TEST_CASE("AnyModule: forward<T> and any_forward's AnyValue hold the same result") {
  manual_seed(4);
  nn::AnyModule linear(nn::Linear(3, 2));
  const Tensor x = randn({4, 3});
  nn::AnyValue value = linear.any_forward(x);
  CHECK(value.type_info() == typeid(Tensor));
  CHECK(value.has_value());
  CHECK(equal(value.get<Tensor>(), linear.forward<Tensor>(x)));
  CHECK(value.try_get<double>() == nullptr);
  const nn::AnyValue& read_only = value;
  CHECK(read_only.get<Tensor>().sizes() == Shape{4, 2});
  CHECK(nn::AnyValue(2.5).get<double>() == 2.5);
  CHECK_FALSE(nn::AnyValue().has_value());
}

TEST_CASE("AnyModule: copies share the module; clone() copies parameters into a module of its own") {
  manual_seed(5);
  nn::AnyModule original(nn::Linear(3, 2));
  nn::AnyModule shared = original;
  CHECK(shared.ptr() == original.ptr());

  nn::AnyModule copy = original.clone();
  CHECK(copy.ptr() != original.ptr());
  CHECK(copy.type_info() == typeid(nn::Linear));
  const Tensor x = randn({4, 3});
  CHECK(equal(copy.forward(x), original.forward(x)));  // same values ...
  {
    NoGradGuard no_grad;
    copy.get<nn::Linear>().weight.fill_(0.5);
  }
  CHECK_FALSE(equal(copy.get<nn::Linear>().weight, original.get<nn::Linear>().weight));  // ... own tensors
  CHECK_FALSE(equal(copy.forward(x), original.forward(x)));

  // A user module (Cloneable) and an overloaded one keep working after the copy.
  nn::AnyModule gated(GatedSum{});
  nn::AnyModule gated_copy = gated.clone();
  const Tensor b = randn({4, 3});
  CHECK(equal(gated_copy.forward(x, b), gated.forward(x, b)));
  CHECK(gated_copy.get<GatedSumImpl>().gate->weight.data_ptr<float>() != gated.get<GatedSumImpl>().gate->weight.data_ptr<float>());
  nn::AnyModule encoder(nn::TransformerEncoder(nn::TransformerEncoderOptions(nn::TransformerEncoderLayer(8, 2), 1)));
  encoder.ptr()->eval();
  const Tensor src = randn({5, 3, 8});
  CHECK(equal(encoder.clone().forward(src, Tensor(), Tensor()), encoder.forward(src, Tensor(), Tensor())));
}

TEST_CASE("AnyModule: an empty one, and wrong argument, return and module types, are errors naming the types") {
  nn::AnyModule empty;
  CHECK(empty.is_empty());
  std::string m = error_message([&] { empty.forward(zeros({2})); });
  CHECK(contains(m, "AnyModule::forward: this AnyModule is empty (default-constructed)"));
  CHECK(contains(error_message([&] { empty.ptr(); }), "AnyModule::ptr: this AnyModule is empty"));
  CHECK(contains(error_message([&] { empty.clone(); }), "AnyModule::clone: this AnyModule is empty"));
  CHECK(contains(error_message([&] { (void)empty.type_info(); }), "AnyModule::type_info: this AnyModule is empty"));
  CHECK(contains(error_message([] { nn::AnyModule(std::shared_ptr<nn::Linear>()); }), "given a null module"));

  nn::AnyModule decoder(nn::TransformerDecoderLayer(8, 2));
  m = error_message([&] { decoder.forward(zeros({4, 3, 8})); });
  CHECK(contains(m, "AnyModule: TransformerDecoderLayer's forward takes no arguments (cake::Tensor); AnyModule can "
                    "call it with (cake::Tensor, cake::Tensor), (cake::Tensor, cake::Tensor, cake::Tensor), "));
  CHECK(contains(m, "(cake::Tensor, cake::Tensor, cake::Tensor, cake::Tensor, cake::Tensor, cake::Tensor)"));

  nn::AnyModule softmax(std::make_shared<ScaledSoftmax>());
  m = error_message([&] { softmax.forward(zeros({2}), 2); });  // an int for a double: exact types
  CHECK(contains(m, "ScaledSoftmax's forward takes no arguments (cake::Tensor, int); AnyModule can call it with "
                    "(cake::Tensor, double)"));

  nn::AnyModule linear(nn::Linear(3, 2));
  m = error_message([&] { linear.forward<double>(zeros({1, 3})); });
  CHECK(contains(m, "AnyModule: Linear's forward returns cake::Tensor, not the double asked for by forward<double>"));
  m = error_message([&] { linear.any_forward(zeros({1, 3})).get<int>(); });
  CHECK(contains(m, "AnyValue::get<int>: the value is a cake::Tensor, not a int"));
  m = error_message([&] { linear.get<nn::Conv2d>(); });
  CHECK(contains(m, "AnyModule: the module is a Linear (cake::nn::Linear), not a cake::nn::Conv2d"));
  m = error_message([&] { linear.forward(zeros({1, 3}), zeros({1, 3})); });
  CHECK(contains(m, "Linear's forward takes no arguments (cake::Tensor, cake::Tensor); AnyModule can call it with "
                    "(cake::Tensor)"));
}
