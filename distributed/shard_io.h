// shard_io.h: each rank reads its own rows of one data file.
//
//   auto group = cake::distributed::init_process_group();
//   cake::distributed::FileShard mine = cake::distributed::read_npy_shard(*group, "big.npy");
//   cake::distributed::KMeansResult fit = cake::distributed::fit_kmeans(*group, mine.rows, {.n_clusters = 50});
//
// The rows of an [N, ...] .npy file are split as shard_rows(N, rank, world_size) says
// (contiguous, in rank order), and each rank reads only its own: the header gives the shape and
// dtype, one seek skips the rows before the shard (cake::data::read_npy_rows). So no rank holds
// the whole file in memory, and the file must be reachable at the same path on every rank.
#pragma once

#include <cstdint>
#include <filesystem>

#include "cake/distributed/process_group.h"

namespace cake::distributed {

struct FileShard {
  Tensor rows;                 // this rank's rows, as read_npy reads them (dtype of the file)
  Shard shard;                 // where they sit among all rows
  std::int64_t total_rows = 0;  // N
};

// No collective: every rank reads the header itself.
FileShard read_npy_shard(const ProcessGroup& group, const std::filesystem::path& path);

}  // namespace cake::distributed
