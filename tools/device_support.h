// device_support.h: which `cake run` commands run on `--device cuda`, in one table.
//
// `cake run X --device cuda` moves the data to the GPU and hands it to X. A command built from
// Cake's tensor operations and modules then runs there by itself; one built on raw-pointer CPU
// loops (most of the classical suite) would copy the data back and run on the CPU. Rather than
// let that happen silently, every command is listed here with where it runs, and `cake run`
// (tools/run.cpp) says so before it starts:
//
//   cake run dbscan --device cuda ...
//   cake: dbscan has no CUDA path (density scan over neighbour lists on the CPU); it runs on the CPU
//
// The choice is a warning and a CPU run, not an error, so that one script can pass --device cuda
// to every command; config.json records the device the run really used. A command missing from
// the table is refused with --device cuda (tests/tools/test_cli_device.cpp fails on one), so a
// new command must be classified before it can be run on a GPU.
#pragma once

#include <optional>
#include <string>

namespace cake::cli {

struct DeviceSupport {
  bool cuda = false;  // true: runs on the device given by --device
  std::string note;   // what runs where (CUDA), or why it stays on the CPU
};

// The entry for a registered command name; nullopt for a command nobody has classified.
std::optional<DeviceSupport> device_support(const std::string& command);

// The one-line warning `cake run` prints when `command` stays on the CPU under --device cuda.
std::string cpu_only_warning(const std::string& command, const DeviceSupport& support);

}  // namespace cake::cli
