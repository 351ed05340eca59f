// clusterer.cpp: the Clusterer defaults, parameter values, and make_clusterer.
//
// make_clusterer starts from a default-constructed options struct and overrides only the fields
// named in the parameters, so every default stays where it is declared (KMeansOptions, ...).
#include "cake/algorithms/cluster/clusterer.h"

#include <charconv>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "cake/algorithms/cluster/agglomerative.h"
#include "cake/algorithms/cluster/dbscan.h"
#include "cake/algorithms/cluster/graph_agglomerative.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/landmark_spectral.h"
#include "cake/algorithms/cluster/lloyd_kmeans.h"
#include "cake/algorithms/cluster/minibatch_kmeans.h"
#include "cake/algorithms/cluster/nmf_clustering.h"
#include "cake/algorithms/cluster/sparse_subspace.h"
#include "cake/algorithms/cluster/spectral.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"

namespace cake::cluster {

// ---- Clusterer ---------------------------------------------------------------------------------

Tensor Clusterer::predict(const Tensor&) const {
  CAKE_FAIL(name(), ": predict is not supported; this method labels only the points it was fitted on "
                    "(use fit_predict, or a clusterer with can_predict(): kmeans, minibatch-kmeans, gmm)");
}

// Hard assignments as responsibilities: row i is the one-hot vector of predict(X)_i.
Tensor Clusterer::responsibilities(const Tensor& X) const {
  const Tensor labels = predict(X).cpu();
  const Tensor c = centers();
  const std::int64_t k = c.defined() ? c.size(0) : (labels.numel() ? labels.max().item<std::int64_t>() + 1 : 0);
  NoGradGuard no_grad;
  return one_hot(labels, k).to(kFloat64);
}

// ---- ParamValue --------------------------------------------------------------------------------

namespace {

const char* kind_name(ParamValue::Kind kind) {
  switch (kind) {
    case ParamValue::Kind::Int: return "an integer";
    case ParamValue::Kind::Float: return "a number";
    case ParamValue::Kind::Bool: return "a boolean";
    case ParamValue::Kind::Text: return "text";
  }
  return "?";
}

}  // namespace

std::int64_t ParamValue::as_int(const std::string& who) const {
  if (kind_ == Kind::Int) return int_;
  if (kind_ == Kind::Text) {
    std::int64_t v = 0;
    const char* end = text_.data() + text_.size();
    const auto [ptr, ec] = std::from_chars(text_.data(), end, v);
    if (ec == std::errc() && ptr == end && !text_.empty()) return v;
  }
  CAKE_FAIL(who, ": expected an integer, got ", kind_name(kind_), " '", to_string(), "'");
}

double ParamValue::as_float(const std::string& who) const {
  if (kind_ == Kind::Float) return float_;
  if (kind_ == Kind::Int) return static_cast<double>(int_);
  if (kind_ == Kind::Text && !text_.empty()) {
    char* end = nullptr;
    const double v = std::strtod(text_.c_str(), &end);
    if (end == text_.c_str() + text_.size()) return v;
  }
  CAKE_FAIL(who, ": expected a number, got ", kind_name(kind_), " '", to_string(), "'");
}

bool ParamValue::as_bool(const std::string& who) const {
  if (kind_ == Kind::Bool) return bool_;
  if (kind_ == Kind::Text && (text_ == "true" || text_ == "false")) return text_ == "true";
  CAKE_FAIL(who, ": expected true or false, got ", kind_name(kind_), " '", to_string(), "'");
}

std::string ParamValue::as_text(const std::string& who) const {
  if (kind_ == Kind::Text) return text_;
  CAKE_FAIL(who, ": expected text, got ", kind_name(kind_), " '", to_string(), "'");
}

std::string ParamValue::to_string() const {
  switch (kind_) {
    case Kind::Int: return std::to_string(int_);
    case Kind::Bool: return bool_ ? "true" : "false";
    case Kind::Text: return text_;
    case Kind::Float: {
      char buffer[32];  // the shortest text that reads back as float_, in %g style ("0.0001", "1e-06")
      const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), float_, std::chars_format::general);
      return ec == std::errc() ? std::string(buffer, ptr) : std::string("?");
    }
  }
  return {};
}

// ---- make_clusterer ----------------------------------------------------------------------------

namespace {

// Copies the given parameters into an options struct's fields, remembering which names exist so
// that a misspelt one is refused with the list of valid names.
class ParamReader {
 public:
  ParamReader(std::string method, const ClustererParams& params) : method_(std::move(method)), params_(params) {}

