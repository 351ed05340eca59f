// image.h: a tiny RGB raster canvas, a built-in bitmap font, image grids and a PNG writer.
//
//   using namespace cake::data::image;
//   Canvas canvas(200, 100);                          // white, 3 bytes a pixel
//   canvas.draw_line(10, 90, 190, 10, kBlack);
//   canvas.fill_circle(100, 50, 4, palette(0));       // the first categorical colour
//   canvas.draw_text(10, 10, "loss", kBlack);
//   write_png("plot.png", canvas);                    // throws when built without stb
//
//   // reconstructions [N, 1, 28, 28] with values in [0, 1], 8 per row:
//   write_png("reconstructions.png", image_grid(images, 8));
//
// This is everything Cake needs to draw its figures (tools/figures.h builds scatter plots,
// curves and heat maps on top of it) without a plotting dependency. Coordinates are pixels,
// x to the right and y down, (0, 0) the top-left corner; anything drawn outside the canvas is
// clipped. PNG encoding goes through stb_image_write (Debian's libstb-dev): when Cake was built
// without it (CAKE_HAVE_STB undefined) png_available() is false and the writers throw.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::data::image {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
  friend constexpr bool operator==(Color, Color) = default;
};

inline constexpr Color kWhite{255, 255, 255};
inline constexpr Color kBlack{0, 0, 0};
inline constexpr Color kGray{128, 128, 128};
inline constexpr Color kLightGray{225, 225, 225};

// Categorical colours for classes and clusters: ten well-separated hues (Tableau 10), then
// further hues spaced by the golden angle. Index -1 (noise) is gray.
Color palette(std::int64_t index);
// A sequential white-to-dark-blue map for heat maps; t is clamped to [0, 1].
Color sequential(double t);
// a + t (b - a), per channel; t in [0, 1].
Color mix(Color a, Color b, double t);

// The built-in 5x7 font: glyphs 5 pixels wide, 7 from cap height to baseline plus 2 rows of
// descenders, one column and one row of spacing. All sizes scale with `scale`.
inline constexpr int kGlyphWidth = 5;
inline constexpr int kCapHeight = 7;
inline constexpr int kGlyphRows = 9;  // with descenders (g, j, p, q, y, comma)
inline constexpr int kCharAdvance = 6;
int text_width(std::string_view text, int scale = 1);
inline int text_height(int scale = 1) { return kCapHeight * scale; }

// The largest canvas: sides up to 16384 pixels and 2^25 pixels (96 MB) in all. A figure is a
// picture to look at; larger requests (a grid of 1 x 200000 "images", a side that would
// overflow int) are refused with a cake::Error rather than allocating gigabytes.
inline constexpr std::int64_t kMaxCanvasSide = 16384;
inline constexpr std::int64_t kMaxCanvasPixels = std::int64_t{1} << 25;
// Whether a width x height canvas is within those limits (both positive).
bool canvas_fits(std::int64_t width, std::int64_t height);

class Canvas {
 public:
  // cake::Error when the size is not positive or exceeds the limits above.
  Canvas(int width, int height, Color background = kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  // The RGB bytes, row by row (3 * width bytes a row), for encoders.
  const std::uint8_t* data() const { return pixels_.data(); }

  // Reads a pixel (inside the canvas, else cake::Error).
  Color pixel(int x, int y) const;
  // Writes a pixel; outside the canvas nothing happens (all drawing clips this way).
  void set_pixel(int x, int y, Color color);
  // Mixes `color` into the pixel with opacity alpha in [0, 1].
  void blend_pixel(int x, int y, Color color, double alpha);

  // The w x h block whose top-left pixel is (x, y).
  void fill_rect(int x, int y, int w, int h, Color color);
  // Its one-pixel outline.
  void draw_rect(int x, int y, int w, int h, Color color);
  // A straight segment between pixel centres, `thickness` pixels wide.
  void draw_line(double x0, double y0, double x1, double y1, Color color, int thickness = 1);
  // A disc with an anti-aliased rim: each pixel is covered by how far its centre lies inside
  // the radius (clamped to one pixel), times alpha.
  void fill_circle(double cx, double cy, double radius, Color color, double alpha = 1.0);
  // Text in the built-in font; (x, y) is the top-left corner of the first capital letter.
  void draw_text(int x, int y, std::string_view text, Color color, int scale = 1);
  // The same text turned a quarter counter-clockwise, reading upwards (y-axis labels);
  // (x, y) is the top-left corner of the rotated block, which is text_height wide.
  void draw_text_up(int x, int y, std::string_view text, Color color, int scale = 1);
  // Copies `source` with its top-left corner at (x, y).
  void draw_canvas(const Canvas& source, int x, int y);

 private:
  bool inside(int x, int y) const { return x >= 0 && y >= 0 && x < width_ && y < height_; }
  std::uint8_t* at(int x, int y) { return pixels_.data() + 3 * (static_cast<std::size_t>(y) * width_ + x); }

  int width_, height_;
  std::vector<std::uint8_t> pixels_;
};

// Tiles images into a grid `columns` wide, `padding` pixels apart, each pixel drawn as a
// scale x scale block. `images` is [N, C, H, W] with C = 1 (gray) or 3 (RGB), or [N, H, W];
// values are read as intensities in [0, 1] (clamped), any floating dtype, any device. The grid
// must fit a canvas (canvas_fits), else cake::Error naming the image and grid sizes.
Canvas image_grid(const Tensor& images, std::int64_t columns, int padding = 2, int scale = 1,
                  Color background = kWhite);

// True when this build can encode PNG files (stb_image_write was found).
bool png_available();
// The PNG file's bytes.
std::vector<std::uint8_t> encode_png(const Canvas& canvas);
// Writes the PNG atomically: to a temporary file beside `path`, then renamed over it, so a
// reader never sees half a file. Errors name the path.
void write_png(const std::filesystem::path& path, const Canvas& canvas);

}  // namespace cake::data::image

// Compatibility: the spelling from before image.h joined cake::data (cake::image::write_png, ...).
// They name the same entities; new code uses cake::data::image.
namespace cake::image {
using ::cake::data::image::Color;
using ::cake::data::image::kWhite;
using ::cake::data::image::kBlack;
using ::cake::data::image::kGray;
using ::cake::data::image::kLightGray;
using ::cake::data::image::palette;
using ::cake::data::image::sequential;
using ::cake::data::image::mix;
using ::cake::data::image::kGlyphWidth;
using ::cake::data::image::kCapHeight;
using ::cake::data::image::kGlyphRows;
using ::cake::data::image::kCharAdvance;
using ::cake::data::image::text_width;
using ::cake::data::image::text_height;
using ::cake::data::image::Canvas;
using ::cake::data::image::image_grid;
using ::cake::data::image::png_available;
using ::cake::data::image::encode_png;
using ::cake::data::image::write_png;
}  // namespace cake::image
