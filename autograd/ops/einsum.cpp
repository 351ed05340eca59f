// autograd/ops/einsum.cpp: Einstein summation (autograd/einsum.h), composed of differentiable
// ops, so it has no backward of its own.
//
// The work is bookkeeping on "dim ids". Every dim of the problem gets one: the dims covered by
// "..." are ids 0 .. E-1 (E = the most dims any operand's "..." covers; an operand covering
// fewer takes the last ones, as broadcasting aligns shapes at the right), and label L is id
// E + L. The steps:
//  1. parse the equation into each operand's labels and the output's;
//  2. analyse, from the shapes alone: give each operand's dims their ids, check the sizes of
//     each id across operands, and work out the ids each operand brings to the products (each
//     once; less a size-1 dim that broadcasts against a larger size elsewhere, and less an id
//     that no other operand and not the output names);
//  3. prepare each operand to bring just those ids: the diagonal of an id repeated in it
//     (permute the repeated dims last, flatten them, slice with a step that walks the diagonal),
//     a squeeze of the dropped size-1 dims, one sum over the other dropped dims;
//  4. choose the order of the pairwise products: the caller's path, or else the greedy order
//     where it needs fewer multiply-adds than left to right;
//  5. contract pair by pair in that order, each pair as one batched GEMM, with the shared ids
//     that are still needed as the batch and the other shared ids as the contracted dim;
//  6. permute the result into the output's order.
// einsum_path runs steps 1, 2 and 4 only: it needs the shapes, not the tensors.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "cake/autograd/einsum.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/error.h"

