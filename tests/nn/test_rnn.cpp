// Tests for the recurrent layers and cells (nn/rnn.h): outputs and final states against known
// answers computed once with PyTorch 1.13 (the weights and inputs are set by the formulas below,
// in both; the script is in the comment that follows); parameter names and shapes as PyTorch's;
// a missing state is zeros; the libtorch spellings (holders, tuples, Sequential); dropout
// between layers; gradients reach every parameter; error messages; the LSTM's projection
// (proj_size). The packed input is tested in test_packed_sequence.cpp, the finite-difference
// gradient rows are in tests/autograd/gradcheck_cases_rnn.cpp.
//
// The known answers came from (float64 throughout):
//   def pattern(shape, salt):  # parameter k (0-based, in named_parameters() order) gets salt k + 1
//       return torch.tensor([((j * 7 + salt * 3) % 17 - 8) / 20.0 for j in range(numel)]).reshape(shape)
//   def inputs_of(shape, salt):  # inputs and states
//       return torch.tensor([((j * 5 + salt) % 11 - 5) / 5.0 for j in range(numel)]).reshape(shape)
//   m = torch.nn.LSTM(3, 3, num_layers=2, bidirectional=True); set_params(m)
//   out, (h, c) = m(inputs_of((3, 2, 3), 1), (inputs_of((4, 2, 3), 2), inputs_of((4, 2, 3), 3)))   # and so on per case
// and for the LSTM with projections:
//   m = torch.nn.LSTM(3, 4, num_layers=2, proj_size=2); set_params(m)
//   proj_out, (proj_h, proj_c) = m(inputs_of((3, 2, 3), 30), (inputs_of((2, 2, 2), 31), inputs_of((2, 2, 4), 32)))
//   m = torch.nn.LSTM(3, 4, num_layers=2, proj_size=2, bidirectional=True); set_params(m)
//   proj_bi_out, (proj_bi_h, proj_bi_c) = m(inputs_of((3, 2, 3), 33))
//   px = torch.nn.utils.rnn.pack_padded_sequence(inputs_of((4, 3, 3), 20), torch.tensor([2, 4, 3]),
//                                                enforce_sorted=False)
//   o, (proj_bi_packed_h, proj_bi_packed_c) = m(px); proj_bi_packed_out = o.data
#include "cake/nn/rnn.h"

