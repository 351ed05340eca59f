// clusterer.h: the one interface of every estimator that clusters, and the factory that makes
// one from a name and parameters.
//
//   std::unique_ptr<cake::cluster::Clusterer> c = cake::cluster::make_clusterer(
//       "gmm", {{"n_clusters", 10}, {"covariance_type", "diag"}, {"random_state", 0}});
//   cake::Tensor labels = c->fit_predict(X);      // [N] int64 (-1: noise, DBSCAN only)
//   cake::Tensor mu = c->centers();               // [K, D]: k-means centres, GMM means
//   cake::Tensor r = c->responsibilities(X);      // [N, K]: GMM posteriors, one-hot for k-means
//
// Why one interface: a pipeline that ends in "cluster these points" (k-means or a GMM on an
// autoencoder's codes, deep_clustering/latent_clustering.h) should not care which clusterer it
// was given, and the clusterer should be chosen by a name in a config, not by `if (method ==
// "gmm")` repeated at every call site. The names are those of the command line (`cake run
// kmeans`, `cake run gmm`, ...), and the parameters those of the estimators' option structs
// (KMeansOptions::n_init is "n_init"), so the defaults are the option structs' own.
//
// Hard and soft assignments: a Gaussian mixture gives each point responsibilities gamma_ik,
// the posterior probability of each component (Bishop 2006, "Pattern Recognition and Machine
// Learning", eq. 9.23). K-means is the limit of EM for a mixture whose components share the
// covariance sigma^2 I as sigma -> 0 (Bishop 2006, section 9.3.2), where the responsibilities
// become the one-hot nearest-centre labels; responsibilities() of a hard clusterer returns those.
//
// Inductive and transductive methods: k-means, mini-batch k-means and the Gaussian mixture fit
// a model that labels new points (predict). Agglomerative, spectral clustering and DBSCAN only
// label the points they were fitted on; their predict() throws and can_predict() is false.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::cluster {

class Clusterer {
 public:
  virtual ~Clusterer() = default;

  virtual Clusterer& fit(const Tensor& X) = 0;
  virtual Tensor fit_predict(const Tensor& X) = 0;  // labels [N] int64 of X
  // Labels [N] int64 of new points; throws for the methods that cannot (can_predict() false).
  virtual Tensor predict(const Tensor& X) const;
  virtual bool can_predict() const { return false; }
  // Soft assignments [N, K] float64, each row summing to 1: the one-hot of predict(X) unless the
  // method has a probabilistic model (GaussianMixture::predict_proba).
  virtual Tensor responsibilities(const Tensor& X) const;
  virtual const Tensor& labels() const = 0;  // [N] int64, of the data given to fit
  // The centres [K, D] (k-means centres, GMM means); undefined for methods without centres.
  virtual Tensor centers() const { return {}; }
  virtual std::string name() const = 0;  // the factory's name: "kmeans", "gmm", ...

 protected:
  Clusterer() = default;
  Clusterer(const Clusterer&) = default;
  Clusterer& operator=(const Clusterer&) = default;
  Clusterer(Clusterer&&) = default;
  Clusterer& operator=(Clusterer&&) = default;
};

// One parameter value for make_clusterer: an integer, a number, a boolean or text. Text is parsed
// as the parameter needs ("10", "1e-4", "true"), so values from a command line pass unchanged.
class ParamValue {
 public:
  enum class Kind { Int, Float, Bool, Text };
  template <class T>
    requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
  ParamValue(T v) : kind_(Kind::Int), int_(static_cast<std::int64_t>(v)) {}
  ParamValue(double v) : kind_(Kind::Float), float_(v) {}
  ParamValue(bool v) : kind_(Kind::Bool), bool_(v) {}
  ParamValue(std::string v) : kind_(Kind::Text), text_(std::move(v)) {}
  ParamValue(const char* v) : kind_(Kind::Text), text_(v) {}

  Kind kind() const { return kind_; }
  // The value as each type; `who` names the parameter in the error for a value of the wrong kind.
  std::int64_t as_int(const std::string& who) const;
  double as_float(const std::string& who) const;  // integers are accepted
  bool as_bool(const std::string& who) const;
  std::string as_text(const std::string& who) const;
  std::string to_string() const;  // as it would be typed: "10", "0.0001", "true", "diag"

 private:
  Kind kind_;
  std::int64_t int_ = 0;
  double float_ = 0.0;
  bool bool_ = false;
  std::string text_;
};

// Parameters by their option-struct names; those not given keep the option struct's default.
using ClustererParams = std::map<std::string, ParamValue>;

// The clusterer called `name` ("kmeans", "kmeans-lloyd", "minibatch-kmeans", "gmm",
// "agglomerative", "spectral", "landmark-spectral", "sparse-subspace", "graph-agglomerative",
// "nmf-clustering", "dbscan") with `params` set. "n_clusters" is accepted by every
// method that takes a number of clusters (it is the GMM's n_components). An unknown name or
// parameter throws, listing the valid ones.
std::unique_ptr<Clusterer> make_clusterer(const std::string& name, const ClustererParams& params = {});

// The names make_clusterer accepts, in the order above.
std::vector<std::string> clusterer_names();

// The parameter names the clusterer `name` accepts (its option struct's fields), so that a
// pipeline can pass a setting only to the clusterers that have it without naming them.
std::vector<std::string> clusterer_parameters(const std::string& name);

}  // namespace cake::cluster
