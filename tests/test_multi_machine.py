"""
Actor and learner on two machines, played by two network namespaces of this one.

The namespaces are joined by a veth pair and have no other interface than their
loopback, so nothing they send can leave this machine. The learner runs in one; a
simulated arm, its safety filter and the actor (state only, no cameras) run in the
other. DDS finds the other side the way docs/deploy.md tells a user to: discovery on
LOCALHOST plus ROS_STATIC_PEERS (unicast to the peer only) and the LAN profile that
hilserl picks for it, here without its shared-memory transport: shared memory would
also work between two namespaces of one kernel and hide the network. The learner
trains on what crosses the link, and its receipts and policy come back across it.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest

from hilserl.launching.runner import node_command
from hilserl.learner.core import STATE_FILE
from hilserl_testing.processes import LEARNER_STOP_GRACE_S
from hilserl.transport.dds import dds_environment, LAN_PROFILE_FILE

from test_train_reliability import arm_with_actor, learner_spec

ACTOR_ID = 'robot'
LEARNER_ADDRESS, ACTOR_ADDRESS = '10.213.0.1', '10.213.0.2'
TRANSITIONS = 300
FASTDDS = '{http://www.eprosima.com}'


class TwoHosts:
    """Two network namespaces, ``learner`` and ``actor``, joined by a veth pair."""

    def __init__(self):
        """Create them; raise OSError with ``ip``'s message when this machine refuses."""
        tag = str(os.getpid())
        self.namespace = {'learner': f'hilserl-{tag}-learner', 'actor': f'hilserl-{tag}-actor'}
        self.interface = {'learner': f'hs{tag}l', 'actor': f'hs{tag}a'}
        self.address = {'learner': LEARNER_ADDRESS, 'actor': ACTOR_ADDRESS}
        _ip('netns', 'add', self.namespace['learner'])
        try:
            _ip('netns', 'add', self.namespace['actor'])
            _ip('link', 'add', self.interface['learner'], 'type', 'veth',
                'peer', 'name', self.interface['actor'])
            for side in ('learner', 'actor'):
                namespace, interface = self.namespace[side], self.interface[side]
                _ip('link', 'set', interface, 'netns', namespace)
                _ip('-n', namespace, 'addr', 'add', f'{self.address[side]}/30', 'dev', interface)
                _ip('-n', namespace, 'link', 'set', 'lo', 'up')
                _ip('-n', namespace, 'link', 'set', interface, 'up')
        except OSError:
            self.remove()
            raise

    def command(self, side, command, profile):
        """Return ``command`` run in ``side``'s namespace, with the other side as its peer."""
        peer = self.address['actor' if side == 'learner' else 'learner']
        return ['ip', 'netns', 'exec', self.namespace[side], 'env',
                'ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST', f'ROS_STATIC_PEERS={peer}',
                f'FASTDDS_DEFAULT_PROFILES_FILE={profile}', *command]

    def received_bytes(self, side):
        """Return the bytes ``side``'s end of the veth has received."""
        [link] = json.loads(_ip('-n', self.namespace[side], '-s', '-j', 'link', 'show',
                                'dev', self.interface[side]))
        return link['stats64']['rx']['bytes']

    def remove(self):
        """Delete both namespaces (and so the veth pair)."""
        for namespace in self.namespace.values():
            subprocess.run(['ip', 'netns', 'delete', namespace], capture_output=True)


def _ip(*arguments):
    result = subprocess.run(['ip', *arguments], capture_output=True, text=True)
    if result.returncode:
        raise OSError(f"ip {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout


def _remove_namespaces_of_dead_sessions():
    """Delete namespaces a killed test session had no chance to remove."""
    listing = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True).stdout
    for pid in set(re.findall(r'^hilserl-(\d+)-', listing, re.MULTILINE)):
        if not os.path.exists(f'/proc/{pid}'):
            for side in ('learner', 'actor'):
                subprocess.run(['ip', 'netns', 'delete', f'hilserl-{pid}-{side}'],
                               capture_output=True)


@pytest.fixture
def two_hosts():
    """Two namespaces joined by a veth pair; skipped, saying why, where not allowed."""
    if shutil.which('ip') is None:
        pytest.skip('network namespace test needs iproute2 (`ip`), which is not installed')
    _remove_namespaces_of_dead_sessions()
    try:
        hosts = TwoHosts()
    except OSError as error:
        pytest.skip(f'cannot create network namespaces here (needs root or CAP_NET_ADMIN): '
                    f'{error}')
    yield hosts
    hosts.remove()


def udp_only_profile(config_dir, path):
    """Write the LAN profile hilserl picks for static peers, less shared memory; return it."""
    chosen = dds_environment(config_dir, {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                          'ROS_STATIC_PEERS': ACTOR_ADDRESS})
    assert chosen == {'FASTDDS_DEFAULT_PROFILES_FILE': os.path.join(config_dir,
                                                                    LAN_PROFILE_FILE)}
    tree = ElementTree.parse(chosen['FASTDDS_DEFAULT_PROFILES_FILE'])
    shared_memory = {d.findtext(f'{FASTDDS}transport_id')
                     for d in tree.iter(f'{FASTDDS}transport_descriptor')
                     if d.findtext(f'{FASTDDS}type') == 'SHM'}
    for transports in tree.iter(f'{FASTDDS}userTransports'):
        for transport in list(transports):
            if transport.text in shared_memory:
                transports.remove(transport)
    ElementTree.register_namespace('', FASTDDS.strip('{}'))
    tree.write(path)
    return str(path)


