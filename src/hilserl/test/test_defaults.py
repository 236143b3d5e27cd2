"""Shared defaults live in hilserl.defaults: the nodes read them, the robot file agrees."""

import ast
import glob
import os

from hilserl import defaults
from hilserl.arm.robot_registry import default_joint_names, default_robot, load_robot

NODES = os.path.join(os.path.dirname(defaults.__file__), 'nodes')
# Parameters several nodes declare with the same meaning: their default must not be a
# literal of the node's own.
SHARED = {'fps', 'camera_fps', 'control_time_s', 'teleop_timeout_s', 'reset_timeout_s',
          'arm_joint_names', 'gripper_joint_name', 'control_rate_hz', 'base_frame',
          'arm_node', 'arm_home_parameter', 'task'}
# The same name for another quantity: a real camera's capture rate (30 by default); how
# long the safety filter waits for the arm's reset_to_home before giving up.
OTHER_MEANING = {'camera_publisher.py:fps', 'safety_filter.py:reset_timeout_s'}


def literal_defaults(path):
    """Yield (parameter, line) of declare/param calls giving a SHARED one a literal default."""
    with open(path, encoding='utf-8') as stream:
        tree = ast.parse(stream.read(), path)
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, 'id', '') in
                ('declare', 'param')):
            continue
        args = [a for a in call.args if not (isinstance(a, ast.Name) and a.id == 'self')]
        if (len(args) >= 2 and isinstance(args[0], ast.Constant) and args[0].value in SHARED
                and isinstance(args[1], (ast.Constant, ast.List, ast.Tuple))):
            yield args[0].value, call.lineno


def test_no_node_repeats_a_shared_default():
    found = [f'{os.path.basename(path)}:{line} {name}'
             for path in sorted(glob.glob(os.path.join(NODES, '*.py')))
             for name, line in literal_defaults(path)
             if f'{os.path.basename(path)}:{name}' not in OTHER_MEANING]
    assert found == []


def test_the_checker_finds_a_literal_default(tmp_path):
    node = tmp_path / 'node.py'
    node.write_text("fps = declare(self, 'fps', 10.0, 'Control steps per second.')\n"
                    "ok = declare(self, 'seed', 0, 'Not shared.')\n")
    assert list(literal_defaults(str(node))) == [('fps', 1)]


def test_the_defaults_agree_with_the_default_robot_s_file():
    robot = load_robot(default_robot())
    assert default_joint_names() == (robot.arm.joints, robot.gripper.joint)
    assert set(defaults.CAMERA_NAMES) == set(robot.cameras.names)
    assert defaults.CONTROL_FPS == robot.cameras.fps
    assert defaults.ARM_CONTROL_RATE_HZ == robot.safety.control_rate_hz
