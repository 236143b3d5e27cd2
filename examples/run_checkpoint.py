"""
Run a trained policy: load a run's latest checkpoint and act on a recorded episode.

Loads the agent of the newest checkpoint in a learner's run directory with
hilserl_learning.load_checkpoint (safetensors and JSON, no pickle), takes the state
entries and cameras the run was trained on from the checkpoint, and runs the policy
(deterministic: the mode of its action distribution) on each observation of one recorded
episode, printing its action beside the recorded one. No ROS graph is needed; on a
running arm the actor does this (train mode with evaluate:=true).

    python examples/run_checkpoint.py runs/pick_lift ~/hilserl_data/pick_lift --episode 0
"""

import argparse
import os
import sys

from hilserl_learning import CheckpointError, load_checkpoint
from hilserl_learning.serialization import read_json
import numpy as np

from hilserl.dataset.reader import DatasetError, read_dataset
from hilserl.learner.run_files import RunFiles, STATE_FILE
from hilserl.learner.step_assembly import recorded_steps


def load_policy(run_dir: str):
    """Return the agent of the run's newest checkpoint, its state names and cameras."""
    checkpoint = RunFiles(run_dir).latest()
    if checkpoint is None:
        raise CheckpointError(f'{run_dir} holds no checkpoint (not a learner run_dir?)')
    agent, _ = load_checkpoint(os.path.join(checkpoint, 'agent'))
    layout = read_json(os.path.join(checkpoint, STATE_FILE))
    print(f'{checkpoint}: {agent.num_actor_updates} actor updates, state '
          f"{', '.join(layout['state_names'])}, cameras {layout['camera_names'] or 'none'}")
    return agent.eval(), layout['state_names'], layout['camera_names']


def main(argv=None) -> int:
    """Run the example; 0 when the policy ran, 1 (with the reason) otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('run_dir', help="a learner's run_dir (with checkpoints/)")
    parser.add_argument('dataset', help='a recorded dataset directory or episode bag')
    parser.add_argument('--episode', type=int, default=0,
                        help='which episode of the dataset, counted from 0 (default 0)')
    options = parser.parse_args(argv)
    try:
        agent, state_names, cameras = load_policy(options.run_dir)
        episodes = read_dataset([options.dataset])
        if not 0 <= options.episode < len(episodes):
            raise DatasetError(f'--episode {options.episode}: the dataset has '
                               f'{len(episodes)} episodes')
        episode = episodes[options.episode].with_state(state_names)
    except (CheckpointError, DatasetError) as error:
        print(f'run_checkpoint: {error}', file=sys.stderr)
        return 1
    differences = []
    with np.printoptions(precision=3, suppress=True, sign=' '):
        for index, step in enumerate(recorded_steps(episode, cameras)):
            action = agent.select_action(step['observation'], deterministic=True)
            print(f'step {index:3d}: policy {action}  recorded {step["action"]}')
            differences.append(np.abs(action[:3] - step['action'][:3]).mean())
    print(f'episode {episode.index}: {len(differences)} steps, mean |policy - recorded| '
          f'move {np.mean(differences):.3f} (in [-1, 1] per axis)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
