// Tests for packed sequences (nn/utils.h: PackedSequence, pack_padded_sequence,
// pad_packed_sequence, pack_sequence) and the recurrent layers' forward_with_packed_input
// (nn/rnn.h): known answers computed once with PyTorch 1.13 (weights and inputs set by the
// formulas of nn/pytorch_reference.h, in both; the script is in the comment below); a packed
// batch gives what each sequence gives alone through the padded path; dropout, gradients,
// errors. The finite-difference gradient rows are in tests/autograd/gradcheck_cases_rnn.cpp.
//
// The known answers came from (float64 throughout; pattern, inputs_of and set_params as in
// test_rnn.cpp):
//   from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pack_sequence
//   p = pack_padded_sequence(inputs_of((4, 3, 2), 1), torch.tensor([2, 4, 3]), enforce_sorted=False)
//   packed_data, packed_batch_sizes = p.data, p.batch_sizes
//   packed_sorted, packed_unsorted = p.sorted_indices, p.unsorted_indices
//   padded_total6, _ = pad_packed_sequence(p, padding_value=-1.0, total_length=6)
//   p = pack_padded_sequence(inputs_of((3, 4, 2), 2), torch.tensor([2, 4, 1]), batch_first=True, enforce_sorted=False)
//   packed_bf_data, packed_bf_batch_sizes, packed_bf_sorted = p.data, p.batch_sizes, p.sorted_indices
//   padded_bf, padded_bf_lengths = pad_packed_sequence(p, batch_first=True, total_length=5)
//   p = pack_sequence([inputs_of((2, 2), 3), inputs_of((5, 2), 4), inputs_of((5, 2), 5), inputs_of((1, 2), 6)],
//                     enforce_sorted=False)
//   seq_data, seq_batch_sizes, seq_sorted = p.data, p.batch_sizes, p.sorted_indices
//   px = pack_padded_sequence(inputs_of((4, 3, 3), 20), torch.tensor([2, 4, 3]), enforce_sorted=False)
//   m = torch.nn.LSTM(3, 3, num_layers=2, bidirectional=True); set_params(m)
//   o, (lstm_packed_h, lstm_packed_c) = m(px, (inputs_of((4, 3, 3), 21), inputs_of((4, 3, 3), 22)))
//   lstm_packed_out = o.data
//   o, (lstm_packed_zero_h, lstm_packed_zero_c) = m(px); lstm_packed_zero_out = o.data
//   m = torch.nn.GRU(3, 3, num_layers=2, bidirectional=True); set_params(m)
//   o, gru_packed_h = m(px, inputs_of((4, 3, 3), 23)); gru_packed_out = o.data
//   m = torch.nn.RNN(3, 3, num_layers=2, bidirectional=True); set_params(m)
//   o, rnn_packed_h = m(px); rnn_packed_out = o.data
#include "cake/nn/rnn.h"
#include "cake/nn/utils.h"

