// math_reference.h: expected values for test_math.cpp, printed by math_reference.py (PyTorch
// 1.13 in float64; mpmath at 40 digits for erfinv, lgamma, digamma and polygamma). Do not edit:
// run the script.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <cake/cake.h>

namespace math_reference {
using cake::Shape;
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

inline const std::vector<double> kX = {-2.5, -0.7, -0.1, 0.0, 0.3, 1.0, 2.2, 7.5};
inline const std::vector<double> k_tan = {0.7470222972386603, -0.8422883804630794, -0.10033467208545055, 0.0, 0.30933624960962325, 1.5574077246549023, -1.3738230567687946, 2.706013866772691};
inline const std::vector<double> k_atan = {-1.1902899496825317, -0.6107259643892086, -0.09966865249116204, 0.0, 0.2914567944778671, 0.7853981633974483, 1.1441688336680205, 1.4382447944982226};
inline const std::vector<double> k_sinh = {-6.0502044810397875, -0.7585837018395335, -0.10016675001984403, 0.0, 0.3045202934471426, 1.1752011936438014, 4.457105170535894, 904.0209306858466};
inline const std::vector<double> k_cosh = {6.132289479663686, 1.255169005630943, 1.0050041680558035, 1.0, 1.0453385141288605, 1.5430806348152437, 4.567908328898228, 904.0214837702167};
inline const std::vector<double> k_asinh = {-1.6472311463710958, -0.6526665660823557, -0.09983407889920758, 0.0, 0.29567304756342244, 0.881373587019543, 1.529660495090404, 2.712465305184344};
inline const std::vector<double> k_expm1 = {-0.9179150013761012, -0.5034146962085905, -0.09516258196404043, 0.0, 0.3498588075760031, 1.7182818284590453, 8.025013499434122, 1807.0424144560632};
inline const std::vector<double> k_exp2 = {0.1767766952966369, 0.6155722066724582, 0.9330329915368074, 1.0, 1.2311444133449163, 2.0, 4.59479341998814, 181.01933598375618};
inline const std::vector<double> k_erf = {-0.999593047982555, -0.6778011938374184, -0.1124629160182849, 0.0, 0.3286267594591274, 0.8427007929497149, 0.9981371537020182, 1.0};
inline const std::vector<double> k_erfc = {1.999593047982555, 1.6778011938374184, 1.112462916018285, 1.0, 0.6713732405408726, 0.15729920705028513, 0.0018628462979818898, 2.776649386030569e-26};
inline const std::vector<double> k_sinc = {0.12732395447351627, 0.3678830105717742, 0.983631643083466, 1.0, 0.8583936913341398, 3.8981718325193755e-17, 0.08504448034442179, -0.04244131815783876};
inline const std::vector<double> k_frac = {-0.5, -0.7, -0.1, 0.0, 0.3, 0.0, 0.20000000000000018, 0.5};
inline const std::vector<double> kU = {-0.95, -0.5, -0.1, 0.0, 0.3, 0.7, 0.999};
inline const std::vector<double> k_asin = {-1.253235897503375, -0.5235987755982989, -0.1001674211615598, 0.0, 0.30469265401539747, 0.775397496610753, 1.526071239626163};
inline const std::vector<double> k_acos = {2.824032224298272, 2.0943951023931957, 1.6709637479564565, 1.5707963267948966, 1.2661036727794992, 0.7953988301841436, 0.04472508716873345};
inline const std::vector<double> k_atanh = {-1.8317808230648227, -0.5493061443340548, -0.10033534773107558, 0.0, 0.30951960420311175, 0.8673005276940531, 3.8002011672501994};
inline const std::vector<double> k_erfinv = {-1.3859038243496777, -0.4769362762044699, -0.08885599049425769, 0.0, 0.2724627147267543, 0.7328690779592167, 2.3267537655135246};
inline const std::vector<double> kP = {0.001, 0.2, 0.5, 1.0, 1.5, 3.7, 12.0, 250.0};
inline const std::vector<double> k_log2 = {-9.965784284662087, -2.321928094887362, -1.0, 0.0, 0.5849625007211562, 1.8875252707415875, 3.584962500721156, 7.965784284662087};
inline const std::vector<double> k_log10 = {-3.0, -0.6989700043360187, -0.3010299956639812, 0.0, 0.17609125905568124, 0.568201724066995, 1.0791812460476249, 2.3979400086720375};
inline const std::vector<double> k_acosh = {0.04471763360830684, 0.6223625037147786, 0.9624236501192069, 1.3169578969248166, 1.566799236972411, 2.2291952476789585, 3.2566139548000526, 6.218596151477128};
inline const std::vector<double> kG = {-3.3, -2.5, -1.2, -0.4, 0.001, 0.5, 1.0, 2.5, 7.3, 15.0, 123.4};
inline const std::vector<double> k_lgamma = {-0.8243558050174264, -0.056243716497674054, 1.5791760340399836, 1.31452458994339, 6.907178885383853, 0.5723649429247001, 0.0, 0.2846828704729192, 7.147892523022248, 25.19122118273868, 469.3360974421906};
inline const std::vector<double> k_digamma = {3.620353460592126, 1.103156640645243, 4.868324766627196, 0.9593807861068093, -1000.5755719318103, -1.9635100260214235, -0.5772156649015329, 0.7031566406452432, 1.9178203356379862, 2.6743466616607936, 4.8113737751162775};
inline const std::vector<double> k_polygamma1 = {14.817739525515929, 9.539246644989124, 27.993918581946154, 9.886209670902357, 1000001.6425331958, 4.934802200544679, 1.6449340668482264, 0.49035775610023485, 0.1467957681314271, 0.0689382278476838, 0.008136651610865263};
inline const std::vector<double> k_polygamma2 = {68.76944547748523, -0.1082040516417274, 246.72729169898594, 21.287168462856535, -2000000002.3976321, -16.82879664423432, -2.4041138063191885, -0.2362040516417274, -0.02151081444162025, -0.004750602716551555, -6.620473419231093e-05};
inline const std::vector<double> k_polygamma3 = {768.9856582554286, 194.74787621918762, 3768.2644105890045, 281.78204104534575, 6000000000006.469, 97.40909103400244, 6.493939402266829, 0.22390584881725206, 0.00629315871319849, 0.0006544797782827373, 1.077357827078302e-06};
inline const std::vector<double> k_polygamma5 = {165660.14652917208, 15382.140048026304, 1875501.7837551632, 31876.50690776846, 1.1999999999999998e+20, 7691.113548602436, 122.0811674381339, 0.5785691785671835, 0.00160757212266815, 3.722215094961951e-05, 8.558859331982695e-10};
inline const std::vector<double> kA = {5.3, -5.3, 5.3, -5.3, 7.0, -7.0, 0.0, 1.0};
inline const std::vector<double> kB = {2.0, 2.0, -2.0, -2.0, 2.5, 0.1, 3.0, 0.1};
inline const std::vector<double> k_fmod = {1.2999999999999998, -1.2999999999999998, 1.2999999999999998, -1.2999999999999998, 2.0, -0.09999999999999962, 0.0, 0.09999999999999995};
inline const std::vector<double> k_remainder = {1.2999999999999998, 0.7000000000000002, -0.7000000000000002, -1.2999999999999998, 2.0, 3.885780586188048e-16, 0.0, 0.09999999999999995};
inline const std::vector<double> k_floor_divide = {2.0, -3.0, -3.0, 2.0, 2.0, -70.0, 0.0, 9.0};
inline const std::vector<double> k_atan2 = {1.2099595437618058, -1.2099595437618058, 1.9316331098279873, -1.9316331098279873, 1.2277723863741932, -1.5565115842075, 0.0, 1.4711276743037345};
inline const std::vector<double> k_hypot = {5.664803615307418, 5.664803615307418, 5.664803615307418, 5.664803615307418, 7.433034373659253, 7.000714249274855, 3.0, 1.004987562112089};
inline const std::vector<double> k_copysign = {5.3, 5.3, -5.3, -5.3, 7.0, 7.0, 0.0, 1.0};
inline const std::vector<double> k_logaddexp = {5.336219258870659, 2.0006753107015847, 5.3006753107015845, -1.9637807411293406, 7.011047744848594, 0.10082476471132623, 3.048587351573742, 1.341153874732088};
inline const std::vector<std::int64_t> kIA = {7, -7, 7, -7, 0, 9};
inline const std::vector<std::int64_t> kIB = {3, 3, -3, -3, 5, -1};
inline const std::vector<std::int64_t> k_int_fmod = {1, -1, 1, -1, 0, 0};
inline const std::vector<std::int64_t> k_int_remainder = {1, 2, -2, -1, 0, 0};
inline const std::vector<std::int64_t> k_int_floor_divide = {2, -3, -3, 2, 0, -9};
inline const std::vector<double> kLA = {kInf, -kInf, -kInf, 1000.0, -1000.0, kNaN};
inline const std::vector<double> kLB = {1.0, -kInf, 2.0, 1000.0, -999.0, 1.0};
inline const std::vector<double> k_logaddexp_edges = {kInf, -kInf, 2.0, 1000.6931471805599, -998.6867383124818, kNaN};
inline const std::vector<double> kXA = {0.0, 0.0, 2.0, -1.5, 0.0};
inline const std::vector<double> kXB = {0.0, kNaN, 3.0, 0.5, kInf};
inline const std::vector<double> k_xlogy = {0.0, kNaN, 2.1972245773362196, 1.0397207708399179, 0.0};
inline const std::vector<double> kS = {1.5, -2.0, 0.0, 3.0, -0.5, 2.0, 2.0, 2.0, -1.0, 2.0, kNaN, 4.0};
inline const std::vector<double> k_cumprod = {1.5, -3.0, -0.0, -0.0, 0.0, 0.0, 2.0, 4.0, -4.0, -8.0, kNaN, kNaN};
inline const std::vector<double> k_cummax = {1.5, 1.5, 1.5, 3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0, kNaN, kNaN};
inline const std::vector<std::int64_t> k_cummax_i = {0, 0, 0, 3, 3, 3, 0, 1, 1, 3, 4, 4};
inline const std::vector<double> k_cummin = {1.5, -2.0, -2.0, -2.0, -2.0, -2.0, 2.0, 2.0, -1.0, -1.0, kNaN, kNaN};
inline const std::vector<std::int64_t> k_cummin_i = {0, 1, 1, 1, 1, 1, 0, 1, 2, 2, 4, 4};
inline const std::vector<double> k_logcumsumexp = {1.5, 1.5297504182726205, 1.7258020492315993, 3.2465906475097994, 3.269914580449547, 3.5174428814092638, 2.0, 2.6931471805599454, 2.7177359186667025, 3.1150717745323533, kNaN, kNaN};
inline const std::vector<double> kM = {3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0, 9.0, 7.0, 9.0, 3.0, 2.0, 3.0};
inline const std::vector<double> k_median1 = {3.0, 5.0, 3.0};
inline const std::vector<std::int64_t> k_median1_i = {0, 2, 5};
inline const std::vector<double> k_median0 = {3.0, 6.0, 5.0, 3.0, 5.0, 8.0};
inline const std::vector<double> k_median_all = {4.0};
inline const std::vector<double> k_quantile_linear = {1.0, 2.0, 2.0, 1.5, 3.5, 3.0, 3.5, 5.0, 5.0, 4.0, 5.0, 7.0, 9.0, 8.0, 9.0};
inline const std::vector<double> k_quantile_lower = {1.0, 2.0, 2.0, 1.0, 3.0, 3.0, 3.0, 5.0, 3.0, 4.0, 5.0, 7.0, 9.0, 8.0, 9.0};
inline const std::vector<double> k_quantile_higher = {1.0, 2.0, 2.0, 3.0, 5.0, 3.0, 4.0, 5.0, 7.0, 4.0, 5.0, 7.0, 9.0, 8.0, 9.0};
inline const std::vector<double> k_quantile_nearest = {1.0, 2.0, 2.0, 1.0, 3.0, 3.0, 3.0, 5.0, 3.0, 4.0, 5.0, 7.0, 9.0, 8.0, 9.0};
inline const std::vector<double> k_quantile_midpoint = {1.0, 2.0, 2.0, 2.0, 4.0, 3.0, 3.5, 5.0, 5.0, 4.0, 5.0, 7.0, 9.0, 8.0, 9.0};
inline const std::vector<double> k_quantile_all = {3.0};
inline const std::vector<double> kSS = {1.0, 3.0, 5.0, 7.0, 9.0, 2.0, 4.0, 6.0, 8.0, 10.0};
inline const std::vector<double> kSV = {3.0, 6.0, 9.0, 3.0, 6.0, 9.0};
inline const std::vector<std::int64_t> k_ss_left = {1, 3, 4, 1, 2, 4};
inline const std::vector<std::int64_t> k_ss_right = {2, 3, 5, 1, 3, 4};
inline const std::vector<double> kBX = {0.5, 3.0, 9.0, 10.0, 6.0, 1.0};
inline const std::vector<std::int64_t> k_bucketize = {0, 1, 4, 5, 3, 0};
inline const std::vector<std::int64_t> k_bucketize_right = {0, 2, 5, 5, 3, 1};
inline const std::vector<double> k_tril1 = {0.0, 1.0, 0.0, 0.0, 4.0, 5.0, 6.0, 0.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 0.0, 0.0, 16.0, 17.0, 18.0, 0.0, 20.0, 21.0, 22.0, 23.0};
inline const std::vector<double> k_triu_m1 = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 0.0, 21.0, 22.0, 23.0};
inline const Shape k_diag_shape = {3, 1};
inline const std::vector<double> k_diagonal = {12.0, 16.0, 20.0};
inline const std::vector<double> k_diag_vec = {0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0};
inline const Shape k_diag_embed_shape = {4, 2, 4};
inline const std::vector<double> k_diag_embed = {0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
inline const std::vector<std::int64_t> k_tril_indices = {0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 0, 1, 2, 3};
inline const std::vector<std::int64_t> k_triu_indices = {0, 0, 0, 1, 1, 1, 2, 2, 3, 0, 1, 2, 0, 1, 2, 1, 2, 2};
inline const Shape k_movedim_shape = {4, 3, 2};
inline const std::vector<double> k_movedim = {0.0, 12.0, 4.0, 16.0, 8.0, 20.0, 1.0, 13.0, 5.0, 17.0, 9.0, 21.0, 2.0, 14.0, 6.0, 18.0, 10.0, 22.0, 3.0, 15.0, 7.0, 19.0, 11.0, 23.0};
inline const std::vector<double> k_rot90_1 = {3.0, 7.0, 11.0, 2.0, 6.0, 10.0, 1.0, 5.0, 9.0, 0.0, 4.0, 8.0, 15.0, 19.0, 23.0, 14.0, 18.0, 22.0, 13.0, 17.0, 21.0, 12.0, 16.0, 20.0};
inline const std::vector<double> k_rot90_2 = {11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 23.0, 22.0, 21.0, 20.0, 19.0, 18.0, 17.0, 16.0, 15.0, 14.0, 13.0, 12.0};
inline const std::vector<double> k_rot90_3 = {8.0, 4.0, 0.0, 9.0, 5.0, 1.0, 10.0, 6.0, 2.0, 11.0, 7.0, 3.0, 20.0, 16.0, 12.0, 21.0, 17.0, 13.0, 22.0, 18.0, 14.0, 23.0, 19.0, 15.0};
inline const std::vector<double> k_rot90_m1 = {8.0, 4.0, 0.0, 9.0, 5.0, 1.0, 10.0, 6.0, 2.0, 11.0, 7.0, 3.0, 20.0, 16.0, 12.0, 21.0, 17.0, 13.0, 22.0, 18.0, 14.0, 23.0, 19.0, 15.0};
inline const Shape k_tile_shape = {2, 2, 6};
inline const std::vector<double> k_tile = {0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 4.0, 5.0};
inline const std::vector<double> k_kron = {0.0, 5.0, 1.0, 0.0, 10.0, 2.0, 6.0, 7.0, 2.0, 12.0, 14.0, 4.0, 0.0, 15.0, 3.0, 0.0, 20.0, 4.0, 18.0, 21.0, 6.0, 24.0, 28.0, 8.0};
inline const std::vector<double> k_tensordot = {440.0, 1232.0};
inline const Shape k_block_diag_shape = {4, 6};
inline const std::vector<double> k_block_diag = {1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 6.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0};
inline const std::vector<double> k_cartesian = {1.0, 3.0, 1.0, 4.0, 1.0, 5.0, 2.0, 3.0, 2.0, 4.0, 2.0, 5.0};
inline const std::vector<double> k_prod_grad = {-0.0, -0.9099999999999999, 0.0, -0.9900000000000001, -2.3100000000000005, 1.8900000000000001, 0.0, 0.0, 0.0};
}  // namespace math_reference
