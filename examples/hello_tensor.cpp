// hello_tensor: the smallest Cake program. A tensor computation and its gradient.
#include <cake/cake.h>

#include <iostream>

int main() {
  cake::manual_seed(0);
  cake::Tensor x = cake::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}).requires_grad_();
  cake::Tensor y = (x * 2.0 + 1.0).tanh().sum();
  y.backward();
  std::cout << "x =\n" << x << "\n";
  std::cout << "sum(tanh(2x + 1)) = " << y.item<float>() << "\n";
  std::cout << "d/dx =\n" << x.grad() << "\n";
}
