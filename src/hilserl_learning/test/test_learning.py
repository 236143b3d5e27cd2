"""Learning tests: SAC reaches goals with a 2-D point mass; the grasp critic learns a rule."""

from hilserl_learning.agent import SACAgent
from hilserl_learning.config import AgentConfig
from hilserl_learning.gripper import CLOSE, index_to_command, NUM_GRASP_ACTIONS, OPEN
from hilserl_learning.replay_buffer import ReplayBuffer
import numpy as np
import pytest
import torch


class PointMass:
    """
    Vectorised 2-D point mass: state (position, goal), action a velocity command in [-1, 1]^2.

    position += 0.2 * action; reward = -|goal - position|; episodes end by time limit only
    (truncation, so the critic must bootstrap through it). Success: final distance < 0.1.
    """

    horizon = 15

    def __init__(self, num_envs: int, seed: int) -> None:
        """Create the environments."""
        self.rng = np.random.default_rng(seed)
        self.num_envs = num_envs

    def reset(self) -> np.ndarray:
        """Sample start positions and goals; return states [N, 4]."""
        self.position = self.rng.uniform(-1, 1, (self.num_envs, 2)).astype(np.float32)
        self.goal = self.rng.uniform(-1, 1, (self.num_envs, 2)).astype(np.float32)
        self.t = 0
        return self.state()

    def state(self) -> np.ndarray:
        """Return (position, goal) per environment."""
        return np.concatenate([self.position, self.goal], axis=1)

    def step(self, action: np.ndarray):
        """Move, return (states, rewards, truncated)."""
        self.position = np.clip(self.position + 0.2 * np.clip(action, -1, 1), -1.5, 1.5)
        self.t += 1
        distance = np.linalg.norm(self.goal - self.position, axis=1)
        return self.state(), -distance, self.t >= self.horizon

    def distance(self) -> np.ndarray:
        """Return the distance of each environment to its goal."""
        return np.linalg.norm(self.goal - self.position, axis=1)


def evaluate(agent: SACAgent, seed: int, episodes: int = 64) -> np.ndarray:
    """Return final goal distances of deterministic rollouts."""
    env = PointMass(episodes, seed)
    state = env.reset()
    for _ in range(env.horizon):
        action = agent.act({'state': torch.as_tensor(state)}, deterministic=True).numpy()
        state, _, _ = env.step(action)
    return env.distance()


@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_sac_solves_point_mass_reaching(precision):
    """Within 1500 updates the deterministic policy brings >= 85% of episodes to the goal."""
    torch.manual_seed(0)
    config = AgentConfig(state_dim=4, action_dim=2, use_grasp_critic=False,
                         hidden_dims=(64, 64), discount=0.9, tau=0.01, actor_lr=1e-3,
                         critic_lr=1e-3, temperature_lr=1e-3, precision=precision)
    agent = SACAgent(config)
    buffer = ReplayBuffer(20_000, state_dim=4, action_dim=2, seed=0)
    env = PointMass(num_envs=16, seed=1)
    rng = np.random.default_rng(2)
    before = evaluate(agent, seed=3)
    episode = 0
    for iteration in range(1500 // PointMass.horizon * 1 + 1):
        state = env.reset()
        ids = np.arange(episode, episode + env.num_envs)
        episode += env.num_envs
        for _ in range(env.horizon):
            if iteration < 5:
                action = rng.uniform(-1, 1, (env.num_envs, 2)).astype(np.float32)
            else:
                action = agent.act({'state': torch.as_tensor(state)}).numpy()
            next_state, reward, truncated = env.step(action)
            for i in range(env.num_envs):
                buffer.add({'state': state[i]}, action[i], reward[i], {'state': next_state[i]},
                           terminated=False, truncated=truncated, episode_id=int(ids[i]))
            state = next_state
            if iteration >= 5:
                agent.update(lambda: buffer.sample(128))
    after = evaluate(agent, seed=3)
    assert (before < 0.1).mean() < 0.2
    assert (after < 0.1).mean() >= 0.85, f'success {np.mean(after < 0.1):.2f}'
    assert agent.num_critic_updates <= 1500


def test_grasp_critic_learns_close_when_object_between_fingers():
    """Reward 1 for CLOSE with the object between the fingers, for OPEN otherwise."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = AgentConfig(state_dim=3, action_dim=1, hidden_dims=(32, 32),
                         grasp_hidden_dims=(32, 32), grasp_critic_lr=3e-3)
    agent = SACAgent(config)
    buffer = ReplayBuffer(5_000, state_dim=3, action_dim=2, seed=0)

    def observation():
        between = float(rng.random() < 0.5)
        return np.array([between, *rng.normal(size=2)], dtype=np.float32)

    for _ in range(2_000):
        state = observation()
        grasp = int(rng.integers(NUM_GRASP_ACTIONS))
        between = state[0] == 1.0
        reward = float((between and grasp == CLOSE) or (not between and grasp == OPEN))
        action = np.array([rng.uniform(-1, 1), index_to_command(grasp)], dtype=np.float32)
        buffer.add({'state': state}, action, reward, {'state': observation()}, terminated=True)
    for _ in range(300):
        agent.update_critic(buffer.sample(64))
    states = torch.as_tensor(np.stack([observation() for _ in range(200)]))
    gripper = agent.act({'state': states}, deterministic=True)[:, -1]
    expected = torch.where(states[:, 0] == 1.0, -1.0, 1.0)  # close (-1) / open (+1)
    assert (gripper == expected).float().mean() >= 0.95
