// cpu/onednn_kernels.cpp: float32 convolution and pooling through oneDNN
// 2.x (Debian's libdnnl-dev), compiled only when Cake is built with it (CAKE_HAVE_ONEDNN).
// nn_routing.cpp decides when these run; each returns false for a case oneDNN rejects, and the
// caller then runs Cake's fallback. (Batch normalisation and max pooling are Cake's own: nn_routing.cpp says why.)
//
// How oneDNN is driven (see https://oneapi-src.github.io/oneDNN/ "Basic concepts"):
//   1. describe the operation (shapes, strides, padding; a *desc*),
//   2. let the library pick an implementation for this CPU (a *primitive descriptor*),
//   3. build the *primitive* (JIT-compiles code; the costly step, tens to hundreds of us),
//   4. execute it on a *stream* with the tensors' memory.
// Steps 1-3 depend only on shapes and parameters, and a training loop calls the same shapes
// every step, so primitives are cached keyed by everything that went into them (PrimitiveCache
// below); a call then costs only step 4. Cake's tensors (NCHW, OIHW / GOIHW) are wrapped without
// copies; convolutions may run in oneDNN's blocked layouts, with reorders in and out (NOTE
// [ oneDNN layouts for convolution ]). Threads: this oneDNN uses OpenMP, so it follows
// cake::set_num_threads like Cake's own kernels. One engine for the process, one stream per
// calling thread.
#ifdef CAKE_HAVE_ONEDNN

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cake/tensor/cpu/nn_cpu.h"

namespace cake::cpu::onednn {
namespace {

using native::ConvGeometry;
using native::PoolGeometry;
using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;
constexpr auto f32 = dnnl::memory::data_type::f32;

// ---- engine, stream, cache ------------------------------------------------------------------
dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
// A stream is not safe to share between threads, so each calling thread makes its own, once.
dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

// Everything a primitive was built from: an operation tag and up to 23 integers.
struct Key {
  std::array<std::int64_t, 24> values{};
  bool operator==(const Key&) const = default;
};
struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::size_t h = 1469598103934665603ull;  // FNV-1a over the integers
    for (std::int64_t v : k.values) h = (h ^ static_cast<std::size_t>(v)) * 1099511628211ull;
    return h;
  }
};

// Primitives of one kind, built once per key. An entry records that oneDNN rejected its case
// too (supported = false), so a rejected geometry costs one failed attempt, not one per call.
// Bounded: a program that keeps producing new shapes starts over instead of growing forever.
template <class Entry>
class PrimitiveCache {
 public:
  template <class Make>
  std::shared_ptr<Entry> get(const Key& key, const Make& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    if (entries_.size() >= kCapacity) entries_.clear();
    auto entry = std::make_shared<Entry>();
    try {
      make(*entry);
      entry->supported = true;
    } catch (const dnnl::error&) {
      entry->supported = false;
    }
    entries_.emplace(key, entry);
    return entry;
  }

 private:
  static constexpr std::size_t kCapacity = 512;
  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<Entry>, KeyHash> entries_;
};

dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, cpu_engine(), t.data_ptr<float>());
}

void run(const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args) {
  p.execute(cpu_stream(), args);
  cpu_stream().wait();
}

// ---- convolution ----------------------------------------------------------------------------
// Descriptors of a convolution in Cake's layouts. oneDNN counts dilation from 0 (d - 1) and
// wants the right/bottom padding that makes its output size exactly ours:
//   pad_r = (out - 1) * stride + (kernel - 1) * dilation + 1 - in - pad_l,
// which is below pad_l when the last rows are never read (a floor in the output size, or a
// transposed convolution's output_padding) and may then be negative.
struct ConvDescs {
  dnnl::memory::desc src, weights, bias, dst;
  dims strides, dilates, pad_l, pad_r;
};

