"""
The HIL-SERL actor: the robot-side control loop that runs the policy, the human on top.

Every 1/``fps`` s it builds the state vector from the newest ``joint_states``, ``tcp_pose`` (and
``sim/ground_truth`` with ``state_from_ground_truth``) and the processed frames of
``camera_names``; executes the newest ``teleop/command`` while ``teleop/intervention`` says the
human is in control, else the policy's action (``hilserl_learning.SACAgent.select_action``), as an
EndEffectorCommand (source HUMAN or POLICY) on ``end_effector_command`` (the safety filter); then
labels the previous step (:mod:`hilserl.actor.episodes`) and sends it as a Transition on
``transitions``, numbered per actor and held until ``transition_acks`` covers it
(:mod:`hilserl.transport.transition_link`). Policy parameters (``policy_parameters``) are decoded
on a worker thread and swapped in between two ticks. Until the first parameters arrive the policy's
steps are zero actions (the arm holds still unless the human takes over), or, with
``wait_for_policy``, no episode starts. Between episodes it resets the arm through the safety
filter's ``reset`` service, publishes EpisodeStats on ``episode_stats`` and moves its ticks to just
after the cameras' frames arrive (:mod:`hilserl.ros.control_timer`). The decisions are in
:mod:`hilserl.actor.core`, the rewards in :mod:`hilserl.actor.reward_labeler` (``reward_source``),
the sending in :mod:`hilserl.transport.transition_outbox`, the run's results in
:mod:`hilserl.actor.results`; the inputs, commands and resets are shared with the recorder
(:mod:`hilserl.ros.episode_io`).

A managed node (:mod:`hilserl_common.lifecycle_support`): deactivated, it stops commanding (the
safety filter holds the arm; a reset under way finishes) and the step under way sends no
transition; activated again, the episode goes on.
"""

import secrets
import shutil
import tempfile
import time
from typing import List, Optional

from hilserl_interfaces.msg import (EndEffectorCommand, EpisodeEvent, EpisodeStats,
                                    Observation as ObservationMsg, PolicyParameters,
                                    Transition, TransitionAck)
from rclpy.duration import Duration
from rclpy.lifecycle import LifecycleNode
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool

from hilserl.actor.core import (check_policy_fits, choose_action, FrameFeatures, LoopStats,
                                PolicyHolder)
from hilserl.actor.episodes import (EPISODE_END, EPISODE_START, EpisodeConfig, EpisodeTracker,
                                    EVENT_NAMES, SUCCESS)
from hilserl.actor.observation_state import action_from_command, command_from_action
from hilserl.actor.results import RunResults
from hilserl.actor.reward_check import RewardCheck, truth_snapshot
from hilserl.actor.reward_labeler import RewardLabeler
from hilserl.nodes.actor_parameters import declare_actor_parameters
from hilserl.ros.control_timer import PhaseLockedTimer
from hilserl.ros.episode_io import ANY_PUBLISHER, EpisodeIO, EpisodeIOSettings, set_stamp
from hilserl_common.lifecycle_support import ActiveOnly, autostart, declare_autostart
from hilserl_common.node_support import (log_at, make_thread_realtime, NodeFailed, run_node,
                                         StopNode)
from hilserl.ros.transition_messages import (observation_from_message, set_image_features,
                                             transition_to_bytes, transition_to_message)
from hilserl.transport.transition_link import OutboundQueue
from hilserl.transport.transition_outbox import TransitionOutbox

TRANSITIONS_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
ACKS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
STATS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# At a run's end the actor waits this long at most for the learner to acknowledge its last
# transitions and EpisodeStats (a mode stops the learner when the actor exits).
HANDOVER_TIMEOUT_S = 10.0
PARAMETERS_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)


