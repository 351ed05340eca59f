// autograd/ops/einsum.cpp: Einstein summation (autograd/einsum.h), composed of differentiable
// ops, so it has no backward of its own.
//
// The work is bookkeeping on "dim ids". Every dim of the problem gets one: the dims covered by
// "..." are ids 0 .. E-1 (E = the most dims any operand's "..." covers; an operand covering
// fewer takes the last ones, as broadcasting aligns shapes at the right), and label L is id
// E + L. The steps:
//  1. parse the equation into each operand's labels and the output's;
//  2. give each operand's dims their ids, and take the diagonal of an id repeated in one
//     operand (permute the repeated dims last, flatten them, slice with a step that walks the
//     diagonal), so that each operand names each id at most once;
//  3. check the sizes of each id across operands, and squeeze the size-1 dims that broadcast
//     against a larger size elsewhere (the operand does not depend on that index);
//  4. contract left to right: before each pairwise product, sum out of either side the ids
//     that neither the other side, a later operand nor the output needs; then one batched
//     GEMM, with the shared ids that are still needed as the batch and the other shared ids
//     as the contracted dim;
//  5. permute the result into the output's order.
#include <algorithm>
#include <cctype>
#include <string>

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

// An operand on its way through the steps: the tensor and the id of each of its dims.
struct Term {
  Tensor tensor;
  std::vector<int> ids;
};

