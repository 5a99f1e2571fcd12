#!/usr/bin/env bash
# The environment that the ROS 2 wheels in .venv plus our colcon install need, as a sourced
# /opt/ros/<distro>/setup.bash would give on a ROS machine.
#
#   source tools/ros_env.sh            # in an interactive shell
#   tools/ros_env.sh CMD [ARGS...]     # run one command in it (what the Makefile does)
#
# POSENET_ROS_VENV and POSENET_ROS_INSTALL override the venv and the colcon install space
# (defaults: .venv and install at the repo root; `make ROS_DISTRO=jazzy` sets both).
# The venv prefix plays the role of /opt/ros/<distro>: share/, lib/ and include/ live there.

_posenet_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_posenet_venv="${POSENET_ROS_VENV:-$_posenet_repo/.venv}"
_posenet_install="${POSENET_ROS_INSTALL-$_posenet_repo/install}"   # set but empty: none
_posenet_site="$_posenet_venv/lib/python3.11/site-packages"

_posenet_prepend() {  # _posenet_prepend VAR DIR: put DIR first in VAR unless already there
  local var="$1" dir="$2" cur
  cur="${!var:-}"
  case ":$cur:" in *":$dir:"*) ;; *) export "$var=$dir${cur:+:$cur}" ;; esac
}

export VIRTUAL_ENV="$_posenet_venv"
_posenet_prepend PATH "$_posenet_venv/bin"
_posenet_prepend AMENT_PREFIX_PATH "$_posenet_venv"
_posenet_prepend CMAKE_PREFIX_PATH "$_posenet_venv"
# The wheels' shared libraries: the venv's lib/ and the auditwheel-vendored ros_*.libs.
for _posenet_lib in "$_posenet_site"/ros_*.libs; do
  [ -d "$_posenet_lib" ] && _posenet_prepend LD_LIBRARY_PATH "$_posenet_lib"
done
_posenet_prepend LD_LIBRARY_PATH "$_posenet_venv/lib"
# ros-wheels-bootstrapper re-executes every Python start to set LD_LIBRARY_PATH; it is set.
export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1
# The source tree's posenet_ros (in the repo root, the usual current directory) has no
# generated `posenet_ros.msg`: never let the current directory shadow the installed package.
export PYTHONSAFEPATH=1
# Keep DDS discovery on this machine (Jazzy and later; Humble reads ROS_LOCALHOST_ONLY).
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"

# Our package: adds install/ to AMENT_PREFIX_PATH, PYTHONPATH and LD_LIBRARY_PATH. colcon's
# scripts read unset variables, so relax `set -u` around them.
if [ -n "$_posenet_install" ] && [ -f "$_posenet_install/setup.bash" ]; then
  case $- in *u*) _posenet_nounset=1; set +u ;; *) _posenet_nounset= ;; esac
  # shellcheck disable=SC1091
  source "$_posenet_install/setup.bash"
  [ -n "$_posenet_nounset" ] && set -u
fi
unset _posenet_lib _posenet_site _posenet_nounset _posenet_install
unset -f _posenet_prepend

# Executed rather than sourced: run the command given.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  unset _posenet_repo _posenet_venv
  [ $# -gt 0 ] || { echo "usage: source ${0##*/} | ${0##*/} CMD [ARGS...]" >&2; exit 2; }
  exec "$@"
fi
unset _posenet_repo _posenet_venv
