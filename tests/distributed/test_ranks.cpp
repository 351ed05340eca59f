// The multi-rank tests. CTest runs this program three times: alone (world size 1, the "local"
// backend, as distributed/test_ranks), and under mpirun with 2 and 3 ranks on this machine
// (distributed/test_ranks_np2, _np3, through run_ranks.sh; skipped without mpirun or MPI).
// Every rank runs every test case, and each builds the single-process reference itself, so a
// difference shows on the rank that sees it.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/contrastive/moco.h"
#include "cake/algorithms/deep_clustering/dac.h"
#include "cake/algorithms/deep_clustering/deepcluster.h"
#include "cake/algorithms/deep_clustering/jule.h"
#include "cake/algorithms/generative/infogan.h"
#include "cake/distributed/data_parallel.h"
#include "cake/distributed/gmm.h"
#include "cake/distributed/kmeans.h"
#include "cake/distributed/metrics.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/distributed/pca.h"
#include "cake/distributed/shard_io.h"
#include "cake/data/npy.h"
#include "cake/distributed/sync_batchnorm.h"
#include "cake/nn/normalization.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/distributed/process_group.h"
#include "ddp_testing.h"
#include "cake/autograd/ops.h"
#include "cake/nn/activation.h"
#include "cake/nn/functional.h"
#include "cake/nn/linear.h"
#include "cake/nn/sequential.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;
namespace dist = cake::distributed;
namespace F = cake::nn::functional;
using cake::testing::small_net;

namespace {

dist::ProcessGroup& group() { return dist::default_group(); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return (a.to(kFloat64) - b.to(kFloat64)).abs().max().item<double>();
}

// Four Gaussian blobs in 5 dimensions, the same on every rank (a fixed seed).
Tensor blobs(std::int64_t n) {
  manual_seed(11);
  Tensor centres = randn({4, 5}) * 6.0;
  Tensor which = randint(0, 4, {n});
  return centres.index_select(0, which) + randn({n, 5});
}


}  // namespace

TEST_CASE("collectives: sum, mean, max, broadcast, all_gather of uneven shards, reduce_scatter, barrier") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size(), r = g.rank();
  INFO("rank " << r << " of " << p << " (" << g.backend() << ")");
  Tensor x = full({3}, static_cast<double>(r + 1), kFloat32);
  g.all_reduce(x, dist::ReduceOp::Sum);
  CHECK(x[0].item<double>() == doctest::Approx(p * (p + 1) / 2.0));
  Tensor m = full({2, 2}, static_cast<double>(r), kFloat64);
  g.all_reduce(m, dist::ReduceOp::Mean);
  CHECK(m[1][1].item<double>() == doctest::Approx((p - 1) / 2.0));
  Tensor big = tensor(std::vector<std::int64_t>{r, -r});
  g.all_reduce(big, dist::ReduceOp::Max);
  CHECK(big[0].item<std::int64_t>() == p - 1);
  CHECK(big[1].item<std::int64_t>() == 0);
  // A non-contiguous view is reduced through a copy and written back.
  Tensor wide = full({2, 4}, 1.0, kFloat32);
  Tensor column = wide.narrow(1, 1, 1);
  g.all_reduce(column, dist::ReduceOp::Sum);
  CHECK(wide[1][1].item<double>() == doctest::Approx(p));
  CHECK(wide[1][0].item<double>() == doctest::Approx(1.0));

  Tensor b = full({4}, static_cast<double>(r == p - 1 ? 7 : -1), kFloat32);
  g.broadcast(b, p - 1);
  CHECK(b[3].item<double>() == 7.0);

  // Rank r holds r + 1 rows, each filled with r: the gather holds them in rank order.
  Tensor mine = full({r + 1, 2}, static_cast<double>(r), kFloat32);
  Tensor all = g.all_gather(mine);
  REQUIRE(all.size(0) == p * (p + 1) / 2);
  std::int64_t row = 0;
  for (int q = 0; q < p; ++q)
    for (int k = 0; k <= q; ++k, ++row) CHECK(all[row][1].item<double>() == q);

  Tensor blocks = arange(0.0, 2.0 * p, 1.0, kFloat64).view({p, 2});  // the same on every rank
  Tensor reduced = g.reduce_scatter(blocks, dist::ReduceOp::Sum);
  CHECK(reduced.sizes() == Shape{1, 2});
  CHECK(reduced[0][0].item<double>() == doctest::Approx(2.0 * r * p));
  g.barrier();
  if (p > 1)
    CHECK_THROWS_WITH_AS(g.reduce_scatter(ones({p + 1, 2}), dist::ReduceOp::Sum),
                         doctest::Contains("multiple of the world size"), cake::Error);
}