  void read(const std::string& key, std::int64_t& field) {
    if (const ParamValue* v = find(key)) field = v->as_int(who(key));
  }
  void read(const std::string& key, double& field) {
    if (const ParamValue* v = find(key)) field = v->as_float(who(key));
  }
  void read(const std::string& key, bool& field) {
    if (const ParamValue* v = find(key)) field = v->as_bool(who(key));
  }
  void read(const std::string& key, std::string& field) {
    if (const ParamValue* v = find(key)) field = v->as_text(who(key));
  }
  // Optional fields take "none" for no value.
  void read(const std::string& key, std::optional<std::uint64_t>& field) {
    if (const ParamValue* v = find(key))
      field = is_none(*v) ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(v->as_int(who(key))));
  }
  void read(const std::string& key, std::optional<std::int64_t>& field) {
    if (const ParamValue* v = find(key)) field = is_none(*v) ? std::nullopt : std::optional<std::int64_t>(v->as_int(who(key)));
  }
  void read(const std::string& key, std::optional<double>& field) {
    if (const ParamValue* v = find(key)) field = is_none(*v) ? std::nullopt : std::optional<double>(v->as_float(who(key)));
  }
  template <class Enum>
  void read(const std::string& key, Enum& field, Enum (*parse)(const std::string&)) {
    if (const ParamValue* v = find(key)) field = parse(v->as_text(who(key)));
  }

  const std::vector<std::string>& known() const { return known_; }

  // Throws when a parameter was given that no read() asked for.
  void finish() const {
    for (const auto& [key, value] : params_) {
      bool known = false;
      for (const std::string& k : known_) known = known || k == key;
      if (known) continue;
      std::ostringstream names;
      for (std::size_t i = 0; i < known_.size(); ++i) names << (i ? ", " : "") << known_[i];
      CAKE_FAIL("make_clusterer(\"", method_, "\"): unknown parameter '", key, "'; valid: ", names.str());
    }
  }

 private:
  const ParamValue* find(const std::string& key) {
    known_.push_back(key);
    const auto it = params_.find(key);
    return it == params_.end() ? nullptr : &it->second;
  }
  std::string who(const std::string& key) const { return "make_clusterer(\"" + method_ + "\"): " + key; }
  static bool is_none(const ParamValue& v) { return v.kind() == ParamValue::Kind::Text && v.as_text("") == "none"; }

  std::string method_;
  const ClustererParams& params_;
  std::vector<std::string> known_;
};

std::unique_ptr<Clusterer> make_kmeans(ParamReader& r) {
  KMeansOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("init", o.init);
  r.read("n_init", o.n_init);
  r.read("max_iter", o.max_iter);
  r.read("tol", o.tol);
  r.read("random_state", o.random_state);
  r.read("algorithm", o.algorithm);
  r.finish();
  return std::make_unique<KMeans>(o);
}

std::unique_ptr<Clusterer> make_lloyd_kmeans(ParamReader& r) {
  LloydKMeansOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("max_iter", o.max_iter);
  r.read("n_init", o.n_init);
  r.read("random_state", o.random_state);
  r.finish();
  return std::make_unique<LloydKMeans>(o);
}

std::unique_ptr<Clusterer> make_minibatch_kmeans(ParamReader& r) {
  MiniBatchKMeansOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("init", o.init);
  r.read("max_iter", o.max_iter);
  r.read("batch_size", o.batch_size);
  r.read("compute_labels", o.compute_labels);
  r.read("random_state", o.random_state);
  r.read("tol", o.tol);
  r.read("max_no_improvement", o.max_no_improvement);
  r.read("init_size", o.init_size);
  r.read("n_init", o.n_init);
  r.read("reassignment_ratio", o.reassignment_ratio);
  r.finish();
  return std::make_unique<MiniBatchKMeans>(o);
}

std::unique_ptr<Clusterer> make_gaussian_mixture(ParamReader& r) {
  mixture::GaussianMixtureOptions o;
  r.read("n_components", o.n_components);
  r.read("n_clusters", o.n_components);  // the name every other clusterer uses
  r.read("covariance_type", o.covariance_type);
  r.read("tol", o.tol);
  r.read("reg_covar", o.reg_covar);
  r.read("max_iter", o.max_iter);
  r.read("n_init", o.n_init);
  r.read("init_params", o.init_params);
  r.read("random_state", o.random_state);
  r.read("warm_start", o.warm_start);
  r.finish();
  return std::make_unique<mixture::GaussianMixture>(o);
}

std::unique_ptr<Clusterer> make_agglomerative(ParamReader& r) {
  AgglomerativeClusteringOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("distance_threshold", o.distance_threshold);
  r.read("linkage", o.linkage, parse_linkage);
  r.read("connectivity_n_neighbors", o.connectivity_n_neighbors);
  r.finish();
  return std::make_unique<AgglomerativeClustering>(o);
}

