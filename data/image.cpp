// image.cpp: the canvas, the built-in font, image grids and PNG encoding (see image.h).
#include "cake/data/image.h"

#include <algorithm>
#include <cmath>
#include <ostream>

#include "cake/data/file_io.h"
#include "cake/tensor/error.h"

#ifdef CAKE_HAVE_STB
// stb_image_write is a single-header library: this is the one translation unit that compiles
// its implementation, kept static so it cannot clash with another copy in the same program.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wpedantic"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#endif

namespace cake::data::image {

// ---- colours ---------------------------------------------------------------------------------

Color mix(Color a, Color b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto channel = [t](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + t * (static_cast<double>(y) - x)));
  };
  return {channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b)};
}

namespace {
// HSV with h, s, v in [0, 1] to RGB (the usual six-sector formula).
Color from_hsv(double h, double s, double v) {
  const double sector = h * 6.0;
  const int i = static_cast<int>(std::floor(sector)) % 6;
  const double f = sector - std::floor(sector);
  const double p = v * (1 - s), q = v * (1 - s * f), u = v * (1 - s * (1 - f));
  double r = v, g = u, b = p;
  switch (i) {
    case 0: r = v, g = u, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = u; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = u, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
  auto byte = [](double c) { return static_cast<std::uint8_t>(std::lround(255.0 * c)); };
  return {byte(r), byte(g), byte(b)};
}
}  // namespace

Color palette(std::int64_t index) {
  // Tableau 10, with its gray swapped for navy: gray is kept for noise points.
  static constexpr Color kTen[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                     {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {44, 62, 128},
                                     {188, 189, 34},  {23, 190, 207}};
  if (index < 0) return {170, 170, 170};
  if (index < 10) return kTen[index];
  // The golden angle spreads any number of further hues as evenly as possible around the wheel.
  const double hue = std::fmod(0.07 + 0.6180339887498949 * static_cast<double>(index), 1.0);
  return from_hsv(hue, index % 2 ? 0.55 : 0.8, index % 3 ? 0.85 : 0.65);
}

Color sequential(double t) {
  // Five anchors of ColorBrewer's "Blues", interpolated linearly.
  static constexpr Color kAnchors[5] = {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  return mix(kAnchors[i], kAnchors[i + 1], t - i);
}

// ---- the font --------------------------------------------------------------------------------

namespace {
// One glyph per printable ASCII character (32 ' ' to 126 '~'), drawn by hand for Cake: nine
// rows of five bits, the most significant bit the leftmost pixel. Rows 0-6 run from cap height
// to the baseline; rows 7-8 hold descenders.
constexpr std::uint8_t kFont[95][kGlyphRows] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // space
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00, 0x00},  // !
    {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // "
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A, 0x00, 0x00},  // #
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04, 0x00, 0x00},  // $
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00, 0x00},  // %
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D, 0x00, 0x00},  // &
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // '
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00, 0x00},  // (
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00, 0x00},  // )
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00, 0x00, 0x00},  // *
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, 0x00, 0x00},  // +
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x04, 0x08},  // ,
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00},  // -
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00, 0x00},  // .
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00, 0x00},  // /
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00, 0x00},  // 0
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00},  // 2
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00, 0x00},  // 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00, 0x00},  // 4
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00, 0x00},  // 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00, 0x00},  // 6
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00},  // 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00, 0x00},  // 8
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00, 0x00},  // 9
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00, 0x00, 0x00},  // :
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x04, 0x08, 0x00},  // ;
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00, 0x00},  // <
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00},  // =
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00, 0x00},  // >
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00},  // ?
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E, 0x00, 0x00},  // @
    {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00, 0x00},  // A
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, 0x00, 0x00},  // B
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00},  // C
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C, 0x00, 0x00},  // D
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00, 0x00},  // E
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00},  // F
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, 0x00, 0x00},  // G
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00, 0x00},  // H
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // I
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, 0x00, 0x00},  // J
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00, 0x00},  // K
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, 0x00, 0x00},  // L
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00, 0x00},  // M
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00},  // N
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00},  // O
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00},  // P
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, 0x00, 0x00},  // Q
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, 0x00, 0x00},  // R
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, 0x00, 0x00},  // S
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00},  // T
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00},  // U
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00},  // V
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, 0x00, 0x00},  // W
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, 0x00, 0x00},  // X
    {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00},  // Y
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, 0x00, 0x00},  // Z
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E, 0x00, 0x00},  // [
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00, 0x00},  // backslash
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E, 0x00, 0x00},  // ]
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // ^
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0x00},  // _
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // `
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00, 0x00},  // a
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00, 0x00},  // b
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00},  // c
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00, 0x00},  // d
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00, 0x00},  // e
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00, 0x00},  // f
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x11, 0x0E},  // g
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00},  // h
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // i
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},  // j
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00},  // k
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // l
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00, 0x00},  // m
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00},  // n
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00},  // o
    {0x00, 0x00, 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},  // p
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01, 0x01},  // q
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00, 0x00},  // r
    {0x00, 0x00, 0x0F, 0x10, 0x0E, 0x01, 0x1E, 0x00, 0x00},  // s
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00},  // t
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00, 0x00},  // u
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00},  // v
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00, 0x00},  // w
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00, 0x00},  // x
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x11, 0x0E},  // y
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00},  // z
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02, 0x00, 0x00},  // {
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00},  // |
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08, 0x00, 0x00},  // }
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00, 0x00},  // ~
};

