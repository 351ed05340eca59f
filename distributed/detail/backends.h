// detail/backends.h: the seam between process_group.cpp and the backends' sources, which
// CMake picks by what the build found: distributed/backend/mpi_group.cpp (with <mpi.h>) or
// mpi_unavailable.cpp, nccl_group.cpp (with <nccl.h>) or nccl_unavailable.cpp. Only those
// files see the libraries' headers, so no installed header needs MPI or NCCL.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cake/distributed/process_group.h"

namespace cake::distributed::detail {

// Whether this build holds the backend.
bool mpi_built();
bool nccl_built();

// The MPI world of this process (initialises MPI on first use). Throws when not built.
std::shared_ptr<ProcessGroup> make_mpi_group(double timeout_seconds);
// NCCL over the same world (ranks and the ncclUniqueId come through MPI when launched by
// mpirun, else a single rank). Throws when not built or without a GPU.
std::shared_ptr<ProcessGroup> make_nccl_group(double timeout_seconds);

// Waits until ready() or the deadline, polling (each poll also advances MPI's transfers) and
// yielding the core between polls so that oversubscribed ranks (more ranks than cores) leave
// it to the peer they wait for; after two seconds, every 200 us. Returns false on timeout.
bool poll_until(const std::function<bool()>& ready, double timeout_seconds);

// "all_reduce timed out after 300 s on rank 1 of 3 (backend mpi): ..." with the advice.
std::string timeout_message(const char* what, double seconds, int rank, int world_size, const std::string& backend);

}  // namespace cake::distributed::detail
