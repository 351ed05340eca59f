// Gradient-check rows for bilinear, lp_pool1d / 2d, rrelu in evaluation and with a fixed draw,
// alpha_dropout with a fixed mask, embedding with padding_idx, embedding_bag, pdist,
// channel_shuffle, gumbel_softmax with a fixed draw and ctc_loss (nn/functional.h). float64
// finite differences.
#include "cake/nn/functional.h"
#include "gradcheck_table.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::inputs;
using cake::testing::positive_inputs;
using cake::testing::TensorList;

CAKE_GRADCHECK_CASES(nn_misc) {
  return {
      {"bilinear", [] { return inputs({{2, 3}, {2, 4}, {5, 3, 4}, {5}}); },
       [](const TensorList& x) { return F::bilinear(x[0], x[1], x[2], x[3]); }},
      {"bilinear leading dims, no bias", [] { return inputs({{2, 2, 3}, {2, 2, 2}, {1, 3, 2}}); },
       [](const TensorList& x) { return F::bilinear(x[0], x[1], x[2]); }},
      {"lp_pool2d p=2", [] { return positive_inputs({{1, 2, 4, 5}}); },
       [](const TensorList& x) { return F::lp_pool2d(x[0] + 0.1, 2.0, 2); }},
      {"lp_pool1d p=1.5 ceil_mode", [] { return positive_inputs({{2, 2, 7}}); },
       [](const TensorList& x) { return F::lp_pool1d(x[0] + 0.1, 1.5, 3, 2, true); }},
      {"rrelu in evaluation", [] { return inputs({{10}}); },
       [](const TensorList& x) { return F::rrelu(x[0] * 3.0, 0.1, 0.3, false); }},
      {"rrelu in training (a fixed draw)", [] { return inputs({{10}}); },
       [](const TensorList& x) {
         manual_seed(4);  // the same slopes on every evaluation
         return F::rrelu(x[0] * 3.0, 0.1, 0.3, true);
       }},
      {"alpha_dropout (a fixed mask)", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) {
         manual_seed(9);
         return F::alpha_dropout(x[0], 0.3, true);
       }},
      // The padding row's value is passed on but, by design, not its gradient (PyTorch's): the
      // padding positions are masked out here, so that the function no longer reads that row.
      {"embedding with padding_idx", [] { return inputs({{5, 3}}); },
       [](const TensorList& x) {
         const Tensor ids = tensor(std::vector<std::int64_t>{4, 1, 4, 2, 1}, {5});
         const Tensor not_padding = (ids != Scalar(4)).unsqueeze(-1).to(kFloat64);
         return F::embedding(ids, x[0], F::EmbeddingFuncOptions().padding_idx(4)) * not_padding;
       }},
      // embedding_bag: the table and the per-sample weights; bag 1 is empty. The max rows use
      // random tables, so no two candidates of a bag tie.
      {"embedding_bag sum with per_sample_weights", [] { return inputs({{6, 3}, {7}}); },
       [](const TensorList& x) {
         return F::embedding_bag(tensor(std::vector<std::int64_t>{4, 1, 0, 5, 1, 3, 2}, {7}), x[0],
                                 F::EmbeddingBagFuncOptions()
                                     .offsets(tensor(std::vector<std::int64_t>{0, 2, 2, 5}, {4}))
                                     .mode(cake::kSum)
                                     .per_sample_weights(x[1]));
       }},
      {"embedding_bag mean and max of 2-D bags", [] { return inputs({{6, 3}}); },
       [](const TensorList& x) {
         const Tensor ids = tensor(std::vector<std::int64_t>{0, 5, 2, 1, 3, 4}, {2, 3});
         return F::embedding_bag(ids, x[0], F::EmbeddingBagFuncOptions()) +
                F::embedding_bag(ids, x[0], F::EmbeddingBagFuncOptions().mode(cake::kMax));
       }},
      {"pdist p=2 and p=3", [] { return inputs({{5, 3}}); },
       [](const TensorList& x) { return F::pdist(x[0]) + F::pdist(x[0], 3.0); }},
      {"channel_shuffle", [] { return inputs({{2, 6, 3}}); }, [](const TensorList& x) { return F::channel_shuffle(x[0], 2); }},
      {"gumbel_softmax soft (a fixed draw)", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) {
         manual_seed(2);
         return F::gumbel_softmax(x[0], 0.8);
       }},
      // ctc_loss through a log-softmax, two samples of different lengths, a repeated label.
      {"ctc_loss", [] { return inputs({{6, 2, 4}}); },
       [](const TensorList& x) {
         return F::ctc_loss(F::log_softmax(x[0], 2), tensor(std::vector<std::int64_t>{1, 2, 2, 3, 1, 0}, {2, 3}),
                            tensor(std::vector<std::int64_t>{6, 5}, {2}), tensor(std::vector<std::int64_t>{3, 2}, {2}), 0,
                            nn::Reduction::None);
       }},
  };
}
