// shard_io.cpp: a rank's own rows of a .npy file. See shard_io.h.
#include "cake/distributed/shard_io.h"

#include "cake/data/npy.h"

namespace cake::distributed {

FileShard read_npy_shard(const ProcessGroup& group, const std::filesystem::path& path) {
  const Shape shape = data::npy_shape(path);
  CAKE_CHECK(!shape.empty(), path.string(), ": a shard needs an array with rows, got a scalar");
  FileShard out;
  out.total_rows = shape[0];
  out.shard = shard_rows(shape[0], group.rank(), group.world_size());
  out.rows = data::read_npy_rows(path, out.shard.begin, out.shard.size());
  return out;
}

}  // namespace cake::distributed
