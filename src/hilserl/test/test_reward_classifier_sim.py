"""
The reward classifier tells a lifted cube from one not yet lifted, on unseen episodes.

Frames come from the simulated SO-101 pick-lift task, both cameras at 128x128, rendered
at every policy step of scripted episodes (the closed loop of ``hilserl.sim.closed_loop``)
that go on 20 steps or so after the lift; a frame is a success when the simulator says
the cube is lifted. Whole episodes are held out for validation, where accuracy must reach
95 % (the issue's requirement), at the threshold suggested on validation and at 0.5.
"""

import os
import time

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.sim import SimArm, SimArmConfig  # noqa: E402
from hilserl.sim.closed_loop import (control_period, run_episode, scripted_policy,  # noqa: E402
                                     sim_controller, sim_filter)
from hilserl_learning.classifier_training import (format_report, train_classifier,  # noqa: E402
                                                  TrainingConfig)
from hilserl_learning.reward_classifier import ClassifierConfig  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

CAMERAS = ('front', 'wrist')
IMAGE_SIZE = 128
EPISODES = 14
# The scripted lift succeeds after about 20 policy steps; 40 steps give both classes.
POLICY_STEPS = 40
REQUIRED_ACCURACY = 0.95


def render_pick_lift_episodes():
    """Return ({camera: uint8 [N, H, W, 3]}, success labels [N], episode ids [N])."""
    arm = SimArm(SimArmConfig(robot='so101', task='pick_lift', control_dt=control_period('so101'),
                              cameras={name: (IMAGE_SIZE, IMAGE_SIZE) for name in CAMERAS}))
    frames = {name: [] for name in CAMERAS}
    labels, episode_ids = [], []
    try:
        safety = sim_filter(arm)
        for seed in range(EPISODES):
            act = scripted_policy(sim_controller(arm))

            def observe_then_act(truth, seed=seed, act=act):
                for name in CAMERAS:
                    frames[name].append(arm.render(name))
                labels.append(int(truth.success))
                episode_ids.append(seed)
                return act(truth)

            run_episode(arm, safety, observe_then_act, seed, max_policy_steps=POLICY_STEPS,
                        stop_on_success=False)
    finally:
        arm.close()
    return ({name: np.stack(images) for name, images in frames.items()}, np.array(labels),
            np.array(episode_ids))


def test_classifier_reaches_95_percent_on_unseen_sim_episodes():
    torch.set_num_threads(2)
    start = time.perf_counter()
    frames, labels, episode_ids = render_pick_lift_episodes()
    rendered = time.perf_counter()
    # Every scripted episode lifts the cube: both classes in each episode.
    for episode in range(EPISODES):
        assert 5 <= labels[episode_ids == episode].sum() <= POLICY_STEPS - 5
    config = ClassifierConfig(camera_names=CAMERAS, image_size=(IMAGE_SIZE, IMAGE_SIZE))
    result = train_classifier(frames, labels, episode_ids, config, TrainingConfig(
        epochs=8, patience=3, validation_fraction=0.25, progress=False, seed=0))
    trained = time.perf_counter()
    report = result.report
    print(f'{len(labels)} frames ({labels.sum()} successes), validation episodes '
          f'{result.validation_episodes}; rendering {rendered - start:.1f} s, training '
          f'{trained - rendered:.1f} s, {report["epochs_run"]} epochs\n{format_report(report)}')
    assert not set(result.validation_episodes) & set(result.train_episodes)
    assert report['frames'] == np.isin(episode_ids, result.validation_episodes).sum()
    assert report['accuracy'] >= REQUIRED_ACCURACY
    assert report['accuracy_at_0.5'] >= REQUIRED_ACCURACY
    assert report['auc'] >= REQUIRED_ACCURACY
