#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages sochdb needs, only those missing (quick when all are there).
#   scripts/deps.sh          build dependencies: compiler, meson, the library's dependencies
#   scripts/deps.sh --ci     also clang + sanitizer runtimes, cmake, node/npm, and the libraries
#                            the benchmarks compare against (hnswlib, FAISS, RocksDB, LevelDB,
#                            LMDB, SQLite) and the Fashion-MNIST dataset
set -euo pipefail

pkgs=(g++ meson ninja-build pkg-config python3
      libxsimd-dev robin-map-dev liblz4-dev libzstd-dev doctest-dev nlohmann-json3-dev libxxhash-dev)
if [[ "${1:-}" == "--ci" ]]; then
  pkgs+=(clang libclang-rt-14-dev cmake git
         libhnswlib-dev libfaiss-dev librocksdb-dev libleveldb-dev liblmdb-dev libsqlite3-dev
         dataset-fashion-mnist)
fi

# node and npm may come from outside Debian (their packages conflict with such installs): take
# Debian's only when the commands are missing.
if [[ "${1:-}" == "--ci" ]] && ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} == 0 )); then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