bool contains(const std::vector<int>& ids, int id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

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

// The sum of t over the ids that are not in `keep_a` or `keep_b`.
Term sum_out(const Term& t, const std::vector<int>& keep_a, const std::vector<int>& keep_b) {
  Term out;
  Shape dims;
  for (std::size_t d = 0; d < t.ids.size(); ++d) {
    if (contains(keep_a, t.ids[d]) || contains(keep_b, t.ids[d]))
      out.ids.push_back(t.ids[d]);
    else
      dims.push_back(static_cast<std::int64_t>(d));
  }
  out.tensor = dims.empty() ? t.tensor : sum(t.tensor, dims);  // sum over {} would sum everything
  return out;
}

// t permuted so that its dims come in the order of the ids `order` (a view).
Tensor arranged(const Term& t, const std::vector<int>& order) {
  Shape perm;
  for (const int id : order)
    perm.push_back(std::find(t.ids.begin(), t.ids.end(), id) - t.ids.begin());
  return permute(t.tensor, perm);
}

// Whether t's dims already come in the order of the ids `order`.
bool in_order(const Term& t, const std::vector<int>& order) { return t.ids == order; }

std::vector<int> concat(std::initializer_list<const std::vector<int>*> parts) {
  std::vector<int> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// The product of a and b summed over the ids they share that `later` does not name: one
// batched GEMM [batch, M, K] @ [batch, K, N], where batch runs over the shared ids that
// `later` names, M over a's other ids, N over b's and K over the contracted ones. Every id that
// only one side has is in `later` (sum_out removed the rest). Each side is laid out in
// whichever of its two GEMM layouts (K last, or K first and a transposed view) matches its
// current order, so that an operand already in place is not copied.
Term contract(const Term& a, const Term& b, const std::vector<int>& later, const std::vector<std::int64_t>& size_of) {
  std::vector<int> batch, contracted, a_kept, b_kept;
  for (const int id : a.ids) {
    if (contains(b.ids, id))
      (contains(later, id) ? batch : contracted).push_back(id);
    else
      a_kept.push_back(id);
  }
  for (const int id : b.ids)
    if (!contains(a.ids, id)) b_kept.push_back(id);

  auto numel = [&](const std::vector<int>& ids) {
    std::int64_t p = 1;
    for (const int id : ids) p *= size_of[id];
    return p;
  };
  const std::int64_t nb = numel(batch), m = numel(a_kept), k = numel(contracted), n = numel(b_kept);

  Tensor left;  // [nb, m, k]
  const std::vector<int> a_k_last = concat({&batch, &a_kept, &contracted});
  const std::vector<int> a_k_first = concat({&batch, &contracted, &a_kept});
  if (in_order(a, a_k_first) && !in_order(a, a_k_last))
    left = transpose(reshape(arranged(a, a_k_first), {nb, k, m}), 1, 2);
  else
    left = reshape(arranged(a, a_k_last), {nb, m, k});
  Tensor right;  // [nb, k, n]
  const std::vector<int> b_k_first = concat({&batch, &contracted, &b_kept});
  const std::vector<int> b_k_last = concat({&batch, &b_kept, &contracted});
  if (in_order(b, b_k_last) && !in_order(b, b_k_first))
    right = transpose(reshape(arranged(b, b_k_last), {nb, n, k}), 1, 2);
  else
    right = reshape(arranged(b, b_k_first), {nb, k, n});

  Term out;
  out.ids = concat({&batch, &a_kept, &b_kept});
  Shape out_sizes;
  for (const int id : out.ids) out_sizes.push_back(size_of[id]);
  out.tensor = reshape(matmul(left, right), out_sizes);
  return out;
}

// The letter or "..." an id stands for, for error messages.
std::string describe(int id, int n_ellipsis) {
  return id < n_ellipsis ? std::string("...") : std::string(1, label_letter(id - n_ellipsis));
}

}  // namespace

Tensor einsum(std::string_view equation, std::span<const Tensor> operands) {
  // ---- 1. the equation -------------------------------------------------------------------
  const Equation eq = parse(equation, operands.size());
  const std::size_t n_operands = operands.size();

  // ---- 2. ids for every dim -----------------------------------------------------------------
  // The rank each operand's "..." covers, checked against its labels.
  std::vector<std::int64_t> ellipsis_rank(n_operands, 0);
  std::int64_t n_ellipsis = 0;
  for (std::size_t i = 0; i < n_operands; ++i) {
    const Subscripts& s = eq.inputs[i];
    const Tensor& x = operands[i];
    const std::int64_t named = static_cast<std::int64_t>(s.labels.size()) - (s.has_ellipsis ? 1 : 0);
    if (s.has_ellipsis) {
      if (x.dim() < named)
        eq.fail("operand ", i, " has shape ", x.sizes(), " (", x.dim(), " dims) but its subscripts \"", s.text,
                "\" name at least ", named);
      ellipsis_rank[i] = x.dim() - named;
      n_ellipsis = std::max(n_ellipsis, ellipsis_rank[i]);
    } else if (x.dim() != named) {
      eq.fail("operand ", i, " has shape ", x.sizes(), " (", x.dim(), " dims) but its subscripts \"", s.text,
              "\" name ", named);
    }
    if (x.dtype() != operands[0].dtype() || x.device() != operands[0].device())
      eq.fail("operand ", i, " is ", x.dtype(), " on ", x.device(), " but operand 0 is ", operands[0].dtype(), " on ",
              operands[0].device(), " (einsum does not convert)");
  }
  const int ne = static_cast<int>(n_ellipsis);
  const int n_ids = ne + kLetters;

  std::vector<Term> terms(n_operands);
  std::vector<int> label_count(kLetters, 0);  // occurrences over all operands, repeats included
  for (std::size_t i = 0; i < n_operands; ++i) {
    Term& t = terms[i];
    t.tensor = operands[i];
    for (const int label : eq.inputs[i].labels) {
      if (label == kEllipsis) {
        for (std::int64_t j = 0; j < ellipsis_rank[i]; ++j)
          t.ids.push_back(static_cast<int>(n_ellipsis - ellipsis_rank[i] + j));
      } else {
        t.ids.push_back(ne + label);
        ++label_count[label];
      }
    }
    // A repeated id: its diagonal, which moves to the end of the dims. One id at a time, until
    // each id is named once.
    for (;;) {
      std::vector<std::int64_t> positions;
      for (std::size_t d = 0; d < t.ids.size() && positions.size() < 2; ++d) {
        positions.clear();
        for (std::size_t e = d; e < t.ids.size(); ++e)
          if (t.ids[e] == t.ids[d]) positions.push_back(static_cast<std::int64_t>(e));
      }
      if (positions.size() < 2) break;
      const int id = t.ids[static_cast<std::size_t>(positions[0])];
      for (const std::int64_t p : positions)
        if (t.tensor.size(p) != t.tensor.size(positions[0]))
          eq.fail("label ", describe(id, ne), " is repeated in operand ", i, " (shape ", operands[i].sizes(),
                  ") with different sizes ", t.tensor.size(positions[0]), " and ", t.tensor.size(p));
      t.tensor = diagonal(t.tensor, positions);
      std::erase(t.ids, id);
      t.ids.push_back(id);
    }
  }

  // ---- the output's ids -----------------------------------------------------------------
  std::vector<int> output;
  if (eq.explicit_output) {
    for (const int label : eq.output.labels) {
      if (label == kEllipsis) {
        for (int e = 0; e < ne; ++e) output.push_back(e);
        continue;
      }
      if (label_count[label] == 0) eq.fail("output label ", label_letter(label), " does not occur in any operand");
      if (contains(output, ne + label)) eq.fail("output label ", label_letter(label), " appears more than once");
      output.push_back(ne + label);
    }
  } else {
    for (int e = 0; e < ne; ++e) output.push_back(e);
    for (int label = 0; label < kLetters; ++label)
      if (label_count[label] == 1) output.push_back(ne + label);
  }

  // ---- 3. sizes and broadcasting ----------------------------------------------------------
  std::vector<std::int64_t> size_of(n_ids, 1);
  std::vector<std::size_t> sized_by(n_ids, 0);  // the operand that gave an id its size (> 1)
  for (std::size_t i = 0; i < n_operands; ++i) {
    for (std::size_t d = 0; d < terms[i].ids.size(); ++d) {
      const int id = terms[i].ids[d];
      const std::int64_t s = terms[i].tensor.size(static_cast<std::int64_t>(d));
      if (s == 1 || s == size_of[id]) continue;
      if (size_of[id] == 1) {
        size_of[id] = s;
        sized_by[id] = i;
      } else if (id < ne) {
        eq.fail("the dims that \"...\" covers do not broadcast: operand ", sized_by[id], " has shape ",
                operands[sized_by[id]].sizes(), " and operand ", i, " has shape ", operands[i].sizes());
      } else {
        eq.fail("label ", describe(id, ne), " is ", size_of[id], " in operand ", sized_by[id], " and ", s,
                " in operand ", i, " (shapes ", operands[sized_by[id]].sizes(), " and ", operands[i].sizes(), ")");
      }
    }
  }
  // A dim of size 1 facing a larger size elsewhere: the operand is constant along it, so it
  // leaves the operand (the product broadcasts it).
  for (Term& t : terms) {
    for (std::int64_t d = static_cast<std::int64_t>(t.ids.size()) - 1; d >= 0; --d) {
      if (t.tensor.size(d) == 1 && size_of[t.ids[d]] != 1) {
        t.tensor = squeeze(t.tensor, d);
        t.ids.erase(t.ids.begin() + d);
      }
    }
  }

  // ---- 4. contraction, left to right ------------------------------------------------------
  Term result = terms[0];
  if (n_operands == 1) {
    result = sum_out(result, output, {});
  } else {
    for (std::size_t k = 1; k < n_operands; ++k) {
      std::vector<int> later = output;  // the ids still needed after this product
      for (std::size_t j = k + 1; j < n_operands; ++j)
        later.insert(later.end(), terms[j].ids.begin(), terms[j].ids.end());
      const Term right = sum_out(terms[k], result.ids, later);
      result = sum_out(result, right.ids, later);
      result = contract(result, right, later, size_of);
    }
  }

  // ---- 5. the output's order --------------------------------------------------------------
  // Every output id is left (its size came from an operand that keeps it), and no other.
  return arranged(result, output);
}

}  // namespace cake
