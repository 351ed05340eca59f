// data_parallel.cpp: gradient buckets filled by hooks and all-reduced as they complete; the
// distributed sampler; the Trainer wiring. See data_parallel.h for the maths.
#include "cake/distributed/data_parallel.h"

#include <chrono>
#include <numeric>

#include "cake/data/sampler.h"
#include "cake/tensor/creation.h"

namespace cake::distributed {

// What the hooks share with the wrapper: the buckets, which parameter sits where, and which
// gradients of the current step have arrived.
struct DistributedDataParallel::State {
  struct Slot {
    Tensor param;
    std::string name;
    std::size_t bucket = 0;
    std::int64_t offset = 0;  // in the bucket's flat buffer
    bool arrived = false;
  };
  struct Bucket {
    Tensor flat;                  // the gradients of its parameters, end to end
    std::vector<std::size_t> slots;
    std::size_t arrived = 0;
    std::unique_ptr<Work> work;   // set once started
  };
  ProcessGroup* group = nullptr;
  bool alive = true;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::size_t next_to_start = 0;  // buckets start strictly in order: the same order on every rank
  CommStats stats;

  void start_ready_buckets() {
    while (next_to_start < buckets.size() && buckets[next_to_start].arrived == buckets[next_to_start].slots.size()) {
      Bucket& b = buckets[next_to_start++];
      b.work = group->all_reduce_async(b.flat, ReduceOp::Mean);
    }
  }
  void drive_progress() {
    for (std::size_t i = 0; i < next_to_start; ++i) buckets[i].work->ready();
  }
  // Copies gradient g of slot s into its bucket; starts the buckets that are now complete.
  void arrive(std::size_t s, const Tensor& g) {
    Slot& slot = slots[s];
    CAKE_CHECK(!slot.arrived, "DistributedDataParallel: parameter ", slot.name, " received a second gradient before "
               "synchronize_gradients(); call it after every backward (and zero the gradients before the next)");
    Bucket& b = buckets[slot.bucket];
    b.flat.narrow(0, slot.offset, slot.param.numel()).copy_(g.detach().reshape({-1}));
    slot.arrived = true;
    ++b.arrived;
    start_ready_buckets();
    drive_progress();
  }
};

namespace {

// Parameters in reverse registration order, cut into buckets of about `bytes`, one dtype and
// device per bucket.
void plan_buckets(const std::vector<std::pair<std::string, Tensor>>& named, std::int64_t bytes,
                  std::vector<std::vector<std::size_t>>& out) {
  std::int64_t filled = 0;
  for (std::size_t i = named.size(); i-- > 0;) {
    const Tensor& p = named[i].second;
    const bool fits = !out.empty() && filled + static_cast<std::int64_t>(p.nbytes()) <= bytes;
    const bool same_kind = !out.empty() && named[out.back().front()].second.dtype() == p.dtype() &&
                           named[out.back().front()].second.device() == p.device();
    if (!fits || !same_kind) {
      out.emplace_back();
      filled = 0;
    }
    out.back().push_back(i);
    filled += static_cast<std::int64_t>(p.nbytes());
  }
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(nn::Module& model, ProcessGroup& group, DataParallelOptions options)
    : model_(model), group_(group), options_(options), state_(std::make_shared<State>()) {
  CAKE_CHECK(options_.bucket_bytes > 0, "DistributedDataParallel: bucket_bytes must be positive, got ",
             options_.bucket_bytes);
  state_->group = &group_;
  std::vector<std::pair<std::string, Tensor>> named;
  for (auto& [name, p] : model_.named_parameters())
    if (p.requires_grad()) named.emplace_back(name, p);
  CAKE_CHECK(!named.empty(), "DistributedDataParallel: the model has no trained parameters");
  std::vector<std::vector<std::size_t>> plan;
  plan_buckets(named, options_.bucket_bytes, plan);
  state_->slots.resize(named.size());
  for (std::size_t b = 0; b < plan.size(); ++b) {
    State::Bucket bucket;
    std::int64_t size = 0;
    for (std::size_t i : plan[b]) {
      State::Slot& slot = state_->slots[i];
      slot.param = named[i].second;
      slot.name = named[i].first;
      slot.bucket = b;
      slot.offset = size;
      size += slot.param.numel();
      bucket.slots.push_back(i);
    }
    const Tensor& first = named[plan[b].front()].second;
    bucket.flat = zeros({size}, TensorOptions(first.dtype(), first.device()));
    state_->buckets.push_back(std::move(bucket));
  }
  broadcast_parameters(0);
  if (options_.overlap) {
    // The hook holds the state weakly: after the wrapper is gone, it does nothing.
    std::weak_ptr<State> weak = state_;
    for (std::size_t i = 0; i < state_->slots.size(); ++i)
      state_->slots[i].param.register_hook([weak, i](const Tensor& g) {
        if (auto state = weak.lock(); state && state->alive) state->arrive(i, g);
      });
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  state_->alive = false;
  for (auto& b : state_->buckets)
    if (b.work) {
      try {
        b.work->wait();
      } catch (...) {  // a timeout was already reported by whoever waited first
      }
    }
}

void DistributedDataParallel::broadcast_parameters(int root) {
  for (Tensor p : model_.parameters()) {
    Tensor data = p.detach();
    group_.broadcast(data, root);
  }
  if (options_.broadcast_buffers)
    for (Tensor b : model_.buffers()) {
      Tensor data = b.detach();
      group_.broadcast(data, root);
    }
}

void DistributedDataParallel::synchronize_gradients() {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  State& s = *state_;
  s.stats.early_buckets += static_cast<std::int64_t>(s.next_to_start);
  // Without overlap (or for parameters backward never reached) the gradients are copied now;
  // a parameter without a gradient contributes zeros, which is its gradient on this rank.
  for (std::size_t i = 0; i < s.slots.size(); ++i) {
    State::Slot& slot = s.slots[i];
    if (slot.arrived) continue;
    State::Bucket& b = s.buckets[slot.bucket];
    Tensor view = b.flat.narrow(0, slot.offset, slot.param.numel());
    if (slot.param.grad().defined()) view.copy_(slot.param.grad().detach().reshape({-1}));
    else view.zero_();
    slot.arrived = true;
    ++b.arrived;
  }
  s.start_ready_buckets();
  std::int64_t bytes = 0;
  for (State::Bucket& b : s.buckets) {
    b.work->wait();
    bytes += static_cast<std::int64_t>(b.flat.nbytes());
  }
  // The means into .grad (in place when there is one, so optimisers keep their references).
  for (State::Slot& slot : s.slots) {
    const Tensor mean = s.buckets[slot.bucket].flat.narrow(0, slot.offset, slot.param.numel()).view(slot.param.sizes());
    if (slot.param.grad().defined()) slot.param.mutable_grad().copy_(mean);
    else slot.param.set_grad(mean.clone());
    slot.arrived = false;
  }
  for (State::Bucket& b : s.buckets) {
    b.arrived = 0;
    b.work.reset();
  }
  s.next_to_start = 0;
  s.stats.steps += 1;
  s.stats.bytes += bytes;
  s.stats.wait_seconds += std::chrono::duration<double>(clock::now() - started).count();
}

std::int64_t DistributedDataParallel::num_buckets() const { return static_cast<std::int64_t>(state_->buckets.size()); }

const CommStats& DistributedDataParallel::stats() const { return state_->stats; }

Tensor distributed_indices(std::int64_t n, std::int64_t epoch, std::uint64_t seed, int rank, int world_size, bool shuffle) {
  CAKE_CHECK(n >= 1, "distributed_sampler: the data set is empty");
  CAKE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "distributed_sampler: rank ", rank, " of world size ",
             world_size);
  const Tensor order = shuffle ? data::seeded_permutation(n, seed, static_cast<std::uint64_t>(epoch)) : arange(n);
  const std::int64_t per_rank = (n + world_size - 1) / world_size;
  Tensor mine = empty({per_rank}, kInt64);
  const std::int64_t* all = order.data_ptr<std::int64_t>();
  std::int64_t* out = mine.data_ptr<std::int64_t>();
  // Position rank + j*world_size of the order padded with its own start (n may be < world_size).
  for (std::int64_t j = 0; j < per_rank; ++j) out[j] = all[(rank + j * world_size) % n];
  return mine;
}

data::Sampler distributed_sampler(std::int64_t n, std::uint64_t seed, int rank, int world_size, bool shuffle) {
  distributed_indices(n, 0, seed, rank, world_size, shuffle);  // the checks, now rather than at the first epoch
  return [=](std::int64_t epoch) { return distributed_indices(n, epoch, seed, rank, world_size, shuffle); };
}

void make_data_parallel(train::TrainerOptions& options, DistributedDataParallel& ddp, std::int64_t train_size) {
  ProcessGroup& group = ddp.group();
  options.sampler = distributed_sampler(train_size, options.seed, group.rank(), group.world_size());
  options.after_backward = [&ddp] { ddp.synchronize_gradients(); };
  options.reduce_loss = [&group](double loss) {
    Tensor value = full({1}, loss, kFloat64);
    group.all_reduce(value, ReduceOp::Mean);
    return value.item<double>();
  };
  // A stop request (Ctrl-C, which mpirun forwards to every rank) reaches the ranks at slightly
  // different moments; stopping when ANY rank asks keeps them at the same batch, where one rank
  // stopping alone would leave the others waiting in the next all-reduce.
  if (options.should_stop)
    options.should_stop = [&group, asked = options.should_stop] {
      Tensor flag = full({1}, asked() ? 1.0 : 0.0, kFloat64);
      group.all_reduce(flag, ReduceOp::Max);
      return flag.item<double>() > 0.0;
    };
  // One writer: every rank holds the same weights, and two ranks writing one file would race.
  if (group.rank() != 0) options.checkpoint_path.clear();
}

}  // namespace cake::distributed