namespace cake {

namespace {

constexpr int kLetters = 52;
constexpr int kEllipsis = -1;  // where "..." stands in a list of labels

// A label's number: A-Z are 0-25 and a-z 26-51, so that sorting numbers sorts the letters as
// PyTorch's implicit output does (uppercase first).
int label_number(char c) { return std::isupper(static_cast<unsigned char>(c)) ? c - 'A' : c - 'a' + 26; }
char label_letter(int number) { return static_cast<char>(number < 26 ? 'A' + number : 'a' + (number - 26)); }
bool is_label(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ---- 1. the equation ---------------------------------------------------------------------------

// One side of the equation, parsed: the labels of each operand (or of the output), with
// kEllipsis where "..." was written, and the text it came from (for error messages).
struct Subscripts {
  std::vector<int> labels;
  bool has_ellipsis = false;
  std::string text;
};

struct Equation {
  std::string original;  // as the caller wrote it, for error messages
  std::vector<Subscripts> inputs;
  Subscripts output;
  bool explicit_output = false;

  // Every error message starts with the equation it is about.
  template <class... Args>
  [[noreturn]] void fail(const Args&... args) const {
    CAKE_FAIL("einsum(\"", original, "\"): ", args...);
  }
};

// One operand's (or the output's) subscripts, `text` already free of spaces. `what` names it in
// error messages ("operand 1", "the output").
Subscripts parse_subscripts(const Equation& eq, const std::string& text, const std::string& what) {
  Subscripts s;
  s.text = text;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_label(c)) {
      s.labels.push_back(label_number(c));
    } else if (c == '.') {
      if (text.compare(i, 3, "...") != 0) eq.fail("a '.' in the subscripts of ", what, " that is not part of \"...\"");
      if (s.has_ellipsis) eq.fail("\"...\" appears twice in the subscripts of ", what);
      s.has_ellipsis = true;
      s.labels.push_back(kEllipsis);
      i += 2;
    } else if (c == ',' && what == "the output") {
      eq.fail("',' in the output subscripts (einsum has one output)");
    } else {
      eq.fail("bad character '", c, "' in the subscripts of ", what, " (labels are the letters a-z and A-Z)");
    }
  }
  return s;
}

Equation parse(std::string_view equation, std::size_t n_operands) {
  Equation eq;
  eq.original = std::string(equation);
  std::string text;  // the equation without its whitespace
  for (const char c : equation)
    if (!std::isspace(static_cast<unsigned char>(c))) text.push_back(c);
  if (n_operands == 0) eq.fail("no operands given");

  const std::size_t arrow = text.find("->");
  if (arrow != std::string::npos && text.find("->", arrow + 2) != std::string::npos) eq.fail("\"->\" appears twice");
  eq.explicit_output = arrow != std::string::npos;
  const std::string lhs = text.substr(0, arrow);

  std::vector<std::string> terms(1);
  for (const char c : lhs) {
    if (c == ',')
      terms.emplace_back();
    else
      terms.back().push_back(c);
  }
  if (terms.size() != n_operands)
    eq.fail("the equation has subscripts for ", terms.size(), terms.size() == 1 ? " operand" : " operands", " but ",
            n_operands, n_operands == 1 ? " operand was" : " operands were", " given");
  for (std::size_t i = 0; i < terms.size(); ++i)
    eq.inputs.push_back(parse_subscripts(eq, terms[i], "operand " + std::to_string(i)));
  if (eq.explicit_output) eq.output = parse_subscripts(eq, text.substr(arrow + 2), "the output");
  return eq;
}

bool contains(const std::vector<int>& ids, int id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

std::vector<int> concat(std::initializer_list<const std::vector<int>*> parts) {
  std::vector<int> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// The letter or "..." an id stands for, for error messages.
std::string describe(int id, int n_ellipsis) {
  return id < n_ellipsis ? std::string("...") : std::string(1, label_letter(id - n_ellipsis));
}

// ---- 2. the problem, from the equation and the shapes ---------------------------------------

// What the equation says about operands of these shapes, before any tensor is touched.
struct Problem {
  std::vector<std::vector<int>> dim_ids;  // the id of each dim of each operand, repeats included
  std::vector<int> output;                // the output's ids, in its order
  std::vector<std::int64_t> size_of;      // each id's size (1 where no operand gives it more)
  std::vector<std::vector<int>> kept;     // the ids each operand brings to the products, once each
};

// The number of dims each operand's "..." covers, checked against the labels it names.
std::vector<std::int64_t> ellipsis_ranks(const Equation& eq, const std::vector<Shape>& shapes) {
  std::vector<std::int64_t> ranks(shapes.size(), 0);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Subscripts& s = eq.inputs[i];
    const auto dims = static_cast<std::int64_t>(shapes[i].size());
    const std::int64_t named = static_cast<std::int64_t>(s.labels.size()) - (s.has_ellipsis ? 1 : 0);
    if (s.has_ellipsis) {
      if (dims < named)
        eq.fail("operand ", i, " has shape ", shapes[i], " (", dims, " dims) but its subscripts \"", s.text,
                "\" name at least ", named);
      ranks[i] = dims - named;
    } else if (dims != named) {
      eq.fail("operand ", i, " has shape ", shapes[i], " (", dims, " dims) but its subscripts \"", s.text, "\" name ",
              named);
    }
  }
  return ranks;
}

// The id of each dim of each operand: "..." covering r dims gives the last r of the E ellipsis
// ids, label L gives E + L.
std::vector<std::vector<int>> dim_ids_of(const Equation& eq, const std::vector<std::int64_t>& ranks, int n_ellipsis) {
  std::vector<std::vector<int>> all(ranks.size());
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    for (const int label : eq.inputs[i].labels) {
      if (label == kEllipsis) {
        for (std::int64_t j = 0; j < ranks[i]; ++j) all[i].push_back(static_cast<int>(n_ellipsis - ranks[i] + j));
      } else {
        all[i].push_back(n_ellipsis + label);
      }
    }
  }
  return all;
}

// The output's ids: as written after "->", or else the "..." dims then every label that occurs
// exactly once, in alphabetical order.
std::vector<int> output_ids(const Equation& eq, int n_ellipsis) {
  std::vector<int> label_count(kLetters, 0);  // occurrences over all operands, repeats included
  for (const Subscripts& s : eq.inputs)
    for (const int label : s.labels)
      if (label != kEllipsis) ++label_count[label];

  std::vector<int> output;
  if (!eq.explicit_output) {
    for (int e = 0; e < n_ellipsis; ++e) output.push_back(e);
    for (int label = 0; label < kLetters; ++label)
      if (label_count[label] == 1) output.push_back(n_ellipsis + label);
    return output;
  }
  for (const int label : eq.output.labels) {
    if (label == kEllipsis) {
      for (int e = 0; e < n_ellipsis; ++e) output.push_back(e);
      continue;
    }
    if (label_count[label] == 0) eq.fail("output label ", label_letter(label), " does not occur in any operand");
    if (contains(output, n_ellipsis + label)) eq.fail("output label ", label_letter(label), " appears more than once");
    output.push_back(n_ellipsis + label);
  }
  return output;
}

// A label repeated in one operand stands for its diagonal, which needs the repeated dims to have
// one size.
void check_repeated_labels(const Equation& eq, const std::vector<Shape>& shapes,
                           const std::vector<std::vector<int>>& dim_ids, int n_ellipsis) {
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const std::vector<int>& ids = dim_ids[i];
    for (std::size_t d = 0; d < ids.size(); ++d) {
      const auto first = static_cast<std::size_t>(std::find(ids.begin(), ids.end(), ids[d]) - ids.begin());
      if (shapes[i][first] != shapes[i][d])
        eq.fail("label ", describe(ids[d], n_ellipsis), " is repeated in operand ", i, " (shape ", shapes[i],
                ") with different sizes ", shapes[i][first], " and ", shapes[i][d]);
    }
  }
}

