// Tests for the Transformer layers (nn/transformer.h): outputs against known answers computed
// once with PyTorch 1.13 (the weights and inputs set by the formulas below, in both; the script
// is in the comment that follows); parameter names and shapes as PyTorch's; what the masks hide
// (a padded key, the future); the masks' spellings (bool, float, per head); batch_first and
// unbatched inputs; clone() is deep; initial values; dropout; gradients; error messages; a
// custom encoder / decoder (AnyModule) and an AnyModule norm. The
// finite-difference gradient rows are in tests/autograd/gradcheck_cases_transformer.cpp.
//
// The known answers came from (float64 throughout; d_model 8, nhead 2, dim_feedforward 16,
// dropout 0; modules left in training mode, so no fast path):
//   def pattern(shape, salt):  # parameter k (0-based, in named_parameters() order) gets salt k + 1
//       return torch.tensor([((j * 7 + salt * 3) % 17 - 8) / 20.0 for j in range(numel)]).reshape(shape)
//   def inputs_of(shape, salt):
//       return torch.tensor([((j * 5 + salt) % 11 - 5) / 5.0 for j in range(numel)]).reshape(shape)
//   src, tgt, memory = inputs_of((5, 3, 8), 1), inputs_of((4, 3, 8), 2), inputs_of((5, 3, 8), 3)
//   causal5, causal4 = nn.Transformer.generate_square_subsequent_mask(5), (4)   # as float64
//   src_pad = [[F, F, F, F, F], [F, F, F, T, T], [F, F, F, F, T]]; tgt_pad = [[F, F, F, F], [F, F, F, T], [F, F, T, T]]
//   layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0); set_params(layer)
//   encoder_layer_out = layer(src); encoder_layer_masked_out = layer(src, causal5, src_pad)
//   layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", norm_first=True)
//   encoder_layer_norm_first_gelu_out = layer(src, src_key_padding_mask=src_pad)
//   enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0, "gelu"), 2, norm=nn.LayerNorm(8))
//   encoder_out = enc(src, src_key_padding_mask=src_pad)
//   dec = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
//   decoder_layer_out = dec(tgt, memory, tgt_mask=causal4, memory_mask=pattern((4, 5), 4),
//                           tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
//   model = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, activation="gelu")
//   transformer_out = model(src, tgt, tgt_mask=causal4, src_key_padding_mask=src_pad,
//                           tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
#include "cake/nn/transformer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
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

constexpr std::int64_t E = 8, H = 2, FF = 16, S = 5, T = 4, N = 3;

nn::TransformerEncoderLayerOptions small() { return nn::TransformerEncoderLayerOptions(E, H).dim_feedforward(FF).dropout(0.0); }

