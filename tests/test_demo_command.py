"""
``hilserl demo`` end to end, made small: record, train and evaluate (in lock-step).

The figures it prints are checked against the files the stages wrote; how well the
policy does after so little training is not (``make demo`` is the measure of that).
"""

import csv
import json
import os
import re
import sys


def test_demo_records_trains_evaluates_and_prints_its_figures(processes, tmp_path):
    run_dir = tmp_path / 'run'
    demo = processes.start([sys.executable, '-m', 'hilserl', 'demo', '--run-dir', str(run_dir),
                            '--demos', '2', '--train-episodes', '3', '--train-minutes', '0',
                            '--eval-episodes', '2', '--lock-step'], 'demo')
    assert demo.wait(timeout=600) == 0, demo.output()
    output = demo.output()
    assert 'lock_step:=true' in output and 'Traceback' not in output

    demonstrations = sorted(p.name for p in (run_dir / 'demonstrations').iterdir()
                            if p.is_dir())
    assert len(demonstrations) == 2, demonstrations
    with open(run_dir / 'train' / 'episodes.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    # The training episodes only: the evaluation's go to evaluation.json.
    assert len(rows) == 3
    evaluation = json.loads((run_dir / 'train' / 'evaluation.json').read_text())
    assert evaluation['episodes'] == 2 and evaluation['deterministic']
    assert all(e['intervention_steps'] == 0 for e in evaluation['per_episode'])

    rate = re.search(r'^final_success_rate: (\d\.\d\d)$', output, re.MULTILINE)
    assert rate and float(rate.group(1)) == round(evaluation['success_rate'], 2)
    assert re.search(r'^wall_clock_min: \d+\.\d$', output, re.MULTILINE)
    plots = re.search(r'^plots: (.+)$', output, re.MULTILINE).group(1)
    assert plots == str(run_dir / 'train' / 'plots')
    assert any(name.endswith('.png') for name in os.listdir(plots))
