#!/usr/bin/env python3
"""
Benchmark HIL-SERL's sample efficiency on the simulated SO-101 pick-lift task.

Each configuration trains a SAC agent from scratch, once per seed, in one
process (``hilserl.sim.training``: the ROS graph's pieces without the graph, so what is
counted is environment steps, not wall-clock time), with the train mode's
--updates-per-step learner updates after every online step. Configurations:

  with_interventions     --demos scripted demonstrations (state statistics and
                         offline pretraining from them), then online training with the
                         scripted human of train mode (config/train.yaml) taking over
                         when the policy strays 5 cm or makes no 5 mm of progress in 8
                         steps (then until the cube is grasped, or lifted); attentive in
                         an episode with probability 0.98 ** episode
  without_interventions  the same demonstrations; nobody takes over
  without_demos          no demonstrations and no pretraining (state statistics from
                         the first 100 online steps); the human takes over as in
                         with_interventions, and those takeovers are the only
                         demonstration data (HIL-SERL's ablation without demonstrations)

--policy-inputs images gives the policy train mode's image inputs instead of the cube
position: the front and wrist cameras through the frozen encoder (--frozen-encoder, a
card; without one, seeded random weights), in the plain or --visual-variation randomized
scene. Each step then renders and encodes two frames: runs take several times longer.
--image-pooling spatial_embedding caches each camera's feature map and learns HIL-SERL's
spatial embeddings on it; --feature-augmentation-copies K also caches the features of K
shifted copies of every stored frame (hilserl_learning.feature_cache).

The agent is the learner's of config/train.yaml (its agent.* values), imitation terms
on the human's steps included (agent.bc_weight, agent.grasp_margin). With them 10
demonstrations alone give a policy at 0.7 to 0.9 before any online step, which leaves
nothing for the online phase to show; 3 (the default) leave it most of the work.

Every --eval-every online steps, and once after pretraining (step 0), the deterministic
policy runs --eval-episodes episodes without takeovers on a fixed set of layouts (the
same for every run); a run's figure is the step count of its first evaluation with a
success rate of at least 0.8. Online steps are every step of the training episodes,
the human's takeover steps included; demonstration and evaluation episodes are not
counted. A run stops at the end of the episode in which it got there, or at
--max-steps. With --intervention-penalty P, the configurations with takeovers label
the policy step before each takeover with reward -P (the actor's
intervention_penalty, RLIF's signal) and clip TD targets to [-1, 1] instead of [0, 1].

Keys (``key: value`` on stdout; target in brackets):
  demos                                     --demos
  intervention_penalty                      --intervention-penalty (0: HIL-SERL's labels)
  steps_to_80pct_<configuration>            median over seeds; a seed that never got
                                            there counts as infinite, and a median
                                            that is one reads '>MAX_STEPS'
  steps_to_80pct_<configuration>_reached    seeds that got there, 'k/n'
  steps_to_80pct_<configuration>_per_seed   each seed's figure
  steps_ratio_without_over_with_interventions   median without / median with  [>= 2]
                                            ('>x' when only a lower bound is known)
  wall_clock_min                            the whole benchmark
The defaults take roughly 30 to 60 minutes on 2 CPU cores, about half that with
--jobs 2; --quick is a smoke run of a minute or two whose figures mean nothing.
"""

import argparse
import concurrent.futures
import multiprocessing
import os
import sys
import time

os.environ.setdefault('MUJOCO_GL', 'egl')  # before MuJoCo loads (renders with images)

from hilserl.sim.training import RunSettings, train  # noqa: E402
from hilserl_learning import configure_torch  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

TARGET_SUCCESS = 0.8
CONFIGURATIONS = {
    'with_interventions': dict(demos=True, interventions=True),
    'without_interventions': dict(demos=True, interventions=False),
    'without_demos': dict(demos=False, interventions=True),
}
QUICK = dict(seeds=1, max_steps=200, eval_every=100, eval_episodes=2, pretrain_updates=100)