Tensor src_pad() {
  return tensor(std::vector<bool>{false, false, false, false, false, false, false, false, true, true, false, false,
                                  false, false, true},
                {N, S});
}
Tensor tgt_pad() {
  return tensor(std::vector<bool>{false, false, false, false, false, false, false, true, false, false, true, true},
                {N, T});
}
Tensor causal(std::int64_t n) { return nn::Transformer::generate_square_subsequent_mask(n).to(kFloat64); }

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// encoder_layer_out
const std::vector<double> encoder_layer_out = {
    -0.12079512029201933, 0.010978544639624416, 0.4333147410784224, -0.04083408341114595, 0.055560581894662384,
    -1.004666638619994, 0.1187996799131721, -0.49033026041954436, -0.2847098244053276, -0.12892268101830043,
    0.1609099795820707, -0.01395143244381794, 0.14181510143185078, -0.3082984005289134, 0.033999498985187,
    -0.6732414799630873, -0.41861086030575595, 0.1567141849031281, 0.2101217096853875, -0.20040565460329204,
    0.19433568918605323, -0.6184855715781999, -0.004237225672158273, -0.6183267374824734, -0.27028799905736495,
    -0.080641664653083, 0.17840260246777725, -0.04249742520144834, 0.08947555015094696, -0.8537863062073549,
    0.07731523791305536, -0.5866639804993209, -0.3804957147922158, -0.11943757584358493, 0.20123651524832672,
    0.1590887583533017, 0.1711996693638779, -0.529099569794281, 0.03705634915535951, -0.6491038402158104,
    -0.41907614363262596, 0.15684830693648447, 0.21056925284412553, -0.20375354459414913, 0.19359018576495157,
    -0.6166805494644597, -0.004122798656202953, -0.617853089722424, -0.1083735142465532, -0.13013300931235713,
    0.14828928116237705, 0.07322437182326497, 0.14477291053999128, -0.38312063524610235, 0.049049494150389,
    -0.6640590266113076, -0.39737842732115364, -0.09291363348709214, 0.12559584478994074, -0.27766636098085257,
    0.12367789601741767, -0.43524766531142767, 0.04544594332169427, -0.7269155040010213, -0.18643372705170644,
    0.14579461133523927, 0.3522121827158334, -0.2059529259789887, 0.28032258244744424, -1.0776513151094613,
    0.17440861771650396, -0.5328435285146939, -0.10903695385668907, -0.13003260999381058, 0.14800979462297842,
    0.07536154003156995, 0.14533687775650458, -0.386735863314448, 0.049146520080452887, -0.6641814303712376,
    -0.43834687364038505, 0.14674218097981231, 0.26715385577814094, -0.27470624575180347, 0.146380056199642,
    -0.5791214724572407, -0.00011101929147918633, -0.5928928123569391, -0.14422133581524005, 0.05253136200724778,
    0.42247066543200623, -0.21324513007327733, 0.045378057712990694, -0.9655654021159992, 0.12287705481494929,
    -0.45764476255944286, -0.23572149611767226, -0.1419445227638616, 0.15041320904889044, 0.07220167795936772,
    0.1744309988767879, -0.3028605762825654, 0.04175820024265861, -0.6802855108970939, -0.44007119213070317,
    0.14740048484911064, 0.2656193045294386, -0.273169508158124, 0.14775354116110476, -0.5838462136617218,
    -3.4079877920056846e-05, -0.5931414895768418, -0.2993311910035472, -0.060309088508326995, 0.13068200351919057,
    -0.12812786630445558, 0.08837643340804185, -0.8062161569635887, 0.06146615149583042, -0.6054952250325306
};
// encoder_layer_masked_out
const std::vector<double> encoder_layer_masked_out = {
    0.002061945989208819, 0.01266013605305305, 0.3809037449720673, -0.1348922443229113, 0.10513297907283513,
    -0.992171398362875, 0.163553296653501, -0.49822894455637745, -0.28217743767745873, -0.13065120653240442,
    0.21945347489233621, 0.15632681055140377, 0.1575428010404875, -0.40579122659125594, 0.03844791254434308,
    -0.6398568863470843, -0.43454001995288866, 0.15673353861103412, 0.2264578091732666, -0.29188333051459664,
    0.1708346842196856, -0.5734638351840213, 0.0007129669701830932, -0.6017278640536411, -0.20441811280291822,
    -0.09209091338393621, 0.11866570016123018, -0.03804256764996768, 0.12496589406176987, -0.8730221570545005,
    0.09168160392094912, -0.6280837533735475, -0.36304115395178777, -0.11876380570382761, 0.22301191258846476,
    0.18622578157172168, 0.1677367853240612, -0.5492331415890074, 0.040074447358604874, -0.6403424368800437,
    -0.43322525715243687, 0.15510490813618102, 0.22148622045775185, -0.30986220503241024, 0.1697052858005531,
    -0.5685714280558704, 0.0023232046170500787, -0.6064896440565852, -0.09890282214969488, -0.12986336911005036,
    0.12353106001728731, 0.0690832199761301, 0.1544534018242147, -0.42083131561124665, 0.05319133234855602,
    -0.6780860968570115, -0.38634518216957325, -0.0952867066829152, 0.13439180636602455, -0.25981521428836174,
    0.11817512848350095, -0.4657252412141697, 0.04753909221077357, -0.725234421303318, -0.2074753083447719,
    0.1704321413866674, 0.3652656681097516, -0.2786631048989535, 0.2649571717969751, -1.0455291270555362,
    0.16779291767789273, -0.5155724768070861, -0.10507286051400551, -0.12909993447086487, 0.13193196161463489,
    0.06123218067712055, 0.14891247967313712, -0.39939049518609404, 0.05034200997948114, -0.6750631456842027,
    -0.4475260065132022, 0.1372429556060732, 0.28052039727135075, -0.23924332195131184, 0.13748282533841524,
    -0.6203497265602481, -0.00030689011660811616, -0.5933952029991545, -0.14956265309833774, 0.05904779113148014,
    0.41770178737394825, -0.2595192639180043, 0.040681752061568176, -0.9267010168219323, 0.11957099971135517,
    -0.46049491886517213, -0.23572149611767226, -0.1419445227638616, 0.15041320904889044, 0.07220167795936772,
    0.1744309988767879, -0.3028605762825654, 0.04175820024265861, -0.6802855108970939, -0.4481053719901723,
    0.1376428631297356, 0.27957725032279035, -0.24371598338741024, 0.13752121153468705, -0.62014548485255,
    8.168722912607063e-05, -0.593626886939122, -0.30414623970595667, -0.05182698804572272, 0.12910414264808207,
    -0.17674907356649044, 0.08170810025850676, -0.7697844644681128, 0.05809776975401507, -0.605771174417702
};
// encoder_layer_norm_first_gelu_out
const std::vector<double> encoder_layer_norm_first_gelu_out = {
    -0.7060970291114135, 0.07633583317936826, -1.4967969527176566, 0.6558872835791352, 0.3926700750880968,
    0.5278377172913996, 0.4559949351448971, -0.2859600969807802, 0.6275380707776737, -0.2853476430000209,
    -0.268732764764288, -0.13549015133019526, -0.21657990416110195, -0.5318436805502536, -0.2648362629048673,
    0.8700534866436489, -0.38068432236952665, 0.7675983567316715, -1.0448088072918413, 1.588448283342652,
    -1.3824788821603395, 1.084310529292138, -0.9057614030318428, -0.03416124506266105, -0.8094975956721064,
    -0.061845165138166125, 0.4740575897721828, 0.5893653110193823, 0.0038934454874688385, 0.5831334055454565,
    0.22612811647143705, -0.5323898434631653, 0.38518480469609806, -0.5137417019038512, -0.5338437968559402,
    -0.10483939508599249, -0.6244647351559471, 1.6222301432438408, -0.4702555646524864, 0.5644006935392497,
    -0.5806843223695266, 0.5675983567316714, -1.2448088072918413, 1.388448283342652, -1.5824788821603395,
    0.884310529292138, -1.1057614030318428, -0.2341612450626611, 1.046083110871239, -0.1178173260865692,
    0.31415341656372875, 0.2465612492901988, 0.1615157060932918, -0.23400069982162108, 0.1634581915653291,
    -0.6304362508467138, 0.1743496208987938, -0.7405451064280241, -0.700724470516197, 1.860433054000909,
    -0.8337894612251522, 1.452972287207091, -0.6895496777159016, 0.39834541718107863, -0.7006824748149266,
    0.30536702281803196, -1.3630162319358983, 1.0948947271070684, -1.7749981743100942, 0.7094515804256626,
    0.8533548220305207, -0.3493227895805735, 0.8460831108712389, -0.3178173260865692, 0.11415341656372868,
    0.046561249290198836, -0.038484293906708156, -0.43400069982162115, -0.036541808434670864, -0.8304362508467138,
    0.0085643543078327, 1.2073977507491693, -0.8137662499323327, 1.5722099303587211, -1.0222368054804458,
    1.2715305174986664, -0.9311885577846106, 0.28878620882234185, -0.8073074373796754, -0.052784576155349205,
    -1.4042003647638148, 0.7799050842988686, 0.23070232953209457, 0.5427589947442488, 0.5881043690539102,
    -0.4003845768383295, 0.5407402227022701, -0.3918556165448493, -0.38915690287492827, -0.0493543667699754,
    -0.21354612289170427, -0.5384177104060912, -0.1676547110077517, 0.8618600888919686, -0.1914356456921673,
    1.0073977507491694, -1.0137662499323326, 1.3722099303587212, -1.2222368054804456, 1.0715305174986665,
    -1.1311885577846108, 0.08878620882234178, -0.916616364604785, -0.18027214508549708, 0.5581424380535185,
    0.7156093807924904, -0.14934101000617728, 0.5818938499295816, 0.36443484444257335, -0.648439805765709
};
// encoder_out
const std::vector<double> encoder_out = {
    0.19415235746297813, -0.14763899422243754, 0.06479563875979935, 0.3911438663300181, -0.485971544450415, 0.15,
    -0.08697043095115559, -0.09453011502127169, 0.16985758013876207, -0.11299720679562533, 0.08089476420567739,
    0.3949803943236334, -0.4858354568512834, 0.15, -0.03856386844999444, -0.059216021891975154, 0.18359267681673108,
    -0.14520342549651355, 0.07713930455239325, 0.38713260716308173, -0.47594374798158195, 0.15, -0.07472194779595939,
    -0.10705171793676947, 0.18845394530485624, -0.133726079822097, 0.067918701476458, 0.3904687388742043,
    -0.4762951820622025, 0.15, -0.0682149591746653, -0.08918856673792248, 0.17074042997020494, -0.08909442989506387,
    0.07954681947120563, 0.3771655577214613, -0.4725213253650991, 0.15, -0.015382242356426793, -0.057190377802406246,
    0.18355547532682104, -0.14539113386938707, 0.07715781802062799, 0.3872570372958684, -0.47603962429341556, 0.15,
    -0.07492952993891205, -0.10710304914097278, 0.17983031328431268, -0.11687346704544757, 0.07579288927103672,
    0.3979778074394836, -0.48961055732273, 0.15, -0.04273100022687433, -0.05761872210333899, 0.17239745036200832,
    -0.1329128554658639, 0.08028454742157785, 0.3990981737285066, -0.489920654116445, 0.15, -0.06320348689174002,
    -0.07796158682469012, 0.19852522431172306, -0.1602627660182321, 0.06980640855880298, 0.3830249432718509,
    -0.4818045354956912, 0.15, -0.1018656354267631, -0.11260186129209104, 0.17993523480603807, -0.11663565230486246,
    0.07569294982546902, 0.3977935399725556, -0.4894437895142394, 0.15, -0.0425084100046746, -0.05758513990696112,
    0.17767728901011054, -0.14370745790976747, 0.07765108266189434, 0.3934374165260593, -0.48295390631267815, 0.15,
    -0.07331147083617624, -0.0976711203106652, 0.19517452814924785, -0.16256793941880743, 0.06839667079244434,
    0.3905596734584622, -0.48660724193997756, 0.15, -0.10195727539950021, -0.1090857340991034, 0.17095235661045113,
    -0.10818506656569249, 0.08168326322914202, 0.3952036115450678, -0.486155349232739, 0.15, -0.0326857275047699,
    -0.053141655649729114, 0.17768380930157174, -0.14398220780269527, 0.07769169510219268, 0.39357149271505276,
    -0.48310381253992846, 0.15, -0.07361736739938188, -0.09777175160269436, 0.19188740106532773, -0.1441343848130693,
    0.0700760457750561, 0.38567833617815134, -0.4749096092636168, 0.15, -0.07859561112629404, -0.1028586724163811
};
// decoder_layer_out
const std::vector<double> decoder_layer_out = {
    -0.4210873748388603, 0.17748297471970442, -0.17272921743408284, -0.011560003556272952, 0.4723182339880589,
    -0.6159315779371859, 0.15, -0.48886888029346826, -0.37852709157074144, 0.1864647753517088, -0.16923272484661459,
    -0.029608260509846565, 0.4511787013359698, -0.6436884042084728, 0.15, -0.44304369854962666, -0.4230754310071917,
    0.1853017269673427, -0.14698578629219647, 0.1221712746986021, 0.47986777169435785, -0.5976642378932168, 0.15,
    -0.42916036982611316, -0.4010572108132348, 0.17745262531370004, -0.14974994083093687, -0.028512365021882452,
    0.42536662819848436, -0.6748902346483858, 0.15, -0.451366904504219, -0.4714932331388679, 0.1843363782958531,
    -0.16267282444316875, -0.01001392183049666, 0.43939759151064567, -0.6391098585838637, 0.15, -0.4815703009387876,
    -0.4184401214536982, 0.18484136893411837, -0.14532834789231244, 0.12850498859538068, 0.4835182969243102,
    -0.5904278078143543, 0.15, -0.4279270195451975, -0.45710327517615534, 0.17505644395771303, -0.15413273346622403,
    -0.004507019075446323, 0.4243525247129755, -0.6693678827664534, 0.15, -0.45616368344224967, -0.49017628332458746,
    0.18648770136208362, -0.17157996511630225, -0.027144095322904606, 0.4535720733731301, -0.591668019740511, 0.15,
    -0.489094818994252, -0.4184378329943615, 0.18484082154073755, -0.1453289929062795, 0.1285036924639348,
    0.48351975487395343, -0.5904283835578688, 0.15, -0.42792812073986886, -0.33812788113501496, 0.1726942903010641,
    -0.15764497362696955, -0.03299096376551173, 0.42748804117901773, -0.7176983440849583, 0.15, -0.4742700421141562,
    -0.4758718886819656, 0.18704496144623917, -0.17731259690384701, -0.0483698283570365, 0.4567264082289848,
    -0.5942504060424403, 0.15, -0.5305385612836439, -0.4060502145787744, 0.16822650786277907, -0.13821413670696392,
    0.12316244776772699, 0.5095960708153585, -0.5555824547433622, 0.15, -0.43791809661522874
};
// transformer_out
const std::vector<double> transformer_out = {
    -0.5561688874740017, 0.17743071776575273, -0.06617282191523362, 0.26440510448364923, 0.4668788518432247,
    -0.005045004757338212, 0.23787958386179947, -0.606192475083708, -0.5562672948045075, 0.17762959681409524,
    -0.06597653571357395, 0.2645610022672255, 0.46688608562116696, -0.005420263117751761, 0.23763112847841636,
    -0.6052793719677685, -0.5572316046086125, 0.17623549607198224, -0.06452269372852053, 0.2634551352231779,
    0.467119013329159, -0.0036538305897393514, 0.2389192281614048, -0.6065703303180344, -0.5563037829783315,
    0.17746912980176777, -0.06543831931822465, 0.264456132649463, 0.46687915541594965, -0.005035732303414142,
    0.23790098281793204, -0.6051036825747828, -0.5555348634610762, 0.17764904317928512, -0.06483291735251095,
    0.26455483955565834, 0.46715075907637893, -0.004979886911497727, 0.23751982348021097, -0.6056584513579821,
    -0.5572416668171262, 0.17622748214743364, -0.06444972227183496, 0.2634483761544535, 0.467126646821553,
    -0.003631202341217138, 0.2389263669148038, -0.6065164543010306, -0.5561188489671678, 0.17738597695637207,
    -0.06612801799287953, 0.2645123061966323, 0.46714194744902426, -0.005391429976358539, 0.2380705470853591,
    -0.6052620362834932, -0.5557117258656441, 0.1779568876632717, -0.06734637119819273, 0.26467882653104285,
    0.4665651944713385, -0.005402496223545536, 0.2372305466858153, -0.6073871163402558, -0.5572416625721918,
    0.17622748738138036, -0.06444976192855008, 0.2634483800685463, 0.4671266407640423, -0.0036312142011301896,
    0.23892636225044997, -0.6065164827760277, -0.5558742356893092, 0.1774411360466488, -0.06542283598220566,
    0.26451392679334246, 0.4670899526097798, -0.005285614591605661, 0.23790437329477293, -0.605365406495331,
    -0.5573987519364231, 0.1773314509781939, -0.067897103980483, 0.26392320309353584, 0.46662278707496313,
    -0.00468987174005614, 0.23726414414368985, -0.6085831419350543, -0.5567639146539111, 0.17655409628989185,
    -0.06495332380399643, 0.26377325069158064, 0.4670106281088279, -0.00417754249678591, 0.2387339115503823,
    -0.6064249508754586
};

