#!/usr/bin/env python3
"""
How well frozen image features locate what a pick-lift policy needs, on held-out episodes.

Per scene (the plain simulated SO-101 scene, 'none', and visual_variation 'randomized':
lights, surfaces, distractors and camera poses redrawn per episode), scripted pick-lift
episodes run in-process (hilserl.sim.closed_loop) for --steps policy steps each; every
--every-th step the front and wrist cameras are rendered at 128x128 with the ground truth
(cube centre, TCP). Episodes 0..N-1 (--train-episodes) are the training set, episodes
1000.. (--test-episodes) are held out: other layouts and, randomized, other looks.

Encoders, all fed the same frames:
  random       resnet10 with seeded random weights (seed 0): the control
  pretrained   resnet10 pretrained self-supervised (hilserl_learning.encoder_pretraining,
               what `hilserl encoder pretrain` runs) on the training frames of the scene,
               both cameras, for --pretrain-epochs passes or --pretrain-minutes at most
  classifier   the small_cnn backbone, spatial-softmax pooled, of a reward classifier
               trained on the training frames (label: the simulator's success, the cube
               lifted), exported as `hilserl encoder from-classifier` does
For each, a ridge regression from the features (front and wrist concatenated, each
standardised on the training frames) to the targets is fitted on the training frames, its
penalty chosen from 1e-4..1e6 by 5-fold cross-validation over training episodes, and
scored on the held-out frames.

Keys (``key: value`` on stdout; <scene> is none or randomized):
  probe_frames_<scene>                     training / held-out frames per camera
  probe_cube_mae_cm_<encoder>_<scene>      held-out mean absolute error of the cube centre
                                           (cm, mean over x, y, z)
  probe_offset_mae_cm_<encoder>_<scene>    the same for cube centre minus TCP
  probe_cube_mae_cm_mean_predictor_<scene>, probe_offset_mae_cm_mean_predictor_<scene>
                                           predicting the training mean: the baseline
  probe_ridge_alpha_<encoder>_<scene>      the penalty cross-validation chose
  feature_dim_<encoder>                    features per camera
  pretrain_epochs_<scene>, pretrain_loss_<scene>   passes made; loss first -> last 10 %
  classifier_validation_accuracy_<scene>   on its own validation episodes (of the training
                                           set) at its suggested threshold
  seconds_<phase>_<scene>                  render, pretrain, classifier, features
  wall_clock_min                           the whole benchmark
About 10 to 15 minutes on 2 CPU cores with the defaults (longer when other work shares
them); --quick is a smoke run of a minute whose figures mean nothing.

Run inside the workspace: `scripts/in_env python bench/encoder_probe.py`.
"""

import argparse
import os
import sys
import time

os.environ.setdefault('MUJOCO_GL', 'egl')

try:
    import hilserl_learning  # noqa: F401
except ImportError:  # plain checkout: use the package sources next to this script
    for package in ('hilserl_learning', 'hilserl'):
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                                        'src', package))

from hilserl.sim import SimArm, SimArmConfig  # noqa: E402
from hilserl.sim.closed_loop import (control_period, run_episode, scripted_policy,  # noqa: E402
                                     sim_controller, sim_filter)
from hilserl_learning.classifier_encoder import classifier_backbone  # noqa: E402
from hilserl_learning.classifier_training import train_classifier, TrainingConfig  # noqa: E402
from hilserl_learning.encoder_pretraining import (pretrain_encoder,  # noqa: E402
                                                  PretrainingConfig)
from hilserl_learning.resnets import build_encoder  # noqa: E402
from hilserl_learning.reward_classifier import ClassifierConfig  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

CAMERAS = ('front', 'wrist')
IMAGE_SIZE = 128
TEST_SEED_OFFSET = 1000
ALPHAS = 10.0 ** np.arange(-4, 7)
FOLDS = 5


