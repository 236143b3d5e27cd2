"""
Managed (lifecycle) nodes driven through the ``lifecycle_msgs`` services.

The SO100 follower driver runs as its own process, started as the launchers start it
(``autostart:=false``), against a servo emulator served from this process: the test
reads the servos' registers and every write that reached the bus. The runner's
bring-up is checked on the demo mode's cameras, and its failure on a driver without
its port; the actor's deactivation on the simulated arm.
"""

import io
import json
import signal
import subprocess
import sys
import threading
import time

from hilserl.arm.robot_registry import load_robot
from hilserl.launching.graph import Mode, NodeSpec
from hilserl.launching.modes import MODES
from hilserl.launching.runner import GraphRunner
from hilserl.ros.lifecycle_client import LifecycleClient
from hilserl_testing.processes import wait_for_output
from hilserl_interfaces.msg import EndEffectorCommand
from lifecycle_msgs.srv import ChangeState, GetState
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

pytest.importorskip('scservo_sdk')

from hilserl_so100_driver import protocol  # noqa: E402
from hilserl_so100_driver.bus_emulator import BusEmulator  # noqa: E402
from hilserl_so100_driver.protocol import Instruction  # noqa: E402

IDS = (1, 2, 3, 4, 5, 6)
TORQUE_ENABLE, GOAL_POSITION = 40, 42
CALIBRATION = {   # LeRobot's format, as in test_so100_driver_node.py
    name: {'id': i + 1, 'drive_mode': 0, 'homing_offset': offset, 'range_min': 1000,
           'range_max': 3096}
    for i, (name, offset) in enumerate([
        ('shoulder_pan', 100), ('shoulder_lift', -200), ('elbow_flex', 0),
        ('wrist_flex', 0), ('wrist_roll', 0), ('gripper', 0)])}