// Names and shapes PyTorch 1.13 lists for nn.TransformerEncoderLayer(8, 2, 16) and
// nn.TransformerDecoderLayer(8, 2, 16).
const NamedShapes encoder_layer_names = {
    {"self_attn.in_proj_weight", {24, 8}}, {"self_attn.in_proj_bias", {24}}, {"self_attn.out_proj.weight", {8, 8}},
    {"self_attn.out_proj.bias", {8}},      {"linear1.weight", {16, 8}},      {"linear1.bias", {16}},
    {"linear2.weight", {8, 16}},           {"linear2.bias", {8}},            {"norm1.weight", {8}},
    {"norm1.bias", {8}},                   {"norm2.weight", {8}},            {"norm2.bias", {8}}};
const NamedShapes decoder_layer_names = {
    {"self_attn.in_proj_weight", {24, 8}},      {"self_attn.in_proj_bias", {24}},
    {"self_attn.out_proj.weight", {8, 8}},      {"self_attn.out_proj.bias", {8}},
    {"multihead_attn.in_proj_weight", {24, 8}}, {"multihead_attn.in_proj_bias", {24}},
    {"multihead_attn.out_proj.weight", {8, 8}}, {"multihead_attn.out_proj.bias", {8}},
    {"linear1.weight", {16, 8}},                {"linear1.bias", {16}},
    {"linear2.weight", {8, 16}},                {"linear2.bias", {8}},
    {"norm1.weight", {8}},                      {"norm1.bias", {8}},
    {"norm2.weight", {8}},                      {"norm2.bias", {8}},
    {"norm3.weight", {8}},                      {"norm3.bias", {8}}};