// The size of every id, checked across operands: a size-1 dim broadcasts against any size, other
// sizes must agree.
std::vector<std::int64_t> id_sizes(const Equation& eq, const std::vector<Shape>& shapes,
                                   const std::vector<std::vector<int>>& dim_ids, int n_ellipsis) {
  std::vector<std::int64_t> size_of(static_cast<std::size_t>(n_ellipsis + kLetters), 1);
  std::vector<std::size_t> sized_by(size_of.size(), 0);  // the operand that gave an id its size (> 1)
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    for (std::size_t d = 0; d < dim_ids[i].size(); ++d) {
      const auto id = static_cast<std::size_t>(dim_ids[i][d]);
      const std::int64_t s = shapes[i][d];
      if (s == 1 || s == size_of[id]) continue;
      if (size_of[id] == 1) {
        size_of[id] = s;
        sized_by[id] = i;
      } else if (dim_ids[i][d] < n_ellipsis) {
        eq.fail("the dims that \"...\" covers do not broadcast: operand ", sized_by[id], " has shape ",
                shapes[sized_by[id]], " and operand ", i, " has shape ", shapes[i]);
      } else {
        eq.fail("label ", describe(dim_ids[i][d], n_ellipsis), " is ", size_of[id], " in operand ", sized_by[id],
                " and ", s, " in operand ", i, " (shapes ", shapes[sized_by[id]], " and ", shapes[i], ")");
      }
    }
  }
  return size_of;
}

// The ids each operand brings to the products: each once (a repeated id becomes its diagonal),
// less a size-1 dim that faces a larger size elsewhere (the operand is constant along it, and the
// product broadcasts it), less an id that no other operand and not the output names (it is
// summed inside the operand, before any product, which then never has to carry it).
std::vector<std::vector<int>> kept_ids(const std::vector<Shape>& shapes, const std::vector<std::vector<int>>& dim_ids,
                                       const std::vector<std::int64_t>& size_of, const std::vector<int>& output) {
  std::vector<std::vector<int>> kept(shapes.size());
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    for (std::size_t d = 0; d < dim_ids[i].size(); ++d) {
      const int id = dim_ids[i][d];
      const bool broadcast = shapes[i][d] == 1 && size_of[static_cast<std::size_t>(id)] != 1;
      if (!broadcast && !contains(kept[i], id)) kept[i].push_back(id);
    }
  }
  auto named_elsewhere = [&](std::size_t i, int id) {
    if (contains(output, id)) return true;
    for (std::size_t j = 0; j < kept.size(); ++j)
      if (j != i && contains(kept[j], id)) return true;
    return false;
  };
  for (std::size_t i = 0; i < kept.size(); ++i) std::erase_if(kept[i], [&](int id) { return !named_elsewhere(i, id); });
  return kept;
}

Problem analyse(const Equation& eq, const std::vector<Shape>& shapes) {
  const std::vector<std::int64_t> ranks = ellipsis_ranks(eq, shapes);
  const int n_ellipsis = static_cast<int>(ranks.empty() ? 0 : *std::max_element(ranks.begin(), ranks.end()));
  Problem p;
  p.dim_ids = dim_ids_of(eq, ranks, n_ellipsis);
  check_repeated_labels(eq, shapes, p.dim_ids, n_ellipsis);
  p.output = output_ids(eq, n_ellipsis);
  p.size_of = id_sizes(eq, shapes, p.dim_ids, n_ellipsis);
  p.kept = kept_ids(shapes, p.dim_ids, p.size_of, p.output);
  return p;
}

