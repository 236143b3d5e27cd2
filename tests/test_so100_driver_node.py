"""The SO100 follower driver node on an emulated servo bus, as separate processes."""

import json
import os
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from hilserl.launching.graph import NodeSpec

pytest.importorskip('scservo_sdk')

TICKS_PER_RAD = 4096 / (2 * np.pi)
JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']
# LeRobot's calibration format; every range is centred on 2048 except the gripper's.
CALIBRATION = {
    name: {'id': i + 1, 'drive_mode': 1 if name == 'shoulder_lift' else 0,
           'homing_offset': offset, 'range_min': low, 'range_max': high}
    for i, (name, offset, low, high) in enumerate([
        ('shoulder_pan', 100, 1000, 3096), ('shoulder_lift', -200, 1000, 3096),
        ('elbow_flex', 0, 1048, 3048), ('wrist_flex', 0, 1048, 3048),
        ('wrist_roll', 0, 48, 4048), ('gripper', 0, 2000, 3000)])}
# Encoders at 2048: present = 2048 - homing offset, shoulder_lift reversed.
START = [-100 / TICKS_PER_RAD, -200 / TICKS_PER_RAD, 0.0, 0.0, 0.0, 0.048]
HOME = [0.0, 0.0, 0.0, 0.0, 0.0, 0.5]


def start_emulator(processes, link, *faults):
    process = processes.start([sys.executable, '-m', 'hilserl_so100_driver.bus_emulator',
                               '--link', link, *faults], 'servo_bus_emulator')
    deadline = time.monotonic() + 15.0
    while not os.path.lexists(link):
        assert process.alive(), process.output()
        assert time.monotonic() < deadline, f'no {link} after 15 s:\n{process.output()}'
        time.sleep(0.02)
    return process


def levels(array):
    return [status.level for status in array.status]


def test_follower_on_the_contract_with_faults(processes, probe, tmp_path):
    link = str(tmp_path / 'ttySO100')
    calibration_file = tmp_path / 'follower.json'
    calibration_file.write_text(json.dumps(CALIBRATION))
    emulator = start_emulator(processes, link)
    node = processes.start_node(NodeSpec(
        'so100_follower', 'so100_follower', package='hilserl_so100_driver',
        parameters={'port': link, 'calibration_file': str(calibration_file),
                    'control_rate_hz': 50.0, 'max_joint_step': 0.05,
                    'home_joint_positions': HOME, 'max_failed_ticks': 3,
                    'reconnect_period_s': 0.3, 'diagnostics_rate_hz': 5.0}))
    states = probe.subscribe(JointState, '/joint_states', 10)
    diagnostics = probe.subscribe(DiagnosticArray, '/diagnostics', 10)
    commands = probe.publisher(Float64MultiArray, '/joint_commands', 10)

    first = states.wait_for_messages(1, timeout=30)[0]
    assert list(first.name) == JOINTS
    np.testing.assert_allclose(first.position, START, atol=0.002)
    ok = diagnostics.wait_for(lambda m: levels(m) == [DiagnosticStatus.OK] * 6, timeout=10,
                              what='six servos OK')
    assert 'temperature' in [value.key for value in ok.status[0].values]

    # A command stream reaches its target (the gripper opening is 0-1).
    probe.wait_for_subscribers(commands)
    target = [0.4, -0.3, 0.2, 0.0, 0.5, 0.9]
    deadline = time.monotonic() + 10.0
    while not np.allclose(states.messages[-1].position, target, atol=0.01):
        assert time.monotonic() < deadline, states.messages[-1].position
        commands.publish(Float64MultiArray(data=target))
        probe.spin_for(0.05)

    reply = probe.trigger('/reset_to_home', timeout=20)
    assert reply.success, reply.message
    probe.spin_for(0.1)
    np.testing.assert_allclose(states.messages[-1].position, HOME, atol=0.05)

    # The adapter is unplugged: every servo ERROR, no traceback.
    emulator.stop()
    diagnostics.messages.clear()
    lost = diagnostics.wait_for(lambda m: levels(m) == [DiagnosticStatus.ERROR] * 6,
                                timeout=5, what='six servos ERROR')
    assert 'no connection' in lost.status[0].message
    # Plugged in again, with servo 3 going silent 3 s later: the driver reconnects,
    # then reports that servo alone.
    start_emulator(processes, link, '--vanish', '3:3')
    diagnostics.messages.clear()
    back = diagnostics.wait_for(lambda m: levels(m) == [DiagnosticStatus.OK] * 6, timeout=5,
                                what='six servos OK after reconnecting')
    start = diagnostics.messages.index(back)

    def servo_3_errors():
        return [m for m in diagnostics.messages[start:]
                if m.status[2].level == DiagnosticStatus.ERROR]
    probe.spin_until(servo_3_errors, 10, 'servo 3 ERROR')
    silent = servo_3_errors()[0]
    assert 'no reply' in silent.status[2].message
    assert silent.status[0].level != DiagnosticStatus.ERROR
    output = node.output()
    assert 'Traceback' not in output and 'port lost' in output and 'connected' in output