ConvDescs conv_descs(const ConvGeometry& g, bool with_bias, bool any_layout) {
  ConvDescs d;
  const tag data_tag = any_layout ? tag::any : tag::nchw;
  d.src = {{g.batch, g.in_channels, g.in_h, g.in_w}, f32, data_tag};
  d.dst = {{g.batch, g.out_channels, g.out_h, g.out_w}, f32, data_tag};
  if (g.groups == 1)
    d.weights = {{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, f32, any_layout ? tag::any : tag::oihw};
  else
    d.weights = {{g.groups, g.out_channels / g.groups, g.in_channels / g.groups, g.kernel_h, g.kernel_w}, f32,
                 any_layout ? tag::any : tag::goihw};
  if (with_bias) d.bias = {{g.out_channels}, f32, tag::x};
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dilation_h - 1, g.dilation_w - 1};
  d.pad_l = {g.pad_h, g.pad_w};
  d.pad_r = {(g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1 - g.in_h - g.pad_h,
             (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1 - g.in_w - g.pad_w};
  return d;
}

Key conv_key(int op, const ConvGeometry& g, bool with_bias) {
  return {{op, g.batch, g.in_channels, g.out_channels, g.groups, g.in_h, g.in_w, g.out_h, g.out_w, g.kernel_h,
           g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dilation_h, g.dilation_w, with_bias}};
}

// The forward primitive descriptor; backward primitives need it as a "hint".
dnnl::convolution_forward::primitive_desc conv_forward_pd(const ConvDescs& d) {
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                       d.weights, d.bias, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, cpu_engine()};
}

// One argument of a primitive, in Cake's plain layout (`user`) and in the layout the primitive
// chose (`inner`). When they differ, a buffer in the inner layout is allocated once and a
// reorder copies into it before the primitive runs (inputs) or out of it after (outputs).
struct Staged {
  dnnl::memory::desc user, inner;
  dnnl::memory buffer;
  dnnl::reorder reorder;

  Staged() = default;
  Staged(const dnnl::memory::desc& user_desc, const dnnl::memory::desc& inner_desc, bool input)
      : user(user_desc), inner(inner_desc) {
    if (user == inner) return;
    buffer = dnnl::memory(inner, cpu_engine());
    reorder = input ? dnnl::reorder(dnnl::memory(user, cpu_engine(), DNNL_MEMORY_NONE), buffer)
                    : dnnl::reorder(buffer, dnnl::memory(user, cpu_engine(), DNNL_MEMORY_NONE));
  }
  bool reordered() const { return user != inner; }
};

// Collects a call's arguments, runs input reorders, the primitive, then output reorders, all on
// one in-order stream.
class Call {
 public:
  void input(int arg, Staged& s, const Tensor& t) {
    dnnl::memory user = wrap(s.user, t);
    if (!s.reordered()) {
      args_.emplace(arg, user);
      return;
    }
    s.reorder.execute(cpu_stream(), user, s.buffer);
    args_.emplace(arg, s.buffer);
  }
  void output(int arg, Staged& s, const Tensor& t) {
    dnnl::memory user = wrap(s.user, t);
    if (!s.reordered()) {
      args_.emplace(arg, user);
      return;
    }
    args_.emplace(arg, s.buffer);
    copies_back_.push_back({&s, user});
  }
  // An argument always in Cake's layout (the bias).
  void plain(int arg, const dnnl::memory::desc& desc, const Tensor& t) { args_.emplace(arg, wrap(desc, t)); }
  void run(const dnnl::primitive& p) {
    p.execute(cpu_stream(), args_);
    for (auto& [s, user] : copies_back_) s->reorder.execute(cpu_stream(), s->buffer, user);
    cpu_stream().wait();
  }

 private:
  std::unordered_map<int, dnnl::memory> args_;
  std::vector<std::pair<Staged*, dnnl::memory>> copies_back_;
};

// Cake's layouts for a convolution's arguments.
ConvDescs plain_descs(const ConvGeometry& g, bool with_bias) { return conv_descs(g, with_bias, false); }

// NOTE [ oneDNN layouts for convolution ]
// Given free choice (format_tag::any), oneDNN picks blocked layouts (channels in blocks of 16
// on AVX-512, nChw16c) and its direct JIT kernels, which beat its GEMM-based convolution on
// plain NCHW 2-2.5x on the autoencoder's layers even counting the reorders in and out. But a
// block pads the channels: a tensor of C = 1 channel blocked by 16 moves 16x the data (the
// autoencoder's last decoder layer ran 2x slower blocked than plain). So each primitive is
// first built with free layouts, and rebuilt on Cake's plain layouts when the layout chosen for
// its input or output pads the channels 4x or more.
bool pads_channels(const dnnl::memory::desc& md) {
  return md.data.ndims == 4 && md.data.padded_dims[1] >= 4 * md.data.dims[1];
}

// Builds make(descs) with free layouts, or with plain ones when `wasteful(pd)` says so.
template <class Make, class Wasteful>
auto conv_pd(const ConvGeometry& g, bool with_bias, const Make& make, const Wasteful& wasteful) {
  auto pd = make(conv_descs(g, with_bias, true));
  if (wasteful(pd)) pd = make(plain_descs(g, with_bias));
  return pd;
}

struct ConvEntry {
  bool supported = false;
  Staged src, weights, dst;  // dst doubles as diff_dst, src as diff_src, weights as diff_weights
  dnnl::memory::desc bias;
  dnnl::primitive primitive;
  std::mutex mutex;  // the staging buffers are shared: one call at a time per entry
};

}  // namespace

