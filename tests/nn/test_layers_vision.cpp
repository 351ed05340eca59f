// Tests for the layers libtorch has for autoencoders, GANs and vision models: InstanceNorm1d/2d
// (nn/normalization.h), PixelShuffle, PixelUnshuffle, Unfold, Fold (nn/rearrange.h),
// AdaptiveMaxPool1d/2d (nn/pooling.h), the padding_mode of Conv1d/Conv2d (nn/conv.h), and their
// F:: forms, and the 2-D convolutions and pools on one unbatched image [C, H, W]. Outputs are checked against known answers computed once with PyTorch 1.13 (weights
// and inputs set by the formulas of nn/pytorch_reference.h on both sides); also PyTorch's
// parameter and buffer names, printing, the identities of fold and unfold, and error messages.
// The finite-difference rows are in tests/autograd/gradcheck_cases_layers.cpp.
//
// The known answers came from (float64 throughout; pattern, inputs_of and set_params as in
// tests/nn/test_rnn.cpp; each entry of `out` is printed as the vector of that name):
//   m = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True); set_params(m)
//   out['instance_norm2d_train'] = m(inputs_of((2, 3, 4, 5), 1))
//   out['instance_norm2d_running_mean'] = m.running_mean.clone()
//   out['instance_norm2d_running_var'] = m.running_var.clone()
//   m.eval()
//   out['instance_norm2d_eval'] = m(inputs_of((2, 3, 4, 5), 3))
//   out['instance_norm1d'] = torch.nn.InstanceNorm1d(4)(inputs_of((2, 4, 6), 4))
//   out['pixel_shuffle2'] = torch.nn.PixelShuffle(2)(inputs_of((1, 8, 2, 3), 5))
//   out['pixel_shuffle3'] = F.pixel_shuffle(inputs_of((2, 9, 2, 2), 6), 3)
//   out['pixel_unshuffle2'] = torch.nn.PixelUnshuffle(2)(inputs_of((1, 2, 4, 6), 7))
//   out['unfold_strided'] = torch.nn.Unfold((2, 3), dilation=(2, 1), padding=1, stride=2)(inputs_of((1, 2, 5, 6), 8))
//   out['fold_plain'] = torch.nn.Fold((4, 5), 2)(inputs_of((1, 8, 12), 9))
//   out['fold_strided'] = F.fold(inputs_of((1, 12, 9), 10), (5, 6), (2, 3), dilation=(2, 1), padding=1, stride=2)
//   x = inputs_of((1, 2, 7, 9), 11).requires_grad_()
//   y = torch.nn.AdaptiveMaxPool2d((3, 4))(x)
//   (y * pattern(y.shape, 1)).sum().backward()
//   out['adaptive_max_pool2d'] = y
//   out['adaptive_max_pool2d_grad'] = x.grad
//   out['adaptive_max_pool1d'] = F.adaptive_max_pool1d(inputs_of((2, 3, 10), 12), 4)
//   for mode in ['zeros', 'reflect', 'replicate', 'circular']:
//       m = torch.nn.Conv2d(2, 3, 3, stride=2, padding=2, padding_mode=mode); set_params(m)
//       out['conv2d_' + mode] = m(inputs_of((1, 2, 4, 5), 13))
//       m = torch.nn.Conv1d(2, 2, 3, padding=2, dilation=2, padding_mode=mode); set_params(m)
//       out['conv1d_' + mode] = m(inputs_of((1, 2, 6), 14))
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_answer;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::inputs_of;
using cake::testing::pattern;
using cake::testing::set_params;
using cake::testing::values;
using cake::testing::contains;
using cake::testing::names_of;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// instance_norm2d_train: shape [2, 3, 4, 5]
const std::vector<double> instance_norm2d_train = {
    0.21475458709579967, -0.17383132289901476, 0.2924717690947625, -0.09611414090005187, -0.4847000508948663,
    -0.018396958901088983, -0.4069828688959034, 0.0593202230978739, -0.3292656868969405, 0.13703740509683676,
    -0.25154850489797764, 0.21475458709579967, -0.17383132289901476, 0.2924717690947625, -0.09611414090005187,
    -0.4847000508948663, -0.018396958901088983, -0.4069828688959034, 0.0593202230978739, -0.3292656868969405,
    0.1582937252412238, 0.3137280892391496, 0.12720685244163862, 0.2826412164395644, 0.09611997964205349,
    0.25155434363997925, 0.406988707637905, 0.2204674708403941, 0.37590183483831985, 0.18938059804080895,
    0.3448149620387347, 0.1582937252412238, 0.3137280892391496, 0.12720685244163862, 0.2826412164395644,
    0.09611997964205349, 0.25155434363997925, 0.406988707637905, 0.2204674708403941, 0.37590183483831985,
    -0.017472012140766578, -0.645926033381938, 0.10821879210746768, -0.5202352291337038, 0.23390959635570202,
    -0.3945444248854695, 0.3596004006039363, -0.26885362063723517, -0.8973076418784066, -0.14316281638900089,
    -0.7716168376301723, -0.017472012140766578, -0.645926033381938, 0.10821879210746768, -0.5202352291337038,
    0.23390959635570202, -0.3945444248854695, 0.3596004006039363, -0.26885362063723517, -0.8973076418784066,
    -0.03975932762629619, -0.4413638101176549, 0.040561568871975553, -0.3610429136193832, 0.12088246537024729,
    -0.28072201712111144, 0.20120336186851906, -0.20040112062283968, 0.2815242583667908, -0.12008022412456794,
    -0.5216847066159267, -0.03975932762629619, -0.4413638101176549, 0.040561568871975553, -0.3610429136193832,
    0.12088246537024729, -0.28072201712111144, 0.20120336186851906, -0.20040112062283968, 0.2815242583667908,
    0.2435651887447746, 0.40443547012540965, 0.21139113246864757, 0.37226141384928263, 0.17921707619252056,
    0.3400873575731556, 0.14704301991639357, 0.3079133012970286, 0.11486896364026654, 0.2757392450209016,
    0.08269490736413954, 0.2435651887447746, 0.40443547012540965, 0.21139113246864757, 0.37226141384928263,
    0.17921707619252056, 0.3400873575731556, 0.14704301991639357, 0.3079133012970286, 0.11486896364026654,
    -0.3638975343548921, 0.39541936134438854, -0.23734471840501198, -0.8701087981544124, -0.11079190245513186,
    -0.7435559822045325, 0.015760913494748244, -0.6170031662546522, 0.1423137294446283, -0.4904503503047722,
    0.2688665453945085, -0.3638975343548921, 0.39541936134438854, -0.23734471840501198, -0.8701087981544124,
    -0.11079190245513186, -0.7435559822045325, 0.015760913494748244, -0.6170031662546522, 0.1423137294446283
};
// instance_norm2d_running_mean: shape [3]
const std::vector<double> instance_norm2d_running_mean = {
    -0.0020000000000000005, 0.0015, -0.0005000000000000004
};
// instance_norm2d_running_var: shape [3]
const std::vector<double> instance_norm2d_running_var = {
    0.942178947368421, 0.942121052631579, 0.9423526315789474
};
// instance_norm2d_eval: shape [2, 3, 4, 5]
const std::vector<double> instance_norm2d_eval = {
    0.0025071308973684593, -0.2550484743724015, 0.05401825195132245, -0.20353735331844755, 0.10552937300527647,
    -0.15202623226449355, 0.15704049405923046, -0.10051511121053955, -0.3580707164803095, -0.04900399015658555,
    -0.3065595954263556, 0.0025071308973684593, -0.2550484743724015, 0.05401825195132245, -0.20353735331844755,
    0.10552937300527647, -0.15202623226449355, 0.15704049405923046, -0.10051511121053955, -0.3580707164803095,
    0.2292403803967061, 0.33226578785722183, 0.20863529890460294, 0.31166070636511867, 0.1880302174124998,
    0.2910556248730155, 0.16742513592039665, 0.2704505433809124, 0.14682005442829352, 0.24984546188880924,
    0.352870869349325, 0.2292403803967061, 0.33226578785722183, 0.20863529890460294, 0.31166070636511867,
    0.1880302174124998, 0.2910556248730155, 0.16742513592039665, 0.2704505433809124, 0.14682005442829352,
    -0.25020602549560067, -0.6622570166969581, -0.16779582725532918, -0.5798468184566866, -0.08538562901505768,
    -0.49743662021641516, -0.002975430774786201, -0.41502642197614364, 0.07943476746548532, -0.3326162237358722,
    0.1618449657057568, -0.25020602549560067, -0.6622570166969581, -0.16779582725532918, -0.5798468184566866,
    -0.08538562901505768, -0.49743662021641516, -0.002975430774786201, -0.41502642197614364, 0.07943476746548532,
    -0.15202623226449355, 0.15704049405923046, -0.10051511121053955, -0.3580707164803095, -0.04900399015658555,
    -0.3065595954263556, 0.0025071308973684593, -0.2550484743724015, 0.05401825195132245, -0.20353735331844755,
    0.10552937300527647, -0.15202623226449355, 0.15704049405923046, -0.10051511121053955, -0.3580707164803095,
    -0.04900399015658555, -0.3065595954263556, 0.0025071308973684593, -0.2550484743724015, 0.05401825195132245,
    0.2910556248730155, 0.16742513592039665, 0.2704505433809124, 0.14682005442829352, 0.24984546188880924,
    0.352870869349325, 0.2292403803967061, 0.33226578785722183, 0.20863529890460294, 0.31166070636511867,
    0.1880302174124998, 0.2910556248730155, 0.16742513592039665, 0.2704505433809124, 0.14682005442829352,
    0.24984546188880924, 0.352870869349325, 0.2292403803967061, 0.33226578785722183, 0.20863529890460294,
    -0.49743662021641516, -0.002975430774786201, -0.41502642197614364, 0.07943476746548532, -0.3326162237358722,
    0.1618449657057568, -0.25020602549560067, -0.6622570166969581, -0.16779582725532918, -0.5798468184566866,
    -0.08538562901505768, -0.49743662021641516, -0.002975430774786201, -0.41502642197614364, 0.07943476746548532,
    -0.3326162237358722, 0.1618449657057568, -0.25020602549560067, -0.6622570166969581, -0.16779582725532918
};
// instance_norm1d: shape [2, 4, 6]
const std::vector<double> instance_norm1d = {
    -0.5703415181883327, 1.3307968757727762, -0.9505691969805545, 0.9505691969805543, -1.3307968757727762,
    0.5703415181883327, -1.010140948612981, 0.5050704743064905, -1.3131832331968754, 0.2020281897225962,
    1.7172396126420677, -0.10101409486129811, 1.2865184058990433, -0.6432592029495217, 0.9648888044242825,
    -0.9648888044242825, 0.6432592029495217, -1.2865184058990433, 0.10101409486129811, -1.7172396126420677,
    -0.2020281897225962, 1.3131832331968754, -0.5050704743064905, 1.010140948612981, -0.5703415181883327,
    1.3307968757727762, -0.9505691969805543, 0.9505691969805545, -1.3307968757727762, 0.5703415181883327,
    -1.5037049537276912, -0.0485066114105707, 1.4066917309065496, -0.3395462798739948, 1.1156520624431256,
    -0.6305859483374189, 1.2865184058990433, -0.6432592029495217, 0.9648888044242825, -0.9648888044242826,
    0.6432592029495217, -1.2865184058990433, -0.5703415181883328, 1.330796875772776, -0.9505691969805545,
    0.9505691969805544, -1.3307968757727764, 0.5703415181883325
};
// pixel_shuffle2: shape [1, 2, 4, 6]
const std::vector<double> pixel_shuffle2 = {
    0.0, -0.6, 1.0, 0.4, -0.2, -0.8, 1.0, 0.4, -0.2, -0.8, 0.8, 0.2, 0.8, 0.2, -0.4, -1.0, 0.6, 0.0, -0.4, -1.0, 0.6,
    0.0, -0.6, 1.0, -0.2, -0.8, 0.8, 0.2, -0.4, -1.0, 0.8, 0.2, -0.4, -1.0, 0.6, 0.0, 0.6, 0.0, -0.6, 1.0, 0.4, -0.2,
    -0.6, 1.0, 0.4, -0.2, -0.8, 0.8
};
// pixel_shuffle3: shape [2, 1, 6, 6]
const std::vector<double> pixel_shuffle3 = {
    0.2, -0.2, -0.6, -1.0, 0.8, 0.4, -1.0, 0.8, 0.4, 0.0, -0.4, -0.8, 0.0, -0.4, -0.8, 1.0, 0.6, 0.2, 0.0, -0.4, -0.8,
    1.0, 0.6, 0.2, 1.0, 0.6, 0.2, -0.2, -0.6, -1.0, -0.2, -0.6, -1.0, 0.8, 0.4, 0.0, 1.0, 0.6, 0.2, -0.2, -0.6, -1.0,
    -0.2, -0.6, -1.0, 0.8, 0.4, 0.0, 0.8, 0.4, 0.0, -0.4, -0.8, 1.0, 0.8, 0.4, 0.0, -0.4, -0.8, 1.0, -0.4, -0.8, 1.0,
    0.6, 0.2, -0.2, 0.6, 0.2, -0.2, -0.6, -1.0, 0.8
};
// pixel_unshuffle2: shape [1, 8, 2, 3]
const std::vector<double> pixel_unshuffle2 = {
    0.4, 0.2, 0.0, -0.8, -1.0, 1.0, -0.8, -1.0, 1.0, 0.2, 0.0, -0.2, -0.2, -0.4, -0.6, 0.8, 0.6, 0.4, 0.8, 0.6, 0.4,
    -0.4, -0.6, -0.8, 0.2, 0.0, -0.2, -1.0, 1.0, 0.8, -1.0, 1.0, 0.8, 0.0, -0.2, -0.4, -0.4, -0.6, -0.8, 0.6, 0.4, 0.2,
    0.6, 0.4, 0.2, -0.6, -0.8, -1.0
};
// unfold_strided: shape [1, 12, 9]
const std::vector<double> unfold_strided = {
    0.0, 0.0, 0.0, 0.0, 1.0, 0.8, 0.0, -0.2, -0.4, 0.0, 0.0, 0.0, 0.0, -0.2, -0.4, 1.0, 0.8, 0.6, 0.0, 0.0, 0.0, 1.0,
    0.8, 0.6, -0.2, -0.4, -0.6, 0.0, 1.0, 0.8, 0.0, -0.2, -0.4, 0.0, 0.0, 0.0, 0.0, -0.2, -0.4, 1.0, 0.8, 0.6, 0.0, 0.0,
    0.0, 1.0, 0.8, 0.6, -0.2, -0.4, -0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0,
    -0.8, -1.0, 1.0, 0.2, 0.0, -0.2, 0.0, 0.0, 0.0, 0.2, 0.0, -0.2, -1.0, 1.0, 0.8, 0.0, 0.2, 0.0, 0.0, -1.0, 1.0, 0.0,
    0.0, 0.0, -0.8, -1.0, 1.0, 0.2, 0.0, -0.2, 0.0, 0.0, 0.0, 0.2, 0.0, -0.2, -1.0, 1.0, 0.8, 0.0, 0.0, 0.0
};
// fold_plain: shape [1, 2, 4, 5]
const std::vector<double> fold_plain = {
    0.8, -0.8, 1.2, -1.2, 0.4, 1.0, -2.8000000000000003, 1.2000000000000002, -3.5999999999999996, 0.2, 0.2, 0.0, -0.4,
    3.6, -0.6000000000000001, -0.2, 1.6, -0.8, 1.2, -0.6, 0.4, -1.6, 0.4, -2.0, 0.0, 0.2, 0.0, -0.4, 3.6,
    -0.6000000000000001, -0.6000000000000001, 2.8, -2.0, 2.0, -1.4, -0.6, 0.8, -1.6, 0.4, -1.0
};
// fold_strided: shape [1, 2, 5, 6]
const std::vector<double> fold_strided = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.6000000000000001, 0.8, 1.4, 0.4, -1.0, -0.6000000000000001, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 1.0, -0.4, -1.4, -0.8, 0.6000000000000001, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 1.8, -1.0, -0.6000000000000001, 0.8, 1.4, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, -0.4, -1.4, -1.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0
};
// adaptive_max_pool2d: shape [1, 2, 3, 4]
const std::vector<double> adaptive_max_pool2d = {
    1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.8, 0.6, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 1.0, 1.0, 1.0,
    1.0
};
// adaptive_max_pool2d_grad: shape [1, 2, 7, 9]
const std::vector<double> adaptive_max_pool2d_grad = {
    0.0, 0.0, -0.15, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, -0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0, -0.2, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.35, 0.0, -0.15, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.1, 0.0, -0.3, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0, -0.4, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, -0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0
};
// adaptive_max_pool1d: shape [2, 3, 4]
const std::vector<double> adaptive_max_pool1d = {
    0.2, 1.0, 0.8, 0.6, 0.4, 0.2, 1.0, 0.8, 0.4, 0.2, 1.0, 0.8, 0.6, 0.4, 1.0, 1.0, 0.6, 0.4, 0.2, 1.0, 0.8, 0.6, 0.2,
    1.0
};
// conv2d_zeros: shape [1, 3, 3, 4]
const std::vector<double> conv2d_zeros = {
    0.0, 0.010000000000000009, 0.07, -0.16999999999999998, -0.060000000000000026, 0.26000000000000023,
    0.42000000000000004, -0.05999999999999997, -0.30000000000000004, -0.31000000000000005, 0.44999999999999996, -0.35,
    0.0, -0.13, -0.15000000000000002, 0.39999999999999997, 0.6699999999999999, 0.1, 0.9600000000000001, 0.17,
    -0.08999999999999997, 0.14000000000000007, 0.5800000000000001, 0.5, 0.0, 0.41000000000000003, 0.48,
    -0.04999999999999999, -0.81, -0.91, -1.05, -0.11000000000000001, 0.12, -0.77, -0.65, -0.010000000000000009
};
// conv1d_zeros: shape [1, 2, 6]
const std::vector<double> conv1d_zeros = {
    -0.4, -0.16000000000000003, 0.44999999999999996, -0.27, 0.15999999999999995, -0.29000000000000004, 0.74, 0.0,
    0.06000000000000005, 0.14999999999999997, 0.67, 0.23
};
// conv2d_reflect: shape [1, 3, 3, 4]
const std::vector<double> conv2d_reflect = {
    0.31999999999999995, 0.32999999999999996, 0.4900000000000001, 0.4800000000000001, 0.25, 0.26000000000000023,
    0.42000000000000004, 0.41000000000000014, -0.020000000000000046, -0.3400000000000001, 0.47999999999999987,
    -1.0700000000000003, -0.8600000000000001, -0.8500000000000001, 0.010000000000000009, -5.551115123125783e-17,
    0.08999999999999983, 0.1, 0.9600000000000001, 0.9500000000000001, 0.75, 0.43000000000000005, 0.8500000000000001,
    1.17, 1.02, 1.03, 0.8899999999999999, 0.8800000000000001, -0.9199999999999999, -0.91, -1.05, -1.06,
    -1.2000000000000002, -1.52, -1.33, -1.01
};
// conv1d_reflect: shape [1, 2, 6]
const std::vector<double> conv1d_reflect = {
    -0.30000000000000004, -0.31, 0.44999999999999996, -0.27, 0.32000000000000006, -0.41000000000000003, 1.0,
    0.09000000000000002, 0.06000000000000005, 0.14999999999999997, 0.8300000000000001, 0.19
};
// conv2d_replicate: shape [1, 3, 3, 4]
const std::vector<double> conv2d_replicate = {
    0.13999999999999996, 0.3900000000000001, 0.4400000000000003, 0.24000000000000002, -0.1, 0.26000000000000023,
    0.42000000000000004, 0.0, 6.938893903907228e-17, -0.0800000000000001, 0.5199999999999999, -0.12000000000000002,
    0.22999999999999998, -0.0500000000000001, -0.07000000000000012, 0.19000000000000003, 0.7100000000000001, 0.1,
    0.9600000000000001, 0.6699999999999999, -0.77, 0.49, 0.3600000000000002, 0.73, -0.01999999999999999,
    0.18999999999999995, 0.27000000000000013, 0.14000000000000007, -0.3500000000000001, -0.91, -1.05, -0.19, -0.18,
    -0.29999999999999993, -0.99, -0.46000000000000013
};
// conv1d_replicate: shape [1, 2, 6]
const std::vector<double> conv1d_replicate = {
    -0.25, -0.010000000000000009, 0.44999999999999996, -0.27, 0.15999999999999995, -0.29000000000000004,
    0.33000000000000007, -0.4099999999999999, 0.06000000000000005, 0.14999999999999997, 0.5900000000000001, 0.15
};
// conv2d_circular: shape [1, 3, 3, 4]
const std::vector<double> conv2d_circular = {
    0.19000000000000003, -0.20000000000000012, 0.62, -0.62, -0.44999999999999996, 0.26000000000000023,
    0.42000000000000004, -0.6000000000000001, 0.19000000000000003, -0.2000000000000001, 0.62, -0.6200000000000001,
    0.08000000000000004, -0.23999999999999994, 0.1800000000000001, 0.88, 1.19, 0.1, 0.9600000000000001,
    0.009999999999999981, 0.07999999999999999, -0.23999999999999988, 0.18000000000000005, 0.8799999999999999,
    -0.029999999999999943, -0.10999999999999996, 0.0799999999999999, -0.85, -0.059999999999999915, -0.91, -1.05,
    0.10999999999999993, -0.029999999999999916, -0.10999999999999999, 0.07999999999999996, -0.8499999999999999
};
// conv1d_circular: shape [1, 2, 6]
const std::vector<double> conv1d_circular = {
    -0.23999999999999996, -0.19000000000000003, 0.44999999999999996, -0.27, 0.52, -0.53, 0.8999999999999999,
    -0.10999999999999999, 0.06000000000000005, 0.14999999999999997, 0.47000000000000003, 0.23
};

