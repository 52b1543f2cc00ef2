#!/usr/bin/env bash
# Everything CI runs, on a fresh Debian 12 machine with Node ≥ 20.19: system packages for
# headless WebGPU (Debian chromium + libvulkan1; see docs/webgpu-ci.md), npm ci when
# needed, then typecheck, file-size budget, the layer rules (.dependency-cruiser.cjs), unit/GPU tests
# (Dawn on SwiftShader, or on the machine's own Vulkan driver if it has one), the GPU kernel and
# golden stage tests again on Mesa 25 lavapipe (the only driver here with shader-f16; fetched from
# bookworm-backports into .cache/lavapipe/ by scripts/lavapipe.sh, system Mesa untouched), and the
# browser e2e last.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "test-all: Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

has_vulkan() { "$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; }
if [ ! -x /usr/bin/chromium ] || ! has_vulkan; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "test-all: installing chromium and libvulkan1 with apt"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium libvulkan1
fi

# npm writes node_modules/.package-lock.json on every install; older than the lockfile = stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi

npm run typecheck
npm run check:size
npm run check:deps
npm test
bash scripts/lavapipe.sh
npm run test:lavapipe
npm run e2e