bool conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& y) {
  static PrimitiveCache<ConvEntry> cache;
  const bool with_bias = bias.defined();
  auto entry = cache.get(conv_key(0, g, with_bias), [&](ConvEntry& e) {
    const ConvDescs plain = plain_descs(g, with_bias);
    const auto pd = conv_pd(
        g, with_bias, [](const ConvDescs& d) { return conv_forward_pd(d); },
        [](const auto& p) { return pads_channels(p.src_desc()) || pads_channels(p.dst_desc()); });
    e.src = Staged(plain.src, pd.src_desc(), true);
    e.weights = Staged(plain.weights, pd.weights_desc(), true);
    e.dst = Staged(plain.dst, pd.dst_desc(), false);
    e.bias = plain.bias;
    e.primitive = dnnl::convolution_forward(pd);
  });
  if (!entry->supported) return false;
  std::lock_guard<std::mutex> lock(entry->mutex);
  Call call;
  call.input(DNNL_ARG_SRC, entry->src, x);
  call.input(DNNL_ARG_WEIGHTS, entry->weights, weight);
  call.output(DNNL_ARG_DST, entry->dst, y);
  if (with_bias) call.plain(DNNL_ARG_BIAS, entry->bias, bias);
  call.run(entry->primitive);
  return true;
}

bool conv2d_backward_data(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
  static PrimitiveCache<ConvEntry> cache;
  auto entry = cache.get(conv_key(1, g, false), [&](ConvEntry& e) {
    const ConvDescs plain = plain_descs(g, false);
    const auto pd = conv_pd(
        g, false,
        [](const ConvDescs& d) {
          dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst,
                                                     d.strides, d.dilates, d.pad_l, d.pad_r);
          return dnnl::convolution_backward_data::primitive_desc(desc, cpu_engine(), conv_forward_pd(d));
        },
        [](const auto& p) { return pads_channels(p.diff_src_desc()) || pads_channels(p.diff_dst_desc()); });
    e.dst = Staged(plain.dst, pd.diff_dst_desc(), true);
    e.weights = Staged(plain.weights, pd.weights_desc(), true);
    e.src = Staged(plain.src, pd.diff_src_desc(), false);
    e.primitive = dnnl::convolution_backward_data(pd);
  });
  if (!entry->supported) return false;
  std::lock_guard<std::mutex> lock(entry->mutex);
  Call call;
  call.input(DNNL_ARG_DIFF_DST, entry->dst, grad_y);
  call.input(DNNL_ARG_WEIGHTS, entry->weights, weight);
  call.output(DNNL_ARG_DIFF_SRC, entry->src, grad_x);
  call.run(entry->primitive);
  return true;
}

bool conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight,
                            const Tensor& grad_bias) {
  static PrimitiveCache<ConvEntry> cache;
  const bool with_bias = grad_bias.defined();
  auto entry = cache.get(conv_key(2, g, with_bias), [&](ConvEntry& e) {
    const ConvDescs plain = plain_descs(g, with_bias);
    const auto pd = conv_pd(
        g, with_bias,
        [](const ConvDescs& d) {
          dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.bias,
                                                        d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
          return dnnl::convolution_backward_weights::primitive_desc(desc, cpu_engine(), conv_forward_pd(d));
        },
        [](const auto& p) { return pads_channels(p.src_desc()) || pads_channels(p.diff_dst_desc()); });
    e.src = Staged(plain.src, pd.src_desc(), true);
    e.dst = Staged(plain.dst, pd.diff_dst_desc(), true);
    e.weights = Staged(plain.weights, pd.diff_weights_desc(), false);
    e.bias = plain.bias;
    e.primitive = dnnl::convolution_backward_weights(pd);
  });
  if (!entry->supported) return false;
  std::lock_guard<std::mutex> lock(entry->mutex);
  Call call;
  call.input(DNNL_ARG_SRC, entry->src, x);
  call.input(DNNL_ARG_DIFF_DST, entry->dst, grad_y);
  call.output(DNNL_ARG_DIFF_WEIGHTS, entry->weights, grad_weight);
  if (with_bias) call.plain(DNNL_ARG_DIFF_BIAS, entry->bias, grad_bias);
  call.run(entry->primitive);
  return true;
}