// Position l of batch row b of a [L, N, E] output: [E].
Tensor at(const Tensor& x, std::int64_t l, std::int64_t b) { return x.select(0, l).select(0, b); }

}  // namespace

TEST_CASE("TransformerEncoderLayer: PyTorch's output without masks, and with a causal src_mask and key padding") {
  nn::TransformerEncoderLayer layer(small());
  set_params(*layer);
  const Tensor src = inputs_of({S, N, E}, 1);
  check_answer(layer(src), {S, N, E}, encoder_layer_out);
  check_answer(layer(src, causal(S), src_pad()), {S, N, E}, encoder_layer_masked_out);
}

TEST_CASE("TransformerEncoderLayer with norm_first and gelu: PyTorch's output") {
  nn::TransformerEncoderLayer layer(small().activation(kGELU).norm_first(true));
  set_params(*layer);
  check_answer(layer->forward(inputs_of({S, N, E}, 1), {}, src_pad()), {S, N, E}, encoder_layer_norm_first_gelu_out);
}

TEST_CASE("TransformerEncoder: 2 gelu layers and a final LayerNorm, with key padding: PyTorch's output") {
  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(nn::TransformerEncoderLayer(small().activation(kGELU)), 2)
                                     .norm(nn::LayerNorm(nn::LayerNormOptions({E}))));
  set_params(*encoder);
  check_answer(encoder->forward(inputs_of({S, N, E}, 1), {}, src_pad()), {S, N, E}, encoder_out);
}

TEST_CASE("the stacks' norm given as an AnyModule, libtorch's spelling: the same PyTorch output") {
  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(nn::TransformerEncoderLayer(small().activation(kGELU)), 2)
                                     .norm(nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({E})))));
  set_params(*encoder);
  check_answer(encoder->forward(inputs_of({S, N, E}, 1), {}, src_pad()), {S, N, E}, encoder_out);
  // An empty AnyModule is no norm, as libtorch's default.
  nn::TransformerDecoder decoder(nn::TransformerDecoderOptions(nn::TransformerDecoderLayer(small()), 1).norm(nn::AnyModule()));
  CHECK(decoder->norm == nullptr);
  nn::TransformerDecoder normed(
      nn::TransformerDecoderOptions(nn::TransformerDecoderLayer(small()), 1).norm(nn::AnyModule(std::make_shared<nn::LayerNorm>(Shape{E}))));
  CHECK(normed->named_parameters().back().first == "norm.bias");
}

TEST_CASE("TransformerDecoderLayer with all four masks: PyTorch's output") {
  nn::TransformerDecoderLayer layer(small());
  set_params(*layer);
  const Tensor out = layer(inputs_of({T, N, E}, 2), inputs_of({S, N, E}, 3), causal(T), pattern({T, S}, 4), tgt_pad(),
                           src_pad());
  check_answer(out, {T, N, E}, decoder_layer_out);
}

TEST_CASE("Transformer, 2 + 2 gelu layers, causal tgt_mask and key padding: PyTorch's output") {
  nn::Transformer model(nn::TransformerOptions(E, H, 2, 2).dim_feedforward(FF).dropout(0.0).activation(kGELU));
  set_params(*model);
  const Tensor out = model->forward(inputs_of({S, N, E}, 1), inputs_of({T, N, E}, 2), {}, causal(T), {}, src_pad(),
                                    tgt_pad(), src_pad());
  check_answer(out, {T, N, E}, transformer_out);
}

