#!/usr/bin/env bash
# Mesa 25 lavapipe (Vulkan on the CPU, with shader-f16 and subgroups) for the Node/Dawn GPU tests,
# unpacked into .cache/lavapipe/ beside the system Mesa, which stays untouched (docs/webgpu-ci.md §3).
# Debian 12 bookworm only: bookworm's own lavapipe (Mesa 22.3) is rejected by Dawn, so the driver
# comes from bookworm-backports through a private apt state (the system's apt sources, lists and
# installed packages are not changed). Dependencies the system lacks (e.g. libllvm15 on a bare
# machine) are fetched from bookworm and unpacked beside it; they are then found via LD_LIBRARY_PATH.
#
#   bash scripts/lavapipe.sh              fetch/unpack if needed, print the ICD json's absolute path
#   bash scripts/lavapipe.sh --env        the same, then print the environment as `export` lines
#   bash scripts/lavapipe.sh --run CMD…   the same, then run CMD with VK_ICD_FILENAMES, VK_DRIVER_FILES,
#                                         LD_LIBRARY_PATH (when needed), KLEINBILD_EXPECT_ADAPTER=lavapipe
#                                         and MESA_SHADER_CACHE_DIR=.cache/lavapipe/shader-cache (lavapipe
#                                         compiles each pipeline at its first dispatch: a cold cache costs
#                                         minutes, keep this folder between CI runs)
#
# Idempotent: once a Mesa ≥ 25 lavapipe is unpacked and its libraries resolve, nothing is downloaded.
# Env: KLEINBILD_LAVAPIPE_DIR (default <repo>/.cache/lavapipe), LAVAPIPE_MESA_VERSION (an exact
# Debian version instead of bookworm-backports' current one), LAVAPIPE_MIRROR (Debian mirror URL).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LVP="${KLEINBILD_LAVAPIPE_DIR:-$ROOT/.cache/lavapipe}"
MIN_VERSION=25
DRIVER="$LVP/libvulkan_lvp.so"
ICD="$LVP/lvp_icd.json"
STAMP="$LVP/VERSION"   # written last: the Mesa version that is unpacked and checked
DEPS="$LVP/deps"       # dpkg -x of bookworm packages the system lacks (often empty)

say() { echo "lavapipe: $*" >&2; }
die() { echo "lavapipe: ERROR: $*" >&2; exit 1; }

mode=print
case "${1:-}" in
  '') ;;
  --env) mode=env ;;
  --run) mode=run; shift; [ $# -gt 0 ] || die "--run needs a command" ;;
  -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

command -v dpkg >/dev/null && command -v apt-get >/dev/null || die "needs a Debian system (dpkg, apt-get)"
case "$(dpkg --print-architecture)" in
  amd64) MULTIARCH=x86_64-linux-gnu ;;
  arm64) MULTIARCH=aarch64-linux-gnu ;;
  *) MULTIARCH="$(gcc -print-multiarch 2>/dev/null || true)"
     [ -n "$MULTIARCH" ] || die "unsupported architecture $(dpkg --print-architecture)" ;;
esac
LIBPATH="$DEPS/usr/lib/$MULTIARCH:$DEPS/lib/$MULTIARCH"

# Library search path the driver needs: the unpacked dependencies when there are any.
deps_path() { if [ -d "$DEPS" ] && [ -n "$(ls -A "$DEPS" 2>/dev/null)" ]; then echo "$LIBPATH"; fi; }
# Prints the driver's unresolved libraries (empty when all resolve).
missing_libs() {
  local p; p="$(deps_path)"
  LD_LIBRARY_PATH="${p}${p:+${LD_LIBRARY_PATH:+:}}${LD_LIBRARY_PATH:-}" ldd "$DRIVER" 2>&1 | awk '/not found/ {print $1}' | sort -u | tr '\n' ' '
}
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
write_icd() {
  local api="$1"
  printf '{\n  "file_format_version": "1.0.0",\n  "ICD": { "library_path": "%s", "api_version": "%s" }\n}\n' "$DRIVER" "$api" >"$ICD.tmp"
  mv "$ICD.tmp" "$ICD"
}

# The ready state: driver, ICD pointing at this folder's driver, a version ≥ 25 (or the one asked
# for), every library resolving. Anything else means (re)fetching.
ready() {
  [ -f "$STAMP" ] && [ -f "$DRIVER" ] && [ -f "$ICD" ] || return 1
  local have; have="$(cat "$STAMP")"
  if [ -n "${LAVAPIPE_MESA_VERSION:-}" ]; then [ "$have" = "$LAVAPIPE_MESA_VERSION" ] || return 1
  else dpkg --compare-versions "$have" ge "$MIN_VERSION" || return 1; fi
  grep -qF "\"$DRIVER\"" "$ICD" || write_icd "$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$ICD")" # repo moved
  [ -z "$(missing_libs)" ]
}

