// cuda/backend/conv_cudnn.cpp: the three convolution stubs (forward, backward-data,
// backward-weight) on cuDNN 9, a host API (so g++ compiles this file).
//
// The legacy descriptor API (cudnnConvolutionForward and friends; deprecated in cuDNN 9 in
// favour of the graph API, but complete and supported) takes exactly Cake's geometry: NCHW
// tensors, an [out, in/groups, kH, kW] filter, padding, stride, dilation and a group count,
// in cross-correlation mode (what PyTorch and Cake call convolution). A transposed convolution
// is the backward-data of its geometry (NOTE [ Transposed convolution is the adjoint of
// convolution ] in native/nn_kernels.h) and needs nothing more.
//
// NOTE [ cuDNN algorithm cache ]
// For each (direction, geometry, dtype, TF32 switch) the algorithm is chosen once, from cuDNN's
// heuristics (cudnnGet*Algorithm_v7: ranked, no trial runs), and remembered: the first ranked
// algorithm that cuDNN supports for this case and that keeps float32 in float32 arithmetic
// unless set_allow_tf32(true). The workspace comes from the caching allocator.
//
// NOTE [ 16-bit bias ]
// A bfloat16/float16 convolution with a bias (or a bias gradient) is computed in float32 on
// widened copies and rounded once, as the CPU reference does (cpu/nn_routing.cpp). cuDNN's
// legacy API has no 16-bit-in, float32-out convolution, so the 16-bit path would round the
// convolution to 16 bits and cudnnAddTensor would round again after adding the bias: where the
// bias cancels the sum, that second result is off by many units in its last place. Autocast
// never takes this path (it adds the bias in float32 itself), so the cost of the float32
// convolution falls only on direct 16-bit calls with a bias. The bias gradient likewise is one
// float32 sum of the widened gradient, rounded once (cudnnConvolutionBackwardBias on float32,
// the configuration the float32 path already uses).
//
// Fallback: when cuDNN supports no algorithm for a case, or the chosen one refuses to run
// (CUDNN_STATUS_NOT_SUPPORTED; the case is then remembered), or the descriptors cannot describe
// it (a transposed convolution whose output_padding is not smaller than its stride), the CPU
// kernel runs on host copies of the operands and the result is copied back. It is correct and
// slow, and meant for corner cases only.
#include <cudnn.h>

#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "cake/cuda/cuda.h"
#include "cake/cuda/device_api.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/nn_kernels.h"

namespace cake::cuda {
namespace {

using native::ConvGeometry;

void check_cudnn(cudnnStatus_t s, const char* what) {
  CAKE_CHECK(s == CUDNN_STATUS_SUCCESS, "cuDNN error in ", what, ": ", cudnnGetErrorString(s));
}

// One handle per thread, bound to the thread's current stream at each use.
cudnnHandle_t handle() {
  thread_local cudnnHandle_t h = [] {
    cudnnHandle_t created = nullptr;
    check_cudnn(cudnnCreate(&created), "cudnnCreate");
    return created;
  }();
  check_cudnn(cudnnSetStream(h, static_cast<cudaStream_t>(current_stream())), "cudnnSetStream");
  return h;
}

int as_int(std::int64_t v) {
  CAKE_CHECK(v >= 0 && v <= 2147483647, "conv2d on CUDA: size ", v, " exceeds cuDNN's 32-bit range");
  return static_cast<int>(v);
}

// The descriptors of one convolution: x [N, C_in, H, W], w, y [N, C_out, OH, OW], bias [1, C_out, 1, 1].
cudnnDataType_t cudnn_type(DType t) {
  switch (t) {
    case kFloat64: return CUDNN_DATA_DOUBLE;
    case kBFloat16: return CUDNN_DATA_BFLOAT16;
    case kFloat16: return CUDNN_DATA_HALF;
    default: return CUDNN_DATA_FLOAT;
  }
}
// 16-bit operands accumulate in float32 (cuDNN's "pseudo-half" configurations; its true-half
// configuration for float16 would accumulate in float16).
cudnnDataType_t compute_type(DType t) { return t == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }
// float32 keeps exact FMA arithmetic unless TF32 is allowed; the 16-bit types are for the tensor
// cores; float64 has none to use.
bool fma_only(DType t) { return !is_half(t) && !allow_tf32(); }

struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnDataType_t type;
  DType dtype;
  bool valid = false;  // cuDNN's output size for these descriptors is g's

