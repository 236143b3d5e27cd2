"""
A Gymnasium environment as the arm: the topics and reset service of sim_arm and its filter.

The environment (:class:`hilserl.sim.gym.environment.EnvArm`) takes the place of the arm and
of its safety filter: the env bounds its own actions. Each ``end_effector_command`` (the
actor's, or the human's through it) is one ``env.step`` with the suite action
``[dx, dy, dz, gripper]`` mapped onto the env's Box. After every step and reset it
publishes ``joint_states`` (the observation's state entries as joints, the named one as
the gripper), ``tcp_pose`` (the named TCP entries; pointing down), ``sim/ground_truth``
(the env's success and, as ``dense_reward``, its reward) and ``<camera>/image_raw`` for
each camera (image observations, else ``env.render()``); between commands it
republishes the last observation at ``publish_rate_hz``, as a lock-stepped arm waiting
for a command does. ``reset`` (std_srvs/Trigger, the safety filter's name) starts a new
episode with seed ``seed`` + episode number.

An episode the env ends without success (its ``terminated`` and no success in its info,
a cube pushed off the table say) is ended for the actor too: a FAILURE on
``episode_events``, numbered as the loop's last EPISODE_START there; later commands are
ignored until the reset. A truncation by the
env's own time limit is only logged: the actor's control_time_s ends the episode.
"""

import json
import math
from typing import Optional

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent, SimGroundTruth
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger

from hilserl.actor.observation_state import action_from_command
from hilserl.defaults import BASE_FRAME
from hilserl.sim.gym.environment import (EnvArm, EnvError, EnvSettings, EnvStep, RenderError,
                                         StepError, TCP_DOWN)
from hilserl.ros.image_conversion import array_to_image
from hilserl_common.node_support import declare, NodeFailed, run_node

EPISODE_EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def _names(values) -> tuple:
    """Return a string-array parameter without its '' placeholder."""
    return tuple(value for value in values if value)


