#!/usr/bin/env python3
"""
Time LeRobot's own SAC update beside ours, in one process, and print ``key: value`` lines.

Run it through ``make bench-peers`` (scripts/peers_venv.sh): it needs LeRobot, which lives in
.venv-peers, not in the workspace's .venv. Our half (hilserl_learning) is imported from this
checkout's src/ into the same process, so both sides share the torch build, the intra-op
threads and the allocator settings; the two are timed in alternating windows (ours, LeRobot,
ours, LeRobot, ...) so that other load on the machine hits both alike.

Keys:
  sac_state_updates_per_s                  ours: 2 critics 256x256, batch 256, state only
  lerobot_sac_state_updates_per_s          LeRobot's SACPolicy, the same sizes
  state_speedup_vs_lerobot                 median over rounds of ours / LeRobot
  sac_image_cached_updates_per_s           ours: 2 cameras 128x128, frozen ResNet-10 features
                                           cached in the replay buffer
  lerobot_sac_image_updates_per_s          LeRobot with its frozen ResNet-10 as its learner
                                           runs it: the frozen features are computed once per
                                           batch (observations and next observations) and
                                           shared by critic, grasp critic, actor, temperature
  image_speedup_vs_lerobot                 median over rounds of ours / LeRobot
  lerobot_sac_image_precomputed_updates_per_s
                                           LeRobot's update given frozen feature maps computed
                                           beforehand (its forward accepts them; its learner
                                           does not store them): the networks alone
  image_speedup_vs_lerobot_precomputed     ours / that
One update on each side: critic ensemble, grasp (discrete) critic with 3 actions, actor,
temperature, target networks; the batch drawn half from an online and half from an offline
buffer, sampling included. LeRobot's update follows lerobot/rl/learner.py (0.4.4) with
utd_ratio 1 and policy_update_freq 1: each loss from SACPolicy.forward, zero_grad, backward,
clip_grad_norm_ (40), Adam step, then update_target_networks; batches from its ReplayBuffer
(optimize_memory, DrQ shifts on images) joined by concatenate_batch_transitions. Left out
of its loop: check_nan_in_transition (a NaN scan of the batch; it lives in lerobot.rl.learner,
whose imports need grpc, wandb and robot drivers), logging and the pushes to its actor.
Options: `make bench-peers PEERS_ARGS='--threads 1 --only state'`. On a 2-core machine
that other work also uses, 2 intra-op threads lose most of their speed to waiting for each
other (a 256x256 matmul measured 65 GFLOP/s on 1 thread and 21 on 2 at load 2): there,
compare with --threads 1.
LeRobot's image encoder: its HIL-SERL setting names the hub model helper2424/resnet10; nothing
may download here, so a randomly initialised ResNet-10 of transformers' own ResNet
(basic blocks, 64-128-256-512, one block per stage; BatchNorm where helper2424's has
GroupNorm) is saved to a temporary folder and loaded by LeRobot from there.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # bench/learner.py: buffer filling and the benchmark's sizes
sys.path.insert(0, os.path.join(HERE, '..', 'src', 'hilserl_learning'))
sys.path.insert(0, os.path.join(HERE, '..', 'src', 'hilserl'))  # torchvision_ops only

from hilserl.dataset.torchvision_ops import allow_torchvision_without_ops  # noqa: E402
from hilserl_learning.agent import SACAgent  # noqa: E402
from hilserl_learning.config import AgentConfig, IMAGE_POOLINGS, PRECISIONS  # noqa: E402
from hilserl_learning.replay_buffer import ReplayBuffer, sample_mixed  # noqa: E402
from hilserl_learning.runtime import configure_torch  # noqa: E402
from learner import CAMERAS, fill, IMAGE, STATE_DIM  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ACTION_DIM = 3
GRASP_ACTIONS = 3
CAMERA_KEYS = ('observation.images.front', 'observation.images.wrist')


def ours_update(image: bool, args):
    """Return a callable running one of our learner updates (state or cached features)."""
    config = AgentConfig(state_dim=STATE_DIM, action_dim=ACTION_DIM, hidden_dims=(256, 256),
                         critic_ensemble_size=2, num_cameras=CAMERAS if image else 0,
                         image_encoder='frozen', precision=args.precision,
                         image_pooling=args.image_pooling)
    agent = SACAgent(config)
    rng = np.random.default_rng(0)
    shape, pool = {}, None
    if image:  # as bench/learner.py: a few frames encoded once, their features drawn at random
        frames = torch.randint(0, 256, (8, *IMAGE), dtype=torch.uint8)
        pool = agent.encode_frames(frames).to(torch.float16).numpy()
        shape = {'feature_shape': (CAMERAS, pool.shape[-1])}

    def features_of():
        return pool[rng.integers(len(pool), size=CAMERAS)]

    # buffer sizes as bench/learner.py's: (capacity, online steps, offline steps)
    sizes = (20_000, 3_000, 1_000) if image else (50_000, 5_000, 2_000)
    capacity, online_steps, offline_steps = sizes
    online, offline = (ReplayBuffer(capacity, STATE_DIM, config.full_action_dim, seed=seed,
                                    **shape) for seed in (1, 2))
    fill(online, online_steps, args.episode_length, rng, features_of if image else None)
    fill(offline, offline_steps, args.episode_length, rng, features_of if image else None)

    def sample():
        return sample_mixed(online, offline, args.batch_size)

    return lambda: agent.update(sample)


def save_random_resnet10(folder: str) -> None:
    """Write a randomly initialised ResNet-10 (transformers' ResNetModel) to ``folder``."""
    from transformers import ResNetConfig, ResNetModel
    torch.manual_seed(0)
    ResNetModel(ResNetConfig(num_channels=3, embedding_size=64, hidden_sizes=[64, 128, 256, 512],
                             depths=[1, 1, 1, 1], layer_type='basic', hidden_act='relu')
                ).save_pretrained(folder)


class LeRobotSide:
    """LeRobot's SACPolicy, its Adam optimizers and two of its replay buffers."""

    def __init__(self, args, encoder_folder=None, precomputed=False, capacity=2_000):
        """
        Build the policy (images when ``encoder_folder`` is given) and fill the buffers.

        ``precomputed``: the buffers hold the state only and each batch's frozen feature maps
        are drawn from a pool encoded once (see _features); else images are stored (float, as
        LeRobot stores them) and encoded per batch as its learner does.
        """
        from lerobot.configs.types import FeatureType, PolicyFeature
        from lerobot.policies.sac.configuration_sac import SACConfig
        from lerobot.policies.sac.modeling_sac import SACPolicy
        from lerobot.rl.buffer import ReplayBuffer as LeRobotBuffer
        from lerobot.utils.constants import ACTION, OBS_STATE
        inputs = {OBS_STATE: PolicyFeature(FeatureType.STATE, (STATE_DIM,))}
        if encoder_folder:
            inputs.update({key: PolicyFeature(FeatureType.VISUAL, IMAGE) for key in CAMERA_KEYS})
        config = SACConfig(input_features=inputs, device='cpu', num_critics=2,
                           num_discrete_actions=GRASP_ACTIONS, vision_encoder_name=encoder_folder,
                           freeze_vision_encoder=True, shared_encoder=True,
                           use_torch_compile=args.lerobot_compile == 'on',
                           output_features={ACTION: PolicyFeature(FeatureType.ACTION,
                                                                  (ACTION_DIM,))})
        self.policy = SACPolicy(config)
        self.policy.train()
        self.clip = config.grad_clip_norm
        # Adam per part, as lerobot/rl/learner.py's make_optimizers_and_scheduler builds them
        groups = self.policy.get_optim_params()
        self.optimizers = {name: torch.optim.Adam(
            params=[params] if isinstance(params, torch.nn.Parameter) else params,
            lr=config.critic_lr if name != 'actor' else config.actor_lr) for name, params in
            groups.items()}
        self.action_key = ACTION
        self.batch_half = args.batch_size // 2
        stored = {OBS_STATE: inputs[OBS_STATE]} if precomputed else inputs
        self.buffers = [LeRobotBuffer(capacity, device='cpu', state_keys=list(stored),
                                      storage_device='cpu', optimize_memory=True)
                        for _ in range(2)]
        rng = torch.Generator().manual_seed(0)
        for buffer in self.buffers:
            self._fill(buffer, stored, capacity, args.episode_length, rng)
        self.features = None  # the pool of precomputed frozen feature maps
        if precomputed:
            with torch.no_grad():
                pixels = {key: torch.rand((8, *IMAGE), generator=rng) for key in CAMERA_KEYS}
                self.features = self.policy.actor.encoder.get_cached_image_features(pixels)

    def _fill(self, buffer, inputs, steps, episode_length, rng) -> None:
        """Add ``steps`` random transitions (float images in [0, 1], as LeRobot stores them)."""
        def observation():
            return {key: torch.rand((1, *feature.shape), generator=rng)
                    for key, feature in inputs.items()}

        current = observation()
        for step in range(steps):
            nxt = observation()
            action = torch.cat([torch.rand((1, ACTION_DIM), generator=rng) * 2 - 1,
                                torch.randint(0, GRASP_ACTIONS, (1, 1), generator=rng)], dim=1)
            last = step % episode_length == episode_length - 1
            buffer.add(current, action, float(torch.rand(1, generator=rng) < 0.05), nxt,
                       done=False, truncated=last)
            current = observation() if last else nxt

    def _features(self, observations):
        """Return the frozen features of a batch: encoded now, drawn from the pool, or None."""
        if not self.policy.encoder_critic.has_images:
            return None
        if self.features is None:  # what the learner's get_observation_features does
            with torch.no_grad():
                return self.policy.actor.encoder.get_cached_image_features(observations)
        count = next(iter(observations.values())).shape[0]
        return {key: pool[torch.randint(len(pool), (count,))]
                for key, pool in self.features.items()}

    def _step(self, loss, part: str, params) -> None:
        """Zero the part's gradients, back-propagate, clip (as its learner) and step."""
        self.optimizers[part].zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters=params, max_norm=self.clip).item()
        self.optimizers[part].step()
        loss.item()

    def update(self) -> None:
        """One learner update: critic, discrete critic, actor, temperature, targets."""
        from lerobot.rl.buffer import concatenate_batch_transitions
        batch = concatenate_batch_transitions(self.buffers[0].sample(self.batch_half),
                                              self.buffers[1].sample(self.batch_half))
        policy = self.policy
        forward_batch = {self.action_key: batch[self.action_key], 'reward': batch['reward'],
                         'state': batch['state'], 'next_state': batch['next_state'],
                         'done': batch['done'],
                         'observation_feature': self._features(batch['state']),
                         'next_observation_feature': self._features(batch['next_state'])}
        self._step(policy.forward(forward_batch, model='critic')['loss_critic'], 'critic',
                   policy.critic_ensemble.parameters())
        self._step(policy.forward(forward_batch, model='discrete_critic')['loss_discrete_critic'],
                   'discrete_critic', policy.discrete_critic.parameters())
        self._step(policy.forward(forward_batch, model='actor')['loss_actor'], 'actor',
                   policy.actor.parameters())
        self._step(policy.forward(forward_batch, model='temperature')['loss_temperature'],
                   'temperature', [policy.log_alpha])
        policy.temperature  # read each step by its learner (log_alpha.exp().item())
        policy.update_target_networks()


