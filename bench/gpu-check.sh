#!/usr/bin/env bash
# The prepared GPU check, for a Linux x86-64 machine with an NVIDIA GPU, its driver and python3 with
# PyTorch, but no internet and no Node.js. Needs the folder `.gl` made by bench/gpu-check-prepare.sh
# beside the checkout (carried along). Runs in about 4–7 minutes:
#   1. the Vulkan loader from the carried .deb (unpacked into /), the NVIDIA ICD, Node and Dawn;
#   2. `bench` of the real klein 4B shapes on random weights (bench/configs/flux2-klein-4b) at 512²
#      and 1024² with q4 linear weights, f16 and f32 activations, and at 512² in bf16 (f16
#      activations where the adapter has shader-f16): ms per stage, per-kernel GFLOP/s and
#      GB/s beside the roofline of the matching GPU profile (src/gpu/profiles.ts);
#   3. `plan` of the same runs (memory, dispatches, bytes, rooflines);
#   4. bench/torch_step.py: one transformer step in PyTorch bf16 eager at the same shapes (random
#      weights), the baseline;
#   5. bench/gpu-check-report.mjs: one table of all of it.
# Outputs (JSON and the table) go to $OUT (default /tmp/gpu-check).
set -euo pipefail
cd "$(dirname "$0")/.."
GL=.gl
OUT=${OUT:-/tmp/gpu-check}
# a smoke test of the script itself on a small machine:
#   GPU_CHECK_CONFIG=test/golden/model-a GPU_CHECK_SIZES=64 GPU_CHECK_STEPS=1 bash bench/gpu-check.sh
CONFIG=${GPU_CHECK_CONFIG:-bench/configs/flux2-klein-4b}
STEPS=${GPU_CHECK_STEPS:-4}
TIMEOUT=${GPU_CHECK_TIMEOUT:-300}
read -r -a SIZES <<<"${GPU_CHECK_SIZES:-512 1024}"
S0=${SIZES[0]}
mkdir -p "$OUT"
[ -d "$GL/cli" ] || { echo "gpu-check: no $GL/cli; run bench/gpu-check-prepare.sh where the npm registry is reachable and carry $GL" >&2; exit 1; }

# 1. Vulkan loader and driver, Node, Dawn
for f in "$GL"/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; break; fi
  done
fi
echo "gpu-check: Vulkan ICD ${VK_DRIVER_FILES:-(system default)}"
RUN=$(mktemp -d)
xz -dc "$GL/node.xz" > "$RUN/node" && chmod +x "$RUN/node"
mkdir -p "$RUN/node_modules/webgpu/dist/linux-x64"
cp "$GL/webgpu/package.json" "$GL/webgpu/index.js" "$RUN/node_modules/webgpu/"
xz -dc "$GL/webgpu/dist/linux-x64/dawn.node.xz" > "$RUN/node_modules/webgpu/dist/linux-x64/dawn.node"
cp -r "$GL/cli" "$RUN/cli"
cli() { "$RUN/node" "$RUN/cli/run.mjs" "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.csv" || true

# 2–3. bench and plan of the same runs
runs=()
for size in "${SIZES[@]}"; do runs+=("$size q4 f16" "$size q4 f32"); done
runs+=("$S0 bf16 auto")
for r in "${runs[@]}"; do
  read -r size quant precision <<<"$r"
  q=(--precision "$precision"); [ "$quant" = bf16 ] || q+=(--quant "$quant")
  name="$size-$quant-$precision"
  echo "gpu-check: bench ${size}² $quant, $precision activations"
  timeout "$TIMEOUT" "$RUN/node" "$RUN/cli/run.mjs" bench --config "$CONFIG" --size "$size" --steps "$STEPS" "${q[@]}" --json > "$OUT/bench-$name.json" 2> "$OUT/bench-$name.log" || echo "gpu-check: bench $name failed (see $OUT/bench-$name.log)"
  cli plan --config "$CONFIG" --size "$size" --steps "$STEPS" "${q[@]}" --json > "$OUT/plan-$name.json"
done

# 4. the PyTorch baseline: one transformer step, bf16 eager
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  for size in "${SIZES[@]}"; do
    python3 bench/torch_step.py --config "$CONFIG/transformer/config.json" --size "$size" --json > "$OUT/torch-$size.json" || echo "gpu-check: torch ${size}² failed"
  done
else
  echo "gpu-check: no PyTorch with CUDA here; no baseline"
fi

# 5. the table
"$RUN/node" bench/gpu-check-report.mjs "$OUT" | tee "$OUT/report.md"
