#!/usr/bin/env python3
"""
Actor-to-learner transport over DDS: transitions and policy parameter pushes.

Prints `key: value` lines (targets on a 2-core CPU in brackets):
  transition_latency_p50_ms   header stamp -> received and deserialized in another
                              process, sent at --rate (the actor's 30 Hz)           [record]
  transition_latency_p99_ms                                                         [<= 20]
  policy_blob_bytes           the actor's parameters of a 2-camera 128x128 agent with
                              the frozen encoder, as the learner pushes them        [record]
  param_push_latency_ms       PolicyParameters published -> decode_policy done in
                              another process, median over --pushes                 [<= 100]
  transitions_per_s           transitions acknowledged by the real learner node
                              (learn:=false), sent as fast as a window of
                              --window unacknowledged ones allows                   [>= 500]
  transitions_lost            sent - the learner's last transition_acks next_sequence
                              over all phases                                       [0]

Each transition carries 2 cameras 128x128 rgb8 and a 16-float state, built with
transition_to_message and transition_to_bytes as the actor builds it and published as
raw bytes on `transitions` with the learner's TRANSITIONS_QOS. The receiver of the
throughput figure is the real `learner` process (use_cameras:=true, image_encoder:=cnn so
it stores pixels: the frozen encoder's compute is not transport); it logs every transition
to its write-ahead log before acknowledging it. A second process (this script with
--probe) subscribes to `transitions` beside the learner with the same QoS and records
receipt time - header.stamp (same clock), and decodes pushed PolicyParameters on the
latched `policy_parameters` topic, replying with the latency so pushes never overtake.

Run inside the workspace: `make bench` or `scripts/in_env python bench/transport.py`.
"""

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

ACTOR_ID = 'bench_actor'
STATE_DIM = 16
CAMERAS = ('front', 'wrist')
IMAGE_SIZE = 128
EPISODE_LENGTH = 100
BENCH_VERSION_BASE = 1_000_000   # the learner's own pushes have small versions
REPLY_TOPIC = 'bench_transport/param_decoded_ms'


# --- the probe process -----------------------------------------------------------------

def run_probe(options) -> int:
    """Record transition latencies and decode pushed parameters until stopped."""
    from hilserl_interfaces.msg import PolicyParameters, Transition
    from hilserl_learning.policy_blob import decode_policy
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Float64

    from hilserl.nodes.learner import PARAMETERS_QOS, TRANSITIONS_QOS

    rclpy.init()
    node = rclpy.create_node('bench_transport_probe')
    latencies = []
    reply = node.create_publisher(Float64, REPLY_TOPIC,
                                  QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))

    def on_transition(message):
        received_ns = time.time_ns()
        stamp = message.header.stamp
        if options.first_sequence <= message.sequence <= options.last_sequence:
            latencies.append((received_ns - (stamp.sec * 10**9 + stamp.nanosec)) / 1e6)
        if message.sequence == options.last_sequence:
            with open(options.output + '.part', 'w') as stream:
                json.dump(latencies, stream)
            os.replace(options.output + '.part', options.output)

    def on_parameters(message):
        if message.policy_version < BENCH_VERSION_BASE:
            return   # the learner's own policy
        decode_policy(bytes(message.blob), message.sha256, message.format_version)
        stamp = message.header.stamp
        reply.publish(Float64(data=(time.time_ns() - (stamp.sec * 10**9 + stamp.nanosec))
                              / 1e6))

    node.create_subscription(Transition, 'transitions', on_transition, TRANSITIONS_QOS)
    node.create_subscription(PolicyParameters, 'policy_parameters', on_parameters,
                             PARAMETERS_QOS)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0


# --- the actor side ----------------------------------------------------------------------