#include <string>
#include <utility>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::values;
using cake::testing::check_answer;
using cake::testing::inputs_of;
using cake::testing::pattern;
using cake::testing::set_params;
using cake::testing::contains;
using cake::testing::NamedShapes;
using cake::testing::names_and_shapes;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// lstm_out: shape [3, 2, 6]
const std::vector<double> lstm_out = {
    0.1052635674448316, -0.19990611914504075, 0.12203383360721157, -0.24915302439352918, 0.1885877532886837,
    0.08675279327380311, -0.2070770470811172, -0.03868301415310077, -0.2504832589498903, -0.12906563838214816,
    0.127687131011661, 0.08408919031410501, 0.060739703346345236, -0.1696668363303692, 0.03198510716026662,
    -0.2342257178839125, 0.22897279811507318, 0.059631557697163225, -0.03360242832849455, -0.04624960224023434,
    -0.1662200670490874, -0.02051685954339429, 0.0576422221501858, 0.10089411442748328, 0.04638941966761188,
    -0.12381351117874957, -0.02932768429608387, -0.17065354207232772, 0.31230303530585374, 0.03174954594621047,
    0.034815230247629496, -0.06511346733561502, -0.11320892022297616, 0.16552369055506, -0.06999529453281392,
    0.12253300193235535
};
// lstm_h: shape [4, 2, 3]
const std::vector<double> lstm_h = {
    -0.26398169239903624, 0.12733968907328364, -0.05828724826129661, -0.1654697836747878, 0.06619555557471088,
    -0.058213428430716446, 0.040884551939833376, -0.20534743743246536, 0.09037663341999215, 0.1802911063254447,
    -0.023068974874977544, -0.018079661053773097, 0.04638941966761188, -0.12381351117874957, -0.02932768429608387,
    0.034815230247629496, -0.06511346733561502, -0.11320892022297616, -0.24915302439352918, 0.1885877532886837,
    0.08675279327380311, -0.12906563838214816, 0.127687131011661, 0.08408919031410501
};
// lstm_c: shape [4, 2, 3]
const std::vector<double> lstm_c = {
    -0.8014928678243747, 0.26550364768139884, -0.14481936440009363, -0.572147049785361, 0.11288614451971621,
    -0.13366056527455053, 0.08023441659399907, -0.35681401238388766, 0.12766817630155802, 0.3841385164587465,
    -0.04292622906494409, -0.02421998061459455, 0.07258386339791287, -0.3543977924454107, -0.053980464919460666,
    0.06090619976378585, -0.1790220235439265, -0.22229774987126227, -0.5803983164857904, 0.29889663252585813,
    0.18957365584575353, -0.2875485020459061, 0.19743261088605202, 0.20901236481710117
};
// gru_out: shape [3, 2, 3]
const std::vector<double> gru_out = {
    0.04744396559902414, -0.0724572755164346, -0.5730726884207041, 0.1601888068670902, -0.6059942781352916,
    0.171861303614821, 0.20761015810880992, -0.27812141777048316, -0.3226223278028878, 0.17115341053592928,
    -0.46909574052112746, 0.19532031589778742, 0.29409563994596666, -0.2653890402593466, -0.1801979859019173,
    0.19401649317439928, -0.42863296923427824, 0.18261746635331713
};
// gru_h: shape [2, 2, 3]
const std::vector<double> gru_h = {
    -0.45281739189757064, 0.22257186217050368, 0.0187448553793726, -0.2548114759182587, -0.27876536504997806,
    0.05757109080153295, 0.29409563994596666, -0.2653890402593466, -0.1801979859019173, 0.19401649317439928,
    -0.42863296923427824, 0.18261746635331713
};
// rnn_relu_out: shape [3, 2, 3]
const std::vector<double> rnn_relu_out = {
    0.0, 0.552, 0.0, 0.0, 0.518, 0.0, 0.0, 0.413825, 0.0, 0.0, 0.6798, 0.0, 0.0, 0.4884775, 0.0, 0.0, 0.46833375, 0.0
};
// rnn_relu_h: shape [2, 2, 3]
const std::vector<double> rnn_relu_h = {
    0.147625, 0.0, 0.0, 0.46112500000000006, 0.414225, 0.0, 0.0, 0.4884775, 0.0, 0.0, 0.46833375, 0.0
};
// gru_bf_out: shape [2, 4, 6]
const std::vector<double> gru_bf_out = {
    0.14314713005387775, 0.15622408790406708, -0.03997445900747364, 0.13344624950667563, -0.19205368394035519,
    -0.12226218112470105, -0.020291713259418115, 0.045397792212764326, 0.2958317234685665, -0.07284867432656487,
    -0.09854359513939613, -0.009834926615830353, -0.17281067186835317, -0.09742856020505566, 0.1241167703560035,
    -0.01615964018782906, -0.01893542025050149, 0.14849581923916685, -0.0037552133490448836, 0.15446072910766498,
    0.0014823463758840277, 0.22288474035031203, -0.20074618856230383, -0.11868727331467077, -0.06845284152283215,
    -0.21783176824350423, -0.028382539782896142, -0.17174403605903565, 0.2101649575014522, 0.24547745132166865,
    -0.2244867190094747, -0.21324778230067729, -0.04862238625748751, 0.03315292006327486, -0.04373092224207786,
    0.1822498704653251, -0.06480916390182181, 0.10592421215628911, -0.051439167148465206, 0.236771994888206,
    -0.16670248610213928, -0.043074932194105964, -0.15100739185908185, -0.1356935055611373, -0.05077152508711332,
    -0.17268995115468122, 0.20459708445685038, 0.1711128142117097
};
// gru_bf_h: shape [2, 2, 3]
const std::vector<double> gru_bf_h = {
    -0.0037552133490448836, 0.15446072910766498, 0.0014823463758840277, -0.15100739185908185, -0.1356935055611373,
    -0.05077152508711332, 0.13344624950667563, -0.19205368394035519, -0.12226218112470105, -0.17174403605903565,
    0.2101649575014522, 0.24547745132166865
};
// lstm_unbatched_out: shape [4, 3]
const std::vector<double> lstm_unbatched_out = {
    0.18979327187184103, 0.04963854575513026, 0.010333185250359108, -0.03433416969502879, -0.1437976150850769,
    -0.02394044614599649, -0.22614794548214667, -0.13573953816943118, -0.03680859792582399, -0.17502950523774527,
    0.0847293822624773, -0.05600411654696154
};
// lstm_unbatched_h: shape [1, 3]
const std::vector<double> lstm_unbatched_h = {-0.17502950523774527, 0.0847293822624773, -0.05600411654696154};
// lstm_unbatched_c: shape [1, 3]
const std::vector<double> lstm_unbatched_c = {-0.5732733870890826, 0.1509583073043966, -0.1305521532702235};
// rnn_unbatched_out: shape [4, 4]
const std::vector<double> rnn_unbatched_out = {
    0.0996679946249558, -0.04995837495787996, -0.19977923553929053, 0.7086366786452303, 0.475801937847938,
    0.38002354055423565, -0.5642782810107675, 0.4537505037732654, -0.07244715949194191, -0.26450685193573703,
    0.3402515056240981, 0.13116609246803687, 0.6702065430981312, 0.3727913680948321, -0.6410769611853464,
    0.29131261245159085
};
// rnn_unbatched_h: shape [2, 2]
const std::vector<double> rnn_unbatched_h = {
    0.6702065430981312, 0.3727913680948321, -0.19977923553929053, 0.7086366786452303
};
// rnn_cell_h: shape [2, 4]
const std::vector<double> rnn_cell_h = {
    0.8482836399575129, 0.3274773948087054, -0.3799489622552249, 0.5079774328978962, 0.2542955326263912,
    0.8274516110081666, -0.5511280285381468, 0.29131261245159096
};
// rnn_relu_cell_h: shape [2, 4]
const std::vector<double> rnn_relu_cell_h = {
    0.8700000000000001, 0.4000000000000001, 0.0, 0.14, 0.43000000000000005, 0.44, 0.0, 0.46
};
// lstm_cell_h: shape [2, 4]
const std::vector<double> lstm_cell_h = {
    -0.017902277784238887, 0.3367594045190485, -0.11835970028566478, -0.11989862358560276, -0.3178999496232792,
    0.01223249198949545, -0.001516817481288101, -0.2998732841308101
};
// lstm_cell_c: shape [2, 4]
const std::vector<double> lstm_cell_c = {
    -0.03546492804331654, 0.7455160995562007, -0.19951497419421382, -0.22370484037225125, -0.5056782680466443,
    0.02276502723298089, -0.002959667542922262, -0.4398862610414088
};
// gru_cell_h: shape [2, 4]
const std::vector<double> gru_cell_h = {
    -0.06898698895746651, 0.42813803505900005, -0.2107129982426774, -0.33730688073831816, -0.4491880156053529,
    -0.0333502834113515, 0.6700057198106808, -0.476706790893241
};
// gru_cell_unbatched_h: shape [4]
const std::vector<double> gru_cell_unbatched_h = {
    0.1969135020742427, 0.7092072815653492, -0.020503857754261834, 0.25298687676415893
};