TEST_CASE("a collective a peer does not join times out with a message, and the group recovers when it arrives") {
  if (group().world_size() < 2) return;  // needs a peer
  auto g = dist::init_process_group({.timeout_seconds = 0.3});
  if (g->rank() == 0) {
    CHECK_THROWS_WITH_AS(g->barrier(), doctest::Contains("timed out after 0.3 s on rank 0"), cake::Error);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    g->barrier();
  }
  g->set_timeout(60.0);
  g->barrier();  // rank 0 first completes the barrier that timed out
  Tensor one = ones({1});
  g->all_reduce(one, dist::ReduceOp::Sum);
  CHECK(one.item<double>() == g->world_size());
}

TEST_CASE("distributed k-means: the same centres and labels as one process on all the rows") {
  dist::ProcessGroup& g = group();
  const Tensor X = blobs(301);
  const dist::Shard shard = dist::shard_rows(X.size(0), g.rank(), g.world_size());
  const Tensor mine = X.narrow(0, shard.begin, shard.size());

  SUBCASE("k-means++ seeding, three restarts") {
    const cluster::KMeansOptions options{.n_clusters = 4, .n_init = 3, .random_state = 5};
    cluster::KMeans single(options);
    single.fit(X);
    const dist::KMeansResult fit = dist::fit_kmeans(g, mine, options);
    CHECK(fit.n_samples == 301);
    CHECK(max_abs_diff(fit.centers, single.cluster_centers()) < 1e-5);
    CHECK(fit.inertia == doctest::Approx(single.inertia()).epsilon(1e-9));
    CHECK(fit.n_iter == single.n_iter());
    CHECK(max_abs_diff(fit.labels, single.labels().narrow(0, shard.begin, shard.size())) == 0.0);
  }
  SUBCASE("a given start with a centre far from every point: the emptied cluster takes the farthest point") {
    Tensor start = X.narrow(0, 0, 4).clone();
    start[3].fill_(1000.0);
    const cluster::KMeansOptions options{.n_clusters = 4, .init_centers = start};
    cluster::KMeans single(options);
    single.fit(X);
    const dist::KMeansResult fit = dist::fit_kmeans(g, mine, options);
    CHECK(max_abs_diff(fit.centers, single.cluster_centers()) < 1e-5);
    CHECK(max_abs_diff(fit.labels, single.labels().narrow(0, shard.begin, shard.size())) == 0.0);
  }
  SUBCASE("random init and unseeded: the ranks' generators agree after the same manual_seed") {
    manual_seed(9);
    cluster::KMeans single({.n_clusters = 4, .init = "random", .n_init = 2});
    single.fit(X);
    manual_seed(9);
    const dist::KMeansResult fit = dist::fit_kmeans(g, mine, {.n_clusters = 4, .init = "random", .n_init = 2});
    CHECK(max_abs_diff(fit.centers, single.cluster_centers()) < 1e-5);
  }
}

TEST_CASE("distributed GMM: the same parameters, likelihood and labels as one process on all the rows") {
  dist::ProcessGroup& g = group();
  const Tensor X = blobs(301);
  const dist::Shard shard = dist::shard_rows(X.size(0), g.rank(), g.world_size());
  const Tensor mine = X.narrow(0, shard.begin, shard.size());
  // Every covariance model, every initialisation; two starts where the draws must stay in step.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"full", "kmeans"}, {"tied", "k-means++"}, {"diag", "random"}, {"spherical", "random_from_data"}, {"full", "random"}};
  for (const auto& [covariance, init] : cases) {
    CAPTURE(covariance);
    CAPTURE(init);
    const mixture::GaussianMixtureOptions options{.n_components = 4, .covariance_type = covariance, .max_iter = 30,
                                                  .n_init = 2, .init_params = init, .random_state = 7};
    mixture::GaussianMixture single(options);
    const Tensor labels = single.fit_predict(X);
    const dist::GaussianMixtureResult fit = dist::fit_gaussian_mixture(g, mine, options);
    CHECK(fit.n_samples == 301);
    CHECK(max_abs_diff(fit.model.weights(), single.weights()) < 1e-9);
    CHECK(max_abs_diff(fit.model.means(), single.means()) < 1e-9);
    CHECK(max_abs_diff(fit.model.covariances(), single.covariances()) < 1e-9);
    CHECK(fit.model.n_iter() == single.n_iter());
    CHECK(fit.model.converged() == single.converged());
    CHECK(fit.model.lower_bound() == doctest::Approx(single.lower_bound()).epsilon(1e-12));
    CHECK(fit.model.lower_bound_history().size() == single.lower_bound_history().size());
    CHECK(max_abs_diff(fit.labels, labels.narrow(0, shard.begin, shard.size())) == 0.0);
    CHECK(dist::score(g, fit.model, mine) == doctest::Approx(single.score(X)).epsilon(1e-12));
  }
  SUBCASE("unseeded: the ranks' generators must agree, and do after the same manual_seed") {
    manual_seed(4);
    mixture::GaussianMixture single({.n_components = 3, .covariance_type = "diag"});
    single.fit(X);
    manual_seed(4);
    const dist::GaussianMixtureResult fit = dist::fit_gaussian_mixture(g, mine, {.n_components = 3, .covariance_type = "diag"});
    CHECK(max_abs_diff(fit.model.means(), single.means()) < 1e-9);
    if (g.world_size() > 1) {
      manual_seed(static_cast<std::uint64_t>(20 + g.rank()));
      CHECK_THROWS_WITH_AS(dist::fit_gaussian_mixture(g, mine, {.n_components = 3}),
                           doctest::Contains("random generators differ"), cake::Error);
    }
  }
  CHECK_THROWS_WITH_AS(dist::fit_gaussian_mixture(g, mine, {.n_components = 2, .warm_start = true}),
                       doctest::Contains("warm_start"), cake::Error);
}

