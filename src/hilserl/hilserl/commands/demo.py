"""
``hilserl demo``: the whole HIL-SERL workflow in simulation, unattended (``make demo``).

1. record mode: the scripted human records demonstrations of the task;
2. train mode: actor and learner as separate processes, the scripted human taking
   over when the policy strays, reward from the simulator (or the reward classifier);
3. train mode with ``evaluate:=true``: the trained policy alone, deterministic, no
   interventions; it prints ``final_success_rate``, ``wall_clock_min`` (training) and
   the path of the learning curves.

With ``--reward classifier`` the reward comes from a classifier trained here, as
HIL-SERL's does on a real arm: the demonstrations go on ``CLASSIFIER_STEPS_AFTER_SUCCESS``
steps past their success (the positives), the scripted human plays ``--failures``
episodes badly (the negatives, in ``classifier_data/failures``, never given to the
learner), and the classifier is trained on both as ``hilserl classifier train`` would
(``classifier/``). Training and evaluation use its reward; the simulator's ground truth
only judges it: ``final_success_rate`` is the ground truth's,
``final_classifier_success_rate`` the classifier's, and the classifier's false-positive
rate is printed for the evaluation and for the training.

With ``--policy-inputs images`` the policy sees proprioception and the two cameras, never
the cube's position (``object_in_state:=false`` for recording and training alike), through
a frozen encoder: ``--frozen-encoder CARD`` if you have one (``hilserl encoder import``),
otherwise one made here from the recorded frames (``--encoder``, see ``ENCODER_SOURCES``).
"""

import csv

import json
import os
import sys
import time
from typing import Optional

from hilserl.commands import CommandError

# Steps a demonstration is recorded past its success for --reward classifier: with the
# success frame and the final observation, 17 positive frames each (the learner still
# cuts a demonstration at its success).
CLASSIFIER_STEPS_AFTER_SUCCESS = 15
# Epochs of the classifier's training at most (small_cnn on the ~1200 frames of 10 + 10
# episodes, 2 cores: 5 s each idle, 15 to 30 s while other work runs). On such data the
# validation loss fell to 0.15 by epoch 8 and, noisily, to 0.12 by epoch 12 to 15.
CLASSIFIER_EPOCHS = 12
# Probability the classifier's reward counts as a success. The threshold saved with it
# maximises balanced accuracy on a few validation episodes and can lie far lower (0.25):
# there, live, 6 of 12 evaluation episodes ended on successes the ground truth did not
# see, 3 of them at p 0.3-0.45; at 0.7, 3 of 12 (the cube held up just short of the
# success height, or the empty jaws raised). The full image demo (25 min) at 0.7: ground
# truth 1.00 and 0.45 (11 of 20 false successes); at 0.9: 0.95, 0.75 and 0.95 (0 to 5).
CLASSIFIER_THRESHOLD = 0.9
# Where an image policy's frozen encoder comes from without --frozen-encoder: 'pretrain'
# (hilserl encoder pretrain on the recorded frames), 'classifier' (the reward classifier's
# trained convolutions, hilserl encoder from-classifier; a classifier is trained for it
# if the reward is not the classifier's) or 'random' (seeded random weights, the control).
# Default: the classifier's. bench/encoder_probe.py (held-out cube position from frozen
# features, cm): plain scene random 0.70, pretrain 0.52, classifier 0.57; randomized scene
# random 2.57, pretrain 3.11, classifier 1.95 (a mean predictor: 3.41). A policy-level
# comparison is still to be run.
ENCODER_SOURCES = ('pretrain', 'classifier', 'random')
DEFAULT_ENCODER = 'classifier'
ENCODER_MINUTES = 5.0