// proj_out: shape [3, 2, 2]
const std::vector<double> proj_out = {
    0.045779732465772306, -0.07868874633735687, -0.07387319465765159, 0.09768478816566975, 0.08961703757200655,
    -0.09199495372933336, 0.033625272694931194, -0.015302419891798485, 0.10434891502882285, -0.09708356534252023,
    0.0791338660342455, -0.06337918060072635
};
// proj_h: shape [2, 2, 2]
const std::vector<double> proj_h = {
    0.1395866961339265, -0.0849206604347011, 0.15130280170981386, -0.15351777283001827, 0.10434891502882285,
    -0.09708356534252023, 0.0791338660342455, -0.06337918060072635
};
// proj_c: shape [2, 2, 4]
const std::vector<double> proj_c = {
    0.021687833695087644, 0.08834566112267107, 0.37460252896920243, -0.6849698787016332, 0.010707257508982201,
    -0.30037476282003117, 0.21772417420913354, -0.5761877720460811, 0.42415014420628094, -0.4484298490723063,
    0.10900334786018642, 0.09118281946860647, 0.40820881342005577, -0.2718131435650992, 0.07329360533843882,
    0.0770004125289544
};
// proj_bi_out: shape [3, 2, 4]
const std::vector<double> proj_bi_out = {
    0.06313040922709183, -0.04774911579039887, 0.06620808248591664, 0.015879856105724555, 0.06860804733209085,
    -0.050641471476594487, 0.059869377881333403, 0.010383886159094241, 0.09163839306128262, -0.07113566314870343,
    0.061191056136916236, 0.010683739056985494, 0.0981477722932627, -0.07627242539960971, 0.05585242347488537,
    0.0068706112051559794, 0.10320139272055251, -0.08043985740948804, 0.04590470979717719, 0.004802421519134904,
    0.10733000298425442, -0.08533824904786978, 0.04434293295557141, 0.003746048570983389
};
// proj_bi_h: shape [4, 2, 2]
const std::vector<double> proj_bi_h = {
    0.1378284103921363, -0.13114413249021944, 0.10964993095174963, -0.1197244725281216, 0.11980356311075893,
    -0.1002936852104168, 0.07977077699465791, -0.07379321633769276, 0.10320139272055251, -0.08043985740948804,
    0.10733000298425442, -0.08533824904786978, 0.06620808248591664, 0.015879856105724555, 0.059869377881333403,
    0.010383886159094241
};
// proj_bi_c: shape [4, 2, 4]
const std::vector<double> proj_bi_c = {
    -0.033609170029072814, -0.1537170449306733, 0.3326089386854494, -0.6155382882296421, -0.11377428179561623,
    -0.15695381659499347, 0.28397649817698356, -0.4953244005746318, 0.5051166927975429, -0.378886665850774,
    0.07671694939967215, 0.0324708368605283, 0.19124817516771012, -0.12389258026242109, 0.40363935692415476,
    -0.10329728450667285, 0.3023568044474795, -0.5595896332434831, -0.031242409478336185, -0.12354416106070412,
    0.2955610591319698, -0.589268203239774, -0.013216356232049496, -0.12888579683304974, 0.10482018475752686,
    0.02440105982977673, -0.1581861801182288, 0.45433639227874156, 0.10888066580833633, 0.012649696849605437,
    -0.13814570905686763, 0.4237339236099498
};
// proj_bi_packed_out: shape [9, 4]
const std::vector<double> proj_bi_packed_out = {
    0.06974378225908594, -0.05159009413663641, 0.06117642726979709, 0.013185449886390619, 0.06889915310232177,
    -0.053355420000321716, 0.05966973627480282, 0.00894608267571137, 0.06981174964441993, -0.05180185825842639,
    0.05424370474378484, 0.00575134638993485, 0.0984829630323254, -0.07379647129674528, 0.060703263218827484,
    0.011716965669702116, 0.09716016613688307, -0.07649637274522508, 0.05735267988950206, 0.00728772717278997,
    0.09804671661773379, -0.07473970214327985, 0.042461205117127476, 0.0026324057504905343, 0.10991290475562876,
    -0.08294946567068695, 0.05633599749452349, 0.008097870807786374, 0.10813434446951901, -0.08598442529952705,
    0.043865179710737986, 0.003316713479437672, 0.1140621673368973, -0.087596150620886, 0.04276003589590936,
    0.003185781659779938
};
// proj_bi_packed_h: shape [4, 3, 2]
const std::vector<double> proj_bi_packed_h = {
    0.07408474590789138, -0.10780268262386712, 0.11410661769983557, -0.0838919810902485, 0.08886226770862247,
    -0.12752973370802723, 0.047717049476818235, -0.055009875319265, 0.07060764907995475, -0.06503962248877015,
    -0.014408415170319596, -0.031439488850178124, 0.09804671661773379, -0.07473970214327985, 0.1140621673368973,
    -0.087596150620886, 0.10813434446951901, -0.08598442529952705, 0.05424370474378484, 0.00575134638993485,
    0.06117642726979709, 0.013185449886390619, 0.05966973627480282, 0.00894608267571137
};
// proj_bi_packed_c: shape [4, 3, 4]
const std::vector<double> proj_bi_packed_c = {
    -0.09095935043844366, -0.384891512686766, 0.24611284109599257, -0.23523533494371618, -0.12940176779264462,
    0.13162824756321734, 0.37624761491714587, -0.7299853395227143, -0.10551449564306337, -0.37340645771179176,
    0.1785810184204468, -0.3463027233628535, 0.5267344632666395, -0.3945241255183472, -0.022207148987357588,
    0.345324519169538, 0.12177893754182004, -0.0034067953063843873, 0.5234547340233086, -0.15510056166358863,
    0.47728015143510055, -0.39857105493297507, -0.03732514764510052, 0.5289595009270414, 0.25331576745595596,
    -0.50742970821341, -0.006941231800681768, -0.09259006431943188, 0.34098217817424303, -0.609303265181788,
    -0.028364840853225673, -0.12344723951377669, 0.2882249165490346, -0.5979293520111746, -0.011503632586027105,
    -0.1301709457100529, 0.09892276310198027, 0.014406700914182016, -0.10887775784120858, 0.3814049871925565,
    0.12249450550716134, 0.004667993319338086, -0.16164859299349088, 0.43712671667668973, 0.09986284748251315,
    0.02365429051875134, -0.1256804945102757, 0.40249313588407065
};

}  // namespace

TEST_CASE("LSTM, 2 layers, bidirectional, with a given state: PyTorch's output, h_n and c_n") {
  nn::LSTM lstm(nn::LSTMOptions(3, 3).num_layers(2).bidirectional(true));
  set_params(*lstm);
  auto [out, state] =
      lstm->forward(inputs_of({3, 2, 3}, 1), std::make_tuple(inputs_of({4, 2, 3}, 2), inputs_of({4, 2, 3}, 3)));
  auto [h, c] = state;
  check_answer(out, {3, 2, 6}, lstm_out);
  check_answer(h, {4, 2, 3}, lstm_h);
  check_answer(c, {4, 2, 3}, lstm_c);
}

