"""
A simulated arm (MuJoCo) that fulfils the suite's arm contract.

Publishes ``joint_states``, ``robot_description`` (transient local),
``<camera>/image_raw`` and ``<camera>/camera_info`` for each camera, and the
sim-only ``sim/ground_truth``; takes ``joint_commands`` (std_msgs/Float64MultiArray
in ``joint_names`` order, as a ros2_control forward position controller does) and
offers ``reset_to_home`` (std_srvs/Trigger: home pose, new task layout).

In real time the physics advances on a timer; with ``lock_step`` it advances
one control step per joint command, as fast as its consumer runs (the safety
filter's ``ticks_per_command`` paces it by the controller's commands). Either
way ``joint_states`` keeps coming at the control rate and the cameras at their
rate, as from a real arm: a lock-stepped arm waiting for a command republishes
where it stands. Each frame set also comes with ``joint_states`` and the ground
truth of that instant (same stamp), as a real arm's driver streams its joints
faster than the cameras deliver frames.
"""

import math
import time

from hilserl_interfaces.msg import SimGroundTruth
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (DurabilityPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger

from hilserl.arm.robot_registry import default_robot
from hilserl.defaults import ARM_CONTROL_RATE_HZ, BASE_FRAME, CAMERA_NAMES, CONTROL_FPS, TASK
from hilserl.nodes.camera_publisher import pinhole_camera_info
from hilserl.ros.image_conversion import array_to_image
from hilserl_common.node_support import declare, run_node
from hilserl.sim import SimArm, SimArmConfig
from hilserl.sim.description import robot_description
from hilserl.sim.readout import camera_fovy, JointReadout, moving_joint_names
from hilserl.sim.scene import control_period

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)

# Joint commands arriving this long after a reset were sent before it; they are dropped.
STALE_COMMAND_WINDOW_S = 0.1


