"""
``hilserl demo --policy-inputs images --reward classifier`` end to end, made small.

The image policy sees the cameras through the reward classifier's own convolutions
(``--encoder classifier``), never the cube's position; everything runs in lock-step.

Demonstrations and played failures are recorded into their own datasets, a classifier
is trained on both, the policy is trained and evaluated with its reward, and the
figures it prints are the evaluation's, judged by the classifier and by the ground
truth; how good a classifier one epoch on four episodes gives is not checked.
"""

import csv
import json
import re
import sys

from hilserl.dataset.reader import read_dataset
import pytest


def printed(output: str, key: str) -> str:
    """Return the value of a ``key: value`` line the demo printed."""
    found = re.search(rf'^{key}: (.+)$', output, re.MULTILINE)
    assert found, f'no {key} line in the output'
    return found.group(1)


# Records, trains a classifier and runs two graphs: ~2.5 min alone, more on a loaded machine.
@pytest.mark.timeout(600)
def test_image_demo_with_the_classifier_reward_trains_it_and_scores_it_against_ground_truth(
        processes, tmp_path):
    run_dir = tmp_path / 'run'
    demo = processes.start([sys.executable, '-m', 'hilserl', 'demo', '--run-dir', str(run_dir),
                            '--reward', 'classifier', '--demos', '2', '--failures', '2',
                            '--classifier-epochs', '1', '--train-episodes', '2',
                            '--train-minutes', '0', '--eval-episodes', '2', '--lock-step',
                            '--policy-inputs', 'images', '--encoder', 'classifier'],
                           'demo')
    assert demo.wait(timeout=600) == 0, demo.output()
    output = demo.output()
    assert 'Traceback' not in output and 'scripted_outcome:=failure' in output

    # Demonstrations go on past their success (positives); failures never succeed and
    # live in a dataset of their own, which the learner is not given.
    demonstrations = read_dataset([str(run_dir / 'demonstrations')])
    failures = read_dataset([str(run_dir / 'classifier_data' / 'failures')])
    assert len(demonstrations) == 2 and len(failures) == 2
    assert all(episode.success and episode.rewards.sum() >= 10 for episode in demonstrations)
    assert not any(episode.success or episode.rewards.any() for episode in failures)
    train_line = re.search(r'^=== hilserl launch train .*$', output, re.MULTILINE).group(0)
    assert f"demos:={run_dir / 'demonstrations'} " in train_line
    assert 'classifier_data' not in train_line
    # The image policy: no cube position anywhere, the classifier's encoder as a card.
    card = run_dir / 'encoder' / 'classifier.safetensors'
    assert card.is_file() and (run_dir / 'encoder' / 'classifier.json').is_file()
    assert f'policy_inputs:=images frozen_encoder:={card}' in train_line
    assert 'object_in_state:=false' in train_line
    assert not any(name.startswith('object.') for name in demonstrations[0].state_names)

    # The classifier, as `hilserl classifier train` writes it, with its report printed.
    classifier = run_dir / 'classifier'
    assert {'classifier.json', 'classifier.safetensors', 'report.json', 'roc.png'} <= {
        path.name for path in classifier.iterdir()}
    assert re.search(r'^classifier_validation: accuracy \d\.\d{3}, precision', output,
                     re.MULTILINE)
    assert re.search(r'^classifier_validation at 0\.9 \(the reward\): recall \d\.\d{3}, '
                     r'false-positive rate \d\.\d{3}$', output, re.MULTILINE)
    assert f'classifier_model:={classifier} classifier_threshold:=0.9' in output

    # Training: the learner's episodes carry the classifier's counts against the truth.
    with open(run_dir / 'train' / 'episodes.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2
    for row in rows:
        counts = [int(row[f'classifier_{kind}']) for kind in ('tp', 'fp', 'fn', 'tn')]
        assert sum(counts) == int(row['steps'])
        assert row['true_success'] in ('0', '1') and row['running_classifier_fp_rate'] != ''

    # Evaluation: both judges and the classifier's errors, in the file and printed.
    evaluation = json.loads((run_dir / 'train' / 'evaluation.json').read_text())
    assert evaluation['episodes'] == 2
    assert evaluation['success_rate'] == evaluation['classifier_success_rate']
    assert sum(evaluation['classifier_steps'].values()) == sum(
        episode['steps'] for episode in evaluation['per_episode'])
    assert float(printed(output, 'final_success_rate')) == round(
        evaluation['ground_truth_success_rate'], 2)
    assert float(printed(output, 'final_classifier_success_rate')) == round(
        evaluation['classifier_success_rate'], 2)
    rate = evaluation['classifier_false_positive_rate']
    assert printed(output, 'classifier_false_positive_rate') == (
        'n/a' if rate is None else f'{rate:.3f}')
    assert printed(output, 'classifier_false_successes') == (
        f"{evaluation['classifier_false_successes']}/2")
    # Each false success says where the cube was when the classifier took it for one.
    described = [episode['first_false_positive'] for episode in evaluation['per_episode']
                 if episode['success'] and not episode['true_success']]
    assert len(described) == evaluation['classifier_false_successes']
    assert all(set(where) == {'grasped', 'below_goal_cm'} for where in described)
    if described:
        assert int(printed(output, 'classifier_false_successes_grasped').split('/')[0]) == (
            sum(where['grasped'] for where in described))
    assert printed(output, 'training_classifier_false_successes').endswith('/2')
    assert re.search(r'^wall_clock_min: \d+\.\d$', output, re.MULTILINE)
