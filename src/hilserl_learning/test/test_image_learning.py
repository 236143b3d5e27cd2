"""
An image policy learns through the cached frozen encoder: the target is only in the image.

The pipeline is the learner's: each frame goes through the frozen encoder once
(``agent.encode_frames``), its features are cached in the replay buffer (float16), and
SAC trains the projection, actor and critics on them. The state holds where the point
is, never where the target is, so a policy that reaches the target must read it from
the image. A blind policy could do no better than heading for the middle (about 3% of
these targets lie within reach of it). It learns with either pooling of the frozen
features (``image_pooling``); ``bench/image_pooling.py`` runs the same task to compare the
poolings and the cached shifted copies (``feature_augmentation_copies``).
"""

from typing import List

from hilserl_learning.agent import SACAgent
from hilserl_learning.config import AgentConfig
from hilserl_learning.feature_cache import buffer_feature_layout, features_to_cache
from hilserl_learning.replay_buffer import ReplayBuffer
import numpy as np
import pytest
import torch

IMAGE_SIZE = 64
SUCCESS_DISTANCE = 0.15


def render_targets(targets: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Return uint8 [N, 1, 3, H, W] images: a red disc at each target on a grey table."""
    ys, xs = np.mgrid[0:size, 0:size]
    centres = (targets + 1.0) / 2.0 * (size - 1)
    images = np.full((len(targets), 3, size, size), 40, dtype=np.uint8)
    for image, (cx, cy) in zip(images, centres):
        disc = (xs - cx) ** 2 + (ys - cy) ** 2 <= (0.08 * size) ** 2
        image[:, disc] = np.array([[230], [60], [50]], dtype=np.uint8)
    return images[:, None]


class ImageReach:
    """
    Vectorised 2-D reaching with the target seen by a camera.

    State: the point's position; image: the target. position += 0.25 * action, reward
    -|target - position|, episodes end by time limit (truncation). Success: the final
    distance is below SUCCESS_DISTANCE.
    """

    horizon = 10

    def __init__(self, num_envs: int, seed: int, image_size: int = IMAGE_SIZE) -> None:
        """Create the environments."""
        self.rng = np.random.default_rng(seed)
        self.num_envs = num_envs
        self.image_size = image_size

    def reset(self) -> np.ndarray:
        """Sample start points and targets; return the states [N, 2]."""
        self.position = self.rng.uniform(-1, 1, (self.num_envs, 2)).astype(np.float32)
        self.target = self.rng.uniform(-0.8, 0.8, (self.num_envs, 2)).astype(np.float32)
        self.t = 0
        return self.position.copy()

    def images(self) -> np.ndarray:
        """Return the camera frames (the target does not move within an episode)."""
        return render_targets(self.target, self.image_size)

    def step(self, action: np.ndarray):
        """Move; return (states, rewards, truncated)."""
        self.position = np.clip(self.position + 0.25 * np.clip(action, -1, 1), -1.2, 1.2)
        self.t += 1
        return self.position.copy(), -self.distance(), self.t >= self.horizon

    def distance(self) -> np.ndarray:
        """Return each point's distance to its target."""
        return np.linalg.norm(self.target - self.position, axis=1)


def success_rate(agent: SACAgent, seed: int, episodes: int = 64) -> float:
    """Return the share of deterministic episodes that end within reach of the target."""
    env = ImageReach(episodes, seed, agent.config.image_size)
    state = env.reset()
    features = agent.encode_frames(torch.from_numpy(env.images()))
    for _ in range(env.horizon):
        action = agent.act({'state': torch.as_tensor(state), 'features': features},
                           deterministic=True).numpy()
        state, _, _ = env.step(action)
    return float(np.mean(env.distance() < SUCCESS_DISTANCE))


def learn_image_reach(seed: int = 0, image_size: int = IMAGE_SIZE, max_updates: int = 3000,
                      target: float = 0.8, **agent_settings) -> List[float]:
    """
    Train from scratch until the success rate reaches ``target``; return it every 250 updates.

    ``agent_settings`` override the agent's (e.g. image_pooling); seed 0 is the test's run.
    """
    torch.manual_seed(seed)
    config = AgentConfig(state_dim=2, action_dim=2, use_grasp_critic=False, num_cameras=1,
                         image_size=image_size, image_encoder='frozen',
                         image_bottleneck_dim=32, hidden_dims=(128, 128), discount=0.9,
                         tau=0.01, actor_lr=1e-3, critic_lr=1e-3, temperature_lr=1e-3,
                         **agent_settings)
    agent = SACAgent(config)
    buffer = ReplayBuffer(40_000, state_dim=2, action_dim=2, seed=seed,
                          **buffer_feature_layout(agent))
    env = ImageReach(num_envs=16, seed=1 + 10 * seed, image_size=image_size)
    rng = np.random.default_rng(2 + 10 * seed)
    evaluation_seed = 3 + 10 * seed
    assert success_rate(agent, seed=evaluation_seed) < 0.2
    copies = config.feature_augmentation_copies
    episode, curve = 0, []
    while agent.num_critic_updates < max_updates and not (curve and curve[-1] >= target):
        state = env.reset()
        # The frozen encoder sees each frame once; the buffer keeps its features.
        stored = features_to_cache(agent, torch.from_numpy(env.images()))
        features = stored[:, 0] if copies else stored   # acting: the unshifted frame
        for _ in range(env.horizon):
            if episode < 5 * env.num_envs:
                action = rng.uniform(-1, 1, (env.num_envs, 2)).astype(np.float32)
            else:
                action = agent.act({'state': torch.as_tensor(state),
                                    'features': features}).numpy()
            next_state, reward, truncated = env.step(action)
            for i in range(env.num_envs):
                frame = stored[i].numpy()
                buffer.add({'state': state[i], 'features': frame}, action[i], reward[i],
                           {'state': next_state[i], 'features': frame},
                           terminated=False, truncated=truncated, episode_id=episode + i)
            state = next_state
            if episode >= 5 * env.num_envs:
                agent.update(lambda: buffer.sample(128))
        episode += env.num_envs
        if agent.num_critic_updates >= 250 * (len(curve) + 1):
            curve.append(success_rate(agent, seed=evaluation_seed))
    return curve


@pytest.mark.parametrize('image_pooling', ['encoder', 'spatial_embedding'])
def test_an_image_policy_on_cached_frozen_features_reaches_a_target_seen_only_in_the_image(
        image_pooling):
    """Within 3000 updates the deterministic policy reaches >= 80% of unseen targets."""
    curve = learn_image_reach(image_pooling=image_pooling)
    assert curve[-1] >= 0.8, f'success every 250 updates: {curve}'
