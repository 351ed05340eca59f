// nccl_unavailable.cpp: the "nccl" backend of a build without CUDA or without NCCL: asking
// for it is an error that says so.
#include "cake/distributed/detail/backends.h"

namespace cake::distributed::detail {

bool nccl_built() { return false; }

std::shared_ptr<ProcessGroup> make_nccl_group(double) {
  CAKE_FAIL("the nccl backend is not built into this Cake: it needs the CUDA backend (-DCAKE_WITH_CUDA=ON) and NCCL "
            "(nccl.h and libnccl.so, shipped with the CUDA toolkit); CPU tensors use the mpi backend");
}

}  // namespace cake::distributed::detail