#include <string>
#include <tuple>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
using cake::testing::check_answer;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::inputs_of;
using cake::testing::set_params;
using cake::testing::values;
using nn::utils::rnn::PackedSequence;
using nn::utils::rnn::pack_padded_sequence;
using nn::utils::rnn::pack_sequence;
using nn::utils::rnn::pad_packed_sequence;
using cake::testing::contains;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// packed_data: shape [9, 2]
const std::vector<double> packed_data = {
    -1.0, 0.0, 1.0, -0.2, -0.8, 0.2, 0.6, -0.6, 0.4, -0.8, 0.8, -0.4, 0.0, 1.0, -0.2, 0.8, -0.6, 0.4
};
// packed_batch_sizes: shape [4]
const std::vector<std::int64_t> packed_batch_sizes = {3, 3, 2, 1};
// packed_sorted: shape [3]
const std::vector<std::int64_t> packed_sorted = {1, 2, 0};
// packed_unsorted: shape [3]
const std::vector<std::int64_t> packed_unsorted = {2, 0, 1};
// padded_total6: shape [6, 3, 2]
const std::vector<double> padded_total6 = {
    -0.8, 0.2, -1.0, 0.0, 1.0, -0.2, 0.8, -0.4, 0.6, -0.6, 0.4, -0.8, -1.0, -1.0, 0.0, 1.0, -0.2, 0.8, -1.0, -1.0,
    -0.6, 0.4, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0
};
// packed_bf_data: shape [7, 2]
const std::vector<double> packed_bf_data = {
    0.8, -0.4, -0.6, 0.4, 0.0, 1.0, 0.6, -0.6, -0.8, 0.2, 0.4, -0.8, 0.2, -1.0
};
// packed_bf_batch_sizes: shape [4]
const std::vector<std::int64_t> packed_bf_batch_sizes = {3, 2, 1, 1};
// packed_bf_sorted: shape [3]
const std::vector<std::int64_t> packed_bf_sorted = {1, 0, 2};
// padded_bf: shape [3, 5, 2]
const std::vector<double> padded_bf = {
    -0.6, 0.4, -0.8, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.8, -0.4, 0.6, -0.6, 0.4, -0.8, 0.2, -1.0, 0.0, 0.0, 0.0,
    1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
};
// padded_bf_lengths: shape [3]
const std::vector<std::int64_t> padded_bf_lengths = {2, 4, 1};
// seq_data: shape [13, 2]
const std::vector<double> seq_data = {
    -0.2, 0.8, 0.0, 1.0, -0.4, 0.6, 0.2, -1.0, -0.4, 0.6, -0.2, 0.8, -0.6, 0.4, -0.6, 0.4, -0.4, 0.6, -0.8, 0.2,
    -0.6, 0.4, -1.0, 0.0, -0.8, 0.2
};
// seq_batch_sizes: shape [5]
const std::vector<std::int64_t> seq_batch_sizes = {4, 3, 2, 2, 2};
// seq_sorted: shape [4]
const std::vector<std::int64_t> seq_sorted = {1, 2, 0, 3};
// lstm_packed_out: shape [9, 6]
const std::vector<double> lstm_packed_out = {
    0.12941904663145953, -0.18390963554682938, -0.17144044291835753, -0.18207925849579285, 0.08872311886138251,
    0.10342707522887275, 0.07802098887338278, -0.08744320625439245, 0.18134716288839778, -0.2927660635854227,
    0.15727644012171, 0.06262903513103382, -0.01129550175628323, 0.09000622945913962, -0.2528431018708405,
    -0.2658208379087519, 0.157421203698721, 0.03155766744815396, 0.10618253119251568, -0.16325759428497677,
    -0.07077858307734557, -0.12713051229394629, 0.04975206965643479, 0.0926276552696765, 0.0516058842470483,
    -0.08375952680931108, 0.0386398301818675, -0.2609422402969752, 0.13303441630489127, 0.11837979137669298,
    0.05216637254793343, 0.0343058299758194, -0.1451537275890723, -0.2598097526455646, 0.19405043708795833,
    -0.03455144093149398, 0.07099772069000097, -0.1671996983479786, -0.05752700975805311, -0.04534051623896638,
    -0.040682188201430027, 0.07711136224161068, 0.06440388334715592, -0.07388347576328234, -0.026053807974505634,
    -0.21825005431034955, 0.10141755742495805, 0.18019341623697746, 0.043285406007389865, -0.17594548799150958,
    -0.06709482712711669, 0.08314265048400905, -0.2195482411645681, 0.05858406666945832
};
// lstm_packed_h: shape [4, 3, 3]
const std::vector<double> lstm_packed_h = {
    -0.22978926628935328, 0.16559922137506206, -0.011797086069916628, -0.4190826056450693, -0.025697823777960087,
    -0.032674989609351224, -0.010312081177348753, 0.10691625029965739, -0.07333385787481723, -0.08549174178528345,
    -0.1728577246020391, -0.0018472650405742268, 0.2168612925589021, -0.08041816880919432, -0.019415276311396865,
    0.1801163853162484, -0.24043270222227317, 0.1820268737268834, 0.05216637254793343, 0.0343058299758194,
    -0.1451537275890723, 0.043285406007389865, -0.17594548799150958, -0.06709482712711669, 0.06440388334715592,
    -0.07388347576328234, -0.026053807974505634, -0.2658208379087519, 0.157421203698721, 0.03155766744815396,
    -0.18207925849579285, 0.08872311886138251, 0.10342707522887275, -0.2927660635854227, 0.15727644012171,
    0.06262903513103382
};
// lstm_packed_c: shape [4, 3, 3]
const std::vector<double> lstm_packed_c = {
    -0.8147975412841171, 0.30002547700081783, -0.026871865253866353, -1.2109453636940657, -0.037304335822608066,
    -0.12130403149880908, -0.028182838627800993, 0.19755179405619405, -0.16480865548977602, -0.16537730670528,
    -0.47957521512931467, -0.0030679608185117946, 0.45388638615261934, -0.13542083199557536, -0.02688188626764897,
    0.3940230867008374, -0.6652676215965991, 0.3139469166647244, 0.0915688633338427, 0.09656718729556978,
    -0.2747252520684069, 0.07726519516891359, -0.49029955078552884, -0.1428965200035268, 0.10491113236522956,
    -0.20845984527172623, -0.05010064037590943, -0.6356414967470904, 0.2479788869340956, 0.07067071651877296,
    -0.37882247374928046, 0.13363814219598366, 0.22896943350734109, -0.677773782164979, 0.27347780943763855,
    0.13302974966835146
};
// lstm_packed_zero_out: shape [9, 6]
const std::vector<double> lstm_packed_zero_out = {
    0.02864884000577597, -0.041180441723312325, -0.06555603739208501, -0.228322071946729, 0.15120910446584113,
    0.09493155489884053, 0.05982648624022638, -0.019161570698781556, -0.04196428772439402, -0.2675589226218419,
    0.12146066988929581, 0.019821851954645097, 0.05154823674114069, -0.019075076776205072, -0.050224934234149865,
    -0.2170242436116436, 0.09052413596127032, 0.021087603268618894, 0.04329043254402956, -0.06993440834831977,
    -0.0789120285756689, -0.199920758392732, 0.13381892163982434, 0.09221629766035304, 0.08202090753004529,
    -0.034376661427872046, -0.0488829195443669, -0.2209890244755909, 0.09436810584059104, 0.019679529764853133,
    0.0712687865014158, -0.037132864706307334, -0.06081227514479697, -0.1381092216726283, 0.04993052129192016,
    0.016005187149448288, 0.0489987258324062, -0.09128659185529413, -0.07818872350140915, -0.1627469672298997,
    0.10436889700310378, 0.07719508591980825, 0.08373259729566812, -0.04949246059540265, -0.052986689690814534,
    -0.13940384872215839, 0.054370716442959294, 0.014878244392544827, 0.0499101482637382, -0.10608491367958305,
    -0.07542038130634206, -0.10303956523906788, 0.06071564958394434, 0.04773776690139896
};
// lstm_packed_zero_h: shape [4, 3, 3]
const std::vector<double> lstm_packed_zero_h = {
    -0.11848238073408482, 0.16439151982751066, -0.0507205788610143, -0.3974912040649986, -0.05431676027065826,
    -0.029629552670336134, -0.133048323842435, 0.13773228810512736, -0.05580995786444515, 0.05069077453350243,
    -0.1709942350854804, 0.14031339085737812, 0.21449777734776454, -0.0825306159501994, 0.004367037756641203,
    0.11096813563029291, -0.2461714969805602, 0.15037336095488185, 0.0712687865014158, -0.037132864706307334,
    -0.06081227514479697, 0.0499101482637382, -0.10608491367958305, -0.07542038130634206, 0.08373259729566812,
    -0.04949246059540265, -0.052986689690814534, -0.2170242436116436, 0.09052413596127032, 0.021087603268618894,
    -0.228322071946729, 0.15120910446584113, 0.09493155489884053, -0.2675589226218419, 0.12146066988929581,
    0.019821851954645097
};
// lstm_packed_zero_c: shape [4, 3, 3]
const std::vector<double> lstm_packed_zero_c = {
    -0.35651156483392277, 0.29540400683434415, -0.11420365484927239, -1.1049721454065664, -0.07836296968158184,
    -0.10806949991753233, -0.37692761518710394, 0.26254256960923367, -0.12972686304389486, 0.10591511489771732,
    -0.5007632575313843, 0.232703631410268, 0.4528565758270828, -0.1397075819664448, 0.0060410176794357135,
    0.22880029068262747, -0.6771974660312914, 0.2582467704870089, 0.11924669652939529, -0.1033345678112436,
    -0.11644711009612624, 0.08690112453321218, -0.29648162215962887, -0.15195509650637498, 0.14018232121563118,
    -0.1400152579356505, -0.10206316778101683, -0.4570594315241916, 0.14518276686236217, 0.04644198093600865,
    -0.5281030657297756, 0.23743008254527082, 0.2165879833878422, -0.5887843791415215, 0.2009664924332208,
    0.0424592338224911
};
// gru_packed_out: shape [9, 6]
const std::vector<double> gru_packed_out = {
    0.1846399323858564, -0.6839334546732814, 0.20048673953296178, -0.2469438264370422, 0.18766342875631764,
    0.2759093154255252, -0.20171073406090587, 0.11231125545034931, 0.1414162530364984, -0.7862947557589968,
    0.3871046381240473, -0.3231938051623227, -0.016581648281486172, 0.31078106789919624, -0.21636677872009485,
    -0.36623781344384093, 0.23075879617143993, 0.2319756012250218, 0.07178851973681673, -0.5839247239911556,
    0.10519524796594892, -0.12463742777683334, 0.17706527690647716, 0.3068024436474149, 0.10415525376218077,
    0.17976281025174531, -0.04080993627903244, -0.7926409527541259, 0.327984102907566, -0.4558569981355451,
    0.07262653050765103, 0.09493798201305834, -0.15343206966247036, -0.26806475789658823, 0.40856971188693675,
    0.14601153817680856, 0.04508037076388549, -0.5027427533982025, 0.04195726180389314, 0.015982356951031035,
    0.0843784515480562, 0.3181202537196803, 0.2221100340751683, 0.198969352067507, -0.0648194514671744,
    -0.7974887679109333, 0.27455982370437715, -0.6723484699494331, 0.08479617491300617, -0.43905021922382476,
    0.06469227326907334, 0.2160891633127726, -0.10859308174757556, 0.3335578220115358
};
// gru_packed_h: shape [4, 3, 3]
const std::vector<double> gru_packed_h = {
    -0.6631932980470453, 0.383169855703813, -0.12525497936940042, -0.6495957039429651, -0.08832852215767244,
    0.05406908938193597, 0.19939525099898497, 0.22513154430428703, -0.012129050188881059, -0.1194336042078892,
    -0.2162530952927445, 0.05662657267933319, 0.5532190853536103, -0.0929331936990553, -0.0987206444492375,
    0.3368071466135074, -0.472034532981239, 0.4922542604886558, 0.07262653050765103, 0.09493798201305834,
    -0.15343206966247036, 0.08479617491300617, -0.43905021922382476, 0.06469227326907334, 0.2221100340751683,
    0.198969352067507, -0.0648194514671744, -0.36623781344384093, 0.23075879617143993, 0.2319756012250218,
    -0.2469438264370422, 0.18766342875631764, 0.2759093154255252, -0.7862947557589968, 0.3871046381240473,
    -0.3231938051623227
};
// rnn_packed_out: shape [9, 6]
const std::vector<double> rnn_packed_out = {
    -0.21346171189160693, -0.19919983711821374, 0.556141509410961, 0.47817400680873534, -0.16284882407805323,
    0.6054777741751071, -0.054354062621653015, 0.30270281980459757, 0.3027118571087711, 0.36621675456298275,
    -0.37100928539326533, 0.5077339583608149, -0.10521071156691571, 0.3863900294578722, 0.2982475068709764,
    0.34237777098563155, -0.3103661746015514, 0.6627756631739004, -0.13721447853165186, 0.07417103843945085,
    0.39633306561407455, 0.4862342404214, -0.1826527481455925, 0.6015641557679072, -0.20592037024750096,
    0.4981621305202725, 0.24623768584633188, 0.3085517565355463, -0.2847551826065446, 0.5780824244593104,
    -0.09672901660043391, 0.47493176891740335, 0.40306794873887425, 0.5980682148296264, -0.738728250774907,
    0.3868596879398565, -0.23105854642028423, 0.027593597581901694, 0.4599313289945582, 0.4681414674721392,
    -0.12818831911721057, 0.6460562506028225, -0.1590787344647708, 0.4813468451010593, 0.4124610887210927,
    0.5325046485272414, -0.6725029308695597, 0.2996109680929602, -0.229480046697025, 0.10700278528448987,
    0.4697783117594542, 0.6104009565230071, -0.44399160652377634, 0.377807614158125
};
// rnn_packed_h: shape [4, 3, 3]
const std::vector<double> rnn_packed_h = {
    -0.3915750788298987, -0.13096229569072057, 0.16726600391202942, 0.4857654371037583, 0.3499319049374124,
    -0.33285597826233304, -0.22843726711498702, -0.173605852798173, 0.2799291765339644, -0.13855445873749764,
    0.5970728420522232, -0.5526786277917833, -0.4845087699852272, 0.46147677357442574, -0.010076182059024165,
    -0.13796274717874155, 0.5724646748976947, -0.5023552420835734, -0.09672901660043391, 0.47493176891740335,
    0.40306794873887425, -0.229480046697025, 0.10700278528448987, 0.4697783117594542, -0.1590787344647708,
    0.4813468451010593, 0.4124610887210927, 0.34237777098563155, -0.3103661746015514, 0.6627756631739004,
    0.47817400680873534, -0.16284882407805323, 0.6054777741751071, 0.36621675456298275, -0.37100928539326533,
    0.5077339583608149
};