fetch() {
  [ -r /etc/os-release ] && . /etc/os-release
  [ "${VERSION_CODENAME:-}" = bookworm ] || die "written for Debian 12 bookworm (this is '${PRETTY_NAME:-unknown}'); get a Mesa ≥ $MIN_VERSION lavapipe for it another way and set VK_ICD_FILENAMES"
  local mirror="${LAVAPIPE_MIRROR:-}"
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3; if (s == "bookworm") { print u; exit } }' /etc/apt/sources.list)"
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"

  # Private apt state: only bookworm + bookworm-backports from the machine's own mirror; nothing
  # under /etc or /var/lib/apt is read for sources or preferences, or written.
  local apt="$LVP/apt"
  mkdir -p "$apt/sources.d" "$apt/lists/partial" "$apt/cache/archives/partial" "$LVP/debs"
  cat >"$apt/sources.d/lavapipe.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/sources.d"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Acquire::Languages=none")
  [ "$(id -u)" -ne 0 ] || APT_OPTS+=(-o "APT::Sandbox::User=root")

  say "apt-get update (private state in $apt, mirror $mirror)"
  apt-get "${APT_OPTS[@]}" -q --error-on=any update >&2 || die "apt-get update failed for $mirror bookworm + bookworm-backports (network? mirror?)"
  local ver="${LAVAPIPE_MESA_VERSION:-}"
  if [ -z "$ver" ]; then
    ver="$(apt-cache "${APT_OPTS[@]}" madison mesa-vulkan-drivers | awk -F' *[|] *' '$3 ~ /bookworm-backports/ {print $2; exit}')"
    [ -n "$ver" ] || die "bookworm-backports lists no mesa-vulkan-drivers"
  fi
  dpkg --compare-versions "$ver" ge "$MIN_VERSION" || die "mesa-vulkan-drivers $ver is older than $MIN_VERSION (Dawn rejects lavapipe 22.3)"

  say "downloading mesa-vulkan-drivers $ver"
  (cd "$LVP/debs" && apt-get "${APT_OPTS[@]}" -q download "mesa-vulkan-drivers=$ver" >&2) \
    || die "could not download mesa-vulkan-drivers=$ver from $mirror (network? version gone from backports? set LAVAPIPE_MESA_VERSION)"
  local deb; deb="$(ls -t "$LVP"/debs/mesa-vulkan-drivers_*.deb | head -1)"
  local scratch="$LVP/scratch"
  rm -rf "$scratch" && mkdir -p "$scratch"
  dpkg -x "$deb" "$scratch"
  local so; so="$(find "$scratch" -name libvulkan_lvp.so -print -quit)"
  [ -n "$so" ] || die "$deb holds no libvulkan_lvp.so"
  local api; api="$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$(find "$scratch" -name lvp_icd.json -print -quit)")"
  rm -f "$STAMP"
  cp "$so" "$DRIVER.tmp" && mv "$DRIVER.tmp" "$DRIVER"
  write_icd "${api:-1.3.0}"
  rm -rf "$scratch"

  # Libraries the system lacks: the dependency closure of the package (apt-cache depends --recurse,
  # candidate = bookworm's version under default pins) minus what dpkg has installed; those packages
  # are unpacked into $DEPS. Installed packages are never replaced, libc/libstdc++/libgcc never unpacked.
  local missing; missing="$(missing_libs)"
  if [ -n "$missing" ]; then
    say "unresolved: $missing— fetching the bookworm packages the system lacks"
    local names; names="$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/[[:space:]]//g' | grep -v '^libvulkan1$' | tr '\n' ' ')"
    local closure pkgs=""
    # shellcheck disable=SC2086
    closure="$(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances $names 2>&1 | grep -v -E '^ |^<' | sort -u)" \
      || die "apt-cache could not list the dependencies of mesa-vulkan-drivers: $closure"
    for pkg in $closure; do
      case "$pkg" in libc6|libgcc-s1|libstdc++6) continue ;; esac
      installed "$pkg" || pkgs="$pkgs $pkg"
    done
    [ -n "$pkgs" ] || die "libraries not found ($missing) but every dependency package is installed"
    say "downloading$pkgs"
    rm -rf "$DEPS" "$LVP/debs/deps" && mkdir -p "$DEPS" "$LVP/debs/deps"
    # shellcheck disable=SC2086
    (cd "$LVP/debs/deps" && apt-get "${APT_OPTS[@]}" -q download $pkgs >&2) || die "could not download$pkgs"
    for d in "$LVP"/debs/deps/*.deb; do dpkg -x "$d" "$DEPS"; done
    missing="$(missing_libs)"
    [ -z "$missing" ] || die "still unresolved after unpacking the dependencies: $missing(ldd $DRIVER)"
  else
    rm -rf "$DEPS"
  fi
  echo "$ver" >"$STAMP"
  rm -rf "$LVP/debs" "$apt/lists" "$apt/cache" # ~30 MB of downloads, not needed once unpacked
  say "mesa-vulkan-drivers $ver unpacked in $LVP"
}

mkdir -p "$LVP"
exec 9>"$LVP/.lock"
flock 9 2>/dev/null || true
ready || fetch
exec 9>&-

case "$mode" in
  print) echo "$ICD" ;;
  env)
    echo "export VK_ICD_FILENAMES='$ICD' VK_DRIVER_FILES='$ICD' MESA_SHADER_CACHE_DIR='$LVP/shader-cache'"
    p="$(deps_path)"; [ -z "$p" ] || echo "export LD_LIBRARY_PATH='$p'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
    ;;
  run)
    export VK_ICD_FILENAMES="$ICD" VK_DRIVER_FILES="$ICD" KLEINBILD_EXPECT_ADAPTER=lavapipe
    export MESA_SHADER_CACHE_DIR="${MESA_SHADER_CACHE_DIR:-$LVP/shader-cache}"
    p="$(deps_path)"; [ -z "$p" ] || export LD_LIBRARY_PATH="$p${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "$(cat "$STAMP") via $ICD${p:+ (LD_LIBRARY_PATH $p)}"
    exec "$@"
    ;;
esac
