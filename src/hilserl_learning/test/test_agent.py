"""SAC agent: update schedule, gradient routing, targets, temperature, acting, pretraining."""

import math
import threading

from helpers import changed, random_buffer, snapshot, tiny_config
from hilserl_learning.agent import SACAgent
from hilserl_learning.replay_buffer import ReplayBuffer
from hilserl_learning.training import fit_normalizer, online_step, pretrain_offline
import numpy as np
import pytest
import torch


@pytest.mark.parametrize('mode', ['state', 'cnn', 'frozen'])
def test_update_runs_in_every_encoder_mode(mode):
    """One learner step yields finite losses for state-only, end-to-end and cached images."""
    torch.manual_seed(0)
    cameras = 0 if mode == 'state' else 2
    config = tiny_config(num_cameras=cameras, image_encoder='frozen' if mode == 'state' else mode)
    agent = SACAgent(config)
    buffer = random_buffer(config, features=mode == 'frozen')
    metrics = agent.update(lambda: buffer.sample(16))
    for key in ('critic_loss', 'actor_loss', 'grasp_critic_loss', 'temperature', 'entropy'):
        assert math.isfinite(metrics[key]), key


def test_critic_updates_per_learner_step_and_policy_update_freq_schedule():
    """3 critic updates per learner step; the actor updates every 2nd critic update."""
    config = tiny_config(critic_updates_per_learner_step=3, policy_update_freq=2)
    agent = SACAgent(config)
    buffer = random_buffer(config)
    sampled = []
    agent.update(lambda: sampled.append(1) or buffer.sample(8))
    assert (agent.num_critic_updates, agent.num_actor_updates, len(sampled)) == (3, 1, 3)
    agent.update(lambda: buffer.sample(8))
    assert (agent.num_critic_updates, agent.num_actor_updates) == (6, 3)


def test_only_the_critic_loss_trains_the_encoder():
    """End-to-end: actor and temperature steps leave the shared encoder untouched."""
    torch.manual_seed(0)
    config = tiny_config(num_cameras=2, image_encoder='cnn')
    agent = SACAgent(config)
    batch = random_buffer(config).sample(16)
    encoder, actor, grasp = snapshot(agent.encoder), snapshot(agent.actor), \
        snapshot(agent.grasp_critic)
    _, features = agent.update_critic(batch)
    assert changed(encoder, agent.encoder) and changed(grasp, agent.grasp_critic)
    assert not changed(actor, agent.actor)
    encoder, critic = snapshot(agent.encoder), snapshot(agent.critic)
    agent.update_actor(features)
    assert changed(actor, agent.actor)
    assert not changed(encoder, agent.encoder) and not changed(critic, agent.critic)


def test_targets_follow_polyak_average():
    """After one critic update: target = old + tau * (new online - old)."""
    torch.manual_seed(0)
    config = tiny_config(tau=0.1)
    agent = SACAgent(config)
    old_target = snapshot(agent.target_critic)
    agent.update_critic(random_buffer(config).sample(16))
    online_and_target = zip(agent.critic.parameters(), agent.target_critic.parameters())
    for old, (online, target) in zip(old_target, online_and_target):
        assert torch.allclose(target, old + 0.1 * (online - old), atol=1e-6)
    assert changed(old_target, agent.target_critic)


@pytest.mark.parametrize('td_target_max', [None, 1.0])
def test_a_return_bound_stops_the_critic_from_learning_a_target_network_s_overestimate(
        td_target_max):
    """Qbar = 5 everywhere, reward 0: unbounded Q climbs to ~0.97 * 5; bounded it stays <= 1."""
    torch.manual_seed(0)
    config = tiny_config(tau=0.0, critic_lr=1e-2, td_target_max=td_target_max)
    agent = SACAgent(config)
    with torch.no_grad():   # the target critic's last layer now outputs 5 for any input
        agent.target_critic.net[-1].weight.zero_()
        agent.target_critic.net[-1].bias.fill_(5.0)
    batch = random_buffer(config).sample(32)
    batch.rewards.zero_()
    batch.terminated.zero_()
    for _ in range(300):
        metrics, _ = agent.update_critic(batch)
    if td_target_max is None:
        assert metrics['q_mean'] > 4.0
    else:
        assert metrics['q_mean'] == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize('overrides', [dict(td_target_min=1.0, td_target_max=0.0),
                                       dict(critic_subsample_size=3),
                                       dict(critic_updates_per_learner_step=0),
                                       dict(bc_weight=-1.0), dict(grasp_margin=float('nan'))])
