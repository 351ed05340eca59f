// tensor.cpp: the non-mathematical parts of Tensor: geometry, element access, construction.
#include "cake/tensor/tensor.h"

#include <ostream>
#include <sstream>

#include "cake/tensor/native/elementwise.h"

namespace cake {

// ---- names ---------------------------------------------------------------------------------
const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::BFloat16: return "bfloat16";
    case DType::Float16: return "float16";
  }
  return "invalid";
}

void refuse_half_dtype(DType t) {
  CAKE_FAIL("this operation does not take ", dtype_name(t), " tensors: 16-bit floats are stored, converted (to), ",
            "multiplied (matmul, linear) and convolved (conv2d, conv_transpose2d); compute the rest in float32 with "
            ".to(cake::kFloat32), or let cake::autocast choose the precision per op");
}
std::ostream& operator<<(std::ostream& out, DType t) { return out << dtype_name(t); }

std::string to_string(Device d) { return d.is_cpu() ? "cpu" : "cuda:" + std::to_string(d.index); }
std::ostream& operator<<(std::ostream& out, Device d) { return out << to_string(d); }
Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string index = text.substr(5);
    CAKE_CHECK(!index.empty() && index.find_first_not_of("0123456789") == std::string::npos,
               "invalid device '", text, "': expected cpu, cuda or cuda:N");
    return Device::cuda(std::stoi(index));
  }
  CAKE_FAIL("invalid device '", text, "': expected cpu, cuda or cuda:N");
}

Device::Device(const std::string& text) : Device(parse_device(text)) {}

// ---- shapes --------------------------------------------------------------------------------
std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  return out << ']';
}
std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}
std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}
Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

// ---- geometry ------------------------------------------------------------------------------
static std::int64_t wrap_dim_of(const Tensor& t, std::int64_t dim, const char* what) {
  const std::int64_t n = t.dim();
  CAKE_CHECK(dim >= -n && dim < n, what, ": dimension ", dim, " out of range for a tensor of shape ", t.sizes());
  return dim < 0 ? dim + n : dim;
}
std::int64_t Tensor::size(std::int64_t dim) const { return sizes()[wrap_dim_of(*this, dim, "size")]; }
std::int64_t Tensor::stride(std::int64_t dim) const { return strides()[wrap_dim_of(*this, dim, "stride")]; }
std::int64_t Tensor::numel() const { return shape_numel(sizes()); }
Device Tensor::device() const { return impl().storage->device; }

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::size_t i = sizes().size(); i-- > 0;) {
    if (sizes()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= sizes()[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl& t = impl();
  return static_cast<char*>(t.storage->data) + t.offset * static_cast<std::int64_t>(element_size());
}

template <class T>
T Tensor::item() const {
  CAKE_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", sizes());
  Tensor host = native::to_dtype(native::to_device(*this, Device::cpu()), dtype_of<T>());
  return *host.data_ptr<T>();
}
Scalar Tensor::item() const {
  switch (dtype()) {
    case DType::Float32:
    case DType::Float64:
    case DType::BFloat16:
    case DType::Float16: return Scalar(item<double>());
    case DType::Bool: return Scalar(item<bool>());
    default: return Scalar(item<std::int64_t>());
  }
}

template bool Tensor::item<bool>() const;
template std::uint8_t Tensor::item<std::uint8_t>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;

// ---- construction --------------------------------------------------------------------------
Allocator& allocator_for(Device device);  // defined below; CUDA's comes from the backend

namespace detail {
Allocator* cuda_allocator = nullptr;  // set by the CUDA backend when compiled in
}

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
  CAKE_CHECK(detail::cuda_allocator != nullptr, "cannot allocate on ", to_string(device),
             ": Cake was built without CUDA (CAKE_WITH_CUDA=OFF)");
  return *detail::cuda_allocator;
}

Tensor make_empty(const Shape& sizes, DType dtype, Device device) {
  for (std::int64_t s : sizes) CAKE_CHECK(s >= 0, "empty: negative size in shape ", sizes);
  auto impl = std::make_shared<TensorImpl>();
  const std::size_t nbytes = static_cast<std::size_t>(shape_numel(sizes)) * cake::element_size(dtype);
  impl->storage = std::make_shared<StorageImpl>(nbytes, allocator_for(device));
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset) {
  CAKE_CHECK(sizes.size() == strides.size(), "make_view: ", sizes.size(), " sizes but ", strides.size(), " strides");
  // Bounds: the lowest and highest element the view can touch must lie in the storage.
  std::int64_t lo = offset, hi = offset;
  bool empty = false;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    CAKE_CHECK(sizes[i] >= 0, "make_view: negative size in ", sizes);
    if (sizes[i] == 0) empty = true;
    const std::int64_t reach = (sizes[i] - 1) * strides[i];
    (reach < 0 ? lo : hi) += reach;
  }
  const auto capacity = static_cast<std::int64_t>(base.storage()->nbytes / base.element_size());
  CAKE_CHECK(empty || (lo >= 0 && hi < capacity), "make_view: view of shape ", sizes, " strides ", strides, " offset ",
             offset, " exceeds a storage of ", capacity, " elements");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace cake
