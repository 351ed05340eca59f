// Tests for data/image.h: the canvas draws the pixels it should, the font draws its glyphs,
// image grids tile images, and PNG files carry the right signature and size.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cake/data/image.h"
#include "helpers.h"

using namespace cake;
using namespace cake::data::image;

namespace {
constexpr Color kRed{255, 0, 0};

int count_pixels(const Canvas& canvas, Color color) {
  int n = 0;
  for (int y = 0; y < canvas.height(); ++y)
    for (int x = 0; x < canvas.width(); ++x) n += canvas.pixel(x, y) == color;
  return n;
}

std::uint32_t big_endian(const std::vector<std::uint8_t>& bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) | (std::uint32_t{bytes[at + 2]} << 8) |
         std::uint32_t{bytes[at + 3]};
}
}  // namespace

TEST_CASE("a new canvas is filled with its background") {
  Canvas canvas(7, 5, kRed);
  CHECK(canvas.width() == 7);
  CHECK(canvas.height() == 5);
  CHECK(count_pixels(canvas, kRed) == 35);
  CHECK_THROWS_AS(Canvas(0, 5), cake::Error);
  CHECK_THROWS_AS(canvas.pixel(7, 0), cake::Error);
}

TEST_CASE("drawing outside the canvas is clipped") {
  Canvas canvas(4, 4);
  canvas.set_pixel(-1, 0, kRed);
  canvas.set_pixel(4, 4, kRed);
  canvas.fill_rect(-10, -10, 11, 11, kRed);  // only (0, 0) is inside
  CHECK(count_pixels(canvas, kRed) == 1);
  CHECK(canvas.pixel(0, 0) == kRed);
}

TEST_CASE("rectangles: filled and outlined") {
  Canvas canvas(10, 10);
  canvas.fill_rect(2, 3, 4, 2, kRed);
  CHECK(count_pixels(canvas, kRed) == 8);
  CHECK(canvas.pixel(2, 3) == kRed);
  CHECK(canvas.pixel(5, 4) == kRed);
  CHECK(canvas.pixel(6, 4) == kWhite);
  CHECK(canvas.pixel(2, 5) == kWhite);

  Canvas outline(10, 10);
  outline.draw_rect(1, 1, 5, 4, kBlack);
  CHECK(count_pixels(outline, kBlack) == 2 * 5 + 2 * 2);
  CHECK(outline.pixel(3, 2) == kWhite);  // inside stays empty
  CHECK(outline.pixel(5, 4) == kBlack);  // bottom-right corner
}

TEST_CASE("lines cover exactly the pixels between their ends") {
  Canvas canvas(10, 10);
  canvas.draw_line(1, 2, 8, 2, kBlack);  // horizontal: 8 pixels
  CHECK(count_pixels(canvas, kBlack) == 8);
  for (int x = 1; x <= 8; ++x) CHECK(canvas.pixel(x, 2) == kBlack);

  Canvas diagonal(10, 10);
  diagonal.draw_line(0, 0, 9, 9, kBlack);
  CHECK(count_pixels(diagonal, kBlack) == 10);
  for (int i = 0; i < 10; ++i) CHECK(diagonal.pixel(i, i) == kBlack);

  Canvas thick(10, 10);
  thick.draw_line(2, 5, 7, 5, kBlack, 3);  // rows 4, 5, 6; square caps reach columns 1 and 8
  CHECK(count_pixels(thick, kBlack) == 8 * 3);
  CHECK(thick.pixel(4, 4) == kBlack);
  CHECK(thick.pixel(4, 6) == kBlack);
  CHECK(thick.pixel(4, 7) == kWhite);
}

