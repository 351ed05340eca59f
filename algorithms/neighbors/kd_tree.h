// kd_tree.h: a k-d tree (Bentley 1975) for fixed-radius neighbour queries in low dimension.
//
//   cake::neighbors::KDTree<double> tree(points, n, d);     // points: [n, d] row-major
//   tree.for_each_within(query, 0.25 * 0.25, [&](std::int64_t j) { neighbours.push_back(j); });
//
// Each node owns a contiguous range of a permutation of the points and their tight bounding
// box; a node is split at the median of its widest coordinate until it holds at most
// `leaf_size` points. A query walks the tree with an explicit stack (no recursion), skips nodes
// whose box lies farther than the radius and takes whole nodes whose box lies inside it
// without computing a single distance. Pays off up to about eight dimensions; beyond that the
// boxes stop pruning and a blocked GEMM over all pairs is faster (see DBSCAN).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace cake::neighbors {

template <class T>
class KDTree {
 public:
  using index_t = std::int64_t;

  KDTree(const T* points, index_t n, index_t d, index_t leaf_size = 32)
      : n_(n), d_(d), leaf_size_(std::max<index_t>(1, leaf_size)), order_(n) {
    std::iota(order_.begin(), order_.end(), index_t{0});
    if (n > 0) build(points);
  }

  index_t size() const { return n_; }

  // Calls visit(j) for every point j with ||x_j - query||^2 <= radius_sq (in no fixed order).
  // visit must not query the tree itself (the traversal stack is per thread).
  template <class Visit>
  void for_each_within(const T* query, T radius_sq, Visit&& visit) const {
    walk(
        query, radius_sq,
        [&](index_t begin, index_t end) {
          for (index_t p = begin; p < end; ++p) visit(order_[p]);
        },
        [&](index_t p) { visit(order_[p]); });
  }

  // How many points lie within the radius: |{j : ||x_j - query||^2 <= radius_sq}|. A box wholly
  // inside the ball counts its points without looking at them.
  index_t count_within(const T* query, T radius_sq) const {
    index_t count = 0;
    walk(query, radius_sq, [&](index_t begin, index_t end) { count += end - begin; }, [&](index_t) { ++count; });
    return count;
  }

  // The point ids in leaf order: neighbouring ids in this list are neighbours in space, so
  // queries issued in this order reuse the same nodes from cache.
  const std::vector<index_t>& leaf_order() const { return order_; }

 private:
  // The traversal: take_range(begin, end) for the leaf-order positions of a node whose box lies
  // inside the ball, take_point(p) for each point of a straddling leaf that lies inside.
  template <class TakeRange, class TakePoint>
  void walk(const T* query, T radius_sq, TakeRange&& take_range, TakePoint&& take_point) const {
    if (n_ == 0) return;
    std::vector<index_t>& stack = stack_buffer();
    stack.clear();
    stack.push_back(0);
    while (!stack.empty()) {
      const Node& node = nodes_[stack.back()];
      const T* lo = &box_lo_[static_cast<std::size_t>(stack.back() * d_)];
      const T* hi = &box_hi_[static_cast<std::size_t>(stack.back() * d_)];
      stack.pop_back();
      T near = 0, far = 0;  // squared distance from the query to the box's nearest and farthest point
      for (index_t k = 0; k < d_; ++k) {
        const T below = lo[k] - query[k], above = query[k] - hi[k];
        const T gap = std::max({below, above, T(0)});
        const T reach = std::max(query[k] - lo[k], hi[k] - query[k]);
        near += gap * gap;
        far += reach * reach;
      }
      if (near > radius_sq) continue;
      if (far <= radius_sq) {  // the whole box is inside the ball
        take_range(node.begin, node.end);
        continue;
      }
      if (node.left < 0) {
        for (index_t p = node.begin; p < node.end; ++p) {
          const T* x = &points_[static_cast<std::size_t>(p * d_)];
          T s = 0;
          for (index_t k = 0; k < d_; ++k) {
            const T diff = x[k] - query[k];
            s += diff * diff;
          }
          if (s <= radius_sq) take_point(p);
        }
        continue;
      }
      stack.push_back(node.left);
      stack.push_back(node.right);
    }
  }

  struct Node {
    index_t begin, end;
    index_t left = -1, right = -1;
  };

  void build(const T* points) {
    struct Pending {
      index_t node;
    };
    nodes_.push_back({0, n_});
    std::vector<Pending> pending{{0}};
    std::vector<T> lo(static_cast<std::size_t>(d_)), hi(static_cast<std::size_t>(d_));
    while (!pending.empty()) {
      const index_t id = pending.back().node;
      pending.pop_back();
      const index_t begin = nodes_[id].begin, end = nodes_[id].end;
      // The tight bounding box of the node's points.
      for (index_t k = 0; k < d_; ++k) lo[k] = hi[k] = points[order_[begin] * d_ + k];
      for (index_t p = begin + 1; p < end; ++p)
        for (index_t k = 0; k < d_; ++k) {
          const T v = points[order_[p] * d_ + k];
          lo[k] = std::min(lo[k], v);
          hi[k] = std::max(hi[k], v);
        }
      if (static_cast<index_t>(box_lo_.size()) < (id + 1) * d_) {
        box_lo_.resize(static_cast<std::size_t>((id + 1) * d_));
        box_hi_.resize(static_cast<std::size_t>((id + 1) * d_));
      }
      std::copy(lo.begin(), lo.end(), box_lo_.begin() + id * d_);
      std::copy(hi.begin(), hi.end(), box_hi_.begin() + id * d_);
      if (end - begin <= leaf_size_) continue;
      index_t axis = 0;
      for (index_t k = 1; k < d_; ++k)
        if (hi[k] - lo[k] > hi[axis] - lo[axis]) axis = k;
      if (hi[axis] == lo[axis]) continue;  // all points equal: nothing to split
      const index_t mid = begin + (end - begin) / 2;
      std::nth_element(order_.begin() + begin, order_.begin() + mid, order_.begin() + end,
                       [&](index_t a, index_t b) { return points[a * d_ + axis] < points[b * d_ + axis]; });
      const index_t left = static_cast<index_t>(nodes_.size());
      nodes_.push_back({begin, mid});
      nodes_.push_back({mid, end});
      nodes_[id].left = left;
      nodes_[id].right = left + 1;
      pending.push_back({left});
      pending.push_back({left + 1});
    }
    // The points in leaf order, so that a leaf's coordinates are one contiguous block.
    points_.resize(static_cast<std::size_t>(n_ * d_));
    for (index_t p = 0; p < n_; ++p) std::copy(points + order_[p] * d_, points + (order_[p] + 1) * d_, &points_[p * d_]);
  }

  // One traversal stack per thread, reused across queries (no allocation per query).
  static std::vector<index_t>& stack_buffer() {
    thread_local std::vector<index_t> stack;
    return stack;
  }

  index_t n_, d_, leaf_size_;
  std::vector<index_t> order_;  // point ids in leaf order
  std::vector<T> points_;       // coordinates in leaf order
  std::vector<Node> nodes_;
  std::vector<T> box_lo_, box_hi_;  // [n_nodes, d]
};

}  // namespace cake::neighbors

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::neighbors.
namespace cake::algorithms {
using ::cake::neighbors::KDTree;
}  // namespace cake::algorithms
