// Every classical command's defaults are the library's: for each parameter of the wrappers in
// tools/algorithms/ (compiled into this program, see tests/CMakeLists.txt), the default `cake run`
// uses equals the field of a default-constructed options struct. Adding a parameter without a
// check here fails the last test case, so a default restated as text cannot slip in unnoticed.
#include <map>
#include <set>

#include <cake/cake.h>

#include "helpers.h"
#include "tools/params.h"
#include "tools/registry.h"

using namespace cake;
using namespace cake::cli;
using nlohmann::json;

namespace {

std::map<std::string, std::set<std::string>>& checked() {
  static std::map<std::string, std::set<std::string>> names;
  return names;
}

// The default of `name` in the command `algorithm`, parsed as `cake run` parses it.
json cli_default(const std::string& algorithm, const std::string& name) {
  const AlgorithmEntry& entry = cli::algorithms().at(algorithm);
  for (const ParamSpec& spec : entry.params)
    if (spec.name == name) {
      checked()[algorithm].insert(name);
      return parse_param_text(algorithm, spec, spec.default_value);
    }
  FAIL(algorithm << " has no parameter " << name);
  return {};
}
std::string cli_text(const std::string& algorithm, const std::string& name) {
  return cli_default(algorithm, name).get<std::string>();
}

// The CLI's own choices, where the command line deliberately differs from the library or has a
// setting the library does not (each with its reason).
void cli_only(const std::string& algorithm, const std::string& name) { checked()[algorithm].insert(name); }

// kmeans, kmeans-lloyd, minibatch-kmeans: the defaults of cake::cluster's option structs.
void check_kmeans_family() {
  const cluster::KMeansOptions km;
  CHECK(cli_default("kmeans", "n_clusters") == km.n_clusters);
  CHECK(cli_default("kmeans", "init") == km.init);
  CHECK(cli_default("kmeans", "n_init") == km.n_init);
  CHECK(cli_default("kmeans", "max_iter") == km.max_iter);
  CHECK(cli_default("kmeans", "tol") == km.tol);
  CHECK(cli_default("kmeans", "algorithm") == km.algorithm);

  const cluster::LloydKMeansOptions lloyd;
  CHECK(cli_default("kmeans-lloyd", "n_clusters") == lloyd.n_clusters);
  CHECK(cli_default("kmeans-lloyd", "max_iter") == lloyd.max_iter);
  CHECK(cli_default("kmeans-lloyd", "n_init") == lloyd.n_init);

  const cluster::MiniBatchKMeansOptions mb;
  const std::string m = "minibatch-kmeans";
  CHECK(cli_default(m, "n_clusters") == mb.n_clusters);
  CHECK(cli_default(m, "init") == mb.init);
  CHECK(cli_default(m, "max_iter") == mb.max_iter);
  CHECK(cli_default(m, "batch_size") == mb.batch_size);
  CHECK(cli_default(m, "tol") == mb.tol);
  CHECK(cli_default(m, "max_no_improvement") == mb.max_no_improvement);
  CHECK(cli_default(m, "init_size") == mb.init_size);
  CHECK(cli_default(m, "n_init") == mb.n_init);
  CHECK(cli_default(m, "reassignment_ratio") == mb.reassignment_ratio);
}

void check_other_clusterers() {
  const cluster::AgglomerativeClusteringOptions ag;
  CHECK(cli_default("agglomerative", "n_clusters") == ag.n_clusters.value());
  CHECK(!ag.distance_threshold.has_value());
  CHECK(cli_default("agglomerative", "distance_threshold") == 0.0);  // 0: no threshold
  CHECK(cluster::parse_linkage(cli_text("agglomerative", "linkage")) == ag.linkage);
  CHECK(cli_default("agglomerative", "connectivity_n_neighbors") == ag.connectivity_n_neighbors);

  const cluster::SpectralClusteringOptions sp;
  CHECK(cli_default("spectral", "n_clusters") == sp.n_clusters);
  CHECK(cluster::parse_spectral_affinity(cli_text("spectral", "affinity")) == sp.affinity);
  CHECK(cli_default("spectral", "gamma") == sp.gamma);
  CHECK(cli_default("spectral", "n_neighbors") == sp.n_neighbors);
  CHECK(cli_default("spectral", "local_scaling") == sp.local_scaling);
  CHECK(cluster::parse_eigen_solver(cli_text("spectral", "eigen_solver")) == sp.eigen_solver);
  CHECK(cli_default("spectral", "n_components") == sp.n_components);
  CHECK(cli_default("spectral", "eigen_tol") == sp.eigen_tol);
  CHECK(cluster::parse_assign_labels(cli_text("spectral", "assign_labels")) == sp.assign_labels);
  CHECK(cli_default("spectral", "n_init") == sp.n_init);

  const cluster::LandmarkSpectralClusteringOptions ls;
  const std::string l = "landmark-spectral";
  CHECK(cli_default(l, "n_clusters") == ls.n_clusters);
  CHECK(cli_default(l, "n_landmarks") == ls.n_landmarks);
  CHECK(cli_default(l, "n_nearest_landmarks") == ls.n_nearest_landmarks);
  CHECK(cluster::parse_landmark_selection(cli_text(l, "landmark_selection")) == ls.landmark_selection);
  CHECK(cli_default(l, "landmark_max_iter") == ls.landmark_max_iter);
  CHECK(cli_default(l, "normalize_rows") == ls.normalize_rows);
  CHECK(cli_default(l, "n_init") == ls.n_init);

  const cluster::SparseSubspaceClusteringOptions ss;
  const std::string s = "sparse-subspace";
  CHECK(cli_default(s, "n_clusters") == ss.n_clusters);
  CHECK(cluster::parse_subspace_solver(cli_text(s, "solver")) == ss.solver);
  CHECK(cli_default(s, "alpha") == ss.alpha);
  CHECK(cli_default(s, "n_nonzero") == ss.n_nonzero);
  CHECK(cli_default(s, "normalize") == ss.normalize);
  CHECK(cli_default(s, "max_iter") == ss.max_iter);
  CHECK(cli_default(s, "tol") == ss.tol);
  CHECK(cli_default(s, "n_init") == ss.n_init);

  const cluster::GraphAgglomerativeClusteringOptions ga;
  const std::string g = "graph-agglomerative";
  CHECK(cli_default(g, "n_clusters") == ga.n_clusters);
  CHECK(cluster::parse_graph_descriptor(cli_text(g, "descriptor")) == ga.descriptor);
  CHECK(cli_default(g, "n_neighbors") == ga.n_neighbors);
  CHECK(cli_default(g, "a") == ga.a);
  CHECK(cli_default(g, "z") == ga.z);
  CHECK(cli_default(g, "min_cluster_fraction") == ga.min_cluster_fraction);

  const cluster::NMFClusteringOptions nc;
  const std::string c = "nmf-clustering";
  CHECK(cli_default(c, "n_clusters") == nc.n_clusters);
  CHECK(decomposition::parse_nmf_init(cli_text(c, "init")) == nc.init);
  CHECK(decomposition::parse_nmf_solver(cli_text(c, "solver")) == nc.solver);
  CHECK(cli_default(c, "max_iter") == nc.max_iter);
  CHECK(cli_default(c, "tol") == nc.tol);

  const cluster::DBSCANOptions db;
  CHECK(cli_default("dbscan", "eps") == db.eps);
  CHECK(cli_default("dbscan", "min_samples") == db.min_samples);
  CHECK(cluster::parse_neighbor_algorithm(cli_text("dbscan", "algorithm")) == db.algorithm);
  CHECK(cli_default("dbscan", "leaf_size") == db.leaf_size);

  const mixture::GaussianMixtureOptions gm;
  CHECK(cli_default("gmm", "n_components") == gm.n_components);
  CHECK(cli_default("gmm", "covariance_type") == gm.covariance_type);
  CHECK(cli_default("gmm", "tol") == gm.tol);
  CHECK(cli_default("gmm", "reg_covar") == gm.reg_covar);
  CHECK(cli_default("gmm", "max_iter") == gm.max_iter);
  CHECK(cli_default("gmm", "n_init") == gm.n_init);
  CHECK(cli_default("gmm", "init_params") == gm.init_params);
}

void check_decompositions_and_tsne() {
  const decomposition::PCAOptions pca;
  CHECK(cli_default("pca", "n_components") == pca.n_components);
  CHECK(cli_default("pca", "whiten") == pca.whiten);
  CHECK(cli_default("pca", "svd_solver") == pca.svd_solver);
  CHECK(cli_default("pca", "iterated_power") == pca.iterated_power);
  CHECK(cli_default("pca", "n_oversamples") == pca.n_oversamples);
  CHECK(cli_default("pca", "power_iteration_normalizer") == pca.power_iteration_normalizer);

  const decomposition::NMFOptions nmf;
  cli_only("nmf", "n_components");  // 10 parts to look at; the library keeps all features (0)
  CHECK(decomposition::parse_nmf_init(cli_text("nmf", "init")) == nmf.init);
  CHECK(decomposition::parse_nmf_solver(cli_text("nmf", "solver")) == nmf.solver);
  CHECK(cli_default("nmf", "max_iter") == nmf.max_iter);
  CHECK(cli_default("nmf", "tol") == nmf.tol);
  CHECK(cli_default("nmf", "alpha_W") == nmf.alpha_W);
  CHECK(!nmf.alpha_H.has_value());
  CHECK(cli_default("nmf", "alpha_H") == -1.0);  // < 0: the same as alpha_W, the library's unset
  CHECK(cli_default("nmf", "l1_ratio") == nmf.l1_ratio);

  const decomposition::DeepSemiNMFOptions ds;
  const std::string d = "deep-semi-nmf";
  cli_only(d, "layers");      // 256,10: the library has no default depth
  cli_only(d, "n_clusters");  // the k-means after the factorisation
  cli_only(d, "n_init");
  CHECK(cli_default(d, "pretrain_iter") == ds.pretrain_iter);
  CHECK(cli_default(d, "max_iter") == ds.max_iter);
  CHECK(cli_default(d, "tol") == ds.tol);

  const decomposition::FastICAOptions ica;
  CHECK(cli_default("fastica", "n_components") == ica.n_components);
  CHECK(decomposition::parse_ica_algorithm(cli_text("fastica", "algorithm")) == ica.algorithm);
  CHECK(decomposition::parse_ica_whiten(cli_text("fastica", "whiten")) == ica.whiten);
  CHECK(decomposition::parse_ica_function(cli_text("fastica", "fun")) == ica.fun);
  CHECK(cli_default("fastica", "fun_alpha") == ica.fun_alpha);
  CHECK(cli_default("fastica", "max_iter") == ica.max_iter);
  CHECK(cli_default("fastica", "tol") == ica.tol);
  CHECK(decomposition::parse_whiten_solver(cli_text("fastica", "whiten_solver")) == ica.whiten_solver);

  const decomposition::DictionaryLearningOptions dl;
  const std::string s = "sparse-coding";
  cli_only(s, "n_components");   // 32 atoms to look at; the library keeps as many as features (0)
  cli_only(s, "max_iter");       // 100 iterations keep a command-line run short; the library's is 1000
  cli_only(s, "fit_algorithm");  // a command-line choice with one value (the lasso by coordinate descent)
  CHECK(cli_default(s, "alpha") == dl.alpha);
  CHECK(cli_default(s, "tol") == dl.tol);
  CHECK(decomposition::parse_sparse_coding_algorithm(cli_text(s, "transform_algorithm")) == dl.transform_algorithm);
  CHECK(!dl.transform_n_nonzero_coefs.has_value());
  CHECK(cli_default(s, "transform_n_nonzero_coefs") == 0);  // 0: the library's unset
  CHECK(!dl.transform_alpha.has_value());
  CHECK(cli_default(s, "transform_alpha") == -1.0);  // < 0: the library's unset (alpha)
  CHECK(cli_default(s, "split_sign") == dl.split_sign);
  CHECK(cli_default(s, "positive_code") == dl.positive_code);
  CHECK(cli_default(s, "positive_dict") == dl.positive_dict);

  const manifold::TSNEOptions ts;
  CHECK(cli_default("tsne", "n_components") == ts.n_components);
  CHECK(cli_default("tsne", "perplexity") == ts.perplexity);
  CHECK(cli_default("tsne", "early_exaggeration") == ts.early_exaggeration);
  CHECK(ts.learning_rate < 0);
  CHECK(cli_default("tsne", "learning_rate") == "auto");  // the library's negative rate
  CHECK(cli_default("tsne", "n_iter") == ts.n_iter);
  CHECK(cli_default("tsne", "n_iter_without_progress") == ts.n_iter_without_progress);
  CHECK(cli_default("tsne", "min_grad_norm") == ts.min_grad_norm);
  CHECK(cli_default("tsne", "metric") == ts.metric);
  CHECK(cli_default("tsne", "init") == ts.init);
  CHECK(cli_default("tsne", "method") == ts.method);
  CHECK(cli_default("tsne", "angle") == ts.angle);
  CHECK(cli_default("tsne", "n_interpolation_points") == ts.n_interpolation_points);
  CHECK(cli_default("tsne", "min_num_intervals") == ts.min_num_intervals);
  CHECK(cli_default("tsne", "intervals_per_integer") == ts.intervals_per_integer);

  const manifold::UMAPOptions um;
  CHECK(cli_default("umap", "n_neighbors") == um.n_neighbors);
  CHECK(cli_default("umap", "n_components") == um.n_components);
  CHECK(cli_default("umap", "min_dist") == um.min_dist);
  CHECK(cli_default("umap", "spread") == um.spread);
  CHECK(cli_default("umap", "n_epochs") == um.n_epochs);
  CHECK(cli_default("umap", "learning_rate") == um.learning_rate);
  CHECK(cli_default("umap", "negative_sample_rate") == um.negative_sample_rate);
  CHECK(cli_default("umap", "local_connectivity") == um.local_connectivity);
  CHECK(cli_default("umap", "set_op_mix_ratio") == um.set_op_mix_ratio);
  CHECK(cli_default("umap", "repulsion_strength") == um.repulsion_strength);
  CHECK(cli_default("umap", "metric") == um.metric);
  CHECK(cli_default("umap", "init") == um.init);
  CHECK(cli_default("umap", "nn_method") == um.nn_method);
  cli_only("umap", "metric_samples");  // the scores' subset, not an option of the embedding
  cli_only("umap", "clusters");        // a file to colour a figure by
  cli_only("umap", "transform");       // new samples for UMAP::transform after the fit
}

// rbm and dbm: the annealed importance sampling of generative::AISOptions and ais_schedule().
void check_likelihood_defaults(const std::string& command) {
  CHECK(cli_default(command, "ais_runs") == generative::AISOptions{}.n_runs);
  CHECK(cli_default(command, "ais_steps") == static_cast<std::int64_t>(generative::ais_schedule().size()) - 1);
  cli_only(command, "likelihood_rows");  // how many rows are scored, not a setting of the estimate
}

// rbm: scikit-learn's BernoulliRBM defaults, as generative::RBMOptions holds them.
void check_rbm() {
  const generative::RBMOptions rbm;
  const std::string r = "rbm";
  CHECK(cli_default(r, "n_components") == rbm.n_components);
  CHECK(cli_default(r, "learning_rate") == rbm.learning_rate);
  CHECK(cli_default(r, "batch_size") == rbm.batch_size);
  CHECK(cli_default(r, "n_iter") == rbm.n_iter);
  CHECK(cli_default(r, "cd_k") == rbm.cd_k);
  CHECK(cli_default(r, "persistent") == rbm.persistent);
  CHECK(cli_default(r, "sample_visible") == rbm.sample_visible);
  CHECK(cli_default(r, "momentum") == rbm.momentum);
  CHECK(cli_default(r, "final_momentum") == rbm.final_momentum);
  CHECK(cli_default(r, "momentum_epochs") == rbm.momentum_epochs);
  CHECK(cli_default(r, "weight_decay") == rbm.weight_decay);
  CHECK(cli_default(r, "init_std") == rbm.init_std);
  CHECK(cli_default(r, "shuffle") == rbm.shuffle);
  CHECK(generative::parse_hidden_units(cli_text(r, "hidden_units")) == rbm.hidden_units);
  cli_only(r, "score_rows");   // how many rows the pseudo-likelihood is averaged over, not a model setting
  cli_only(r, "gibbs_steps");  // the chains of the samples figure
  cli_only(r, "probe");        // the linear probe after the fit
  check_likelihood_defaults(r);
}

// dbm: the library's settings of joint training; the command's own epochs (a CPU budget).
void check_dbm() {
  const generative::DBMOptions dbm;
  const std::string m = "dbm";
  CHECK(cli_default(m, "hidden") == dbm.layer_sizes);
  CHECK(cli_default(m, "pretrain_learning_rate") == dbm.pretraining.learning_rate);
  CHECK(cli_default(m, "batch_size") == dbm.batch_size);
  CHECK(cli_default(m, "n_particles") == dbm.n_particles);
  CHECK(cli_default(m, "gibbs_steps") == dbm.gibbs_steps);
  CHECK(cli_default(m, "learning_rate") == dbm.learning_rate);
  CHECK(cli_default(m, "final_learning_rate") == dbm.final_learning_rate);
  CHECK(cli_default(m, "weight_decay") == dbm.weight_decay);
  // The paper's 100 pretraining epochs, 500 joint epochs and mean field to convergence take hours
  // on two cores; the command's defaults take minutes (docs/algorithms/rbm_dbn.md).
  cli_only(m, "pretrain_epochs");
  cli_only(m, "epochs");
  cli_only(m, "mean_field_steps");
  cli_only(m, "n_clusters");    // k-means on the features after the fit
  cli_only(m, "n_init");
  cli_only(m, "sample_steps");  // the chains of the samples figure
  cli_only(m, "probe");
  check_likelihood_defaults(m);
}

}  // namespace

TEST_CASE("the classical commands' defaults are the library's, and every parameter is checked") {
  check_kmeans_family();
  check_other_clusterers();
  check_decompositions_and_tsne();
  check_rbm();
  check_dbm();
  const std::vector<std::string> commands = {"kmeans", "kmeans-lloyd", "minibatch-kmeans", "agglomerative",
                                             "spectral", "landmark-spectral", "sparse-subspace", "graph-agglomerative", "nmf-clustering", "dbscan", "gmm", "pca", "nmf",
                                             "deep-semi-nmf", "fastica",
                                             "sparse-coding", "tsne", "umap", "rbm", "dbm"};
  for (const std::string& command : commands) {
    CAPTURE(command);
    REQUIRE(cli::algorithms().count(command) == 1);
    for (const ParamSpec& spec : cli::algorithms().at(command).params) {
      CAPTURE(spec.name);
      CHECK(checked()[command].count(spec.name) == 1);
    }
  }
}