class GymEnvNode(Node):
    """ROS shell around :class:`hilserl.sim.gym.environment.EnvArm`."""

    def __init__(self, **kwargs):
        """Make the environment from parameters and wire the arm contract."""
        super().__init__('gym_env', **kwargs)
        env_id = declare(self, 'env_id', 'Pendulum-v1',
                         'Gymnasium id of the environment (its namespace module is '
                         'imported first, so that it registers its ids); modes set it from '
                         'an environment file (robot:=gym).')
        env_kwargs = declare(self, 'env_kwargs', '{}',
                             'Keyword arguments of gymnasium.make, as a JSON object '
                             '(e.g. {"image_obs": true}).')
        action = _names(declare(self, 'action', [''],
                                "Source of each value of the env's action: dx, dy, dz, "
                                "gripper (a leading '-' negates it) or zero; [''] takes the "
                                'first n of dx, dy, dz, gripper for an action of n <= 4.'))
        scale = declare(self, 'action_scale', [0.0],
                        'Factor of each action value (see docs/gymnasium.md); [0.0] is all 1.')
        gripper = declare(self, 'gripper_entry', '',
                          "State entry published as the gripper joint ('' none: a "
                          "constant 0 named 'gripper').")
        tcp = _names(declare(self, 'tcp_position', [''],
                             "Three state entries published as the TCP position on "
                             "tcp_pose ([''] none: the origin)."))
        render_cameras = _names(declare(self, 'render_cameras', [''],
                                        "Names of env.render()'s frames, in order ([''] "
                                        "'render', 'render1', ...)."))
        self._render = declare(self, 'render_cameras_enabled', True,
                               'false: render no camera (image observations are still '
                               'published); a state-only policy needs none.')
        self._seed = declare(self, 'seed', 0, 'Seed of episode 0; episode k uses seed + k.')
        rate = declare(self, 'publish_rate_hz', 10.0,
                       'How often the last observation is republished between commands.')
        self._frame_id = declare(self, 'base_frame', BASE_FRAME,
                                 'Frame of tcp_pose and sim/ground_truth.')
        try:
            kwargs_value = json.loads(env_kwargs)
        except json.JSONDecodeError as error:
            raise ValueError(f'env_kwargs is not JSON: {error}') from None
        if not isinstance(kwargs_value, dict):
            raise ValueError(f'env_kwargs must be a JSON object, got {env_kwargs}')
        if not rate > 0:
            raise ValueError('publish_rate_hz must be positive')
        settings = EnvSettings(env_id=env_id, kwargs=kwargs_value, action=action,
                               action_scale=tuple(scale) if list(scale) != [0.0] else (),
                               gripper=gripper, tcp_position=tcp,
                               render_cameras=render_cameras)
        try:
            self._arm = EnvArm(settings, cameras=self._render)
            try:
                self._last = self._arm.reset(seed=self._seed)
            except RenderError as error:
                self.get_logger().warning(f'{error}; publishing no rendered camera')
                self._arm.close()
                self._arm = EnvArm(settings, cameras=False)
                self._last = self._arm.reset(seed=self._seed)
        except EnvError as error:
            raise ValueError(str(error)) from None
        self._episode = 0
        self._ended: Optional[str] = None   # why commands are ignored until the reset
        self._truncated_said = False
        layout = self._arm.layout
        self._joint_names = list(layout.joints) + [layout.gripper]

        self._state_publisher = self.create_publisher(JointState, 'joint_states', 10)
        self._pose_publisher = self.create_publisher(PoseStamped, 'tcp_pose', 10)
        self._truth_publisher = self.create_publisher(SimGroundTruth, 'sim/ground_truth', 10)
        self._event_publisher = self.create_publisher(EpisodeEvent, 'episode_events',
                                                      EPISODE_EVENTS_QOS)
        self._image_publishers = {
            name: self.create_publisher(Image, f'{name}/image_raw', qos_profile_sensor_data)
            for name in self._last.frames}
        self.create_subscription(EndEffectorCommand, 'end_effector_command',
                                 self._on_command, 10)
        # The episode numbers of the loop that drives it (EPISODE_START on episode_events).
        self._loop_episode: Optional[int] = None
        self.create_subscription(EpisodeEvent, 'episode_events', self._on_event,
                                 EPISODE_EVENTS_QOS)
        self.create_service(Trigger, 'reset', self._on_reset)
        self.create_timer(1.0 / rate, lambda: self._publish(self._last))
        self._publish(self._last)
        self.get_logger().info(
            f'{env_id}: {len(layout.entries)} state entries, action of '
            f'{layout.action_size} from [{", ".join(self._arm.actions.sources)}], cameras '
            f'{list(self._last.frames) or "none"}, gripper {layout.gripper}, TCP '
            f'{list(layout.tcp_position) or "none"}')

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EPISODE_START:
            self._loop_episode = msg.episode_index

    @property
    def _episode_index(self) -> int:
        """Return the episode's number as its loop counts (this node's resets without one)."""
        return self._episode if self._loop_episode is None else self._loop_episode

    def _on_command(self, msg: EndEffectorCommand) -> None:
        if self._ended is not None:
            self.get_logger().info(f'{self._ended}: commands are ignored until the reset',
                                   throttle_duration_sec=5.0)
            return
        try:
            action = action_from_command(msg.delta_xyz, msg.gripper)
            if not all(math.isfinite(v) for v in action):
                raise ValueError(f'non-finite delta_xyz {list(msg.delta_xyz)}')
            step = self._arm.step(action)
        except StepError as error:
            raise NodeFailed(str(error)) from None
        except (ValueError, EnvError) as error:
            self.get_logger().error(f'command refused: {error}', throttle_duration_sec=5.0)
            return
        self._last = step
        if step.success:
            self._ended = f'episode {self._episode_index} succeeded'
        elif step.terminated:
            self._ended = f'the environment ended episode {self._episode_index} without success'
            event = EpisodeEvent(event=EpisodeEvent.FAILURE, source=self.get_name(),
                                 episode_index=self._episode_index)
            event.header.stamp = self.get_clock().now().to_msg()
            self._event_publisher.publish(event)
            self.get_logger().info(self._ended)
        elif step.truncated and not self._truncated_said:
            self._truncated_said = True
            self.get_logger().info(f'episode {self._episode_index}: the environment\'s time limit '
                                   'passed; stepping on until the actor resets')
        self._publish(step)

    def _on_reset(self, request, response):
        self._episode += 1
        seed = self._seed + self._episode
        try:
            self._last = self._arm.reset(seed=seed)
        except EnvError as error:
            response.success, response.message = False, str(error)
            return response
        self._ended, self._truncated_said = None, False
        self._loop_episode = None   # the loop's next EPISODE_START numbers the new one
        self._publish(self._last)
        response.success = True
        response.message = f'episode {self._episode}, seed {seed}'
        return response

    def _publish(self, step: EnvStep) -> None:
        stamp = self.get_clock().now().to_msg()
        state = JointState(name=self._joint_names,
                           position=self._arm.joint_positions(step))
        state.header.stamp = stamp
        self._state_publisher.publish(state)
        tcp = self._arm.tcp_position(step)
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = stamp, self._frame_id
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = tcp
        (pose.pose.orientation.x, pose.pose.orientation.y, pose.pose.orientation.z,
         pose.pose.orientation.w) = TCP_DOWN
        self._pose_publisher.publish(pose)
        truth = SimGroundTruth(task=self._arm.settings.env_id, success=bool(step.success),
                               dense_reward=float(step.reward))
        truth.header.stamp, truth.header.frame_id = stamp, self._frame_id
        truth.object_pose.orientation.w = 1.0
        truth.tcp_position.x, truth.tcp_position.y, truth.tcp_position.z = tcp
        self._truth_publisher.publish(truth)
        for name, publisher in self._image_publishers.items():
            if name in step.frames:
                image = array_to_image(step.frames[name], 'rgb8')
                image.header.stamp, image.header.frame_id = stamp, f'{name}_camera_optical_frame'
                publisher.publish(image)

    def destroy_node(self):
        """Close the environment with the node."""
        self._arm.close()
        return super().destroy_node()


def main(args=None):
    """Run the environment until shut down."""
    run_node(GymEnvNode, args)


if __name__ == '__main__':
    main()
