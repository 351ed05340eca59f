// libtorch_conv_autoencoder: a convolutional autoencoder written the libtorch way (cake:: for
// torch::): Conv2d / ConvTranspose2d built from builder options, nn::Sequential of layer
// values, a Cloneable module whose clone() gives an independent copy (an EMA "teacher", as in
// MoCo), and Upsample in the decoder.
//
// Trains a few steps on 16 x 16 images of random bright squares; exits with status 1 unless
// the reconstruction error falls. Runs in a couple of seconds.
#include <cake/cake.h>

#include <cstdlib>
#include <iostream>

namespace nn = cake::nn;
namespace F = cake::nn::functional;

struct AutoencoderImpl : nn::Cloneable<AutoencoderImpl> {
  nn::Sequential encoder{nullptr}, decoder{nullptr};
  AutoencoderImpl() { reset(); }
  void reset() override {
    encoder = register_module(
        "encoder", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 8, 3).stride(2).padding(1)), nn::ReLU(),
                                  nn::Conv2d(nn::Conv2dOptions(8, 16, 3).stride(2).padding(1)), nn::ReLU()));
    decoder = register_module(
        "decoder",
        nn::Sequential(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(16, 8, 3).stride(2).padding(1).output_padding(1)),
                       nn::ReLU(), nn::Upsample(nn::UpsampleOptions().scale_factor(2.0).mode(cake::kBilinear)),
                       nn::Conv2d(nn::Conv2dOptions(8, 1, 3).padding(1)), nn::Sigmoid()));
  }
  cake::Tensor forward(const cake::Tensor& x) override { return decoder(encoder(x)); }
};
CAKE_MODULE(Autoencoder);

// n images [n, 1, 16, 16], each a bright 5 x 5 square at a random place on a dark background.
cake::Tensor make_squares(std::int64_t n) {
  std::vector<float> pixels(static_cast<std::size_t>(n * 256), 0.05f);
  cake::Tensor corners = cake::randint(0, 12, {n, 2});
  for (std::int64_t i = 0; i < n; ++i) {
    const auto top = corners[i][0].item<std::int64_t>(), left = corners[i][1].item<std::int64_t>();
    for (std::int64_t r = top; r < top + 5; ++r)
      for (std::int64_t c = left; c < left + 5; ++c) pixels[static_cast<std::size_t>(i * 256 + r * 16 + c)] = 0.95f;
  }
  return cake::tensor(pixels, {n, 1, 16, 16});
}

int main() {
  cake::manual_seed(0);
  const cake::Tensor images = make_squares(32);
  Autoencoder model;
  auto teacher = std::dynamic_pointer_cast<AutoencoderImpl>(model->clone());  // an independent copy
  cake::optim::Adam optimizer(model->parameters(), cake::optim::AdamOptions(3e-3));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 30; ++step) {
    optimizer.zero_grad();
    cake::Tensor loss = F::mse_loss(model(images), images);
    loss.backward();
    optimizer.step();
    // The teacher follows the student slowly: an exponential moving average of its weights.
    {
      cake::NoGradGuard no_grad;
      const auto student = model->parameters(), ema = teacher->parameters();
      for (std::size_t i = 0; i < ema.size(); ++i) cake::Tensor(ema[i]).mul_(0.9).add_(student[i], 0.1);
    }
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  cake::NoGradGuard no_grad;
  const double teacher_error = F::mse_loss(teacher->forward(images), images).item<double>();
  std::cout << "reconstruction error " << first << " -> " << last << " (teacher " << teacher_error << ")\n";
  return last < 0.8 * first ? EXIT_SUCCESS : EXIT_FAILURE;
}