TEST_CASE("distributed clustering scores: the summed contingency table gives one process's scores exactly") {
  dist::ProcessGroup& g = group();
  manual_seed(21);
  Tensor truth = randint(0, 5, {257}), predicted = randint(0, 7, {257});
  // Values present on one rank only: class 9 in the first rows, noise (-1) in the last.
  truth.narrow(0, 0, 3).fill_(9);
  predicted.narrow(0, 250, 7).fill_(-1);
  const dist::Shard shard = dist::shard_rows(257, g.rank(), g.world_size());
  const metrics::ClusteringScores s = dist::clustering_scores(g, truth.narrow(0, shard.begin, shard.size()),
                                                              predicted.narrow(0, shard.begin, shard.size()));
  CHECK(s.n_samples == 257);
  CHECK(s.nmi == metrics::nmi(truth, predicted));
  CHECK(s.ari == metrics::ari(truth, predicted));
  CHECK(s.acc == metrics::acc(truth, predicted));
  CHECK(s.purity == metrics::purity(truth, predicted));
  const metrics::VMeasure v = metrics::homogeneity_completeness_v_measure(truth, predicted);
  CHECK(s.homogeneity == v.homogeneity);
  CHECK(s.completeness == v.completeness);
  CHECK(s.v_measure == v.v_measure);
  const metrics::ContingencyTable table = dist::contingency_matrix(g, truth.narrow(0, shard.begin, shard.size()),
                                                                   predicted.narrow(0, shard.begin, shard.size()));
  const metrics::ContingencyTable single = metrics::contingency_matrix(truth, predicted);
  CHECK(table.row_labels == single.row_labels);
  CHECK(table.col_labels == single.col_labels);
  CHECK(max_abs_diff(table.counts, single.counts) == 0.0);
}

namespace {

// One training step of `layer` on the rows `rows` of X with the loss sum(y * G): output and
// input gradient.
std::pair<Tensor, Tensor> batch_norm_step(nn::BatchNormBase& layer, const Tensor& X, const Tensor& G, dist::Shard rows) {
  Tensor x = X.narrow(0, rows.begin, rows.size()).clone().requires_grad_();
  const Tensor y = layer.forward(x);
  (y * G.narrow(0, rows.begin, rows.size())).sum().backward();
  return {y.detach(), x.grad()};
}

}  // namespace

