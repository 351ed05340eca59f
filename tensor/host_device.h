// host_device.h: CAKE_HD, the mark of a function that both backends compile.
//
// Under nvcc a CAKE_HD function is __host__ __device__, so the CPU loops and the CUDA kernels
// call the same code (tensor/functors.h, tensor/special_functions.h); under g++ it is inline.
//
//   CAKE_HD float twice(float x) { return 2 * x; }
#pragma once

#if defined(__CUDACC__)
#define CAKE_HD __host__ __device__ __forceinline__
#else
#define CAKE_HD inline
#endif