// ---- 3. each operand brought to the ids it keeps ---------------------------------------------

// An operand on its way through the steps: the tensor and the id of each of its dims. While the
// order is planned (step 4) only the ids matter, and the tensor is left undefined.
struct Term {
  Tensor tensor;
  std::vector<int> ids;
};

// The diagonal over the dims of x at `positions` (all of one size n): those dims are permuted
// last and flattened into one of n^k elements, in which element (i, i, ..., i) sits at
// i * (1 + n + ... + n^(k-1)); a slice with that step picks the n of them. The result has the
// other dims in their order, then the diagonal. The flattening copies when the permuted dims
// are not already contiguous; the slice is a view.
Tensor diagonal(const Tensor& x, const std::vector<std::int64_t>& positions) {
  Shape order;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (std::find(positions.begin(), positions.end(), d) == positions.end()) order.push_back(d);
  order.insert(order.end(), positions.begin(), positions.end());
  const Tensor moved = permute(x, order);

  const std::int64_t n = x.size(positions[0]);
  std::int64_t flat = 1, step = 0, power = 1;
  for (std::size_t j = 0; j < positions.size(); ++j) {
    flat *= n;
    step += power;
    power *= n;
  }
  Shape shape(moved.sizes().begin(), moved.sizes().end() - static_cast<std::ptrdiff_t>(positions.size()));
  shape.push_back(flat);
  const std::int64_t last = static_cast<std::int64_t>(shape.size()) - 1;
  return slice(reshape(moved, shape), last, 0, n == 0 ? 0 : (n - 1) * step + 1, step);
}

// The positions of the first id that `ids` names more than once (empty when none is repeated).
std::vector<std::int64_t> first_repeated(const std::vector<int>& ids) {
  for (std::size_t d = 0; d < ids.size(); ++d) {
    std::vector<std::int64_t> positions;
    for (std::size_t e = d; e < ids.size(); ++e)
      if (ids[e] == ids[d]) positions.push_back(static_cast<std::int64_t>(e));
    if (positions.size() > 1) return positions;
  }
  return {};
}

// The sum of t over the ids that are not in `keep`.
Term sum_out(const Term& t, const std::vector<int>& keep) {
  Term out;
  Shape dims;
  for (std::size_t d = 0; d < t.ids.size(); ++d) {
    if (contains(keep, t.ids[d]))
      out.ids.push_back(t.ids[d]);
    else
      dims.push_back(static_cast<std::int64_t>(d));
  }
  out.tensor = dims.empty() ? t.tensor : sum(t.tensor, dims);  // sum over {} would sum everything
  return out;
}

// Operand x, whose dims have the ids `dim_ids`, brought to the ids `kept`: the diagonal of each
// repeated id (one at a time; the diagonal moves last), then a squeeze of every dropped dim of
// size 1 (a view: a sum over one element is that element) and one sum over the other dropped dims.
Term prepare(const Tensor& x, const std::vector<int>& dim_ids, const std::vector<int>& kept) {
  Term t{x, dim_ids};
  for (std::vector<std::int64_t> repeat = first_repeated(t.ids); !repeat.empty(); repeat = first_repeated(t.ids)) {
    const int id = t.ids[static_cast<std::size_t>(repeat[0])];
    t.tensor = diagonal(t.tensor, repeat);
    std::erase(t.ids, id);
    t.ids.push_back(id);
  }
  for (std::int64_t d = static_cast<std::int64_t>(t.ids.size()) - 1; d >= 0; --d) {
    if (!contains(kept, t.ids[static_cast<std::size_t>(d)]) && t.tensor.size(d) == 1) {
      t.tensor = squeeze(t.tensor, d);
      t.ids.erase(t.ids.begin() + d);
    }
  }
  return sum_out(t, kept);
}

// ---- 4. the order of the products ------------------------------------------------------------