TEST_CASE("SyncBatchNorm on p ranks equals BatchNorm on the concatenated batch: outputs, gradients, running statistics") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size();
  // 7 samples: uneven shards on 2 and 3 ranks (4 + 3, 3 + 2 + 2), so the counts must be summed.
  for (const Shape& shape : {Shape{7, 3}, Shape{7, 3, 5}, Shape{7, 3, 2, 3}}) {
    CAPTURE(shape);
    manual_seed(31);
    const Tensor X = randn(shape, kFloat64) * 2.0 + 1.0, G = randn(shape, kFloat64);
    std::shared_ptr<nn::BatchNormBase> single, synced;
    if (shape.size() == 4) {
      single = std::make_shared<nn::BatchNorm2d>(3);
      synced = std::make_shared<nn::BatchNorm2d>(3);
    } else {
      single = std::make_shared<nn::BatchNorm1d>(3);
      synced = std::make_shared<nn::BatchNorm1d>(3);
    }
    single->to(kFloat64);
    synced->to(kFloat64);
    {
      NoGradGuard no_grad;
      single->weight.copy_(randn({3}, kFloat64));
      single->bias.copy_(randn({3}, kFloat64));
    }
    synced->load_state_dict(single->state_dict());
    CHECK(dist::convert_sync_batchnorm(*synced, g) == 1);

    const auto [y_all, dx_all] = batch_norm_step(*single, X, G, {0, X.size(0)});
    const dist::Shard shard = dist::shard_rows(X.size(0), g.rank(), p);
    const auto [y, dx] = batch_norm_step(*synced, X, G, shard);
    // Each rank's parameter gradient is its own batch's share; their sum (DDP's all-reduce,
    // before its division by p) is the gradient of the whole batch.
    Tensor dw = synced->weight.grad().clone(), db = synced->bias.grad().clone();
    g.all_reduce(dw, dist::ReduceOp::Sum);
    g.all_reduce(db, dist::ReduceOp::Sum);
    // One rank: plain BatchNorm, bit for bit. More: the same up to the rounding of float64 sums.
    const double tolerance = p == 1 ? 0.0 : 1e-12;
    CHECK(max_abs_diff(y, y_all.narrow(0, shard.begin, shard.size())) <= tolerance);
    CHECK(max_abs_diff(dx, dx_all.narrow(0, shard.begin, shard.size())) <= tolerance);
    CHECK(max_abs_diff(dw, single->weight.grad()) <= tolerance);
    CHECK(max_abs_diff(db, single->bias.grad()) <= tolerance);
    CHECK(max_abs_diff(synced->running_mean, single->running_mean) <= tolerance);
    CHECK(max_abs_diff(synced->running_var, single->running_var) <= tolerance);
    // Evaluation: the running statistics, which agree.
    synced->eval();
    single->eval();
    CHECK(max_abs_diff(synced->forward(X.narrow(0, shard.begin, shard.size())),
                       single->forward(X).narrow(0, shard.begin, shard.size())) <= tolerance);
  }
  SUBCASE("a SyncBatchNorm layer, float32, inside a network") {
    manual_seed(5);
    const Tensor X = randn({6, 4, 3, 3}), G = randn({6, 4, 3, 3});
    nn::BatchNorm2d single(4);
    dist::SyncBatchNorm synced(4, g);
    const auto [y_all, dx_all] = batch_norm_step(single, X, G, {0, 6});
    const dist::Shard shard = dist::shard_rows(6, g.rank(), p);
    const auto [y, dx] = batch_norm_step(synced, X, G, shard);
    CHECK(max_abs_diff(y, y_all.narrow(0, shard.begin, shard.size())) < 1e-5);
    CHECK(max_abs_diff(dx, dx_all.narrow(0, shard.begin, shard.size())) < 1e-5);
    CHECK(max_abs_diff(synced.running_var, single.running_var) < 1e-6);
    CHECK_THROWS_WITH_AS(synced.forward(ones({2})), doctest::Contains("SyncBatchNorm: expected input"), cake::Error);
  }
}

TEST_CASE("read_npy_shard: each rank reads its own rows of one file, equal to the slice of a full read") {
  dist::ProcessGroup& g = group();
  // Rank 0 writes the file (into a folder all ranks share: one machine here), the others wait.
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("cake_test_shard_" + std::to_string(g.world_size()) + ".npy");
  manual_seed(8);
  const Tensor X = randn({11, 2, 3}, kFloat64);
  if (g.rank() == 0) data::write_npy(file, X);
  g.barrier();
  const dist::FileShard mine = dist::read_npy_shard(g, file);
  CHECK(mine.total_rows == 11);
  CHECK(mine.shard.begin == dist::shard_rows(11, g.rank(), g.world_size()).begin);
  CHECK(max_abs_diff(mine.rows, X.narrow(0, mine.shard.begin, mine.shard.size())) == 0.0);
  // Together the shards are the file.
  CHECK(max_abs_diff(g.all_gather(mine.rows), X) == 0.0);
  g.barrier();
  if (g.rank() == 0) std::filesystem::remove(file);
}

TEST_CASE("distributed PCA: the same components and variances as one process (covariance solver)") {
  dist::ProcessGroup& g = group();
  manual_seed(6);
  const Tensor X = matmul(randn({203, 6}, kFloat64), randn({6, 6}, kFloat64)) + 3.0;
  const dist::Shard shard = dist::shard_rows(X.size(0), g.rank(), g.world_size());
  const dist::PCAResult fit = dist::fit_pca(g, X.narrow(0, shard.begin, shard.size()), 4);
  decomposition::PCA single({.n_components = 4, .svd_solver = "covariance_eigh"});
  single.fit(X);
  CHECK(fit.n_samples == 203);
  CHECK(max_abs_diff(fit.components, single.components()) < 1e-9);
  CHECK(max_abs_diff(fit.explained_variance, single.explained_variance()) < 1e-9);
  CHECK(max_abs_diff(fit.mean, single.mean()) < 1e-12);
}

