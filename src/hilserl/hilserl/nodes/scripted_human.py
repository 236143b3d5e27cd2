"""
The scripted human: plays the teleop device in simulation, from ground truth.

Subscribes ``sim/ground_truth`` (hilserl_interfaces/SimGroundTruth) and
``episode_events``; publishes, as every teleop node does, ``teleop/command``
(EndEffectorCommand, source HUMAN) at ``fps``, ``teleop/intervention``
(std_msgs/Bool, latched) and ``episode_events`` (SUCCESS, FAILURE, RERECORD,
INTERVENTION_START/END). The logic is :class:`hilserl.human.scripted_human.ScriptedHuman`;
with ``outcome:=failure`` it plays the episodes badly (:mod:`hilserl.human.failure_play`).
The controller reads the TCP from the ground truth rather than ``tcp_pose``: it is
taken in the same simulation step as the cube's pose, so the two always agree.
With ``run_own_episodes`` (classifier mode, where no recorder or actor runs) it starts,
ends and resets (the safety filter's ``reset``) its own episodes
(:mod:`hilserl.human.self_paced_episodes`) and publishes their EPISODE_START/END.
"""

from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent, SimGroundTruth
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from hilserl.actor.episodes import EPISODE_END, EPISODE_START, EVENT_NAMES, FAILURE, SUCCESS
from hilserl.arm.robot_registry import default_robot
from hilserl.defaults import CONTROL_FPS, RESET_RETRY_S, TASK
from hilserl.human import self_paced_episodes
from hilserl.human.scripted_human import (HumanSettings, InterventionSettings, ScriptedHuman,
                                          Truth)
from hilserl.human.scripted_policy import ScriptedConfig
from hilserl_common.node_support import declare, run_node

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def scripted_config(robot: str) -> ScriptedConfig:
    """Return the scripted controller's settings for a simulated arm (its robot file's)."""
    # Imported here: the simulation's closed loop pulls in MuJoCo and pinocchio.
    from hilserl.sim.closed_loop import scripted_settings
    return scripted_settings(robot)


def truth_of(msg: SimGroundTruth) -> Truth:
    """Return the ground truth message's content as plain values."""
    def xyz(point):
        return (point.x, point.y, point.z)
    return Truth(tcp=xyz(msg.tcp_position), cube=xyz(msg.object_pose.position),
                 goal=xyz(msg.goal_position), grasped=msg.grasped, success=msg.success,
                 dense_reward=msg.dense_reward)