TEST_CASE("a filled circle covers its disc and blends its rim") {
  Canvas canvas(21, 21);
  canvas.fill_circle(10, 10, 5, kBlack);
  CHECK(canvas.pixel(10, 10) == kBlack);
  CHECK(canvas.pixel(14, 10) == kBlack);   // 4 from the centre: fully inside
  CHECK(canvas.pixel(16, 10) == kWhite);   // 6 from the centre: outside
  CHECK(canvas.pixel(10, 16) == kWhite);
  const Color rim = canvas.pixel(15, 10);  // exactly on the radius: half covered
  CHECK(rim.r > 100);
  CHECK(rim.r < 160);
  // Symmetric about the centre.
  for (int d = 0; d <= 7; ++d) {
    CHECK(canvas.pixel(10 + d, 10) == canvas.pixel(10 - d, 10));
    CHECK(canvas.pixel(10, 10 + d) == canvas.pixel(10 - d, 10));
  }
  // Black disc area ~ pi r^2 (the fully covered pixels).
  const int solid = count_pixels(canvas, kBlack);
  CHECK(solid > 60);
  CHECK(solid < 80);
}

TEST_CASE("blending mixes in proportion to alpha") {
  Canvas canvas(1, 1, kWhite);
  canvas.blend_pixel(0, 0, kBlack, 0.25);
  CHECK(canvas.pixel(0, 0) == Color{191, 191, 191});
  CHECK(mix(kBlack, kWhite, 0.5) == Color{128, 128, 128});
}

TEST_CASE("text draws the glyphs of the built-in font") {
  // 'I' is a bar with serifs: .###. / ..#.. x5 / .###.
  Canvas canvas(5, 9);
  canvas.draw_text(0, 0, "I", kBlack);
  for (int x = 0; x < 5; ++x) {
    CHECK((canvas.pixel(x, 0) == kBlack) == (x >= 1 && x <= 3));
    CHECK((canvas.pixel(x, 3) == kBlack) == (x == 2));
    CHECK((canvas.pixel(x, 6) == kBlack) == (x >= 1 && x <= 3));
    CHECK(canvas.pixel(x, 7) == kWhite);  // no descender
  }
  CHECK(count_pixels(canvas, kBlack) == 3 + 5 + 3);

  // 'g' reaches below the baseline; '.' is a 2x2 dot on it.
  Canvas g(5, 9);
  g.draw_text(0, 0, "g", kBlack);
  CHECK(g.pixel(1, 8) == kBlack);

  // Scale 2 doubles every pixel; the advance is 6 pixels a character.
  Canvas big(30, 18);
  big.draw_text(0, 0, "II", kBlack, 2);
  CHECK(count_pixels(big, kBlack) == 2 * 11 * 4);
  CHECK(big.pixel(2, 0) == kBlack);
  CHECK(big.pixel(12 + 2, 0) == kBlack);
  CHECK(text_width("II") == 11);
  CHECK(text_width("II", 2) == 22);
  CHECK(text_width("") == 0);
}

TEST_CASE("text turned upwards is the upright text rotated a quarter counter-clockwise") {
  Canvas upright(17, 9), up(9, 17);
  upright.draw_text(0, 0, "Fg1", kBlack);
  up.draw_text_up(0, 0, "Fg1", kBlack);
  CHECK(count_pixels(upright, kBlack) == count_pixels(up, kBlack));
  for (int v = 0; v < 9; ++v)
    for (int u = 0; u < 17; ++u) CHECK(upright.pixel(u, v) == up.pixel(v, 16 - u));
}

TEST_CASE("palette: distinct categorical colours, gray noise, a monotone sequential map") {
  for (int i = 0; i < 30; ++i)
    for (int j = 0; j < i; ++j) CHECK_FALSE(palette(i) == palette(j));
  CHECK(palette(-1).r == palette(-1).g);
  int previous = 3 * 255 + 1;
  for (int i = 0; i <= 20; ++i) {
    const Color c = sequential(i / 20.0);
    const int brightness = c.r + c.g + c.b;
    CHECK(brightness < previous);  // darker as t grows
    previous = brightness;
  }
}