class ActorNode(ActiveOnly, LifecycleNode):
    """Act with the policy (or the human), send labelled transitions, reset between episodes."""

    def __init__(self, **kwargs):
        """Declare the parameters, wire the topics and wait for the inputs (and activation)."""
        super().__init__('actor', **kwargs)
        p = self._params = declare_actor_parameters(self)
        start_now = declare_autostart(self)
        import torch   # here, not at the top: the node starts before torch is needed
        torch.set_num_threads(p.torch_threads)
        self._thread_priority: Optional[int] = p.thread_priority   # None once applied
        self._rewards = RewardLabeler(p.reward_source, p.progress_shaping_weight)
        self._config = EpisodeConfig(fps=p.fps, control_time_s=p.control_time_s,
                                     number_of_steps_after_success=p.steps_after_success,
                                     terminate_on_success=True,
                                     intervention_penalty=p.intervention_penalty)
        self._io = EpisodeIO(self, EpisodeIOSettings(
            camera_topics={name: f'{name}/image_processed' for name in p.cameras},
            arm_joint_names=p.arm_joints, gripper_joint_name=p.gripper_joint,
            teleop_timeout_s=p.teleop_timeout_s, reset_timeout_s=p.reset_timeout_s,
            state_from_ground_truth=p.state_from_ground_truth,
            need_ground_truth=self._rewards.needs_ground_truth or p.check_reward,
            require_teleop=False, follow_intervention=p.allow_interventions,
            reset_pose=p.reset_pose, arm_node=p.arm_node,
            arm_home_parameter=p.home_parameter),
            on_event=self._on_event, say=self._say,
            on_frame=lambda camera: self._control_timer.frame_arrived(camera))
        self._transition_publisher = self.create_publisher(Transition, 'transitions',
                                                           TRANSITIONS_QOS)
        self._stats_publisher = self.create_publisher(EpisodeStats, 'episode_stats', STATS_QOS)
        self.create_subscription(TransitionAck, 'transition_acks', self._on_ack, ACKS_QOS)
        self.create_subscription(PolicyParameters, 'policy_parameters', self._on_parameters,
                                 PARAMETERS_QOS)
        if p.reward_source == 'classifier':
            self.create_subscription(Bool, 'reward_classifier/success', self._on_classifier,
                                     ANY_PUBLISHER)
        self._owns_spill_dir = not p.spill_dir   # a temporary one, removed at exit
        self._spill_dir = p.spill_dir or tempfile.mkdtemp(prefix='hilserl_actor_')
        self._frame_features = FrameFeatures(p.frame_encoding_budget / self._config.fps)
        self._outbox = TransitionOutbox(
            self._transition_publisher.publish,
            OutboundQueue(p.max_queue_memory_mb * 2**20, self._spill_dir),
            p.resend_after_s, p.max_resend_per_tick)
        # A new stream per process: a restarted actor's sequence 0 is not a repeat.
        self._session = secrets.token_hex(4)
        self._policy = PolicyHolder(on_error=lambda text: self.get_logger().error(text),
                                    on_loaded=lambda text: self.get_logger().debug(text),
                                    validate=lambda config: check_policy_fits(
                                        config, len(self._io.state_names), p.cameras))
        self._loop = LoopStats(self._config.fps)

        self._state = 'waiting'
        self._handover_deadline = 0.0   # set when the run ends (_finish)
        self._episode_index = 0
        self._first_episode_s: Optional[float] = None  # monotonic start of episode 0
        self._tracker: Optional[EpisodeTracker] = None
        self._events: List[int] = []
        self._pending = None  # (Observation, its message, action, intervention)
        # In simulation: the classifier's decisions scored against the ground truth.
        self._reward_check = RewardCheck() if p.check_reward else None
        self._results = RunResults(self._reward_check)
        # Between episodes (not during one) the ticks move to just after the frames arrive.
        self._control_timer = PhaseLockedTimer(self, p.fps, self._tick, p.cameras,
                                               lambda: self._state == 'running')
        self.get_logger().info(
            f"actor '{p.actor_id}' (session {self._session}): episodes of at most "
            f'{self._config.max_steps} steps at {p.fps:g} fps, cameras '
            f'{p.cameras or "none (state only)"}, reward from {p.reward_source}, '
            f'{p.num_episodes or "unlimited"} episodes'
            + (f' or {p.max_minutes:g} minutes' if p.max_minutes else '')
            + (', deterministic' if p.deterministic else '')
            + ('' if p.allow_interventions else ', interventions ignored'))
        if start_now:
            autostart(self)

    def paused(self) -> None:
        """Drop the step under way: its outcome comes after the pause."""
        self._pending = None
        self._say('no more commands until activated again; the safety filter holds the arm')

    # ----- learner link ---------------------------------------------------------------

    def _on_ack(self, msg: TransitionAck) -> None:
        if msg.actor_id == self._params.actor_id and msg.actor_session == self._session:
            line = self._outbox.on_ack(msg.next_sequence, msg.learner_session)
            if line:
                self._say(line)

    def _on_parameters(self, msg: PolicyParameters) -> None:
        # Only hands the blob over: decoding runs on the PolicyHolder's thread.
        self._policy.offer(bytes(msg.blob), msg.sha256, msg.format_version)

    def _on_classifier(self, msg: Bool) -> None:
        if self._state != 'running':
            return
        self._rewards.on_classifier(msg.data)
        if self._reward_check is not None:
            self._reward_check.decision(msg.data)

    def _on_event(self, msg: EpisodeEvent) -> None:
        from_self = msg.source == self.get_name()
        if self._state == 'running' and self._rewards.accepts(msg.event, from_self):
            self._events.append(msg.event)
            self._say(f'episode #{self._episode_index:04d}: {EVENT_NAMES[msg.event]} from '
                      f'{msg.source}')

    # ----- the control tick -----------------------------------------------------------

    def _tick(self) -> None:
        if not self.active:
            return
        if self._thread_priority is not None:
            # Here, not in __init__: this is the thread that runs the loop, whatever spins it.
            refused = make_thread_realtime(self._thread_priority)
            if refused:
                self.get_logger().warning(refused)
            elif self._thread_priority:
                self.get_logger().info(f'control loop thread: SCHED_FIFO priority '
                                       f'{self._thread_priority}')
            self._thread_priority = None
        now = self.get_clock().now().nanoseconds
        if self._state == 'handing_over':
            learner_there = self._transition_publisher.get_subscription_count() > 0
            self._outbox.tick(learner_there)
            if self._handed_over(learner_there):
                raise StopNode()
            return
        if self._policy.misfit:
            raise NodeFailed(f"the learner's policy does not fit this actor: "
                             f'{self._policy.misfit}. Both must be configured for the same '
                             'state and cameras (e.g. demonstrations recorded with another '
                             'object_in_state than the learner was given)')
        version = self._policy.swap()
        if version is not None:
            self._say(f'policy version {version} in use')
        self._outbox.tick(self._transition_publisher.get_subscription_count() > 0)
        waiting_for = (['the first policy parameters (policy_parameters)']
                       if self._params.wait_for_policy and self._policy.agent is None else [])
        self._io.advance(self._state, now, self._start_reset, self._begin_episode,
                         self._step, waiting_for)

    def _step(self, now: int) -> None:
        self._loop.tick(time.monotonic())
        events, self._events = self._events, []
        try:
            observation = self._io.observe()
            encoder = self._admit_frames(observation)
            # The message travels in the transition as it is; the arrays feed the policy.
            obs_msg = ObservationMsg(
                state=observation.state.tolist(), state_names=self._io.state_names,
                camera_names=self._params.cameras,
                images=[observation.frames[name] for name in self._params.cameras])
            obs_dict = observation_from_message(obs_msg)
        except ValueError as error:
            self._io.report(now, f'cannot build the observation: {error}', 'error')
            return
        truth = observation.truth
        if self._reward_check is not None:
            self._reward_check.tick(truth.success, self._pending is not None, truth_snapshot(
                truth.grasped, truth.object_pose.position.z, truth.goal_position.z))
        if self._rewards.observe(truth is not None and truth.success,
                                 None if truth is None else truth.dense_reward):
            self._io.publish_event(SUCCESS, self._episode_index, now)
            events.append(SUCCESS)
        previous = None
        if self._pending is not None:
            _, previous, action, intervention = self._pending
            # The human's hand on the device now is their verdict on the step before.
            taken_over = self._params.allow_interventions and self._io.human_in_control
            label = self._tracker.step(events, intervention, taken_over)
            if label.done:
                self._send_transition(now, previous, action, label, obs_msg)
                self._end_episode(now, label)
                return
        self._act(now, observation, obs_msg, obs_dict, encoder)
        if previous is not None:   # after the command: not part of its latency
            self._send_transition(now, previous, action, label, None)

    def _admit_frames(self, observation) -> Optional[str]:
        """
        Act on the frames the frozen encoder can take this tick (see FrameFeatures).

        Return the encoder's fingerprint, or None when the policy has no frozen encoder.
        """
        agent = self._policy.agent
        if agent is None or agent.frozen_encoder is None or not self._params.cameras:
            return None
        encoder = agent.frozen_encoder.fingerprint()
        admitted = self._frame_features.admit(
            [observation.frames[name] for name in self._params.cameras], encoder)
        observation.frames = dict(zip(self._params.cameras, admitted))
        return encoder

    def _act(self, now: int, observation, obs_msg, obs_dict, encoder: Optional[str]) -> None:
        human = self._io.human_command(now)
        human_action = action_from_command(human.delta_xyz, human.gripper)
        agent = self._policy.agent
        policy = None if agent is None else (
            lambda: agent.select_action(obs_dict, deterministic=self._params.deterministic))
        try:
            if encoder is not None:
                # Sent with the transition: the learner stores these features rather than
                # running the same network on the same frames again.
                pixels = obs_dict['pixels']
                features = self._frame_features.features(
                    lambda indices: agent.encode_frames(pixels[indices]).cpu().numpy())
                obs_dict['features'] = features
                set_image_features(obs_msg, features, encoder)
            action, intervention = choose_action(self._io.human_in_control,
                                                 self._params.allow_interventions, human_action,
                                                 policy)
            delta, gripper = command_from_action(action)
        except (RuntimeError, ValueError) as error:
            self._io.report(now, f'the policy failed, holding still: {error}', 'error')
            action, intervention = choose_action(False, False, human_action, None)
            delta, gripper = command_from_action(action)
        if intervention:
            command = human
        else:
            command = EndEffectorCommand(delta_xyz=delta, gripper=gripper,
                                         source=EndEffectorCommand.SOURCE_POLICY)
            # The executed action is what the safety filter got: clipped, gripper snapped.
            action = action_from_command(delta, gripper)
        sent_ns = self.get_clock().now().nanoseconds
        self._io.send_command(command, sent_ns)
        if not intervention:
            self._loop.latency((sent_ns - observation.oldest_stamp_ns) / 1e9)
        self._pending = (observation, obs_msg, action, intervention)

    def _send_transition(self, now: int, obs_msg, action, label, final) -> None:
        reward = self._rewards.reward(label)
        self._results.add_step(reward, label.intervention)
        if not self._params.send_transitions:
            return
        message = transition_to_message(
            self._params.actor_id, self._outbox.next_sequence, self._episode_index,
            label.step_index,
            obs_msg, action, reward, label.terminated, label.truncated,
            label.intervention, final, self._io.state_names, self._params.cameras,
            actor_session=self._session)
        set_stamp(message, now)
        self._outbox.send(transition_to_bytes(message))

    # ----- episode boundaries ---------------------------------------------------------

    def _begin_episode(self, now: int) -> None:
        self._tracker = EpisodeTracker(self._config, self._episode_index)
        self._pending = None
        self._events = []
        self._rewards.start_episode()
        self._results.start_episode()
        self._loop.clear()
        self._state = 'running'
        if self._first_episode_s is None:
            self._first_episode_s = time.monotonic()
        self._io.publish_event(EPISODE_START, self._episode_index, now)

    def _end_episode(self, now: int, label) -> None:
        self._io.publish_event(EPISODE_END, self._episode_index, now)
        loop = self._loop.summary()
        result, checked = self._results.end_episode(
            self._episode_index, label.step_index + 1, self._tracker.succeeded_at is not None,
            label.ended, self._policy.version)
        stats = EpisodeStats(
            actor_id=self._params.actor_id, episode_index=self._episode_index,
            steps=result['steps'], episodic_reward=result['episodic_reward'],
            success=result['success'], intervention_steps=result['intervention_steps'],
            policy_hz_mean=loop.hz_mean, policy_hz_p90=loop.hz_p90,
            period_jitter_p99_ms=loop.jitter_p99_ms, latency_ms_mean=loop.latency_ms_mean,
            policy_version=self._policy.version, reward_checked=bool(checked), **checked)
        set_stamp(stats, now)
        self._stats_publisher.publish(stats)
        self._say(f'episode #{self._episode_index:04d}: {stats.steps} steps, {label.ended}, '
                  f"reward {result['episodic_reward']:g}, {stats.intervention_steps} human steps, "
                  f'{loop.hz_mean:.1f} Hz (p90 {loop.hz_p90:.1f}), jitter p99 '
                  f'{loop.jitter_p99_ms:.1f} ms, latency {loop.latency_ms_mean:.1f} ms, '
                  f'policy version {self._policy.version}')
        self._episode_index += 1
        self._pending = None
        p = self._params
        out_of_time = p.max_minutes and (
            time.monotonic() - self._first_episode_s >= 60.0 * p.max_minutes)
        if out_of_time or (p.num_episodes and self._episode_index >= p.num_episodes):
            self._finish()
        else:
            self._start_reset(now)

    def _finish(self) -> None:
        for line in self._results.finish(self._params.eval_log,
                                         actor_id=self._params.actor_id,
                                         deterministic=self._params.deterministic):
            self._say(line)
        self._state = 'handing_over'  # exit once the learner has it all (_handed_over)
        self._handover_deadline = time.monotonic() + HANDOVER_TIMEOUT_S

    def _handed_over(self, learner_there: bool) -> bool:
        """Say whether the learner has every transition and the episode stats, or to give up."""
        if not learner_there:
            return True   # no learner to hand anything to
        held = len(self._outbox.queue)
        if held == 0 and self._stats_publisher.wait_for_all_acked(Duration(seconds=0)):
            return True
        if time.monotonic() < self._handover_deadline:
            return False
        self._say(f'exiting with {held} transitions the learner has not acknowledged '
                  f'after {HANDOVER_TIMEOUT_S:g} s', 'warning')
        return True

    def _start_reset(self, now: int) -> None:
        self._state = 'resetting'
        self._io.start_reset(now)

    def _say(self, message: str, level: str = 'info') -> None:
        log_at(self.get_logger(), level, message)

    def destroy_node(self):
        """Stop the decoder thread and remove a temporary spill directory."""
        self._policy.stop()
        if self._owns_spill_dir:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
        return super().destroy_node()


def main(args=None):
    """Run the actor until num_episodes episodes are done (or forever)."""
    run_node(ActorNode, args)


if __name__ == '__main__':
    main()
