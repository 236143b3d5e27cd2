"""The safety filter's guarantees with the simulated SO-101 (MuJoCo) as the arm."""

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

from hilserl.arm.robot_registry import load_robot
from hilserl.sim import SimArm, SimArmConfig
from hilserl.sim.closed_loop import control_period, sim_filter, sim_kinematics


@pytest.fixture(scope='module')
def so101():
    arm = SimArm(SimArmConfig(robot='so101', task='pick_lift', cameras={},
                              control_dt=control_period('so101')))
    yield arm, sim_kinematics(arm)
    arm.close()


def test_ik_reaches_every_reachable_point_of_the_box_from_home_within_2mm(so101):
    """Targets: random poses whose TCP falls inside the SO-101 box; seed: the home pose."""
    arm, kinematics = so101
    box = load_robot('so101').safety_limits()
    home = np.array(arm.config.home_joint_positions[:-1])
    rng = np.random.default_rng(1)
    targets = []
    while len(targets) < 60:
        q = rng.uniform(kinematics.lower, kinematics.upper)
        tcp, _ = kinematics.forward(q)
        if np.all(tcp >= box['bounds_min']) and np.all(tcp <= box['bounds_max']):
            targets.append(tcp)
    errors = [kinematics.inverse(tcp, home, q_rest=home, max_iterations=200).position_error
              for tcp in targets]
    assert max(errors) < 0.002, sorted(errors)[-5:]


components = st.one_of(st.sampled_from([-1.0, 0.0, 1.0]), st.floats(-1.0, 1.0),
                       st.floats(allow_nan=True, allow_infinity=True))
commands = st.tuples(st.lists(components, min_size=0, max_size=4), st.integers(-1, 3),
                     st.integers(0, 4))  # delta, gripper, ticks until the next command


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(stream=st.lists(commands, min_size=1, max_size=40), seed=st.integers(0, 1000))
def test_guarantees_hold_on_every_tick_with_mujoco_as_the_arm(so101, stream, seed):
    arm, kinematics = so101
    arm.reset(seed=seed)
    safety = sim_filter(arm, kinematics)
    config = safety.config
    previous, now = safety.arm_target.copy(), 0.0
    for delta, gripper, ticks in stream:
        measured = arm.joint_positions()
        safety.command(delta, gripper, measured[:-1], now)
        for _ in range(ticks):
            target, gripper_target = safety.tick(now)
            assert np.all(target >= kinematics.lower) and np.all(target <= kinematics.upper)
            assert np.max(np.abs(target - previous)) <= config.max_joint_step + 1e-12
            if safety.tcp_target is not None:
                assert np.all(safety.tcp_target >= config.bounds_min - 1e-12)
                assert np.all(safety.tcp_target <= config.bounds_max + 1e-12)
            arm.set_joint_targets([*target, gripper_target])
            arm.step()
            previous, now = target, now + arm.control_dt
