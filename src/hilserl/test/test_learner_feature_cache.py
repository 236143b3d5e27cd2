"""The learner caches spatial feature maps and shifted copies (agent.image_pooling, copies)."""

from hilserl_learning import AgentConfig, SACAgent
import numpy as np
import torch

from hilserl.learner.transition_intake import TransitionIntake
from hilserl.sim import training as sim_training
from hilserl.sim.training import RunSettings
from hilserl_testing import bags
from test_learner_core import FakeActor, new_core, STATE_NAMES, TINY

SPATIAL = dict(image_encoder='frozen', allow_random_encoder=True,
               image_pooling='spatial_embedding', feature_augmentation_copies=2, **TINY)


def test_transitions_and_demos_store_the_map_and_its_shifted_copies(tmp_path):
    bags.write_dataset(str(tmp_path / 'demos'), num_episodes=1, steps=3,
                       cameras=('front', 'wrist'), image_size=(64, 64),
                       state_names=STATE_NAMES)
    agent = AgentConfig(**SPATIAL)
    core = new_core(tmp_path / 'run', agent=agent, batch_size=4)
    core.start_fresh([str(tmp_path / 'demos')])
    # resnet10 at 64x64: a 512 x 2 x 2 map per camera, 3 versions of each frame.
    for buffer in (core.online, core.offline):
        assert buffer.feature_shape == (2, 2048) and buffer.feature_copies == 3
    assert core.offline.num_steps_added == 3
    FakeActor(cameras=2, size=64).send(core, range(6))
    assert core.num_online_steps == 6
    assert core.online.sample(4).observations['features'].shape == (4, 2, 2048)
    assert np.isfinite(core.train_step()['critic_loss'])
    core.checkpoint()
    resumed = new_core(tmp_path / 'run', agent=agent)
    resumed.resume()
    assert resumed.online.state_equal(core.online)
    assert resumed.offline.state_equal(core.offline)


def test_the_actors_features_are_the_unshifted_version_beside_the_copies():
    torch.manual_seed(0)
    agent = SACAgent(AgentConfig(num_cameras=1, image_size=64, state_dim=3, **SPATIAL))
    pixels = np.random.default_rng(0).integers(0, 255, (1, 3, 64, 64), dtype=np.uint8)
    actors = agent.encode_frames(torch.from_numpy(pixels)).numpy()
    stored = TransitionIntake.stored_observation(
        {'state': np.zeros(3, np.float32), 'pixels': pixels, 'features': actors}, agent)
    assert set(stored) == {'state', 'features'} and stored['features'].shape == (3, 1, 2048)
    assert np.array_equal(stored['features'][0], actors)
    assert not np.allclose(stored['features'][1], actors)


def test_a_simulated_image_run_learns_on_spatial_maps_and_copies(monkeypatch):
    evaluated = []
    monkeypatch.setattr(sim_training, 'evaluate',
                        lambda task, agent, episodes, *_: evaluated.append(agent) or 0.0)
    settings = RunSettings(demos=1, pretrain_updates=2, max_steps=6, eval_every=6,
                           learning_starts=3, batch_size=4, policy_inputs='images',
                           image_pooling='spatial_embedding', feature_augmentation_copies=1)
    result = sim_training.train(settings)
    assert result.env_steps == 6 and result.demo_steps > 0
    agent = evaluated[-1]
    assert agent.frozen_map_shape == (512, 4, 4) and agent.config.feature_augmentation_copies == 1
    kernel = agent.encoder.pool.kernel
    assert kernel.grad is not None and kernel.grad.abs().sum() > 0   # the critic trained it
