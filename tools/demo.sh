#!/usr/bin/env bash
# demo.sh: the flagship demo, run by the README's first command after the build. It clusters
# Fashion-MNIST's 10,000 test images with k-means and says where the figures are:
#
#   cmake --preset release && cmake --build --preset release && tools/demo.sh
#
# It uses the classical suite's `kmeans` (k-means++ and restarts) when this build has it, else
# the plain Lloyd loop `kmeans-lloyd`. Pass another build folder as the first argument
# (default build/release); the run goes to runs/demo-kmeans under the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${1:-build/release}"
cake="$build/tools/cake"
if [[ ! -x "$cake" ]]; then
  echo "demo: $cake not found; build first:  cmake --preset release && cmake --build --preset release" >&2
  exit 1
fi

algorithm=kmeans
if ! "$cake" help kmeans >/dev/null 2>&1; then
  algorithm=kmeans-lloyd
fi

out=runs/demo-kmeans
"$cake" run "$algorithm" --data fashion-mnist:test --set n_clusters=10 --out "$out" --overwrite

echo
echo "figures (open them with any image viewer):"
for figure in "$out"/*.png; do
  echo "  $figure"
done
echo "scores: $out/metrics.json   labels: $out/labels.npy   settings: $out/config.json"