  Descriptors(const ConvGeometry& g, DType dtype_) : type(cudnn_type(dtype_)), dtype(dtype_) {
    check_cudnn(cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&bias), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateFilterDescriptor(&w), "cudnnCreateFilterDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, type, as_int(g.batch), as_int(g.in_channels),
                                           as_int(g.in_h), as_int(g.in_w)),
                "cudnnSetTensor4dDescriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, as_int(g.batch), as_int(g.out_channels),
                                           as_int(g.out_h), as_int(g.out_w)),
                "cudnnSetTensor4dDescriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, type, 1, as_int(g.out_channels), 1, 1),
                "cudnnSetTensor4dDescriptor");
    check_cudnn(cudnnSetFilter4dDescriptor(w, type, CUDNN_TENSOR_NCHW, as_int(g.out_channels),
                                           as_int(g.in_channels / g.groups), as_int(g.kernel_h), as_int(g.kernel_w)),
                "cudnnSetFilter4dDescriptor");
    check_cudnn(cudnnSetConvolution2dDescriptor(conv, as_int(g.pad_h), as_int(g.pad_w), as_int(g.stride_h),
                                                as_int(g.stride_w), as_int(g.dilation_h), as_int(g.dilation_w),
                                                CUDNN_CROSS_CORRELATION, compute_type(dtype)),
                "cudnnSetConvolution2dDescriptor");
    check_cudnn(cudnnSetConvolutionGroupCount(conv, as_int(g.groups)), "cudnnSetConvolutionGroupCount");
    // float32 stays float32 (FMA only) unless TF32 is allowed: cuDNN's default math would use
    // TF32 tensor cores on Ampere and newer.
    check_cudnn(cudnnSetConvolutionMathType(conv, fma_only(dtype) ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH),
                "cudnnSetConvolutionMathType");
    int n = 0, c = 0, h = 0, wd = 0;
    valid = cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &c, &h, &wd) == CUDNN_STATUS_SUCCESS &&
            n == g.batch && c == g.out_channels && h == g.out_h && wd == g.out_w;
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

// ---- the algorithm cache ----------------------------------------------------------------------

enum class Direction { Forward, BackwardData, BackwardWeight };

struct Choice {
  int algorithm = -1;  // -1: cuDNN has none for this case (use the fallback)
  cudnnMathType_t math = CUDNN_FMA_MATH;
};

using CacheKey = std::tuple<int, int, bool, std::vector<std::int64_t>>;

CacheKey cache_key(Direction d, const ConvGeometry& g, DType dtype) {
  return {static_cast<int>(d), static_cast<int>(dtype), allow_tf32(),
          {g.batch, g.in_channels, g.out_channels, g.groups, g.in_h, g.in_w, g.out_h, g.out_w, g.kernel_h, g.kernel_w,
           g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dilation_h, g.dilation_w}};
}

// The first ranked result cuDNN supports that keeps float32 exact unless TF32 is allowed. Without
// TF32 the algorithm runs under CUDNN_FMA_MATH: cuDNN's "default" math permits TF32 on Ampere and
// newer, so a result ranked under it is run with FMA only (and if it then refuses, the case
// takes the fallback: `refused` below).
template <class Perf>
Choice first_acceptable(const Perf* perf, int count, DType dtype) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    const bool tensor_cores = perf[i].mathType == CUDNN_TENSOR_OP_MATH ||
                              perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (tensor_cores && fma_only(dtype)) continue;
    return {static_cast<int>(perf[i].algo), fma_only(dtype) ? CUDNN_FMA_MATH : perf[i].mathType};
  }
  return {};
}

Choice ask_cudnn(Direction d, const Descriptors& desc) {
  cudnnHandle_t h = handle();
  int count = 0;
  if (d == Direction::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    if (cudnnGetConvolutionForwardAlgorithm_v7(h, desc.x, desc.w, desc.conv, desc.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                               &count, perf) != CUDNN_STATUS_SUCCESS)
      return {};
    return first_acceptable(perf, count, desc.dtype);
  }
  if (d == Direction::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    if (cudnnGetConvolutionBackwardDataAlgorithm_v7(h, desc.w, desc.y, desc.conv, desc.x,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count,
                                                    perf) != CUDNN_STATUS_SUCCESS)
      return {};
    return first_acceptable(perf, count, desc.dtype);
  }
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  if (cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, desc.x, desc.y, desc.conv, desc.w,
                                                    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count,
                                                    perf) != CUDNN_STATUS_SUCCESS)
    return {};
  return first_acceptable(perf, count, desc.dtype);
}

