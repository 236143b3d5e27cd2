"""
Find the safety filter's workspace box by moving the arm where it may go.

Subscribes ``joint_states`` (any arm on the arm contract: move it by hand
with torque off, e.g. a leader arm's driver on the follower's port remapped to
``joint_states``, or while teleoperating).  Reads the arm's description,
``tcp_frame``, ``tcp_offset``, ``tcp_rpy`` and ``arm_joint_names`` from the
``safety_filter:`` section of ``safety_params_file`` (or from a robot file of
config/robots/, whose ``safety:`` section gets the bounds), logs the running
joint and TCP extremes every ``report_period_s``, and on Ctrl-C (or after
``duration_s``) writes ``end_effector_bounds.min/max`` (the TCP box shrunk
by ``margin``) back into that file, with the joint ranges as a comment; the
rest of the file is kept.  The logic is in :mod:`hilserl.arm.joint_limits`.
"""

import sys

from rclpy.node import Node
from sensor_msgs.msg import JointState

from hilserl.arm.joint_limits import (JointLimitsError, LimitRecorder, load_arm_parameters,
                                      write_bounds)
from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.ros.robot_description import wait_for_robot_description
from hilserl_common.node_support import declare, run_node, StopNode


class JointLimitFinder(Node):
    """Record joint and TCP extremes; write the bounds at the end (see the module docstring)."""

    #: Whether the last finder to finish wrote its file (read by ``main`` for the exit status).
    wrote = False

    def __init__(self, **kwargs):
        """Read the parameter file, load the kinematics and subscribe."""
        super().__init__('find_joint_limits', **kwargs)
        self._path = declare(self, 'safety_params_file', '',
                             'The safety filter parameter file or a robot file (config/robots/): '
                             'the arm is read from it, and end_effector_bounds are written into '
                             'its safety_filter (a robot file: safety) section.')
        self._margin = declare(self, 'margin', 0.01,
                               'Bounds lie this far inside the TCP positions reached, m '
                               '(negative: outside).')
        duration = declare(self, 'duration_s', 0.0,
                           'Write the bounds and exit after this long (0: on Ctrl-C).')
        report_period = declare(self, 'report_period_s', 1.0,
                                'Time between two reports of the running extremes.')
        description_timeout_s = declare(
            self, 'robot_description_timeout_s', 10.0,
            'With an arm whose URDF comes from a topic (robot_description_topic, a robot '
            "file's description.source: topic): how long to wait for it at start-up (s).")
        if not self._path:
            raise ValueError('safety_params_file is required (-p safety_params_file:=<yaml>)')
        if duration < 0 or report_period <= 0:
            raise ValueError('duration_s must be >= 0 and report_period_s positive')
        try:
            arm = load_arm_parameters(self._path)
            topic, urdf = arm['robot_description_topic'], None
            if topic:   # the arm's own stack publishes its URDF
                urdf = wait_for_robot_description(self, topic, description_timeout_s)
            kinematics = Kinematics(topic or resolve_description(arm['robot_description_path']),
                                    arm['tcp_frame'], arm['arm_joint_names'],
                                    tcp_offset=arm['tcp_offset'], tcp_rpy=arm['tcp_rpy'],
                                    urdf_text=urdf)
        except (JointLimitsError, FileNotFoundError) as error:
            raise ValueError(str(error)) from None
        self._recorder = LimitRecorder(kinematics.forward, arm['arm_joint_names'])
        self._finished = False
        self._warned_missing = False
        self.create_subscription(JointState, 'joint_states', self._on_joint_states, 10)
        self.create_timer(report_period, self._report)
        if duration > 0:
            self.create_timer(duration, self._stop)
        self.get_logger().info(
            f'recording {arm["arm_joint_names"]} from joint_states; bounds go to {self._path} '
            f'(margin {self._margin:g} m) ' + (f'after {duration:g} s' if duration else
                                               'on Ctrl-C'))

    def _on_joint_states(self, msg: JointState) -> None:
        if not self._recorder.add(dict(zip(msg.name, msg.position))):
            if not self._warned_missing:
                self._warned_missing = True
                self.get_logger().warning(
                    f'joint_states without every arm joint {self._recorder.arm_joint_names} '
                    f'(it has {list(msg.name)}); such messages are ignored')

    def _report(self) -> None:
        self.get_logger().info(self._recorder.report())

    def _stop(self) -> None:
        raise StopNode()

    def finish(self) -> None:
        """Write the bounds once (Ctrl-C and the end of duration_s both end here)."""
        if self._finished:
            return
        self._finished = True
        print(f'[find_joint_limits] {self._recorder.report()}', flush=True)
        try:
            low, high = self._recorder.bounds(self._margin)
            write_bounds(self._path, low, high, self._recorder.joint_ranges())
        except (JointLimitsError, OSError) as error:
            print(f'[find_joint_limits] nothing written: {error}', file=sys.stderr, flush=True)
            return
        JointLimitFinder.wrote = True
        print(f'[find_joint_limits] wrote end_effector_bounds min {low} max {high} '
              f'to {self._path}', flush=True)

    def destroy_node(self):
        """Write the bounds before going away."""
        if getattr(self, '_recorder', None) is not None:  # not a node whose start failed
            self.finish()
        return super().destroy_node()


def main(args=None):
    """Run until Ctrl-C or duration_s; exit status 1 when no bounds were written."""
    run_node(JointLimitFinder, args)
    if not JointLimitFinder.wrote:
        sys.exit(1)


if __name__ == '__main__':
    main()