TEST_CASE("parameter names and shapes are PyTorch's state-dict names (listed by PyTorch 1.13)") {
  CHECK(names_and_shapes(*nn::TransformerEncoderLayer(small())) == encoder_layer_names);
  CHECK(names_and_shapes(*nn::TransformerDecoderLayer(small())) == decoder_layer_names);
  // nn.Transformer: encoder.layers.{0,1}.*, encoder.norm.*, decoder.layers.{0,1}.*, decoder.norm.*
  NamedShapes expected;
  for (const char* part : {"encoder", "decoder"}) {
    const NamedShapes& layer = std::string(part) == "encoder" ? encoder_layer_names : decoder_layer_names;
    for (int i = 0; i < 2; ++i) {
      for (const auto& [name, shape] : layer) {
        expected.emplace_back(std::string(part) + ".layers." + std::to_string(i) + "." + name, shape);
      }
    }
    expected.emplace_back(std::string(part) + ".norm.weight", Shape{E});
    expected.emplace_back(std::string(part) + ".norm.bias", Shape{E});
  }
  nn::Transformer model(nn::TransformerOptions(E, H, 2, 2).dim_feedforward(FF));
  CHECK(names_and_shapes(*model) == expected);
  CHECK(expected.size() == 64);  // PyTorch's count for this model
}

TEST_CASE("a key padding mask makes the output independent of the padded positions' values") {
  manual_seed(11);
  nn::TransformerEncoderLayer layer(small());
  layer->to(kFloat64);
  const Tensor src = randn({S, N, E}, kFloat64);
  Tensor changed = src.clone();
  {
    NoGradGuard no_grad;
    changed.select(1, 1).narrow(0, 3, 2).copy_(randn({2, E}, kFloat64) * 10.0);  // row 1's padded positions 3, 4
  }
  const Tensor a = layer->forward(src, {}, src_pad()), b = layer->forward(changed, {}, src_pad());
  for (std::int64_t l = 0; l < 3; ++l) check_close(at(b, l, 1), at(a, l, 1), 1e-12, 1e-12);  // row 1, kept
  check_close(b.select(1, 0), a.select(1, 0), 1e-12, 1e-12);  // the other rows
  check_close(b.select(1, 2), a.select(1, 2), 1e-12, 1e-12);
  CHECK_FALSE(allclose(at(b, 3, 1), at(a, 3, 1)));             // a padded position is still a query
  // Without the mask, the change reaches every position.
  CHECK_FALSE(allclose(at(layer(changed), 0, 1), at(layer(src), 0, 1)));

  // The same for the memory of a decoder.
  nn::TransformerDecoderLayer decoder(small());
  decoder->to(kFloat64);
  const Tensor tgt = randn({T, N, E}, kFloat64);
  check_close(decoder->forward(tgt, changed, {}, {}, {}, src_pad()).select(1, 1),
              decoder->forward(tgt, src, {}, {}, {}, src_pad()).select(1, 1), 1e-12, 1e-12);
}

TEST_CASE("a causal mask makes output t independent of the inputs after t") {
  manual_seed(12);
  nn::Transformer model(nn::TransformerOptions(E, H, 2, 2).dim_feedforward(FF).dropout(0.0));
  model->to(kFloat64);
  const Tensor src = randn({S, N, E}, kFloat64), tgt = randn({T, N, E}, kFloat64);
  const Tensor mask = nn::Transformer::generate_square_subsequent_mask(T);
  const Tensor full = model->forward(src, tgt, {}, mask);
  for (std::int64_t t = 0; t + 1 < T; ++t) {
    Tensor changed = tgt.clone();
    {
      NoGradGuard no_grad;
      changed.narrow(0, t + 1, T - t - 1).copy_(randn({T - t - 1, N, E}, kFloat64));
    }
    const Tensor out = model->forward(src, changed, {}, mask);
    check_close(out.narrow(0, 0, t + 1), full.narrow(0, 0, t + 1), 1e-12, 1e-12);
    CHECK_FALSE(allclose(out.narrow(0, t + 1, 1), full.narrow(0, t + 1, 1)));
  }
  // An encoder layer's src_mask works the same way.
  nn::TransformerEncoderLayer layer(small());
  layer->to(kFloat64);
  Tensor changed = src.clone();
  {
    NoGradGuard no_grad;
    changed.select(0, S - 1).copy_(randn({N, E}, kFloat64));
  }
  check_close(layer(changed, causal(S)).narrow(0, 0, S - 1), layer(src, causal(S)).narrow(0, 0, S - 1), 1e-12, 1e-12);
}

TEST_CASE("generate_square_subsequent_mask: 0 on and below the diagonal, -inf above, float32") {
  const Tensor m = nn::Transformer::generate_square_subsequent_mask(3);
  CHECK(m.dtype() == kFloat32);
  CHECK(m.sizes() == Shape{3, 3});
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(values(m) == std::vector<double>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0});
  CHECK(values(nn::Transformer::generate_square_subsequent_mask(1)) == std::vector<double>{0});
  CHECK(nn::Transformer::generate_square_subsequent_mask(0).numel() == 0);
}