struct AlgorithmCache {
  std::mutex mutex;
  std::map<CacheKey, Choice> choices;
};
AlgorithmCache& algorithm_cache() {
  static auto* cache = new AlgorithmCache;  // never destroyed, like the handles' runtime
  return *cache;
}

Choice choose(Direction d, const ConvGeometry& g, DType dtype, const Descriptors& desc) {
  if (!desc.valid) return {};
  AlgorithmCache& cache = algorithm_cache();
  const CacheKey key = cache_key(d, g, dtype);
  {
    const std::lock_guard<std::mutex> lock(cache.mutex);
    if (const auto it = cache.choices.find(key); it != cache.choices.end()) return it->second;
  }
  const Choice c = ask_cudnn(d, desc);
  const std::lock_guard<std::mutex> lock(cache.mutex);
  cache.choices.emplace(key, c);
  return c;
}

// A ranked algorithm that then refused to run (CUDNN_STATUS_NOT_SUPPORTED): this case takes the
// fallback from now on. Returns whether the status was that refusal.
bool refused(cudnnStatus_t status, Direction d, const ConvGeometry& g, DType dtype) {
  if (status != CUDNN_STATUS_NOT_SUPPORTED) return false;
  AlgorithmCache& cache = algorithm_cache();
  const std::lock_guard<std::mutex> lock(cache.mutex);
  cache.choices[cache_key(d, g, dtype)] = Choice{};
  return true;
}

Tensor workspace(std::size_t bytes) {
  return bytes ? make_empty({static_cast<std::int64_t>(bytes)}, kUInt8, Device::cuda(0)) : Tensor();
}
void* pointer(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// alpha = 1 and beta = 0 or 1, in the type cuDNN expects for the data type.
struct Scaling {
  float f1 = 1.0f, f0 = 0.0f;
  double d1 = 1.0, d0 = 0.0;
  cudnnDataType_t type;
  const void* one() const { return type == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&d1) : &f1; }
  const void* zero() const { return type == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&d0) : &f0; }
};

// ---- the fallback: the CPU kernel on host copies -----------------------------------------------

Tensor host(const Tensor& t) { return t.defined() ? t.cpu() : Tensor(); }
Tensor host_empty(const Tensor& t) { return t.defined() ? make_empty(t.sizes(), t.dtype(), kCPU) : Tensor(); }
void copy_back(const Tensor& device_out, const Tensor& host_out) {
  if (device_out.defined()) native::copy_(device_out, host_out);
}

// ---- the stubs --------------------------------------------------------------------------------

Tensor widened(const Tensor& t) { return t.defined() ? native::to_dtype(t, kFloat32) : Tensor(); }

void conv_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y) {
  if (is_half(x.dtype()) && bias.defined()) {  // NOTE [ 16-bit bias ]
    const Tensor wide_y = make_empty(y.sizes(), kFloat32, y.device());
    conv_forward(g, widened(x), widened(weight), widened(bias), wide_y);
    return native::copy_(y, wide_y);
  }
  auto fallback = [&] {
    const Tensor y_host = host_empty(y);
    native::conv2d_forward_stub(kCPU, g, host(x), host(weight), host(bias), y_host);
    copy_back(y, y_host);
  };
  const Descriptors desc(g, x.dtype());
  const Choice c = choose(Direction::Forward, g, x.dtype(), desc);
  if (c.algorithm < 0) return fallback();
  cudnnHandle_t h = handle();
  check_cudnn(cudnnSetConvolutionMathType(desc.conv, c.math), "cudnnSetConvolutionMathType");
  const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(c.algorithm);
  std::size_t bytes = 0;
  check_cudnn(cudnnGetConvolutionForwardWorkspaceSize(h, desc.x, desc.w, desc.conv, desc.y, algo, &bytes),
              "cudnnGetConvolutionForwardWorkspaceSize");
  const Tensor space = workspace(bytes);
  const Scaling s{.type = desc.type};
  const cudnnStatus_t status = cudnnConvolutionForward(h, s.one(), desc.x, x.raw_data(), desc.w, weight.raw_data(),
                                                       desc.conv, algo, pointer(space), bytes, s.zero(), desc.y,
                                                       y.raw_data());
  if (refused(status, Direction::Forward, g, x.dtype())) return fallback();
  check_cudnn(status, "cudnnConvolutionForward");
  if (bias.defined())
    check_cudnn(cudnnAddTensor(h, s.one(), desc.bias, bias.raw_data(), s.one(), desc.y, y.raw_data()),
                "cudnnAddTensor");
}