TEST_CASE("image_grid tiles images row by row with padding") {
  // Two 2x3 gray images: the first all black, the second a ramp 0..1.
  Tensor images = zeros({2, 1, 2, 3});
  images[1].copy_(tensor({0.0, 0.2, 0.4, 0.6, 0.8, 1.0}, {1, 2, 3}));
  const Canvas grid = image_grid(images, 2, /*padding=*/1);
  CHECK(grid.width() == 2 * (3 + 1) + 1);
  CHECK(grid.height() == 2 + 2);
  CHECK(grid.pixel(0, 0) == kWhite);          // padding
  CHECK(grid.pixel(1, 1) == kBlack);          // first image
  CHECK(grid.pixel(5, 1) == Color{0, 0, 0});  // second image, value 0
  CHECK(grid.pixel(7, 2) == kWhite);          // its last pixel, value 1
  CHECK(grid.pixel(6, 1) == Color{51, 51, 51});

  // Wrapping onto a second row; [N, H, W] and scale.
  const Canvas tall = image_grid(zeros({3, 2, 2}), 2, 0, 2);
  CHECK(tall.width() == 8);
  CHECK(tall.height() == 8);
  CHECK(tall.pixel(5, 5) == kWhite);  // the empty fourth cell

  // RGB.
  Tensor rgb = zeros({1, 3, 1, 1});
  rgb[0][0].fill_(1.0);
  CHECK(image_grid(rgb, 1, 0).pixel(0, 0) == kRed);

  CHECK_THROWS_AS(image_grid(zeros({2, 2, 4, 4}), 2), cake::Error);  // 2 channels
  CHECK_THROWS_AS(image_grid(zeros({4, 4}), 2), cake::Error);
}

TEST_CASE("PNG: signature, IHDR size, and an atomic file") {
  Canvas canvas(37, 19);
  canvas.fill_circle(18, 9, 6, palette(1));
  if (!png_available()) {
    CHECK_THROWS_AS(encode_png(canvas), cake::Error);
    return;
  }
  const std::vector<std::uint8_t> png = encode_png(canvas);
  REQUIRE(png.size() > 33);
  const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  for (int i = 0; i < 8; ++i) CHECK(png[static_cast<std::size_t>(i)] == signature[i]);
  CHECK(big_endian(png, 8) == 13);  // the IHDR chunk comes first and holds 13 bytes
  CHECK(std::string(png.begin() + 12, png.begin() + 16) == "IHDR");
  CHECK(big_endian(png, 16) == 37);  // width
  CHECK(big_endian(png, 20) == 19);  // height
  CHECK(png[24] == 8);               // bits per channel
  CHECK(png[25] == 2);               // colour type: RGB

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cake_test_image_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_png(dir / "circle.png", canvas);
  std::ifstream in(dir / "circle.png", std::ios::binary);
  const std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(file == png);
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);  // no temp left
  std::filesystem::remove_all(dir);
  CHECK_THROWS_AS(write_png(dir / "missing" / "x.png", canvas), cake::Error);
}

TEST_CASE("figures are bounded: a canvas or image grid too large is refused before allocating") {
  using namespace cake::data::image;
  CHECK(canvas_fits(16384, 2048));
  CHECK_FALSE(canvas_fits(16385, 1));
  CHECK_FALSE(canvas_fits(8192, 8192));  // 2^26 pixels
  CHECK_FALSE(canvas_fits(0, 10));
  CHECK(cake::testing::error_message([] { Canvas(20000, 10); }).find("larger than a figure may be") != std::string::npos);
  // One row of 200000 pixels (it took 737 MB before), and a size whose int arithmetic overflows.
  const std::string wide = cake::testing::error_message([] { image_grid(cake::zeros({1, 1, 1, 200000}), 1); });
  CHECK(wide.find("image_grid: 1 images of 1 x 200000") != std::string::npos);
  const std::string overflow =
      cake::testing::error_message([] { image_grid(cake::zeros({2, 1, 1, 1}).expand({2, 1, 70000, 70000}), 2, 2, 1000); });
  CHECK(overflow.find("larger than a figure may be") != std::string::npos);
}