def register(subparsers) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        'demo', help='record demonstrations, train and evaluate a policy in simulation',
        description='Run the HIL-SERL workflow in simulation, unattended: record '
                    'demonstrations with the scripted human, train actor and learner as '
                    'separate processes with the scripted human intervening, then '
                    'evaluate the policy alone and print final_success_rate, '
                    'wall_clock_min and where the learning curves are.')
    parser.add_argument('--robot', default=None,
                        help='simulated arm: a robot registry name (config/robots/) or a '
                             'robot file with a sim section (default: the registry\'s '
                             'default_robot, config/default_robot.yaml)')
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
                        help='reward source during training (default: ground_truth); '
                             'classifier: records --failures too, trains a reward classifier '
                             'on them and the demonstrations, and trains with its reward')
    parser.add_argument('--failures', type=int, default=15,
                        help='--reward classifier: episodes the scripted human plays badly, '
                             "recorded as the classifier's negative examples; 15 play "
                             "each failure style three times (default: 15)")
    parser.add_argument('--classifier-epochs', type=int, default=CLASSIFIER_EPOCHS,
                        help="--reward classifier: most epochs of the classifier's training; "
                             'it stops earlier when the validation loss stops falling '
                             f'(default: {CLASSIFIER_EPOCHS})')
    parser.add_argument('--classifier-threshold', type=float, default=CLASSIFIER_THRESHOLD,
                        help="--reward classifier: the classifier's probability that counts "
                             'as a success in training and evaluation (default: '
                             f'{CLASSIFIER_THRESHOLD}; the one saved with it favours recall)')
    parser.add_argument('--policy-inputs', default='state', choices=('state', 'images'),
                        help='what the policy sees: the state with the cube position, or '
                             'proprioception and both cameras through the frozen encoder, '
                             'never the cube position (what make demo runs); default: state')
    parser.add_argument('--frozen-encoder', metavar='CARD',
                        help='--policy-inputs images: the frozen encoder, a card from '
                             '`hilserl encoder import` (e.g. ImageNet weights)')
    parser.add_argument('--encoder', choices=ENCODER_SOURCES, default=DEFAULT_ENCODER,
                        help='--policy-inputs images without --frozen-encoder: pretrain one on '
                             "the recorded frames, take the reward classifier's, or random "
                             f'weights as a control (default: {DEFAULT_ENCODER})')
    parser.add_argument('--encoder-minutes', type=float, default=ENCODER_MINUTES,
                        help=f'--encoder pretrain: its time budget (default: {ENCODER_MINUTES:g})')
    parser.add_argument('--lock-step', action='store_true',
                        help='advance the physics only as the commands come (lock_step:=true) '
                             'instead of in real time, as a real arm moves')
    parser.add_argument('--visual-variation', default='none', choices=('none', 'randomized'),
                        help='randomized: new lighting, textures, distractor objects and a '
                             'slightly moved camera at every reset, for recording, training '
                             'and evaluation (visual_variation:=randomized); default: none')
    parser.set_defaults(run=run)


def _run_mode(name: str, arguments) -> None:
    from hilserl.launching.modes import MODES
    from hilserl.launching.runner import EXIT_INTERRUPTED, run_mode
    print(f'\n=== hilserl launch {name} ' + ' '.join(f'{k}:={v}' for k, v in arguments.items()),
          flush=True)
    status = run_mode(MODES[name], {k: str(v) for k, v in arguments.items()})
    if status == EXIT_INTERRUPTED:
        raise CommandError(f'interrupted during the {name} stage; the run directory keeps '
                           'what was done (train resumes with resume:=true)')
    if status != 0:
        raise CommandError(f'the {name} stage stopped with status {status}; its output is above')


