# Source this file to use the pip-only workspace in a shell:
#   source scripts/env.sh
# It activates the virtualenv, sources the colcon install, and keeps DDS on this machine
# unless you chose otherwise (see docs/deploy.md, "Actor and learner on two machines").
_hilserl_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
source "${HILSERL_VENV:-$_hilserl_root/.venv}/bin/activate"
# shellcheck disable=SC1091
source "$_hilserl_root/install/setup.bash"
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export MUJOCO_GL=${MUJOCO_GL:-egl}
# Large camera frames need Fast DDS's bigger shared-memory profile (config/fastdds_local.xml).
# It keeps UDP on loopback, so not with static peers on other machines (hilserl's
# launchers then pick config/fastdds_lan.xml).
if [ "$ROS_AUTOMATIC_DISCOVERY_RANGE" = LOCALHOST ] && [ -z "${ROS_STATIC_PEERS:-}" ] && [ -z "${FASTDDS_DEFAULT_PROFILES_FILE:-}${FASTRTPS_DEFAULT_PROFILES_FILE:-}" ]; then
  export FASTDDS_DEFAULT_PROFILES_FILE="$_hilserl_root/config/fastdds_local.xml"
fi
unset _hilserl_root
