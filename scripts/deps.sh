#!/usr/bin/env bash
# The single list of perigee's system dependencies (Debian 12 packages).
# Installs what is missing when it can (root, or sudo without a password);
# otherwise prints the apt-get command to run and fails.
set -euo pipefail

BUILD="cmake make gcc pkg-config liblua5.4-dev lua5.4 libopenblas-dev liblapacke-dev zlib1g-dev libreadline-dev"
RUNTIME_LUA="lua-argparse lua-cjson"
TEST="libcmocka-dev lua-busted valgrind"
OPTIONAL="gnuplot-nox dataset-fashion-mnist libopenmpi-dev openmpi-bin" # Open MPI: docs/scaling.md
# peers used only by bench/ and a few cross-checks in tests (never at run time)
PEERS="python3 python3-numpy python3-sklearn python3-deap"

want="$BUILD $RUNTIME_LUA $TEST $OPTIONAL $PEERS"
missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps.sh: all packages present"
  exit 0
fi
echo "deps.sh: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "deps.sh: not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
