// cuda/backend/indexing_glue.cpp: the CUDA kernels registered for the thirteen dispatch points of
// native/indexing.h.
//
// gather, scatter_add, scatter, masked select/scatter, cumsum and bincount call their kernels
// (indexing_kernels.cu), searchsorted and the running scans theirs (search_kernels.cu); sort is
// CUB's segmented radix sort (sort_kernels.cu); topk, kthvalue and unique are built here from
// sort and this backend's other kernels, exactly to the CPU's contract:
//   topk:   the first k of the stable sort (best first); unsorted, those k in position order;
//   kthvalue: one column of the stable ascending sort, per row for the middle of the numbers;
//   unique: sorted values, a group starting wherever a value differs from its predecessor (so
//           each NaN is a group of its own, NaN != NaN), inverse by scattering the group ids
//           back through the sort's permutation, counts by bincount of the group ids.
// Two ops read one number back from the device (a host synchronisation): gather/scatter(_add),
// to report a bad index (NOTE [ Checking indices inside the kernel ] in the CPU twin), and
// masked_select, to size its output.
#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "cake/cuda/backend/launchers.h"
#include "cake/cuda/backend/tensor_geometry.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake::cuda {
namespace {

// ---- helpers ----------------------------------------------------------------------------------

// Device scratch for the sort kernels: tensors from the caching allocator, kept alive in
// `context` (a std::vector<Tensor>) until the glue returns. The work that uses them is queued on
// the current stream, and a block freed on a stream is reused only by work queued after it on
// that stream (or after an event: cuda/caching_allocator.cpp), so freeing on return is safe.
void* scratch(std::size_t bytes, void* context) {
  auto& keep = *static_cast<std::vector<Tensor>*>(context);
  keep.push_back(make_empty({static_cast<std::int64_t>(std::max<std::size_t>(bytes, 1))}, kUInt8, Device::cuda(0)));
  return keep.back().raw_data();
}

// The same message as the CPU kernel: the first bad value in row-major order.
[[noreturn]] void report_bad_index(const Tensor& index, std::int64_t dim, std::int64_t size) {
  const Tensor flat = native::contiguous(index.cpu());
  const std::int64_t* v = flat.data_ptr<std::int64_t>();
  const std::int64_t* end = v + flat.numel();
  const std::int64_t* bad = std::find_if(v, end, [size](std::int64_t i) { return i < 0 || i >= size; });
  CAKE_FAIL("index ", bad == end ? -1 : *bad, " is out of range for dimension ", dim, " of size ", size);
}

// A device flag the index kernels raise on a bad index.
Tensor device_flag() {
  Tensor flag = make_empty({1}, kInt64, Device::cuda(0));
  native::fill_(flag, 0);
  return flag;
}

// x seen with `sizes` and stride 0 along dim (as cpu/indexing_kernels.cpp's line_starts).
Tensor line_starts(const Tensor& x, std::int64_t dim, const Shape& sizes) {
  Shape strides = x.strides();
  strides[static_cast<std::size_t>(dim)] = 0;
  return native::as_strided(x, sizes, strides, x.storage_offset());
}

void check_sort_size(std::int64_t total, const char* op) {
  CAKE_CHECK(total <= INT_MAX, op, " on CUDA: ", total, " elements exceed the 2^31 - 1 that CUB's sort indexes");
}

// ---- gather / scatter_add ---------------------------------------------------------------------

void gather_kernel(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& out) {
  const std::int64_t size = x.sizes()[dim];
  if (size == 0) report_bad_index(index, dim, size);
  const Tensor x_lines = line_starts(x, dim, out.sizes());
  const Tensor bad = device_flag();
  kernels::launch_gather(scalar_type(x.dtype()), make_geometry<3>({&out, &x_lines, &index}), x.strides()[dim], size,
                         bad.data_ptr<std::int64_t>(), current_stream());
  if (bad.item<std::int64_t>() != 0) report_bad_index(index, dim, size);
}

// index_add of float32 rows into a few rows (k-means' centroid sums): out [K, D] and src [N, D]
// contiguous, the index a 1-D [N] expanded along the columns (native::index_add's form). Such a
// scatter takes the privatised kernel (NOTE [ Privatised row sums ]); anything else the generic one.
bool scatters_whole_rows(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src) {
  return out.dtype() == kFloat32 && dim == 0 && out.dim() == 2 && src.dim() == 2 && out.is_contiguous() &&
         src.is_contiguous() && src.size(1) == out.size(1) && index.dim() == 2 && index.strides()[0] == 1 &&
         index.strides()[1] == 0 && out.size(0) <= kernels::scatter_rows_max_targets() && src.numel() >= (1 << 16) &&
         out.size(1) <= kernels::scatter_rows_max_columns();
}

void scatter_add_kernel(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha) {
  const std::int64_t size = out.sizes()[dim];
  if (size == 0) report_bad_index(index, dim, size);
  CAKE_CHECK(out.dtype() != kBool, "scatter_add: cannot add into a bool tensor");
  if (scatters_whole_rows(out, dim, index, src)) {
    const Tensor bad = device_flag();
    kernels::launch_scatter_rows_f32(out.data_ptr<float>(), src.data_ptr<float>(), index.data_ptr<std::int64_t>(),
                                     src.size(0), out.size(0), out.size(1), alpha.to<float>(),
                                     bad.data_ptr<std::int64_t>(), current_stream());
    if (bad.item<std::int64_t>() != 0) report_bad_index(index, dim, size);
    return;
  }
  const Tensor out_lines = line_starts(out, dim, src.sizes());
  unsigned char bits[8] = {};
  visit_dtype(out.dtype(), [&]<class T>() {
    const T a = alpha.to<T>();
    std::memcpy(bits, &a, sizeof(T));
  });
  const Tensor bad = device_flag();
  kernels::launch_scatter_add(scalar_type(out.dtype()), make_geometry<3>({&out_lines, &src, &index}),
                              out.strides()[dim], size, bits, bad.data_ptr<std::int64_t>(), current_stream());
  if (bad.item<std::int64_t>() != 0) report_bad_index(index, dim, size);
}

void scatter_kernel(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src,
                    native::ScatterReduce reduce) {
  const std::int64_t size = out.sizes()[dim];
  if (size == 0) report_bad_index(index, dim, size);
  const Tensor out_lines = line_starts(out, dim, src.sizes());
  const Tensor bad = device_flag();
  kernels::launch_scatter(scalar_type(out.dtype()), make_geometry<3>({&out_lines, &src, &index}), out.strides()[dim],
                          size, static_cast<int>(reduce), bad.data_ptr<std::int64_t>(), current_stream());
  if (bad.item<std::int64_t>() != 0) report_bad_index(index, dim, size);
}

// ---- masks ------------------------------------------------------------------------------------

// The inclusive running count of a bool mask in row-major order, int64 with the mask's sizes.
Tensor running_count(const Tensor& mask) {
  const Tensor flat = native::reshape(native::to_dtype(mask, kInt64), {-1});
  return native::view(native::cumsum(flat, 0), mask.sizes());
}

Tensor masked_select_kernel(const Tensor& x, const Tensor& mask) {
  if (x.numel() == 0) return make_empty({0}, x.dtype(), x.device());
  const Tensor rank = running_count(mask);
  const std::int64_t total = native::reshape(rank, {-1}).select(0, x.numel() - 1).item<std::int64_t>();
  Tensor out = make_empty({total}, x.dtype(), x.device());
  kernels::launch_masked_select(scalar_type(x.dtype()), make_geometry<3>({&x, &mask, &rank}), out.raw_data(),
                                current_stream());
  return out;
}

void masked_scatter_kernel(const Tensor& out, const Tensor& mask, const Tensor& src) {
  const Tensor rank = running_count(mask);
  kernels::launch_masked_scatter(scalar_type(out.dtype()), make_geometry<3>({&out, &mask, &rank}), src.raw_data(),
                                 current_stream());
}

// ---- sort and topk ----------------------------------------------------------------------------

// x with `dim` moved last, contiguous, and its number of rows.
struct Rows {
  Tensor data;  // [..., n], contiguous
  std::int64_t rows, n;
};
Rows rows_along(const Tensor& x, std::int64_t dim) {
  Rows r{native::contiguous(native::transpose(x, dim, -1)), 0, x.sizes()[dim]};
  r.rows = r.n ? x.numel() / r.n : 0;
  return r;
}

// Sorted copies of each row: (values, positions), both [rows, n].
std::pair<Tensor, Tensor> sort_rows(const Rows& r, bool descending, const char* op) {
  check_sort_size(r.rows * r.n, op);
  Tensor values = make_empty({r.rows, r.n}, r.data.dtype(), r.data.device());
  Tensor positions = make_empty({r.rows, r.n}, kInt64, r.data.device());
  std::vector<Tensor> keep;
  kernels::launch_sort_rows(scalar_type(r.data.dtype()), r.data.raw_data(), values.raw_data(),
                            positions.data_ptr<std::int64_t>(), r.rows, r.n, descending, &scratch, &keep,
                            current_stream());
  return {values, positions};
}

// Writes [rows, m] results into `out` (x's shape with m at dim) through the transposed order.
void write_rows(const Tensor& out, std::int64_t dim, const Tensor& rows) {
  const Tensor target = native::transpose(out, dim, -1);
  native::copy_(target, native::view(rows, target.sizes()));
}

void sort_kernel(const Tensor& x, std::int64_t dim, bool descending, const Tensor& values, const Tensor& indices) {
  const auto [v, i] = sort_rows(rows_along(x, dim), descending, "sort");
  write_rows(values, dim, v);
  write_rows(indices, dim, i);
}

void topk_kernel(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted, const Tensor& values,
                 const Tensor& indices) {
  const Rows r = rows_along(x, dim);
  // Best first: descending for the largest (NaN counts as the largest), ascending otherwise.
  const auto [all_values, all_positions] = sort_rows(r, largest, "topk");
  Tensor best = native::contiguous(native::narrow(all_positions, 1, 0, k));
  Tensor best_values = native::narrow(all_values, 1, 0, k);
  if (!sorted) {  // the k chosen, back in position order
    std::vector<Tensor> keep;
    kernels::launch_sort_positions(best.data_ptr<std::int64_t>(), r.rows, k, r.n, &scratch, &keep, current_stream());
    best_values = native::gather(native::view(r.data, {r.rows, r.n}), 1, best);
  }
  write_rows(values, dim, native::contiguous(best_values));
  write_rows(indices, dim, best);
}

// kthvalue: one column of the stable ascending sort (NaN last): column k, or for the middle of
// the numbers each row's column (numbers - 1) / 2, its count of non-NaN elements (x == x) found
// on the device.
void kthvalue_kernel(const Tensor& x, std::int64_t dim, native::KthRank rank, std::int64_t k, const Tensor& values,
                     const Tensor& indices) {
  const Rows r = rows_along(x, dim);
  const auto [sorted, positions] = sort_rows(r, /*descending=*/false, "kthvalue");
  if (rank == native::KthRank::Fixed) {
    write_rows(values, dim, native::contiguous(native::narrow(sorted, 1, k, 1)));
    write_rows(indices, dim, native::contiguous(native::narrow(positions, 1, k, 1)));
    return;
  }
  const Tensor rows = native::view(r.data, {r.rows, r.n});
  const Tensor numbers = native::sum(native::to_dtype(native::binary(native::BinaryOp::Eq, rows, rows), kInt64), {1},
                                     /*keepdim=*/true);
  const Tensor column = native::binary(native::BinaryOp::FloorDivide,
                                       native::binary(native::BinaryOp::Maximum,
                                                      native::binary(native::BinaryOp::Sub, numbers, Scalar(1)),
                                                      Scalar(0)),
                                       Scalar(2));
  write_rows(values, dim, native::gather(sorted, 1, column));
  write_rows(indices, dim, native::gather(positions, 1, column));
}

// ---- cumsum -----------------------------------------------------------------------------------

void cumsum_kernel(const Tensor& x, std::int64_t dim, bool reverse, const Tensor& out) {
  const Tensor src = native::contiguous(x);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < dim) outer *= x.sizes()[d];
    if (d > dim) inner *= x.sizes()[d];
  }
  kernels::launch_cumsum(scalar_type(x.dtype()), src.raw_data(), out.raw_data(), outer, x.sizes()[dim], inner, reverse,
                         current_stream());
}