using Names = std::vector<std::string>;
// <a, b> summed over every element.
double inner(const Tensor& a, const Tensor& b) { return (a * b).sum().item<double>(); }

}  // namespace

TEST_CASE("InstanceNorm2d: PyTorch's answers with affine and tracked statistics, in training and evaluation") {
  nn::InstanceNorm2d norm(nn::InstanceNorm2dOptions(3).affine(true).track_running_stats(true));
  CHECK(names_of(norm->named_parameters()) == Names{"weight", "bias"});
  CHECK(names_of(norm->named_buffers()) == Names{"running_mean", "running_var", "num_batches_tracked"});
  set_params(*norm);
  check_answer(norm(inputs_of({2, 3, 4, 5}, 1)), {2, 3, 4, 5}, instance_norm2d_train);
  check_answer(norm->running_mean, {3}, instance_norm2d_running_mean);
  check_answer(norm->running_var, {3}, instance_norm2d_running_var);
  CHECK(norm->num_batches_tracked.item<std::int64_t>() == 1);
  norm->eval();
  check_answer(norm(inputs_of({2, 3, 4, 5}, 3)), {2, 3, 4, 5}, instance_norm2d_eval);
  CHECK(norm->num_batches_tracked.item<std::int64_t>() == 1);  // evaluation counts no batch
  // F::instance_norm with the layer's tensors is the layer; an unbatched [C, H, W] is a batch of one.
  const Tensor x = inputs_of({2, 3, 4, 5}, 3);
  check_answer(F::instance_norm(x, F::InstanceNormFuncOptions()
                                       .running_mean(norm->running_mean)
                                       .running_var(norm->running_var)
                                       .weight(norm->weight)
                                       .bias(norm->bias)
                                       .use_input_stats(false)),
               {2, 3, 4, 5}, instance_norm2d_eval);
  check_close(norm(x[1]), norm(x)[1], 1e-12, 1e-12);
  CHECK(norm->extra_repr() == "3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true");
  // reset_running_stats starts over; clone copies the statistics and the settings.
  auto copy = std::dynamic_pointer_cast<nn::InstanceNorm2d>(norm->clone());
  REQUIRE(copy);
  CHECK(values(copy->running_var) == values(norm->running_var));
  CHECK(copy->options.track_running_stats());
  norm->reset_running_stats();
  CHECK(values(norm->running_var) == std::vector<double>{1, 1, 1});
  CHECK(norm->num_batches_tracked.item<std::int64_t>() == 0);
}

