#!/usr/bin/env python3
"""
Benchmark HIL-SERL's sample efficiency on a Gymnasium task: steps to 80% success.

The issue asks for gym-hil's pick-cube (state, with interventions). gym-hil 0.1.14's
controller does not step with the MuJoCo the suite pins (docs/gymnasium.md): this script
tries one step of it and prints the error it gets (``gym_hil_pick_cube``), then runs
panda-gym's PandaReach-v3 (state) instead, the other task the issue names.

Each seed trains a SAC agent from scratch in one process (``hilserl.sim.gym.training``: the
in-process loop of ``hilserl.sim.training`` with the environment of
config/environments/gym.yaml's ``panda_reach`` entry, no ROS), the learner of
config/train.yaml (its agent.* values), --updates-per-step learner updates after every
online step. The human is the suite's scripted human on a reaching task, a proportional
controller toward the env's desired_goal: it records --demos demonstrations (state
statistics and offline pretraining from them), then during training takes over as
train mode's scripted human does (when the tip strays 5 cm from its best or makes no 5 mm
of progress in 8 steps), in an episode it pays attention to (probability 0.98 **
episode). Episodes are panda-gym's 50 steps (5 s at 10 Hz) and end at the env's success
(``info['is_success']``: the tip within 5 cm of the goal).

Every --eval-every online steps, and once after pretraining (step 0), the deterministic
policy runs --eval-episodes episodes without takeovers from fixed env seeds; a seed's
figure is the step count of its first evaluation at 80% or more. Online steps are every
step of the training episodes, the human's included; demonstrations and evaluations are
not counted. A run stops at the end of the episode that got there, or at --max-steps.

Keys (``key: value`` on stdout):
  gym_hil_pick_cube                       skipped, and why (the env's own error)
  env, seeds, demos, updates_per_step     what ran
  gym_reach_steps_to_80pct_success        median over seeds ('>MAX' if not reached)
  gym_reach_steps_to_80pct_reached        seeds that got there, 'k/n'
  gym_reach_steps_to_80pct_per_seed       each seed's figure
  gym_reach_best_success                  the best evaluation of each seed, at its steps
  gym_reach_curve_seed_<k>                steps:success of every evaluation
  gym_reach_intervention_steps            the human's steps per seed
  wall_clock_min                          the whole benchmark
The defaults took 15 minutes on the 2-core development machine shared with other
work (load ~6; an update ~90 ms there, ~20 ms idle); --seeds 1 or --max-steps shorten it.
"""

import argparse
import contextlib
import os
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from sample_efficiency import median_steps, positive_int, show_steps  # noqa: E402

from hilserl.arm.robot_registry import config_directory  # noqa: E402
from hilserl.sim.gym.env_file import load_environment  # noqa: E402
from hilserl.sim.gym.environment import EnvArm, EnvError  # noqa: E402
from hilserl.sim.gym.training import train_on_env  # noqa: E402
from hilserl.sim.training import RunSettings  # noqa: E402
from hilserl_learning import configure_torch  # noqa: E402

TARGET_SUCCESS = 0.8
EPISODE_TIME_S = 5.0   # panda-gym's 50 steps at the actor's 10 Hz


def environment_file() -> str:
    """Return config/environments/gym.yaml (the installed one, else the source tree's)."""
    folder = config_directory() or os.path.join(os.path.dirname(BENCH), 'config')
    return os.path.join(folder, 'environments', 'gym.yaml')


def pick_cube_status(path: str) -> str:
    """Return why gym-hil's pick-cube (state) is not benchmarked: its step's error."""
    try:
        arm = EnvArm(load_environment(path, 'pick_cube').settings, cameras=False)
    except EnvError as error:
        return f'skipped ({error})'
    try:
        arm.reset(seed=0)
        arm.step([0.0, 0.0, 0.0, 1.0])
    except EnvError as error:
        return f'skipped ({error})'
    finally:
        arm.close()
    return 'skipped (it steps here, but the scripted human does not pick a cube in an env yet)'