TEST_CASE("GRU, 2 layers, with a given state: PyTorch's output and h_n") {
  nn::GRU gru(nn::GRUOptions(3, 3).num_layers(2));
  set_params(*gru);
  auto [out, h] = gru(inputs_of({3, 2, 3}, 4), inputs_of({2, 2, 3}, 5));
  check_answer(out, {3, 2, 3}, gru_out);
  check_answer(h, {2, 2, 3}, gru_h);
}

TEST_CASE("RNN with relu, 2 layers, from a zero state: PyTorch's output and h_n") {
  nn::RNN rnn(nn::RNNOptions(3, 3).num_layers(2).nonlinearity(kReLU));
  set_params(*rnn);
  auto [out, h] = rnn(inputs_of({3, 2, 3}, 6));
  check_answer(out, {3, 2, 3}, rnn_relu_out);
  check_answer(h, {2, 2, 3}, rnn_relu_h);
}

TEST_CASE("batch_first: a bidirectional GRU without biases on [B, T, F] gives PyTorch's answer") {
  nn::GRU gru(nn::GRUOptions(3, 3).batch_first(true).bidirectional(true).bias(false));
  set_params(*gru);
  const Tensor x = inputs_of({2, 4, 3}, 7);
  auto [out, h] = gru(x);
  check_answer(out, {2, 4, 6}, gru_bf_out);
  check_answer(h, {2, 2, 3}, gru_bf_h);  // the state stays [layers * directions, B, H]

  // The same layer, sequence-first, on the transposed input: the transposed output.
  nn::GRU seq_first(nn::GRUOptions(3, 3).bidirectional(true).bias(false));
  set_params(*seq_first);
  auto [out2, h2] = seq_first(x.transpose(0, 1));
  check_close(out2.transpose(0, 1), out, 1e-12, 1e-12);
  check_close(h2, h, 1e-12, 1e-12);
}

TEST_CASE("unbatched [T, F] input: PyTorch's answers (batch_first does not apply)") {
  nn::LSTM lstm(nn::LSTMOptions(3, 3));
  set_params(*lstm);
  auto [out, state] = lstm(inputs_of({4, 3}, 8), std::make_tuple(inputs_of({1, 3}, 9), inputs_of({1, 3}, 10)));
  check_answer(out, {4, 3}, lstm_unbatched_out);
  check_answer(std::get<0>(state), {1, 3}, lstm_unbatched_h);
  check_answer(std::get<1>(state), {1, 3}, lstm_unbatched_c);

  nn::RNN rnn(nn::RNNOptions(3, 2).bidirectional(true).batch_first(true));
  set_params(*rnn);
  auto [out2, h2] = rnn(inputs_of({4, 3}, 11));
  check_answer(out2, {4, 4}, rnn_unbatched_out);
  check_answer(h2, {2, 2}, rnn_unbatched_h);
}

TEST_CASE("cells: PyTorch's answers, and the functional forms agree with the modules") {
  const Tensor x = inputs_of({2, 3}, 12), hx = inputs_of({2, 4}, 13), cx = inputs_of({2, 4}, 14);
  nn::RNNCell rnn_cell(3, 4);
  set_params(*rnn_cell);
  check_answer(rnn_cell(x, hx), {2, 4}, rnn_cell_h);
  check_close(nn::functional::rnn_tanh_cell(x, hx, rnn_cell->weight_ih, rnn_cell->weight_hh, rnn_cell->bias_ih,
                                            rnn_cell->bias_hh),
              rnn_cell(x, hx), 0, 0);

  nn::RNNCell relu_cell(nn::RNNCellOptions(3, 4).nonlinearity(kReLU));
  set_params(*relu_cell);
  check_answer(relu_cell(x), {2, 4}, rnn_relu_cell_h);
  check_close(nn::functional::rnn_relu_cell(x, zeros({2, 4}, kFloat64), relu_cell->weight_ih, relu_cell->weight_hh,
                                            relu_cell->bias_ih, relu_cell->bias_hh),
              relu_cell(x), 0, 0);

  nn::LSTMCell lstm_cell(3, 4);
  set_params(*lstm_cell);
  auto [h, c] = lstm_cell(x, std::make_tuple(hx, cx));
  check_answer(h, {2, 4}, lstm_cell_h);
  check_answer(c, {2, 4}, lstm_cell_c);
  auto [fh, fc] = nn::functional::lstm_cell(x, hx, cx, lstm_cell->weight_ih, lstm_cell->weight_hh, lstm_cell->bias_ih,
                                            lstm_cell->bias_hh);
  check_close(fh, h, 0, 0);
  check_close(fc, c, 0, 0);

  nn::GRUCell gru_cell(3, 4);
  set_params(*gru_cell);
  check_answer(gru_cell(x, hx), {2, 4}, gru_cell_h);
  check_close(nn::functional::gru_cell(x, hx, gru_cell->weight_ih, gru_cell->weight_hh, gru_cell->bias_ih,
                                       gru_cell->bias_hh),
              gru_cell(x, hx), 0, 0);

  nn::GRUCell unbatched(nn::GRUCellOptions(3, 4).bias(false));
  set_params(*unbatched);
  check_answer(unbatched(inputs_of({3}, 15), inputs_of({4}, 16)), {4}, gru_cell_unbatched_h);
}

