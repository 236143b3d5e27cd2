"""
Every RL equation of the agent, written out in one place.

Notation: s state, a action, r reward, d = 1 if the episode *terminated* (a time-limit
truncation keeps d = 0 so the target bootstraps), gamma discount, alpha entropy temperature,
Q_i the i-th online critic, Qbar_i its Polyak-averaged target, pi the tanh-Gaussian actor.
Shapes: B batch, E critic ensemble members, A action dimensions, K = 3 grasp actions.
"""

import math
from typing import Iterable, Optional, Tuple

import torch
from torch import Tensor
import torch.nn.functional as F

LOG_2 = math.log(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
Bounds = Tuple[Optional[float], Optional[float]]


def tanh_gaussian_log_prob(noise: Tensor, log_std: Tensor, pre_tanh: Tensor) -> Tensor:
    """
    Return log pi(a|s) of a = tanh(u), u = mu + sigma * noise, summed over action dims, [B].

    log pi(a|s) = sum_j [ log N(u_j; mu_j, sigma_j) - log(1 - tanh(u_j)^2) ]
    log N(u; mu, sigma) = -noise^2 / 2 - log sigma - log sqrt(2 pi)
    log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))   (stable form, no tanh saturation)
    """
    gaussian = -0.5 * noise.pow(2) - log_std - LOG_SQRT_2PI
    squash_correction = 2.0 * (LOG_2 - pre_tanh - F.softplus(-2.0 * pre_tanh))
    return (gaussian - squash_correction).sum(-1)


def sac_critic_target(rewards: Tensor, terminated: Tensor, next_target_qs: Tensor,
                      discount: float, next_log_probs: Optional[Tensor] = None,
                      alpha: Optional[Tensor] = None, bounds: Bounds = (None, None)
                      ) -> Tensor:
    """
    Return the TD target y [B] from target-critic values next_target_qs [E, B] at (s', a').

    y = r + gamma (1 - d) * min_i Qbar_i(s', a'),   a' ~ pi(.|s')
    With entropy backup (pass next_log_probs and alpha):
    y = r + gamma (1 - d) * (min_i Qbar_i(s', a') - alpha log pi(a'|s'))
    With bounds (G_min, G_max) on the return the reward allows (either may be None):
    y <- clip(y, G_min, G_max)
    """
    next_value = next_target_qs.min(dim=0).values
    if next_log_probs is not None:
        next_value = next_value - alpha * next_log_probs
    targets = rewards + discount * (1.0 - terminated) * next_value
    if bounds == (None, None):
        return targets
    return targets.clamp(*bounds)


def critic_loss(qs: Tensor, targets: Tensor) -> Tensor:
    """
    Return the ensemble TD loss for online values qs [E, B] and targets y [B].

    L_Q = sum_i mean_b (Q_i(s_b, a_b) - y_b)^2   (each member regresses to the same target)
    """
    return (qs - targets.unsqueeze(0)).pow(2).mean(dim=1).sum()


def actor_loss(log_probs: Tensor, qs: Tensor, alpha: Tensor) -> Tensor:
    """
    Return the actor loss from log pi(a|s) [B] and critic values Q_i(s, a) [E, B], a ~ pi.

    L_pi = mean_b [ alpha log pi(a_b|s_b) - mean_i Q_i(s_b, a_b) ]   (ensemble mean, as SERL)
    """
    return (alpha * log_probs - qs.mean(dim=0)).mean()


def behaviour_cloning_loss(mode_actions: Tensor, actions: Tensor, human: Tensor) -> Tensor:
    """
    Return the actor's imitation term on the human's steps (TD3+BC's term, on the mode).

    L_bc = sum_b h_b ||tanh(mu(s_b)) - a_b||^2 / max(1, sum_b h_b),   h_b = 1 on human steps
    """
    return _mean_over_human_steps((mode_actions - actions).pow(2).sum(-1), human)


def temperature_loss(log_alpha: Tensor, log_probs: Tensor, target_entropy: float) -> Tensor:
    """
    Return the temperature loss; log_probs must be detached.

    L_alpha = -alpha * mean_b (log pi(a_b|s_b) + target_entropy),   alpha = exp(log_alpha)
    Entropy -log pi below target => loss gradient is negative in log_alpha => alpha grows.
    """
    return -(log_alpha.exp() * (log_probs + target_entropy)).mean()


def toggle_penalty(toggled: Tensor, grasp_penalty: float) -> Tensor:
    """
    Return the grasp critic's reward shaping [B] for steps whose gripper command toggled.

    penalty = grasp_penalty * 1[gripper toggled]   (e.g. -0.02 per open/close switch)
    """
    return grasp_penalty * toggled.to(torch.float32)


def grasp_critic_target(rewards: Tensor, penalties: Tensor, terminated: Tensor,
                        next_online_q: Tensor, next_target_q: Tensor,
                        discount: float) -> Tensor:
    """
    Return the double-DQN target [B] for the grasp critic from next-state values [B, K].

    a* = argmax_a Q_g(s', a)                    (online network picks)
    y  = r + penalty + gamma (1 - d) * Qbar_g(s', a*)   (target network evaluates)
    """
    best_next = next_online_q.argmax(dim=1, keepdim=True)
    next_value = next_target_q.gather(1, best_next).squeeze(1)
    return rewards + penalties + discount * (1.0 - terminated) * next_value


def grasp_critic_loss(q_values: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    """
    Return the grasp critic loss from Q_g(s, .) [B, K], taken indices [B] and targets [B].

    L_g = mean_b (Q_g(s_b, a_b) - y_b)^2
    """
    taken = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
    return (taken - targets).pow(2).mean()


def grasp_margin_loss(q_values: Tensor, actions: Tensor, human: Tensor,
                      margin: float) -> Tensor:
    """
    Return DQfD's large-margin term on the human's steps: their grasp action must win.

    L_m = sum_b h_b [max_a (Q_g(s_b, a) + margin 1[a != a_b]) - Q_g(s_b, a_b)] / max(1, sum h)
    """
    taken = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
    margins = torch.full_like(q_values, margin).scatter(1, actions.unsqueeze(1), 0.0)
    gaps = (q_values + margins).max(dim=1).values - taken
    return _mean_over_human_steps(gaps, human)


def _mean_over_human_steps(values: Tensor, human: Tensor) -> Tensor:
    """Return sum_b h_b values_b / max(1, sum_b h_b): the mean over human rows, 0 if none."""
    weights = human.to(values.dtype)
    return (weights * values).sum() / weights.sum().clamp(min=1.0)


@torch.no_grad()
def polyak_update(target_params: Iterable[Tensor], online_params: Iterable[Tensor],
                  tau: float) -> None:
    """
    Move target parameters towards the online ones, in place, in one fused call.

    thetabar <- (1 - tau) thetabar + tau theta  ==  lerp(thetabar, theta, tau)
    """
    torch._foreach_lerp_(list(target_params), list(online_params), tau)