def test_configs_that_cannot_train_are_refused(overrides):
    with pytest.raises(ValueError):
        tiny_config(**overrides)


def set_policy(agent, log_std):
    """Make the actor output mean 0 and a fixed log-std for every input."""
    head = agent.actor.net[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias[:agent.config.action_dim] = 0.0
        head.bias[agent.config.action_dim:] = log_std


@pytest.mark.parametrize('log_std, grows', [(0.0, False), (-5.0, True)])
def test_temperature_moves_towards_target_entropy(log_std, grows):
    """Entropy above target (sigma = 1) lowers alpha; far below (sigma = e^-5) raises it."""
    torch.manual_seed(0)
    config = tiny_config()
    agent = SACAgent(config)
    set_policy(agent, log_std)
    before = agent.temperature
    assert before == pytest.approx(config.temperature_init)
    features = agent.preprocess(random_buffer(config).sample(64).observations)['state']
    metrics = agent.update_actor(features)
    assert (metrics['entropy'] < config.resolved_target_entropy) == grows
    assert (agent.temperature > before) == grows


def test_acting_shapes_and_gripper_commands():
    """Actions are in [-1, 1]; the gripper command is one of -1, 0, +1; mode is repeatable."""
    torch.manual_seed(0)
    config = tiny_config()
    agent = SACAgent(config)
    observation = {'state': np.zeros(config.state_dim, np.float32)}
    action = agent.select_action(observation)
    assert action.shape == (4,) and np.abs(action).max() <= 1.0
    assert action[-1] in (-1.0, 0.0, 1.0)
    deterministic = agent.select_action(observation, deterministic=True)
    assert np.array_equal(deterministic, agent.select_action(observation, deterministic=True))
    batch = agent.act({'state': torch.randn(32, config.state_dim)}, grasp_epsilon=1.0)
    assert set(batch[:, -1].tolist()) <= {-1.0, 0.0, 1.0}


def test_frozen_features_match_on_the_fly_encoding_and_stay_frozen():
    """Acting from raw pixels equals acting from cached features; training never moves them."""
    torch.manual_seed(0)
    config = tiny_config(num_cameras=2, image_encoder='frozen')
    agent = SACAgent(config)
    pixels = torch.randint(0, 255, (3, 2, 3, 48, 48), dtype=torch.uint8)
    state = torch.randn(3, config.state_dim)
    features = agent.encode_frames(pixels)
    assert features.shape == (3, 2, 512)
    from_pixels = agent.act({'state': state, 'pixels': pixels}, deterministic=True)
    from_cache = agent.act({'state': state, 'features': features}, deterministic=True)
    assert torch.allclose(from_pixels, from_cache, atol=1e-5)
    frozen = snapshot(agent.frozen_encoder)
    agent.update(lambda: random_buffer(config, features=True).sample(8))
    assert not changed(frozen, agent.frozen_encoder)


def test_offline_pretraining_then_online_step():
    """Pretraining samples only demonstrations; online steps then mix in online data."""
    torch.manual_seed(0)
    config = tiny_config()
    agent = SACAgent(config)
    demos, online = random_buffer(config, seed=1), random_buffer(config, seed=2)
    fit_normalizer(agent, demos)
    assert torch.allclose(agent.normalizer.mean, demos.states().mean(0))
    logged = []
    pretrain_offline(agent, demos, num_updates=10, batch_size=16,
                     log_fn=lambda step, m: logged.append(step), log_every=5)
    assert logged == [5, 10] and agent.num_critic_updates == 10
    metrics = online_step(agent, online, demos, batch_size=16)
    assert agent.num_critic_updates == 11 and math.isfinite(metrics['critic_loss'])


def human_steps_buffer(config, human_action, steps=64):
    """Return a buffer of random states where a human always took ``human_action``."""
    rng = np.random.default_rng(3)
    buffer = ReplayBuffer(256, config.state_dim, config.full_action_dim, seed=3)
    for step in range(steps):
        buffer.add({'state': rng.normal(size=config.state_dim).astype(np.float32)},
                   np.asarray(human_action, np.float32), 0.0,
                   {'state': rng.normal(size=config.state_dim).astype(np.float32)},
                   terminated=True, intervention=True)
    return buffer


@pytest.mark.parametrize('imitate', [False, True])
def test_bc_weight_and_grasp_margin_make_the_policy_take_the_human_s_actions(imitate):
    """
    Only the imitation terms move the policy to the human's xyz and CLOSE.

    All rewards are 0, so the critics say nothing: with the terms the policy takes the
    human's (0.5, -0.5, 0.2) and CLOSE; without them it stays where it was.
    """
    torch.manual_seed(0)
    config = tiny_config(bc_weight=5.0 if imitate else 0.0,
                         grasp_margin=0.5 if imitate else 0.0)
    agent = SACAgent(config)
    human = human_steps_buffer(config, [0.5, -0.5, 0.2, -1.0])
    pretrain_offline(agent, human, num_updates=300, batch_size=32)
    actions = agent.act(human.sample(64).observations, deterministic=True)
    xyz_error = (actions[:, :3] - torch.tensor([0.5, -0.5, 0.2])).abs().max().item()
    closes = (actions[:, 3] == -1.0).float().mean().item()
    if imitate:
        assert xyz_error < 0.2 and closes == 1.0
    else:
        assert xyz_error > 0.4 and closes < 1.0


def test_agents_built_apart_get_the_same_frozen_encoder_and_fingerprint():
    """Actor and learner build their agents in other processes: the frozen nets must agree."""
    config = tiny_config(num_cameras=1, image_encoder='frozen')
    torch.manual_seed(1)
    learner = SACAgent(config)
    torch.manual_seed(2)
    actor = SACAgent(config)
    assert not changed(snapshot(learner.frozen_encoder), actor.frozen_encoder)
    assert learner.frozen_encoder.fingerprint() == actor.frozen_encoder.fingerprint()
    # The actor builds agents on a worker thread while its control thread samples actions.
    built = []
    worker = threading.Thread(target=lambda: built.append(SACAgent(config)))
    worker.start()
    while worker.is_alive():
        torch.rand(1000)
    assert built[0].frozen_encoder.fingerprint() == learner.frozen_encoder.fingerprint()
    other = SACAgent(tiny_config(num_cameras=1, image_encoder='frozen', frozen_seed=5))
    assert other.frozen_encoder.fingerprint() != learner.frozen_encoder.fingerprint()
    with torch.no_grad():
        actor.frozen_encoder.conv1.weight[0, 0, 0, 0] += 1.0
    assert actor.frozen_encoder.fingerprint() != learner.frozen_encoder.fingerprint()


def test_a_new_policy_blob_keeps_the_frozen_encoders_folded_weights_and_fingerprint():
    """The actor loads every pushed policy: the frozen part must not be redone each time."""
    from hilserl_learning.policy_blob import (apply_policy, decode_policy, encode_policy,
                                              POLICY_FORMAT_VERSION)
    config = tiny_config(num_cameras=1, image_encoder='frozen')
    learner, actor = SACAgent(config), SACAgent(config)
    pixels = torch.randint(0, 255, (1, 3, config.image_size, config.image_size),
                           dtype=torch.uint8)
    features = actor.encode_frames(pixels)
    fingerprint = actor.frozen_encoder.fingerprint()
    folded_before = actor.frozen_encoder._folded
    with torch.no_grad():
        for parameter in learner.actor.parameters():   # a trained policy, say
            parameter.add_(0.5)
    tensors, _, _ = decode_policy(*encode_policy(learner, 7), POLICY_FORMAT_VERSION)
    apply_policy(actor, tensors)
    assert torch.equal(actor.encode_frames(pixels), features)
    assert actor.frozen_encoder._folded is folded_before   # not folded again
    assert actor.frozen_encoder.fingerprint() == fingerprint