def wait_until(read, condition, timeout, what):
    """Poll ``read()`` until ``condition`` holds for it; return it, or fail saying what."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'no {what} within {timeout} s; last seen: {value}')
        time.sleep(0.2)


def latest(pattern, process):
    """Return the numbers of the last line of ``process`` matching ``pattern``, or None."""
    found = list(re.finditer(pattern, process.output()))
    return tuple(int(n) for n in found[-1].groups()) if found else None


def test_learner_trains_on_transitions_sent_across_a_network_link(
        two_hosts, processes, config_dir, tmp_path):
    profile = udp_only_profile(config_dir, tmp_path / 'fastdds_udp.xml')
    run_dir = str(tmp_path / 'run')
    learner = processes.start(two_hosts.command('learner', node_command(learner_spec(
        run_dir, checkpoint_every_updates=10000)), profile), 'learner')
    actor_side = {}
    for spec in arm_with_actor(ACTOR_ID):
        actor_side[spec.executable] = processes.start(
            two_hosts.command('actor', node_command(spec), profile), spec.full_name)
    # What the actor's machine receives from the learner: its receipts, and the bytes
    # of the transitions the actor sent (their lower bound on the link).
    probe = processes.start(two_hosts.command(
        'actor', [sys.executable, __file__, ACTOR_ID], profile), 'link_probe')
    learner_received_at_start = two_hosts.received_bytes('learner')

    status = wait_until(
        lambda: latest(r'status: (\d+) transitions received .* (\d+) learner steps', learner),
        lambda numbers: numbers and numbers[0] >= TRANSITIONS and numbers[1] > 0, 150,
        f'learner status with {TRANSITIONS} transitions received and learning started')
    receipt = wait_until(lambda: latest(r'acknowledged (\d+)', probe),
                         lambda numbers: numbers and numbers[0] >= TRANSITIONS, 30,
                         f'receipt for {TRANSITIONS} transitions on the actor side')
    version = wait_until(lambda: latest(r'policy version (\d+) in use', actor_side['actor']),
                         lambda numbers: numbers and numbers[0] > 0, 30,
                         'trained policy (version > 0) in use by the actor')
    # The transitions crossed the veth: the learner's end received at least their bytes.
    [sent_bytes] = wait_until(
        lambda: latest(rf'sent {TRANSITIONS} transitions of (\d+) bytes', probe), bool, 30,
        f'size of {TRANSITIONS} transitions from the probe')
    crossed = two_hosts.received_bytes('learner') - learner_received_at_start
    print(f'learner (transitions, steps) {status}; actor side: receipt {receipt}, policy '
          f'version {version}; {crossed} bytes to the learner for {sent_bytes} of transitions')
    assert crossed >= sent_bytes

    for process in reversed(list(actor_side.values())):
        assert process.stop() == 0, process.output()
    assert learner.stop(LEARNER_STOP_GRACE_S) == 0, learner.output()
    for process in (learner, *actor_side.values()):
        assert 'Traceback' not in process.output()
    [checkpoint] = os.listdir(os.path.join(run_dir, 'checkpoints'))
    with open(os.path.join(run_dir, 'checkpoints', checkpoint, STATE_FILE)) as stream:
        counters = json.load(stream)['counters']
    assert counters['transitions_received'] >= TRANSITIONS
    assert counters['learner_steps'] > 0


def run_link_probe(actor_id):
    """
    Print what the actor's machine sees of the link, one line per change.

    ``acknowledged N``: the learner's newest receipt for ``actor_id``; ``sent N
    transitions of B bytes``: the serialized size of the actor's first N transitions,
    at N = 100, 200, 300...
    """
    import rclpy
    from hilserl_interfaces.msg import Transition, TransitionAck
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    rclpy.init()
    node = rclpy.create_node('link_probe')
    sent = {'count': 0, 'bytes': 0}
    acknowledged = [0]

    def on_transition(payload):
        sent['count'] += 1
        sent['bytes'] += len(payload)
        if sent['count'] % 100 == 0:
            print(f"sent {sent['count']} transitions of {sent['bytes']} bytes", flush=True)

    def on_ack(message):
        if message.actor_id == actor_id and message.next_sequence > acknowledged[0]:
            acknowledged[0] = message.next_sequence
            print(f'acknowledged {message.next_sequence}', flush=True)

    reliable = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Transition, '/transitions', on_transition, reliable, raw=True)
    node.create_subscription(TransitionAck, '/transition_acks', on_ack, reliable)
    signal.signal(signal.SIGINT, lambda *_: rclpy.shutdown())
    try:
        rclpy.spin(node)
    except Exception:  # shut down by SIGINT
        pass


if __name__ == '__main__':
    run_link_probe(sys.argv[1])