def render_episodes(scene: str, seeds, steps: int, every: int) -> dict:
    """Run scripted pick-lift episodes; return frames per camera and the ground truth."""
    arm = SimArm(SimArmConfig(robot='so101', task='pick_lift',
                              control_dt=control_period('so101'),
                              cameras={name: (IMAGE_SIZE, IMAGE_SIZE) for name in CAMERAS},
                              visual_variation=scene))
    data = {key: [] for key in (*CAMERAS, 'cube', 'tcp', 'success', 'episode')}
    try:
        safety = sim_filter(arm)
        for seed in seeds:
            act = scripted_policy(sim_controller(arm))
            step = iter(range(steps))

            def observe_then_act(truth, seed=seed, act=act, step=step):
                if next(step) % every == 0:
                    for name in CAMERAS:
                        data[name].append(arm.render(name))
                    data['cube'].append(truth.cube_position.copy())
                    data['tcp'].append(truth.tcp_position.copy())
                    data['success'].append(int(truth.success))
                    data['episode'].append(seed)
                return act(truth)

            run_episode(arm, safety, observe_then_act, seed, max_policy_steps=steps,
                        stop_on_success=False)
    finally:
        arm.close()
    return {key: np.stack(values) if key in CAMERAS else np.asarray(values)
            for key, values in data.items()}


def targets(data: dict) -> np.ndarray:
    """Return [N, 6]: cube centre, then cube centre minus TCP (metres)."""
    return np.concatenate([data['cube'], data['cube'] - data['tcp']], axis=1)


@torch.inference_mode()
def features(encoder, data: dict, batch_size: int = 64) -> np.ndarray:
    """Return the encoder's features of every frame, cameras concatenated: [N, C * F]."""
    per_camera = []
    for name in CAMERAS:
        pixels = torch.from_numpy(data[name]).permute(0, 3, 1, 2)
        per_camera.append(torch.cat([encoder(pixels[i:i + batch_size])
                                     for i in range(0, len(pixels), batch_size)]).numpy())
    return np.concatenate(per_camera, axis=1).astype(np.float64)


def ridge(x: np.ndarray, y: np.ndarray, alpha: float):
    """Fit y ~ x W + b with penalty alpha |W|^2 (SVD); return a predictor."""
    x_mean, y_mean = x.mean(0), y.mean(0)
    u, s, vt = np.linalg.svd(x - x_mean, full_matrices=False)
    weights = vt.T @ ((s / (s ** 2 + alpha))[:, None] * (u.T @ (y - y_mean)))
    return lambda z: (z - x_mean) @ weights + y_mean


