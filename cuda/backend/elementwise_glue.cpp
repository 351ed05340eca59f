// cuda/backend/elementwise_glue.cpp: the CUDA kernels behind native/elementwise.h's stubs:
// unary and binary (every row of the op tables), where, copy (with dtype conversion) and fill.
// Arguments arrive checked and broadcast (tensor/native/elementwise.cpp); this glue only
// describes the operands to the kernels (tensor_geometry.h) and picks the stream.
#include <cstring>

#include "cake/cuda/backend/kernel_api.h"
#include "cake/cuda/backend/tensor_geometry.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::cuda {
namespace {

void unary_kernel(native::UnaryOp op, native::UnaryParams p, const Tensor& x, const Tensor& out) {
  kernels::launch_unary(op, p, scalar_type(x.dtype()), make_geometry<2>({&out, &x}), current_stream());
}

void binary_kernel(native::BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  kernels::launch_binary(op, scalar_type(a.dtype()), make_geometry<3>({&out, &a, &b}), current_stream());
}

void copy_kernel(const Tensor& src, const Tensor& dst) {
  // Same dtype, both dense and non-overlapping: one device-to-device copy.
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    if (src.raw_data() != dst.raw_data())
      device_api().memcpy_async(dst.raw_data(), src.raw_data(), dst.nbytes(), CopyKind::DeviceToDevice,
                                current_stream());
    return;
  }
  kernels::launch_copy(scalar_type(dst.dtype()), scalar_type(src.dtype()), make_geometry<2>({&dst, &src}),
                       current_stream());
}

void fill_kernel(const Tensor& dst, Scalar value) {
  unsigned char bits[8] = {};
  visit_storage_dtype(dst.dtype(), [&]<class T>() {
    const T v = value.to<T>();
    std::memcpy(bits, &v, sizeof(T));
  });
  kernels::launch_fill(scalar_type(dst.dtype()), make_geometry<1>({&dst}), bits, current_stream());
}

void where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  kernels::launch_where(scalar_type(out.dtype()), make_geometry<4>({&out, &cond, &a, &b}), current_stream());
}

}  // namespace

CAKE_REGISTER_KERNEL(native::unary_stub, DeviceType::CUDA, &unary_kernel);
CAKE_REGISTER_KERNEL(native::binary_stub, DeviceType::CUDA, &binary_kernel);
CAKE_REGISTER_KERNEL(native::copy_stub, DeviceType::CUDA, &copy_kernel);
CAKE_REGISTER_KERNEL(native::fill_stub, DeviceType::CUDA, &fill_kernel);
CAKE_REGISTER_KERNEL(native::where_stub, DeviceType::CUDA, &where_kernel);

}  // namespace cake::cuda