TEST_CASE("the functional network forms give the modules' answers from the flat weight list") {
  nn::LSTM lstm(nn::LSTMOptions(3, 3).num_layers(2).bidirectional(true));
  set_params(*lstm);
  auto [out, h, c] = nn::functional::lstm(inputs_of({3, 2, 3}, 1), inputs_of({4, 2, 3}, 2), inputs_of({4, 2, 3}, 3),
                                          lstm->parameters(),
                                          nn::functional::RNNFuncOptions().num_layers(2).bidirectional(true));
  check_answer(out, {3, 2, 6}, lstm_out);
  check_answer(h, {4, 2, 3}, lstm_h);
  check_answer(c, {4, 2, 3}, lstm_c);

  nn::GRU gru(nn::GRUOptions(3, 3).batch_first(true).bidirectional(true).bias(false));
  set_params(*gru);
  auto [out2, h2] = nn::functional::gru(inputs_of({2, 4, 3}, 7), {}, gru->all_weights(),
                                        {.has_biases = false, .bidirectional = true, .batch_first = true});
  check_answer(out2, {2, 4, 6}, gru_bf_out);
  check_answer(h2, {2, 2, 3}, gru_bf_h);

  nn::RNN rnn(nn::RNNOptions(3, 3).num_layers(2).nonlinearity(kReLU));
  set_params(*rnn);
  auto [out3, h3] = nn::functional::rnn_relu(inputs_of({3, 2, 3}, 6), {}, rnn->parameters(), {.num_layers = 2});
  check_answer(out3, {3, 2, 3}, rnn_relu_out);
  check_answer(h3, {2, 2, 3}, rnn_relu_h);
  // tanh differs from relu on the same weights (so the relu case above tests the activation)
  auto [out4, h4] = nn::functional::rnn_tanh(inputs_of({3, 2, 3}, 6), {}, rnn->parameters(), {.num_layers = 2});
  CHECK(values(out4) != values(out3));
}

TEST_CASE("parameter names and shapes are PyTorch's (listed by PyTorch 1.13)") {
  const NamedShapes lstm = {{"weight_ih_l0", {20, 3}},          {"weight_hh_l0", {20, 5}},
                            {"bias_ih_l0", {20}},               {"bias_hh_l0", {20}},
                            {"weight_ih_l0_reverse", {20, 3}},  {"weight_hh_l0_reverse", {20, 5}},
                            {"bias_ih_l0_reverse", {20}},       {"bias_hh_l0_reverse", {20}},
                            {"weight_ih_l1", {20, 10}},         {"weight_hh_l1", {20, 5}},
                            {"bias_ih_l1", {20}},               {"bias_hh_l1", {20}},
                            {"weight_ih_l1_reverse", {20, 10}}, {"weight_hh_l1_reverse", {20, 5}},
                            {"bias_ih_l1_reverse", {20}},       {"bias_hh_l1_reverse", {20}}};
  CHECK(names_and_shapes(*nn::LSTM(nn::LSTMOptions(3, 5).num_layers(2).bidirectional(true))) == lstm);
  const NamedShapes gru = {{"weight_ih_l0", {6, 4}}, {"weight_hh_l0", {6, 2}}};
  CHECK(names_and_shapes(*nn::GRU(nn::GRUOptions(4, 2).bias(false))) == gru);
  const NamedShapes rnn = {
      {"weight_ih_l0", {3, 2}}, {"weight_hh_l0", {3, 3}}, {"bias_ih_l0", {3}}, {"bias_hh_l0", {3}},
      {"weight_ih_l1", {3, 3}}, {"weight_hh_l1", {3, 3}}, {"bias_ih_l1", {3}}, {"bias_hh_l1", {3}},
      {"weight_ih_l2", {3, 3}}, {"weight_hh_l2", {3, 3}}, {"bias_ih_l2", {3}}, {"bias_hh_l2", {3}}};
  CHECK(names_and_shapes(*nn::RNN(nn::RNNOptions(2, 3).num_layers(3))) == rnn);
  const NamedShapes lstm_cell = {{"weight_ih", {20, 3}}, {"weight_hh", {20, 5}}, {"bias_ih", {20}}, {"bias_hh", {20}}};
  CHECK(names_and_shapes(*nn::LSTMCell(3, 5)) == lstm_cell);
  const NamedShapes gru_cell = {{"weight_ih", {15, 3}}, {"weight_hh", {15, 5}}, {"bias_ih", {15}}, {"bias_hh", {15}}};
  CHECK(names_and_shapes(*nn::GRUCell(3, 5)) == gru_cell);
  const NamedShapes rnn_cell = {{"weight_ih", {5, 3}}, {"weight_hh", {5, 5}}};
  CHECK(names_and_shapes(*nn::RNNCell(nn::RNNCellOptions(3, 5).bias(false))) == rnn_cell);
}

TEST_CASE("initial values: U(-1/sqrt(H), 1/sqrt(H)), reproducible from the seed") {
  manual_seed(3);
  nn::LSTM a(nn::LSTMOptions(4, 16).num_layers(2));
  manual_seed(3);
  nn::LSTM b(nn::LSTMOptions(4, 16).num_layers(2));
  const double bound = 1.0 / std::sqrt(16.0);
  const auto pa = a->parameters(), pb = b->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    check_close(pa[i], pb[i], 0, 0);
    CHECK(pa[i].abs().max().item<double>() <= bound);
    CHECK(pa[i].abs().max().item<double>() > 0.5 * bound);  // spread over the range, not zeros
  }
}

TEST_CASE("no state given is a zero state") {
  manual_seed(4);
  const Tensor x = randn({5, 2, 3}, kFloat64);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true));
  lstm->to(kFloat64);
  auto [out, state] = lstm(x);
  auto [out0, state0] = lstm(x, std::make_tuple(zeros({4, 2, 4}, kFloat64), zeros({4, 2, 4}, kFloat64)));
  check_close(out, out0, 0, 0);
  check_close(std::get<0>(state), std::get<0>(state0), 0, 0);
  check_close(std::get<1>(state), std::get<1>(state0), 0, 0);

  nn::GRU gru(nn::GRUOptions(3, 4).batch_first(true));
  gru->to(kFloat64);
  auto [g, gh] = gru(x);
  auto [g0, gh0] = gru(x, zeros({1, 5, 4}, kFloat64));
  check_close(g, g0, 0, 0);
  check_close(gh, gh0, 0, 0);
  CHECK(gh.dtype() == kFloat64);

  nn::LSTMCell cell(3, 4);
  cell->to(kFloat64);
  auto [h, c] = cell(x[0]);
  auto [h0, c0] = cell(x[0], std::make_tuple(zeros({2, 4}, kFloat64), zeros({2, 4}, kFloat64)));
  check_close(h, h0, 0, 0);
  check_close(c, c0, 0, 0);
  nn::RNNCell rnn_cell(3, 4);
  rnn_cell->to(kFloat64);
  check_close(rnn_cell(x[0]), rnn_cell(x[0], zeros({2, 4}, kFloat64)), 0, 0);
}

