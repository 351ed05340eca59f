#!/usr/bin/env bash
# The flagship demo, run by the README's first command after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
build/release/examples/hello_tensor