// ---- unique and bincount ----------------------------------------------------------------------

void unique_kernel(const Tensor& x, bool want_inverse, bool want_counts, Tensor& values, Tensor& inverse,
                   Tensor& counts) {
  const std::int64_t n = x.numel();
  if (n == 0) {
    values = make_empty({0}, x.dtype(), x.device());
    if (want_inverse) inverse = make_empty(x.sizes(), kInt64, x.device());
    if (want_counts) counts = make_empty({0}, kInt64, x.device());
    return;
  }
  Rows r{native::reshape(native::contiguous(x), {1, n}), 1, n};
  const auto [sorted, permutation] = sort_rows(r, false, "unique");
  const Tensor sorted_flat = native::view(sorted, {n});
  // A group starts at position 0 and wherever a value differs from the one before it.
  Tensor starts = make_empty({n}, kBool, x.device());
  native::fill_(native::narrow(starts, 0, 0, 1), true);
  if (n > 1)
    native::copy_(native::narrow(starts, 0, 1, n - 1),
                  native::binary(native::BinaryOp::Ne, native::narrow(sorted_flat, 0, 1, n - 1),
                                 native::narrow(sorted_flat, 0, 0, n - 1)));
  values = native::masked_select(sorted_flat, starts);
  if (!want_inverse && !want_counts) return;
  const Tensor group = native::binary(native::BinaryOp::Sub, native::cumsum(starts, 0), Scalar(1));  // int64
  if (want_inverse) {
    Tensor inv = make_empty({n}, kInt64, x.device());
    native::fill_(inv, 0);
    native::scatter_add_(inv, 0, native::view(permutation, {n}), group);  // inv[perm[i]] = group[i]
    inverse = native::view(inv, x.sizes());
  }
  if (want_counts) counts = native::bincount(group);
}

