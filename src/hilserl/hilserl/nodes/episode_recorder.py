"""
Record demonstrations: the human drives the arm, every episode becomes one bag.

At ``fps`` the recorder takes the newest ``teleop/command`` (hilserl_interfaces/
EndEffectorCommand) and forwards it to ``end_effector_command`` (the safety filter),
so the human drives every step; it records each step as :mod:`hilserl.dataset.bag_format`
lays it out (EpisodeStep with state, action and labels, each camera's newest frame,
``joint_states``, ``tcp_pose``, the forwarded command, and ``episode_events``). The
labels follow :mod:`hilserl.actor.episodes`. Between episodes it calls the safety filter's
``reset`` (std_srvs/Trigger), which sends the arm home; with
``fixed_reset_joint_positions`` set, it first writes them to the arm node's home
parameter. It exits with status 0 once ``num_episodes`` episodes are kept.
"""

import os
import sys
from typing import List, Optional

from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent, EpisodeStep
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message

from hilserl.actor.episodes import (EPISODE_END, EPISODE_START, EpisodeConfig, EpisodeSchedule,
                                    EpisodeTracker, EVENT_NAMES, FAILURE, format_status, RERECORD,
                                    SUCCESS)
from hilserl.actor.observation_state import action_from_command
from hilserl.arm.robot_registry import default_joint_names
from hilserl.dataset import bag_format
from hilserl.dataset.writer import EpisodeBagWriter, next_episode_index
from hilserl.defaults import (ARM_HOME_PARAMETER, ARM_NODE, CAMERA_NAMES, CONTROL_FPS,
                              EPISODE_TIME_S, RESET_RETRY_S, TELEOP_TIMEOUT_S)
from hilserl.ros.episode_io import EpisodeIO, EpisodeIOSettings, Observation, set_stamp
from hilserl_common.node_support import declare, log_at, run_node, StopNode, valid_camera_name

LABELLING_EVENTS = (SUCCESS, FAILURE, RERECORD)