// An int64 tensor's entries.
std::vector<std::int64_t> ints(const Tensor& t) {
  std::vector<std::int64_t> out;
  for (double v : values(t)) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

Tensor int64s(const std::vector<std::int64_t>& v) { return tensor(v); }

// The padded batch with every step past its sequence's end zeroed: x [T, B, *], lengths [B].
Tensor masked(const Tensor& x, const std::vector<std::int64_t>& lengths) {
  const Tensor present = arange(x.size(0)).unsqueeze(1).lt(int64s(lengths).unsqueeze(0));  // [T, B]
  return x * present.to(x.dtype()).unsqueeze(-1);
}

}  // namespace

TEST_CASE("pack_padded_sequence, unsorted lengths: PyTorch's rows, batch sizes and permutations") {
  const Tensor x = inputs_of({4, 3, 2}, 1);
  const PackedSequence p = pack_padded_sequence(x, int64s({2, 4, 3}), /*batch_first=*/false, /*enforce_sorted=*/false);
  check_answer(p.data(), {9, 2}, packed_data);
  CHECK(ints(p.batch_sizes()) == packed_batch_sizes);
  CHECK(p.batch_sizes().dtype() == kInt64);
  CHECK(p.batch_sizes().is_cpu());
  CHECK(ints(p.sorted_indices()) == packed_sorted);
  CHECK(ints(p.unsorted_indices()) == packed_unsorted);

  // back: padded after each end, lengths in the caller's order
  auto [padded, lengths] = pad_packed_sequence(p);
  check_close(padded, masked(x, {2, 4, 3}), 0, 0);
  CHECK(ints(lengths) == std::vector<std::int64_t>{2, 4, 3});
  CHECK(lengths.dtype() == kInt64);
  auto [longer, same_lengths] = pad_packed_sequence(p, false, /*padding_value=*/-1.0, /*total_length=*/6);
  check_answer(longer, {6, 3, 2}, padded_total6);
  CHECK(ints(same_lengths) == std::vector<std::int64_t>{2, 4, 3});
}