const std::uint8_t* glyph(char c) {
  const int code = static_cast<unsigned char>(c);
  return kFont[(code >= 32 && code <= 126 ? code : '?') - 32];
}
}  // namespace

int text_width(std::string_view text, int scale) {
  if (text.empty()) return 0;
  return (static_cast<int>(text.size()) * kCharAdvance - 1) * scale;
}

// ---- the canvas ------------------------------------------------------------------------------

bool canvas_fits(std::int64_t width, std::int64_t height) {
  return width > 0 && height > 0 && width <= kMaxCanvasSide && height <= kMaxCanvasSide &&
         width * height <= kMaxCanvasPixels;
}

Canvas::Canvas(int width, int height, Color background) : width_(width), height_(height) {
  CAKE_CHECK(width > 0 && height > 0, "image::Canvas: size must be positive, got ", width, " x ", height);
  CAKE_CHECK(canvas_fits(width, height), "image::Canvas: ", width, " x ", height, " pixels is larger than a figure may be (sides up to ",
             kMaxCanvasSide, ", ", kMaxCanvasPixels, " pixels in all)");
  pixels_.resize(3 * static_cast<std::size_t>(width) * height);
  for (std::size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
}

Color Canvas::pixel(int x, int y) const {
  CAKE_CHECK(inside(x, y), "image::Canvas::pixel: (", x, ", ", y, ") is outside the ", width_, " x ", height_, " canvas");
  const std::uint8_t* p = pixels_.data() + 3 * (static_cast<std::size_t>(y) * width_ + x);
  return {p[0], p[1], p[2]};
}

void Canvas::set_pixel(int x, int y, Color color) {
  if (!inside(x, y)) return;
  std::uint8_t* p = at(x, y);
  p[0] = color.r, p[1] = color.g, p[2] = color.b;
}

void Canvas::blend_pixel(int x, int y, Color color, double alpha) {
  if (!inside(x, y) || alpha <= 0.0) return;
  set_pixel(x, y, mix(pixel(x, y), color, alpha));
}

void Canvas::fill_rect(int x, int y, int w, int h, Color color) {
  const int x0 = std::max(x, 0), x1 = std::min(x + w, width_);
  const int y0 = std::max(y, 0), y1 = std::min(y + h, height_);
  for (int row = y0; row < y1; ++row)
    for (int col = x0; col < x1; ++col) set_pixel(col, row, color);
}

void Canvas::draw_rect(int x, int y, int w, int h, Color color) {
  if (w <= 0 || h <= 0) return;
  fill_rect(x, y, w, 1, color);
  fill_rect(x, y + h - 1, w, 1, color);
  fill_rect(x, y, 1, h, color);
  fill_rect(x + w - 1, y, 1, h, color);
}

void Canvas::draw_line(double x0, double y0, double x1, double y1, Color color, int thickness) {
  // Walk the longer axis one pixel at a time (a DDA line) and stamp a thickness-wide square.
  const double dx = x1 - x0, dy = y1 - y0;
  const int steps = static_cast<int>(std::ceil(std::max(std::abs(dx), std::abs(dy))));
  const int half = (thickness - 1) / 2;
  for (int i = 0; i <= steps; ++i) {
    const double t = steps == 0 ? 0.0 : static_cast<double>(i) / steps;
    const int x = static_cast<int>(std::lround(x0 + t * dx));
    const int y = static_cast<int>(std::lround(y0 + t * dy));
    if (thickness <= 1) {
      set_pixel(x, y, color);
    } else {
      fill_rect(x - half, y - half, thickness, thickness, color);
    }
  }
}

void Canvas::fill_circle(double cx, double cy, double radius, Color color, double alpha) {
  const int x0 = static_cast<int>(std::floor(cx - radius - 1)), x1 = static_cast<int>(std::ceil(cx + radius + 1));
  const int y0 = static_cast<int>(std::floor(cy - radius - 1)), y1 = static_cast<int>(std::ceil(cy + radius + 1));
  for (int y = std::max(y0, 0); y <= std::min(y1, height_ - 1); ++y) {
    for (int x = std::max(x0, 0); x <= std::min(x1, width_ - 1); ++x) {
      const double distance = std::hypot(x - cx, y - cy);
      const double coverage = std::clamp(radius + 0.5 - distance, 0.0, 1.0);
      if (coverage > 0.0) blend_pixel(x, y, color, coverage * alpha);
    }
  }
}

void Canvas::draw_text(int x, int y, std::string_view text, Color color, int scale) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::uint8_t* rows = glyph(text[i]);
    const int left = x + static_cast<int>(i) * kCharAdvance * scale;
    for (int row = 0; row < kGlyphRows; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (rows[row] & (0x10 >> col)) fill_rect(left + col * scale, y + row * scale, scale, scale, color);
  }
}

