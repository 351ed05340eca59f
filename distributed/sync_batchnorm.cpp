// sync_batchnorm.cpp: the differentiable all-reduce and the synchronised batch norm. See
// sync_batchnorm.h; the layer's arithmetic is nn::BatchNormBase's (nn/normalization.cpp).
#include "cake/distributed/sync_batchnorm.h"

#include "cake/autograd/custom_function.h"
#include "cake/autograd/grad_mode.h"
#include "cake/tensor/creation.h"

namespace cake::distributed {

namespace {

Tensor summed(ProcessGroup& group, const Tensor& t) {
  Tensor out = t.detach().contiguous().clone();
  group.all_reduce(out, ReduceOp::Sum);
  return out;
}

class AllReduceStatistics final : public nn::BatchStatisticsReducer {
 public:
  explicit AllReduceStatistics(ProcessGroup& group) : group_(&group) {}
  int replicas() const override { return group_->world_size(); }
  Tensor sum(const Tensor& local) override { return all_reduce_sum(*group_, local); }

 private:
  ProcessGroup* group_;
};

}  // namespace

Tensor all_reduce_sum(ProcessGroup& group, const Tensor& local) {
  Tensor out = summed(group, local);
  if (!GradMode::is_enabled() || !local.requires_grad()) return out;
  auto ctx = std::make_shared<autograd::AutogradContext>();
  ctx->needs_input_grad_ = {true};
  ProcessGroup* g = &group;
  // d/dx_r sum_q L_q(y) = sum_q dL_q/dy: the gradients summed over the ranks, by the same
  // collective (every rank runs this backward at the same point of its backward pass), itself
  // recorded in a create_graph backward, so that second derivatives pass through too.
  auto backward = [g, shape = local.sizes(), options = TensorOptions(local.dtype(), local.device())](
                      autograd::AutogradContext*, autograd::variable_list grads) {
    const Tensor incoming = grads[0].defined() ? grads[0] : zeros(shape, options);
    return autograd::variable_list{all_reduce_sum(*g, incoming)};
  };
  return autograd::detail::record_custom("AllReduceSumBackward", ctx, {local}, {out}, backward)[0];
}

std::shared_ptr<nn::BatchStatisticsReducer> make_statistics_reducer(ProcessGroup& group) {
  return std::make_shared<AllReduceStatistics>(group);
}

std::int64_t convert_sync_batchnorm(nn::Module& module, ProcessGroup& group) {
  const auto reducer = make_statistics_reducer(group);
  std::int64_t converted = 0;
  module.apply([&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNormBase*>(&m)) {
      bn->statistics_reducer = reducer;
      ++converted;
    }
  });
  return converted;
}

SyncBatchNorm::SyncBatchNorm(std::int64_t num_features, ProcessGroup& group, const nn::BatchNormOptions& options)
    : nn::BatchNormBase(num_features, options), group_(&group) {
  statistics_reducer = make_statistics_reducer(group);
}

std::shared_ptr<nn::Module> SyncBatchNorm::clone() const {
  return copy_state_into(std::make_shared<SyncBatchNorm>(num_features, *group_, options));
}

void SyncBatchNorm::check_input(const Tensor& x) const {
  CAKE_CHECK(x.dim() >= 2 && x.dim() <= 4, "SyncBatchNorm: expected input [N, C], [N, C, L] or [N, C, H, W], got shape ",
             x.sizes());
}

}  // namespace cake::distributed
