// cuda/runtime.cpp: availability queries. With CAKE_HAVE_CUDA the CUDA backend's own files
// (cuda/*.cu) define the real functions; without it these answer "no GPU".
#include "cake/cuda/cuda.h"
#include "cake/tensor/dispatch.h"

#ifndef CAKE_HAVE_CUDA
namespace cake {
bool cuda_backend_compiled() { return false; }
namespace cuda {
bool is_available() { return false; }
int device_count() { return 0; }
void synchronize() {}
void empty_cache() {}
MemoryStats memory_stats() { return {}; }
void set_poison_allocations(bool) {}
namespace {
bool tf32_allowed = false;
}
void set_allow_tf32(bool allow) { tf32_allowed = allow; }
bool allow_tf32() { return tf32_allowed; }
}  // namespace cuda
}  // namespace cake
#endif