TEST_CASE("batch_first: PyTorch's packing of [B, T, *] and padding back, with total_length") {
  const Tensor x = inputs_of({3, 4, 2}, 2);
  const PackedSequence p = pack_padded_sequence(x, int64s({2, 4, 1}), /*batch_first=*/true, /*enforce_sorted=*/false);
  check_answer(p.data(), {7, 2}, packed_bf_data);
  CHECK(ints(p.batch_sizes()) == packed_bf_batch_sizes);
  CHECK(ints(p.sorted_indices()) == packed_bf_sorted);
  auto [padded, lengths] = pad_packed_sequence(p, /*batch_first=*/true, 0.0, /*total_length=*/5);
  check_answer(padded, {3, 5, 2}, padded_bf);
  CHECK(ints(lengths) == padded_bf_lengths);
  // the same sequences sequence-first pack to the same rows
  const PackedSequence q = pack_padded_sequence(x.transpose(0, 1), int64s({2, 4, 1}), false, false);
  check_close(q.data(), p.data(), 0, 0);
}

TEST_CASE("pack_sequence: PyTorch's answer unsorted; sorted input keeps no permutation") {
  const std::vector<Tensor> sequences = {inputs_of({2, 2}, 3), inputs_of({5, 2}, 4), inputs_of({5, 2}, 5),
                                         inputs_of({1, 2}, 6)};
  const PackedSequence p = pack_sequence(sequences, /*enforce_sorted=*/false);
  check_answer(p.data(), {13, 2}, seq_data);
  CHECK(ints(p.batch_sizes()) == seq_batch_sizes);
  CHECK(ints(p.sorted_indices()) == seq_sorted);  // equal lengths keep their order (a stable sort)

  const PackedSequence sorted = pack_sequence({sequences[1], sequences[2], sequences[0], sequences[3]});
  CHECK(!sorted.sorted_indices().defined());
  CHECK(!sorted.unsorted_indices().defined());
  check_close(sorted.data(), p.data(), 0, 0);  // the same rows: p was sorted into this order
  auto [padded, lengths] = pad_packed_sequence(p, /*batch_first=*/true);
  CHECK(ints(lengths) == std::vector<std::int64_t>{2, 5, 5, 1});
  for (std::size_t b = 0; b < sequences.size(); ++b) {
    check_close(padded[static_cast<std::int64_t>(b)].narrow(0, 0, sequences[b].size(0)), sequences[b], 0, 0);
  }
}

