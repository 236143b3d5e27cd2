"""
The inputs, outputs and resets of an episode loop, shared by the recorder and the actor.

Both run the same loop at ``fps``: take the newest camera frames, ``joint_states`` and
``tcp_pose`` (and, in simulation, ``sim/ground_truth``), build the state vector
(:mod:`hilserl.actor.observation_state`), send an EndEffectorCommand to the safety filter,
label steps with the events of ``episode_events``, and reset the arm between episodes
through the safety filter's ``reset`` service. :class:`EpisodeIO` is that plumbing: a
plain class that creates the subscriptions, publishers and clients on the node it is
given; the nodes keep their own loop and their own state machine.
"""

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent, SimGroundTruth
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from rclpy.qos import (DurabilityPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from hilserl.actor.observation_state import state_names, state_vector
from hilserl.defaults import ARM_HOME_PARAMETER, ARM_NODE, RESET_RETRY_S, TELEOP_TIMEOUT_S

# Matches reliable and best-effort publishers alike: any teleop device or arm driver.
ANY_PUBLISHER = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
EPISODE_EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
REPORT_PERIOD_NS = 5 * 10**9


def stamp_ns(msg) -> int:
    """Return a message header's stamp in nanoseconds."""
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def set_stamp(msg, time_ns: int) -> None:
    """Stamp a message's header with a time in nanoseconds."""
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time_ns, 10**9)


class Observation:
    """What the loop saw at one tick: the state vector and the messages behind it."""

    def __init__(self, state, frames: Dict[str, Image], joints: JointState, tcp: PoseStamped,
                 truth: Optional[SimGroundTruth] = None):
        """Keep the snapshot."""
        self.state, self.frames, self.joints, self.tcp = state, frames, joints, tcp
        self.truth = truth

    @property
    def oldest_stamp_ns(self) -> int:
        """Return the stamp of the oldest input behind the state (its age at a command)."""
        messages = [self.joints, self.tcp, *self.frames.values()]
        if self.truth is not None:
            messages.append(self.truth)
        return min(stamp_ns(msg) for msg in messages)


@dataclass(frozen=True)
class EpisodeIOSettings:
    """Which inputs the loop needs and how it resets."""

    camera_topics: Dict[str, str]          # camera name -> image topic ('' cameras: none)
    arm_joint_names: Sequence[str]
    gripper_joint_name: str
    teleop_timeout_s: float = TELEOP_TIMEOUT_S
    reset_timeout_s: float = RESET_RETRY_S
    # Simulation only: append the object's position (sim/ground_truth) to the state.
    state_from_ground_truth: bool = False
    # Subscribe sim/ground_truth for another reason (rewards) and wait for it.
    need_ground_truth: bool = False
    # Wait for a teleop command before the first episode.
    require_teleop: bool = True
    # Subscribe teleop/intervention (whether the human is in control).
    follow_intervention: bool = False
    # Written to <arm_node>/<arm_home_parameter> before every reset when set.
    reset_pose: Optional[Sequence[float]] = None
    arm_node: str = ARM_NODE
    arm_home_parameter: str = ARM_HOME_PARAMETER


