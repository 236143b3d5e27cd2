"""Every loss against values worked out by hand on tiny tensors."""

import math

from hilserl_learning.gripper import CLOSE, gripper_toggled, OPEN, STAY
from hilserl_learning.losses import (actor_loss, behaviour_cloning_loss, critic_loss,
                                     grasp_critic_loss, grasp_critic_target, grasp_margin_loss,
                                     polyak_update, sac_critic_target, tanh_gaussian_log_prob,
                                     temperature_loss, toggle_penalty)
import pytest
import torch
from torch.distributions import Normal, TanhTransform, TransformedDistribution


def t(values):
    """Make a float32 tensor."""
    return torch.tensor(values, dtype=torch.float32)


def test_critic_target_uses_ensemble_min_and_stops_at_termination():
    """Target r + gamma (1 - d) min_i Qbar_i: [1 + 0.9 * min(2, 4), 0.5 + 0] = [2.8, 0.5]."""
    targets = sac_critic_target(rewards=t([1.0, 0.5]), terminated=t([0.0, 1.0]),
                                next_target_qs=t([[2.0, 3.0], [4.0, 1.0]]), discount=0.9)
    assert torch.allclose(targets, t([2.8, 0.5]))


def test_critic_target_with_entropy_backup():
    """Subtract alpha log pi(a'|s'): 1 + 0.9 * (2 - 0.1 * -1) = 2.89; terminated stays 0.5."""
    targets = sac_critic_target(t([1.0, 0.5]), t([0.0, 1.0]), t([[2.0, 3.0], [4.0, 1.0]]), 0.9,
                                next_log_probs=t([-1.0, 2.0]), alpha=t(0.1))
    assert torch.allclose(targets, t([2.89, 0.5]))


def test_critic_target_is_clipped_to_the_return_bounds():
    """Bounds (0, 1): 2.8 -> 1, 0.5 stays, -0.2 -> 0; one-sided bounds clip one side only."""
    args = (t([1.0, 0.5, -0.2]), t([0.0, 1.0, 1.0]), t([[2.0, 3.0, 0.0], [4.0, 1.0, 0.0]]), 0.9)
    assert torch.allclose(sac_critic_target(*args, bounds=(0.0, 1.0)), t([1.0, 0.5, 0.0]))
    assert torch.allclose(sac_critic_target(*args, bounds=(None, 1.0)), t([1.0, 0.5, -0.2]))
    assert torch.allclose(sac_critic_target(*args, bounds=(0.0, None)), t([2.8, 0.5, 0.0]))


def test_critic_loss_sums_member_mse():
    """Members err by (-1, 0) and (1, 1): MSEs 0.5 and 1.0, summed 1.5."""
    loss = critic_loss(qs=t([[1.0, 0.0], [3.0, 1.0]]), targets=t([2.0, 0.0]))
    assert loss.item() == pytest.approx(1.5)


def test_actor_loss_uses_ensemble_mean():
    """mean_b(alpha log pi - mean_i Q_i) = mean(-0.5 - 2, 0.5 - 4) = -3."""
    loss = actor_loss(log_probs=t([-1.0, 1.0]), qs=t([[1.0, 3.0], [3.0, 5.0]]), alpha=t(0.5))
    assert loss.item() == pytest.approx(-3.0)


def test_temperature_loss_value_and_gradient_direction():
    """-alpha mean(log pi + target) = -0.5 * mean(-2, -4) = 1.5; too much entropy => alpha down."""
    log_alpha = torch.tensor(math.log(0.5), requires_grad=True)
    loss = temperature_loss(log_alpha, log_probs=t([-1.0, -3.0]), target_entropy=-1.0)
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    assert log_alpha.grad.item() == pytest.approx(1.5)  # positive: gradient descent shrinks alpha
    log_alpha.grad = None
    # Entropy 0.5 below target 1.0: the gradient turns negative, so alpha grows.
    temperature_loss(log_alpha, log_probs=t([-0.5]), target_entropy=1.0).backward()
    assert log_alpha.grad.item() < 0


def test_tanh_gaussian_log_prob_matches_torch_distributions():
    """Our stable tanh correction equals TransformedDistribution(Normal, TanhTransform)."""
    torch.manual_seed(0)
    mean, log_std = torch.randn(5, 3), torch.randn(5, 3).clamp(-2, 1)
    noise = torch.randn(5, 3)
    pre_tanh = mean + log_std.exp() * noise
    reference = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform()])
    expected = reference.log_prob(torch.tanh(pre_tanh)).sum(-1)
    ours = tanh_gaussian_log_prob(noise, log_std, pre_tanh)
    assert torch.allclose(ours, expected, atol=1e-4)