class BenchActor:
    """Numbered transitions of fixed-length episodes, and the learner's receipts."""

    def __init__(self, probe, watched=(), seed: int = 0):
        """Prepare the publisher, the receipts' subscription and a few observations."""
        from hilserl_interfaces.msg import Transition, TransitionAck

        from hilserl.nodes.learner import ACKS_QOS, TRANSITIONS_QOS
        from hilserl.ros.transition_messages import observation_to_message

        self.probe = probe
        self.watched = list(watched)   # processes whose death ends every wait
        self.session = secrets.token_hex(4)   # one stream per process, as the actor's
        self.publisher = probe.publisher(Transition, 'transitions', TRANSITIONS_QOS)
        self.acked = 0
        self.next_sequence = 0
        self.acks = probe.node.create_subscription(TransitionAck, 'transition_acks',
                                                   self._on_ack, ACKS_QOS)
        rng = np.random.default_rng(seed)
        self.state_names = [f's{i}' for i in range(STATE_DIM)]
        # The actor sends the Observation messages it built from the frames it received.
        self.observations = [observation_to_message(
            {'state': rng.normal(size=STATE_DIM).astype(np.float32),
             'pixels': rng.integers(0, 256, (len(CAMERAS), 3, IMAGE_SIZE, IMAGE_SIZE),
                                    dtype=np.uint8)},
            self.state_names, CAMERAS) for _ in range(4)]

    def _on_ack(self, message) -> None:
        if (message.actor_id, message.actor_session) == (ACTOR_ID, self.session):
            self.acked = max(self.acked, message.next_sequence)

    def send(self) -> None:
        """Build, serialize and publish the next transition, stamped now."""
        from hilserl.ros.transition_messages import transition_to_bytes, transition_to_message
        sequence = self.next_sequence
        episode, step = divmod(sequence, EPISODE_LENGTH)
        last = step == EPISODE_LENGTH - 1
        observation = self.observations[sequence % len(self.observations)]
        final = self.observations[(sequence + 1) % len(self.observations)] if last else None
        message = transition_to_message(
            ACTOR_ID, sequence, episode, step, observation, [0.01, -0.02, 0.0, 1.0], 0.0,
            truncated=last, final_observation=final, state_names=self.state_names,
            camera_names=CAMERAS, stamp=self.probe.node.get_clock().now().to_msg(),
            actor_session=self.session)
        self.publisher.publish(transition_to_bytes(message))
        self.next_sequence += 1

    def send_at_rate(self, rate_hz: float, count: int) -> None:
        """Send ``count`` transitions at ``rate_hz``, handling receipts between ticks."""
        next_tick = time.perf_counter()
        for _ in range(count):
            self.send()
            next_tick += 1.0 / rate_hz
            self.probe.executor.spin_once(timeout_sec=0)
            while time.perf_counter() < next_tick:
                self.probe.executor.spin_once(
                    timeout_sec=max(0.0, min(0.002, next_tick - time.perf_counter())))

    def send_windowed(self, count: int, window: int, stall_s: float) -> int:
        """Send ``count`` as fast as ``window`` unacknowledged allow; return how many went."""
        end = self.next_sequence + count
        progress_at, last_acked = time.monotonic(), self.acked
        while self.next_sequence < end:
            if self.next_sequence - self.acked < window:
                self.send()
                self.probe.executor.spin_once(timeout_sec=0)
            else:
                self.probe.executor.spin_once(timeout_sec=0.01)
            if self.acked != last_acked:
                progress_at, last_acked = time.monotonic(), self.acked
            elif time.monotonic() - progress_at > stall_s:
                break   # acknowledgements stopped: reported as lost, not waited for
            self.check_alive()
        return count - (end - self.next_sequence)

    def wait_for_ack(self, sequence: int, timeout: float) -> bool:
        """Wait until everything before ``sequence`` is acknowledged; return whether it was."""
        deadline = time.monotonic() + timeout
        while self.acked < sequence and time.monotonic() < deadline:
            self.probe.executor.spin_once(timeout_sec=0.01)
            self.check_alive()
        return self.acked >= sequence

    def check_alive(self) -> None:
        """Raise RuntimeError, with its output, when a watched process has exited."""
        for process in self.watched:
            if not process.alive():
                raise RuntimeError(f'{process.name} exited ({process.process.returncode}); '
                                   f'its output ends:\n{process.output()[-3000:]}')