def _simulated_robot(robot: Optional[str]) -> str:
    """Return ``--robot`` (a registry name, or a file as an absolute path), checked."""
    from hilserl.arm.robot_registry import default_robot, is_robot_path, load_robot, RobotFileError
    try:
        robot = robot or default_robot()
        file = load_robot(robot)
    except RobotFileError as error:
        raise CommandError(f'--robot {robot}: {error}') from None
    if not file.simulated:
        raise CommandError(f'--robot {robot}: the demo runs in simulation; {file.name} is '
                           f'driven by {file.driver.kind} (driver.kind)')
    return file.path if is_robot_path(robot) else robot


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
    classifier = options.reward == 'classifier'
    images = options.policy_inputs == 'images'
    # The classifier's reward, or an image policy seeing through the classifier's layers.
    needs_classifier = classifier or (images and not options.frozen_encoder
                                      and options.encoder == 'classifier')
    if needs_classifier and (options.demos < 1 or options.failures < 0
                             or options.classifier_epochs < 1
                             or not 0.0 <= options.classifier_threshold <= 1.0):
        raise CommandError('the classifier (--reward classifier, --encoder classifier) learns '
                           'what a success looks like from the demonstrations: --demos and '
                           '--classifier-epochs must be 1 or more, --failures 0 or more, '
                           '--classifier-threshold in [0, 1]')
    if options.frozen_encoder and not (images and os.path.isfile(options.frozen_encoder)):
        raise CommandError(f'--frozen-encoder {options.frozen_encoder}: needs --policy-inputs '
                           'images and an existing card')
    common = {'robot': _simulated_robot(options.robot), 'task': options.task,
              'lock_step': 'true' if options.lock_step else 'false',
              'visual_variation': options.visual_variation,
              # An image policy finds the cube in the images only, as on a real arm.
              'object_in_state': 'false' if images else 'true'}
    if options.demos > 0:
        record = {**common, 'teleop': 'scripted', 'dataset_dir': demos,
                  'num_episodes': options.demos}
        if classifier:
            record['steps_after_success'] = CLASSIFIER_STEPS_AFTER_SUCCESS
        _run_mode('record', record)
    reward = {'reward': options.reward}
    classifier_dir = _classifier(options, run_dir, demos, common) if needs_classifier else ''
    if classifier:
        reward['classifier_model'] = classifier_dir
        reward['classifier_threshold'] = options.classifier_threshold
    inputs = {'policy_inputs': options.policy_inputs}
    if images:
        inputs.update(_encoder(options, run_dir, demos, classifier_dir))
    started = time.monotonic()
    _run_mode('train', {**common, 'run_dir': train_dir, 'demos': demos if options.demos else '',
                        'num_episodes': options.train_episodes,
                        'max_minutes': options.train_minutes, **reward, **inputs})
    wall_clock_min = (time.monotonic() - started) / 60.0
    # The classifier's reward ends the evaluation's episodes too; the ground truth judges.
    _run_mode('train', {**common, 'run_dir': train_dir, 'evaluate': 'true',
                        'num_episodes': options.eval_episodes, **inputs,
                        **(reward if classifier else {})})
    evaluation_path = os.path.join(train_dir, 'evaluation.json')
    try:
        with open(evaluation_path, encoding='utf-8') as stream:
            evaluation = json.load(stream)
    except (OSError, ValueError) as error:
        raise CommandError(f'no evaluation result in {evaluation_path}: {error}') from None
    if classifier:
        _print_classifier_figures(evaluation, os.path.join(train_dir, 'episodes.csv'))
    else:
        print(f"final_success_rate: {evaluation['success_rate']:.2f}")
    print(f'wall_clock_min: {wall_clock_min:.1f}')
    print(f"plots: {os.path.join(train_dir, 'plots')}")
    sys.stdout.flush()
    return 0