TEST_CASE("the masks' spellings: bool and float, shared and per head, give the same answer") {
  manual_seed(13);
  nn::TransformerEncoderLayer layer(small());
  layer->to(kFloat64);
  const Tensor src = randn({S, N, E}, kFloat64);
  const double inf = std::numeric_limits<double>::infinity();
  // A bool key padding mask is a float one with -inf where true.
  const Tensor float_pad = zeros({N, S}, kFloat64).masked_fill(src_pad(), -inf);
  check_close(layer->forward(src, {}, float_pad), layer->forward(src, {}, src_pad()), 1e-12, 1e-12);
  // A bool attention mask (true = may not attend) is the float one with -inf there.
  const Tensor bool_causal = isfinite(causal(S)).logical_not();
  check_close(layer(src, bool_causal), layer(src, causal(S)), 1e-12, 1e-12);
  // [N * nhead, S, S], one per batch row and head, with every slice the same, is the shared one;
  // a float32 mask works with float64 inputs.
  const Tensor bias = randn({S, S}, kFloat32);
  check_close(layer(src, bias.unsqueeze(0).expand({N * H, S, S}).contiguous()), layer(src, bias), 1e-12, 1e-12);
  // A per-head mask that differs between heads: blocking every key but one for head 1 of row 0 only
  // changes row 0.
  Tensor per_head = zeros({N * H, S, S}, kFloat64);
  {
    NoGradGuard no_grad;
    per_head.select(0, 1).narrow(1, 1, S - 1).fill_(-inf);
  }
  const Tensor a = layer(src, per_head), b = layer(src);
  check_close(a.narrow(1, 1, 2), b.narrow(1, 1, 2), 1e-12, 1e-12);
  CHECK_FALSE(allclose(a.select(1, 0), b.select(1, 0)));
  // Both kinds together add up: the per-row, per-head sum of the causal mask and the padding.
  const Tensor summed = (causal(S).unsqueeze(0) + float_pad.unsqueeze(1))  // [N, S, S]
                            .unsqueeze(1)
                            .expand({N, H, S, S})
                            .reshape({N * H, S, S});
  check_close(layer->forward(src, causal(S), src_pad()), layer(src, summed), 1e-12, 1e-12);
}

TEST_CASE("batch_first takes [N, L, E]; an unbatched [L, E] is a batch of one") {
  manual_seed(14);
  nn::TransformerDecoderLayer seq_first(small());
  nn::TransformerDecoderLayer batch_first(small().batch_first(true));
  set_params(*seq_first);
  set_params(*batch_first);
  const Tensor tgt = randn({T, N, E}, kFloat64), memory = randn({S, N, E}, kFloat64);
  const Tensor expected = seq_first->forward(tgt, memory, causal(T), {}, tgt_pad(), src_pad());
  const Tensor got =
      batch_first->forward(tgt.transpose(0, 1), memory.transpose(0, 1), causal(T), {}, tgt_pad(), src_pad());
  check_close(got.transpose(0, 1), expected, 1e-12, 1e-12);
  // Row 1 alone, unbatched, with its own padding rows [T] and [S].
  const Tensor one = seq_first->forward(tgt.select(1, 1), memory.select(1, 1), causal(T), {}, tgt_pad().select(0, 1),
                                        src_pad().select(0, 1));
  CHECK(one.sizes() == Shape{T, E});
  check_close(one, expected.select(1, 1), 1e-12, 1e-12);

  nn::Transformer model(nn::TransformerOptions(E, H, 1, 1).dim_feedforward(FF).dropout(0.0).batch_first(true));
  model->to(kFloat64);
  CHECK(model(randn({N, S, E}, kFloat64), randn({N, T, E}, kFloat64)).sizes() == Shape{N, T, E});
}

TEST_CASE("clone() is deep: the stacks hold copies of the layer, and a clone owns its tensors") {
  manual_seed(15);
  auto layer = std::make_shared<nn::TransformerEncoderLayer>(small());
  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(layer, 2).norm(std::make_shared<nn::LayerNorm>(Shape{E})));
  REQUIRE(encoder->stack.size() == 2);
  CHECK(encoder->layers->size() == 2);
  CHECK(encoder->stack[0] != layer);
  CHECK(encoder->stack[0] != encoder->stack[1]);
  // Same values as the prototype, own tensors.
  CHECK(equal(encoder->stack[1]->linear1->weight, layer->linear1->weight));
  {
    NoGradGuard no_grad;
    encoder->stack[0]->linear1->weight.fill_(0.5);
  }
  CHECK_FALSE(equal(encoder->stack[1]->linear1->weight, encoder->stack[0]->linear1->weight));
  CHECK_FALSE(equal(layer->linear1->weight, encoder->stack[0]->linear1->weight));

  auto copy = std::dynamic_pointer_cast<nn::TransformerEncoder>(encoder->clone());
  REQUIRE(copy != nullptr);
  const Tensor x = randn({S, N, E});
  check_close(copy->forward(x), encoder(x), 0, 0);
  {
    NoGradGuard no_grad;
    copy->stack[1]->self_attn->in_proj_weight.fill_(0.25);
    copy->norm->named_parameters()[0].second.fill_(2.0);
  }
  CHECK_FALSE(equal(copy->stack[1]->self_attn->in_proj_weight, encoder->stack[1]->self_attn->in_proj_weight));
  CHECK_FALSE(equal(copy->norm->named_parameters()[0].second, encoder->norm->named_parameters()[0].second));

  nn::Transformer model(nn::TransformerOptions(E, H, 1, 1).dim_feedforward(FF));
  auto model_copy = std::dynamic_pointer_cast<nn::Transformer>(model->clone());
  REQUIRE(model_copy != nullptr);
  const auto ours = model->parameters(), theirs = model_copy->parameters();
  REQUIRE(ours.size() == theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    CHECK(equal(ours[i], theirs[i]));
    CHECK(ours[i].data_ptr<float>() != theirs[i].data_ptr<float>());
  }
}

TEST_CASE("initial values as PyTorch's: xavier in-projection, zero attention biases, Transformer xavier on matrices") {
  manual_seed(16);
  nn::TransformerDecoderLayer layer(small());
  for (const auto* attention : {layer->self_attn.get(), layer->multihead_attn.get()}) {
    const double bound = std::sqrt(6.0 / (E + 3 * E));  // xavier_uniform_ over [3E, E]
    const auto w = values(attention->in_proj_weight);
    CHECK(*std::max_element(w.begin(), w.end()) <= bound);
    CHECK(*std::min_element(w.begin(), w.end()) >= -bound);
    CHECK(*std::max_element(w.begin(), w.end()) > 0.8 * bound);  // drawn from the whole range
    CHECK(values(attention->in_proj_bias) == std::vector<double>(3 * E, 0.0));
    CHECK(values(attention->out_proj->bias) == std::vector<double>(E, 0.0));
  }
  const double linear_bound = 1.0 / std::sqrt(static_cast<double>(E));  // nn::Linear: U(-1/sqrt(in), 1/sqrt(in))
  const auto w1 = values(layer->linear1->weight);
  CHECK(*std::max_element(w1.begin(), w1.end()) <= linear_bound);
  CHECK(values(layer->norm3->weight) == std::vector<double>(E, 1.0));

  nn::Transformer model(nn::TransformerOptions(E, H, 1, 1).dim_feedforward(FF));
  for (const auto& [name, p] : model->named_parameters()) {
    if (p.dim() < 2) continue;
    const double bound = std::sqrt(6.0 / static_cast<double>(p.size(0) + p.size(1)));
    const auto v = values(p);
    INFO(name);
    CHECK(*std::max_element(v.begin(), v.end()) <= bound);
    CHECK(*std::min_element(v.begin(), v.end()) >= -bound);
  }
  // Reproducible from the seed.
  manual_seed(16);
  nn::TransformerDecoderLayer again(small());
  CHECK(equal(again->self_attn->in_proj_weight, layer->self_attn->in_proj_weight));
}

