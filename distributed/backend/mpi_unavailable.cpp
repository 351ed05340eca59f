// mpi_unavailable.cpp: the "mpi" backend of a build without MPI (CAKE_WITH_MPI=OFF, or
// libopenmpi-dev not installed when CMake ran): asking for it is an error that says so.
#include "cake/distributed/detail/backends.h"

namespace cake::distributed::detail {

bool mpi_built() { return false; }

std::shared_ptr<ProcessGroup> make_mpi_group(double) {
  CAKE_FAIL("the mpi backend is not built into this Cake: install Open MPI (apt-get install libopenmpi-dev "
            "openmpi-bin, or tools/install-deps.sh) and reconfigure with -DCAKE_WITH_MPI=ON");
}

}  // namespace cake::distributed::detail
