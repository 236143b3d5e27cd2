"""Record mode run to its end from a test: the scripted human records episodes of a task."""

from dataclasses import dataclass

from hilserl_interfaces.msg import EpisodeEvent
from rclpy.qos import QoSProfile, ReliabilityPolicy

from hilserl.dataset import bag_format

EVENTS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


@dataclass(frozen=True)
class Recording:
    """What a finished record mode left: its output and the SUCCESS events it sent."""

    output: str
    successes: int


def record_scripted_episodes(processes, probe, robot: str, dataset_dir, *, task: str = 'reach',
                             num_episodes: int = 2, successes: int = 1) -> Recording:
    """
    Run record mode with the scripted human on ``robot`` until it exits; return its result.

    ``processes`` and ``probe`` are the integration tests' fixtures. The mode runs lock-step
    at 10 Hz, 10 s per episode. Raise AssertionError when it fails, prints a traceback,
    leaves other than ``num_episodes`` episodes in ``dataset_dir``, or when fewer than
    ``successes`` SUCCESS events reach the probe within 10 s of its exit (the recorder's
    last events may still be on their way when it exits).
    """
    events = probe.subscribe(EpisodeEvent, '/episode_events', EVENTS_QOS)
    record = processes.start_mode('record', robot=robot, task=task, teleop='scripted',
                                  num_episodes=num_episodes, dataset_dir=dataset_dir, fps=10,
                                  control_time_s=10, lock_step='true')
    probe.spin_until(lambda: not record.alive(), 170, 'record mode to finish')
    output = record.output()
    assert record.wait(timeout=10) == 0, output
    assert 'Traceback' not in output, output
    assert len(bag_format.episode_directories(str(dataset_dir))) == num_episodes, output

    def count():
        return sum(msg.event == EpisodeEvent.SUCCESS for msg in events.messages)
    probe.spin_until(lambda: count() >= successes, 10, f'{successes} SUCCESS event(s)')
    return Recording(output=output, successes=count())
