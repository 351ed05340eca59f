// A program that uses an installed Cake as a user would: find_package(Cake), <cake/...>
// includes, compiled with -Wall -Wextra -Werror and without -fopenmp (no OpenMP pragma or
// <omp.h> reaches it through Cake's headers), beside a header of its own named data/loader.h.
#include <cake/cake.h>
#include <cake/nn/linear.h>
#include <cake/tensor/pairwise.h>

#include <iostream>

#include "data/loader.h"

int main() {
  cake::manual_seed(0);
  auto w = cake::ones({3}).requires_grad_();
  auto loss = (w * 2.0).sum();
  loss.backward();
  // d(sum 2w)/dw = 2 everywhere
  const bool grad_ok = cake::allclose(w.grad(), cake::full({3}, 2.0));
  cake::nn::Linear fc(3, 2);
  const bool layer_ok = fc(cake::ones({4, 3})).sizes() == cake::Shape({4, 2});
  const bool own_header_ok = users_own_loader() == 42;
  const bool ok = grad_ok && layer_ok && own_header_ok;
  std::cout << (ok ? "consumer ok" : "consumer WRONG") << "\n";
  return ok ? 0 : 1;
}
