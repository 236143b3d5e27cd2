"""
The HIL-SERL learner: SAC from the actors' transitions, policy parameters back to them.

Subscribes ``transitions`` (hilserl_interfaces/Transition, reliable, keep last 1000)
and ``episode_stats`` (EpisodeStats, reliable, depth 10); publishes
``transition_acks`` (TransitionAck, reliable, depth 100: per actor process the next sequence
after everything durable, and this process's ``learner_session``, every
``ack_period_s`` and once at start-up for the actors a resumed run knows) and
``policy_parameters`` (PolicyParameters, reliable + transient local, depth 1: a late
actor gets the latest at once; pushed every ``policy_push_period_s`` seconds when the
policy changed, and at start-up).
``updates_per_step`` holds the learner steps per online step received (the update-to-data
ratio; each learner step runs ``agent.critic_updates_per_learner_step`` critic updates).
The parameters are declared and checked in :mod:`hilserl.nodes.learner_parameters`.

The state size, the state names and the cameras come from the demonstrations when
``demo_datasets`` are given, otherwise from the first transition (``camera_names``,
when set, must match them; ``state_names``, when set, picks the demonstrations'
state entries and must match a first transition's); a resumed run takes them, and
the agent configuration, from its checkpoint. Storage, checkpoints and resume are in
:mod:`hilserl.learner.core`; episode and learner metrics go to
:class:`hilserl.learner.monitoring.MetricsLog` (CSV and plots in ``run_dir``, wandb when
enabled). Training runs in its own thread; the subscription callback only logs and
stores.
"""

import secrets
import threading
import time
import traceback
from typing import Dict

from hilserl_interfaces.msg import EpisodeStats, PolicyParameters, Transition, TransitionAck
from hilserl_learning import configure_torch
from hilserl_learning.policy_blob import encode_policy, POLICY_FORMAT_VERSION
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from hilserl.actor.reward_check import CHECK_FIELDS
from hilserl.learner.core import GAP, LearnerConfigurationError, LearnerCore, REJECTED
from hilserl.learner.monitoring import EPISODE_STATS_FIELDS, MetricsLog
from hilserl.nodes.learner_parameters import declare_learner_parameters
from hilserl_common.log_throttle import LogThrottle
from hilserl_common.node_support import drain, NodeFailed, run_node
from hilserl.ros.transition_messages import transition_from_bytes, transition_message_from_bytes
from hilserl.transport.transition_link import STREAM_SEPARATOR, stream_id, stream_owner
from hilserl.transport.transition_record import TransitionFormatError

TRANSITIONS_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
ACKS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
STATS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
PARAMETERS_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)


