#include <cake/cake.h>

#include <iostream>

int main() {
  cake::manual_seed(0);
  auto w = cake::ones({3}).requires_grad_();
  auto loss = (w * 2.0).sum();
  loss.backward();
  // d(sum 2w)/dw = 2 everywhere
  const bool ok = cake::allclose(w.grad(), cake::full({3}, 2.0));
  std::cout << (ok ? "consumer ok" : "consumer WRONG") << "\n";
  return ok ? 0 : 1;
}