TEST_CASE("InstanceNorm1d: PyTorch's defaults hold nothing and normalise alike in training and evaluation") {
  nn::InstanceNorm1d norm(4);
  CHECK(norm->named_parameters().empty());
  CHECK(norm->named_buffers().empty());
  const Tensor x = inputs_of({2, 4, 6}, 4);
  check_answer(norm(x), {2, 4, 6}, instance_norm1d);
  norm->eval();
  check_answer(norm(x), {2, 4, 6}, instance_norm1d);
  check_answer(F::instance_norm(x), {2, 4, 6}, instance_norm1d);
  // It is group norm with one channel per group.
  check_close(F::instance_norm(x), F::group_norm(x, 4), 1e-12, 1e-12);
  CHECK(norm->extra_repr() == "4, eps=1e-05, momentum=0.1, affine=false, track_running_stats=false");
}

TEST_CASE("PixelShuffle, PixelUnshuffle: PyTorch's answers for r = 2 and 3, inverses of each other") {
  const Tensor x2 = inputs_of({1, 8, 2, 3}, 5);
  check_answer(nn::PixelShuffle(2)(x2), {1, 2, 4, 6}, pixel_shuffle2);
  check_answer(F::pixel_shuffle(inputs_of({2, 9, 2, 2}, 6), 3), {2, 1, 6, 6}, pixel_shuffle3);
  check_answer(nn::PixelShuffle(nn::PixelShuffleOptions(3))(inputs_of({2, 9, 2, 2}, 6)), {2, 1, 6, 6},
               pixel_shuffle3);
  check_answer(nn::PixelUnshuffle(2)(inputs_of({1, 2, 4, 6}, 7)), {1, 8, 2, 3}, pixel_unshuffle2);
  check_answer(F::pixel_unshuffle(inputs_of({1, 2, 4, 6}, 7), F::PixelUnshuffleFuncOptions(2)), {1, 8, 2, 3},
               pixel_unshuffle2);
  // Each undoes the other, with any number of leading dims.
  const Tensor deep = randn({2, 3, 18, 2, 4});
  CHECK(values(F::pixel_unshuffle(F::pixel_shuffle(deep, 3), 3)) == values(deep));
  CHECK(F::pixel_shuffle(deep, 3).sizes() == Shape{2, 3, 2, 6, 12});
  CHECK(values(F::pixel_shuffle(F::pixel_unshuffle(x2, 1), 1)) == values(x2));
  CHECK(nn::PixelShuffle(2)->extra_repr() == "upscale_factor=2");
  CHECK(nn::PixelUnshuffle(3)->extra_repr() == "downscale_factor=3");
}

