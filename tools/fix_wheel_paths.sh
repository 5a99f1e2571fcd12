#!/usr/bin/env bash
# The ROS wheels were built in a manylinux container and their CMake exports name that
# machine's Python: /opt/python/cp311-cp311/include/python3.11 and its numpy include dir.
# CMake's generate step fails for any package that uses rosidl's Python generator until these
# paths exist, so link them to this venv's Python headers and numpy.
#
#   tools/fix_wheel_paths.sh VENV_PYTHON
set -euo pipefail

python="${1:?usage: $0 VENV_PYTHON}"
root=/opt/python/cp311-cp311
include="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
numpy_include="$("$python" -c 'import numpy; print(numpy.get_include())')"

if [ ! -f "$include/Python.h" ]; then
  echo "error: no Python headers at $include (Python.h): install them, e.g." >&2
  echo "  apt-get install python3-dev" >&2
  exit 1
fi

link() {  # link TARGET NAME: NAME -> TARGET, replacing a stale link, never a real directory
  local target="$1" name="$2"
  if [ -L "$name" ] && [ "$(readlink "$name")" = "$target" ]; then
    return 0
  fi
  if [ -e "$name" ] && [ ! -L "$name" ]; then
    echo "error: $name exists and is not a symlink; leaving it alone." >&2
    echo "  The ROS wheels' CMake files need it to hold Python 3.11 headers / numpy's include dir." >&2
    exit 1
  fi
  if ! mkdir -p "$(dirname "$name")" 2>/dev/null || ! ln -sfn "$target" "$name" 2>/dev/null; then
    echo "error: cannot create $name -> $target (not writable; run as root, or create it:" >&2
    echo "  sudo mkdir -p $(dirname "$name") && sudo ln -sfn $target $name )" >&2
    exit 1
  fi
  echo "linked $name -> $target"
}

link "$include" "$root/include/python3.11"
link "$numpy_include" "$root/lib/python3.11/site-packages/numpy/_core/include"