TEST_CASE("a data-parallel step on p ranks equals one process on the concatenated batch") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size(), r = g.rank();
  manual_seed(3);
  const Tensor X = randn({4 * p, 6}), Y = randn({4 * p, 3});
  for (const bool overlap : {true, false}) {
    CAPTURE(overlap);
    // Each rank starts from different weights; the wrapper copies rank 0's everywhere.
    auto net = small_net(100 + static_cast<std::uint64_t>(r));
    dist::DistributedDataParallel ddp(*net, g, {.bucket_bytes = 64, .overlap = overlap});
    CHECK(ddp.num_buckets() >= 2);
    auto reference = small_net(100);  // rank 0's weights, trained alone on all 4p rows
    cake::testing::check_three_steps_agree(*net, ddp, *reference, X.narrow(0, 4 * r, 4), Y.narrow(0, 4 * r, 4), X, Y,
                                           2e-6);
    // With overlap the hooks start buckets during backward (all but the first layer's, at least).
    if (overlap) CHECK(ddp.stats().early_buckets >= 3 * (ddp.num_buckets() - 1));
    else CHECK(ddp.stats().early_buckets == 0);
  }
}

TEST_CASE("the Trainer on p ranks (shards of batch 12/p) equals one process with batch 12; resume on one rank") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size(), r = g.rank();
  manual_seed(4);
  const Tensor X = randn({24, 6}), Y = randn({24, 3});
  const auto dataset = std::make_shared<data::TensorDataset>(X, Y);
  auto loss_of = [](nn::Module& net) {
    return [&net](const data::Batch& b) { return F::mse_loss(net.forward(b.x), b.y); };
  };
  const std::filesystem::path dir = std::filesystem::current_path() / ("test_ranks_np" + std::to_string(p));
  if (r == 0) std::filesystem::create_directories(dir);
  g.barrier();

  // p ranks, 2 epochs, checkpoints by rank 0.
  auto net = small_net(200 + static_cast<std::uint64_t>(r));
  dist::DistributedDataParallel ddp(*net, g);
  optim::SGD sgd(net->parameters(), {.lr = 0.05});
  train::TrainerOptions options{.epochs = 2, .batch_size = 12 / p, .patience = 0, .seed = 8,
                                .checkpoint_path = (dir / "epoch.safetensors").string()};
  dist::make_data_parallel(options, ddp, dataset->size());
  train::Trainer trainer(*net, sgd, loss_of(*net), options);
  const train::TrainResult result = trainer.fit(dataset);

  // One process, batch 12, the same shuffle: the union of the ranks' batches is its batch.
  auto alone = small_net(200);
  optim::SGD sgd_alone(alone->parameters(), {.lr = 0.05});
  train::Trainer single(*alone, sgd_alone, loss_of(*alone), {.epochs = 2, .batch_size = 12, .patience = 0, .seed = 8});
  const train::TrainResult expected = single.fit(dataset);
  const auto a = net->named_parameters(), b = alone->named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(max_abs_diff(a[i].second, b[i].second) < 2e-6);
  CHECK(result.history.back().train_loss == doctest::Approx(expected.history.back().train_loss).epsilon(1e-5));

  // A checkpoint of epoch 2 exists (rank 0 wrote it); one process resumes it to epoch 3 and
  // matches one process that trained 3 epochs straight.
  g.barrier();
  auto resumed = small_net(999);
  optim::SGD sgd_resumed(resumed->parameters(), {.lr = 0.05});
  train::Trainer again(*resumed, sgd_resumed, loss_of(*resumed),
                       {.epochs = 3, .batch_size = 12, .patience = 0, .seed = 8,
                        .resume_from = (dir / "epoch.safetensors").string()});
  again.fit(dataset);
  auto straight = small_net(200);
  optim::SGD sgd_straight(straight->parameters(), {.lr = 0.05});
  train::Trainer three(*straight, sgd_straight, loss_of(*straight), {.epochs = 3, .batch_size = 12, .patience = 0, .seed = 8});
  three.fit(dataset);
  const auto c = resumed->named_parameters(), d = straight->named_parameters();
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(max_abs_diff(c[i].second, d[i].second) < 2e-6);
  g.barrier();  // every rank has read the checkpoint
  if (r == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("MoCo on p ranks (keys gathered into one queue) equals one process on the whole batch") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size();
  // 24 images of 8x8, no augmentation (the two views are the image), the poster's small ConvNet
  // (no batch norm): the p ranks' steps are the one process's steps, and their queues the same keys.
  manual_seed(21);
  const Tensor images = rand({24, 1, 8, 8});
  const contrastive::EncoderOptions encoder_options{.image_size = 8, .feature_dim = 16, .dim = 8};
  const contrastive::MoCoOptions alone_options{.queue_size = 36, .momentum = 0.9, .lr = 0.05, .cosine = false};

  manual_seed(5);
  contrastive::ContrastiveEncoder encoder(encoder_options);
  train::TrainerOptions options{.epochs = 2, .batch_size = 12 / p, .seed = 3};
  dist::DistributedDataParallel ddp(encoder, g);
  dist::make_data_parallel(options, ddp, images.size(0));
  contrastive::MoCoOptions ranks_options = alone_options;
  ranks_options.gather_keys = [&g](const Tensor& keys) { return g.all_gather(keys); };
  contrastive::MoCo moco(encoder, ranks_options, options);
  moco.fit(images);

  manual_seed(5);
  contrastive::ContrastiveEncoder single(encoder_options);
  contrastive::MoCo reference(single, alone_options, {.epochs = 2, .batch_size = 12, .seed = 3});
  reference.fit(images);

  const auto a = encoder.named_parameters(), b = single.named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(max_abs_diff(a[i].second, b[i].second) < 1e-5);
  const auto ka = moco.key_encoder().named_parameters(), kb = reference.key_encoder().named_parameters();
  for (std::size_t i = 0; i < ka.size(); ++i) CHECK(max_abs_diff(ka[i].second, kb[i].second) < 1e-5);
  // The queue holds the same keys; within a step the ranks' keys come in rank order (rank r has
  // every p-th sample of the batch), so compare each key with its nearest one.
  CHECK(moco.queue().pointer() == reference.queue().pointer());
  const Tensor qa = moco.queue().keys().to(kFloat64), qb = reference.queue().keys().to(kFloat64);
  const std::int64_t K = qa.size(0);
  double worst = 0.0;
  for (std::int64_t i = 0; i < K; ++i) {
    const Tensor distances = (qb - qa.narrow(0, i, 1)).abs().amax(1);
    worst = std::max(worst, distances.min().item<double>());
  }
  CHECK(worst < 1e-5);
}

