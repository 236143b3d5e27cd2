"""visual_variation: randomized scenes differ, reproduce, leave the task alone; its plumbing."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.launching.graph import GraphError  # noqa: E402
from hilserl.launching.modes import MODES  # noqa: E402
from hilserl.sim import SimArm, SimArmConfig  # noqa: E402
from hilserl.sim.closed_loop import (control_period, run_episode, scripted_policy,  # noqa: E402
                                     sim_controller, sim_filter)
from hilserl.sim.visual_variation import (DISTRACTOR_CLEARANCE, PREFIX,  # noqa: E402
                                          texture_bank)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

CAMERAS = {'front': (64, 64), 'wrist': (64, 64)}
SEEDS = range(5)


def make_arm(visual_variation='none', task='pick_lift', **config):
    """Return an SO-101 arm with small cameras."""
    return SimArm(SimArmConfig(robot='so101', task=task, cameras=CAMERAS,
                               visual_variation=visual_variation, **config))


def first_frames(arm, seeds):
    """Return the front and wrist frames right after resetting with each seed."""
    frames = []
    for seed in seeds:
        arm.reset(seed=seed)
        frames.append((arm.render('front'), arm.render('wrist')))
    return frames


def mean_abs_difference(first, second):
    """Return the mean absolute pixel difference of two uint8 images (0..255)."""
    return float(np.mean(np.abs(first.astype(float) - second.astype(float))))


@pytest.fixture(scope='module')
def randomized():
    """Return a randomized SO-101 pick_lift arm, shared by the module."""
    arm = make_arm('randomized')
    yield arm
    arm.close()


@pytest.fixture(scope='module')
def plain():
    """Return an SO-101 pick_lift arm without visual variation, shared by the module."""
    arm = make_arm('none')
    yield arm
    arm.close()


def test_randomized_episodes_look_markedly_different(randomized, plain):
    varied = first_frames(randomized, (0, 1, 2))
    same = first_frames(plain, (0, 1, 2))
    for k in range(2):
        # Only the cube moves between two plain episodes; the whole scene changes here.
        assert mean_abs_difference(same[k][0], same[k + 1][0]) < 3.0
        assert mean_abs_difference(varied[k][0], varied[k + 1][0]) > 20.0
        assert mean_abs_difference(varied[k][1], varied[k + 1][1]) > 20.0
    # And a randomized scene is not the plain one.
    assert mean_abs_difference(varied[0][0], same[0][0]) > 20.0


def test_the_same_seed_gives_the_same_frames(randomized):
    first = first_frames(randomized, (7, 8, 7))
    np.testing.assert_array_equal(first[0][0], first[2][0])
    np.testing.assert_array_equal(first[0][1], first[2][1])
    # A second arm built with the same seed starts with the same episode, reset or not.
    other = make_arm('randomized', seed=randomized.config.seed)
    try:
        initial = other.render('front'), other.render('wrist')
        randomized.reset(seed=randomized.config.seed)
        np.testing.assert_array_equal(initial[0], randomized.render('front'))
        np.testing.assert_array_equal(initial[1], randomized.render('wrist'))
    finally:
        other.close()


def test_none_is_the_default_scene_unchanged(plain):
    default = SimArm(SimArmConfig(robot='so101', task='pick_lift', cameras=CAMERAS))
    try:
        assert default.config.visual_variation == 'none'
        for (front, wrist), (plain_front, plain_wrist) in zip(first_frames(default, SEEDS[:2]),
                                                              first_frames(plain, SEEDS[:2])):
            np.testing.assert_array_equal(front, plain_front)
            np.testing.assert_array_equal(wrist, plain_wrist)
        names = [default.model.geom(i).name for i in range(default.model.ngeom)]
        assert not any(name.startswith(PREFIX) for name in names)
        assert default.model.nlight == 1 and default.model.ntex == 1
    finally:
        default.close()


def test_visuals_leave_the_layout_alone_and_distractors_clear_of_the_cube(randomized, plain):
    model = randomized.model
    distractors = [i for i in range(model.ngeom)
                   if model.geom(i).name.startswith(f'{PREFIX}distractor')]
    assert distractors
    for seed in SEEDS:
        truth = randomized.reset(seed=seed)
        plain_truth = plain.reset(seed=seed)
        # The visuals draw from a stream of their own: the task layout is the plain one.
        np.testing.assert_array_equal(truth.cube_position, plain_truth.cube_position)
        np.testing.assert_array_equal(truth.target_position, plain_truth.target_position)
        drawn = [i for i in distractors if model.geom_group[i] == 2]
        assert 1 <= len(drawn) <= 3
        for geom in drawn:
            assert model.geom_contype[geom] == 0 and model.geom_conaffinity[geom] == 0
            position = randomized.data.geom_xpos[geom]
            assert position[2] > 0.0  # on the table, not in it
            assert (np.linalg.norm(position[:2] - truth.cube_position[:2])
                    > DISTRACTOR_CLEARANCE + 0.02)


def test_scripted_policy_solves_randomized_pick_lift_exactly_as_plain():
    results = {}
    for name in ('randomized', 'none'):
        loop_arm = make_arm(name, control_dt=control_period('so101'))  # the robot file's
        try:
            safety = sim_filter(loop_arm)
            results[name] = []
            for seed in SEEDS:
                result = run_episode(loop_arm, safety, scripted_policy(sim_controller(loop_arm)),
                                     seed, max_policy_steps=100)
                results[name].append((result.success, result.steps,
                                      loop_arm.ground_truth().cube_position.round(9).tolist()))
        finally:
            loop_arm.close()
    assert all(success for success, _, _ in results['randomized'])
    # Distractors collide with nothing: the physics and the success test are the plain ones.
    assert results['randomized'] == results['none']


def test_texture_bank_is_small_and_fixed():
    bank = texture_bank()
    assert len(bank) >= 8
    assert all(image.shape == (64, 64, 3) and image.dtype == np.uint8 for image in bank)
    for image, again in zip(bank, texture_bank()):
        np.testing.assert_array_equal(image, again)
    assert len({image.tobytes() for image in bank}) == len(bank)


def test_unknown_visual_variation_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown visual_variation 'fancy'; choose one of"):
        SimArmConfig(visual_variation='fancy').resolved()


@pytest.mark.parametrize('mode, arguments', [
    ('sim', {}), ('record', {}), ('train', {'policy_inputs': 'images'}),
    ('classifier', {'use': 'collect'}), ('classifier', {'use': 'test', 'model_path': 'm'})])
def test_modes_pass_visual_variation_to_the_simulated_arm(mode, arguments):
    def sim_arm(**given):
        nodes = MODES[mode].nodes({**arguments, **given})
        return next(spec for spec in nodes if spec.executable == 'sim_arm')

    assert sim_arm().parameters['visual_variation'] == 'none'
    assert sim_arm(visual_variation='randomized').parameters['visual_variation'] == 'randomized'
    with pytest.raises(GraphError, match='visual_variation:=blurry is not one of none, '
                                         'randomized'):
        sim_arm(visual_variation='blurry')


def test_the_real_arm_refuses_visual_variation():
    with pytest.raises(GraphError, match='visual_variation:=randomized needs a simulated arm'):
        MODES['record'].nodes({'robot': 'so100', 'teleop': 'keyboard',
                               'visual_variation': 'randomized'})
