// transforms.h: augmentations and corruptions applied to a whole batch of images.
//
//   using namespace cake::data;
//   Compose augment{RandomCrop(28, 2), RandomHorizontalFlip(0.5), Normalize({0.2860}, {0.3530})};
//   cake::Tensor x = augment(batch.x);                     // [N, C, H, W] in, [N, C, H, W] out
//   cake::Tensor noisy = GaussianNoise(0.3, true)(batch.x); // denoising autoencoder input
//   MaskedBatch m = RandomMask(7, 0.75).apply(batch.x);     // m.masked, m.mask (1 = hidden)
//   cake::Tensor edges = Sobel()(batch.x);                  // [N, 2, H, W] for DeepCluster
//   cake::Tensor crops = RandomResizedCrop(28, 0.5)(batch.x);    // DeepCluster's training crop
//   cake::Tensor moved = RandomAffine(10, 0.1, 0.95, 1.05)(batch.x);  // DAC's small jitter
//   cake::Tensor lit = RandomBrightnessContrast(0.4, 0.4, 0.8)(batch.x);  // MoCo's colour jitter, grey
//
// Every transform is a small struct whose operator() maps a batch [N, C, H, W] (float32 or
// float64) to a new tensor; none modifies its input. The random ones draw from the global
// generator (tensor/random.h), one draw per sample, so manual_seed fixes them.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::data {

// Runs transforms one after the other.
class Compose {
 public:
  Compose(std::initializer_list<std::function<Tensor(Tensor)>> steps) : steps_(steps) {}
  explicit Compose(std::vector<std::function<Tensor(Tensor)>> steps) : steps_(std::move(steps)) {}
  Tensor operator()(Tensor batch) const;

 private:
  std::vector<std::function<Tensor(Tensor)>> steps_;
};

// (x - mean[c]) / std[c] per channel c (dim 1). One value applies to every channel.
struct Normalize {
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(Tensor batch) const;
  std::vector<double> mean, std;
};

// Pads every side with `padding` zeros, then cuts a random size x size window per sample
// (the CIFAR/MNIST "random crop with padding" augmentation).
struct RandomCrop {
  RandomCrop(std::int64_t size, std::int64_t padding = 0);
  Tensor operator()(Tensor batch) const;
  std::int64_t size, padding;
};

// Mirrors each sample left-right with probability p.
struct RandomHorizontalFlip {
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(Tensor batch) const;
  double p;
};

// x + sigma * N(0, 1), the corruption of a denoising autoencoder (Vincent et al., 2008;
// Bortoletto 2021, section 3). With clip, the result is clamped to [0, 1], the range of the images.
struct GaussianNoise {
  explicit GaussianNoise(double sigma, bool clip = false);
  Tensor operator()(Tensor batch) const;
  double sigma;
  bool clip;
};

struct MaskedBatch {
  Tensor masked;  // the batch with the hidden patches set to the fill value
  Tensor mask;    // [N, 1, H, W] of the batch's dtype: 1 where hidden, 0 where visible
};

// Hides a random `ratio` of the patch x patch squares of every image (masked
// self-supervision, He et al. 2021, "Masked autoencoders"; Shen 2024). The image is cut into a
// grid of ceil(H / patch) x ceil(W / patch) patches (edge patches may be smaller) and
// round(ratio * patches) of them, chosen uniformly per sample, are set to `fill`.
struct RandomMask {
  RandomMask(std::int64_t patch, double ratio, double fill = 0.0);
  Tensor operator()(Tensor batch) const { return apply(std::move(batch)).masked; }
  MaskedBatch apply(Tensor batch) const;  // also returns the mask, for a loss on hidden pixels
  std::int64_t patch;
  double ratio, fill;
};

// DeepCluster's input filter (Caron et al., 2018, section 4.1; Pastore 2025): colour images are
// averaged to grey (weights 1/3, as in the authors' code), then two 3x3 Sobel filters with zero
// padding give the horizontal and vertical gradients, which remove colour and raise local
// contrast. [N, 1 or 3, H, W] -> [N, 2, H, W]; channel 0 is
//   Gx = [[1, 0, -1], [2, 0, -2], [1, 0, -1]],  channel 1 is Gy = Gx^T,
// applied as a cross-correlation (as nn.Conv2d computes it).
struct Sobel {
  Tensor operator()(Tensor batch) const;
};

// A random part of each image, of a random area and aspect ratio, resized back to size x size
// (the "random resized crop" of DeepCluster's training images: Caron et al. 2018, section 4.1;
// Pastore 2025, "Case 2: transformation when training model"; torchvision's
// RandomResizedCrop). Per sample: an area fraction s ~ U(scale_min, scale_max) of the image
// and an aspect ratio r with log r ~ U(log ratio_min, log ratio_max) give a w x h window,
// w = round(sqrt(s A r)), h = round(sqrt(s A / r)); a window that does not fit is drawn again
// (10 tries, then the whole image). The window goes to size x size by bilinear interpolation
// (pixel centres aligned, as align_corners = false). ImageNet uses scale (0.08, 1); on 28x28
// images so small a crop keeps a few strokes only, hence the larger default scale_min.
struct RandomResizedCrop {
  explicit RandomResizedCrop(std::int64_t size, double scale_min = 0.5, double scale_max = 1.0,
                             double ratio_min = 3.0 / 4.0, double ratio_max = 4.0 / 3.0);
  Tensor operator()(Tensor batch) const;
  std::int64_t size;
  double scale_min, scale_max, ratio_min, ratio_max;
};

// A small random affine jitter per sample: a rotation by U(-degrees, degrees), a shift of
// U(-translate, translate) times the width (and height), and a zoom by U(scale_min, scale_max)
// about the image centre; pixels that come from outside the image are 0 (the background of
// MNIST-like images). Bilinear interpolation. DAC's released code trains on such jitter
// (Chang et al. 2017, github.com/vector-1127/DAC MNIST/mnist.py: rotation 10 degrees, shift
// 0.1, zoom 0.95 to 1.05).
struct RandomAffine {
  RandomAffine(double degrees, double translate = 0.0, double scale_min = 1.0, double scale_max = 1.0);
  Tensor operator()(Tensor batch) const;
  double degrees, translate, scale_min, scale_max;
};

// Brightness and contrast jitter per sample, the grey part of torchvision's ColorJitter (the
// augmentation of MoCo's official demo: ColorJitter(0.4, 0.4, 0.4, 0.1) with probability 0.8;
// He et al. 2020, section 3.3; hue and saturation mean nothing for grey images). With
// probability p a sample gets a brightness factor b ~ U(1 - brightness, 1 + brightness) and a
// contrast factor c ~ U(1 - contrast, 1 + contrast):
//   x' = clamp(b x, 0, 1),   x'' = clamp(c (x' - mean(x')) + mean(x'), 0, 1),
// mean(x') the sample's mean over its channels and pixels (torchvision blends with the mean of
// the grey image). Brightness always comes first (torchvision draws the order).
struct RandomBrightnessContrast {
  RandomBrightnessContrast(double brightness, double contrast, double p = 1.0);
  Tensor operator()(Tensor batch) const;
  double brightness, contrast, p;
};

}  // namespace cake::data
