// grad_mode.h: switching gradient recording off, per thread.
//
//   {
//     cake::NoGradGuard no_grad;          // inside: no graph is recorded
//     auto y = model.forward(x);          // inference, or an optimiser's update
//   }
//   cake::AutoGradMode mode(false);       // libtorch's spelling of the same, with a flag
//   cake::InferenceMode guard;            // libtorch's inference guard (here: no grad)
//   bool on = cake::GradMode::is_enabled();
#pragma once

namespace cake {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// RAII: disables recording for its scope, restoring the previous state on exit.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// RAII: enables recording for its scope (e.g. inside a NoGradGuard).
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// RAII: sets recording on or off for its scope, as libtorch's AutoGradMode.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~AutoGradMode() { GradMode::set_enabled(previous_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

// RAII: libtorch's InferenceMode. libtorch also skips version counting for tensors made inside
// it; Cake's version counter costs one integer per storage, so here it is exactly a no-grad
// scope (InferenceMode(false) leaves the mode as it is).
class InferenceMode {
 public:
  explicit InferenceMode(bool enabled = true) : mode_(enabled ? false : GradMode::is_enabled()) {}
  static bool is_enabled() { return !GradMode::is_enabled(); }

 private:
  AutoGradMode mode_;
};

}  // namespace cake