// ---- pooling --------------------------------------------------------------------------------
namespace {

struct PoolDescs {
  dnnl::memory::desc src, dst;
  dims strides, kernel, pad_l, pad_r;
};

// pad_r makes oneDNN's output size ours: (out - 1) * stride + kernel - in - pad_l. In ceil mode
// it exceeds pad_l (windows hang over the end).
PoolDescs pool_descs(const PoolGeometry& g) {
  PoolDescs d;
  d.src = {{g.batch, g.channels, g.in_h, g.in_w}, f32, tag::nchw};
  d.dst = {{g.batch, g.channels, g.out_h, g.out_w}, f32, tag::nchw};
  d.strides = {g.stride_h, g.stride_w};
  d.kernel = {g.kernel_h, g.kernel_w};
  d.pad_l = {g.pad_h, g.pad_w};
  d.pad_r = {(g.out_h - 1) * g.stride_h + g.kernel_h - g.in_h - g.pad_h,
             (g.out_w - 1) * g.stride_w + g.kernel_w - g.in_w - g.pad_w};
  return d;
}

Key pool_key(int op, const PoolGeometry& g) {
  return {{op, g.batch, g.channels, g.in_h, g.in_w, g.out_h, g.out_w, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w,
           g.pad_h, g.pad_w, g.count_include_pad}};
}

// oneDNN's "include padding" divides every window by kernel_h * kernel_w, while PyTorch (and
// Cake) do not charge a ceil-mode window for the part beyond the padding; the two agree unless
// a window hangs over the padded input.
bool avg_divisors_agree(const PoolGeometry& g, const PoolDescs& d) {
  return !g.count_include_pad || (d.pad_r[0] <= g.pad_h && d.pad_r[1] <= g.pad_w);
}

dnnl::algorithm avg_algorithm(const PoolGeometry& g) {
  return g.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                             : dnnl::algorithm::pooling_avg_exclude_padding;
}

dnnl::pooling_forward::primitive_desc pool_forward_pd(dnnl::prop_kind prop, dnnl::algorithm algorithm,
                                                      const PoolDescs& d) {
  dnnl::pooling_forward::desc desc(prop, algorithm, d.src, d.dst, d.strides, d.kernel, d.pad_l, d.pad_r);
  return {desc, cpu_engine()};
}

struct PoolEntry {
  bool supported = false;
  PoolDescs descs;
  dnnl::primitive primitive;
};

}  // namespace

bool avg_pool2d_forward(const PoolGeometry& g, const Tensor& x, const Tensor& y) {
  static PrimitiveCache<PoolEntry> cache;
  auto entry = cache.get(pool_key(1, g), [&](PoolEntry& e) {
    e.descs = pool_descs(g);
    if (!avg_divisors_agree(g, e.descs)) throw dnnl::error(dnnl_unimplemented, "divisor convention differs");
    e.primitive = dnnl::pooling_forward(pool_forward_pd(dnnl::prop_kind::forward_training, avg_algorithm(g), e.descs));
  });
  if (!entry->supported) return false;
  run(entry->primitive, {{DNNL_ARG_SRC, wrap(entry->descs.src, x)}, {DNNL_ARG_DST, wrap(entry->descs.dst, y)}});
  return true;
}

bool avg_pool2d_backward(const PoolGeometry& g, const Tensor& grad_y, const Tensor& grad_x) {
  static PrimitiveCache<PoolEntry> cache;
  auto entry = cache.get(pool_key(2, g), [&](PoolEntry& e) {
    e.descs = pool_descs(g);
    const PoolDescs& d = e.descs;
    if (!avg_divisors_agree(g, d)) throw dnnl::error(dnnl_unimplemented, "divisor convention differs");
    dnnl::pooling_backward::desc desc(avg_algorithm(g), d.src, d.dst, d.strides, d.kernel, d.pad_l, d.pad_r);
    e.primitive = dnnl::pooling_backward(
        {desc, cpu_engine(), pool_forward_pd(dnnl::prop_kind::forward_training, avg_algorithm(g), d)});
  });
  if (!entry->supported) return false;
  run(entry->primitive,
      {{DNNL_ARG_DIFF_DST, wrap(entry->descs.dst, grad_y)}, {DNNL_ARG_DIFF_SRC, wrap(entry->descs.src, grad_x)}});
  return true;
}

}  // namespace cake::cpu::onednn

#endif  // CAKE_HAVE_ONEDNN