TEST_CASE("a state carried on: two calls over halves of a sequence equal one call over all of it") {
  manual_seed(5);
  const Tensor x = randn({6, 2, 3}, kFloat64);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2));
  lstm->to(kFloat64);
  auto [whole, whole_state] = lstm(x);
  auto [first, mid_state] = lstm(x.narrow(0, 0, 3));
  auto [second, end_state] = lstm(x.narrow(0, 3, 3), mid_state);
  check_close(cat({first, second}, 0), whole, 1e-12, 1e-12);
  check_close(std::get<1>(end_state), std::get<1>(whole_state), 1e-12, 1e-12);
  // and stepping an LSTMCell holding layer 0's weights gives layer 0 of a 1-layer LSTM
  nn::LSTM one(nn::LSTMOptions(3, 4));
  nn::LSTMCell cell(3, 4);
  one->to(kFloat64);
  cell->to(kFloat64);
  cell->load_state_dict(std::map<std::string, Tensor>{{"weight_ih", one->all_weights()[0]},
                                                      {"weight_hh", one->all_weights()[1]},
                                                      {"bias_ih", one->all_weights()[2]},
                                                      {"bias_hh", one->all_weights()[3]}});
  auto [seq, unused] = one(x);
  std::tuple<Tensor, Tensor> hc = cell(x[0]);
  for (std::int64_t t = 1; t < 6; ++t) hc = cell(x[t], hc);
  check_close(std::get<0>(hc), seq[5], 1e-12, 1e-12);
}

// A user's module holding recurrent layers as libtorch code does.
struct TaggerImpl : nn::Module {
  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
  TaggerImpl() {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 4).bidirectional(true)));
    head = register_module("head", nn::Linear(8, 2));
  }
  Tensor forward(const Tensor& x) override {
    auto [out, state] = lstm(x);
    return head(out);
  }
};
CAKE_MODULE(Tagger);

TEST_CASE("libtorch's spellings: holder values, ->forward, tuples, register_module, CAKE_MODULE") {
  manual_seed(6);
  const Tensor x = randn({5, 2, 3});
  nn::LSTM lstm(nn::LSTMOptions(3, 4));
  auto [out, state] = lstm(x);                        // the holder's call operator
  auto [out2, state2] = lstm->forward(x);             // -> reaches the tuple form too
  auto [h_n, c_n] = state;
  CHECK(out.sizes() == Shape{5, 2, 4});
  CHECK(h_n.sizes() == Shape{1, 2, 4});
  CHECK(c_n.sizes() == Shape{1, 2, 4});
  check_close(out, out2, 0, 0);
  nn::GRU gru{nullptr};
  CHECK(gru.is_empty());
  gru = nn::GRU(3, 4);
  auto [g, gh] = gru->forward(x);
  CHECK(g.sizes() == Shape{5, 2, 4});

  Tagger tagger;
  CHECK(tagger(x).sizes() == Shape{5, 2, 2});
  std::vector<std::string> names;
  for (const auto& [name, p] : tagger->named_parameters()) names.push_back(name);
  CHECK(names.front() == "lstm.weight_ih_l0");
  CHECK(names[7] == "lstm.bias_hh_l0_reverse");
  CHECK(names.back() == "head.bias");
}

TEST_CASE("the single-tensor forward (Module&, Sequential) returns the output sequence, or h' for a cell") {
  manual_seed(7);
  const Tensor x = randn({5, 2, 3});
  nn::GRU gru(nn::GRUOptions(3, 4).num_layers(2));
  nn::Module& as_module = *gru;
  check_close(as_module.forward(x), std::get<0>(gru(x)), 0, 0);

  nn::Sequential seq(nn::LSTM(3, 4), nn::Linear(4, 2));
  CHECK(seq(x).sizes() == Shape{5, 2, 2});
  auto lstm = seq->at<nn::LSTM>(0);
  check_close(seq(x), seq->at<nn::Linear>(1)->forward(std::get<0>(lstm->forward(x))), 0, 0);

  nn::LSTMCell cell(3, 4);
  nn::Module& cell_module = *cell;
  check_close(cell_module.forward(x[0]), std::get<0>(cell(x[0])), 0, 0);
}

TEST_CASE("dropout: between layers, in training only") {
  manual_seed(8);
  const Tensor x = randn({4, 3, 5});
  nn::LSTM lstm(nn::LSTMOptions(5, 6).num_layers(2).dropout(0.5));
  nn::LSTM plain(nn::LSTMOptions(5, 6).num_layers(2));
  plain->load_state_dict(lstm->state_dict());
  const Tensor expected = std::get<0>(plain(x));
  const Tensor trained = std::get<0>(lstm(x));  // training mode: dropout on layer 0's output
  CHECK(values(trained) != values(expected));
  lstm->eval();
  check_close(std::get<0>(lstm(x)), expected, 0, 0);

  // one layer: nothing between layers, so dropout changes nothing, even in training
  nn::GRU one(nn::GRUOptions(5, 6).dropout(0.5));
  nn::GRU one_plain(nn::GRUOptions(5, 6));
  one_plain->load_state_dict(one->state_dict());
  check_close(std::get<0>(one(x)), std::get<0>(one_plain(x)), 0, 0);
}

TEST_CASE("gradients reach every parameter, the input and the state") {
  manual_seed(9);
  const Tensor x = randn({4, 2, 3}).requires_grad_();
  const Tensor h0 = randn({4, 2, 5}).requires_grad_(), c0 = randn({4, 2, 5}).requires_grad_();
  nn::LSTM lstm(nn::LSTMOptions(3, 5).num_layers(2).bidirectional(true));
  auto [out, state] = lstm(x, std::make_tuple(h0, c0));
  (out.sum() + std::get<0>(state).square().sum() + std::get<1>(state).sum()).backward();
  for (const auto& [name, p] : lstm->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().sizes() == p.sizes());
    CHECK(p.grad().abs().sum().item<double>() > 0);
  }
  for (const Tensor* t : {&x, &h0, &c0}) CHECK(t->grad().abs().sum().item<double>() > 0);
}