class LearnerNode(Node):
    """Thin ROS shell around :class:`hilserl.learner.core.LearnerCore`."""

    def __init__(self, **kwargs):
        """Declare parameters, start or resume the run, wire the topics, start training."""
        super().__init__('learner', **kwargs)
        p = declare_learner_parameters(self)
        run_dir, status_period_s = p.settings.run_dir, p.status_period_s
        self._push_period_s, self._max_update_rate, self._learn = (
            p.push_period_s, p.max_update_rate_hz, p.learn)
        self.get_logger().info(f'torch: {configure_torch(p.torch_threads or None)}')
        self._core = LearnerCore(p.settings, transition_from_bytes, log=self.get_logger().info)
        if p.resume:
            if p.demo_datasets:
                self.get_logger().warning('resume:=true: demo_datasets ignored (the '
                                          'checkpoint holds the demonstration buffer)')
            self._core.resume()
        else:
            self._core.start_fresh(p.demo_datasets)
        # Serving a policy for an evaluation adds nothing to the training run's curves: the
        # evaluating actor writes its episodes to evaluation.json.
        self._metrics = MetricsLog(run_dir, use_wandb=p.use_wandb,
                                   warn=self.get_logger().warning) if self._learn else None
        self._metrics_lock = threading.Lock()
        self._session = secrets.token_hex(8)
        self._throttle = LogThrottle(5.0)
        self._failure = None
        self._updates_at_status = (self._core.counters['learner_steps'], time.monotonic())

        self._ack_publisher = self.create_publisher(TransitionAck, 'transition_acks', ACKS_QOS)
        self._parameters_publisher = self.create_publisher(PolicyParameters,
                                                           'policy_parameters', PARAMETERS_QOS)
        self.create_subscription(Transition, 'transitions', self._on_transition,
                                 TRANSITIONS_QOS, raw=True)
        self._stats_subscription = None
        if self._metrics is not None:
            self._stats_subscription = self.create_subscription(
                EpisodeStats, 'episode_stats', self._log_episode, STATS_QOS)
        self.create_timer(p.ack_period_s, self._publish_acks)
        self.create_timer(status_period_s, self._log_status)
        self._publish_acks()   # a resumed run announces at once where each actor resumes
        self.get_logger().info(f'learner session {self._session}, run_dir {run_dir}')
        self._stop = threading.Event()
        self._trainer = threading.Thread(target=self._train_loop, args=(status_period_s,),
                                         name='learner_training', daemon=True)
        self._trainer.start()

    # --- actors -------------------------------------------------------------------------
    def _on_transition(self, payload: bytes) -> None:
        try:
            message = transition_message_from_bytes(payload)
        except TransitionFormatError as error:
            self._report('undecodable', f'dropped a transition: {error}')
            return
        if STREAM_SEPARATOR in message.actor_id:
            self._report('bad_id', f"dropped a transition: actor id '{message.actor_id}' "
                         f"contains '{STREAM_SEPARATOR}'")
            return
        stream = stream_id(message.actor_id, message.actor_session)
        try:
            kind, missing = self._core.receive(stream, message.sequence, payload)
        except LearnerConfigurationError as error:
            raise NodeFailed(f'cannot train on the first transition: {error}') from None
        if kind == GAP:
            self._report(('gap', message.actor_id),
                         f'{message.actor_id}: transition {message.sequence} arrived with '
                         f'{missing} before it missing; waiting for the resend')
        elif kind == REJECTED:
            self._report('rejected', f'{message.actor_id}: transition {message.sequence} '
                         'is unusable (see above) and was not acknowledged')

    def _report(self, key, text: str) -> None:
        suppressed = self._throttle.check(key)
        if suppressed is not None:
            more = f' ({suppressed} more suppressed)' if suppressed else ''
            self.get_logger().warning(text + more)

    def _publish_acks(self) -> None:
        stamp = self.get_clock().now().to_msg()
        for stream, next_sequence in self._core.acks().items():
            actor_id, actor_session = stream_owner(stream)
            message = TransitionAck(actor_id=actor_id, actor_session=actor_session,
                                    next_sequence=next_sequence, learner_session=self._session)
            message.header.stamp = stamp
            self._ack_publisher.publish(message)

    def _log_episode(self, stats: EpisodeStats) -> None:
        # The classifier's counts only from an actor that checked them (in simulation).
        fields = EPISODE_STATS_FIELDS + (CHECK_FIELDS if stats.reward_checked else ())
        with self._metrics_lock:
            self._metrics.log_episode({name: getattr(stats, name) for name in fields})

    def _log_learner(self, metrics: Dict[str, float]) -> None:
        core = self._core
        row = dict(metrics, policy_version=core.policy_version,
                   transitions_received=core.counters['transitions_received'],
                   online_buffer=len(core.online), offline_buffer=len(core.offline))
        with self._metrics_lock:
            self._metrics.log_learner(core.counters['learner_steps'], row)
            self._metrics.write_plots()

    # --- training thread -----------------------------------------------------------------
    def _train_loop(self, metrics_period_s: float) -> None:
        try:
            self._train(metrics_period_s)
        except Exception as error:  # reported by the status timer, which stops the node
            self._failure = f'{error!r}\n{traceback.format_exc()}'

    def _train(self, metrics_period_s: float) -> None:
        core = self._core
        pushed_version, pushed_at, metrics_at = None, float('-inf'), time.monotonic()
        min_period = 1.0 / self._max_update_rate if self._max_update_rate > 0 else 0.0
        while not self._stop.is_set():
            started = time.monotonic()
            if core.pretraining_left():
                self._pretrain_step()
                continue
            if core.agent is not None and core.policy_version != pushed_version and (
                    pushed_version is None or started - pushed_at >= self._push_period_s):
                pushed_version, pushed_at = self._push_policy(), started
            if not self._learn or not core.may_train():
                self._stop.wait(0.01 if core.ready() else 0.05)
                continue
            metrics = core.train_step()
            if core.checkpoint_due():
                self.get_logger().info(f'checkpoint written: {core.checkpoint()}')
            if started - metrics_at >= metrics_period_s:
                metrics_at = started
                self._log_learner(metrics)
            if min_period:
                self._stop.wait(max(0.0, min_period - (time.monotonic() - started)))

    def _pretrain_step(self) -> None:
        # Runs here, not at start-up, so that the node answers (and can be stopped) while
        # it pretrains; the actors wait for the first policy, pushed once it is done.
        core = self._core
        metrics = core.pretrain_step()
        total, left = core.settings.offline_pretrain_updates, core.pretraining_left()
        if (total - left) % max(1, total // 10) == 0 or not left:
            self.get_logger().info(f'offline pretraining {total - left}/{total}: critic loss '
                                   f"{metrics.get('critic_loss', float('nan')):.4f}")
        if not left:
            self.get_logger().info(f'checkpoint written: {core.checkpoint()}')

    def _push_policy(self) -> int:
        version = self._core.policy_version
        blob, digest = encode_policy(self._core.agent, version)
        message = PolicyParameters(format_version=POLICY_FORMAT_VERSION, policy_version=version,
                                   sha256=digest, blob=blob)
        message.header.stamp = self.get_clock().now().to_msg()
        self._parameters_publisher.publish(message)
        return version

    def _log_status(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f'training stopped: {self._failure}')
        core, now = self._core, time.monotonic()
        steps = core.counters['learner_steps']
        rate = (steps - self._updates_at_status[0]) / max(now - self._updates_at_status[1], 1e-9)
        self._updates_at_status = (steps, now)
        if core.agent is None:
            self.get_logger().info('waiting for demonstrations or a first transition')
            return
        counters = core.counters
        learning = (f'{steps} learner steps, {rate:.1f} updates/s, policy version '
                    f'{core.policy_version}, temperature {core.agent.temperature:.4g}'
                    if core.ready() else
                    f'learning starts after {core.settings.online_step_before_learning} '
                    'online steps')
        self.get_logger().info(
            f"status: {counters['transitions_received']} transitions received from "
            f'{len(core.tracker.next_expected)} actor(s) ({core.num_online_steps} online '
            f"steps stored, {len(core.offline)} in the demo buffer; {core.tracker.duplicates}"
            f" duplicates, {core.tracker.gaps} gaps, {counters['rejected']} rejected) | "
            f'{learning}')

    def destroy_node(self):
        """Log episodes still queued, stop training, write a final checkpoint, close logs."""
        if getattr(self, '_stats_subscription', None) is not None:
            # An actor that ended its run waited for these to be acknowledged: log them.
            drain(self._stats_subscription, self._log_episode)
        if getattr(self, '_trainer', None) is not None:
            self._stop.set()
            self._trainer.join(timeout=30.0)
            if self._learn and self._failure is None and not self._trainer.is_alive():
                started = time.monotonic()
                path = self._core.checkpoint()   # only what arrived since the last one
                if path:
                    self.get_logger().info(f'final checkpoint written: {path} '
                                           f'({time.monotonic() - started:.2f} s)')
            self._core.close()
            with self._metrics_lock:
                if self._metrics is not None:
                    self._metrics.close()
        return super().destroy_node()


def main(args=None):
    """Run the learner node."""
    run_node(LearnerNode, args=args)


if __name__ == '__main__':
    main()