def _classifier(options, run_dir: str, demos: str, common) -> str:
    """Record the failures, train the classifier on them and the demos; return its directory."""
    from hilserl_learning.classifier_training import TrainingConfig

    from hilserl.commands.classifier import train_and_save
    datasets = [demos]
    if options.failures > 0:
        failures = os.path.join(run_dir, 'classifier_data', 'failures')
        _run_mode('record', {**common, 'teleop': 'scripted', 'dataset_dir': failures,
                             'num_episodes': options.failures, 'scripted_outcome': 'failure'})
        datasets.append(failures)
    out = os.path.join(run_dir, 'classifier')
    print(f"\n=== hilserl classifier train {' '.join(datasets)} --out {out} --epochs "
          f'{options.classifier_epochs}', flush=True)
    report = train_and_save(datasets, out, None, None, {}, TrainingConfig(
        epochs=options.classifier_epochs, progress=False)).report
    confusion = report['confusion']
    false_positive_rate = confusion['false_positive'] / max(
        confusion['false_positive'] + confusion['true_negative'], 1)
    print(f"classifier_validation: accuracy {report['accuracy']:.3f}, precision "
          f"{report['precision']:.3f}, recall {report['recall']:.3f}, false-positive rate "
          f"{false_positive_rate:.3f} on {report['frames']} frames of episodes it did not "
          'train on', flush=True)
    # The ROC point of the reward's threshold: frames scored at or above it are successes.
    roc = report['roc']
    point = max(i for i, t in enumerate(roc['thresholds'])
                if t is None or t >= options.classifier_threshold)
    print(f'classifier_validation at {options.classifier_threshold:g} (the reward): recall '
          f"{roc['tpr'][point]:.3f}, false-positive rate {roc['fpr'][point]:.3f}", flush=True)
    return out


def _encoder(options, run_dir: str, demos: str, classifier_dir: str):
    """Return the train mode arguments that give the image policy its frozen encoder."""
    from hilserl.commands.cli import build_parser
    if options.frozen_encoder:
        return {'frozen_encoder': os.path.abspath(options.frozen_encoder)}
    if options.encoder == 'random':
        return {'allow_random_encoder': 'true'}
    card = os.path.join(run_dir, 'encoder', f'{options.encoder}.safetensors')
    if options.encoder == 'classifier':
        words = ['encoder', 'from-classifier', classifier_dir, '--out', card]
    else:
        failures = os.path.join(run_dir, 'classifier_data', 'failures')
        words = ['encoder', 'pretrain', demos, *([failures] if os.path.isdir(failures) else []),
                 '--out', card, '--minutes', f'{options.encoder_minutes:g}', '--no-progress']
    print('\n=== hilserl ' + ' '.join(words), flush=True)
    command = build_parser().parse_args(words)
    command.run(command)
    return {'frozen_encoder': card}


def _print_classifier_figures(evaluation, episodes_csv: str) -> None:
    """Print success by the ground truth and by the classifier, and the classifier's errors."""
    from hilserl.actor.reward_check import evaluation_figures

    def rate(value):
        return 'n/a' if value is None else f'{value:.3f}'

    print(f"final_success_rate: {evaluation['ground_truth_success_rate']:.2f}")
    print(f"final_classifier_success_rate: {evaluation['classifier_success_rate']:.2f}")
    print(f"classifier_false_positive_rate: {rate(evaluation['classifier_false_positive_rate'])}")
    print(f"classifier_false_successes: {evaluation['classifier_false_successes']}/"
          f"{evaluation['episodes']}")
    below = evaluation.get('false_success_below_goal_cm')
    if below:
        print(f"classifier_false_successes_grasped: {evaluation['false_successes_grasped']}/"
              f"{evaluation['classifier_false_successes']}")
        print(f"classifier_false_success_below_goal_cm: {below['median']:g} (median; "
              f"{below['min']:g} to {below['max']:g})")
    try:
        with open(episodes_csv, newline='', encoding='utf-8') as stream:
            training = evaluation_figures(csv.DictReader(stream))
    except OSError as error:
        print(f'(no training figures: {error})')
        return
    print('training_classifier_false_positive_rate: '
          f"{rate(training['classifier_false_positive_rate'])}")
    print(f"training_classifier_false_successes: {training['classifier_false_successes']}/"
          f"{training['episodes']}")
