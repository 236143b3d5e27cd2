"""Calibration: unit conversion, our JSON and LeRobot's, and clear errors for bad files."""

import json
import math

import pytest

from hilserl_so100_driver.calibration import (ArmCalibration, CalibrationError,
                                              JointCalibration, load_calibration,
                                              save_calibration, save_lerobot_calibration,
                                              SO101_JOINTS)

# What lerobot-calibrate writes for an SO101 follower (values from a real arm's log).
LEROBOT = {
    'shoulder_pan': {'id': 1, 'drive_mode': 0, 'homing_offset': -1015, 'range_min': 884,
                     'range_max': 3320},
    'shoulder_lift': {'id': 2, 'drive_mode': 0, 'homing_offset': 1322, 'range_min': 756,
                      'range_max': 3353},
    'elbow_flex': {'id': 3, 'drive_mode': 0, 'homing_offset': -1200, 'range_min': 868,
                   'range_max': 3061},
    'wrist_flex': {'id': 4, 'drive_mode': 0, 'homing_offset': 1100, 'range_min': 805,
                   'range_max': 3153},
    'wrist_roll': {'id': 5, 'drive_mode': 0, 'homing_offset': -30, 'range_min': 0,
                   'range_max': 4095},
    'gripper': {'id': 6, 'drive_mode': 0, 'homing_offset': 1400, 'range_min': 1899,
                'range_max': 3363},
}


def test_arm_joint_conversion_about_the_middle():
    joint = JointCalibration('elbow_flex', 3, range_min=1048, range_max=3048)
    assert joint.middle == 2048
    assert joint.to_position(2048) == 0.0
    assert joint.to_position(2048 + 1024) == pytest.approx(math.pi / 2)
    assert joint.to_position(2048 - 2048) == pytest.approx(-math.pi)
    reversed_joint = JointCalibration('elbow_flex', 3, drive_mode=1, range_min=1048,
                                      range_max=3048)
    assert reversed_joint.to_position(2048 + 1024) == pytest.approx(-math.pi / 2)
    for raw in (1048, 1500, 2048, 2999.5, 3048):
        assert joint.to_raw(joint.to_position(raw)) == pytest.approx(raw)
        assert reversed_joint.to_raw(reversed_joint.to_position(raw)) == pytest.approx(raw)
    assert joint.clamp_raw(joint.to_raw(3.0)) == 3048
    assert joint.clamp_raw(joint.to_raw(-3.0)) == 1048


def test_gripper_opening():
    gripper = JointCalibration('gripper', 6, range_min=2000, range_max=3000, gripper=True)
    assert gripper.to_position(2000) == 0.0
    assert gripper.to_position(3000) == 1.0
    assert gripper.to_raw(0.25) == 2250
    flipped = JointCalibration('gripper', 6, drive_mode=1, range_min=2000, range_max=3000,
                               gripper=True)
    assert flipped.to_position(2000) == 1.0
    assert flipped.to_raw(0.25) == 2750


def test_arm_lists_in_joint_order():
    arm = ArmCalibration.default()
    assert arm.names == list(SO101_JOINTS) and arm.ids == [1, 2, 3, 4, 5, 6]
    assert arm.joint('gripper').gripper and not arm.joint('wrist_roll').gripper
    raws = arm.to_raws([0.1, -0.2, 0.0, 0.0, 10.0, 2.0])
    assert raws[4] == 4095 and raws[5] == 4095  # clamped
    assert arm.to_positions(raws)[:2] == pytest.approx([0.1, -0.2])
    selected = arm.select(['gripper', 'shoulder_pan'])
    assert selected.ids == [6, 1]
    with pytest.raises(CalibrationError, match='no calibration for joints'):
        arm.select(['elbow'])


def test_lerobot_file_is_read(tmp_path):
    path = tmp_path / 'follower.json'
    path.write_text(json.dumps(LEROBOT, indent=4))
    arm = load_calibration(str(path))
    assert arm.names == list(SO101_JOINTS)
    assert arm.joint('shoulder_pan') == JointCalibration('shoulder_pan', 1, 0, -1015, 884, 3320)
    assert arm.joint('gripper').gripper
    # and written back identically
    again = tmp_path / 'again.json'
    save_lerobot_calibration(arm, str(again))
    assert json.loads(again.read_text()) == LEROBOT


def test_our_format_round_trip_with_checksum(tmp_path):
    arm = load_calibration_dict(tmp_path, LEROBOT)
    path = tmp_path / 'ours.json'
    save_calibration(arm, str(path))
    data = json.loads(path.read_text())
    assert data['format'] == 'hilserl_so100_calibration' and data['version'] == 1
    assert data['checksum'].startswith('sha256:')
    assert load_calibration(str(path)) == arm
    data['joints'][0]['range_min'] += 1  # edited by hand
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=r'ours\.json: field "checksum"'):
        load_calibration(str(path))


def load_calibration_dict(tmp_path, data, name='in.json'):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return load_calibration(str(path))


@pytest.mark.parametrize('change, message', [
    (lambda d: d['elbow_flex'].pop('range_max'),
     "motor 'elbow_flex': missing field 'range_max'"),
    (lambda d: d['elbow_flex'].update(range_min=5000), "'elbow_flex' field 'range_min'"),
    (lambda d: d['elbow_flex'].update(range_min=3100), "'elbow_flex' field 'range_max'"),
    (lambda d: d['wrist_flex'].update(drive_mode=2), "'wrist_flex' field 'drive_mode'"),
    (lambda d: d['wrist_flex'].update(homing_offset=3000), "field 'homing_offset'"),
    (lambda d: d['gripper'].update(id='six'), "'gripper' field 'id': expected an integer"),
    (lambda d: d['gripper'].update(id=1), 'duplicate joint ids: \\[1\\]'),
    (lambda d: d.update(gripper=[1, 2]), "motor 'gripper': expected an object"),
])
def test_bad_lerobot_files_name_file_and_field(tmp_path, change, message):
    data = json.loads(json.dumps(LEROBOT))
    change(data)
    with pytest.raises(CalibrationError, match=r'bad\.json: .*' + message):
        load_calibration_dict(tmp_path, data, 'bad.json')


def test_unreadable_files(tmp_path):
    with pytest.raises(CalibrationError, match='missing.json: cannot read'):
        load_calibration(str(tmp_path / 'missing.json'))
    path = tmp_path / 'broken.json'
    path.write_text('{"shoulder_pan": ')
    with pytest.raises(CalibrationError, match='broken.json: not valid JSON'):
        load_calibration(str(path))
    with pytest.raises(CalibrationError, match='list.json: expected a JSON object'):
        load_calibration_dict(tmp_path, [1], 'list.json')
    with pytest.raises(CalibrationError, match='future.json: field "version" is 2'):
        future = {'format': 'hilserl_so100_calibration', 'version': 2}
        load_calibration_dict(tmp_path, future, 'future.json')
