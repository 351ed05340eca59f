// libtorch_custom_loss: a custom module, a custom loss and a custom autograd op, the libtorch
// way (cake:: for torch::). The module embeds points and keeps one learnable centre per class;
// the loss is the centre loss of Wen et al. 2016 ("A Discriminative Feature Learning Approach
// for Deep Face Recognition", eq. 2) added to cross-entropy: it pulls each embedding towards
// its class centre. Its core, half the squared distance of each row to its centre, is a custom
// autograd::Function with a hand-written backward, checked by autograd::gradcheck against
// finite differences before training.
//
// Runs in well under a second on three Gaussian blobs; exits with status 1 unless the custom
// op's gradient checks out and the embeddings end up tighter around their centres.
#include <cake/cake.h>

#include <cstdlib>
#include <iostream>

namespace nn = cake::nn;
namespace F = cake::nn::functional;

struct EmbedderImpl : nn::Module {
  nn::Sequential body{nullptr};
  nn::Linear classifier{nullptr};
  cake::Tensor centres;  // [classes, dim], a parameter of the module
  EmbedderImpl(std::int64_t in, std::int64_t dim, std::int64_t classes) {
    body = register_module("body", nn::Sequential(nn::Linear(in, 16), nn::Tanh(), nn::Linear(16, dim)));
    classifier = register_module("classifier", nn::Linear(dim, classes));
    centres = register_parameter("centres", cake::randn({classes, dim}) * 0.1);
  }
  // Returns the embeddings; the logits come from classifier.
  cake::Tensor forward(const cake::Tensor& x) override { return body(x); }
};
CAKE_MODULE(Embedder);

// d_i = |e_i - c_i|^2 / 2 for rows e_i, c_i, with its derivatives written by hand:
// dd_i/de_i = e_i - c_i and dd_i/dc_i = -(e_i - c_i).
struct HalfSquaredDistance : cake::autograd::Function<HalfSquaredDistance> {
  static cake::Tensor forward(cake::autograd::AutogradContext* ctx, cake::Tensor e, cake::Tensor c) {
    cake::Tensor diff = e - c;
    ctx->save_for_backward({diff});
    return diff.pow(2.0).sum(1) * 0.5;
  }
  static cake::tensor_list backward(cake::autograd::AutogradContext* ctx, cake::tensor_list grads) {
    const cake::Tensor diff = ctx->get_saved_variables()[0];
    cake::Tensor grad_e = grads[0].unsqueeze(1) * diff;  // [N] -> [N, 1], broadcast over dim
    return {grad_e, -grad_e};
  }
};

// The centre loss: the mean of d_i over the batch.
cake::Tensor centre_loss(const cake::Tensor& embeddings, const cake::Tensor& centres, const cake::Tensor& labels) {
  cake::Tensor own = cake::index_select(centres, 0, labels);  // [N, dim]: each row's centre
  return HalfSquaredDistance::apply(embeddings, own).mean();
}

int main() {
  cake::manual_seed(0);
  // The hand-written backward against central differences, in float64.
  const bool gradient_ok = cake::autograd::gradcheck(
      [](const cake::tensor_list& in) { return HalfSquaredDistance::apply(in[0], in[1]); },
      {cake::randn({5, 3}, cake::kFloat64).requires_grad_(), cake::randn({5, 3}, cake::kFloat64).requires_grad_()});
  std::cout << "custom op gradcheck: " << (gradient_ok ? "ok" : "FAILED") << "\n";
  cake::manual_seed(0);  // the data below do not depend on the check's draws
  const std::int64_t per_class = 60, classes = 3;
  std::vector<cake::Tensor> xs, ys;
  for (std::int64_t k = 0; k < classes; ++k) {
    xs.push_back(cake::randn({per_class, 4}) + static_cast<double>(2 * k));
    ys.push_back(cake::full({per_class}, static_cast<double>(k), cake::kInt64));
  }
  const cake::Tensor x = cake::cat(xs), y = cake::cat(ys);

  Embedder model(4, 2, classes);
  cake::optim::SGD optimizer(model->parameters(), cake::optim::SGDOptions(0.05).momentum(0.9));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 60; ++step) {
    optimizer.zero_grad();
    cake::Tensor z = model(x);
    cake::Tensor pull = centre_loss(z, model->centres, y);
    cake::Tensor loss = F::cross_entropy(model->classifier(z), y) + 0.5 * pull;
    loss.backward();
    optimizer.step();
    if (step == 0) first = pull.item<double>();
    last = pull.item<double>();
  }
  std::cout << "centre loss " << first << " -> " << last << "\n";
  std::cout << *model << "\n";
  return gradient_ok && last < first ? EXIT_SUCCESS : EXIT_FAILURE;
}
