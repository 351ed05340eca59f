// nmf_clustering.h: clustering by non-negative matrix factorisation, each sample joining the part
// on which it loads most (the JULE talk's baseline "NMF-LP").
//
//   cake::cluster::NMFClustering model({.n_clusters = 10, .random_state = 0});
//   cake::Tensor labels = model.fit_predict(X);   // [n] int64; X [n, f] non-negative
//   cake::Tensor parts = model.centers();         // [10, f]: the parts, each of unit length
//   cake::Tensor more = model.predict(X_new);     // the same rule on new rows, parts fixed
//
// The rule of Xu, Liu & Gong 2003 ("Document clustering based on non-negative matrix
// factorization", SIGIR): factorise X ~ W H with as many parts as clusters (decomposition/nmf.h),
// rescale each part h_k to unit Euclidean length and its column of W by the same factor (W H is
// unchanged), and give sample i the label argmax_k W_ik. Without the rescaling a part of large
// norm would win with small coefficients, and the labels would depend on how the factorisation
// happened to split each scale between W and H. Akata, Thurau & Bauckhage 2011 ("Non-negative
// matrix factorization in multimodality data for segmentation and label prediction", Computer
// Vision Winter Workshop), the talk's "NMF-LP", predict labels from the coefficients the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/decomposition/nmf.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

struct NMFClusteringOptions {
  std::int64_t n_clusters = 8;  // the rank of the factorisation
  decomposition::NMFInit init = decomposition::NMFInit::Auto;
  decomposition::NMFSolver solver = decomposition::NMFSolver::CoordinateDescent;
  std::int64_t max_iter = 200;
  double tol = 1e-4;
  std::optional<std::uint64_t> random_state = std::nullopt;  // the factorisation's draws
};

class NMFClustering : public Clusterer {
 public:
  explicit NMFClustering(NMFClusteringOptions options = {});

  NMFClustering& fit(const Tensor& x) override;
  Tensor fit_predict(const Tensor& x) override;
  Tensor predict(const Tensor& x) const override;     // argmax of the rescaled coefficients of new rows
  bool can_predict() const override { return true; }
  std::string name() const override { return "nmf-clustering"; }

  const Tensor& labels() const override;              // [n] int64
  Tensor centers() const override;                    // the parts [K, f], unit rows
  const Tensor& coefficients() const;                 // the rescaled W [n, K] of the training data
  const decomposition::NMF& factorisation() const { return nmf_; }
  const NMFClusteringOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  Tensor rescaled(const Tensor& w) const;  // W times each part's norm

  NMFClusteringOptions options_;
  decomposition::NMF nmf_;
  Tensor part_norms_;    // [K], the parts' lengths, W's dtype
  Tensor coefficients_;  // [n, K]
  Tensor labels_;
};

}  // namespace cake::cluster