def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a whole number: {text!r}')
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    """Return the command line's settings, --quick applied."""
    parser = argparse.ArgumentParser(
        description='Environment steps HIL-SERL needs to reach an 80% success rate on the '
                    'simulated SO-101 pick-lift task, with and without human interventions '
                    'and demonstrations (median over seeds); prints key: value lines.')
    parser.add_argument('--seeds', type=positive_int, default=3,
                        help='runs per configuration, seeds 0..N-1 (default: 3)')
    parser.add_argument('--max-steps', type=positive_int, default=20000,
                        help='online environment steps at most per run (default: 20000)')
    parser.add_argument('--eval-every', type=positive_int, default=500,
                        help='online steps between two evaluations (default: 500)')
    parser.add_argument('--eval-episodes', type=positive_int, default=10,
                        help='deterministic episodes per evaluation (default: 10)')
    parser.add_argument('--demos', type=positive_int, default=3,
                        help='scripted demonstrations where a configuration has them '
                             '(default: 3; record mode records 10)')
    parser.add_argument('--updates-per-step', type=positive_int, default=4,
                        help='learner steps per online step (default: 4, the train '
                             "mode's updates_per_step, config/train.yaml)")
    parser.add_argument('--pretrain-updates', type=int, default=1000,
                        help='offline updates on the demonstrations (default: 1000, '
                             'as config/train.yaml)')
    parser.add_argument('--intervention-penalty', type=float, default=0.0, metavar='P',
                        help='reward -P for the policy step before each takeover (RLIF; '
                             "the actor's intervention_penalty) where the human takes over "
                             "(default: 0, HIL-SERL's labels)")
    parser.add_argument('--policy-inputs', choices=('state', 'images'), default='state',
                        help='state: joints, TCP and the cube position (default); images: '
                             'joints and TCP, and the front and wrist cameras (128x128) '
                             'through the frozen encoder, as train mode policy_inputs:=images')
    parser.add_argument('--frozen-encoder', metavar='CARD',
                        help='with --policy-inputs images: the encoder card (hilserl encoder '
                             'import/pretrain); default: seeded random weights (a control)')
    parser.add_argument('--image-pooling', choices=('encoder', 'spatial_embedding'),
                        default='encoder',
                        help="with --policy-inputs images: agent.image_pooling (default: the "
                             "encoder's own pooled features; spatial_embedding: learned "
                             'spatial embeddings on the cached feature maps)')
    parser.add_argument('--feature-augmentation-copies', type=int, default=0, metavar='K',
                        help='with --policy-inputs images: agent.feature_augmentation_copies, '
                             'features of K shifted copies of every stored frame (default: 0)')
    parser.add_argument('--visual-variation', choices=('none', 'randomized'), default='none',
                        help='the scene: plain (default) or redrawn lighting, textures, '
                             'distractors and camera poses per episode')
    parser.add_argument('--quick', action='store_true',
                        help='tiny smoke run, defaults ' + ', '.join(
                            f'--{key.replace("_", "-")} {value}'
                            for key, value in QUICK.items()))
    parser.add_argument('--configurations', nargs='+', choices=list(CONFIGURATIONS),
                        default=list(CONFIGURATIONS), metavar='NAME',
                        help='configurations to run (default: all three: '
                             + ', '.join(CONFIGURATIONS) + ')')
    parser.add_argument('--jobs', type=positive_int, default=1,
                        help='runs at the same time, one process and one torch thread '
                             'each (default: 1; up to the number of cores is worth it)')
    parser.add_argument('--plot', metavar='PATH',
                        help='also write a PNG of success rate against steps')
    if parser.parse_args(argv).quick:
        parser.set_defaults(**QUICK)  # flags given explicitly still win
    args = parser.parse_args(argv)
    if args.pretrain_updates < 0:
        parser.error('--pretrain-updates must be 0 or more')
    if not 0.0 <= args.intervention_penalty < float('inf'):
        parser.error('--intervention-penalty must be 0 or more')
    if args.frozen_encoder and args.policy_inputs != 'images':
        parser.error('--frozen-encoder needs --policy-inputs images')
    if args.policy_inputs != 'images' and (args.image_pooling != 'encoder'
                                           or args.feature_augmentation_copies):
        parser.error('--image-pooling and --feature-augmentation-copies need '
                     '--policy-inputs images')
    if args.feature_augmentation_copies < 0:
        parser.error('--feature-augmentation-copies must be 0 or more')
    if args.frozen_encoder and not os.path.isfile(args.frozen_encoder):
        parser.error(f'--frozen-encoder {args.frozen_encoder}: no such file')
    return args


def median_steps(figures):
    """Return the median of per-seed figures, None (not reached) counting as infinite."""
    return float(np.median([np.inf if steps is None else steps for steps in figures]))


def show_steps(steps: float, max_steps: int) -> str:
    """Format a step count, or '>max_steps' for one that was never reached."""
    return f'>{max_steps}' if np.isinf(steps) else f'{steps:g}'


def show_ratio(without: float, with_: float, max_steps: int) -> str:
    """Format without / with; '>x' when the first was not reached, 'n/a' when undefined."""
    if np.isinf(with_) or with_ == 0:
        return 'n/a'
    if np.isinf(without):
        return f'>{max_steps / with_:.2f}'
    return f'{without / with_:.2f}'