class WatchedBus(BusEmulator):
    """The emulator, keeping every write it got as ``(servo id, address, data)``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.writes = []
        self._writes_lock = threading.Lock()

    def handle(self, packet, now, client_baud=None):
        if packet.instruction == Instruction.WRITE:
            address, data = protocol.parse_write(packet.params)
            writes = [(packet.id, address, bytes(data))]
        elif packet.instruction == Instruction.SYNC_WRITE:
            address, _, groups = protocol.parse_sync_write(packet.params)
            writes = [(servo_id, address, bytes(data)) for servo_id, data in groups]
        else:
            writes = []
        with self._writes_lock:
            self.writes.extend(writes)
        return super().handle(packet, now, client_baud)

    def writes_since(self, start):
        with self._writes_lock:
            return list(self.writes[start:])

    def torques(self):
        return [self.servo_value(i, 'Torque_Enable') for i in IDS]


def call(probe, service_type, name, request, timeout=30.0):
    """Call a service once it is offered; return the reply."""
    client = probe.node.create_client(service_type, name)
    try:
        probe.spin_until(client.service_is_ready, timeout, f'service {name}')
        future = client.call_async(request)
        probe.spin_until(future.done, timeout, f'the reply of {name}')
        return future.result()
    finally:
        probe.node.destroy_client(client)


def change_state(probe, node, label):
    request = ChangeState.Request()
    request.transition.label = label
    return call(probe, ChangeState, f'{node}/change_state', request).success


def get_state(probe, node):
    return call(probe, GetState, f'{node}/get_state', GetState.Request()).current_state.label


def goal_and_torque(writes):
    """Return the writes as ('goal' | 'torque on' | 'torque off', servo id) in order."""
    named = []
    for servo_id, address, data in writes:
        if address == GOAL_POSITION:
            named.append(('goal', servo_id))
        elif address == TORQUE_ENABLE:
            named.append(('torque on' if data[0] else 'torque off', servo_id))
    return named


def test_driver_configure_activate_deactivate_over_the_bus(processes, probe, tmp_path):
    link = str(tmp_path / 'ttySO100')
    calibration_file = tmp_path / 'follower.json'
    calibration_file.write_text(json.dumps(CALIBRATION))
    bus = WatchedBus(IDS, link=link).start()
    try:
        node = processes.start_node(NodeSpec(
            'so100_follower', 'so100_follower', package='hilserl_so100_driver',
            lifecycle=True,
            parameters={'port': link, 'calibration_file': str(calibration_file),
                        'control_rate_hz': 50.0, 'on_fault': 'torque_off',
                        'on_shutdown': 'torque_off'}))
        states = probe.subscribe(JointState, '/joint_states', 10)
        commands = probe.publisher(Float64MultiArray, '/joint_commands', 10)
        driver = '/so100_follower'

        # Unconfigured: the port has not been touched.
        assert get_state(probe, driver) == 'unconfigured'
        assert bus.stats['requests'] == 0 and bus.writes == []
        for servo_id in IDS:
            bus.configure(servo_id, 'Torque_Enable', 1)   # left on by an earlier program

        # configure: the servos set up (calibration saved), torque off, nothing moves.
        assert change_state(probe, driver, 'configure')
        assert get_state(probe, driver) == 'inactive'
        assert bus.stats['requests'] > 0
        assert bus.servo_value(2, 'Homing_Offset') == -200
        assert bus.torques() == [0] * 6
        assert ('torque on', 1) not in goal_and_torque(bus.writes)
        assert not [w for w in goal_and_torque(bus.writes) if w[0] == 'goal']
        probe.spin_for(0.3)
        assert states.messages == []

        # activate: the present position as the goal, then torque on; joint_states flow.
        start = len(bus.writes)
        assert change_state(probe, driver, 'activate')
        assert bus.torques() == [1] * 6
        named = goal_and_torque(bus.writes_since(start))
        assert named.index(('goal', 1)) < named.index(('torque on', 1))
        states.wait_for_messages(5, timeout=10)

        # A move under way when the driver is deactivated.
        probe.wait_for_subscribers(commands)
        deadline = time.monotonic() + 10.0
        while abs(states.messages[-1].position[0] - 0.3) > 0.05:
            assert time.monotonic() < deadline, states.messages[-1].position
            commands.publish(Float64MultiArray(data=[0.3, 0.0, 0.0, 0.0, 0.0, 0.5]))
            probe.spin_for(0.05)

        # deactivate: hold where the arm is, then torque off (on_fault: torque_off).
        start = len(bus.writes)
        assert change_state(probe, driver, 'deactivate')
        assert get_state(probe, driver) == 'inactive'
        after = bus.writes_since(start)
        named = goal_and_torque(after)
        assert named[0][0] == 'goal' and named[-1][0] == 'torque off', named
        last_goal = max(i for i, (what, _) in enumerate(named) if what == 'goal')
        first_off = min(i for i, (what, _) in enumerate(named) if what == 'torque off')
        assert last_goal < first_off
        assert {servo_id for what, servo_id in named if what == 'torque off'} == set(IDS)
        assert bus.torques() == [0] * 6
        held = {servo_id: int.from_bytes(data, 'little') for servo_id, address, data in after
                if address == GOAL_POSITION}
        for servo_id in IDS:   # the goal held is where the servo was: no jump
            assert abs(held[servo_id] - bus.servo_value(servo_id, 'Present_Position')) <= 20

        # Inactive: no joint_states, and commands do not reach the bus.
        probe.spin_for(0.3)
        count, start = len(states.messages), len(bus.writes)
        commands.publish(Float64MultiArray(data=[0.0, 0.0, 0.0, 0.0, 0.0, 0.5]))
        probe.spin_for(0.5)
        assert len(states.messages) == count
        assert not goal_and_torque(bus.writes_since(start))

        # Active again: torque back on where the arm is; Ctrl-C applies on_shutdown.
        assert change_state(probe, driver, 'activate')
        assert bus.torques() == [1] * 6
        states.wait_for_messages(count + 3, timeout=10)
        node.process.send_signal(signal.SIGINT)
        assert node.wait(timeout=30) == 0
        assert bus.torques() == [0] * 6
        output = node.output()
        assert 'Traceback' not in output
        for line in ('configure: now inactive', 'activate: now active',
                     'deactivated: holding the present position, torque off',
                     'deactivate: now inactive'):
            assert line in output, output
    finally:
        bus.stop()


def test_the_runner_brings_managed_cameras_up_and_the_cli_changes_them(processes, probe):
    front = probe.subscribe(Image, '/front/image_raw', qos_profile_sensor_data)
    wrist = probe.subscribe(Image, '/wrist/image_raw', qos_profile_sensor_data)
    demo = processes.start_mode('demo', duration=0)
    output = wait_for_output(demo, 'managed nodes active', timeout=90)
    assert '/front/camera: active' in output and '/wrist/camera: active' in output
    assert output.index('/front/camera: active') < output.index('/wrist/camera: active')
    front.wait_for_messages(3, timeout=30)
    assert get_state(probe, '/front/camera') == 'active'

    result = subprocess.run([sys.executable, '-m', 'hilserl', 'lifecycle', 'set',
                             '/front/camera', 'deactivate'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '/front/camera: deactivate done, now inactive' in result.stdout
    probe.spin_for(0.5)   # what was on the way
    front.messages.clear()
    wrist.messages.clear()
    probe.spin_for(1.0)
    assert front.messages == [] and len(wrist.messages) > 3

    # A fresh process discovers the cameras' services: give it the time a loaded machine needs
    # (2 s was too short once in CI), and ask for the unmanaged node separately, briefly.
    result = subprocess.run([sys.executable, '-m', 'hilserl', 'lifecycle', 'get', '--wait',
                             '30', '/front/camera', '/wrist/camera'],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    assert '/front/camera: inactive' in result.stdout
    assert '/wrist/camera: active' in result.stdout
    result = subprocess.run([sys.executable, '-m', 'hilserl', 'lifecycle', 'get', '--wait',
                             '2', '/image_processor'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'no /image_processor/get_state service' in result.stderr
    assert 'Traceback' not in result.stderr


def test_a_managed_node_that_cannot_be_configured_stops_its_mode(tmp_path):
    mode = Mode('test', 'a driver without its adapter', (), lambda arguments: [NodeSpec(
        'so100_follower', 'so100_follower', package='hilserl_so100_driver', lifecycle=True,
        parameters={'port': str(tmp_path / 'no_adapter')})])
    output = io.StringIO()
    status = GraphRunner(mode, {}, output, interactive=False).run()
    text = output.getvalue()
    assert status == 1, text
    assert 'configure failed: cannot open' in text and 'no_adapter' in text
    assert 'the managed nodes could not be brought up' in text
    assert '/so100_follower finished cleanly' in text and 'Traceback' not in text


def test_a_deactivated_actor_stops_commanding_and_the_arm_holds(processes, probe):
    commands = probe.subscribe(EndEffectorCommand, '/end_effector_command', 100)
    joint_commands = probe.subscribe(Float64MultiArray, '/joint_commands', 100)
    for spec in MODES['sim'].nodes({'robot': 'so101', 'task': 'reach'}):
        processes.start_node(spec)
    # Without policy parameters the actor's steps are zero actions: commands all the same.
    actor = processes.start_node(NodeSpec('actor', 'actor', lifecycle=True, parameters={
        'camera_names': [], 'fps': 10.0, 'control_time_s': 5.0,
        'reward_source': 'ground_truth', 'state_from_ground_truth': True,
        'send_transitions': False, **load_robot('so101').joint_parameters()}))
    with LifecycleClient(wait_s=60.0) as lifecycle:
        assert lifecycle.state('/actor') == 'unconfigured'
        probe.spin_for(1.0)
        assert commands.messages == []   # not active: nothing commanded
        lifecycle.bring_up(['/actor'])
        commands.wait_for_messages(5, timeout=60)
        assert lifecycle.change('/actor', 'deactivate') == 'inactive'
        probe.spin_for(1.0)   # what was on the way, and the filter's command_timeout_s
        count, joints = len(commands.messages), len(joint_commands.messages)
        joint_commands.wait_for_messages(joints + 10, timeout=10)
        assert len(commands.messages) == count
        held = [np.asarray(m.data) for m in joint_commands.messages[joints:]]
        for target in held[1:]:
            np.testing.assert_allclose(target, held[0])
        assert lifecycle.change('/actor', 'activate') == 'active'
    commands.wait_for_messages(count + 5, timeout=10)
    output = wait_for_output(actor, 'no more commands until activated again', 5)
    assert 'Traceback' not in output
