// native/op_tables.h: one table per op family (unary, binary, reduction); the rest is generated.
//
// Each family is an X-macro list: a macro that applies its argument X to every row. From the
// rows this header generates the op enum, the printed names and the dtype rules, and every
// backend generates its kernel switch from the same rows, so none of them can fall out of step:
//
//   #define CASE(op, ...) case UnaryOp::op: return run<ops::op>(x, out);
//   switch (op) { CAKE_UNARY_OPS(CASE) }      // one case per row, functor ops::Exp for Exp, ...
//
// NOTE [ Adding an op ]
// A new unary op, say Silu, is four things and touches no switch:
//   1. a row below:           X(Silu, "silu", Floating, Same, 0)
//   2. its functor:           struct Silu in tensor/functors.h (ops::<row name>; the CPU loop and
//                             the CUDA kernels both compute with it),
//   3. its autograd pair:     cake::silu and its backward in autograd/ops/elementwise.cpp, declared
//                             in autograd/ops.h,
//   4. a gradient-check row:  tests/autograd/gradcheck_cases_core.cpp.
// A binary op is the same with CAKE_BINARY_OPS. A reduction is a CAKE_REDUCE_OPS row, a functor in
// ops::reduce (its identity and its combine), its autograd pair in autograd/ops/reduce.cpp, and a
// gradient-check row. tests/tensor/test_op_tables.cpp checks every row's name and dtype rules.
//
// NOTE [ A backend's switch ]
// A backend never lists ops by hand. Its kernel expands the family's list into a switch; each case
// instantiates the row's functor for the element type T when the row's operand rule admits T
// (operand_accepts<T>) and fails otherwise, so no kernel is compiled for, say, exp on int64 (the
// native layer promotes those to float32 first). See unary_kernel in
// tensor/cpu/elementwise_kernels.cpp; a CUDA backend (cuda/) writes the same switch with its own
// launch in place of cpu::elementwise, and a new row reaches every backend without touching it.
//
// This header needs no Tensor, so CUDA sources can include it.
#pragma once

#include <cstddef>
#include <iterator>
#include <type_traits>