// How one pairwise product a * b is laid out as a batched GEMM [batch, M, K] @ [batch, K, N]:
// the ids both sides have and `later` (the output and the operands still waiting) names are the
// batch, the other shared ids are contracted (K), and the ids of one side only are M (a's) or N
// (b's). An id of one side only is always named later: prepare summed away the ids nobody else
// names, and a product keeps every id of its two sides that is still needed, so an id someone
// needs stays in whatever product takes that someone in.
struct PairLayout {
  std::vector<int> batch, contracted, a_kept, b_kept;
  std::vector<int> product_ids() const { return concat({&batch, &a_kept, &b_kept}); }
};

PairLayout pair_layout(const std::vector<int>& a, const std::vector<int>& b, const std::vector<int>& later) {
  PairLayout p;
  for (const int id : a) {
    if (contains(b, id))
      (contains(later, id) ? p.batch : p.contracted).push_back(id);
    else
      p.a_kept.push_back(id);
  }
  for (const int id : b)
    if (!contains(a, id)) p.b_kept.push_back(id);
  return p;
}

// The number of index combinations of `ids`, as a double: the planner sizes products that are
// never formed (the outer product of two large operands), which can pass the range of int64.
double volume(const std::vector<int>& ids, const std::vector<std::int64_t>& size_of) {
  double v = 1;
  for (const int id : ids) v *= static_cast<double>(size_of[static_cast<std::size_t>(id)]);
  return v;
}

// The cost of one product: batch * M * K * N multiply-adds.
double multiply_adds(const PairLayout& p, const std::vector<std::int64_t>& size_of) {
  return volume(concat({&p.batch, &p.contracted, &p.a_kept, &p.b_kept}), size_of);
}

// Takes the operands at positions i and j out of the list and returns them, i's first. Every
// step of a path does this, then appends the product at the end of the list.
std::pair<Term, Term> take_pair(std::vector<Term>& terms, std::int64_t i, std::int64_t j) {
  std::pair<Term, Term> pair{terms[static_cast<std::size_t>(i)], terms[static_cast<std::size_t>(j)]};
  terms.erase(terms.begin() + std::max(i, j));
  terms.erase(terms.begin() + std::min(i, j));
  return pair;
}

// The ids that the output and the operands still waiting name.
std::vector<int> needed_later(const std::vector<Term>& waiting, const std::vector<int>& output) {
  std::vector<int> later = output;
  for (const Term& t : waiting) later.insert(later.end(), t.ids.begin(), t.ids.end());
  return later;
}

// One step of a path planned on ids alone: the pair (i, j) leaves the list, the ids of its
// product join it at the end, and the product's layout is returned.
PairLayout plan_step(std::vector<Term>& terms, std::int64_t i, std::int64_t j, const std::vector<int>& output) {
  const auto [a, b] = take_pair(terms, i, j);
  PairLayout layout = pair_layout(a.ids, b.ids, needed_later(terms, output));
  terms.push_back(Term{Tensor(), layout.product_ids()});
  return layout;
}

// The operands as the planner sees them: the ids they keep, no tensors.
std::vector<Term> planned_terms(const Problem& p) {
  std::vector<Term> terms;
  for (const std::vector<int>& ids : p.kept) terms.push_back(Term{Tensor(), ids});
  return terms;
}

// The multiply-adds of all the products along `path`.
double path_cost(const Problem& p, const IntArrayRef& path) {
  std::vector<Term> terms = planned_terms(p);
  double total = 0;
  for (std::size_t s = 0; s + 1 < path.size(); s += 2)
    total += multiply_adds(plan_step(terms, path[s], path[s + 1], p.output), p.size_of);
  return total;
}

// Left to right as a path: (0, 1); then the product, now last in the list, with the first operand
// still waiting, now first: (n-2, 0), (n-3, 0), ..., (1, 0). The product stays the left factor,
// as before paths existed. A single operand's path is (0).
IntArrayRef left_to_right_path(std::size_t n) {
  if (n == 1) return {0};
  IntArrayRef path{0, 1};
  for (auto last = static_cast<std::int64_t>(n) - 2; last >= 1; --last) {
    path.push_back(last);
    path.push_back(0);
  }
  return path;
}

