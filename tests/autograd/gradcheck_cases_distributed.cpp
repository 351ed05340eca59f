// Gradient-check rows for the differentiable pieces of cake::distributed: the all-reduce
// (one local rank here: the identity, whose recorded node must pass the gradient through) and
// synchronised batch norm's arithmetic (nn::BatchNormBase with a statistics reducer). The
// multi-rank behaviour is checked against BatchNorm on the whole batch in
// tests/distributed/test_ranks.cpp.
#include "cake/distributed/sync_batchnorm.h"
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {

// Two replicas that hold the same batch: the sum over replicas is twice the local sum, and so
// is its gradient (the backward of an all-reduce over identical replicas). Lets one process
// run the synchronised path of BatchNorm.
class TwinReplicas final : public nn::BatchStatisticsReducer {
 public:
  int replicas() const override { return 2; }
  Tensor sum(const Tensor& local) override { return local * 2.0; }
};

Tensor synchronised_batch_norm(const Tensor& x, bool images) {
  std::shared_ptr<nn::BatchNormBase> bn;
  if (images) bn = std::make_shared<nn::BatchNorm2d>(3);
  else bn = std::make_shared<nn::BatchNorm1d>(3);
  bn->to(kFloat64);
  {
    NoGradGuard no_grad;
    bn->weight.copy_(tensor({0.5, -1.5, 2.0}, {3}, kFloat64));
    bn->bias.copy_(tensor({0.1, 0.2, -0.3}, {3}, kFloat64));
  }
  bn->statistics_reducer = std::make_shared<TwinReplicas>();
  return bn->forward(x);
}

}  // namespace

CAKE_GRADCHECK_CASES(distributed) {
  return {
      {"distributed all_reduce_sum (one local rank)", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) {
         static const auto group = distributed::init_process_group({.backend = "local"});
         return distributed::all_reduce_sum(*group, x[0]) * x[0];
       }},
      {"synchronised batch norm [N, C]", [] { return inputs({{5, 3}}); },
       [](const TensorList& x) { return synchronised_batch_norm(x[0], false); }},
      {"synchronised batch norm [N, C, H, W]", [] { return inputs({{2, 3, 2, 2}}); },
       [](const TensorList& x) { return synchronised_batch_norm(x[0], true); }},
  };
}
