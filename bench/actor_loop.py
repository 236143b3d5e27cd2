#!/usr/bin/env python3
"""
Actor control loop with 2 cameras while a learner trains on the same machine.

Prints `key: value` lines for each --fps value N (targets in brackets):
  actor_loop_hz_fpsN                 achieved control rate, mean over the measured
                                     episodes' policy_hz_mean (steps-weighted)     [N]
  actor_loop_hz_p90_fpsN             lowest of the episodes' policy_hz_p90         [record]
  actor_period_jitter_p99_ms_fpsN    worst of the episodes' period_jitter_p99_ms   [<= 5]
  actor_latency_ms_fpsN              observation -> command, mean                  [record]
  learner_updates_per_s_fpsN         the learner's own status lines during the
                                     measurement (0 would mean it was not training) [record]
  actor_policy_version_fpsN          policy version in use at the last episode's end
  actor_scheduling_fpsN              the control loop thread's: 'SCHED_FIFO priority P'
                                     (the actor's thread_priority, where permitted) or
                                     'normal'

With --encoders (default: resnet10 small_cnn) each figure is measured per frozen encoder: the
train mode's default resnet10 (random weights: it costs what pretrained ones do) has the
keys above; small_cnn, the reward classifier's backbone that `hilserl demo` uses as the
image policy's encoder (a card written from a classifier with random weights, by
`hilserl encoder from-classifier`'s function), has them with `_small_cnn` appended. With
--encoder-fps (default 30) small_cnn is measured at those rates only.

The graph is the train mode's (`hilserl launch train robot:=so101 policy_inputs:=images
fps:=N teleop:=none`, no demonstrations), started node by node from the same
description so that the learner can start learning after --learn-after online steps
instead of 100. The figures are the actor's own EpisodeStats on `episode_stats`; only
episodes that begin after one has ended with a trained policy (policy version >= 1, so
the learner is updating) are measured.

Run inside the workspace: `make bench` or `scripts/in_env python bench/actor_loop.py`.
"""

import argparse
import dataclasses
import os
import re
import shutil
import statistics
import sys
import tempfile

ENCODERS = ('resnet10', 'small_cnn')
STATUS_RATE = re.compile(r'(\d+) learner steps, ([0-9.]+) updates/s')
SCHEDULING = re.compile(r'control loop thread: (SCHED_FIFO priority \d+)')


def small_cnn_card(work_dir: str) -> str:
    """Write the demo's image encoder (a classifier's small_cnn, random weights) as a card."""
    from hilserl_learning.classifier_encoder import export_classifier_encoder
    from hilserl_learning.reward_classifier import (ClassifierConfig, RewardClassifier,
                                                    save_classifier)
    classifier_dir = os.path.join(work_dir, 'classifier')
    save_classifier(RewardClassifier(ClassifierConfig(camera_names=('front', 'wrist'))),
                    classifier_dir)
    card = os.path.join(work_dir, 'small_cnn_encoder.safetensors')
    export_classifier_encoder(classifier_dir, card, True)
    return card


def train_graph(fps: float, run_dir: str, options, encoder_card: str = '') -> list:
    """Return the train mode's nodes, the learner starting to learn early."""
    from hilserl.launching.modes import TRAIN
    # Timing only: random weights cost what pretrained ones do.
    encoder = ({'frozen_encoder': encoder_card} if encoder_card
               else {'allow_random_encoder': 'true'})
    nodes = TRAIN.nodes({'robot': 'so101', 'task': 'pick_lift', 'policy_inputs': 'images',
                         'fps': str(fps), 'control_time_s': str(options.control_time_s),
                         'run_dir': run_dir, 'teleop': options.teleop, **encoder})
    overrides = {'learner': {'online_step_before_learning': options.learn_after,
                             'status_period_s': 2.0}}
    if options.thread_priority is not None:
        overrides['actor'] = {'thread_priority': options.thread_priority}
    return [dataclasses.replace(spec, parameters={**spec.parameters, **overrides[spec.name]})
            if spec.name in overrides else spec for spec in nodes]


class Watcher:
    """Fails a wait at once, with the output, when a node of the graph exits."""

    def __init__(self, started):
        """Watch the ManagedProcess list ``started``."""
        self.started = started

    def check(self) -> None:
        """Raise RuntimeError when a node exited."""
        for process in self.started:
            if not process.alive():
                raise RuntimeError(f'{process.name} exited ({process.process.returncode}); '
                                   f'its output ends:\n{process.output()[-3000:]}')