TEST_CASE("Unfold, Fold: PyTorch's answers with padding, stride and dilation") {
  const Tensor x = inputs_of({1, 2, 5, 6}, 8);
  nn::Unfold unfold(nn::UnfoldOptions({2, 3}).dilation({2, 1}).padding(1).stride(2));
  check_answer(unfold(x), {1, 12, 9}, unfold_strided);
  check_answer(F::unfold(x[0], F::UnfoldFuncOptions({2, 3}).dilation({2, 1}).padding(1).stride(2)), {12, 9},
               unfold_strided);  // unbatched [C, H, W]
  check_answer(nn::Fold(nn::FoldOptions({4, 5}, {2, 2}))(inputs_of({1, 8, 12}, 9)), {1, 2, 4, 5}, fold_plain);
  const F::FoldFuncOptions strided = F::FoldFuncOptions({5, 6}, {2, 3}).dilation({2, 1}).padding(1).stride(2);
  check_answer(F::fold(inputs_of({1, 12, 9}, 10), strided), {1, 2, 5, 6}, fold_strided);
  check_answer(nn::Fold(strided)(inputs_of({12, 9}, 10)), {2, 5, 6}, fold_strided);  // unbatched [C kh kw, L]
  CHECK(unfold->extra_repr() == "kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=2");
  CHECK(nn::Fold(nn::FoldOptions({4, 5}, {2, 2}))->extra_repr() ==
        "output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1");
}