class ScriptedHumanNode(Node):
    """ROS shell around :class:`hilserl.human.scripted_human.ScriptedHuman`."""

    def __init__(self, **kwargs):
        """Declare the parameters and start acting at ``fps``."""
        super().__init__('scripted_human', **kwargs)
        robot = declare(self, 'robot', default_robot(),
                        'Simulated arm: a robot registry name or a robot file path; '
                        'default: config/default_robot.yaml.')
        task = declare(self, 'task', TASK, "'reach', 'push' or 'pick_lift'.")
        fps = declare(self, 'fps', CONTROL_FPS, 'Commands per second (the recorder fps).')
        rerecord = declare(self, 'rerecord_episodes', Parameter.Type.INTEGER_ARRAY,
                           'Episode indices whose first attempt is rerecorded (tests).')
        stall_timeout_s = declare(self, 'stall_timeout_s', 6.0,
                                  'FAILURE when the dense reward has not improved for this '
                                  'long (s).')
        intervention = InterventionSettings(
            mode=declare(self, 'intervention_mode', 'always',
                         "'always' (record mode), 'none' or 'when_off_track' (train mode)."),
            off_track_distance=declare(self, 'off_track_distance', 0.05,
                                       'when_off_track: take over once the TCP lost this much '
                                       'ground toward the goal (m).'),
            stuck_steps=declare(self, 'stuck_steps', 0,
                                'when_off_track: also take over after this many steps '
                                'without stuck_progress toward the goal, until the goal '
                                'changes (0: never).'),
            stuck_progress=declare(self, 'stuck_progress', 0.005,
                                   'Distance gain toward the goal that counts as progress '
                                   '(m).'),
            probability=declare(self, 'intervention_probability', 1.0,
                                'Chance of paying attention in the first episode.'),
            decay=declare(self, 'intervention_decay', 1.0,
                          'Factor on that chance per episode.'),
            seed=declare(self, 'seed', 0, 'Seed of the attention draws.'))
        if not fps > 0 or not stall_timeout_s > 0:
            raise ValueError('fps and stall_timeout_s must be positive')
        self._human = ScriptedHuman(HumanSettings(
            task=task, scripted=scripted_config(robot),
            rerecord_episodes=tuple(rerecord or ()),
            rerecord_after_steps=declare(self, 'rerecord_after_steps', 3,
                                         'Steps into an episode before its RERECORD.'),
            stall_steps=max(1, round(stall_timeout_s * fps)),
            stall_min_improvement=declare(self, 'stall_min_improvement', 0.01,
                                          'Dense reward gain that counts as progress.'),
            intervention=intervention,
            outcome=declare(self, 'outcome', 'success',
                            "'success': do the task; 'failure': play every episode badly "
                            '(wrong place, stopping short, dropping the cube, lifting the '
                            'jaws empty, wandering, in turn) until it stalls or times out: '
                            'reward classifier negatives.')))
        self._truth = None
        self._command_publisher = self.create_publisher(EndEffectorCommand, 'teleop/command', 10)
        self._intervention_publisher = self.create_publisher(Bool, 'teleop/intervention',
                                                             LATCHED)
        self._event_publisher = self.create_publisher(EpisodeEvent, 'episode_events',
                                                      EVENTS_QOS)
        self.create_subscription(SimGroundTruth, 'sim/ground_truth', self._on_truth, 10)
        self.create_subscription(EpisodeEvent, 'episode_events', self._on_event, EVENTS_QOS)
        self._intervening = None
        self._own_episodes = None
        if declare(self, 'run_own_episodes', False,
                   'Start, end and reset episodes itself (where no recorder or actor does); '
                   'false: follow EPISODE_START/END on episode_events.'):
            self._own_episodes = self_paced_episodes.SelfPacedEpisodes(
                declare(self, 'pause_after_outcome_s', 3.0,
                        'run_own_episodes: seconds the outcome is held before the next reset.'),
                declare(self, 'reset_timeout_s', RESET_RETRY_S,
                        'run_own_episodes: ask for the reset again when it has not been '
                        'answered in this long (s).'))
            self._reset_client = self.create_client(Trigger, 'reset')
        self._timer = self.create_timer(1.0 / fps, self._act)
        act_lead_s = declare(
            self, 'act_lead_s', 0.0,
            'Act this long before the next control step: each end_effector_command (the '
            "actor's or recorder's step) re-times the next command to 1/fps - act_lead_s "
            'after it, so the one taken at that step is computed from a state at most '
            'act_lead_s old, as a person watching the arm would see it (0: act on a timer '
            'of its own, whose phase against the control loop is chance).')
        if not 0.0 <= act_lead_s < 1.0 / fps:
            raise ValueError(f'act_lead_s must be in [0, 1/fps), got {act_lead_s}')
        if act_lead_s and self._own_episodes is None:
            self._lead_timer = self.create_timer(1.0 / fps - act_lead_s, self._act_ahead,
                                                 autostart=False)
            self.create_subscription(EndEffectorCommand, 'end_effector_command',
                                     self._on_control_step, 10)
        self.get_logger().info(f'{robot} {task} at {fps:g} fps, intervention '
                               f'{intervention.mode}, rerecord {list(rerecord or [])}'
                               + (', playing failures' if self._human.settings.outcome
                                  == 'failure' else ''))

    def _on_control_step(self, msg: EndEffectorCommand) -> None:
        self._timer.cancel()
        self._lead_timer.reset()

    def _act_ahead(self) -> None:
        self._lead_timer.cancel()
        self._timer.reset()  # acts on its own again if the control steps stop
        self._act()

    def _on_truth(self, msg: SimGroundTruth) -> None:
        self._truth = msg

    def _on_event(self, msg: EpisodeEvent) -> None:
        if self._own_episodes is not None:
            return  # its own episodes, not another node's
        if msg.event == EPISODE_START:
            self._human.start_episode(msg.episode_index)
            self._truth = None  # act on the new layout only
        elif msg.event == EPISODE_END:
            self._human.end_episode()

    def _pace_episodes(self) -> None:
        """Reset, start and end the node's own episodes (run_own_episodes)."""
        action = self._own_episodes.tick(self.get_clock().now().nanoseconds * 1e-9)
        if action == self_paced_episodes.RESET:
            if not self._reset_client.service_is_ready():
                self._own_episodes.reset_finished(False)  # asked again next tick
                return
            attempt = self._own_episodes.reset_attempt
            if self._own_episodes.reset_timed_out:
                self.get_logger().warning(
                    f'{self._reset_client.srv_name}: no reply in '
                    f'{self._own_episodes.reset_timeout_s:g} s; asking again')
            self._reset_client.call_async(Trigger.Request()).add_done_callback(
                lambda future: self._own_episodes.reset_finished(
                    future.exception() is None and future.result().success, attempt))
            return
        if action is None:
            return
        index = self._own_episodes.episode_index
        if action == self_paced_episodes.START:
            self._human.start_episode(index)
            self._truth = None  # act on the new layout only
        else:
            self._human.end_episode()
        event = EpisodeEvent(event=EPISODE_START if action == self_paced_episodes.START
                             else EPISODE_END, source=self.get_name(), episode_index=index)
        event.header.stamp = self.get_clock().now().to_msg()
        self._event_publisher.publish(event)

    def _act(self) -> None:
        if self._own_episodes is not None:
            self._pace_episodes()
            if not self._own_episodes.running:
                return  # no commands while the safety filter resets the arm
        if self._truth is None:
            return
        step = self._human.step(truth_of(self._truth))
        now = self.get_clock().now().to_msg()
        command = EndEffectorCommand(delta_xyz=list(step.delta_xyz), gripper=step.gripper,
                                     source=EndEffectorCommand.SOURCE_HUMAN)
        command.header.stamp = now
        self._command_publisher.publish(command)
        if step.intervening != self._intervening:
            self._intervening = step.intervening
            self._intervention_publisher.publish(Bool(data=step.intervening))
        for event in step.events:
            msg = EpisodeEvent(event=event, source=self.get_name(),
                               episode_index=self._human.episode_index)
            msg.header.stamp = now
            self._event_publisher.publish(msg)
            self.get_logger().info(f'episode #{self._human.episode_index:04d}: '
                                   f'{EVENT_NAMES[event]}')
            if self._own_episodes is not None and event in (SUCCESS, FAILURE):
                self._own_episodes.outcome(self.get_clock().now().nanoseconds * 1e-9)


def main(args=None):
    """Run the scripted human until shut down."""
    run_node(ScriptedHumanNode, args)


if __name__ == '__main__':
    main()