// The greedy order of opt_einsum (D. G. A. Smith and J. Gray, "opt_einsum - A Python package for
// optimizing contraction order for einsum-like expressions", JOSS 2018): at each step, of all
// the pairs still possible, contract the one whose product frees the most memory, i.e. with the
// smallest size(product) - size(a) - size(b). Among equals Cake takes the pair with fewer
// multiply-adds (so that in "ij,jk,kl->il" with a one-column last matrix, where both (A B) and
// (B C) free one square, B C is formed first), then the first pair in the order (0, 1), (0, 2),
// ..., (1, 2), .... One look ahead, not a search: it can lose to left to right (default_path).
IntArrayRef greedy_path(const Problem& p) {
  std::vector<Term> terms = planned_terms(p);
  if (terms.size() == 1) return {0};
  struct Choice {
    std::int64_t i = 0, j = 0;
    double memory = 0, work = 0;  // size(product) - size(a) - size(b); multiply-adds
    bool better_than(const Choice& other) const {
      return memory < other.memory || (memory == other.memory && work < other.work);
    }
  };
  IntArrayRef path;
  while (terms.size() > 1) {
    std::optional<Choice> best;
    const auto n = static_cast<std::int64_t>(terms.size());
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = i + 1; j < n; ++j) {
        const std::vector<int>& a = terms[static_cast<std::size_t>(i)].ids;
        const std::vector<int>& b = terms[static_cast<std::size_t>(j)].ids;
        std::vector<Term> trial = terms;
        const PairLayout layout = plan_step(trial, i, j, p.output);
        const Choice c{i, j, volume(layout.product_ids(), p.size_of) - volume(a, p.size_of) - volume(b, p.size_of),
                       multiply_adds(layout, p.size_of)};
        if (!best || c.better_than(*best)) best = c;
      }
    }
    path.push_back(best->i);
    path.push_back(best->j);
    plan_step(terms, best->i, best->j, p.output);
  }
  return path;
}

// The order einsum takes when the caller gives none: the greedy order where it needs strictly
// fewer multiply-adds than left to right, else left to right, so that an einsum that gains
// nothing from reordering computes exactly what it computed before the planner existed.
IntArrayRef default_path(const Problem& p) {
  const IntArrayRef in_order = left_to_right_path(p.kept.size());
  const IntArrayRef greedy = greedy_path(p);
  return path_cost(p, greedy) < path_cost(p, in_order) ? greedy : in_order;
}

// The caller's path, checked as PyTorch checks it: two positions per product ((n - 1) * 2 in
// all; a single operand takes one, which Cake wants to be 0), each pair two different positions
// of the list as it stands at that step (n - s operands before step s).
void check_path(const Equation& eq, const IntArrayRef& path, std::size_t n) {
  if (n == 1) {
    if (path.size() != 1 || path[0] != 0) eq.fail("the path of a single operand is [0], not ", path);
    return;
  }
  const std::size_t expected = 2 * (n - 1);
  if (path.size() != expected)
    eq.fail("the path has ", path.size(), " entries but ", n, " operands take ", expected,
            " (a pair of positions for each of the ", n - 1, " products)");
  for (std::size_t s = 0; s + 1 < n; ++s) {
    const std::int64_t i = path[2 * s], j = path[2 * s + 1];
    const auto waiting = static_cast<std::int64_t>(n - s);
    if (i == j) eq.fail("pair ", s, " of the path, (", i, ", ", j, "), names position ", i, " twice");
    for (const std::int64_t k : {i, j})
      if (k < 0 || k >= waiting)
        eq.fail("pair ", s, " of the path, (", i, ", ", j, "), names position ", k, " but ", waiting,
                " operands are waiting at that step (positions 0 to ", waiting - 1,
                "; each product removes its two operands and is appended at the end)");
  }
}

// ---- 5. the products --------------------------------------------------------------------------

std::int64_t numel(const std::vector<int>& ids, const std::vector<std::int64_t>& size_of) {
  std::int64_t n = 1;
  for (const int id : ids) n *= size_of[static_cast<std::size_t>(id)];
  return n;
}

// t permuted so that its dims come in the order of the ids `order` (a view).
Tensor arranged(const Term& t, const std::vector<int>& order) {
  Shape perm;
  for (const int id : order) perm.push_back(std::find(t.ids.begin(), t.ids.end(), id) - t.ids.begin());
  return permute(t.tensor, perm);
}