TEST_CASE("fold is unfold's adjoint, and fold(unfold(x)) counts the blocks covering each pixel") {
  manual_seed(21);
  const F::UnfoldFuncOptions blocks = F::UnfoldFuncOptions({3, 2}).dilation({1, 2}).padding({1, 2}).stride({2, 1});
  const F::FoldFuncOptions back = F::FoldFuncOptions({7, 6}, {3, 2}).dilation({1, 2}).padding({1, 2}).stride({2, 1});
  const Tensor x = randn({2, 3, 7, 6}, kFloat64);
  const Tensor columns = F::unfold(x, blocks);
  const Tensor y = randn(columns.sizes(), kFloat64);
  // <unfold(x), y> = <x, fold(y)>: fold adds each column entry back where unfold read it.
  CHECK(inner(columns, y) == doctest::Approx(inner(x, F::fold(y, back))).epsilon(1e-12));
  // So fold(unfold(x)) is x times the number of blocks that read each pixel: fold(unfold(1)).
  const Tensor coverage = F::fold(F::unfold(ones_like(x), blocks), back);
  check_close(F::fold(columns, back), x * coverage, 1e-12, 1e-12);
  CHECK(coverage.max().item<double>() > 1.0);  // the blocks overlap here
  // Blocks that tile the image exactly: fold undoes unfold.
  const Tensor image = randn({2, 3, 8, 6});
  const Tensor tiles = F::unfold(image, F::UnfoldFuncOptions({2, 2}).stride(2));
  CHECK(values(F::fold(tiles, F::FoldFuncOptions({8, 6}, {2, 2}).stride(2))) == values(image));
}

