// device_support.cpp: the table of tools/device_support.h. Keep docs/cuda.md ("Which commands
// run on --device cuda") in step with it.
#include "tools/device_support.h"

#include <map>

namespace cake::cli {
namespace {

// Networks: the module is moved once to ctx.device and each batch's loss moves its batch there
// (the Trainer's data sets stay on the CPU); features come back to the CPU for the metrics,
// figures and any classical clustering on them.
const char* const kNetwork = "network and its training on the device; metrics and figures from CPU copies";
const char* const kNetworkThenCpu =
    "network and its training on the device; the clustering of its codes and the metrics on the CPU";

const std::map<std::string, DeviceSupport>& device_support_table() {
  static const std::map<std::string, DeviceSupport> entries = {
      // ---- networks ----
      {"autoencoder", {true, kNetwork}},
      {"conv-autoencoder", {true, kNetwork}},
      {"denoising-autoencoder", {true, kNetwork}},
      {"masked-autoencoder", {true, kNetwork}},
      {"vae", {true, kNetwork}},
      {"made", {true, kNetwork}},
      {"conv-vae", {true, kNetwork}},
      {"vae-ensemble", {true, kNetworkThenCpu}},
      {"finetune", {true, kNetwork}},
      {"ae-kmeans", {true, kNetworkThenCpu}},
      {"ae-gmm", {true, kNetworkThenCpu}},
      {"dec", {true, kNetwork}},
      {"idec", {true, kNetwork}},
      {"vade", {true, kNetwork}},
      {"n2d", {true, "autoencoder on the device; UMAP and the GMM on its codes on the CPU"}},
      {"deepcluster", {true, "convnet on the device; the k-means of its features each epoch on the CPU"}},
      {"dac", {true, kNetwork}},
      {"jule", {true, "convnet on the device; the agglomerative merging on the CPU"}},
      {"moco", {true, kNetworkThenCpu}},
      {"moco-ablation", {true, kNetworkThenCpu}},
      {"gan", {true, kNetwork}},
      {"infogan", {true, kNetwork}},
      {"scae", {true, kNetworkThenCpu}},
      {"dbn",
       {true, "the RBMs' pretraining on the CPU; the unrolled autoencoder's fine-tuning on the device; the k-means "
              "of its codes and the metrics on the CPU"}},
      // ---- classical, in tensor operations ----
      {"kmeans-lloyd", {true, "Lloyd's loop in tensor operations: distances as one GEMM, min, index_add"}},
      {"kmeans",
       {true, "k-means++ seeds on the CPU, then Lloyd steps on the device (distances as one GEMM + arg-min, "
              "centres by index_add); Elkan's pruning is CPU only"}},
      {"gmm",
       {true, "the E-step of every EM iteration on the device (GEMMs and log-sum-exp); the initialisation, "
              "the M-step and the final scores on the CPU"}},
      {"pca",
       {true, "the covariance as one GEMM on the device; its d x d symmetric eigendecomposition on the device "
              "too (cuSOLVER's syevd, float64); the projection as a GEMM on the device"}},
      // ---- classical, CPU only ----
      {"tsne",
       {true, "method=exact: the O(N^2) gradient on the device each step, the optimiser on the CPU; barnes_hut "
              "(the default) and fft stay on the CPU with a warning"}},
      {"minibatch-kmeans", {false, "per-sample centre updates in a CPU loop"}},
      {"agglomerative", {false, "merging with a CPU heap"}},
      {"spectral", {false, "nearest-neighbour graph and Lanczos eigensolver on the CPU"}},
      {"landmark-spectral", {false, "landmark k-NN codes and a small eigenproblem on the CPU"}},
      {"sparse-subspace", {false, "per-sample lasso or OMP codes on the CPU"}},
      {"graph-agglomerative", {false, "walks on the k-NN graph and a merge queue on the CPU"}},
      {"dbscan", {false, "density scan over neighbour lists on the CPU"}},
      {"nmf", {false, "coordinate-descent updates in CPU loops"}},
      {"nmf-clustering", {false, "NMF's coordinate-descent updates in CPU loops"}},
      {"deep-semi-nmf", {false, "GEMMs and small eigendecompositions on the CPU (not yet moved to the device)"}},
      {"fastica", {false, "fixed-point iterations in CPU loops"}},
      {"sparse-coding", {false, "coordinate-descent lasso in CPU loops"}},
      {"umap", {false, "nearest-neighbour descent and the layout's SGD in CPU loops"}},
      {"rbm", {false, "contrastive divergence on the CPU (batches of 10 rows: launch-bound on a GPU)"}},
      {"dbm", {false, "mean field and persistent chains on the CPU (the model keeps its parameters there)"}},
  };
  return entries;
}

}  // namespace

std::optional<DeviceSupport> device_support(const std::string& command) {
  const auto it = device_support_table().find(command);
  if (it == device_support_table().end()) return std::nullopt;
  return it->second;
}

std::string cpu_only_warning(const std::string& command, const DeviceSupport& support) {
  return command + " has no CUDA path (" + support.note + "); it runs on the CPU";
}

}  // namespace cake::cli