std::unique_ptr<Clusterer> make_spectral(ParamReader& r) {
  SpectralClusteringOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("affinity", o.affinity, parse_spectral_affinity);
  r.read("gamma", o.gamma);
  r.read("n_neighbors", o.n_neighbors);
  r.read("local_scaling", o.local_scaling);
  r.read("eigen_solver", o.eigen_solver, parse_eigen_solver);
  r.read("n_components", o.n_components);
  r.read("eigen_tol", o.eigen_tol);
  r.read("assign_labels", o.assign_labels, parse_assign_labels);
  r.read("n_init", o.n_init);
  r.read("random_state", o.random_state);
  r.finish();
  return std::make_unique<SpectralClustering>(o);
}

std::unique_ptr<Clusterer> make_landmark_spectral(ParamReader& r) {
  LandmarkSpectralClusteringOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("n_landmarks", o.n_landmarks);
  r.read("n_nearest_landmarks", o.n_nearest_landmarks);
  r.read("landmark_selection", o.landmark_selection, parse_landmark_selection);
  r.read("landmark_max_iter", o.landmark_max_iter);
  r.read("normalize_rows", o.normalize_rows);
  r.read("n_init", o.n_init);
  r.read("random_state", o.random_state);
  r.finish();
  return std::make_unique<LandmarkSpectralClustering>(o);
}

std::unique_ptr<Clusterer> make_sparse_subspace(ParamReader& r) {
  SparseSubspaceClusteringOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("solver", o.solver, parse_subspace_solver);
  r.read("alpha", o.alpha);
  r.read("n_nonzero", o.n_nonzero);
  r.read("normalize", o.normalize);
  r.read("max_iter", o.max_iter);
  r.read("tol", o.tol);
  r.read("n_init", o.n_init);
  r.read("random_state", o.random_state);
  r.finish();
  return std::make_unique<SparseSubspaceClustering>(o);
}

std::unique_ptr<Clusterer> make_nmf_clustering(ParamReader& r) {
  NMFClusteringOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("init", o.init, decomposition::parse_nmf_init);
  r.read("solver", o.solver, decomposition::parse_nmf_solver);
  r.read("max_iter", o.max_iter);
  r.read("tol", o.tol);
  r.read("random_state", o.random_state);
  r.finish();
  return std::make_unique<NMFClustering>(o);
}

std::unique_ptr<Clusterer> make_graph_agglomerative(ParamReader& r) {
  GraphAgglomerativeClusteringOptions o;
  r.read("n_clusters", o.n_clusters);
  r.read("descriptor", o.descriptor, parse_graph_descriptor);
  r.read("n_neighbors", o.n_neighbors);
  r.read("a", o.a);
  r.read("z", o.z);
  r.read("min_cluster_fraction", o.min_cluster_fraction);
  r.finish();
  return std::make_unique<GraphAgglomerativeClustering>(o);
}

std::unique_ptr<Clusterer> make_dbscan(ParamReader& r) {
  DBSCANOptions o;
  r.read("eps", o.eps);
  r.read("min_samples", o.min_samples);
  r.read("algorithm", o.algorithm, parse_neighbor_algorithm);
  r.read("leaf_size", o.leaf_size);
  r.finish();
  return std::make_unique<DBSCAN>(o);
}

using Maker = std::unique_ptr<Clusterer> (*)(ParamReader&);
struct Entry {
  const char* name;
  Maker make;
};
constexpr Entry kClusterers[] = {
    {"kmeans", make_kmeans},     {"kmeans-lloyd", make_lloyd_kmeans}, {"minibatch-kmeans", make_minibatch_kmeans},
    {"gmm", make_gaussian_mixture}, {"agglomerative", make_agglomerative}, {"spectral", make_spectral},
    {"landmark-spectral", make_landmark_spectral}, {"sparse-subspace", make_sparse_subspace},
    {"graph-agglomerative", make_graph_agglomerative}, {"nmf-clustering", make_nmf_clustering},
    {"dbscan", make_dbscan},
};

const Entry& find_entry(const std::string& name) {
  for (const Entry& e : kClusterers)
    if (name == e.name) return e;
  std::ostringstream names;
  for (const Entry& e : kClusterers) names << (&e == kClusterers ? "" : ", ") << e.name;
  CAKE_FAIL("make_clusterer: unknown clusterer \"", name, "\"; valid: ", names.str());
}

}  // namespace

std::unique_ptr<Clusterer> make_clusterer(const std::string& name, const ClustererParams& params) {
  ParamReader reader(name, params);
  return find_entry(name).make(reader);
}

std::vector<std::string> clusterer_parameters(const std::string& name) {
  const ClustererParams none;
  ParamReader reader(name, none);
  find_entry(name).make(reader);  // a default-constructed clusterer: cheap, fits nothing
  return reader.known();
}

std::vector<std::string> clusterer_names() {
  std::vector<std::string> names;
  for (const Entry& e : kClusterers) names.emplace_back(e.name);
  return names;
}

}  // namespace cake::cluster
