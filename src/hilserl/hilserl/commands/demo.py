"""
``hilserl demo``: the whole HIL-SERL workflow in simulation, unattended (``make demo``).

1. record mode: the scripted human records demonstrations of the task;
2. train mode: actor and learner as separate processes, the scripted human taking
   over when the policy strays, reward from the simulator (or the reward classifier);
3. train mode with ``evaluate:=true``: the trained policy alone, deterministic, no
   interventions; it prints ``final_success_rate``, ``wall_clock_min`` (training) and
   the path of the learning curves.
"""

import json
import os
import sys
import time

from hilserl.commands import CommandError


def register(subparsers) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        'demo', help='record demonstrations, train and evaluate a policy in simulation',
        description='Run the HIL-SERL workflow in simulation, unattended: record '
                    'demonstrations with the scripted human, train actor and learner as '
                    'separate processes with the scripted human intervening, then '
                    'evaluate the policy alone and print final_success_rate, '
                    'wall_clock_min and where the learning curves are.')
    parser.add_argument('--robot', default='so101', choices=('so101', 'panda'),
                        help='simulated arm (default: so101)')
    parser.add_argument('--task', default='pick_lift', choices=('reach', 'push', 'pick_lift'),
                        help='task (default: pick_lift)')
    parser.add_argument('--run-dir', default='demo_run',
                        help='where demonstrations, checkpoints and plots go (default: demo_run)')
    parser.add_argument('--demos', type=int, default=10,
                        help='demonstrations to record (default: 10)')
    parser.add_argument('--train-minutes', type=float, default=25.0,
                        help='train until the episode during which this many minutes passed '
                             '(default: 25, within the 30 a demo is judged by)')
    parser.add_argument('--train-episodes', type=int, default=0,
                        help='stop training after this many episodes, if sooner '
                             '(default: 0, no limit)')
    parser.add_argument('--eval-episodes', type=int, default=20,
                        help='evaluation episodes without interventions (default: 20)')
    parser.add_argument('--reward', default='ground_truth',
                        choices=('ground_truth', 'classifier'),
                        help='reward source during training (default: ground_truth)')
    parser.add_argument('--policy-inputs', default='state', choices=('state', 'images'),
                        help='what the policy sees: the state with the cube position, or '
                             'the state and both cameras through the frozen encoder (slow '
                             'on a CPU); default: state')
    parser.add_argument('--lock-step', action='store_true',
                        help='advance the physics only as the commands come (lock_step:=true) '
                             'instead of in real time, as a real arm moves')
    parser.add_argument('--visual-variation', default='none', choices=('none', 'randomized'),
                        help='randomized: new lighting, textures, distractor objects and a '
                             'slightly moved camera at every reset, for recording, training '
                             'and evaluation (visual_variation:=randomized); default: none')
    parser.set_defaults(run=run)


def _run_mode(name: str, arguments) -> None:
    from hilserl.modes import MODES
    from hilserl.runner import EXIT_INTERRUPTED, run_mode
    print(f'\n=== hilserl launch {name} ' + ' '.join(f'{k}:={v}' for k, v in arguments.items()),
          flush=True)
    status = run_mode(MODES[name], {k: str(v) for k, v in arguments.items()})
    if status == EXIT_INTERRUPTED:
        raise CommandError(f'interrupted during the {name} stage; the run directory keeps '
                           'what was done (train resumes with resume:=true)')
    if status != 0:
        raise CommandError(f'the {name} stage stopped with status {status}; its output is above')


def run(options) -> int:
    """Run the three stages and print the figures."""
    run_dir = os.path.abspath(options.run_dir)
    demos = os.path.join(run_dir, 'demonstrations')
    train_dir = os.path.join(run_dir, 'train')
    if os.path.exists(train_dir):
        raise CommandError(f'{train_dir} exists; remove it or pass another --run-dir')
    if options.train_episodes < 0 or not options.train_minutes >= 0 or not (
            options.train_episodes or options.train_minutes):
        raise CommandError('--train-episodes and --train-minutes must be >= 0, and one of '
                           'them positive')
    common = {'robot': options.robot, 'task': options.task,
              'lock_step': 'true' if options.lock_step else 'false',
              'visual_variation': options.visual_variation}
    if options.demos > 0:
        _run_mode('record', {**common, 'teleop': 'scripted', 'dataset_dir': demos,
                             'num_episodes': options.demos})
    started = time.monotonic()
    _run_mode('train', {**common, 'run_dir': train_dir, 'demos': demos if options.demos else '',
                        'num_episodes': options.train_episodes,
                        'max_minutes': options.train_minutes, 'reward': options.reward,
                        'policy_inputs': options.policy_inputs})
    wall_clock_min = (time.monotonic() - started) / 60.0
    _run_mode('train', {**common, 'run_dir': train_dir, 'evaluate': 'true',
                        'num_episodes': options.eval_episodes,
                        'policy_inputs': options.policy_inputs})
    evaluation_path = os.path.join(train_dir, 'evaluation.json')
    try:
        with open(evaluation_path, encoding='utf-8') as stream:
            evaluation = json.load(stream)
    except (OSError, ValueError) as error:
        raise CommandError(f'no evaluation result in {evaluation_path}: {error}') from None
    print(f"final_success_rate: {evaluation['success_rate']:.2f}")
    print(f'wall_clock_min: {wall_clock_min:.1f}')
    print(f"plots: {os.path.join(train_dir, 'plots')}")
    sys.stdout.flush()
    return 0