@contextlib.contextmanager
def stdout_to_stderr():
    """Send what C code prints on stdout (PyBullet's connection options) to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def parse_args(argv=None) -> argparse.Namespace:
    """Return the command line's settings."""
    parser = argparse.ArgumentParser(
        description="Environment steps HIL-SERL needs to reach 80% success on panda-gym's "
                    'PandaReach-v3 (state) with scripted interventions, median over '
                    "seeds (gym-hil's pick-cube is tried and reported as skipped); prints "
                    'key: value lines.')
    parser.add_argument('--env', default='panda_reach',
                        help='entry of config/environments/gym.yaml with a desired_goal '
                             'to reach (default: panda_reach)')
    parser.add_argument('--seeds', type=positive_int, default=3,
                        help='runs, seeds 0..N-1 (default: 3)')
    parser.add_argument('--max-steps', type=positive_int, default=2000,
                        help='online environment steps at most per run (default: 2000)')
    parser.add_argument('--eval-every', type=positive_int, default=200,
                        help='online steps between two evaluations (default: 200)')
    parser.add_argument('--eval-episodes', type=positive_int, default=10,
                        help='deterministic episodes per evaluation (default: 10)')
    parser.add_argument('--demos', type=int, default=3,
                        help='scripted demonstrations (default: 3; 0: none, the state '
                             'statistics then come from the first online steps)')
    parser.add_argument('--updates-per-step', type=positive_int, default=4,
                        help="learner steps per online step (default: 4, train mode's)")
    parser.add_argument('--pretrain-updates', type=int, default=500,
                        help='offline updates on the demonstrations (default: 500)')
    parser.add_argument('--no-interventions', action='store_true',
                        help='nobody takes over during training')
    args = parser.parse_args(argv)
    if args.demos < 0 or args.pretrain_updates < 0:
        parser.error('--demos and --pretrain-updates must be 0 or more')
    return args


def run_seed(settings, args: argparse.Namespace, seed: int):
    """Train one seed on the environment of ``settings``; return its RunResult."""
    return train_on_env(settings, RunSettings(
        demos=args.demos, interventions=not args.no_interventions, seed=seed,
        max_steps=args.max_steps, eval_every=args.eval_every,
        eval_episodes=args.eval_episodes, target_success=TARGET_SUCCESS,
        pretrain_updates=args.pretrain_updates, updates_per_step=args.updates_per_step,
        control_time_s=EPISODE_TIME_S))


def main(argv=None) -> int:
    """Run every seed; print the figures."""
    args = parse_args(argv)
    configure_torch(1)   # the learner's torch_threads of config/train.yaml
    started = time.monotonic()
    path = environment_file()
    with stdout_to_stderr():
        pick_cube = pick_cube_status(path)
    print(f'gym_hil_pick_cube: {pick_cube}')
    try:
        env = load_environment(path, args.env)
    except EnvError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(f'env: {env.settings.env_id}')
    print(f'demos: {args.demos}')
    print(f'interventions: {not args.no_interventions}')
    print(f'updates_per_step: {args.updates_per_step}')
    print(f'seeds: {", ".join(str(seed) for seed in range(args.seeds))}', flush=True)
    results = []
    for seed in range(args.seeds):
        with stdout_to_stderr():
            try:
                results.append(run_seed(env.settings, args, seed))
            except EnvError as error:
                print(f'error: {error}', file=sys.stderr)
                return 2
        curve = ', '.join(f'{steps}:{rate:.1f}' for steps, rate in results[-1].curve)
        print(f'gym_reach_curve_seed_{seed}: {curve}', flush=True)
    figures = [result.steps_to_target for result in results]
    print('gym_reach_steps_to_80pct_success: '
          + show_steps(median_steps(figures), args.max_steps))
    print(f'gym_reach_steps_to_80pct_reached: {sum(f is not None for f in figures)}/'
          f'{len(figures)}')
    print('gym_reach_steps_to_80pct_per_seed: ' + ', '.join(
        show_steps(float('inf') if steps is None else steps, args.max_steps)
        for steps in figures))
    best = [max(result.curve, key=lambda point: point[1]) for result in results]
    print('gym_reach_best_success: ' + ', '.join(f'{rate:.1f} at {steps}'
                                                 for steps, rate in best))
    print('gym_reach_intervention_steps: ' + ', '.join(
        str(result.intervention_steps) for result in results))
    print(f'wall_clock_min: {(time.monotonic() - started) / 60:.1f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
