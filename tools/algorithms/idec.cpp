// idec.cpp: `cake run idec`, Improved Deep Embedded Clustering (Guo, Gao, Liu & Yin 2017).
//
//   cake run idec --data fashion-mnist:all --out runs/idec
//
// DEC (dec.cpp) that keeps the decoder: the loss is L_r + gamma L_c with the reconstruction
// error L_r and DEC's clustering loss L_c (gamma 0.1), trained with Adam, so that the clustering
// cannot distort the embedding away from what describes the images (the paper's "local structure
// preservation"). docs/algorithms/dec.md.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::idec_command {
namespace {

CAKE_REGISTER_ALGORITHM({
    .name = "idec",
    .summary = "Improved DEC: DEC's clustering loss plus the autoencoder's reconstruction loss (gamma 0.1, Adam)",
    .reference = "Guo, Gao, Liu & Yin 2017 (IJCAI), 'Improved Deep Embedded Clustering with Local Structure Preservation'",
    .params = networks::dec_params(/*idec=*/true),
    .run = [](RunContext& ctx) { networks::run_dec(ctx, /*idec=*/true); },
    .multi_rank = MultiRank::DataParallelPretraining,
});

}  // namespace
}  // namespace cake::cli::idec_command
