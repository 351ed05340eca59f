// cuda/backend/copy_kernels.cu: copy with dtype conversion, fill, and where (see loops.cuh).
#include <cstring>

#include "cake/cuda/backend/elementwise_ops.cuh"

namespace cake::cuda::kernels {
namespace {

// As the CPU copy: convert_element (tensor/half.h), the same rules and roundings on both devices.
template <class To>
struct Convert {
  template <class From>
  __host__ __device__ To operator()(From v) const {
    return convert_element<To>(v);
  }
};

template <class T>
struct Constant {
  T value;
  __host__ __device__ T operator()() const { return value; }
};

struct Select {
  template <class T>
  __host__ __device__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};

}  // namespace

void launch_copy(ScalarType dst, ScalarType src, const Geometry<2>& g, Stream stream) {
  visit_storage(dst, [&]<class D>() {
    visit_storage(src, [&]<class S>() { launch_elementwise<D, Convert<D>, S>(g, Convert<D>{}, stream); });
  });
}

void launch_fill(ScalarType type, const Geometry<1>& g, const void* value, Stream stream) {
  visit_storage(type, [&]<class T>() {
    T v;
    std::memcpy(&v, value, sizeof(T));
    launch_elementwise<T, Constant<T>>(g, Constant<T>{v}, stream);
  });
}

void launch_where(ScalarType type, const Geometry<4>& g, Stream stream) {
  visit(type, "where", [&]<class T>() { launch_elementwise<T, Select, bool, T, T>(g, Select{}, stream); });
}

}  // namespace cake::cuda::kernels