TEST_CASE("PackedSequence: accessors, the inverse permutation, to()") {
  const Tensor data = inputs_of({6, 2}, 7);
  const PackedSequence p(data, int64s({3, 2, 1}), int64s({2, 0, 1}));
  CHECK(ints(p.unsorted_indices()) == std::vector<std::int64_t>{1, 2, 0});  // computed when not given
  CHECK(ints(nn::utils::rnn::invert_permutation(int64s({2, 0, 1}))) == std::vector<std::int64_t>{1, 2, 0});
  CHECK(!nn::utils::rnn::invert_permutation({}).defined());
  CHECK(p.data().is_same(data));
  CHECK(!p.is_cuda());
  const PackedSequence single = p.to(kFloat32);
  CHECK(single.data().dtype() == kFloat32);
  CHECK(single.batch_sizes().is_same(p.batch_sizes()));
  CHECK(ints(single.sorted_indices()) == std::vector<std::int64_t>{2, 0, 1});
  CHECK(p.cpu().data().is_cpu());
}

TEST_CASE("packing and padding pass the gradient back to the real steps only") {
  const Tensor x = inputs_of({4, 3, 2}, 8).requires_grad_();
  const PackedSequence p = pack_padded_sequence(x, int64s({3, 4, 1}), false, false);
  auto [padded, lengths] = pad_packed_sequence(p, false, 5.0);
  (padded * padded).sum().backward();  // d/dx = 2 x on the real steps, nothing from padding
  check_close(x.grad(), masked(x.detach() * 2.0, {3, 4, 1}), 0, 0);
}

