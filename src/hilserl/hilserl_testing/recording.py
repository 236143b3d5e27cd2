"""Record mode run to its end from a test: the scripted human records episodes of a task."""

from dataclasses import dataclass
import subprocess

from hilserl.dataset import bag_format
from hilserl.dataset.reader import read_dataset


@dataclass(frozen=True)
class Recording:
    """What a finished record mode left: its output and how many recorded episodes succeeded."""

    output: str
    successes: int


def record_scripted_episodes(processes, robot: str, dataset_dir, *, task: str = 'reach',
                             num_episodes: int = 2, successes: int = 1) -> Recording:
    """
    Run record mode with the scripted human on ``robot`` until it exits; return its result.

    ``processes`` is the integration tests' fixture. The mode runs lock-step at 10 Hz, 10 s
    per episode. Raise AssertionError when it fails, prints a traceback, leaves other than
    ``num_episodes`` episodes in ``dataset_dir``, or fewer than ``successes`` of them
    succeeded. (Counted in the recorded files: a SUCCESS event sent before a probe's
    subscription matched the publisher would be lost, and was once in CI.)
    """
    record = processes.start_mode('record', robot=robot, task=task, teleop='scripted',
                                  num_episodes=num_episodes, dataset_dir=dataset_dir, fps=10,
                                  control_time_s=10, lock_step='true')
    try:
        status = record.wait(timeout=170)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'record mode runs past 170 s:\n{record.output()}') from None
    output = record.output()
    assert status == 0, output
    assert 'Traceback' not in output, output
    assert len(bag_format.episode_directories(str(dataset_dir))) == num_episodes, output

    recorded = sum(episode.success for episode in read_dataset([str(dataset_dir)]))
    assert recorded >= successes, output
    return Recording(output=output, successes=recorded)
