"""
Drive the simulated arm from Python: start it, move the TCP a few cm, print the pose.

Starts the sim mode (`hilserl launch sim`: the MuJoCo arm, the safety filter, the image
processor) on a background thread with hilserl.nodes.arm_commander.running_mode, waits
for tcp_pose, then moves the TCP down, sideways and back with an ArmCommander, printing
the pose after each move. Every command goes through the safety filter, as a policy's
do. The nodes' output goes to the --log file.

    python examples/drive_sim_arm.py --distance 0.03
"""

import argparse
import sys

import numpy as np

import rclpy

from hilserl.launching.graph import GraphError
from hilserl.nodes.arm_commander import ArmCommander, ArmCommandError, running_mode


def show(what: str, pose) -> None:
    """Print one pose line: position in cm, orientation as a quaternion."""
    x, y, z = (100 * value for value in pose.position)
    quaternion = ' '.join(f'{value:+.3f}' for value in pose.orientation)
    print(f'{what:<12} tcp x {x:6.1f} y {y:6.1f} z {z:6.1f} cm  (xyzw {quaternion}) '
          f'in {pose.frame_id}', flush=True)


def drive(arm: ArmCommander, distance: float, start_timeout_s: float) -> None:
    """Move down, left, back right and up by ``distance`` m, showing the pose each time."""
    start = arm.wait_for_pose(start_timeout_s)   # the arm may take a while to start
    show('start', start)
    # Goals from the pose shown, so the moves add up even if the arm still settles.
    goal = np.array(start.position, dtype=float)
    for label, offset in (('down', (0, 0, -distance)), ('left', (0, distance, 0)),
                          ('right', (0, -distance, 0)), ('up', (0, 0, distance))):
        goal = goal + offset
        show(label, arm.move_to(goal))


def main(argv=None) -> int:
    """Run the example; 0 when every move arrived, 1 (with the reason) otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     epilog='The arm and its bounds come from the robot file '
                                            '(config/robots/ROBOT.yaml).')
    parser.add_argument('--robot', default='so101', help='a simulated arm (default so101)')
    parser.add_argument('--distance', type=float, default=0.03,
                        help='how far each move goes, in m (default 0.03)')
    parser.add_argument('--start-timeout', type=float, default=180.0,
                        help='seconds to wait for the arm to start (default 180)')
    parser.add_argument('--log', default='drive_sim_arm.log',
                        help="where the nodes' output goes (default drive_sim_arm.log)")
    options = parser.parse_args(argv)
    if not 0 < options.distance <= 0.1:
        parser.error('--distance must be in (0, 0.1] m')
    try:
        with open(options.log, 'w') as log, running_mode('sim', output=log,
                                                         robot=options.robot, task='reach'):
            rclpy.init()
            arm = ArmCommander()
            try:
                drive(arm, options.distance, options.start_timeout)
            finally:
                arm.destroy_node()
                rclpy.try_shutdown()
    except (ArmCommandError, GraphError, OSError) as error:
        print(f'drive_sim_arm: {error} (the nodes said: {options.log})', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