TEST_CASE("LSTM, 2 layers, bidirectional, unsorted lengths, with and without a state: PyTorch's answers") {
  nn::LSTM lstm(nn::LSTMOptions(3, 3).num_layers(2).bidirectional(true));
  set_params(*lstm);
  const PackedSequence x = pack_padded_sequence(inputs_of({4, 3, 3}, 20), int64s({2, 4, 3}), false, false);
  auto [out, state] = lstm->forward_with_packed_input(x, std::make_tuple(inputs_of({4, 3, 3}, 21),
                                                                         inputs_of({4, 3, 3}, 22)));
  check_answer(out.data(), {9, 6}, lstm_packed_out);
  check_answer(std::get<0>(state), {4, 3, 3}, lstm_packed_h);  // h_n and c_n in the caller's order
  check_answer(std::get<1>(state), {4, 3, 3}, lstm_packed_c);
  CHECK(out.batch_sizes().is_same(x.batch_sizes()));  // the output is packed as the input
  CHECK(out.sorted_indices().is_same(x.sorted_indices()));
  CHECK(out.unsorted_indices().is_same(x.unsorted_indices()));

  auto [out0, state0] = lstm->forward_with_packed_input(x);
  check_answer(out0.data(), {9, 6}, lstm_packed_zero_out);
  check_answer(std::get<0>(state0), {4, 3, 3}, lstm_packed_zero_h);
  check_answer(std::get<1>(state0), {4, 3, 3}, lstm_packed_zero_c);
}

TEST_CASE("GRU and RNN, 2 layers, bidirectional, unsorted lengths: PyTorch's answers") {
  const PackedSequence x = pack_padded_sequence(inputs_of({4, 3, 3}, 20), int64s({2, 4, 3}), false, false);
  nn::GRU gru(nn::GRUOptions(3, 3).num_layers(2).bidirectional(true));
  set_params(*gru);
  auto [out, h] = gru->forward_with_packed_input(x, inputs_of({4, 3, 3}, 23));
  check_answer(out.data(), {9, 6}, gru_packed_out);
  check_answer(h, {4, 3, 3}, gru_packed_h);

  nn::RNN rnn(nn::RNNOptions(3, 3).num_layers(2).bidirectional(true));
  set_params(*rnn);
  auto [out2, h2] = rnn->forward_with_packed_input(x);
  check_answer(out2.data(), {9, 6}, rnn_packed_out);
  check_answer(h2, {4, 3, 3}, rnn_packed_h);
}

namespace {

// Runs each sequence of x [T, B, F] (lengths unsorted) alone through `forward` (padded path,
// batch of one) and checks the packed forward against it: the output's real steps and every
// state slice, each in the caller's order.
template <class PackedForward, class AloneForward>
void check_packed_equals_alone(const Tensor& x, const std::vector<std::int64_t>& lengths, PackedForward packed,
                               AloneForward alone) {
  const auto [out, states] = packed(pack_padded_sequence(x, int64s(lengths), false, false));
  auto [padded, unused] = pad_packed_sequence(out);
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    INFO("sequence " << b << " of length " << lengths[b]);
    const auto column = static_cast<std::int64_t>(b);
    const auto [alone_out, alone_states] = alone(x.narrow(0, 0, lengths[b]).narrow(1, column, 1), column);
    check_close(padded.narrow(0, 0, lengths[b]).narrow(1, column, 1), alone_out, 1e-12, 1e-12);
    for (std::size_t s = 0; s < states.size(); ++s) {
      check_close(states[s].narrow(1, column, 1), alone_states[s], 1e-12, 1e-12);
    }
  }
}

}  // namespace

TEST_CASE("a packed batch gives what each sequence gives alone (2 layers, both directions, given states)") {
  manual_seed(11);
  const Tensor x = randn({5, 4, 3}, kFloat64);
  const std::vector<std::int64_t> lengths = {3, 5, 1, 4};
  const Tensor h0 = randn({4, 4, 2}, kFloat64), c0 = randn({4, 4, 2}, kFloat64);
  using States = std::vector<Tensor>;

  nn::LSTM lstm(nn::LSTMOptions(3, 2).num_layers(2).bidirectional(true));
  lstm->to(kFloat64);
  check_packed_equals_alone(
      x, lengths,
      [&](const PackedSequence& p) {
        auto [out, hc] = lstm->forward_with_packed_input(p, std::make_tuple(h0, c0));
        return std::make_tuple(out, States{std::get<0>(hc), std::get<1>(hc)});
      },
      [&](const Tensor& one, std::int64_t b) {
        auto [out, hc] = lstm(one, std::make_tuple(h0.narrow(1, b, 1), c0.narrow(1, b, 1)));
        return std::make_tuple(out, States{std::get<0>(hc), std::get<1>(hc)});
      });

  nn::GRU gru(nn::GRUOptions(3, 2).num_layers(2).bidirectional(true));
  gru->to(kFloat64);
  check_packed_equals_alone(
      x, lengths,
      [&](const PackedSequence& p) {
        auto [out, h] = gru->forward_with_packed_input(p, h0);
        return std::make_tuple(out, States{h});
      },
      [&](const Tensor& one, std::int64_t b) {
        auto [out, h] = gru(one, h0.narrow(1, b, 1));
        return std::make_tuple(out, States{h});
      });

  nn::RNN rnn(nn::RNNOptions(3, 2).num_layers(2).bidirectional(true).nonlinearity(kReLU));
  rnn->to(kFloat64);
  check_packed_equals_alone(
      x, lengths,
      [&](const PackedSequence& p) {
        auto [out, h] = rnn->forward_with_packed_input(p, h0);
        return std::make_tuple(out, States{h});
      },
      [&](const Tensor& one, std::int64_t b) {
        auto [out, h] = rnn(one, h0.narrow(1, b, 1));
        return std::make_tuple(out, States{h});
      });
}