TEST_CASE("clone, state dicts and printing") {
  manual_seed(10);
  nn::GRU gru(nn::GRUOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true));
  auto copy = std::dynamic_pointer_cast<nn::GRU>(gru->clone());
  REQUIRE(copy != nullptr);
  const Tensor x = randn({2, 5, 3});
  check_close(std::get<0>(copy->forward(x)), std::get<0>(gru(x)), 0, 0);
  CHECK(copy->all_weights()[0].data_ptr<float>() != gru->all_weights()[0].data_ptr<float>());

  std::ostringstream printed;
  printed << *nn::LSTM(nn::LSTMOptions(3, 4).num_layers(2).batch_first(true).dropout(0.5).bidirectional(true));
  CHECK(printed.str() == "LSTM(3, 4, num_layers=2, batch_first=true, dropout=0.5, bidirectional=true)");
  CHECK(nn::RNN(nn::RNNOptions(3, 4).nonlinearity(kReLU).bias(false))->extra_repr() ==
        "3, 4, nonlinearity=relu, bias=false");
  CHECK(nn::RNNCell(nn::RNNCellOptions(3, 4).nonlinearity(kReLU))->extra_repr() == "3, 4, nonlinearity=relu");
  CHECK(nn::GRUCell(3, 4)->name() == "GRUCell");
}

TEST_CASE("options: libtorch's chained setters and designated initializers") {
  const nn::LSTMOptions a =
      nn::LSTMOptions(8, 16).num_layers(3).bias(false).batch_first(true).dropout(0.25).bidirectional(true);
  CHECK(a.input_size() == 8);
  CHECK(a.hidden_size() == 16);
  CHECK(a.num_layers() == 3);
  CHECK(!a.bias());
  CHECK(a.batch_first());
  CHECK(a.dropout() == 0.25);
  CHECK(a.bidirectional());
  const nn::RNNOptions b{.input_size = 2, .hidden_size = 3, .nonlinearity = kReLU};
  CHECK(b.nonlinearity() == nn::RNNNonlinearity::ReLU);
  CHECK(nn::RNNOptions(2, 3).nonlinearity() == kTanh);
  nn::RNN rnn(b);
  CHECK(rnn->layout().mode == nn::RecurrentMode::RNNReLU);
}

TEST_CASE("errors name the shapes: input rank and width, states, weights, settings") {
  nn::LSTM lstm(nn::LSTMOptions(8, 16).num_layers(2));
  std::string m = error_message([&] { lstm(zeros({5, 3, 7})); });
  CHECK_MESSAGE(contains(m, "LSTM: input has shape [5, 3, 7], expected [5, 3, 8] (input_size = 8)"), m);
  m = error_message([&] { lstm(zeros({5, 3, 2, 8})); });
  CHECK_MESSAGE(contains(m, "LSTM: expected input [T, B, 8] ([B, T, 8] with batch_first) or unbatched [T, 8], "
                            "got shape [5, 3, 2, 8]"),
                m);
  m = error_message([&] { lstm(zeros({5, 3, 8}), std::make_tuple(zeros({1, 3, 16}), zeros({2, 3, 16}))); });
  CHECK_MESSAGE(contains(m, "LSTM: h_0 has shape [1, 3, 16], expected [2, 3, 16]"), m);
  m = error_message([&] { lstm(zeros({5, 3, 8}), std::make_tuple(zeros({2, 3, 16}), zeros({2, 4, 16}))); });
  CHECK_MESSAGE(contains(m, "LSTM: c_0 has shape [2, 4, 16], expected [2, 3, 16]"), m);
  m = error_message([&] { lstm(zeros({0, 3, 8})); });
  CHECK_MESSAGE(contains(m, "LSTM: the sequence is empty"), m);

  nn::GRU gru(nn::GRUOptions(4, 2).batch_first(true));
  m = error_message([&] { gru(zeros({3, 5, 4}), zeros({1, 5, 2})); });  // h_0 keeps batch second
  CHECK_MESSAGE(contains(m, "GRU: h_0 has shape [1, 5, 2], expected [1, 3, 2]"), m);
  m = error_message([&] { gru(zeros({5, 4}), zeros({1, 3, 2})); });  // unbatched input, batched state
  CHECK_MESSAGE(contains(m, "GRU: h_0 has shape [1, 3, 2], expected [1, 2]"), m);

  nn::LSTMCell cell(4, 5);
  m = error_message([&] { cell(zeros({2, 3})); });
  CHECK_MESSAGE(contains(m, "LSTMCell: input has shape [2, 3], expected [2, 4] (input_size = 4)"), m);
  m = error_message([&] { cell(zeros({2, 4}), std::make_tuple(zeros({3, 5}), zeros({2, 5}))); });
  CHECK_MESSAGE(contains(m, "LSTMCell: hx has shape [3, 5], expected [2, 5]"), m);
  m = error_message([&] { cell(zeros({2, 2, 4})); });
  CHECK_MESSAGE(contains(m, "LSTMCell: expected input [batch, 4] or unbatched [4], got shape [2, 2, 4]"), m);

  m = error_message([] { nn::functional::gru_cell(zeros({2, 4}), zeros({2, 5}), zeros({14, 4}), zeros({15, 5})); });
  CHECK_MESSAGE(contains(m, "gru_cell: w_ih must be [15, input_size]"), m);
  m = error_message(
      [] { nn::functional::gru(zeros({3, 2, 4}), {}, {zeros({6, 4}), zeros({6, 2})}, {.num_layers = 2}); });
  CHECK_MESSAGE(contains(m, "gru: expected 8 parameters (2 layers x 1 directions x 4), got 2"), m);
  m = error_message([] { nn::LSTM(nn::LSTMOptions(3, 0)); });
  CHECK_MESSAGE(contains(m, "LSTM: input_size and hidden_size must be positive, got 3 and 0"), m);
  m = error_message([] { nn::GRU(nn::GRUOptions(3, 2).dropout(1.5)); });
  CHECK_MESSAGE(contains(m, "GRU: dropout must be in [0, 1], got 1.5"), m);
}