def test_tanh_log_prob_hand_value_at_zero():
    """At u = 0 with sigma = 1: log N(0; 0, 1) - log(1 - 0) = -0.5 log(2 pi) per dimension."""
    zero = torch.zeros(1, 2)
    value = tanh_gaussian_log_prob(zero, zero, zero)
    assert value.item() == pytest.approx(-math.log(2 * math.pi))


def test_grasp_target_is_double_dqn_with_penalty():
    """Online argmax picks (1, 0), target values (20, 40): y = (0.98 + 0.5 * 20, 0.5 * 40)."""
    penalties = toggle_penalty(torch.tensor([True, False]), grasp_penalty=-0.02)
    targets = grasp_critic_target(
        rewards=t([1.0, 0.0]), penalties=penalties, terminated=t([0.0, 0.0]),
        next_online_q=t([[1.0, 5.0, 2.0], [3.0, 0.0, 1.0]]),
        next_target_q=t([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]), discount=0.5)
    assert torch.allclose(targets, t([10.98, 20.0]))


def test_grasp_target_terminated_does_not_bootstrap():
    """A terminal step's target is the (penalised) reward alone."""
    targets = grasp_critic_target(t([1.0]), t([-0.02]), t([1.0]), t([[0.0, 9.0, 0.0]]),
                                  t([[5.0, 5.0, 5.0]]), 0.99)
    assert torch.allclose(targets, t([0.98]))


def test_grasp_critic_loss_uses_taken_action():
    """Taken Q (3, 4) against targets (2, 5): errors (1, -1), MSE 1."""
    loss = grasp_critic_loss(t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), torch.tensor([2, 0]),
                             t([2.0, 5.0]))
    assert loss.item() == pytest.approx(1.0)


def test_toggle_penalty_only_when_gripper_state_changes():
    """Opening a closed / closing an open gripper toggles; stay or no-op commands do not."""
    closed = torch.tensor([True, True, False, False, True, False])
    index = torch.tensor([OPEN, CLOSE, CLOSE, OPEN, STAY, STAY])
    toggled = gripper_toggled(closed, index)
    assert toggled.tolist() == [True, False, True, False, False, False]
    assert torch.allclose(toggle_penalty(toggled, -0.02), t([-0.02, 0, -0.02, 0, 0, 0]))
    assert gripper_toggled(False, CLOSE) is True and gripper_toggled(False, OPEN) is False


def test_behaviour_cloning_loss_counts_only_human_steps():
    """Rows 0 and 2 are human: ((0.5^2 + 0) + (1^2 + 1^2)) / 2 = 1.125; row 1 is ignored."""
    mode = t([[0.5, 0.0], [9.0, 9.0], [1.0, -1.0]])
    taken = t([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    loss = behaviour_cloning_loss(mode, taken, torch.tensor([True, False, True]))
    assert loss.item() == pytest.approx(1.125)
    assert behaviour_cloning_loss(mode, taken, torch.zeros(3, dtype=torch.bool)).item() == 0.0


def test_grasp_margin_loss_is_zero_once_the_human_action_wins_by_the_margin():
    """Human took CLOSE: Q [1, 0.5, 0] wins by 0.5 > 0.2 -> 0; Q [0, 0.1, 0] -> 0.1 + 0.2."""
    human = torch.tensor([True, True, False])
    q_values = t([[1.0, 0.5, 0.0], [0.0, 0.1, 0.0], [0.0, 5.0, 0.0]])
    actions = torch.tensor([CLOSE, CLOSE, CLOSE])
    loss = grasp_margin_loss(q_values, actions, human, margin=0.2)
    assert loss.item() == pytest.approx((0.0 + 0.3) / 2)


def test_polyak_update():
    """Targets move as (1 - tau) thetabar + tau theta: 0 -> 0.1 -> 0.19 with tau = 0.1."""
    target, online = [torch.zeros(3), torch.zeros(2, 2)], [torch.ones(3), torch.ones(2, 2)]
    polyak_update(target, online, tau=0.1)
    assert all(torch.allclose(p, torch.full_like(p, 0.1)) for p in target)
    polyak_update(target, online, tau=0.1)
    assert all(torch.allclose(p, torch.full_like(p, 0.19)) for p in target)