def policy_agent():
    """Return the SACAgent the learner would push for 2 cameras with the frozen encoder."""
    from hilserl_learning import AgentConfig, SACAgent
    return SACAgent(AgentConfig(state_dim=STATE_DIM, action_dim=3, num_cameras=len(CAMERAS),
                                image_size=IMAGE_SIZE, image_encoder='frozen'))


def push_parameters(probe, agent, pushes: int, timeout: float) -> tuple:
    """Push the agent's parameters ``pushes`` times; return (blob bytes, latencies ms)."""
    from hilserl_interfaces.msg import PolicyParameters
    from hilserl_learning.policy_blob import encode_policy, POLICY_FORMAT_VERSION
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Float64

    from hilserl.nodes.learner import PARAMETERS_QOS

    publisher = probe.publisher(PolicyParameters, 'policy_parameters', PARAMETERS_QOS)
    replies = probe.subscribe(Float64, REPLY_TOPIC,
                              QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    probe.wait_for_subscribers(publisher, timeout=timeout)
    replies.wait_for_publishers(timeout=timeout)
    size = 0
    for push in range(pushes):
        blob, digest = encode_policy(agent, BENCH_VERSION_BASE + push)   # learner-side work
        size = len(blob)
        message = PolicyParameters(format_version=POLICY_FORMAT_VERSION,
                                   policy_version=BENCH_VERSION_BASE + push, sha256=digest,
                                   blob=blob)
        message.header.stamp = probe.node.get_clock().now().to_msg()
        publisher.publish(message)
        replies.wait_for_messages(push + 1, timeout=timeout)
    return size, [reply.data for reply in replies.messages]


def learner_spec(run_dir: str, capacity: int):
    """Return the real learner, storing pixels, not training."""
    from hilserl.launching.graph import NodeSpec
    return NodeSpec('learner', 'learner', parameters={
        'run_dir': run_dir, 'learn': False, 'use_cameras': True, 'image_encoder': 'cnn',
        'online_buffer_capacity': capacity, 'offline_buffer_capacity': 10,
        'policy_push_period_s': 1000.0, 'torch_threads': 1})


def wait_for_file(probe, process, path: str, timeout: float) -> list:
    """Wait for the probe process's result file; return its content."""
    def written():
        if not process.alive():
            raise RuntimeError(f'the probe process exited; its output:\n{process.output()}')
        return os.path.exists(path)
    probe.spin_until(written, timeout, f'the probe to write {path}')
    with open(path) as stream:
        return json.load(stream)


def bench(options, work_dir: str) -> None:
    """Start the learner and the probe process, run the phases, print the figures."""
    from ament_index_python.packages import get_package_share_directory

    from hilserl_testing.isolation import DomainLease, isolated_environment
    from hilserl_testing.probe import GraphProbe
    from hilserl_testing.processes import ProcessGroup

    lease = DomainLease()
    config_dir = os.path.join(get_package_share_directory('hilserl'), 'config')
    os.environ.update(isolated_environment(lease.domain_id, config_dir))
    processes = ProcessGroup(work_dir)
    probe = GraphProbe('bench_transport')
    warmup = max(1, int(options.rate))
    first, last = warmup, warmup + max(1, int(options.rate * options.latency_seconds)) - 1
    latencies_path = os.path.join(work_dir, 'latencies.json')
    try:
        learner = processes.start_node(learner_spec(os.path.join(work_dir, 'run'),
                                                    options.capacity))
        receiver = processes.start(
            [sys.executable, os.path.abspath(__file__), '--probe', '--output', latencies_path,
             '--first-sequence', str(first), '--last-sequence', str(last)], 'probe')
        actor = BenchActor(probe, watched=[learner])
        agent = policy_agent()   # built while the processes start
        try:
            probe.wait_for_subscribers(actor.publisher, count=2, timeout=options.timeout)
            probe.spin_until(lambda: actor.acks.get_publisher_count() > 0, options.timeout,
                             'the learner\'s transition_acks')
        except AssertionError:
            for process in (learner, receiver):
                print(f'--- {process.name} output:\n{process.output()[-2000:]}', file=sys.stderr)
            raise
        # Warm-up: the first transition makes the learner build its agent and buffers.
        actor.send_at_rate(options.rate, warmup)
        if not actor.wait_for_ack(warmup, options.timeout):
            raise RuntimeError(f'the learner acknowledged {actor.acked} of {warmup} warm-up '
                               f'transitions; its output:\n{learner.output()[-2000:]}')
        actor.send_at_rate(options.rate, last - first + 1)
        latencies = wait_for_file(probe, receiver, latencies_path, options.timeout)
        for percentile in (50, 99):
            value = float(np.percentile(latencies, percentile))
            print(f'transition_latency_p{percentile}_ms: {value:.2f}', flush=True)
        size, push_ms = push_parameters(probe, agent, options.pushes, options.timeout)
        print(f'policy_blob_bytes: {size}', flush=True)
        print(f'param_push_latency_ms: {statistics.median(push_ms):.1f}', flush=True)
        receiver.stop()   # the throughput phase has the learner alone on the topic
        actor.wait_for_ack(actor.next_sequence, options.timeout)
        start_sequence, start = actor.next_sequence, time.perf_counter()
        sent = actor.send_windowed(options.transitions, options.window, options.timeout)
        actor.wait_for_ack(start_sequence + sent, options.timeout)
        elapsed = time.perf_counter() - start
        print(f'transitions_per_s: {(actor.acked - start_sequence) / elapsed:.1f}', flush=True)
        print(f'transitions_lost: {actor.next_sequence - actor.acked}', flush=True)
    finally:
        probe.close()
        processes.stop_all()
        lease.release()


def main() -> int:
    """Parse the options; run the benchmark (or, with --probe, the receiving process)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--transitions', type=int, default=3000,
                        help='transitions of the throughput phase (default 3000)')
    parser.add_argument('--window', type=int, default=800,
                        help='most unacknowledged transitions in flight in the throughput '
                             'phase; below the QoS depth of 1000 (default 800)')
    parser.add_argument('--rate', type=float, default=30.0,
                        help='send rate of the latency phase, Hz (default 30)')
    parser.add_argument('--latency-seconds', type=float, default=10.0,
                        help='duration of the latency phase (default 10)')
    parser.add_argument('--pushes', type=int, default=10,
                        help='policy parameter pushes (default 10)')
    parser.add_argument('--capacity', type=int, default=2000,
                        help="rows of the learner's online buffer (default 2000)")
    parser.add_argument('--timeout', type=float, default=120.0,
                        help='deadline of every wait, s (default 120)')
    parser.add_argument('--probe', action='store_true',
                        help='internal: be the receiving process (started by the benchmark)')
    parser.add_argument('--output', help='internal (--probe): file for the latencies')
    parser.add_argument('--first-sequence', type=int, default=0, help='internal (--probe)')
    parser.add_argument('--last-sequence', type=int, default=0, help='internal (--probe)')
    options = parser.parse_args()
    if options.probe:
        return run_probe(options)
    if not 0 < options.window <= 1000 or options.rate <= 0 or options.pushes < 1:
        parser.error('--window must be 1..1000, --rate positive, --pushes at least 1')
    work_dir = tempfile.mkdtemp(prefix='hilserl-bench-transport-')
    try:
        bench(options, work_dir)
    except (AssertionError, RuntimeError) as error:
        print(f'transport benchmark failed: {error} (logs in {work_dir})', file=sys.stderr)
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)   # the learner's log holds every transition
    return 0


if __name__ == '__main__':
    sys.exit(main())