def measure(fps: float, options, work_dir: str, encoder_card: str = '',
            suffix: str = '') -> dict:
    """Run the train graph at ``fps`` and return its figures (keys end with ``suffix``)."""
    from hilserl_interfaces.msg import EpisodeStats

    from hilserl.nodes.learner import STATS_QOS
    from hilserl.ros.lifecycle_client import LifecycleClient
    from hilserl_testing.probe import GraphProbe
    from hilserl_testing.processes import ProcessGroup

    run_dir = os.path.join(work_dir, f'fps{fps:g}{suffix}')
    processes = ProcessGroup(tempfile.mkdtemp(prefix='logs-', dir=work_dir))
    probe = GraphProbe('bench_actor_loop')
    try:
        graph = train_graph(fps, run_dir, options, encoder_card)
        started = [processes.start_node(spec) for spec in graph]
        # The managed nodes (the actor) start inactive, as under `hilserl launch`: bring them
        # up as it does.
        with LifecycleClient(wait_s=60.0) as client:
            client.bring_up([spec.full_name for spec in graph if spec.lifecycle])
        learner = next(p for p in started if p.name == '/learner')
        watcher = Watcher(started)
        stats = probe.subscribe(EpisodeStats, 'episode_stats', STATS_QOS)

        def first_trained_episode():
            watcher.check()
            return any(s.policy_version >= 1 for s in stats.messages)
        probe.spin_until(first_trained_episode, options.timeout,
                         'an episode ended with a trained policy (policy_version >= 1)')
        skip = len(stats.messages)
        log_start = len(learner.output())

        def measured():
            watcher.check()
            return len(stats.messages) >= skip + options.episodes
        probe.spin_until(measured, options.timeout + options.episodes * (
            options.control_time_s + 30), f'{options.episodes} measured episodes')
        episodes = stats.messages[skip:skip + options.episodes]
        actor = next(p for p in started if p.name == '/actor')
        scheduling = SCHEDULING.search(actor.output())
        rates = [float(rate) for _, rate in STATUS_RATE.findall(learner.output()[log_start:])]
    finally:
        probe.close()
        processes.stop_all()
    steps = sum(e.steps for e in episodes)
    name = f'fps{fps:g}{suffix}'
    return {
        f'actor_loop_hz_{name}': sum(e.policy_hz_mean * e.steps for e in episodes) / steps,
        f'actor_loop_hz_p90_{name}': min(e.policy_hz_p90 for e in episodes),
        f'actor_period_jitter_p99_ms_{name}': max(e.period_jitter_p99_ms for e in episodes),
        f'actor_latency_ms_{name}': statistics.mean(e.latency_ms_mean for e in episodes),
        f'learner_updates_per_s_{name}': statistics.mean(rates) if rates else 0.0,
        f'actor_policy_version_{name}': episodes[-1].policy_version,
        f'actor_scheduling_{name}': scheduling.group(1) if scheduling else 'normal',
    }


def main() -> int:
    """Parse the options, measure each fps, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--fps', type=float, nargs='+', default=[10.0, 30.0],
                        help='control rates to measure, one graph each (default 10 30)')
    parser.add_argument('--episodes', type=int, default=4,
                        help='measured episodes per rate (default 4)')
    parser.add_argument('--control-time-s', type=float, default=5.0,
                        help='episode length, s (default 5)')
    parser.add_argument('--learn-after', type=int, default=10,
                        help="the learner's online_step_before_learning (default 10)")
    parser.add_argument('--teleop', choices=('none', 'scripted'), default='none',
                        help='who may take over (default none: the policy acts alone)')
    parser.add_argument('--thread-priority', type=int, default=None,
                        help="the actor's thread_priority (default: the node's, 50: "
                             'SCHED_FIFO where permitted; 0: normal scheduling)')
    parser.add_argument('--encoders', nargs='+', choices=ENCODERS, default=list(ENCODERS),
                        help='frozen encoders to measure (default: resnet10 small_cnn)')
    parser.add_argument('--encoder-fps', type=float, nargs='+', default=[30.0],
                        help='rates at which encoders other than resnet10 are measured '
                             '(default 30)')
    parser.add_argument('--timeout', type=float, default=120.0,
                        help='deadline for the first trained episode, s (default 120)')
    options = parser.parse_args()
    if options.episodes < 1 or options.control_time_s <= 0 or min(options.fps) <= 0:
        parser.error('--episodes must be at least 1, --control-time-s and --fps positive')

    from ament_index_python.packages import get_package_share_directory

    from hilserl_testing.isolation import DomainLease, isolated_environment

    lease = DomainLease()
    config_dir = os.path.join(get_package_share_directory('hilserl'), 'config')
    os.environ.update(isolated_environment(lease.domain_id, config_dir))
    work_dir = tempfile.mkdtemp(prefix='hilserl-bench-actor-loop-')
    try:
        runs = [(fps, '') for fps in options.fps if 'resnet10' in options.encoders]
        if 'small_cnn' in options.encoders:
            card = small_cnn_card(work_dir)
            runs += [(fps, card) for fps in options.encoder_fps]
        for fps, card in runs:
            suffix = '_small_cnn' if card else ''
            for key, value in measure(fps, options, work_dir, card, suffix).items():
                print(f'{key}: {value:.2f}' if isinstance(value, float) else f'{key}: {value}',
                      flush=True)
    except (AssertionError, RuntimeError) as error:
        print(f'actor loop benchmark failed: {error} (logs in {work_dir})', file=sys.stderr)
        return 1
    finally:
        lease.release()
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