def test_leader_arm_publishes_with_torque_off(processes, probe, tmp_path):
    link = str(tmp_path / 'ttyLeader')
    start_emulator(processes, link, '--pose', '2048,2048,2048,2048,2048,2500')
    processes.start_node(NodeSpec('so100_leader', 'so100_leader',
                                  package='hilserl_so100_driver',
                                  parameters={'port': link, 'control_rate_hz': 50.0}))
    states = probe.subscribe(JointState, '/leader/joint_states', 10)
    diagnostics = probe.subscribe(DiagnosticArray, '/diagnostics', 10)
    state = states.wait_for_messages(3, timeout=30)[-1]
    assert list(state.name) == JOINTS
    # Uncalibrated: full range, middle 2047.5; the gripper opening is raw / 4095.
    np.testing.assert_allclose(state.position, [0.5 / TICKS_PER_RAD] * 5 + [2500 / 4095],
                               atol=1e-6)
    ready = diagnostics.wait_for(lambda m: levels(m) == [DiagnosticStatus.OK] * 6, timeout=10)
    assert {v.key: v.value for v in ready.status[0].values}['torque'] == 'off'


def test_bad_driver_configuration_is_one_clear_line(processes, tmp_path):
    broken = tmp_path / 'calibration.json'
    broken.write_text('{"shoulder_pan": {"id": 1}}')
    for parameters, message in (
            ({'calibration_file': str(tmp_path / 'missing.json')}, 'missing.json'),
            ({'calibration_file': str(broken)}, 'calibration.json'),
            ({'on_fault': 'explode'}, 'on_fault')):
        node = processes.start_node(NodeSpec('so100_follower', 'so100_follower',
                                             package='hilserl_so100_driver',
                                             parameters={'port': str(tmp_path / 'no_tty'),
                                                         **parameters}))
        assert node.wait(timeout=60) == 78, node.output()
        output = node.output()
        assert 'bad configuration' in output and message in output
        assert 'Traceback' not in output


def test_the_real_arm_parameter_files_start_both_nodes(processes, probe, tmp_path):
    calibration_file = tmp_path / 'arm.json'
    calibration_file.write_text(json.dumps(CALIBRATION))
    for name, config, topic in (('so100_follower', 'so100_follower.yaml', '/joint_states'),
                                ('so100_leader', 'so100_leader.yaml', '/leader/joint_states')):
        link = str(tmp_path / f'tty_{name}')
        start_emulator(processes, link)
        # The files' ports and calibration paths are the user's; the rest is as shipped.
        node = processes.start_node(NodeSpec(
            name, name, package='hilserl_so100_driver', parameter_files=(config,),
            parameters={'port': link, 'calibration_file': str(calibration_file)}))
        states = probe.subscribe(JointState, topic, 10)
        state = states.wait_for_messages(1, timeout=30)[0]
        assert list(state.name) == JOINTS
        np.testing.assert_allclose(state.position, START, atol=0.002)
        output = node.output()
        assert '30 Hz' in output and 'Traceback' not in output