def mae_cm(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Return the mean absolute error in cm of the cube (first 3) and the offset (last 3)."""
    return np.abs(prediction - truth).reshape(len(truth), 2, 3).mean(axis=(0, 2)) * 100.0


def probe(train_x, train_y, groups, test_x, test_y):
    """Ridge probe: penalty by episode-grouped cross-validation; held-out (cube, offset) cm."""
    scale_mean, scale_std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - scale_mean) / scale_std, (test_x - scale_mean) / scale_std
    episodes = np.random.default_rng(0).permutation(np.unique(groups))
    folds = np.array_split(episodes, min(FOLDS, len(episodes)))
    errors = []
    for alpha in ALPHAS:
        error = 0.0
        for fold in folds:
            held = np.isin(groups, fold)
            fitted = ridge(train_x[~held], train_y[~held], alpha)
            error += np.abs(fitted(train_x[held]) - train_y[held]).sum()
        errors.append(error)
    alpha = float(ALPHAS[int(np.argmin(errors))])
    return mae_cm(ridge(train_x, train_y, alpha)(test_x), test_y), alpha


def emit(key: str, value) -> None:
    """Print one result line."""
    print(f'{key}: {value}', flush=True)


def run_scene(scene: str, options) -> None:
    """Render, build the encoders and probe them on one scene."""
    start = time.perf_counter()
    train = render_episodes(scene, range(options.train_episodes), options.steps, options.every)
    test = render_episodes(scene, range(TEST_SEED_OFFSET,
                                        TEST_SEED_OFFSET + options.test_episodes),
                           options.steps, options.every)
    emit(f'probe_frames_{scene}', f"{len(train['cube'])} / {len(test['cube'])}")
    emit(f'seconds_render_{scene}', f'{time.perf_counter() - start:.0f}')
    train_y, test_y = targets(train), targets(test)
    baseline = mae_cm(np.broadcast_to(train_y.mean(0), test_y.shape), test_y)
    emit(f'probe_cube_mae_cm_mean_predictor_{scene}', f'{baseline[0]:.2f}')
    emit(f'probe_offset_mae_cm_mean_predictor_{scene}', f'{baseline[1]:.2f}')
    encoders = {'random': build_encoder('resnet10', seed=0)}

    start = time.perf_counter()
    result = pretrain_encoder([train[name] for name in CAMERAS], PretrainingConfig(
        minutes=options.pretrain_minutes, max_epochs=options.pretrain_epochs, seed=0,
        progress=False))
    encoders['pretrained'] = result.encoder
    emit(f'pretrain_epochs_{scene}', f'{result.epochs:.2f}')
    emit(f'pretrain_loss_{scene}', f'{result.initial_loss:.4f} -> {result.final_loss:.4f}')
    emit(f'seconds_pretrain_{scene}', f'{time.perf_counter() - start:.0f}')

    if options.classifier_epochs:
        start = time.perf_counter()
        trained = train_classifier(
            {name: train[name] for name in CAMERAS}, train['success'], train['episode'],
            ClassifierConfig(camera_names=CAMERAS, image_size=(IMAGE_SIZE, IMAGE_SIZE)),
            TrainingConfig(epochs=options.classifier_epochs, patience=3,
                           validation_fraction=0.25, progress=False, seed=0))
        encoders['classifier'] = classifier_backbone(trained.model)
        emit(f'classifier_validation_accuracy_{scene}', f"{trained.report['accuracy']:.3f}")
        emit(f'seconds_classifier_{scene}', f'{time.perf_counter() - start:.0f}')
    else:
        emit(f'classifier_skipped_{scene}', '--classifier-epochs 0')

    start = time.perf_counter()
    for name, encoder in encoders.items():
        (cube, offset), alpha = probe(features(encoder, train), train_y, train['episode'],
                                      features(encoder, test), test_y)
        emit(f'probe_cube_mae_cm_{name}_{scene}', f'{cube:.2f}')
        emit(f'probe_offset_mae_cm_{name}_{scene}', f'{offset:.2f}')
        emit(f'probe_ridge_alpha_{name}_{scene}', f'{alpha:g}')
        emit(f'feature_dim_{name}', encoder.feature_dim)
    emit(f'seconds_features_{scene}', f'{time.perf_counter() - start:.0f}')


def main() -> None:
    """Parse options and probe every scene."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scenes', nargs='+', choices=('none', 'randomized'),
                        default=['none', 'randomized'])
    parser.add_argument('--train-episodes', type=int, default=40)
    parser.add_argument('--test-episodes', type=int, default=20)
    parser.add_argument('--steps', type=int, default=40,
                        help='policy steps per episode (the scripted lift takes about 20)')
    parser.add_argument('--every', type=int, default=2, help='render every n-th step')
    parser.add_argument('--pretrain-epochs', type=int, default=5)
    parser.add_argument('--pretrain-minutes', type=float, default=3.5)
    parser.add_argument('--classifier-epochs', type=int, default=8,
                        help='0 skips the classifier encoder')
    parser.add_argument('--threads', type=int, default=2, help='torch threads')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: 6 + 4 episodes, a few seconds of training')
    options = parser.parse_args()
    if options.quick:
        options.train_episodes, options.test_episodes, options.steps = 6, 4, 30
        options.pretrain_epochs, options.classifier_epochs = 1, 1
    if min(options.train_episodes, options.test_episodes, options.steps, options.every) < 1:
        parser.error('episode counts, --steps and --every must be positive')
    torch.set_num_threads(options.threads)
    start = time.perf_counter()
    for scene in options.scenes:
        run_scene(scene, options)
    emit('wall_clock_min', f'{(time.perf_counter() - start) / 60:.1f}')


if __name__ == '__main__':
    main()