TEST_CASE("equal lengths pack to the padded path's answer; batch_first does not apply to packed input") {
  manual_seed(12);
  const Tensor x = randn({4, 3, 2}, kFloat64);
  nn::GRU gru(nn::GRUOptions(2, 3).bidirectional(true));
  gru->to(kFloat64);
  auto [padded_out, padded_h] = gru(x);
  auto [packed_out, packed_h] = gru->forward_with_packed_input(pack_padded_sequence(x, int64s({4, 4, 4})));
  check_close(packed_out.data(), padded_out.reshape({12, 6}), 1e-12, 1e-12);
  check_close(packed_h, padded_h, 1e-12, 1e-12);

  nn::GRU batch_first(nn::GRUOptions(2, 3).bidirectional(true).batch_first(true));
  batch_first->to(kFloat64);
  batch_first->load_state_dict(gru->state_dict());
  const PackedSequence p = pack_padded_sequence(x, int64s({2, 4, 3}), false, false);
  auto [a, ha] = gru->forward_with_packed_input(p);
  auto [b, hb] = batch_first->forward_with_packed_input(p);
  check_close(a.data(), b.data(), 0, 0);
  check_close(ha, hb, 0, 0);
}

TEST_CASE("packed: dropout between layers in training only, as the padded path") {
  manual_seed(13);
  const PackedSequence x = pack_sequence({randn({4, 5}), randn({2, 5}), randn({3, 5})}, false);
  nn::LSTM lstm(nn::LSTMOptions(5, 6).num_layers(2).dropout(0.5));
  nn::LSTM plain(nn::LSTMOptions(5, 6).num_layers(2));
  plain->load_state_dict(lstm->state_dict());
  const Tensor expected = std::get<0>(plain->forward_with_packed_input(x)).data();
  CHECK(values(std::get<0>(lstm->forward_with_packed_input(x)).data()) != values(expected));
  lstm->eval();
  check_close(std::get<0>(lstm->forward_with_packed_input(x)).data(), expected, 0, 0);
}

TEST_CASE("packed: gradients reach every parameter, the padded input and the states") {
  manual_seed(14);
  const Tensor x = randn({4, 3, 3}).requires_grad_();
  const Tensor h0 = randn({4, 3, 5}).requires_grad_(), c0 = randn({4, 3, 5}).requires_grad_();
  nn::LSTM lstm(nn::LSTMOptions(3, 5).num_layers(2).bidirectional(true));
  const PackedSequence p = pack_padded_sequence(x, int64s({1, 4, 2}), false, false);
  auto [out, state] = lstm->forward_with_packed_input(p, std::make_tuple(h0, c0));
  (out.data().sum() + std::get<0>(state).square().sum() + std::get<1>(state).sum()).backward();
  for (const auto& [name, param] : lstm->named_parameters()) {
    INFO(name);
    REQUIRE(param.grad().defined());
    CHECK(param.grad().abs().sum().item<double>() > 0);
  }
  for (const Tensor* t : {&h0, &c0}) CHECK(t->grad().abs().sum().item<double>() > 0);
  // every real step of every sequence gets a gradient; the padding none
  const Tensor real = x.grad().abs().sum(2);  // [T, B]
  const std::vector<double> got = values(real.ne(0.0).to(kFloat64));
  CHECK(got == std::vector<double>{1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0});
}

TEST_CASE("the functional packed forms take states in the sorted order and agree with the modules") {
  manual_seed(15);
  const PackedSequence p = pack_sequence({randn({4, 3}, kFloat64), randn({3, 3}, kFloat64), randn({1, 3}, kFloat64)});
  nn::LSTM lstm(nn::LSTMOptions(3, 2).num_layers(2).bidirectional(true));
  lstm->to(kFloat64);
  const Tensor h0 = randn({4, 3, 2}, kFloat64), c0 = randn({4, 3, 2}, kFloat64);
  auto [out, state] = lstm->forward_with_packed_input(p, std::make_tuple(h0, c0));
  auto [data, h, c] = nn::functional::lstm(p.data(), p.batch_sizes(), h0, c0, lstm->all_weights(),
                                           {.num_layers = 2, .bidirectional = true});
  check_close(data, out.data(), 0, 0);
  check_close(h, std::get<0>(state), 0, 0);
  check_close(c, std::get<1>(state), 0, 0);

  nn::GRU gru(nn::GRUOptions(3, 2));
  gru->to(kFloat64);
  auto [gout, gh] = gru->forward_with_packed_input(p);
  auto [gdata, gh2] = nn::functional::gru(p.data(), p.batch_sizes(), {}, gru->all_weights());
  check_close(gdata, gout.data(), 0, 0);
  check_close(gh2, gh, 0, 0);
}