TEST_CASE("LSTM with proj_size: PyTorch's output, h_n and c_n (2 layers; one and both directions; packed)") {
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).proj_size(2));
  set_params(*lstm);
  auto [out, state] =
      lstm(inputs_of({3, 2, 3}, 30), std::make_tuple(inputs_of({2, 2, 2}, 31), inputs_of({2, 2, 4}, 32)));
  check_answer(out, {3, 2, 2}, proj_out);                // h_t is projected to proj_size 2 ...
  check_answer(std::get<0>(state), {2, 2, 2}, proj_h);
  check_answer(std::get<1>(state), {2, 2, 4}, proj_c);   // ... c_t keeps hidden_size 4

  nn::LSTM bi(nn::LSTMOptions(3, 4).num_layers(2).proj_size(2).bidirectional(true));
  set_params(*bi);
  auto [bi_out, bi_state] = bi(inputs_of({3, 2, 3}, 33));
  check_answer(bi_out, {3, 2, 4}, proj_bi_out);
  check_answer(std::get<0>(bi_state), {4, 2, 2}, proj_bi_h);
  check_answer(std::get<1>(bi_state), {4, 2, 4}, proj_bi_c);

  const Tensor lengths = tensor(std::vector<std::int64_t>{2, 4, 3});
  const auto packed = nn::utils::rnn::pack_padded_sequence(inputs_of({4, 3, 3}, 20), lengths, false, false);
  auto [packed_out, packed_state] = bi->forward_with_packed_input(packed);
  check_answer(packed_out.data(), {9, 4}, proj_bi_packed_out);
  check_answer(std::get<0>(packed_state), {4, 3, 2}, proj_bi_packed_h);
  check_answer(std::get<1>(packed_state), {4, 3, 4}, proj_bi_packed_c);
}

TEST_CASE("LSTM with proj_size: PyTorch's parameter names and shapes; F::lstm finds the projections by count") {
  const NamedShapes expected = {
      {"weight_ih_l0", {16, 3}},         {"weight_hh_l0", {16, 2}},         {"bias_ih_l0", {16}},
      {"bias_hh_l0", {16}},              {"weight_hr_l0", {2, 4}},          {"weight_ih_l0_reverse", {16, 3}},
      {"weight_hh_l0_reverse", {16, 2}}, {"bias_ih_l0_reverse", {16}},      {"bias_hh_l0_reverse", {16}},
      {"weight_hr_l0_reverse", {2, 4}},  {"weight_ih_l1", {16, 4}},         {"weight_hh_l1", {16, 2}},
      {"bias_ih_l1", {16}},              {"bias_hh_l1", {16}},              {"weight_hr_l1", {2, 4}},
      {"weight_ih_l1_reverse", {16, 4}}, {"weight_hh_l1_reverse", {16, 2}}, {"bias_ih_l1_reverse", {16}},
      {"bias_hh_l1_reverse", {16}},      {"weight_hr_l1_reverse", {2, 4}}};  // listed by PyTorch 1.13
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).proj_size(2).bidirectional(true));
  CHECK(names_and_shapes(*lstm) == expected);
  const NamedShapes no_bias = {{"weight_ih_l0", {8, 3}}, {"weight_hh_l0", {8, 1}}, {"weight_hr_l0", {1, 2}}};
  CHECK(names_and_shapes(*nn::LSTM(nn::LSTMOptions(3, 2).proj_size(1).bias(false))) == no_bias);
  CHECK(lstm->extra_repr() == "3, 4, proj_size=2, num_layers=2, bidirectional=true");

  set_params(*lstm);
  auto [out, state] = lstm(inputs_of({3, 2, 3}, 33));
  auto [f_out, f_h, f_c] = nn::functional::lstm(inputs_of({3, 2, 3}, 33), {}, {}, lstm->all_weights(),
                                                {.num_layers = 2, .bidirectional = true});
  check_answer(f_out, {3, 2, 4}, proj_bi_out);
  check_answer(f_h, {4, 2, 2}, proj_bi_h);
  check_answer(f_c, {4, 2, 4}, proj_bi_c);
}

TEST_CASE("LSTM with proj_size: gradients reach every parameter, W_hr included") {
  manual_seed(16);
  nn::LSTM lstm(nn::LSTMOptions(3, 5).num_layers(2).proj_size(2).bidirectional(true));
  auto [out, state] = lstm(randn({4, 2, 3}));
  (out.sum() + std::get<0>(state).square().sum() + std::get<1>(state).sum()).backward();
  for (const auto& [name, p] : lstm->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item<double>() > 0);
  }
}

TEST_CASE("LSTM with proj_size: errors as PyTorch's, and state shapes named") {
  std::string m = error_message([] { nn::LSTM(nn::LSTMOptions(3, 4).proj_size(4)); });
  CHECK_MESSAGE(contains(m, "LSTM: proj_size must be smaller than hidden_size, got 4 and 4"), m);
  m = error_message([] { nn::LSTM(nn::LSTMOptions(3, 4).proj_size(-1)); });
  CHECK_MESSAGE(contains(m, "LSTM: proj_size must be positive, or 0 for no projections, got -1"), m);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).proj_size(2));
  m = error_message([&] { lstm(zeros({5, 2, 3}), std::make_tuple(zeros({2, 2, 4}), zeros({2, 2, 4}))); });
  CHECK_MESSAGE(contains(m, "LSTM: h_0 has shape [2, 2, 4], expected [2, 2, 2]"), m);
  m = error_message([&] {
    std::vector<Tensor> params = lstm->all_weights();
    params.pop_back();
    nn::functional::lstm(zeros({5, 2, 3}), {}, {}, params, {.num_layers = 2});
  });
  CHECK_MESSAGE(contains(m, "lstm: expected 8 parameters (2 layers x 1 directions x 4), or 10 with projections, got 9"),
                m);
  m = error_message([&] {
    std::vector<Tensor> params = lstm->all_weights();
    params[4] = zeros({2, 3});  // w_hr of layer 0: [proj_size, hidden_size] = [2, 4]
    nn::functional::lstm(zeros({5, 2, 3}), {}, {}, params, {.num_layers = 2});
  });
  CHECK_MESSAGE(contains(m, "lstm: w_hh (params[0...], layer 0) must be [4 * hidden_size, proj_size] = [12, 2] "
                            "(w_hr is [proj_size, hidden_size] = [2, 3]), got shape [16, 2]"),
                m);
}