namespace {

// A small ConvNet for 8x8 images without dropout (whose masks would differ between a rank's
// part and one process's batch), its batch norms synchronised over the ranks (on one rank,
// plain BatchNorm): p ranks then compute one process's step.
std::shared_ptr<networks::ConvNet> tiny_convnet(std::int64_t outputs, bool dac, dist::ProcessGroup* g) {
  manual_seed(9);
  auto net = std::make_shared<networks::ConvNet>(networks::ConvNetOptions{.arch = "vgg", .sobel = false, .image_size = 8,
                                                                          .hidden = 16, .num_outputs = outputs,
                                                                          .dropout = 0.0, .head_norm = dac,
                                                                          .classifier_norm = dac});
  if (g) dist::convert_sync_batchnorm(*net, *g);
  return net;
}

// Two groups of 8x8 images (bright top half or bright bottom half) with noise, the same on
// every rank.
Tensor two_kinds_of_images(std::int64_t n) {
  manual_seed(17);
  Tensor images = (rand({n, 1, 8, 8}) * 0.3).contiguous();
  float* pixel = images.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t row = (i % 2) * 4; row < (i % 2) * 4 + 4; ++row)
      for (std::int64_t col = 0; col < 8; ++col) pixel[i * 64 + row * 8 + col] += 0.7f;
  return images;
}

// The features of all images as a data-parallel run computes them (the CLI's
// deep_runs::gather_sharded): rank 0's network on every rank, `features` of this rank's rows,
// the parts all-gathered in row order.
template <class Features>
Tensor gathered_features(dist::DistributedDataParallel& ddp, const Tensor& images, Features features) {
  ddp.broadcast_parameters();
  dist::ProcessGroup& g = ddp.group();
  const dist::Shard mine = dist::shard_rows(images.size(0), g.rank(), g.world_size());
  return g.all_gather(features(images.narrow(0, mine.begin, mine.size())).contiguous());
}

}  // namespace

TEST_CASE("DeepCluster on p ranks (features sharded and gathered, synchronised batch norm) equals one process") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size();
  const Tensor images = two_kinds_of_images(24);
  const deep_clustering::DeepClusterOptions alone_options{.n_clusters = 4, .pca_dim = 6, .kmeans_iter = 5};

  auto net = tiny_convnet(4, false, &g);
  train::TrainerOptions options{.epochs = 2, .batch_size = 12 / p, .seed = 3};
  dist::DistributedDataParallel ddp(*net, g);
  dist::make_data_parallel(options, ddp, images.size(0));
  deep_clustering::DeepClusterOptions ranks_options = alone_options;
  ranks_options.all_features = [&](networks::ConvNet& model, const Tensor& x) {
    return gathered_features(ddp, x, [&](const Tensor& rows) { return networks::features_all(model, rows); });
  };
  manual_seed(40);  // the k-means starts and the heads' draws: the same on every rank
  deep_clustering::DeepCluster dc(*net, ranks_options, options);
  dc.fit(images);

  auto single = tiny_convnet(4, false, nullptr);
  manual_seed(40);
  deep_clustering::DeepCluster reference(*single, alone_options, {.epochs = 2, .batch_size = 12, .seed = 3});
  reference.fit(images);

  CHECK(testing::values(dc.pseudo_labels()) == testing::values(reference.pseudo_labels()));
  REQUIRE(dc.history().size() == 2);
  CHECK(dc.history()[1].loss == doctest::Approx(reference.history()[1].loss).epsilon(1e-5));
  const auto a = net->named_parameters(), b = single->named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(max_abs_diff(a[i].second, b[i].second) < 1e-5);
}