class EpisodeRecorderNode(Node):
    """Forward the human's commands, label and record the steps, reset between episodes."""

    def __init__(self, **kwargs):
        """Declare the parameters, wire the topics and wait for the inputs."""
        super().__init__('episode_recorder', **kwargs)
        dataset_dir = declare(self, 'dataset_dir', '', 'Dataset directory (created if needed); '
                              'new episodes follow any already there.')
        num_episodes = declare(self, 'num_episodes', 10, 'Episodes to keep, then exit 0.')
        self._config = EpisodeConfig(
            fps=declare(self, 'fps', CONTROL_FPS, 'Control steps per second.'),
            control_time_s=declare(self, 'control_time_s', EPISODE_TIME_S,
                                   'Time limit of an episode (s): its last step is truncated.'),
            number_of_steps_after_success=declare(
                self, 'number_of_steps_after_success', 2,
                'Steps recorded after a SUCCESS, with reward 1, before the episode ends.'),
            terminate_on_success=declare(
                self, 'terminate_on_success', True,
                'End the episode after a success (false: go on to the time limit with '
                'reward 1, data for the reward classifier).'))
        self._cameras = declare(self, 'camera_names', list(CAMERA_NAMES),
                                'Cameras recorded.')
        image_kind = declare(self, 'image_kind', 'processed',
                             "Record '<camera>/image_processed' or '<camera>/image_raw'.")
        reset_timeout_s = declare(self, 'reset_timeout_s', RESET_RETRY_S,
                                  'Retry a reset that has not finished after this long.')
        teleop_timeout_s = declare(self, 'teleop_timeout_s', TELEOP_TIMEOUT_S,
                                   'Older teleop commands are not forwarded (hold).')
        default_arm, default_gripper = default_joint_names()
        arm_joints = declare(self, 'arm_joint_names', list(default_arm),
                             'Arm joints of the state vector, in order.')
        gripper_joint = declare(self, 'gripper_joint_name', default_gripper,
                                'Gripper joint of the state vector.')
        state_from_ground_truth = declare(
            self, 'state_from_ground_truth', False,
            'Simulation only: append the object position (object.x/y/z) from '
            'sim/ground_truth and its offset from the TCP (object.dx/dy/dz) to the state '
            'vector.')
        reset_pose = declare(self, 'fixed_reset_joint_positions', Parameter.Type.DOUBLE_ARRAY,
                             'Joint positions (arm, then gripper) every reset goes to, written '
                             "to the arm node's home parameter; unset: the arm's own home.")
        arm_node = declare(self, 'arm_node', ARM_NODE,
                           'Node whose home parameter fixed_reset_joint_positions sets.')
        home_parameter = declare(self, 'arm_home_parameter', ARM_HOME_PARAMETER,
                                 "Name of the arm node's home parameter.")
        if not dataset_dir:
            raise ValueError('dataset_dir is required')
        if image_kind not in bag_format.IMAGE_KINDS:
            raise ValueError(f'image_kind must be one of {bag_format.IMAGE_KINDS}')
        bad = [name for name in self._cameras if not valid_camera_name(name)]
        if bad or not self._cameras:
            raise ValueError(f'camera_names needs snake_case names, got {self._cameras}')
        self._dataset_dir = os.path.abspath(os.path.expanduser(dataset_dir))
        self._schedule = EpisodeSchedule(num_episodes, next_episode_index(self._dataset_dir))
        self._camera_topics = {name: bag_format.camera_topic(name, image_kind)
                               for name in self._cameras}
        self._events: List[EpisodeEvent] = []
        self._io = EpisodeIO(self, EpisodeIOSettings(
            camera_topics=self._camera_topics, arm_joint_names=arm_joints,
            gripper_joint_name=gripper_joint, teleop_timeout_s=teleop_timeout_s,
            reset_timeout_s=reset_timeout_s, state_from_ground_truth=state_from_ground_truth,
            reset_pose=reset_pose, arm_node=arm_node, arm_home_parameter=home_parameter),
            on_event=self._on_event, say=self._say)
        self._state_names = self._io.state_names

        self._state = 'waiting'
        self._writer: Optional[EpisodeBagWriter] = None
        self._tracker: Optional[EpisodeTracker] = None
        self._pending = None  # (time ns, Observation, command, action) of the open step
        self._last_event = '-'
        self._tty = sys.stdout.isatty()
        self.create_timer(1.0 / self._config.fps, self._tick)
        self.get_logger().info(
            f'recording {num_episodes} episodes of at most {self._config.max_steps} steps at '
            f'{self._config.fps:g} fps into {self._dataset_dir} (first #'
            f'{self._schedule.next_index:04d}), cameras {self._camera_topics}')

    # ----- inputs ---------------------------------------------------------------------

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event not in LABELLING_EVENTS:
            return  # our own EPISODE_START/END, interventions (every step is the human's)
        if self._state == 'running':
            self._events.append(msg)
        else:
            self._say(f'{EVENT_NAMES[msg.event]} from {msg.source} between episodes: ignored')

    # ----- the control tick -----------------------------------------------------------

    def _tick(self) -> None:
        now = self.get_clock().now().nanoseconds
        if self._state == 'done':
            raise StopNode()
        self._io.advance(self._state, now, self._start_reset, self._begin_episode,
                         self._record)

    def _record(self, now: int) -> None:
        events, self._events = self._events, []
        try:
            observation = self._io.observe()
        except ValueError as error:
            self._io.report(now, f'cannot build the state: {error}', 'error')
            return
        for event in events:
            self._last_event = f'{EVENT_NAMES[event.event]} ({event.source})'
            self._say(f'episode #{self._tracker.episode_index:04d} step {self._tracker.steps}: '
                      f'{self._last_event}')
            self._writer.write(bag_format.EPISODE_EVENTS_TOPIC, now, serialize_message(event))
        if self._pending is not None:
            label = self._tracker.step([event.event for event in events], intervention=True)
            self._write_step(*self._pending, label)
            if label.done:
                self._end_episode(now, label, observation)
                return
        command = self._forward(now)
        self._pending = (now, observation, command,
                         action_from_command(command.delta_xyz, command.gripper))
        self._status()

    def _forward(self, now: int) -> EndEffectorCommand:
        """Send the newest teleop command on to the safety filter (hold if it is stale)."""
        return self._io.send_command(self._io.human_command(now), now)

    def _write_step(self, time_ns, observation, command, action, label) -> None:
        step = self._step_message(time_ns, label.step_index, observation)
        step.action = action.tolist()
        step.reward = label.reward
        step.terminated, step.truncated = label.terminated, label.truncated
        step.intervention = label.intervention
        self._write_observation(time_ns, step, observation)
        self._writer.write(bag_format.COMMAND_TOPIC, time_ns, serialize_message(command))

    def _step_message(self, time_ns, step_index, observation) -> EpisodeStep:
        step = EpisodeStep(episode_index=self._tracker.episode_index, step_index=step_index,
                           state_names=self._state_names, state=observation.state.tolist())
        set_stamp(step, time_ns)
        return step

    def _write_observation(self, time_ns, step, observation) -> None:
        write = self._writer.write
        write(bag_format.EPISODE_STEP_TOPIC, time_ns, serialize_message(step))
        for name, topic in self._camera_topics.items():
            write(topic, time_ns, serialize_message(observation.frames[name]))
        write(bag_format.JOINT_STATES_TOPIC, time_ns, serialize_message(observation.joints))
        write(bag_format.TCP_POSE_TOPIC, time_ns, serialize_message(observation.tcp))

    # ----- episode boundaries ---------------------------------------------------------

    def _begin_episode(self, now: int) -> None:
        index = self._schedule.next_index
        types = dict(bag_format.MESSAGE_TYPES)
        types.update({topic: bag_format.IMAGE_TYPE for topic in self._camera_topics.values()})
        self._writer = EpisodeBagWriter(self._dataset_dir, index, types)
        self._tracker = EpisodeTracker(self._config, index)
        self._pending = None
        self._events = []
        self._state = 'running'
        self._publish_event(now, EPISODE_START, write=True)
        self._say(f'episode #{index:04d} started ({self._schedule.kept + 1}/'
                  f'{self._schedule.num_episodes})')

    def _end_episode(self, now: int, label, observation: Observation) -> None:
        index = self._tracker.episode_index
        if label.discard:
            self._writer.discard()
            self._publish_event(now, EPISODE_END, write=False)
            self._say(f'episode #{index:04d} discarded; recording it again')
        else:
            final = self._step_message(now, label.step_index + 1, observation)
            final.final_observation = True
            self._write_observation(now, final, observation)
            self._publish_event(now, EPISODE_END, write=True)
            self._writer.close()
            self._say(f'episode #{index:04d} kept: {label.step_index + 1} steps, '
                      f'{label.ended}')
        self._writer = None
        self._schedule.episode_ended(label)
        if self._schedule.finished:
            self._say(f'{self._schedule.kept} episodes recorded in {self._dataset_dir} '
                      f'({self._schedule.discarded} rerecorded); done')
            self._state = 'done'  # exit on the next tick, once EPISODE_END is out
        else:
            self._start_reset(now)

    def _publish_event(self, now: int, event: int, write: bool) -> None:
        msg = self._io.publish_event(event, self._tracker.episode_index, now)
        if write:
            self._writer.write(bag_format.EPISODE_EVENTS_TOPIC, now, serialize_message(msg))

    def _start_reset(self, now: int) -> None:
        """Send the arm home (through the safety filter); the loop idles meanwhile."""
        self._state = 'resetting'
        self._io.start_reset(now)

    # ----- terminal -------------------------------------------------------------------

    def _status(self) -> None:
        tracker = self._tracker
        line = format_status(self._schedule.kept, self._schedule.num_episodes,
                             tracker.episode_index, tracker.steps,
                             tracker.steps_left / self._config.fps, self._last_event)
        if self._tty:
            sys.stdout.write('\r' + line + '\x1b[K')
            sys.stdout.flush()

    def _say(self, message: str, level: str = 'info') -> None:
        if self._tty:
            sys.stdout.write('\r\x1b[K')  # clear the status line before a log line
        log_at(self.get_logger(), level, message)

    def destroy_node(self):
        """Delete an episode cut short by Ctrl-C: it has no end to label."""
        if self._writer is not None:
            self._writer.discard()
            self._say(f'episode #{self._tracker.episode_index:04d} interrupted; discarded')
            self._writer = None
        return super().destroy_node()


def main(args=None):
    """Run the recorder until it has kept num_episodes episodes."""
    run_node(EpisodeRecorderNode, args)


if __name__ == '__main__':
    main()
