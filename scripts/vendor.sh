#!/usr/bin/env bash
# Refreshes third_party/ from Debian's source packages: the same versions, with Debian's patches,
# as the -dev packages scripts/setup.sh installs. Only what the build needs is kept, with each
# project's licence. A build with -DDCGAN_DEPS=bundled (scripts/gpu-check.sh) then needs nothing
# but LibTorch, CMake and a compiler. matio is not here: see third_party/README.md.
#
#   scripts/vendor.sh
#
# Needs Debian's archive (deb-src) and dpkg-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dest="$root/third_party"

# name=source-package=version: bookworm's versions, matching scripts/setup.sh's packages.
packages=(
  cli11=cli11=2.1.2+ds-1
  fmt=fmtlib=9.1.0+ds1-2
  spdlog=spdlog=1:1.10.0+ds-0.4
  yaml-cpp=yaml-cpp=0.7.0+dfsg-8
  zlib=zlib=1:1.2.13.dfsg-1
  googletest=googletest=1.12.1-0.2
  stb=libstb=0.0~git20220908.8b5f1f3+ds-1
)

command -v dpkg-source >/dev/null || { echo "vendor: dpkg-source not found (apt-get install dpkg-dev)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb-src http://deb.debian.org/debian bookworm main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq

# copy SRC_DIR DEST_DIR PATTERN...: copies the files matching each pattern, keeping their paths.
copy() {
  local from=$1 to=$2
  shift 2
  (cd "$from" && for pattern in "$@"; do
     find . -path "./$pattern" -type f -print0
   done) | while IFS= read -r -d '' f; do
    mkdir -p "$to/$(dirname "$f")"
    cp "$from/$f" "$to/$f"
  done
}

for entry in "${packages[@]}"; do
  IFS='=' read -r name source version <<<"$entry"
  echo "vendor: $source $version"
  (cd "$work" && apt-get "${apt_opts[@]}" source -qq "$source=$version" >/dev/null)
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "${source}-*" | head -n 1)
  rm -rf "${dest:?}/$name"
  mkdir -p "$dest/$name"
  case $name in
    cli11) copy "$src" "$dest/$name" 'LICENSE' 'include/CLI/*.hpp' ;;
    fmt) copy "$src" "$dest/$name" 'LICENSE.rst' 'include/fmt/*.h' 'src/format.cc' 'src/os.cc' ;;
    spdlog) copy "$src" "$dest/$name" 'LICENSE' 'include/spdlog/*' 'src/*.cpp' ;;
    yaml-cpp) copy "$src" "$dest/$name" 'LICENSE' 'include/yaml-cpp/*' 'src/*' ;;
    zlib) copy "$src" "$dest/$name" 'LICENSE' '*.[ch]' ;;
    googletest) copy "$src/googletest" "$dest/$name" 'include/gtest/*' 'src/*' &&
                cp "$src/LICENSE" "$dest/$name/" ;;
    stb) copy "$src" "$dest/$name" 'LICENSE' 'stb_image.h' 'stb_image_write.h' ;;
  esac
  echo "$source $version" > "$dest/$name/VERSION"
  rm -rf "$src"
done
# zlib's examples and the platform folders are not part of the library.
find "$dest/zlib" -mindepth 1 -type d -exec rm -rf {} +
rm -f "$dest/zlib/"{example,minigzip}.c
echo "vendor: third_party/ refreshed ($(du -sh "$dest" | cut -f1))"
