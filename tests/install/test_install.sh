#!/usr/bin/env bash
# test_install.sh BUILD_DIR SOURCE_DIR EXTRA_CFLAGS: installs the build into a
# temporary prefix, then builds and runs a consumer through find_package
# (shared and static) and through pkg-config; checks the SONAME and that only
# mc_ symbols are exported.
set -euo pipefail
build=$1 src=$2 extra=${3:-}
prefix=$(mktemp -d) work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libmimecodec.so.*.*.*' -printf '%h\n' | head -1)
soname=$(objdump -p "$libdir"/libmimecodec.so | awk '/SONAME/ {print $2}')
[ "$soname" = libmimecodec.so.0 ] || { echo "bad SONAME '$soname'"; exit 1; }
[ -f "$libdir/libmimecodec.a" ] || { echo "no static library"; exit 1; }
bad=$(nm -D --defined-only "$libdir/libmimecodec.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^mc_[a-z]' || true)
[ -z "$bad" ] || { echo "exported non-API symbols: $bad"; exit 1; }
cmake -S "$src/tests/install/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null
cmake --build "$work/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake/consumer_shared"
"$work/cmake/consumer_static"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc $extra "$src/tests/install/consumer/main.c" $(pkg-config --cflags --libs mimecodec) -o "$work/pc"
LD_LIBRARY_PATH="$libdir" "$work/pc"
echo "install ok"
