"""
An image policy learns through the cached frozen encoder: the target is only in the image.

The pipeline is the learner's: each frame goes through the frozen encoder once
(``agent.encode_frames``), its features are cached in the replay buffer (float16), and
SAC trains the projection, actor and critics on them. The state holds where the point
is, never where the target is, so a policy that reaches the target must read it from
the image. A blind policy could do no better than heading for the middle (about 3% of
these targets lie within reach of it).
"""

from hilserl_learning.agent import SACAgent
from hilserl_learning.config import AgentConfig
from hilserl_learning.encoders import FROZEN_FEATURE_DIM
from hilserl_learning.replay_buffer import ReplayBuffer
import numpy as np
import torch

IMAGE_SIZE = 64
SUCCESS_DISTANCE = 0.15


def render_targets(targets: np.ndarray) -> np.ndarray:
    """Return uint8 [N, 1, 3, H, W] images: a red disc at each target on a grey table."""
    ys, xs = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    centres = (targets + 1.0) / 2.0 * (IMAGE_SIZE - 1)
    images = np.full((len(targets), 3, IMAGE_SIZE, IMAGE_SIZE), 40, dtype=np.uint8)
    for image, (cx, cy) in zip(images, centres):
        disc = (xs - cx) ** 2 + (ys - cy) ** 2 <= (0.08 * IMAGE_SIZE) ** 2
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

    def __init__(self, num_envs: int, seed: int) -> None:
        """Create the environments."""
        self.rng = np.random.default_rng(seed)
        self.num_envs = num_envs

    def reset(self) -> np.ndarray:
        """Sample start points and targets; return the states [N, 2]."""
        self.position = self.rng.uniform(-1, 1, (self.num_envs, 2)).astype(np.float32)
        self.target = self.rng.uniform(-0.8, 0.8, (self.num_envs, 2)).astype(np.float32)
        self.t = 0
        return self.position.copy()

    def images(self) -> np.ndarray:
        """Return the camera frames (the target does not move within an episode)."""
        return render_targets(self.target)

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
    env = ImageReach(episodes, seed)
    state = env.reset()
    features = agent.encode_frames(torch.from_numpy(env.images()))
    for _ in range(env.horizon):
        action = agent.act({'state': torch.as_tensor(state), 'features': features},
                           deterministic=True).numpy()
        state, _, _ = env.step(action)
    return float(np.mean(env.distance() < SUCCESS_DISTANCE))


def test_an_image_policy_on_cached_frozen_features_reaches_a_target_seen_only_in_the_image():
    """Within 3000 updates the deterministic policy reaches >= 80% of unseen targets."""
    torch.manual_seed(0)
    config = AgentConfig(state_dim=2, action_dim=2, use_grasp_critic=False, num_cameras=1,
                         image_size=IMAGE_SIZE, image_encoder='frozen',
                         image_bottleneck_dim=32, hidden_dims=(128, 128), discount=0.9,
                         tau=0.01, actor_lr=1e-3, critic_lr=1e-3, temperature_lr=1e-3)
    agent = SACAgent(config)
    buffer = ReplayBuffer(40_000, state_dim=2, action_dim=2,
                          feature_shape=(1, FROZEN_FEATURE_DIM), seed=0)
    env = ImageReach(num_envs=16, seed=1)
    rng = np.random.default_rng(2)
    assert success_rate(agent, seed=3) < 0.2
    episode, curve = 0, []
    while agent.num_critic_updates < 3000 and not (curve and curve[-1] >= 0.8):
        state = env.reset()
        # The frozen encoder sees each frame once; the buffer keeps its features.
        features = agent.encode_frames(torch.from_numpy(env.images()))
        for _ in range(env.horizon):
            if episode < 5 * env.num_envs:
                action = rng.uniform(-1, 1, (env.num_envs, 2)).astype(np.float32)
            else:
                action = agent.act({'state': torch.as_tensor(state),
                                    'features': features}).numpy()
            next_state, reward, truncated = env.step(action)
            for i in range(env.num_envs):
                seen = {'state': state[i], 'features': features[i].numpy()}
                buffer.add(seen, action[i], reward[i],
                           {'state': next_state[i], 'features': features[i].numpy()},
                           terminated=False, truncated=truncated, episode_id=episode + i)
            state = next_state
            if episode >= 5 * env.num_envs:
                agent.update(lambda: buffer.sample(128))
        episode += env.num_envs
        if agent.num_critic_updates >= 250 * (len(curve) + 1):
            curve.append(success_rate(agent, seed=3))
    assert curve[-1] >= 0.8, f'success every 250 updates: {curve}'
