// progress.cpp: progress bars and progress lines (see progress.h).
#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace cake::cli {

std::unique_ptr<Progress> make_progress(bool quiet) {
  if (quiet) return std::make_unique<QuietProgress>();
  if (::isatty(STDERR_FILENO)) return std::make_unique<BarProgress>(std::cerr);
  return std::make_unique<LineProgress>(std::cerr);
}

std::string format_duration(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  const long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char text[32];
  if (h > 0) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", h, m, s);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", m, s);
  }
  return text;
}

namespace {
// Counts as integers ("changed 10000"), everything else with four significant digits.
std::string format_value(double value) {
  char text[32];
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.4g", value);
  }
  return text;
}
}  // namespace

// ---- shared timing ---------------------------------------------------------------------------

void TimedProgress::start(const std::string& phase, std::int64_t total) {
  if (active_) finish();
  phase_ = phase;
  total_ = std::max<std::int64_t>(total, 0);
  step_ = 0;
  values_.clear();
  started_ = std::chrono::steady_clock::now();
  rate_base_step_ = 0;
  rate_base_time_ = started_;
  active_ = true;
}

void TimedProgress::update(std::int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  if (!active_) start("step", 0);
  if (step_ == 0 && step > 1) {
    rate_base_step_ = step;
    rate_base_time_ = std::chrono::steady_clock::now();
  }
  step_ = step;
  values_ = values;
  on_update();
}

void TimedProgress::finish() {
  if (!active_) return;
  on_finish();
  active_ = false;
}

double TimedProgress::seconds_since(std::chrono::steady_clock::time_point then) const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - then).count();
}

std::string TimedProgress::status_text(bool finished) const {
  std::string text = std::to_string(step_);
  if (total_ > 0) {
    text += '/';
    text += std::to_string(total_);
  }
  // The rate so far; slow phases (epochs) read better as seconds per step.
  const double elapsed = seconds_since(started_);
  const double rate_elapsed = seconds_since(rate_base_time_);
  if (step_ > rate_base_step_ && rate_elapsed > 0) {
    const double rate = static_cast<double>(step_ - rate_base_step_) / rate_elapsed;
    char buffer[48];
    if (rate >= 1.0) {
      std::snprintf(buffer, sizeof buffer, "  %.1f it/s", rate);
    } else {
      std::snprintf(buffer, sizeof buffer, "  %.1f s/it", 1.0 / rate);
    }
    text += buffer;
    if (!finished && total_ > step_) {
      text += "  ETA " + format_duration(static_cast<double>(total_ - step_) / rate);
    }
  }
  if (finished && step_ > 0) text += "  took " + format_duration(elapsed);
  for (const auto& [name, value] : values_) text += "  " + name + " " + format_value(value);
  return text;
}

// ---- the terminal bar ------------------------------------------------------------------------

void BarProgress::on_update() {
  // Redrawing costs a write syscall: ten frames a second is smooth enough.
  if (seconds_since(last_draw_) < 0.1 && step_ != total_) return;
  draw();
}

void BarProgress::on_finish() {
  draw(/*finished=*/true);
  out_ << '\n' << std::flush;
}

void BarProgress::draw(bool finished) {
  last_draw_ = std::chrono::steady_clock::now();
  std::string line = "\r" + phase_;
  if (total_ > 0) {
    const double fraction = std::clamp(static_cast<double>(step_) / static_cast<double>(total_), 0.0, 1.0);
    const int filled = static_cast<int>(fraction * bar_width_);
    char percent[8];
    std::snprintf(percent, sizeof percent, " %3d%% ", static_cast<int>(fraction * 100));
    line += percent;
    line += '[';
    line += std::string(static_cast<std::size_t>(filled), '=');
    if (filled < bar_width_) line += '>' + std::string(static_cast<std::size_t>(bar_width_ - filled - 1), ' ');
    line += "] ";
  } else {
    line += ' ';
  }
  line += status_text(finished);
  out_ << line << "\033[K" << std::flush;  // \033[K clears what a longer previous frame left
}

void BarProgress::message(const std::string& text) {
  out_ << "\r\033[K" << text << '\n';
  if (active_) {
    draw();
  } else {
    out_ << std::flush;
  }
}

// ---- plain lines -----------------------------------------------------------------------------

void LineProgress::on_update() {
  // The last step's line is printed by finish(), with the time the phase took.
  const bool first = last_printed_step_ < 0;
  const bool last = total_ > 0 && step_ >= total_;
  if (!last && (first || seconds_since(last_line_) >= min_interval_s_)) print_line(false);
}

void LineProgress::on_finish() {
  if (step_ > 0 && step_ != last_printed_step_) print_line(true);
  last_printed_step_ = -1;
}

void LineProgress::print_line(bool finished) {
  last_line_ = std::chrono::steady_clock::now();
  last_printed_step_ = step_;
  out_ << phase_ << ' ' << status_text(finished) << '\n' << std::flush;
}

void LineProgress::message(const std::string& text) { out_ << text << '\n' << std::flush; }

}  // namespace cake::cli
