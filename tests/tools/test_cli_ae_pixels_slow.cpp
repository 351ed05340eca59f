// The autoencoder pipelines must cluster better than k-means on the raw pixels, on small data
// too (issue: codes that cluster worse than pixels are a defect; see NOTE [ The mean-image
// plateau ] in algorithms/networks/autoencoder.h). ae-kmeans with its defaults (the fully
// connected autoencoder) and with model=conv, against `cake run kmeans`, on the first 2,000
// Fashion-MNIST test images. Slow (the conv network's ten epochs): labelled "slow".
#include <filesystem>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake::testing;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("ae-kmeans (mlp and conv) beats k-means on pixels on 2,000 Fashion-MNIST images") {
  if (!fashion_mnist_installed()) return;
  const std::string data = " --data fashion-mnist:test:2000 --quiet --seed 0";
  const CliResult pixels = cake_cli("run kmeans" + data + " --out pixels");
  REQUIRE_MESSAGE(pixels.code == 0, pixels.err);
  const json baseline = read_json(scratch() / "pixels" / "metrics.json");
  for (const char* model : {"mlp", "conv"}) {
    CAPTURE(model);
    const std::string out = std::string("ae_") + model;
    const CliResult r = cake_cli("run ae-kmeans" + data + " --out " + out + " --set model=" + model + " tsne_samples=0 probe=false");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const json metrics = read_json(scratch() / out / "metrics.json");
    MESSAGE(model << ": nmi " << metrics["nmi"] << " acc " << metrics["acc"] << " (pixels: nmi " << baseline["nmi"] << " acc "
                  << baseline["acc"] << "), loss / mean-image loss " << metrics["loss_vs_mean_image"]);
    CHECK_FALSE(metrics["plateau"].get<bool>());
    CHECK(metrics["nmi"].get<double>() > baseline["nmi"].get<double>());
    CHECK(metrics["acc"].get<double>() > baseline["acc"].get<double>());
  }
}