void conv_backward_data(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
  auto fallback = [&] {
    const Tensor gx_host = host_empty(grad_x);
    native::conv2d_backward_data_stub(kCPU, g, host(grad_y), host(weight), gx_host);
    copy_back(grad_x, gx_host);
  };
  const Descriptors desc(g, grad_y.dtype());
  const Choice c = choose(Direction::BackwardData, g, grad_y.dtype(), desc);
  if (c.algorithm < 0) return fallback();
  cudnnHandle_t h = handle();
  check_cudnn(cudnnSetConvolutionMathType(desc.conv, c.math), "cudnnSetConvolutionMathType");
  const auto algo = static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algorithm);
  std::size_t bytes = 0;
  check_cudnn(cudnnGetConvolutionBackwardDataWorkspaceSize(h, desc.w, desc.y, desc.conv, desc.x, algo, &bytes),
              "cudnnGetConvolutionBackwardDataWorkspaceSize");
  const Tensor space = workspace(bytes);
  const Scaling s{.type = desc.type};
  const cudnnStatus_t status =
      cudnnConvolutionBackwardData(h, s.one(), desc.w, weight.raw_data(), desc.y, grad_y.raw_data(), desc.conv, algo,
                                   pointer(space), bytes, s.zero(), desc.x, grad_x.raw_data());
  if (refused(status, Direction::BackwardData, g, grad_y.dtype())) return fallback();
  check_cudnn(status, "cudnnConvolutionBackwardData");
}

void conv_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight,
                          const Tensor& grad_bias) {
  if (is_half(x.dtype()) && grad_bias.defined()) {  // NOTE [ 16-bit bias ]
    conv_backward_weight(g, x, grad_y, grad_weight, Tensor());
    const Tensor wide_gy = widened(grad_y);
    const Tensor wide_gb = make_empty(grad_bias.sizes(), kFloat32, grad_bias.device());
    const Descriptors wide(g, kFloat32);
    const Scaling s{.type = wide.type};
    check_cudnn(cudnnConvolutionBackwardBias(handle(), s.one(), wide.y, wide_gy.raw_data(), s.zero(), wide.bias,
                                             wide_gb.raw_data()),
                "cudnnConvolutionBackwardBias");
    return native::copy_(grad_bias, wide_gb);
  }
  auto fallback = [&] {
    const Tensor gw_host = host_empty(grad_weight), gb_host = host_empty(grad_bias);
    native::conv2d_backward_weight_stub(kCPU, g, host(x), host(grad_y), gw_host, gb_host);
    copy_back(grad_weight, gw_host);
    copy_back(grad_bias, gb_host);
  };
  const Descriptors desc(g, x.dtype());
  const Choice c = choose(Direction::BackwardWeight, g, x.dtype(), desc);
  if (c.algorithm < 0) return fallback();
  cudnnHandle_t h = handle();
  check_cudnn(cudnnSetConvolutionMathType(desc.conv, c.math), "cudnnSetConvolutionMathType");
  const auto algo = static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algorithm);
  std::size_t bytes = 0;
  check_cudnn(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, desc.x, desc.y, desc.conv, desc.w, algo, &bytes),
              "cudnnGetConvolutionBackwardFilterWorkspaceSize");
  const Tensor space = workspace(bytes);
  const Scaling s{.type = desc.type};
  // beta = 0: backward-weight overwrites its outputs (native/nn_kernels.h).
  const cudnnStatus_t status =
      cudnnConvolutionBackwardFilter(h, s.one(), desc.x, x.raw_data(), desc.y, grad_y.raw_data(), desc.conv, algo,
                                     pointer(space), bytes, s.zero(), desc.w, grad_weight.raw_data());
  if (refused(status, Direction::BackwardWeight, g, x.dtype())) return fallback();
  check_cudnn(status, "cudnnConvolutionBackwardFilter");
  if (grad_bias.defined())
    check_cudnn(cudnnConvolutionBackwardBias(h, s.one(), desc.y, grad_y.raw_data(), s.zero(), desc.bias,
                                             grad_bias.raw_data()),
                "cudnnConvolutionBackwardBias");
}

}  // namespace

CAKE_REGISTER_KERNEL(native::conv2d_forward_stub, DeviceType::CUDA, &conv_forward);
CAKE_REGISTER_KERNEL(native::conv2d_backward_data_stub, DeviceType::CUDA, &conv_backward_data);
CAKE_REGISTER_KERNEL(native::conv2d_backward_weight_stub, DeviceType::CUDA, &conv_backward_weight);

}  // namespace cake::cuda