void bincount_kernel(const Tensor& x, const Tensor& weights, const Tensor& out) {
  kernels::launch_bincount(scalar_type(out.dtype()), x.data_ptr<std::int64_t>(),
                           weights.defined() ? weights.raw_data() : nullptr, out.raw_data(), x.numel(),
                           current_stream());
}

void scan_kernel(const Tensor& x, std::int64_t dim, native::ScanOp op, const Tensor& values, const Tensor& indices) {
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < dim) outer *= x.sizes()[d];
    if (d > dim) inner *= x.sizes()[d];
  }
  kernels::launch_scan(scalar_type(x.dtype()), static_cast<int>(op), x.raw_data(), values.raw_data(),
                       indices.defined() ? indices.data_ptr<std::int64_t>() : nullptr, outer, x.sizes()[dim], inner,
                       current_stream());
}

void searchsorted_kernel(const Tensor& sorted, const Tensor& values, bool right, const Tensor& out) {
  kernels::launch_searchsorted(scalar_type(values.dtype()), sorted.raw_data(), values.raw_data(),
                               out.data_ptr<std::int64_t>(), values.size(0), sorted.size(0), sorted.size(1),
                               values.size(1), right, current_stream());
}

}  // namespace

CAKE_REGISTER_KERNEL(native::gather_stub, DeviceType::CUDA, &gather_kernel);
CAKE_REGISTER_KERNEL(native::scatter_add_stub, DeviceType::CUDA, &scatter_add_kernel);
CAKE_REGISTER_KERNEL(native::scatter_stub, DeviceType::CUDA, &scatter_kernel);
CAKE_REGISTER_KERNEL(native::masked_select_stub, DeviceType::CUDA, &masked_select_kernel);
CAKE_REGISTER_KERNEL(native::masked_scatter_stub, DeviceType::CUDA, &masked_scatter_kernel);
CAKE_REGISTER_KERNEL(native::sort_stub, DeviceType::CUDA, &sort_kernel);
CAKE_REGISTER_KERNEL(native::topk_stub, DeviceType::CUDA, &topk_kernel);
CAKE_REGISTER_KERNEL(native::cumsum_stub, DeviceType::CUDA, &cumsum_kernel);
CAKE_REGISTER_KERNEL(native::unique_stub, DeviceType::CUDA, &unique_kernel);
CAKE_REGISTER_KERNEL(native::bincount_stub, DeviceType::CUDA, &bincount_kernel);
CAKE_REGISTER_KERNEL(native::searchsorted_stub, DeviceType::CUDA, &searchsorted_kernel);
CAKE_REGISTER_KERNEL(native::scan_stub, DeviceType::CUDA, &scan_kernel);
CAKE_REGISTER_KERNEL(native::kthvalue_stub, DeviceType::CUDA, &kthvalue_kernel);

}  // namespace cake::cuda
