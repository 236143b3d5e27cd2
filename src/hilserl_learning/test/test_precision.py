"""agent.precision: bfloat16 matrix products, float32 everywhere the numbers are sensitive."""

import math

from helpers import random_buffer, tiny_config
from hilserl_learning.agent import SACAgent
from hilserl_learning.networks import EnsembleLinear
from hilserl_learning.runtime import native_bf16, resolve_precision
import pytest
import torch

CPU = torch.device('cpu')


def test_auto_means_bf16_only_where_the_cpu_computes_it_natively():
    assert resolve_precision('fp32', CPU) == torch.float32
    assert resolve_precision('bf16', CPU) == torch.bfloat16
    expected = torch.bfloat16 if native_bf16(CPU) else torch.float32
    assert resolve_precision('auto', CPU) == expected
    assert native_bf16(CPU) == bool(torch.cpu._is_amx_tile_supported()
                                    or torch.cpu._is_avx512_bf16_supported())


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of .* got 'fp16'"):
        tiny_config(precision='fp16')


@pytest.mark.parametrize('mode', ['state', 'cnn', 'frozen'])
def test_products_run_in_bf16_and_what_follows_them_in_fp32(mode):
    """Inside the update the critic's layers compute in bf16; its Q-values come out fp32."""
    cameras = 0 if mode == 'state' else 2
    config = tiny_config(precision='bf16', num_cameras=cameras,
                         image_encoder='frozen' if mode == 'state' else mode)
    agent = SACAgent(config)
    seen = []
    agent.critic.net[0].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    assert isinstance(agent.critic.net[0], EnsembleLinear)
    buffer = random_buffer(config, features=mode == 'frozen')
    batch = buffer.sample(16)
    with agent._autocast():
        features = agent.encoder(agent.preprocess(batch.observations))
        qs = agent.critic(features, batch.actions[:, :config.action_dim])
        mean, log_std = agent.actor(features)
        _, log_probs = agent.actor.sample_from(mean, log_std)
        grasp = agent.grasp_critic(features)
    assert seen == [torch.bfloat16]
    assert {t.dtype for t in (features, qs, mean, log_std, log_probs, grasp)} == {torch.float32}

    metrics = agent.update(lambda: buffer.sample(16))
    assert all(math.isfinite(value) for value in metrics.values())
    # Master weights, their gradients and Adam's moments stay float32.
    assert {p.dtype for p in agent.parameters()} == {torch.float32}
    assert {p.grad.dtype for p in agent.parameters() if p.grad is not None} == {torch.float32}
    for optimizer in agent.optimizers.values():
        for state in optimizer.state.values():
            assert state['exp_avg'].dtype == torch.float32


def test_a_bf16_update_computes_nearly_what_the_fp32_one_does():
    """Same weights, batch and noise: losses agree to bf16's ~3 significant digits."""
    results = {}
    for precision in ('fp32', 'bf16'):
        torch.manual_seed(0)
        config = tiny_config(precision=precision, hidden_dims=(64, 64))
        agent = SACAgent(config)
        buffer = random_buffer(config, steps=128)
        torch.manual_seed(1)
        results[precision] = (agent.update(lambda: buffer.sample(64)),
                              [p.detach().clone() for p in agent.critic.parameters()])
    (fp32, fp32_weights), (bf16, bf16_weights) = results['fp32'], results['bf16']
    for key in ('critic_loss', 'actor_loss', 'grasp_critic_loss', 'q_mean'):
        assert bf16[key] == pytest.approx(fp32[key], rel=0.03, abs=1e-3), key
    # One Adam step moves each weight by about the learning rate; bf16's rounding of the
    # gradient can flip the sign of a tiny one, but the step stays the same size.
    for a, b in zip(fp32_weights, bf16_weights):
        assert (a - b).abs().max() <= 2.5 * config.critic_lr