TEST_CASE("a DAC step on p ranks (each rank's images paired with the whole batch) has one process's gradient") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size(), r = g.rank();
  const Tensor images = two_kinds_of_images(12);
  const double upper = 0.9, lower = 0.5;

  auto single = tiny_convnet(3, true, nullptr);
  deep_clustering::dac_pair_loss(deep_clustering::label_features(single->forward(images)), upper, lower).backward();

  // Each rank forwards its own rows, pairs them with every rank's (gathered), DDP averages.
  auto net = tiny_convnet(3, true, &g);
  dist::DistributedDataParallel ddp(*net, g);
  const dist::Shard mine = dist::shard_rows(12, r, p);
  const Tensor part = deep_clustering::label_features(net->forward(images.narrow(0, mine.begin, mine.size())));
  const deep_clustering::GatheredBatch batch{.all = g.all_gather(part.detach().contiguous()), .offset = mine.begin, .ranks = p};
  deep_clustering::dac_pair_loss_part(part, batch, upper, lower).backward();
  ddp.synchronize_gradients();

  // Each rank pairing only its own images (no gather) loses the pairs across ranks.
  auto own_pairs = tiny_convnet(3, true, &g);
  dist::DistributedDataParallel ddp_own(*own_pairs, g);
  const Tensor own = deep_clustering::label_features(own_pairs->forward(images.narrow(0, mine.begin, mine.size())));
  deep_clustering::dac_pair_loss(own, upper, lower).backward();
  ddp_own.synchronize_gradients();

  const auto a = net->named_parameters(), b = single->named_parameters(), c = own_pairs->named_parameters();
  double worst_without_gather = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    // float32 through synchronised batch norm: agreement to about 1e-5 of the gradient's size
    // (the biases that a batch norm follows have gradients of rounding size, ~1e-8).
    const double scale = b[i].second.grad().abs().max().item<double>();
    CHECK(max_abs_diff(a[i].second.grad(), b[i].second.grad()) <= 2e-4 * scale + 1e-7);
    worst_without_gather = std::max(worst_without_gather, max_abs_diff(c[i].second.grad(), b[i].second.grad()) / (scale + 1e-3));
  }
  if (p > 1) CHECK(worst_without_gather > 1e-2);
}

TEST_CASE("DAC trains on p ranks: the first epoch's loss is one process's") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size();
  const Tensor images = two_kinds_of_images(24);
  const deep_clustering::DACOptions alone_options{.schedule = {.lambda_step = 0.05}, .lr = 1e-3};

  auto net = tiny_convnet(3, true, &g);
  train::TrainerOptions options{.epochs = 2, .batch_size = 12 / p, .seed = 3};
  dist::DistributedDataParallel ddp(*net, g);
  dist::make_data_parallel(options, ddp, images.size(0));
  deep_clustering::DACOptions ranks_options = alone_options;
  ranks_options.gather_batch = [&](const Tensor& mine) {
    // Every rank's part has 12 / p images (the distributed sampler's equal shards).
    return deep_clustering::GatheredBatch{.all = g.all_gather(mine.detach().contiguous()),
                                          .offset = g.rank() * mine.size(0),
                                          .ranks = p};
  };
  deep_clustering::DAC dac(*net, ranks_options, options);
  dac.fit(images);

  auto single = tiny_convnet(3, true, nullptr);
  deep_clustering::DAC reference(*single, alone_options, {.epochs = 2, .batch_size = 12, .seed = 3});
  reference.fit(images);

  // Later epochs drift apart by more than rounding: RMSprop divides each gradient by its own
  // size, so the rounding-size gradients of the biases under batch norm take full steps whose
  // signs are rounding noise (those biases do not change the outputs, the noise does not stay
  // in them alone over several steps).
  REQUIRE(dac.history().size() == 2);
  CHECK(dac.history()[0].loss == doctest::Approx(reference.history()[0].loss).epsilon(1e-4));
  CHECK(dac.history()[0].selected_fraction == doctest::Approx(reference.history()[0].selected_fraction).epsilon(0.05));
}