namespace cake::native {

// ---- the dtype rules a row can name --------------------------------------------------------
// Which operand dtypes an op takes. The native layer applies the rule before dispatch (promoting
// or refusing), so a kernel only ever sees the types its rule admits.
enum class OperandRule {
  Any,       // every dtype, bool included
  NoBool,    // every dtype but bool (as in PyTorch, -x and a - b refuse bool tensors)
  Floating,  // float32/float64; integer and bool operands are promoted to float32 first
  Bool,      // operands are converted to bool first (logical and/or)
};
// The result's dtype: that of the operands (after the operand rule), or a bool mask.
enum class ResultRule { Same, Bool };

template <class T>
constexpr bool operand_accepts(OperandRule rule) {
  switch (rule) {
    case OperandRule::Any: return true;
    case OperandRule::NoBool: return !std::is_same_v<T, bool>;
    case OperandRule::Floating: return std::is_floating_point_v<T>;
    case OperandRule::Bool: return std::is_same_v<T, bool>;
  }
  return false;
}

// ---- unary ops -------------------------------------------------------------------------------
// X(op, name, operands, result, params)
//   op        UnaryOp enumerator, and the functor ops::op in tensor/functors.h
//   name      printed in errors ("exp: ...")
//   operands  OperandRule;  result: ResultRule
//   params    how many UnaryParams the functor takes: 0 -> ops::Exp{}, 1 -> ops::Elu{a},
//             2 -> ops::Clamp{a, b}
#define CAKE_UNARY_OPS(X)                              \
  X(Neg,        "neg",         NoBool,   Same, 0)      \
  X(Abs,        "abs",         NoBool,   Same, 0)      \
  X(Exp,        "exp",         Floating, Same, 0)      \
  X(Log,        "log",         Floating, Same, 0)      \
  X(Log1p,      "log1p",       Floating, Same, 0)      \
  X(Sqrt,       "sqrt",        Floating, Same, 0)      \
  X(Rsqrt,      "rsqrt",       Floating, Same, 0)      \
  X(Square,     "square",      NoBool,   Same, 0)      \
  X(Tanh,       "tanh",        Floating, Same, 0)      \
  X(Sigmoid,    "sigmoid",     Floating, Same, 0)      \
  X(Silu,       "silu",        Floating, Same, 0)      \
  X(Relu,       "relu",        NoBool,   Same, 0)      \
  X(Sin,        "sin",         Floating, Same, 0)      \
  X(Cos,        "cos",         Floating, Same, 0)      \
  X(Floor,      "floor",       NoBool,   Same, 0)      \
  X(Ceil,       "ceil",        NoBool,   Same, 0)      \
  X(Trunc,      "trunc",       NoBool,   Same, 0)      \
  X(Round,      "round",       NoBool,   Same, 0)      \
  X(Reciprocal, "reciprocal",  Floating, Same, 0)      \
  X(Erf,        "erf",         Floating, Same, 0)      \
  X(Erfc,       "erfc",        Floating, Same, 0)      \
  X(Erfinv,     "erfinv",      Floating, Same, 0)      \
  X(Tan,        "tan",         Floating, Same, 0)      \
  X(Asin,       "asin",        Floating, Same, 0)      \
  X(Acos,       "acos",        Floating, Same, 0)      \
  X(Atan,       "atan",        Floating, Same, 0)      \
  X(Sinh,       "sinh",        Floating, Same, 0)      \
  X(Cosh,       "cosh",        Floating, Same, 0)      \
  X(Asinh,      "asinh",       Floating, Same, 0)      \
  X(Acosh,      "acosh",       Floating, Same, 0)      \
  X(Atanh,      "atanh",       Floating, Same, 0)      \
  X(Expm1,      "expm1",       Floating, Same, 0)      \
  X(Exp2,       "exp2",        Floating, Same, 0)      \
  X(Log2,       "log2",        Floating, Same, 0)      \
  X(Log10,      "log10",       Floating, Same, 0)      \
  X(Lgamma,     "lgamma",      Floating, Same, 0)      \
  X(Digamma,    "digamma",     Floating, Same, 0)      \
  X(Sinc,       "sinc",        Floating, Same, 0)      \
  X(Frac,       "frac",        Floating, Same, 0)      \
  X(Sign,       "sign",        NoBool,   Same, 0)      \
  X(LogicalNot, "logical_not", Any,      Bool, 0)      \
  X(IsNan,      "isnan",       Any,      Bool, 0)      \
  X(IsFinite,   "isfinite",    Any,      Bool, 0)      \
  X(Clamp,      "clamp",       NoBool,   Same, 2)      \
  X(PowScalar,  "pow",         Floating, Same, 1)      \
  X(LeakyRelu,  "leaky_relu",  NoBool,   Same, 1)      \
  X(Elu,        "elu",         Floating, Same, 1)      \
  X(Polygamma,  "polygamma",   Floating, Same, 1)

// ---- binary ops ------------------------------------------------------------------------------
// X(op, name, operands, result): both operands are first promoted to their common dtype, then the
// operand rule applies. Bool arithmetic follows PyTorch inside the functors: + and maximum are
// "or", * and minimum are "and".
#define CAKE_BINARY_OPS(X)                                   \
  X(Add,             "add",              Any,      Same)     \
  X(Sub,             "sub",              NoBool,   Same)     \
  X(Mul,             "mul",              Any,      Same)     \
  X(Div,             "div",              Floating, Same)     \
  X(Pow,             "pow",              NoBool,   Same)     \
  X(Maximum,         "maximum",          Any,      Same)     \
  X(Minimum,         "minimum",          Any,      Same)     \
  X(Eq,              "eq",               Any,      Bool)     \
  X(Ne,              "ne",               Any,      Bool)     \
  X(Lt,              "lt",               Any,      Bool)     \
  X(Le,              "le",               Any,      Bool)     \
  X(Gt,              "gt",               Any,      Bool)     \
  X(Ge,              "ge",               Any,      Bool)     \
  X(LogicalAnd,      "logical_and",      Bool,     Bool)     \
  X(LogicalOr,       "logical_or",       Bool,     Bool)     \
  X(Atan2,           "atan2",            Floating, Same)     \
  X(Hypot,           "hypot",            Floating, Same)     \
  X(Copysign,        "copysign",         Floating, Same)     \
  X(Fmod,            "fmod",             NoBool,   Same)     \
  X(Remainder,       "remainder",        NoBool,   Same)     \
  X(FloorDivide,     "floor_divide",     NoBool,   Same)     \
  X(LogAddExp,       "logaddexp",        Floating, Same)     \
  X(Xlogy,           "xlogy",            Floating, Same)     \
  /* gradient helpers, fused to save a pass over memory in the hottest backward functions */ \
  X(ReluBackward,    "relu_backward",    NoBool,   Same)     \
  X(SigmoidBackward, "sigmoid_backward", Floating, Same)     \
  X(TanhBackward,    "tanh_backward",    Floating, Same)

// ---- reductions ------------------------------------------------------------------------------
// X(op, name, accumulate, empty)
//   op          ReduceOp enumerator, and the functor ops::reduce::op (identity and combine)
//   accumulate  Same: in the input dtype;  Int64: bool and integer inputs accumulate (and return)
//               in int64, as PyTorch's sum and prod do
//   empty       Identity: a reduction over nothing is the identity (sum 0, prod 1);
//               Error: it is refused, naming the empty dimension (max, min)
#define CAKE_REDUCE_OPS(X)                  \
  X(Sum,  "sum",  Int64, Identity)          \
  X(Prod, "prod", Int64, Identity)          \
  X(Max,  "max",  Same,  Error)             \
  X(Min,  "min",  Same,  Error)

enum class Accumulate { Same, Int64 };
enum class OnEmpty { Identity, Error };

// ---- what the tables generate ----------------------------------------------------------------
#define CAKE_OP_ENUMERATOR(op, ...) op,
enum class UnaryOp { CAKE_UNARY_OPS(CAKE_OP_ENUMERATOR) };
enum class BinaryOp { CAKE_BINARY_OPS(CAKE_OP_ENUMERATOR) };
enum class ReduceOp { CAKE_REDUCE_OPS(CAKE_OP_ENUMERATOR) };
#undef CAKE_OP_ENUMERATOR

struct UnaryOpInfo {
  UnaryOp op;
  const char* name;
  OperandRule operands;
  ResultRule result;
  int params;
};
struct BinaryOpInfo {
  BinaryOp op;
  const char* name;
  OperandRule operands;
  ResultRule result;
};
struct ReduceOpInfo {
  ReduceOp op;
  const char* name;
  Accumulate accumulate;
  OnEmpty empty;
};

// The rows as data, indexed by the enum (kUnaryOps[int(UnaryOp::Exp)].name == "exp").
inline constexpr UnaryOpInfo kUnaryOps[] = {
#define CAKE_OP_INFO(op, name, operands, result, params) \
  {UnaryOp::op, name, OperandRule::operands, ResultRule::result, params},
    CAKE_UNARY_OPS(CAKE_OP_INFO)
#undef CAKE_OP_INFO
};
inline constexpr BinaryOpInfo kBinaryOps[] = {
#define CAKE_OP_INFO(op, name, operands, result) {BinaryOp::op, name, OperandRule::operands, ResultRule::result},
    CAKE_BINARY_OPS(CAKE_OP_INFO)
#undef CAKE_OP_INFO
};
inline constexpr ReduceOpInfo kReduceOps[] = {
#define CAKE_OP_INFO(op, name, accumulate, empty) {ReduceOp::op, name, Accumulate::accumulate, OnEmpty::empty},
    CAKE_REDUCE_OPS(CAKE_OP_INFO)
#undef CAKE_OP_INFO
};

// Count check: one row per enumerator, each at its enumerator's index.
#define CAKE_OP_COUNT(...) +1
inline constexpr std::size_t kNumUnaryOps = 0 CAKE_UNARY_OPS(CAKE_OP_COUNT);
inline constexpr std::size_t kNumBinaryOps = 0 CAKE_BINARY_OPS(CAKE_OP_COUNT);
inline constexpr std::size_t kNumReduceOps = 0 CAKE_REDUCE_OPS(CAKE_OP_COUNT);
#undef CAKE_OP_COUNT
template <class Info, std::size_t N>
constexpr bool rows_in_enum_order(const Info (&rows)[N]) {
  for (std::size_t i = 0; i < N; ++i)
    if (static_cast<std::size_t>(rows[i].op) != i) return false;
  return true;
}
static_assert(std::size(kUnaryOps) == kNumUnaryOps && rows_in_enum_order(kUnaryOps));
static_assert(std::size(kBinaryOps) == kNumBinaryOps && rows_in_enum_order(kBinaryOps));
static_assert(std::size(kReduceOps) == kNumReduceOps && rows_in_enum_order(kReduceOps));

constexpr const UnaryOpInfo& op_info(UnaryOp op) { return kUnaryOps[static_cast<std::size_t>(op)]; }
constexpr const BinaryOpInfo& op_info(BinaryOp op) { return kBinaryOps[static_cast<std::size_t>(op)]; }
constexpr const ReduceOpInfo& op_info(ReduceOp op) { return kReduceOps[static_cast<std::size_t>(op)]; }

constexpr const char* op_name(UnaryOp op) { return op_info(op).name; }
constexpr const char* op_name(BinaryOp op) { return op_info(op).name; }
constexpr const char* op_name(ReduceOp op) { return op_info(op).name; }
constexpr bool is_comparison(BinaryOp op) { return op_info(op).result == ResultRule::Bool; }  // result dtype bool
constexpr bool needs_floating(UnaryOp op) { return op_info(op).operands == OperandRule::Floating; }

// The parameters of the unary ops that take some (the table's `params` column says how many).
struct UnaryParams {
  double a = 0.0;  // Clamp: min; PowScalar: exponent; LeakyRelu: slope; Elu: alpha; Polygamma: n
  double b = 0.0;  // Clamp: max
};
// The functor of a row with `params` parameters: F{}, F{a} or F{a, b}.
template <class F, int params>
constexpr F make_unary_functor(UnaryParams p) {
  static_assert(params >= 0 && params <= 2, "a unary op takes at most two parameters (UnaryParams a, b)");
  if constexpr (params == 0) return F{};
  else if constexpr (params == 1) return F{p.a};
  else return F{p.a, p.b};
}

}  // namespace cake::native
