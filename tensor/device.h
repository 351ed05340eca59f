// device.h: where a tensor's memory lives.
//
//   cake::Device d = cake::Device::cuda(0);   std::cout << d;   // cuda:0
//   cake::Device e("cuda:1");   x.to(cake::kCUDA);   x.to(cake::Device("cpu"));   // libtorch's spellings
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace cake {

enum class DeviceType : std::uint8_t { CPU, CUDA };
inline constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType type, int index = 0) : type(type), index(index) {}  // NOLINT: as libtorch
  // "cpu", "cuda", "cuda:1" (see parse_device). Explicit, so a string never converts silently.
  explicit Device(const std::string& text);
  explicit Device(const char* text) : Device(std::string(text)) {}

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  constexpr bool is_cpu() const { return type == DeviceType::CPU; }
  constexpr bool is_cuda() const { return type == DeviceType::CUDA; }
  friend constexpr bool operator==(Device, Device) = default;
};

inline constexpr Device kCPU = Device::cpu();
inline constexpr Device kCUDA = Device::cuda(0);

std::string to_string(Device d);  // "cpu", "cuda:0"
std::ostream& operator<<(std::ostream& out, Device d);
// Parses "cpu", "cuda", "cuda:1"; throws cake::Error otherwise.
Device parse_device(const std::string& text);

}  // namespace cake
