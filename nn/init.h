// init.h: filling parameters with their starting values, as torch.nn.init does.
//
//   namespace init = cake::nn::init;
//   init::kaiming_uniform_(layer->weight, /*a=*/0.0, "fan_in", "relu");  // He et al. for ReLU nets
//   init::zeros_(layer->bias);
//   init::xavier_normal_(decoder->weight, init::calculate_gain("tanh"));
//
// Every function writes into the tensor in place (without recording a graph) and returns it.
// Random draws go through Cake's generator, so cake::manual_seed makes them reproducible.
//
// The "gain" of a nonlinearity rescales the variance so that activations neither shrink nor
// grow through a deep stack (Glorot & Bengio 2010; He et al. 2015, "Delving Deep into
// Rectifiers", eq. 10: Var[w] = 2 / ((1 + a^2) fan_in) for leaky ReLU with slope a).
#pragma once

#include <string>
#include <utility>

#include "cake/tensor/tensor.h"

namespace cake::nn::init {

// The recommended gain for a nonlinearity: "linear", "conv1d", "conv2d", "conv_transpose2d",
// "sigmoid" -> 1; "tanh" -> 5/3; "relu" -> sqrt(2); "leaky_relu" -> sqrt(2 / (1 + param^2))
// (param = negative slope, default 0.01); "selu" -> 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the receptive
// field is the product of the sizes after the first two (1 for a matrix). Needs >= 2 dims.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor uniform_(const Tensor& tensor, double low = 0.0, double high = 1.0);
Tensor normal_(const Tensor& tensor, double mean = 0.0, double std = 1.0);
Tensor constant_(const Tensor& tensor, double value);
Tensor zeros_(const Tensor& tensor);
Tensor ones_(const Tensor& tensor);
// A matrix [rows, cols] set to the identity: ones on the main diagonal, zeros elsewhere
// (rectangular ones too, as torch.nn.init.eye_ and TensorFlow's identity initialiser). 2-D only.
Tensor eye_(const Tensor& tensor);
// Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)); N(0, gain^2 * 2 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0);
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0);
// He: std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a), fan per `mode`
// ("fan_in" keeps forward activations' variance, "fan_out" backward gradients'); the uniform
// form draws from U(-sqrt(3) std, sqrt(3) std), which has that std.
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu");
// A (semi-)orthogonal matrix times gain (Saxe, McClelland & Ganguli 2014, "Exact solutions to the
// nonlinear dynamics of learning in deep linear neural networks"): the tensor read as [size(0),
// rest], Q of the QR factorisation of a Gaussian matrix, its columns' signs fixed by R's diagonal
// so that Q is uniformly (Haar) distributed. Rows orthonormal when there are fewer rows than
// columns, columns orthonormal otherwise. Needs >= 2 dims.
Tensor orthogonal_(const Tensor& tensor, double gain = 1.0);
// N(mean, std^2) conditioned on [a, b]: every value drawn again until it lands in the interval
// (rejection sampling; refused when the interval holds less than 1e-6 of the mass, where it
// would take too long).
Tensor trunc_normal_(const Tensor& tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);
// A convolution weight [out, in, k...] (3 to 5 dims) that passes its input through: a 1 at the
// centre of the kernel linking channel d of each group to output d of that group, 0 elsewhere.
Tensor dirac_(const Tensor& tensor, std::int64_t groups = 1);
// A matrix [rows, cols] of N(0, std^2) draws with ceil(sparsity rows) zeros in every column
// (Martens 2010, "Deep learning via Hessian-free optimization", section 5).
Tensor sparse_(const Tensor& tensor, double sparsity, double std = 0.01);

}  // namespace cake::nn::init