void Canvas::draw_text_up(int x, int y, std::string_view text, Color color, int scale) {
  // A glyph pixel at (u, v) of the upright text (u along the line) lands at
  // (x + v, y + length - 1 - u): a quarter turn counter-clockwise.
  const int length = text_width(text, scale);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::uint8_t* rows = glyph(text[i]);
    for (int row = 0; row < kGlyphRows; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (rows[row] & (0x10 >> col)) {
          const int u = (static_cast<int>(i) * kCharAdvance + col) * scale;
          fill_rect(x + row * scale, y + length - u - scale, scale, scale, color);
        }
  }
}

void Canvas::draw_canvas(const Canvas& source, int x, int y) {
  for (int row = 0; row < source.height(); ++row)
    for (int col = 0; col < source.width(); ++col) set_pixel(x + col, y + row, source.pixel(col, row));
}

// ---- image grids -----------------------------------------------------------------------------

Canvas image_grid(const Tensor& images, std::int64_t columns, int padding, int scale, Color background) {
  CAKE_CHECK(images.dim() == 3 || images.dim() == 4,
             "image_grid: expected images [N, C, H, W] or [N, H, W], got shape ", images.sizes());
  CAKE_CHECK(images.is_floating_point(), "image_grid: expected floating-point intensities in [0, 1], got ",
             dtype_name(images.dtype()));
  CAKE_CHECK(columns > 0 && padding >= 0 && scale > 0, "image_grid: columns and scale must be positive, padding >= 0");
  const Tensor nchw = images.dim() == 3 ? images.unsqueeze(1) : images;
  const std::int64_t n = nchw.size(0), channels = nchw.size(1), h = nchw.size(2), w = nchw.size(3);
  CAKE_CHECK(n > 0, "image_grid: no images (shape ", images.sizes(), ")");
  CAKE_CHECK(channels == 1 || channels == 3, "image_grid: expected 1 (gray) or 3 (RGB) channels, got shape ", images.sizes());
  const std::int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  // The size in int64 first, before any copy: H, W, N and scale from a file can overflow int.
  const bool small = w <= kMaxCanvasSide && h <= kMaxCanvasSide && scale <= kMaxCanvasSide && padding <= kMaxCanvasSide &&
                     cols <= kMaxCanvasSide && rows <= kMaxCanvasSide;
  const std::int64_t grid_w = small ? cols * (w * scale + padding) + padding : 0;
  const std::int64_t grid_h = small ? rows * (h * scale + padding) + padding : 0;
  CAKE_CHECK(small && canvas_fits(grid_w, grid_h), "image_grid: ", n, " images of ", h, " x ", w, " in ", cols,
             " columns at scale ", scale, " are larger than a figure may be (sides up to ", kMaxCanvasSide, ", ",
             kMaxCanvasPixels, " pixels in all)");
  const Tensor values = nchw.detach().to(kCPU, kFloat64).contiguous();
  const double* v = values.data_ptr<double>();
  const int cell_w = static_cast<int>(w) * scale, cell_h = static_cast<int>(h) * scale;
  Canvas canvas(static_cast<int>(cols) * (cell_w + padding) + padding,
                static_cast<int>(rows) * (cell_h + padding) + padding, background);
  auto byte = [](double intensity) { return static_cast<std::uint8_t>(std::lround(255.0 * std::clamp(intensity, 0.0, 1.0))); };
  for (std::int64_t i = 0; i < n; ++i) {
    const int left = padding + static_cast<int>(i % cols) * (cell_w + padding);
    const int top = padding + static_cast<int>(i / cols) * (cell_h + padding);
    const double* image = v + i * channels * h * w;
    for (std::int64_t y = 0; y < h; ++y) {
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t p = y * w + x;
        const Color c = channels == 1 ? Color{byte(image[p]), byte(image[p]), byte(image[p])}
                                      : Color{byte(image[p]), byte(image[h * w + p]), byte(image[2 * h * w + p])};
        canvas.fill_rect(left + static_cast<int>(x) * scale, top + static_cast<int>(y) * scale, scale, scale, c);
      }
    }
  }
  return canvas;
}

// ---- PNG -------------------------------------------------------------------------------------

bool png_available() {
#ifdef CAKE_HAVE_STB
  return true;
#else
  return false;
#endif
}

std::vector<std::uint8_t> encode_png(const Canvas& canvas) {
#ifdef CAKE_HAVE_STB
  std::vector<std::uint8_t> bytes;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    const auto* begin = static_cast<const std::uint8_t*>(data);
    out->insert(out->end(), begin, begin + size);
  };
  const int ok = stbi_write_png_to_func(append, &bytes, canvas.width(), canvas.height(), 3, canvas.data(),
                                        3 * canvas.width());
  CAKE_CHECK(ok != 0, "encode_png: stb_image_write failed on a ", canvas.width(), " x ", canvas.height(), " canvas");
  return bytes;
#else
  (void)canvas;
  CAKE_FAIL("encode_png: this Cake was built without stb_image_write (install libstb-dev and reconfigure)");
#endif
}

void write_png(const std::filesystem::path& path, const Canvas& canvas) {
  const std::vector<std::uint8_t> bytes = encode_png(canvas);
  data::write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace cake::data::image
