#include "cake/autograd/function.h"

#include <atomic>

#include "cake/autograd/engine.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake {

namespace {
thread_local bool grad_enabled = true;
}
bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

namespace autograd {

std::uint64_t next_sequence_nr() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

static AutogradMeta& meta_of(const Tensor& t) {
  auto& meta = t.impl().autograd;
  if (!meta) meta = std::make_shared<AutogradMeta>();
  return *meta;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  AutogradMeta& meta = meta_of(t);
  if (meta.grad_fn) return {meta.grad_fn, meta.output_nr};
  std::shared_ptr<Node> acc = meta.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    acc->sequence_nr = next_sequence_nr();
    acc->outputs.push_back({t.sizes(), t.dtype(), t.device()});
    meta.grad_accumulator = acc;
  }
  return {acc, 0};
}

static void link_pending_saves(const std::shared_ptr<Node>& node, const TensorList& outputs);

void record(const char* name, const TensorList& inputs, const TensorList& outputs, FunctionNode::Backward backward) {
  if (!GradMode::is_enabled()) return;  // NoGradGuard: nothing is recorded, as for every op
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  node->sequence_nr = next_sequence_nr();
  node->next_edges.reserve(inputs.size());
  for (const Tensor& input : inputs) node->next_edges.push_back(gradient_edge(input));
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->outputs.push_back({out.sizes(), out.dtype(), out.device()});
    AutogradMeta& meta = meta_of(out);
    meta.grad_fn = node;
    meta.output_nr = static_cast<std::uint32_t>(i);
  }
  link_pending_saves(node, outputs);
}

void check_double_backward(const char* name) {
  CAKE_CHECK(!create_graph_active(), "double backward is not supported for ", name,
             ": its backward is a fused kernel with no derivative of its own (create_graph=true needs one)");
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.sizes() == shape) return g;
  Tensor y = native::sum_to(g, shape);
  if (needs_grad({g}))
    record("SumToBackward", {g}, {y}, [s = g.sizes()](const TensorList& gg) { return TensorList{cake::expand(gg[0], s)}; });
  return y;
}

namespace {
// Tensors saved while they had no graph, which the next record() may give one (its outputs).
struct PendingSave {
  std::weak_ptr<TensorImpl> tensor;
  std::weak_ptr<SavedTensor::Link> link;
};
thread_local std::vector<PendingSave> pending_saves;
}  // namespace

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  data_ = native::as_strided(t, t.sizes(), t.strides(), t.storage_offset());  // a detached view
  version_ = t.version();
  link_ = std::make_shared<Link>();
  if (t.requires_grad()) {
    const AutogradMeta& meta = *t.impl().autograd;
    if (meta.grad_fn) {
      link_->grad_fn = meta.grad_fn;
      link_->output_nr = meta.output_nr;
    } else {
      link_->leaf = t;
    }
  } else if (GradMode::is_enabled()) {
    pending_saves.push_back({t.impl_ptr(), link_});  // maybe the output of the op being recorded
  }
}

// Called by record(): saved tensors that are outputs of `node` get their link to it.
static void link_pending_saves(const std::shared_ptr<Node>& node, const TensorList& outputs) {
  for (const PendingSave& p : pending_saves) {
    std::shared_ptr<TensorImpl> impl = p.tensor.lock();
    std::shared_ptr<SavedTensor::Link> link = p.link.lock();
    if (!impl || !link) continue;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].impl_ptr() == impl) {
        link->grad_fn = node;
        link->output_nr = static_cast<std::uint32_t>(i);
      }
    }
  }
  pending_saves.clear();
}

Tensor SavedTensor::get() const {
  CAKE_CHECK(!data_.defined() || data_.version() == version_,
             "one of the tensors needed for gradient computation was modified by an in-place operation: a tensor of "
             "shape ", data_.sizes(), " was saved at version ", version_, " and is now at version ", data_.version(),
             ". Use out-of-place ops (or clone()) on tensors that backward needs.");
  if (!create_graph_active() || !link_) return data_;
  // create_graph: hand out the tensor with its place in the graph, so that what backward
  // computes from it is differentiable with respect to it.
  if (link_->leaf.defined()) return link_->leaf;
  std::shared_ptr<Node> node = link_->grad_fn.lock();
  if (!node) return data_;
  Tensor attached = native::as_strided(data_, data_.sizes(), data_.strides(), data_.storage_offset());
  auto meta = std::make_shared<AutogradMeta>();
  meta->grad_fn = std::move(node);
  meta->output_nr = link_->output_nr;
  attached.impl().autograd = std::move(meta);
  return attached;
}

}  // namespace autograd

// ---- Tensor's autograd methods ---------------------------------------------------------------
bool Tensor::requires_grad() const {
  const auto& meta = impl().autograd;
  return meta && (meta->requires_grad || meta->grad_fn);
}

Tensor& Tensor::requires_grad_(bool enabled) {
  auto& meta = impl().autograd;
  if (meta && meta->grad_fn) {
    CAKE_CHECK(enabled, "requires_grad_(false): only leaf tensors can stop requiring gradients; use detach()");
    return *this;
  }
  if (enabled)
    CAKE_CHECK(is_floating_point(), "requires_grad_: only floating-point tensors can require gradients, got ",
               dtype_name(dtype()));
  if (!meta) {
    if (!enabled) return *this;
    meta = std::make_shared<autograd::AutogradMeta>();
  }
  meta->requires_grad = enabled;
  return *this;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  const auto& meta = impl().autograd;
  return meta ? meta->grad : undefined;
}

Tensor& Tensor::mutable_grad() {
  auto& meta = impl().autograd;
  if (!meta) meta = std::make_shared<autograd::AutogradMeta>();
  return meta->grad;
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined())
    CAKE_CHECK(grad.sizes() == sizes(), "set_grad: gradient of shape ", grad.sizes(), " for a tensor of shape ", sizes());
  mutable_grad() = grad;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph);
}

unsigned Tensor::add_hook(std::function<Tensor(const Tensor&)> hook) const {
  CAKE_CHECK(requires_grad(), "register_hook: the tensor does not require a gradient, so no gradient will reach it");
  auto& meta = impl().autograd;
  if (meta->grad_fn) {
    auto& hooks = meta->grad_fn->pre_hooks;
    hooks.emplace_back(meta->output_nr, std::move(hook));
    return static_cast<unsigned>(hooks.size() - 1);
  }
  meta->hooks.push_back(std::move(hook));
  return static_cast<unsigned>(meta->hooks.size() - 1);
}

void Tensor::retain_grad() const {
  CAKE_CHECK(requires_grad(), "retain_grad: the tensor does not require a gradient");
  auto& meta = impl().autograd;
  if (!meta->grad_fn || meta->retains_grad) return;  // leaves keep their grad anyway
  meta->retains_grad = true;
  meta->grad_fn->retained.emplace_back(meta->output_nr, impl_ptr());
}

bool Tensor::is_leaf() const {
  const auto& meta = impl().autograd;
  return !meta || !meta->grad_fn;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  const auto& meta = impl().autograd;
  return meta ? meta->grad_fn : nullptr;
}

Tensor Tensor::detach() const { return native::as_strided(*this, sizes(), strides(), storage_offset()); }

Tensor& Tensor::detach_() {
  impl().autograd.reset();
  return *this;
}

}  // namespace cake