def build_lerobot(args, *options, **keywords) -> LeRobotSide:
    """
    Return a LeRobotSide that has run one update; without torch.compile where that fails.

    LeRobot compiles its critics by default (use_torch_compile): inductor on CPU needs a C++
    compiler. If the first update fails with compilation on, say why and build it again
    with compilation off (for every later case too).
    """
    side = LeRobotSide(args, *options, **keywords)
    try:
        side.update()
    except Exception as error:  # noqa: B902 - inductor raises many types; reported, then off
        if args.lerobot_compile == 'off':
            raise
        reason = (str(error).strip().splitlines() or [''])[0][:200]
        print(f'lerobot_compile_failed: {type(error).__name__}: {reason}', flush=True)
        args.lerobot_compile = 'off'
        side = LeRobotSide(args, *options, **keywords)
        side.update()
    return side


def rate(update, seconds: float) -> float:
    """Return updates per second over one window of at least ``seconds`` (one update or more)."""
    start, count = time.perf_counter(), 0
    while count == 0 or time.perf_counter() - start < seconds:
        update()
        count += 1
    return count / (time.perf_counter() - start)


def interleave(ours, theirs, rounds: int, seconds: float, warmup: tuple) -> tuple:
    """
    Return (our median rate, their median rate, median of per-round ratios), A B A B.

    ``warmup``: updates run first on each side (ours, theirs), compilation included.
    """
    for _ in range(warmup[0]):
        ours()
    for _ in range(warmup[1]):
        theirs()
    pairs = [(rate(ours, seconds), rate(theirs, seconds)) for _ in range(rounds)]
    return (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs),
            statistics.median(p[0] / p[1] for p in pairs))