TEST_CASE("libtorch's spellings: holder values, register_module, Module&, Sequential, a custom activation") {
  manual_seed(17);
  nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(E, H).dim_feedforward(FF).dropout(0.0));
  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(layer, 1));  // layer becomes a handle, as in libtorch
  const Tensor x = randn({S, N, E});
  check_close(encoder(x), layer(x), 0, 0);  // one copy of the same layer, no norm
  CHECK(encoder->norm == nullptr);

  struct NetImpl : nn::Module {
    nn::TransformerEncoderLayer block{nullptr};
    NetImpl() { block = register_module("block", nn::TransformerEncoderLayer(E, H)); }
    Tensor forward(const Tensor& input) override { return block(input, nn::Transformer::generate_square_subsequent_mask(input.size(0))); }
  };
  auto net = std::make_shared<NetImpl>();
  CHECK(net->named_parameters()[0].first == "block.self_attn.in_proj_weight");
  CHECK(net->forward(x).sizes() == Shape{S, N, E});

  // The single-tensor forward, through Module& and Sequential, is the unmasked one.
  nn::Module& as_module = *layer;
  check_close(as_module.forward(x), layer->forward(x, {}, {}), 0, 0);
  nn::Sequential seq(layer, nn::Linear(E, 2));
  CHECK(seq(x).sizes() == Shape{S, N, 2});

  // A custom activation, and kReLU spelled out.
  nn::TransformerEncoderLayer tanh_layer(small().activation([](const Tensor& t) { return t.tanh(); }));
  nn::TransformerEncoderLayer relu_layer(small().activation(kReLU));
  CHECK(tanh_layer->options.activation().name() == "custom");
  CHECK(relu_layer->options.activation().is_relu());
  relu_layer->load_state_dict(tanh_layer->state_dict());
  CHECK_FALSE(allclose(tanh_layer(x), relu_layer(x)));

  // Options read back through libtorch's getters and Cake's designated initializers.
  const auto o = nn::TransformerOptions().d_model(16).nhead(4).num_encoder_layers(3);
  CHECK(o.d_model() == 16);
  CHECK(o.num_decoder_layers() == 6);
  CHECK(o.dim_feedforward() == 2048);
  CHECK(o.dropout() == 0.1);
  const nn::TransformerEncoderLayerOptions d{.d_model = 4, .nhead = 2, .norm_first = true};
  CHECK(d.dim_feedforward == 2048);
  CHECK(d.activation().is_relu());
  CHECK(nn::TransformerEncoderLayerOptions(4, 2).activation(kGELU).activation().is_gelu());
}

TEST_CASE("dropout: in training only, on the attention weights and the sub-layers") {
  manual_seed(18);
  nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(E, H).dim_feedforward(FF).dropout(0.5));
  const Tensor x = randn({S, N, E});
  CHECK_FALSE(allclose(layer(x), layer(x)));  // training: two draws
  layer->eval();
  check_close(layer(x), layer(x), 0, 0);
  nn::TransformerEncoderLayer no_dropout(small());
  no_dropout->load_state_dict(layer->state_dict());
  check_close(layer(x), no_dropout(x), 1e-6, 1e-6);  // evaluation: the identity
}

TEST_CASE("gradients reach every parameter and both inputs") {
  manual_seed(19);
  nn::Transformer model(nn::TransformerOptions(E, H, 2, 2).dim_feedforward(FF));
  const Tensor src = randn({S, N, E}).requires_grad_(), tgt = randn({T, N, E}).requires_grad_();
  model->forward(src, tgt, {}, nn::Transformer::generate_square_subsequent_mask(T), {}, src_pad(), tgt_pad())
      .square()
      .sum()
      .backward();
  for (const auto& [name, p] : model->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item<float>() > 0);
  }
  CHECK(src.grad().abs().sum().item<float>() > 0);
  CHECK(tgt.grad().abs().sum().item<float>() > 0);
}

namespace {
// A user's decoder with libtorch's six-tensor call: a projection of tgt plus the mean of the
// memory over its positions (the masks are accepted and ignored).
struct MeanMemoryDecoderImpl : nn::Cloneable<MeanMemoryDecoderImpl> {
  nn::Linear proj{nullptr};
  MeanMemoryDecoderImpl() { reset(); }
  void reset() override { proj = register_module("proj", nn::Linear(E, E)); }
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& /*tgt_mask*/, const Tensor& /*memory_mask*/,
                 const Tensor& /*tgt_key_padding_mask*/, const Tensor& /*memory_key_padding_mask*/) {
    return proj(tgt) + memory.mean(0, /*keepdim=*/true);
  }
};
CAKE_MODULE(MeanMemoryDecoder);
}  // namespace