TEST_CASE("AdaptiveMaxPool2d, AdaptiveMaxPool1d: PyTorch's windows, values and gradient") {
  const Tensor x = inputs_of({1, 2, 7, 9}, 11).requires_grad_();
  nn::AdaptiveMaxPool2d pool(nn::AdaptiveMaxPool2dOptions({3, 4}));
  const Tensor y = pool(x);
  check_answer(y, {1, 2, 3, 4}, adaptive_max_pool2d);
  (y * pattern(y.sizes(), 1)).sum().backward();
  check_answer(x.grad(), {1, 2, 7, 9}, adaptive_max_pool2d_grad);  // ties go to the first maximum, as PyTorch's
  check_answer(F::adaptive_max_pool2d(x.detach()[0], F::AdaptiveMaxPool2dFuncOptions({3, 4})), {2, 3, 4},
               adaptive_max_pool2d);  // unbatched [C, H, W]
  check_answer(nn::AdaptiveMaxPool1d(4)(inputs_of({2, 3, 10}, 12)), {2, 3, 4}, adaptive_max_pool1d);
  check_answer(F::adaptive_max_pool1d(inputs_of({2, 3, 10}, 12), F::AdaptiveMaxPool1dFuncOptions(4)), {2, 3, 4},
               adaptive_max_pool1d);
  // Where the output size divides the input's, the windows are max_pool2d's.
  const Tensor image = randn({2, 3, 8, 6});
  CHECK(values(F::adaptive_max_pool2d(image, {4, 2})) ==
        values(cake::max_pool2d(image, Pool2dParams{.kernel = {2, 3}})));
  CHECK(values(nn::AdaptiveMaxPool2d(nn::AdaptiveMaxPool2dOptions({1, 1}))(image)) == values(image.amax({2, 3}, true)));
  CHECK(pool->extra_repr() == "output_size=(3, 4)");
  CHECK(nn::AdaptiveMaxPool1d(4)->extra_repr() == "output_size=4");
}