// Whether t's dims already come in the order of the ids `order`.
bool in_order(const Term& t, const std::vector<int>& order) { return t.ids == order; }

// The product of a and b laid out as `p`: one batched GEMM [batch, M, K] @ [batch, K, N]. Each
// side is laid out in whichever of its two GEMM layouts (K last, or K first and a transposed
// view) matches its current order, so that an operand already in place is not copied.
Term contract(const Term& a, const Term& b, const PairLayout& p, const std::vector<std::int64_t>& size_of) {
  const std::int64_t nb = numel(p.batch, size_of), m = numel(p.a_kept, size_of), k = numel(p.contracted, size_of),
                     n = numel(p.b_kept, size_of);

  Tensor left;  // [nb, m, k]
  const std::vector<int> a_k_last = concat({&p.batch, &p.a_kept, &p.contracted});
  const std::vector<int> a_k_first = concat({&p.batch, &p.contracted, &p.a_kept});
  if (in_order(a, a_k_first) && !in_order(a, a_k_last))
    left = transpose(reshape(arranged(a, a_k_first), {nb, k, m}), 1, 2);
  else
    left = reshape(arranged(a, a_k_last), {nb, m, k});
  Tensor right;  // [nb, k, n]
  const std::vector<int> b_k_first = concat({&p.batch, &p.contracted, &p.b_kept});
  const std::vector<int> b_k_last = concat({&p.batch, &p.b_kept, &p.contracted});
  if (in_order(b, b_k_last) && !in_order(b, b_k_first))
    right = transpose(reshape(arranged(b, b_k_last), {nb, n, k}), 1, 2);
  else
    right = reshape(arranged(b, b_k_first), {nb, k, n});

  Term out;
  out.ids = p.product_ids();
  Shape out_sizes;
  for (const int id : out.ids) out_sizes.push_back(size_of[static_cast<std::size_t>(id)]);
  out.tensor = reshape(matmul(left, right), out_sizes);
  return out;
}

// The operands contracted pair by pair along `path` (checked, or planned here): the first of a
// pair is the left factor of its product, which joins the end of the list.
Term contract_along(std::vector<Term> terms, const IntArrayRef& path, const Problem& p) {
  for (std::size_t s = 0; s + 1 < path.size(); s += 2) {
    const auto [a, b] = take_pair(terms, path[s], path[s + 1]);
    terms.push_back(contract(a, b, pair_layout(a.ids, b.ids, needed_later(terms, p.output)), p.size_of));
  }
  return terms.front();
}

void check_same_dtype_and_device(const Equation& eq, std::span<const Tensor> operands) {
  for (std::size_t i = 1; i < operands.size(); ++i) {
    const Tensor& x = operands[i];
    if (x.dtype() != operands[0].dtype() || x.device() != operands[0].device())
      eq.fail("operand ", i, " is ", x.dtype(), " on ", x.device(), " but operand 0 is ", operands[0].dtype(), " on ",
              operands[0].device(), " (einsum does not convert)");
  }
}

}  // namespace

Tensor einsum(std::string_view equation, std::span<const Tensor> operands, const std::optional<IntArrayRef>& path) {
  const Equation eq = parse(equation, operands.size());
  check_same_dtype_and_device(eq, operands);
  if (path) check_path(eq, *path, operands.size());
  std::vector<Shape> shapes;
  for (const Tensor& x : operands) shapes.push_back(x.sizes());
  const Problem p = analyse(eq, shapes);

  std::vector<Term> terms;
  for (std::size_t i = 0; i < operands.size(); ++i) terms.push_back(prepare(operands[i], p.dim_ids[i], p.kept[i]));
  const Term result = contract_along(std::move(terms), path ? *path : default_path(p), p);
  // Every output id is left (its size came from an operand that keeps it), and no other.
  return arranged(result, p.output);
}

EinsumPath einsum_path(std::string_view equation, const std::vector<Shape>& shapes,
                       const std::optional<IntArrayRef>& path) {
  const Equation eq = parse(equation, shapes.size());
  if (path) check_path(eq, *path, shapes.size());
  const Problem p = analyse(eq, shapes);
  EinsumPath out;
  out.path = path ? *path : default_path(p);
  out.multiply_adds = path_cost(p, out.path);
  return out;
}

}  // namespace cake