class EpisodeIO:
    """Subscriptions, publishers and the reset client of an episode loop on ``node``."""

    def __init__(self, node, settings: EpisodeIOSettings,
                 on_event: Callable[[EpisodeEvent], None],
                 say: Callable[[str, str], None],
                 on_frame: Optional[Callable[[str], None]] = None):
        """
        Create the topics and clients; ``on_event`` gets every ``episode_events`` message.

        ``on_frame`` (optional) is told the camera's name as each of its frames arrives.
        """
        self.node, self.settings, self._say = node, settings, say
        self._on_frame = on_frame
        self.uses_ground_truth = settings.state_from_ground_truth or settings.need_ground_truth
        self.state_names = state_names(settings.arm_joint_names,
                                       settings.state_from_ground_truth)
        self.frames: Dict[str, Image] = {}
        self.joints: Optional[JointState] = None
        self.tcp: Optional[PoseStamped] = None
        self.truth: Optional[SimGroundTruth] = None
        self.teleop = None  # (command, receive time ns)
        self.human_in_control = False
        for name, topic in settings.camera_topics.items():
            node.create_subscription(Image, topic.lstrip('/'),
                                     lambda msg, name=name: self._on_image(name, msg),
                                     qos_profile_sensor_data)
        node.create_subscription(JointState, 'joint_states',
                                 lambda msg: setattr(self, 'joints', msg), ANY_PUBLISHER)
        node.create_subscription(PoseStamped, 'tcp_pose',
                                 lambda msg: setattr(self, 'tcp', msg), ANY_PUBLISHER)
        if self.uses_ground_truth:
            node.create_subscription(SimGroundTruth, 'sim/ground_truth',
                                     lambda msg: setattr(self, 'truth', msg), ANY_PUBLISHER)
        node.create_subscription(EndEffectorCommand, 'teleop/command', self._on_teleop,
                                 ANY_PUBLISHER)
        if settings.follow_intervention:
            node.create_subscription(Bool, 'teleop/intervention', self._on_intervention,
                                     LATCHED)
        node.create_subscription(EpisodeEvent, 'episode_events', on_event, EPISODE_EVENTS_QOS)
        self._command_publisher = node.create_publisher(EndEffectorCommand,
                                                        'end_effector_command', 10)
        self._event_publisher = node.create_publisher(EpisodeEvent, 'episode_events',
                                                      EPISODE_EVENTS_QOS)
        self._reset_client = node.create_client(Trigger, 'reset')
        self._reset_pose = None
        if settings.reset_pose is not None:
            self._reset_pose = Parameter(settings.arm_home_parameter,
                                         value=[float(v) for v in settings.reset_pose])
            self._home_client = node.create_client(SetParameters,
                                                   f'{settings.arm_node}/set_parameters')
        self._home_warned = False
        self._next_report_ns = 0
        self._resetting = False
        self._reset_done = False
        self._reset_attempt = 0
        self._reset_started_ns = 0
        self._since_ns = 0  # inputs must be stamped after this (the last reset request)

    # ----- inputs ---------------------------------------------------------------------

    def _on_image(self, name: str, msg: Image) -> None:
        self.frames[name] = msg
        if self._on_frame is not None:
            self._on_frame(name)

    def _on_teleop(self, msg: EndEffectorCommand) -> None:
        self.teleop = (msg, self._now())

    def _on_intervention(self, msg: Bool) -> None:
        self.human_in_control = bool(msg.data)

    def _now(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def missing(self, since_ns: int) -> List[str]:
        """Name every input not yet received stamped at or after ``since_ns``."""
        topics = self.settings.camera_topics
        missing = [f'{name} frame ({topics[name]})' for name in topics
                   if name not in self.frames or stamp_ns(self.frames[name]) < since_ns]
        if self.joints is None or stamp_ns(self.joints) < since_ns:
            missing.append('joint_states')
        if self.tcp is None or stamp_ns(self.tcp) < since_ns:
            missing.append('tcp_pose (from the safety filter)')
        if self.uses_ground_truth and (self.truth is None or stamp_ns(self.truth) < since_ns):
            missing.append('sim/ground_truth (from the simulator)')
        return missing

    def missing_to_start(self) -> List[str]:
        """Name everything the first episode waits for: inputs, teleop, the reset service."""
        missing = self.missing(0)
        if self.settings.require_teleop and self.teleop is None:
            missing.append('a teleop command (teleop/command)')
        if not self._reset_client.service_is_ready():
            missing.append(f'the reset service ({self._reset_client.srv_name})')
        return missing

    def advance(self, phase: str, now: int, start_reset: Callable[[int], None],
                begin_episode: Callable[[int], None], step: Callable[[int], None],
                waiting_for: Sequence[str] = ()) -> None:
        """
        Run one control tick of a node in ``phase`` ('waiting', 'resetting', 'running').

        Waiting: once every input is there (what is missing, ``waiting_for`` included,
        is reported every 5 s), ``start_reset``. Resetting: once the reset is done,
        ``begin_episode`` and take its first ``step``. Running: the next ``step``.
        """
        if phase == 'waiting':
            missing = self.missing_to_start() + list(waiting_for)
            if missing:
                self.report(now, 'waiting for ' + ', '.join(missing))
                return
            self._say('inputs ready')
            start_reset(now)
        elif phase == 'resetting':
            if self.reset_finished(now):
                begin_episode(now)
                step(now)
        elif phase == 'running':
            step(now)

    def observe(self) -> Observation:
        """Return the newest inputs and their state vector (ValueError if unusable)."""
        tcp = self.tcp.pose
        truth = self.truth if self.uses_ground_truth else None
        object_position = None
        if self.settings.state_from_ground_truth:
            position = truth.object_pose.position
            object_position = (position.x, position.y, position.z)
        state = state_vector(dict(zip(self.joints.name, self.joints.position)),
                             self.settings.arm_joint_names, self.settings.gripper_joint_name,
                             (tcp.position.x, tcp.position.y, tcp.position.z),
                             (tcp.orientation.x, tcp.orientation.y, tcp.orientation.z,
                              tcp.orientation.w), object_position)
        return Observation(state, dict(self.frames), self.joints, self.tcp, truth)

    # ----- outputs --------------------------------------------------------------------

    def human_command(self, now: int) -> EndEffectorCommand:
        """Return the newest teleop command as a HUMAN command (a hold if it is stale)."""
        command = EndEffectorCommand(gripper=EndEffectorCommand.GRIPPER_STAY)
        if self.teleop is not None and (
                now - self.teleop[1] <= self.settings.teleop_timeout_s * 1e9):
            source = self.teleop[0]
            command.delta_xyz = source.delta_xyz
            command.has_rotation, command.delta_rotation = (source.has_rotation,
                                                            source.delta_rotation)
            command.gripper = source.gripper
        command.source = EndEffectorCommand.SOURCE_HUMAN
        return command

    def send_command(self, command: EndEffectorCommand, now: int) -> EndEffectorCommand:
        """Stamp ``command`` and send it to the safety filter."""
        set_stamp(command, now)
        self._command_publisher.publish(command)
        return command

    def publish_event(self, event: int, episode_index: int, now: int) -> EpisodeEvent:
        """Publish an event on ``episode_events`` with this node as its source."""
        msg = EpisodeEvent(event=event, source=self.node.get_name(),
                           episode_index=episode_index)
        set_stamp(msg, now)
        self._event_publisher.publish(msg)
        return msg

    def report(self, now: int, message: str, level: str = 'info') -> None:
        """Say ``message`` at most every 5 s."""
        if now >= self._next_report_ns:
            self._next_report_ns = now + REPORT_PERIOD_NS
            self._say(message, level)

    # ----- resets ---------------------------------------------------------------------

    def start_reset(self, now: int) -> None:
        """Send the arm home through the safety filter (asynchronously), first setting its home."""
        self._resetting, self._reset_done = True, False
        self._reset_started_ns = self._since_ns = now
        self._reset_attempt += 1
        attempt = self._reset_attempt
        if self._reset_pose is None:
            self._call_reset(attempt)
        elif not self._home_client.service_is_ready():
            self._warn_home(f'{self._home_client.srv_name} is not available')
            self._call_reset(attempt)
        else:
            request = SetParameters.Request(parameters=[self._reset_pose.to_parameter_msg()])
            future = self._home_client.call_async(request)
            future.add_done_callback(lambda done: self._call_reset(attempt, done))

    def reset_finished(self, now: int) -> bool:
        """
        Return whether the reset is done and every input is stamped after it.

        Call once per tick while resetting: it retries a reset that takes longer than
        ``reset_timeout_s`` and says what it still waits for.
        """
        if not self._reset_done:
            if now - self._reset_started_ns > self.settings.reset_timeout_s * 1e9:
                self._say(f'reset not done after {self.settings.reset_timeout_s:g} s; '
                          'retrying', 'error')
                self.start_reset(now)
            return False
        missing = self.missing(self._since_ns)
        if missing:
            self.report(now, 'after the reset, waiting for ' + ', '.join(missing))
            return False
        self._resetting = False
        return True

    def _call_reset(self, attempt: int, home_future=None) -> None:
        if attempt != self._reset_attempt:
            return
        if home_future is not None:
            results = getattr(home_future.result(), 'results', None)
            if not results or not results[0].successful:
                reason = results[0].reason if results else 'no reply'
                self._warn_home(f'the arm refused {self._reset_pose.name}: {reason}')
        future = self._reset_client.call_async(Trigger.Request())
        future.add_done_callback(lambda done: self._on_reset_done(done, attempt))

    def _on_reset_done(self, future, attempt: int) -> None:
        if attempt != self._reset_attempt or not self._resetting:
            return  # an attempt we already gave up on
        result = future.result()
        if result is None or not result.success:
            reason = 'no reply' if result is None else result.message
            self._say(f'reset failed: {reason}; retrying', 'error')
            self.start_reset(self._now())
            return
        self._reset_done = True

    def _warn_home(self, problem: str) -> None:
        if not self._home_warned:
            self._home_warned = True
            self._say(f'cannot set fixed_reset_joint_positions ({problem}); resets go to '
                      "the arm's own home", 'warning')