TEST_CASE("Conv2d, Conv1d: PyTorch's answers for each padding_mode") {
  const std::vector<std::pair<nn::functional::PadMode, const std::vector<double>*>> conv2d_cases = {
      {cake::kZeros, &conv2d_zeros},
      {cake::kReflect, &conv2d_reflect},
      {cake::kReplicate, &conv2d_replicate},
      {cake::kCircular, &conv2d_circular}};
  for (const auto& [mode, expected] : conv2d_cases) {
    INFO(F::pad_mode_name(mode));
    nn::Conv2d conv(nn::Conv2dOptions(2, 3, 3).stride(2).padding(2).padding_mode(mode));
    set_params(*conv);
    check_answer(conv(inputs_of({1, 2, 4, 5}, 13)), {1, 3, 3, 4}, *expected);
    auto copy = std::dynamic_pointer_cast<nn::Conv2d>(conv->clone());
    REQUIRE(copy);
    check_answer(copy->forward(inputs_of({1, 2, 4, 5}, 13)), {1, 3, 3, 4}, *expected);
  }
  const std::vector<std::pair<nn::functional::PadMode, const std::vector<double>*>> conv1d_cases = {
      {cake::kZeros, &conv1d_zeros},
      {cake::kReflect, &conv1d_reflect},
      {cake::kReplicate, &conv1d_replicate},
      {cake::kCircular, &conv1d_circular}};
  for (const auto& [mode, expected] : conv1d_cases) {
    INFO(F::pad_mode_name(mode));
    nn::Conv1d conv(nn::Conv1dOptions(2, 2, 3).padding(2).dilation(2).padding_mode(mode));
    set_params(*conv);
    check_answer(conv(inputs_of({1, 2, 6}, 14)), {1, 2, 6}, *expected);
  }
  CHECK(nn::Conv2d(nn::Conv2dOptions(2, 3, 3).padding(1).padding_mode(cake::kReflect))->extra_repr() ==
        "2, 3, kernel_size=3, padding=1, padding_mode=reflect");
  CHECK(nn::Conv1d(nn::Conv1dOptions(2, 3, 3).padding(1).padding_mode(cake::kCircular))->extra_repr() ==
        "2, 3, kernel_size=3, padding=1, padding_mode=circular");
}

