// progress.h: the three ways a run reports progress (the interface is cli::Progress in
// registry.h).
//
//   std::unique_ptr<Progress> progress = make_progress(/*quiet=*/false);
//   progress->start("iteration", 300);
//   for (int t = 1; t <= 300; ++t) { ...; progress->update(t, {{"inertia", inertia}}); }
//   progress->finish();
//
// On a terminal (stderr is a tty) a bar is redrawn in place at most ten times a second:
//   iteration  37% [==========>                  ] 111/300  52.1 it/s  ETA 0:03  inertia 1.93e+04
// Anywhere else (CI logs, pipes) a plain line is printed for the first step, then at most one
// every two seconds, and always one at finish() for the last step, so logs stay short.
// --quiet prints nothing.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/registry.h"

namespace cake::cli {

// Quiet, bar or lines, as described above.
std::unique_ptr<Progress> make_progress(bool quiet);

// "0:07", "12:34", "1:02:03".
std::string format_duration(double seconds);

// What the bar and the lines share: the phase, timing, rate and ETA.
class TimedProgress : public Progress {
 public:
  void start(const std::string& phase, std::int64_t total) override;
  void update(std::int64_t step, const std::vector<std::pair<std::string, double>>& values = {}) override;
  void finish() override;

 protected:
  // "111/300  52.1 it/s  ETA 0:03  inertia 1.93e+04" for the current state; once finished,
  // "took 0:02" replaces the ETA.
  std::string status_text(bool finished = false) const;
  double seconds_since(std::chrono::steady_clock::time_point then) const;
  virtual void on_update() = 0;   // after each update
  virtual void on_finish() = 0;   // once, at finish()

  std::string phase_;
  std::int64_t total_ = 0;  // 0: unknown
  std::int64_t step_ = 0;
  std::vector<std::pair<std::string, double>> values_;
  std::chrono::steady_clock::time_point started_;
  // The rate and the ETA count from here: the phase's start, or, when the first update already
  // reports a step past 1 (a resumed run, or a caller reporting every few steps), that update.
  // Otherwise a run resumed at epoch 229 of 300 would claim 229 epochs in its first minute.
  std::int64_t rate_base_step_ = 0;
  std::chrono::steady_clock::time_point rate_base_time_;
  bool active_ = false;
};

// A bar redrawn in place with \r, for terminals.
class BarProgress : public TimedProgress {
 public:
  explicit BarProgress(std::ostream& out, int bar_width = 30) : out_(out), bar_width_(bar_width) {}
  void message(const std::string& text) override;

 private:
  void on_update() override;
  void on_finish() override;
  void draw(bool finished = false);
  std::ostream& out_;
  int bar_width_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Plain lines, at most one per `min_interval_s` seconds plus the first and the last.
class LineProgress : public TimedProgress {
 public:
  explicit LineProgress(std::ostream& out, double min_interval_s = 2.0) : out_(out), min_interval_s_(min_interval_s) {}
  void message(const std::string& text) override;

 private:
  void on_update() override;
  void on_finish() override;
  void print_line(bool finished);
  std::ostream& out_;
  double min_interval_s_;
  std::chrono::steady_clock::time_point last_line_{};
  std::int64_t last_printed_step_ = -1;
};

// Prints nothing at all (--quiet).
class QuietProgress : public Progress {
 public:
  void start(const std::string&, std::int64_t) override {}
  void update(std::int64_t, const std::vector<std::pair<std::string, double>>& = {}) override {}
  void finish() override {}
  void message(const std::string&) override {}
};

}  // namespace cake::cli
