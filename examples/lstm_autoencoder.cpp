// lstm_autoencoder: a sequence autoencoder written as one would with libtorch (cake:: for
// torch::), then k-means on its codes: unsupervised learning on sequences.
//
// The encoder LSTM reads a sequence and its last hidden state, through a linear layer, is the
// code; the decoder LSTM is given the code at every step and a linear layer reads each of its
// hidden states back out as the sequence (the "LSTM autoencoder" of Srivastava, Mansimov &
// Salakhutdinov 2015, "Unsupervised Learning of Video Representations using LSTMs", with the
// code fed at every step instead of only the first). Trained on reconstruction alone, the codes
// then separate the three kinds of sequence without ever seeing a label.
//
// The data are made here: noisy sine waves of 1, 2 or 3 periods over 24 steps with a random
// amplitude, so the program needs no download and runs in a few seconds. It exits with status 1
// if the reconstruction or the clustering of the codes is poor.
#include <cake/cake.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <numbers>

namespace nn = cake::nn;
namespace F = cake::nn::functional;

constexpr std::int64_t kSteps = 24, kCode = 4, kHidden = 32;

// n sequences of each kind k = 0, 1, 2 (k + 1 periods), batch-first [3 n, kSteps, 1]; labels int64.
std::pair<cake::Tensor, cake::Tensor> make_waves(std::int64_t n_per_kind) {
  std::vector<cake::Tensor> waves, kinds;
  const cake::Tensor t = cake::arange(0.0, static_cast<double>(kSteps)) * (2.0 * std::numbers::pi / kSteps);
  for (std::int64_t k = 0; k < 3; ++k) {
    const cake::Tensor amplitude = cake::rand({n_per_kind, 1}) * 0.6 + 0.6;
    const cake::Tensor clean = amplitude * (t * static_cast<double>(k + 1)).sin().unsqueeze(0);
    waves.push_back((clean + cake::randn({n_per_kind, kSteps}) * 0.05).unsqueeze(2));
    kinds.push_back(cake::full({n_per_kind}, static_cast<double>(k), cake::kInt64));
  }
  return {cake::cat(waves), cake::cat(kinds)};
}

struct SequenceAutoencoderImpl : nn::Module {
  nn::LSTM encoder{nullptr}, decoder{nullptr};
  nn::Linear to_code{nullptr}, to_value{nullptr};
  SequenceAutoencoderImpl() {
    encoder = register_module("encoder", nn::LSTM(nn::LSTMOptions(1, kHidden).batch_first(true)));
    to_code = register_module("to_code", nn::Linear(kHidden, kCode));
    decoder = register_module("decoder", nn::LSTM(nn::LSTMOptions(kCode, kHidden).batch_first(true)));
    to_value = register_module("to_value", nn::Linear(kHidden, 1));
  }
  // [B, T, 1] -> [B, kCode]: the encoder's last hidden state (h_n of its one layer), projected.
  cake::Tensor encode(const cake::Tensor& x) {
    auto [outputs, state] = encoder(x);
    return to_code(std::get<0>(state)[0]);
  }
  // [B, kCode] -> [B, T, 1]: the code repeated as the decoder's input at every step.
  cake::Tensor decode(const cake::Tensor& code) {
    auto [hidden, state] = decoder(code.unsqueeze(1).expand({code.size(0), kSteps, kCode}));
    return to_value(hidden);
  }
  cake::Tensor forward(const cake::Tensor& x) override { return decode(encode(x)); }
};
CAKE_MODULE(SequenceAutoencoder);

int main() {
  cake::manual_seed(0);
  auto [waves, kinds] = make_waves(100);
  SequenceAutoencoder model;
  cake::optim::Adam optimizer(model->parameters(), cake::optim::AdamOptions(1e-2));

  const std::int64_t batch = 30, n = waves.size(0);
  double loss_per_sample = 0.0;
  for (int epoch = 0; epoch < 40; ++epoch) {
    double total = 0.0;
    for (const cake::Tensor& index : cake::randperm(n).split(batch)) {
      const cake::Tensor x = waves.index_select(0, index);
      optimizer.zero_grad();
      cake::Tensor loss = F::mse_loss(model(x), x);
      loss.backward();
      nn::utils::clip_grad_norm_(model->parameters(), 1.0);  // LSTMs' gradients can spike early on
      optimizer.step();
      total += loss.item<double>() * static_cast<double>(index.numel());
    }
    loss_per_sample = total / static_cast<double>(n);
    if (epoch % 10 == 9) std::cout << "epoch " << epoch + 1 << "  reconstruction MSE " << loss_per_sample << "\n";
  }

  // How much of the sequences' variance the reconstruction misses, and how the codes cluster.
  cake::NoGradGuard no_grad;
  const double unexplained = loss_per_sample / waves.var().item<double>();
  const cake::Tensor codes = model->encode(waves);
  cake::cluster::KMeans kmeans({.n_clusters = 3, .n_init = 10, .random_state = 0});
  const cake::Tensor clusters = kmeans.fit_predict(codes);
  const double nmi = cake::metrics::nmi(kinds, clusters);
  std::cout << "unexplained variance " << unexplained << "  k-means on the codes: NMI " << nmi << ", ACC "
            << cake::metrics::acc(kinds, clusters) << "\n";
  return unexplained < 0.2 && nmi > 0.7 ? EXIT_SUCCESS : EXIT_FAILURE;
}