TEST_CASE("the vision layers: errors name the shapes") {
  const Tensor x = randn({2, 3, 5, 6});
  CHECK(contains(error_message([&] { nn::InstanceNorm2d(4)(x); }),
                 "InstanceNorm2d: expected 4 channels (dim 1) but the input has shape [2, 3, 5, 6]"));
  CHECK(contains(error_message([&] { nn::InstanceNorm1d(3)(x); }),
                 "InstanceNorm1d: expected input [N, C, L] or one unbatched sample without N, got shape [2, 3, 5, 6]"));
  CHECK(contains(error_message([&] { F::instance_norm(randn({2, 3, 1})); }),
                 "more than one spatial position per channel, got input shape [2, 3, 1]"));
  CHECK(contains(error_message([&] { F::instance_norm(x, {}, {}, randn({4})); }),
                 "weight and bias must have shape [3] for input [2, 3, 5, 6], got [4]"));
  CHECK(contains(error_message([&] { F::pixel_shuffle(x, 2); }),
                 "the channels (dim -3) of the input of shape [2, 3, 5, 6] must be divisible by upscale_factor^2 = 4"));
  CHECK(contains(error_message([&] { F::pixel_unshuffle(x, 2); }),
                 "H and W of the input of shape [2, 3, 5, 6] must be divisible by downscale_factor = 2"));
  CHECK(contains(error_message([&] { F::unfold(x, F::UnfoldFuncOptions({7, 7})); }),
                 "unfold: a block of kernel_size (7, 7) with dilation (1, 1) does not fit in the image of size "
                 "(5, 6)"));
  CHECK(contains(error_message([&] { F::unfold(randn({5, 6}), F::UnfoldFuncOptions({2, 2})); }),
                 "expected input [N, C, H, W] or [C, H, W], got shape [5, 6]"));
  CHECK(contains(error_message([&] { F::fold(randn({2, 12, 10}), F::FoldFuncOptions({4, 5}, {2, 2})); }),
                 "fold: input of shape [2, 12, 10] should be [N, C * 4, 12]"));
  CHECK(contains(error_message([&] { F::adaptive_max_pool2d(randn({6, 5}), {2, 2}); }),
                 "adaptive_max_pool2d: expected input [N, C, H, W] or [C, H, W], got shape [6, 5]"));
  nn::Conv2d reflecting(nn::Conv2dOptions(3, 4, 3).padding(5).padding_mode(cake::kReflect));
  CHECK(contains(error_message([&] { reflecting(x); }),
                 "Conv2d with padding_mode=reflect: pad: reflect padding of (5, 5) for dim 2 of size 5 of the input of "
                 "shape [2, 3, 5, 6]: each count must be below the size"));
}

TEST_CASE("the 2-D convolutions and pools take one unbatched image [C, H, W], as a batch of one") {
  manual_seed(4);
  const Tensor batch = randn({1, 3, 7, 6}, kFloat64).requires_grad_(true);
  const Tensor one = batch.detach().squeeze(0).requires_grad_(true);
  nn::Conv2d conv(nn::Conv2dOptions(3, 4, 3).stride(2).padding(1).padding_mode(cake::kCircular));
  nn::ConvTranspose2d up(nn::ConvTranspose2dOptions(3, 2, 3).stride(2).output_padding(1));
  conv->to(kFloat64);
  up->to(kFloat64);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> layers = {
      {"Conv2d circular", [&](const Tensor& x) { return conv(x); }},
      {"ConvTranspose2d", [&](const Tensor& x) { return up(x); }},
      {"MaxPool2d", [](const Tensor& x) { return nn::MaxPool2d(3, 2, 1, /*ceil_mode=*/true)(x); }},
      {"AvgPool2d", [](const Tensor& x) { return nn::AvgPool2d(2)(x); }},
      {"AdaptiveAvgPool2d", [](const Tensor& x) { return nn::AdaptiveAvgPool2d(Pair{3, 4})(x); }},
      {"F::conv2d", [&](const Tensor& x) { return F::conv2d(x, conv->weight, conv->bias); }},
  };
  for (const auto& [name, layer] : layers) {
    INFO(name);
    const Tensor batched = layer(batch).squeeze(0);
    const Tensor unbatched = layer(one);
    REQUIRE(unbatched.dim() == 3);
    check_close(unbatched, batched, 0, 0);
    const Tensor weights = randn(unbatched.sizes(), kFloat64);
    const Tensor grad_batched = autograd::grad({(batched * weights).sum()}, {batch})[0];
    const Tensor grad_unbatched = autograd::grad({(unbatched * weights).sum()}, {one})[0];
    check_close(grad_unbatched, grad_batched.squeeze(0), 0, 0);
  }
  // An unbatched image's errors name its own shape; other ranks are refused as before.
  const std::string channels = error_message([&] { nn::Conv2d(4, 2, 3)(randn({3, 7, 6})); });
  CHECK(contains(channels, "unbatched input of shape [3, 7, 6] (run as a batch of one)"));
  CHECK(contains(error_message([&] { nn::MaxPool2d(2)(randn({7, 6})); }),
                 "max_pool2d: expected an input of shape [N, C, H, W] (or one unbatched [C, H, W]), got [7, 6]"));
}