TEST_CASE("errors name the lengths, shapes and values") {
  const Tensor x = zeros({5, 2, 1});
  std::string m = error_message([&] { pack_padded_sequence(x, int64s({2, 3})); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: lengths must be sorted in decreasing order when enforce_sorted is "
                            "true, got [2, 3]; pass enforce_sorted = false to have them sorted here"),
                m);
  m = error_message([&] { pack_padded_sequence(x, int64s({5, 0}), false, false); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: every length must be positive, got lengths [5, 0]"), m);
  m = error_message([&] { pack_padded_sequence(x, int64s({6, 2})); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: lengths [6, 2] exceed the input's 5 time steps (input shape "
                            "[5, 2, 1])"),
                m);
  m = error_message([&] { pack_padded_sequence(x, int64s({5, 4}), /*batch_first=*/true); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: expected 5 lengths (the batch size of input [5, 2, 1]), got 2: "
                            "[5, 4]"),
                m);
  m = error_message([&] { pack_padded_sequence(x, int64s({5, 4}).unsqueeze(0)); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: lengths must be a 1-D integer tensor, got [1, 2] int64"), m);
  m = error_message([&] { pack_padded_sequence(x, tensor({5.0, 4.0})); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: lengths must be a 1-D integer tensor, got [2] float32"), m);
  m = error_message([&] { pack_padded_sequence(zeros({5}), int64s({5})); });
  CHECK_MESSAGE(contains(m, "pack_padded_sequence: expected input [T, B, *] ([B, T, *] with batch_first), got "
                            "shape [5]"),
                m);
  m = error_message([] { pack_sequence({zeros({2, 1}), zeros({3, 1})}); });
  CHECK_MESSAGE(contains(m, "pack_sequence: lengths must be sorted in decreasing order"), m);
  m = error_message([] { pack_sequence({}); });
  CHECK_MESSAGE(contains(m, "pack_sequence: no sequences given"), m);

  const PackedSequence p = pack_padded_sequence(x, int64s({5, 4}));
  m = error_message([&] { pad_packed_sequence(p, false, 0.0, 3); });
  CHECK_MESSAGE(contains(m, "pad_packed_sequence: expected total_length to be at least the length of the longest "
                            "sequence, 5, got total_length = 3"),
                m);
  m = error_message([] { PackedSequence(zeros({4, 2}), int64s({3, 2})); });
  CHECK_MESSAGE(contains(m, "PackedSequence: batch_sizes must be positive, non-increasing and sum to data.size(0) = "
                            "4, got [3, 2]"),
                m);
  m = error_message([] { PackedSequence(zeros({3, 2}), int64s({1, 2})); });
  CHECK_MESSAGE(contains(m, "non-increasing"), m);
  m = error_message([] { PackedSequence(zeros({3, 2}), tensor({2.0, 1.0})); });
  CHECK_MESSAGE(contains(m, "PackedSequence: batch_sizes must be a non-empty 1-D int64 tensor on the CPU"), m);
  m = error_message([] { PackedSequence(zeros({3, 2}), int64s({2, 1}), int64s({0, 1, 2})); });
  CHECK_MESSAGE(contains(m, "PackedSequence: sorted_indices and unsorted_indices must be [batch] = [2], got shape [3]"),
                m);

  nn::LSTM lstm(nn::LSTMOptions(2, 3).num_layers(2));
  const PackedSequence three = pack_padded_sequence(zeros({4, 3, 2}), int64s({2, 4, 3}), false, false);
  m = error_message([&] { lstm->forward_with_packed_input(p); });
  CHECK_MESSAGE(contains(m, "LSTM: expected packed data [N, 2] (input_size = 2), got shape [9, 1]"), m);
  m = error_message(
      [&] { lstm->forward_with_packed_input(three, std::make_tuple(zeros({2, 2, 3}), zeros({2, 3, 3}))); });
  CHECK_MESSAGE(contains(m, "LSTM: h_0 has shape [2, 2, 3], expected [2, 3, 3]"), m);
  m = error_message([] { nn::functional::gru(zeros({3, 2}), tensor({2.0, 1.0}), {}, {zeros({6, 2}), zeros({6, 2})}); });
  CHECK_MESSAGE(contains(m, "PackedSequence: batch_sizes must be a non-empty 1-D int64 tensor on the CPU"), m);
}
