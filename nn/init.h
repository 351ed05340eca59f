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

}  // namespace cake::nn::init