TEST_CASE("InfoGAN on p ranks (D and G data-parallel, each rank its rows of the batch's latents) equals one process") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size();
  manual_seed(23);
  const Tensor images = rand({12, 1, 28, 28});
  const generative::LatentSpec spec{.noise = 4, .categories = 3, .continuous = 1};
  const auto make = [&](dist::ProcessGroup* sync) {
    manual_seed(6);
    auto gen = std::make_shared<networks::GANGenerator>(
        networks::GANGeneratorOptions{.noise = 4, .categories = 3, .continuous = 1, .hidden = 16, .width = 4});
    auto dis = std::make_shared<networks::GANDiscriminator>(
        networks::GANDiscriminatorOptions{.categories = 3, .continuous = 1, .hidden = 16, .q_hidden = 8, .width = 4});
    if (sync) {
      dist::convert_sync_batchnorm(*gen, *sync);
      dist::convert_sync_batchnorm(*dis, *sync);
    }
    return std::make_pair(gen, dis);
  };

  // One epoch of one batch of 12 images: D's step, then G's.
  auto [gen, dis] = make(&g);
  train::TrainerOptions options{.epochs = 1, .batch_size = 12 / p, .seed = 3};
  dist::DistributedDataParallel ddp_g(*gen, g), ddp_d(*dis, g);
  dist::make_data_parallel(options, ddp_g, images.size(0));
  generative::GANOptions ranks_options{.probe_noise = 2};
  ranks_options.rank = g.rank();
  ranks_options.ranks = p;
  ranks_options.after_d_backward = [&] { ddp_d.synchronize_gradients(); };
  manual_seed(50);
  generative::InfoGAN ranks_run(gen, dis, ranks_options, {}, options);
  ranks_run.fit(images);

  auto [gen1, dis1] = make(nullptr);
  manual_seed(50);
  generative::InfoGAN alone(gen1, dis1, {.probe_noise = 2}, {}, {.epochs = 1, .batch_size = 12, .seed = 3});
  alone.fit(images);

  // D's loss and outputs come before any update, G's loss after D's step: one process's.
  const generative::GANEpoch& a = ranks_run.history().at(0);
  const generative::GANEpoch& b = alone.history().at(0);
  CHECK(a.d_loss == doctest::Approx(b.d_loss).epsilon(1e-5));
  CHECK(a.d_real == doctest::Approx(b.d_real).epsilon(1e-5));
  CHECK(a.d_fake == doctest::Approx(b.d_fake).epsilon(1e-5));
  CHECK(a.g_loss == doctest::Approx(b.g_loss).epsilon(1e-4));
  CHECK(a.info_categorical == doctest::Approx(b.info_categorical).epsilon(1e-4));
  // The ranks generated different images: rank r's latents are rows r*m.. of the batch's draw.
  if (p > 1) {
    manual_seed(1);
    const generative::Latent whole = generative::sample_latent(spec, 12);
    const generative::Latent part = generative::latent_rows(whole, 6, 6);
    CHECK(max_abs_diff(part.input, whole.input.narrow(0, 6, 6)) == 0.0);
    CHECK(testing::values(part.category) == testing::values(whole.category.narrow(0, 6, 6)));
  }
}

TEST_CASE("JULE on p ranks (features sharded, the whole batch's triplets, synchronised batch norm) equals one process") {
  dist::ProcessGroup& g = group();
  const int p = g.world_size();
  const Tensor images = two_kinds_of_images(48);
  const deep_clustering::JuleOptions alone_options{.n_clusters = 2, .k_s = 5, .eta = 0.5, .epochs_per_period = 1};
  const auto make = [&](dist::ProcessGroup* sync) {
    manual_seed(12);
    auto net = std::make_shared<deep_clustering::JuleNet>(
        deep_clustering::JuleNetOptions{.in_channels = 1, .image_size = 8, .channels = 4, .kernel = 3, .feature_dim = 8});
    if (sync) dist::convert_sync_batchnorm(*net, *sync);
    return net;
  };

  auto net = make(&g);
  train::TrainerOptions options{.batch_size = 12 / p, .seed = 3};
  dist::DistributedDataParallel ddp(*net, g);
  dist::make_data_parallel(options, ddp, images.size(0));
  deep_clustering::JuleOptions ranks_options = alone_options;
  ranks_options.all_features = [&](deep_clustering::JuleNet& model, const Tensor& x) {
    return gathered_features(ddp, x, [&](const Tensor& rows) { return deep_clustering::jule_features(model, rows); });
  };
  ranks_options.gather_batch = [&](const Tensor& features, const Tensor& indices) {
    return deep_clustering::JuleBatch{.features = g.all_gather(features.contiguous()),
                                      .indices = g.all_gather(indices.contiguous()), .rank = g.rank(), .ranks = p};
  };
  manual_seed(30);
  deep_clustering::Jule ranks_run(*net, ranks_options, options);
  ranks_run.fit(images);

  auto single = make(nullptr);
  manual_seed(30);
  deep_clustering::Jule alone(*single, alone_options, {.batch_size = 12, .seed = 3});
  alone.fit(images);

  CHECK(testing::values(ranks_run.labels()) == testing::values(alone.labels()));
  REQUIRE(ranks_run.epochs().size() == alone.epochs().size());
  REQUIRE(!alone.epochs().empty());
  CHECK(ranks_run.epochs().back().loss == doctest::Approx(alone.epochs().back().loss).epsilon(1e-4));
  CHECK(ranks_run.epochs().back().triplets_per_batch == doctest::Approx(alone.epochs().back().triplets_per_batch));
  const auto a = net->named_parameters(), b = single->named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(max_abs_diff(a[i].second, b[i].second) < 1e-5);
}