TEST_CASE("Transformer with a custom encoder and decoder (AnyModule): copies registered, libtorch's calls") {
  manual_seed(20);
  nn::TransformerEncoder my_encoder(nn::TransformerEncoderOptions(nn::TransformerEncoderLayer(small()), 1));
  MeanMemoryDecoder my_decoder;
  nn::Transformer model(nn::TransformerOptions(E, H)
                            .custom_encoder(nn::AnyModule(my_encoder))
                            .custom_decoder(nn::AnyModule(my_decoder)));
  model->to(kFloat64);

  // Registered as "encoder" and "decoder", with their own names below.
  NamedShapes expected;
  for (const auto& [name, shape] : encoder_layer_names) expected.emplace_back("encoder.layers.0." + name, shape);
  expected.emplace_back("decoder.proj.weight", Shape{E, E});
  expected.emplace_back("decoder.proj.bias", Shape{E});
  CHECK(names_and_shapes(*model) == expected);
  CHECK(model->encoder != nullptr);  // the custom encoder is a TransformerEncoder: typed access too
  CHECK(model->decoder == nullptr);  // the custom decoder is not
  CHECK(model->decoder_module.type_info() == typeid(MeanMemoryDecoderImpl));

  // Deep copies of the given modules, and their matrices redrawn by reset_parameters (xavier),
  // as libtorch does: the user's modules are left as they were.
  CHECK(model->encoder != my_encoder.ptr());
  CHECK(model->decoder_module.ptr() != my_decoder.ptr());
  CHECK_FALSE(equal(model->decoder_module.get<MeanMemoryDecoderImpl>().proj->weight.to(kFloat32), my_decoder->proj->weight));
  CHECK(equal(model->decoder_module.get<MeanMemoryDecoderImpl>().proj->bias.to(kFloat32), my_decoder->proj->bias));

  // forward is the encoder then the decoder, called with libtorch's arguments.
  const Tensor src = randn({S, N, E}, kFloat64), tgt = randn({T, N, E}, kFloat64);
  const Tensor out = model->forward(src, tgt, causal(S), causal(T), {}, src_pad(), tgt_pad(), src_pad());
  const Tensor memory = model->encoder->forward(src, causal(S), src_pad());
  auto& decoder = model->decoder_module.get<MeanMemoryDecoderImpl>();
  check_close(out, decoder.proj->forward(tgt) + memory.mean(0, true), 0, 0);

  // Gradients reach the custom modules' parameters; clone() keeps the custom structure.
  out.square().sum().backward();
  CHECK(decoder.proj->weight.grad().defined());
  CHECK(model->encoder->stack[0]->linear1->weight.grad().defined());
  auto copy = std::dynamic_pointer_cast<nn::Transformer>(model->clone());
  REQUIRE(copy != nullptr);
  check_close(copy->forward(src, tgt, causal(S), causal(T), {}, src_pad(), tgt_pad(), src_pad()), out, 0, 0);

  // Only the encoder custom: the decoder is the built-in stack, shaped by the options.
  nn::Transformer half(nn::TransformerOptions(E, H, 6, 1).dim_feedforward(FF).custom_encoder(nn::AnyModule(my_encoder)));
  REQUIRE(half->decoder != nullptr);
  CHECK(half->decoder->stack.size() == 1);
  CHECK(half->encoder->stack.size() == 1);  // the custom one, not num_encoder_layers = 6

  // A custom module that cannot take libtorch's arguments: the error names it and the types.
  nn::Transformer wrong(nn::TransformerOptions(E, H).custom_decoder(nn::AnyModule(nn::Linear(E, E))));
  const std::string m = error_message([&] { wrong(zeros({S, N, E}), zeros({T, N, E})); });
  CHECK(contains(m, "AnyModule: Linear's forward takes no arguments (cake::Tensor, cake::Tensor, cake::Tensor, "
                    "cake::Tensor, cake::Tensor, cake::Tensor); AnyModule can call it with (cake::Tensor)"));
}

TEST_CASE("printing shows the tree with PyTorch's module names") {
  nn::TransformerEncoderLayer layer(small());
  std::ostringstream out;
  out << *layer;
  CHECK(contains(out.str(), "(self_attn): MultiheadAttention(embed_dim=8, num_heads=2"));
  CHECK(contains(out.str(), "(linear1): Linear"));
  CHECK(contains(out.str(), "(norm2): LayerNorm"));
}

TEST_CASE("errors name the shapes and settings") {
  std::string m = error_message([] { nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(6, 4)); });
  CHECK(contains(m, "d_model (6) must be positive and divisible by nhead (4)"));
  m = error_message([] { nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(8, 2).dropout(1.5)); });
  CHECK(contains(m, "dropout must be in [0, 1]"));
  m = error_message([] { nn::TransformerEncoderLayerOptions(8, 2).activation(kTanh); });
  CHECK(contains(m, "kReLU, cake::kGELU or a function"));

  nn::TransformerEncoderLayer layer(small());
  m = error_message([&] { layer(zeros({S, N, 6})); });
  CHECK(contains(m, "TransformerEncoderLayer: src must be [L, N, 8] (d_model = 8) or unbatched [L, 8], got shape [5, 3, 6]"));
  m = error_message([&] { layer(zeros({S, N, E}), zeros({S, S + 1})); });
  CHECK(contains(m, "src_mask must be [5, 5] (queries x keys) or [N * nhead = 6, 5, 5], got shape [5, 6]"));
  m = error_message([&] { layer->forward(zeros({S, N, E}), {}, zeros({S, N}, kBool)); });
  CHECK(contains(m, "src_key_padding_mask must be [N, L] = [3, 5] (true = ignore that position), got shape [5, 3]"));
  m = error_message([&] { layer(zeros({S, N, E}), zeros({S, S}, kInt64)); });
  CHECK(contains(m, "src_mask must be bool (true = masked) or floating-point"));
  m = error_message([&] { layer->forward(zeros({S, E}), {}, zeros({1, S}, kBool)); });
  CHECK(contains(m, "must be [5] for an unbatched input"));

  nn::TransformerDecoderLayer decoder(small());
  m = error_message([&] { decoder(zeros({T, N, E}), zeros({S, N + 1, E})); });
  CHECK(contains(m, "tgt and memory must have the same batch size"));
  m = error_message([&] { decoder->forward(zeros({T, N, E}), zeros({S, N, E}), {}, zeros({T, T})); });
  CHECK(contains(m, "memory_mask must be [4, 5]"));

  m = error_message([] { nn::TransformerEncoder(nn::TransformerEncoderOptions(nullptr, 2)); });
  CHECK(contains(m, "TransformerEncoder: the options hold no layer to copy"));
  m = error_message([] { nn::TransformerDecoder(nn::TransformerDecoderOptions(nn::TransformerDecoderLayer(8, 2), 0)); });
  CHECK(contains(m, "num_layers must be at least 1, got 0"));
  m = error_message([] { nn::Transformer(nn::TransformerOptions(8, 2, 1, 1).dim_feedforward(16))(zeros({S, N, 8}), zeros({T, N + 1, 8})); });
  CHECK(contains(m, "Transformer: src and tgt must have the same batch size ([S, N, E], [T, N, E]), got shapes [5, 3, 8] and [4, 4, 8]"));
  m = error_message([] { nn::Transformer::generate_square_subsequent_mask(-1); });
  CHECK(contains(m, "size must be non-negative, got -1"));
}
