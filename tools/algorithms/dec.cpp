// dec.cpp: `cake run dec`, Deep Embedded Clustering (Xie, Girshick & Farhadi 2016).
//
//   cake run dec --data fashion-mnist:all --out runs/dec
//   cake run dec --data fashion-mnist:all --out runs/dec2 --set pretrained=runs/dec/model.safetensors
//
// Pretrains DEC's 784-500-500-2000-10 autoencoder (SGD lr 1, momentum 0.9, batch 256, 300
// epochs: the reference implementation's recipe) unless `pretrained` names one, places the first
// centres by k-means (n_init 20) on its codes, then trains the encoder and the centres on
// KL(P || Q) with the target P refreshed every 140 steps until fewer than 0.1% of the labels
// change. docs/algorithms/dec.md has the equations, the files and the reproduction of the
// published Fashion-MNIST figures.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::dec_command {
namespace {

CAKE_REGISTER_ALGORITHM({
    .name = "dec",
    .summary = "Deep Embedded Clustering: pretrained autoencoder, then KL(P||Q) on Student's t soft assignments",
    .reference = "Xie, Girshick & Farhadi 2016 (ICML), 'Unsupervised Deep Embedding for Clustering Analysis'",
    .params = networks::dec_params(/*idec=*/false),
    .run = [](RunContext& ctx) { networks::run_dec(ctx, /*idec=*/false); },
    .multi_rank = MultiRank::DataParallelPretraining,
});

}  // namespace
}  // namespace cake::cli::dec_command