def print_rates(keys, figures) -> None:
    """Print ``key: value`` lines for (ours, theirs, ratio)."""
    for key, value in zip(keys, figures):
        if key:
            print(f'{key}: {value:.4g}', flush=True)


def describe_machine() -> str:
    """Return the CPU model, the core count and the load averages."""
    model = 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            model = next(line.split(':', 1)[1].strip() for line in cpuinfo
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{model}, {os.cpu_count()} cores, load {" ".join(f"{x:.2f}" for x in os.getloadavg())}'


def describe_checkout() -> str:
    """Return this checkout's commit and whether hilserl_learning has uncommitted changes."""
    root = os.path.join(HERE, '..')
    try:
        commit = subprocess.run(['git', '-C', root, 'rev-parse', '--short', 'HEAD'],
                                capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(['git', '-C', root, 'status', '--porcelain', '--',
                                  'src/hilserl_learning'], capture_output=True, text=True,
                                 check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown (no git)'
    return commit + (' with uncommitted changes in src/hilserl_learning' if changed else '')


def main() -> None:
    """Parse options, build both sides and print the interleaved rates."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rounds', type=int, default=5, help='A/B rounds per case (default 5)')
    parser.add_argument('--seconds', type=float, default=1.0,
                        help='length of each timing window (default 1)')
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='torch intra-op threads (default: all cores)')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--episode-length', type=int, default=100)
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help="our agent's precision setting (default fp32, as bench/learner.py); "
                             "LeRobot's learner has none: it runs float32")
    parser.add_argument('--image-pooling', choices=IMAGE_POOLINGS, default='encoder',
                        help="our agent.image_pooling (default encoder: the frozen encoder's "
                             'pooled 512 features cached; spatial_embedding: the whole map '
                             "cached and pooled by learned spatial embeddings, as LeRobot's)")
    parser.add_argument('--lerobot-compile', choices=['on', 'off'], default='on',
                        help="LeRobot's use_torch_compile (its default: on)")
    parser.add_argument('--only', nargs='+', choices=['state', 'image', 'image_precomputed'],
                        default=['state', 'image', 'image_precomputed'])
    args = parser.parse_args()
    allow_torchvision_without_ops()
    try:
        import lerobot
        import torchvision
        import transformers
    except ImportError as error:
        sys.exit(f'peers.py: {error}: run it with make bench-peers (its own virtualenv)')
    setup = configure_torch(args.threads)
    print(f'lerobot_version: {lerobot.__version__}', flush=True)
    print(f'torch_version: {torch.__version__}', flush=True)
    print(f'python_version: {sys.version.split()[0]}', flush=True)
    print(f'peer_packages: torchvision {torchvision.__version__} (Python half), '
          f'transformers {transformers.__version__}', flush=True)
    print(f'setup: {setup}, both sides in one process (ours imported from src/), our '
          f'precision {args.precision}, our image_pooling {args.image_pooling}', flush=True)
    print(f'hilserl_checkout: {describe_checkout()}', flush=True)
    print(f'machine_at_start: {describe_machine()}', flush=True)
    torch.manual_seed(0)
    if 'state' in args.only:
        figures = interleave(ours_update(False, args), build_lerobot(args).update,
                             args.rounds, args.seconds, warmup=(20, 19))
        print_rates(('sac_state_updates_per_s', 'lerobot_sac_state_updates_per_s',
                     'state_speedup_vs_lerobot'), figures)
    image_cases = [case for case in ('image', 'image_precomputed') if case in args.only]
    if image_cases:
        ours = ours_update(True, args)
        with tempfile.TemporaryDirectory() as folder:
            save_random_resnet10(folder)
            theirs = {case: build_lerobot(args, folder, precomputed=case == 'image_precomputed',
                                          capacity=400) for case in image_cases}
    if 'image' in image_cases:
        figures = interleave(ours, theirs['image'].update, args.rounds, args.seconds,
                             warmup=(10, 0))
        print_rates(('sac_image_cached_updates_per_s', 'lerobot_sac_image_updates_per_s',
                     'image_speedup_vs_lerobot'), figures)
    if 'image_precomputed' in image_cases:
        figures = interleave(ours, theirs['image_precomputed'].update, args.rounds,
                             args.seconds, warmup=(10, 9))
        print_rates(('' if 'image' in image_cases else 'sac_image_cached_updates_per_s',
                     'lerobot_sac_image_precomputed_updates_per_s',
                     'image_speedup_vs_lerobot_precomputed'), figures)
    print(f'lerobot_use_torch_compile: {args.lerobot_compile}', flush=True)
    print(f'machine_at_end: {describe_machine()}', flush=True)


if __name__ == '__main__':
    main()