class SimArmNode(Node):
    """ROS shell around :class:`hilserl.sim.SimArm`."""

    def __init__(self, **kwargs):
        """Build the simulation from parameters and wire the arm contract."""
        super().__init__('sim_arm', **kwargs)
        robot = declare(self, 'robot', default_robot(),
                        'Arm model: a robot registry name (config/robots/NAME.yaml) or a '
                        'robot file path; its sim section is the model.')
        task = declare(self, 'task', TASK, "'reach', 'push' or 'pick_lift'.")
        self._seed = declare(self, 'seed', 0, 'Seed of episode 0; episode k uses seed + k.')
        rate = declare(self, 'control_rate_hz', ARM_CONTROL_RATE_HZ,
                       'Physics control steps per second (joint_states rate).')
        cameras = declare(self, 'camera_names', list(CAMERA_NAMES), 'Cameras to render.')
        if not declare(self, 'render_cameras', True, 'false: render no camera at all (a '
                       'state-only policy needs none; rendering takes CPU).'):
            cameras = []
        width = declare(self, 'camera_width', 128, 'Rendered image width (pixels).')
        height = declare(self, 'camera_height', 128, 'Rendered image height (pixels).')
        camera_fps = declare(self, 'camera_fps', CONTROL_FPS, 'Rendered frames per second.')
        home = declare(self, 'home_joint_positions', [0.0],
                       'Joint positions reset returns to ([0.0] = the robot default); '
                       'changeable at run time, used from the next reset on.',
                       read_only=False)
        visual_variation = declare(
            self, 'visual_variation', 'none',
            "'none': the plain scene; 'randomized': every reset draws new lighting, table, "
            'floor and backdrop textures, visual-only distractor objects and a slightly '
            'moved camera (a visually harder scene for image policies).')
        lift_height = declare(self, 'lift_height', 0.0,
                              'pick_lift succeeds when the cube rose this much (m); 0 keeps '
                              "the robot file's sim.lift_height.")
        regions = {}
        for name, axes in (('cube_region', 'x, y'), ('goal_region', 'x, y'),
                           ('target_region', 'x, y, z')):
            low = declare(self, f'{name}.min', Parameter.Type.DOUBLE_ARRAY,
                          f'Lowest {axes} (m) a reset draws from; unset: the robot default.')
            high = declare(self, f'{name}.max', Parameter.Type.DOUBLE_ARRAY,
                           f'Highest {axes} (m) a reset draws from.')
            if (low is None) != (high is None):
                raise ValueError(f'set both {name}.min and {name}.max, or neither')
            regions[name] = None if low is None else (tuple(low), tuple(high))
        self._lock_step = declare(self, 'lock_step', False,
                                  'Step once per joint command instead of in real time.')
        self._frame_id = declare(self, 'base_frame', BASE_FRAME,
                                 'Frame of the arm base (the URDF root link).')
        if rate <= 0 or camera_fps <= 0:
            raise ValueError('control_rate_hz and camera_fps must be positive')
        control_dt = control_period(robot, rate)   # whole steps of the scene's timestep
        config = SimArmConfig(robot=robot, task=task, seed=self._seed,
                              cameras={name: (width, height) for name in cameras},
                              control_dt=control_dt, lift_height=lift_height or None,
                              home_joint_positions=None if list(home) == [0.0] else home,
                              visual_variation=visual_variation, **regions)
        self._arm = SimArm(config)
        # Set at run time (e.g. a recorder's fixed reset pose), used by the next reset.
        self._home = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._episode = 0
        self._arm.reset(seed=self._seed)
        self._joint_names = list(self._arm.joint_names)
        # rviz needs every moving joint of the description, not only the commanded ones.
        all_joints = self._joint_names + [name for name in moving_joint_names(self._arm.model)
                                          if name not in self._joint_names]
        self._readout = JointReadout(self._arm.model, all_joints)

        self._state_publisher = self.create_publisher(JointState, 'joint_states', 10)
        self._truth_publisher = self.create_publisher(SimGroundTruth, 'sim/ground_truth', 10)
        description = self.create_publisher(String, 'robot_description', LATCHED)
        description.publish(String(data=robot_description(robot, self._arm.model)))
        self._cameras = {}
        for name in cameras:
            fovy = camera_fovy(self._arm.model, name)
            fov_x = math.degrees(2 * math.atan(math.tan(math.radians(fovy) / 2) * width / height))
            self._cameras[name] = (
                self.create_publisher(Image, f'{name}/image_raw',
                                      qos_profile_sensor_data),
                self.create_publisher(CameraInfo, f'{name}/camera_info',
                                      qos_profile_sensor_data),
                pinhole_camera_info(width, height, fov_x, f'{name}_camera_optical_frame'))
        self.create_subscription(Float64MultiArray, 'joint_commands', self._on_command, 10)
        self._settle_until = 0.0
        self.create_service(Trigger, 'reset_to_home', self._on_reset)
        self._last_step_s = time.monotonic()
        self._control_dt = control_dt
        self.create_timer(control_dt, self._on_timer)
        self.create_timer(1.0 / camera_fps, self._publish_cameras)
        self._publish_state()
        self._publish_cameras()
        self.get_logger().info(
            f'{robot} {task}, joints {self._joint_names}, control {1 / control_dt:.1f} Hz, '
            f'cameras {cameras} {width}x{height}, visual variation {visual_variation}, '
            + ('lock-step' if self._lock_step else 'real time'))

    def _on_command(self, msg: Float64MultiArray) -> None:
        values = list(msg.data)
        if len(values) != len(self._joint_names) or not all(math.isfinite(v) for v in values):
            self.get_logger().error(
                f'joint_commands needs {len(self._joint_names)} finite values in the order '
                f'{self._joint_names}; got {values}', throttle_duration_sec=5.0)
            return
        if time.monotonic() < self._settle_until:
            # Sent before the reset (the safety filter stops at its request) but delivered
            # after it: obeying it would pull the arm back out of its home pose.
            return
        self._arm.set_joint_targets(values)
        if self._lock_step:
            self._step()

    def _on_timer(self) -> None:
        if not self._lock_step:
            self._step()
        elif time.monotonic() - self._last_step_s > self._control_dt:
            self._publish_state()  # waiting for a command: the arm stands still

    def _step(self) -> None:
        self._arm.step()
        self._last_step_s = time.monotonic()
        self._publish_state()

    def _on_set_parameters(self, parameters):
        for parameter in parameters:
            if parameter.name != 'home_joint_positions':
                continue
            values = list(parameter.value or [])
            if values == [0.0]:
                self._home = list(self._arm.robot.home_joint_positions)
                continue
            count = len(self._arm.joint_names)
            if len(values) != count or not all(math.isfinite(v) for v in values):
                return SetParametersResult(
                    successful=False,
                    reason=f'home_joint_positions needs {count} finite values '
                           f'({", ".join(self._arm.joint_names)}) or [0.0]')
            self._home = values
        return SetParametersResult(successful=True)

    def _on_reset(self, request, response):
        self._episode += 1
        seed = self._seed + self._episode
        self._arm.reset(seed=seed, joint_positions=self._home)
        self._settle_until = time.monotonic() + STALE_COMMAND_WINDOW_S
        self._publish_state()
        self._publish_cameras()
        response.success = True
        response.message = f'episode {self._episode}, seed {seed}'
        return response

    def _publish_state(self, stamp=None) -> None:
        stamp = stamp or self.get_clock().now().to_msg()
        state = JointState(name=self._readout.names,
                           position=self._readout.positions(self._arm.data).tolist(),
                           velocity=self._readout.velocities(self._arm.data).tolist())
        state.header.stamp = stamp
        self._state_publisher.publish(state)
        truth = self._arm.ground_truth()
        msg = SimGroundTruth(task=self._arm.config.task, success=bool(truth.success),
                             grasped=bool(truth.grasped),
                             dense_reward=float(truth.dense_reward))
        msg.header.stamp = stamp
        msg.header.frame_id = self._frame_id
        (msg.object_pose.position.x, msg.object_pose.position.y,
         msg.object_pose.position.z) = truth.cube_position.tolist()
        (msg.object_pose.orientation.w, msg.object_pose.orientation.x,
         msg.object_pose.orientation.y, msg.object_pose.orientation.z) = \
            truth.cube_quaternion.tolist()
        msg.goal_position.x, msg.goal_position.y, msg.goal_position.z = \
            truth.target_position.tolist()
        msg.tcp_position.x, msg.tcp_position.y, msg.tcp_position.z = \
            truth.tcp_position.tolist()
        self._truth_publisher.publish(msg)

    def _publish_cameras(self) -> None:
        # The joints are read out with every frame set too, as a real arm's driver streams
        # them faster than its cameras: a tick that acts on fresh frames has fresh joints.
        stamp = self.get_clock().now().to_msg()
        if self._cameras:
            self._publish_state(stamp)
        for name, (image_publisher, info_publisher, info) in self._cameras.items():
            image = array_to_image(self._arm.render(name), 'rgb8')
            image.header.stamp = info.header.stamp = stamp
            image.header.frame_id = info.header.frame_id
            image_publisher.publish(image)
            info_publisher.publish(info)

    def destroy_node(self):
        """Release the renderers with the node."""
        self._arm.close()
        return super().destroy_node()


def main(args=None):
    """Run the simulated arm until shut down."""
    run_node(SimArmNode, args)


if __name__ == '__main__':
    main()