def plot(path: str, curves, max_steps: int) -> None:
    """Write success rate against online steps, one colour per configuration."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    colours = dict(zip(CONFIGURATIONS, ('tab:green', 'tab:orange', 'tab:blue')))
    for name, runs in curves.items():
        colour = colours[name]
        for index, curve in enumerate(runs):
            steps, rates = zip(*curve)
            axes.plot(steps, rates, color=colour, marker='.', alpha=0.8,
                      label=name if index == 0 else None)
    axes.axhline(TARGET_SUCCESS, color='grey', linestyle='--', linewidth=1)
    axes.set(xlabel='online environment steps', ylabel='success rate (deterministic)',
             xlim=(0, max_steps), ylim=(-0.02, 1.02),
             title='HIL-SERL, simulated SO-101 pick-lift (one line per seed)')
    axes.legend(loc='upper left')
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def run_settings(args: argparse.Namespace, name: str, seed: int) -> RunSettings:
    """Return the training run of one configuration and seed."""
    config = CONFIGURATIONS[name]
    return RunSettings(
        demos=args.demos if config['demos'] else 0,
        interventions=config['interventions'], seed=seed,
        max_steps=args.max_steps, eval_every=args.eval_every,
        eval_episodes=args.eval_episodes, target_success=TARGET_SUCCESS,
        pretrain_updates=args.pretrain_updates, updates_per_step=args.updates_per_step,
        intervention_penalty=args.intervention_penalty if config['interventions'] else 0.0,
        policy_inputs=args.policy_inputs, visual_variation=args.visual_variation,
        image_pooling=args.image_pooling,
        feature_augmentation_copies=args.feature_augmentation_copies,
        frozen_encoder=os.path.abspath(args.frozen_encoder) if args.frozen_encoder else None)


def train_in_worker(settings: RunSettings):
    """Train one run in a worker process (one torch thread, as the learner) and return it."""
    configure_torch(1)
    return train(settings)


def run_all(args: argparse.Namespace, runs, bar: tqdm):
    """Yield ``(name, result)`` for every ``(name, seed)`` run, --jobs of them at a time."""
    if args.jobs == 1:
        for name, seed in runs:
            bar.set_postfix_str(f'{name} seed {seed}')
            budget_left = bar.n + args.max_steps
            result = train(run_settings(args, name, seed), progress=bar.update)
            bar.update(budget_left - bar.n)  # a run that reached the target is done early
            yield name, result
        return
    # 'spawn': each worker builds its own MuJoCo and torch state from scratch.
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        futures = [pool.submit(train_in_worker, run_settings(args, name, seed))
                   for name, seed in runs]
        for (name, _), future in zip(runs, futures):
            result = future.result()
            bar.update(args.max_steps)  # whole runs: workers cannot share the bar
            yield name, result


def main(argv=None) -> int:
    """Run every configuration and seed; print the figures."""
    args = parse_args(argv)
    configure_torch(1)  # the learner's torch_threads of config/train.yaml
    started = time.monotonic()
    runs = [(name, seed) for name in args.configurations for seed in range(args.seeds)]
    figures = {name: [] for name in args.configurations}
    curves = {name: [] for name in args.configurations}
    with tqdm(total=len(runs) * args.max_steps, unit='step', file=sys.stderr) as bar:
        for name, result in run_all(args, runs, bar):
            figures[name].append(result.steps_to_target)
            curves[name].append(result.curve)
            curve = ', '.join(f'{steps}:{rate:.1f}' for steps, rate in result.curve)
            steps = result.steps_to_target
            bar.write(f'{name} seed {len(figures[name]) - 1}: '
                      f'{"not reached" if steps is None else steps} (curve {curve})',
                      file=sys.stderr)
    medians = {name: median_steps(values) for name, values in figures.items()}
    print(f'demos: {args.demos}')
    print(f'intervention_penalty: {args.intervention_penalty:g}')
    print(f'policy_inputs: {args.policy_inputs}')
    if args.policy_inputs == 'images':
        print(f"frozen_encoder: {args.frozen_encoder or 'random (seeded control)'}")
        print(f'image_pooling: {args.image_pooling}')
        print(f'feature_augmentation_copies: {args.feature_augmentation_copies}')
    print(f'visual_variation: {args.visual_variation}')
    for name, values in figures.items():
        reached = sum(steps is not None for steps in values)
        print(f'steps_to_80pct_{name}: {show_steps(medians[name], args.max_steps)}')
        print(f'steps_to_80pct_{name}_reached: {reached}/{len(values)}')
        print(f'steps_to_80pct_{name}_per_seed: ' + ', '.join(
            show_steps(np.inf if steps is None else steps, args.max_steps)
            for steps in values))
    if {'with_interventions', 'without_interventions'} <= set(medians):
        print('steps_ratio_without_over_with_interventions: ' + show_ratio(
            medians['without_interventions'], medians['with_interventions'], args.max_steps))
    print(f'wall_clock_min: {(time.monotonic() - started) / 60:.1f}')
    if args.plot:
        plot(args.plot, curves, args.max_steps)
        print(f'plot: {os.path.abspath(args.plot)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
