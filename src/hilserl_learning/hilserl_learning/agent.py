"""
SAC agent as HIL-SERL uses it: continuous xyz actor-critic plus a discrete grasp critic.

One critic update (``update_critic``) trains, on the same batch:
  * the critic ensemble (and the trainable encoder: only the critic loss updates it),
  * the grasp critic (double DQN on detached features; with ``grasp_margin``, DQfD's
    margin on the human's steps),
  * then Polyak-averages all target networks.
An actor update (``update_actor``) trains the actor on detached features (with ``bc_weight``,
plus an imitation term on the human's steps) and the temperature.
``update`` (one learner step) runs ``critic_updates_per_learner_step`` critic updates and an
actor update every ``policy_update_freq`` critic updates. The equations themselves live in
``losses.py``.
"""

import copy
import math
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn, Tensor

from .batch import Batch
from .config import AgentConfig
from .encoders import ObservationEncoder, random_shift
from .feature_cache import frozen_map_shape
from .frozen_encoders import build_frozen_encoder, FrozenEncoder
from .gripper import command_to_index, index_to_command, NUM_GRASP_ACTIONS
from .losses import (actor_loss, behaviour_cloning_loss, critic_loss, grasp_critic_loss,
                     grasp_critic_target, grasp_margin_loss, polyak_update, sac_critic_target,
                     temperature_loss, toggle_penalty)
from .networks import CriticEnsemble, GraspCritic, TanhGaussianActor
from .normalizer import Normalizer
from .runtime import resolve_precision

Metrics = Dict[str, float]


def _adam(params: List[Tensor], lr: float) -> torch.optim.Adam:
    """Return Adam with the fused kernel (one op per step instead of ~10 per tensor)."""
    return torch.optim.Adam(params, lr=lr, fused=True)


class SACAgent(nn.Module):
    """Networks, target networks, temperature and optimizers of one HIL-SERL learner."""

    def __init__(self, config: AgentConfig, device: str = 'cpu') -> None:
        """Build every network from `config`; targets start as exact copies."""
        super().__init__()
        self.config = config
        self.device = torch.device(device)
        self.compute_dtype = resolve_precision(config.precision, self.device)
        self.normalizer = Normalizer(config.state_dim)
        self.frozen_encoder: Optional[FrozenEncoder] = None
        if config.num_cameras > 0 and config.image_encoder == 'frozen':
            self.frozen_encoder = build_frozen_encoder(config)
        self.frozen_map_shape: Optional[Tuple[int, int, int]] = None
        if self.frozen_encoder is not None and config.image_pooling == 'spatial_embedding':
            self.frozen_map_shape = frozen_map_shape(self.frozen_encoder, config.image_size)
        self.encoder = ObservationEncoder(config, frozen_feature_dim=(
            self.frozen_encoder.feature_dim if self.frozen_encoder is not None else 0),
            frozen_map_shape=self.frozen_map_shape)
        feature_dim = self.encoder.output_dim
        self.critic = CriticEnsemble(config.critic_ensemble_size, feature_dim, config.action_dim,
                                     config.hidden_dims, config.layer_norm)
        self.actor = TanhGaussianActor(feature_dim, config.action_dim, config.hidden_dims,
                                       config.layer_norm, config.log_std_min, config.log_std_max)
        self.grasp_critic: Optional[GraspCritic] = None
        if config.use_grasp_critic:
            self.grasp_critic = GraspCritic(feature_dim, config.grasp_hidden_dims,
                                            NUM_GRASP_ACTIONS, config.layer_norm)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.target_grasp_critic = copy.deepcopy(self.grasp_critic)
        if self.target_grasp_critic is not None:
            self.target_grasp_critic.requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(config.temperature_init)))
        self.to(self.device)

        self._critic_params = list(self.encoder.parameters()) + list(self.critic.parameters())
        self._actor_params = list(self.actor.parameters())
        online = [self.encoder, self.critic, self.grasp_critic]
        target = [self.target_encoder, self.target_critic, self.target_grasp_critic]
        self._online_params = [p for m in online if m is not None for p in m.parameters()]
        self._target_params = [p for m in target if m is not None for p in m.parameters()]
        self.optimizers: Dict[str, torch.optim.Optimizer] = {
            'critic': _adam(self._critic_params, config.critic_lr),
            'actor': _adam(self._actor_params, config.actor_lr),
            'temperature': _adam([self.log_alpha], config.temperature_lr),
        }
        if self.grasp_critic is not None:
            self.optimizers['grasp_critic'] = _adam(list(self.grasp_critic.parameters()),
                                                    config.grasp_critic_lr)
        self.num_critic_updates = 0
        self.num_actor_updates = 0

    def _autocast(self):
        """
        Run the networks' matrix products in ``compute_dtype`` (bfloat16 under ``precision``).

        The networks return float32 (their outputs are cast back), so TD targets,
        log-probabilities and losses are computed in float32 whatever the setting; weights,
        gradients and optimizer state are float32 too. Backward passes run outside.
        """
        return torch.autocast(self.device.type, dtype=self.compute_dtype,
                              enabled=self.compute_dtype != torch.float32)

    @property
    def temperature(self) -> float:
        """Return the current entropy temperature alpha."""
        return float(self.log_alpha.detach().exp())

    # --- observations ------------------------------------------------------------------------
    @property
    def cached_feature_dim(self) -> int:
        """Return F of ``encode_frames``: the pooled size, or C * h * w of the spatial map."""
        if self.frozen_map_shape is not None:
            return math.prod(self.frozen_map_shape)
        return self.frozen_encoder.feature_dim if self.frozen_encoder is not None else 0

    @torch.no_grad()
    def encode_frames(self, pixels: Tensor) -> Tensor:
        """
        Compute frozen-encoder features of uint8 frames [..., N, C, H, W] -> [..., N, F].

        F is the encoder's pooled ``feature_dim``, or with ``image_pooling``
        'spatial_embedding' its flattened feature map (the policy pools it).
        Call once per stored frame to fill a replay buffer's feature cache.
        """
        if self.frozen_encoder is None:
            raise RuntimeError('encode_frames needs image_encoder="frozen" and cameras')
        pixels = torch.as_tensor(pixels, device=self.device)
        flat = pixels.reshape(-1, *pixels.shape[-3:])
        if self.frozen_map_shape is not None:
            return self.frozen_encoder.feature_map(flat).reshape(*pixels.shape[:-3], -1)
        return self.frozen_encoder(flat).view(*pixels.shape[:-3], -1)

    def preprocess(self, observations: Dict[str, Tensor], augment: bool = False
                   ) -> Dict[str, Tensor]:
        """Normalise the state, fill in frozen features if missing, apply DrQ shifts if asked."""
        prepared = dict(observations)
        prepared['state'] = self.normalizer(observations['state'])
        mode = self.encoder.mode
        if mode == 'frozen' and 'features' not in prepared:
            prepared['features'] = self.encode_frames(observations['pixels'])
        if mode == 'cnn' and augment:
            pixels = observations['pixels']
            prepared['pixels'] = random_shift(pixels.flatten(0, 1),
                                              self.config.drq_pad).view_as(pixels)
        return prepared

    # --- acting ------------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, observations: Dict[str, Tensor], deterministic: bool = False,
            grasp_epsilon: float = 0.0) -> Tensor:
        """
        Return actions [B, action_dim (+1)] for a batch of observations.

        The continuous part is tanh-Gaussian (its mode when deterministic); the gripper
        command is argmax_a Q_g(s, a) mapped to -1/0/+1, random with prob. grasp_epsilon.
        """
        features = self.encoder(self.preprocess(observations))
        actions = self.actor.mode(features) if deterministic else self.actor.sample(features)[0]
        if self.grasp_critic is None:
            return actions
        grasp_index = self.grasp_critic(features).argmax(dim=1)
        if grasp_epsilon > 0.0:
            explore = torch.rand(grasp_index.shape, device=self.device) < grasp_epsilon
            random_index = torch.randint_like(grasp_index, NUM_GRASP_ACTIONS)
            grasp_index = torch.where(explore, random_index, grasp_index)
        return torch.cat([actions, index_to_command(grasp_index).unsqueeze(1)], dim=1)

    def select_action(self, observation: Dict[str, np.ndarray], deterministic: bool = False,
                      grasp_epsilon: float = 0.0) -> np.ndarray:
        """Return the action (numpy, [action_dim (+1)]) for one unbatched observation."""
        batch = {key: torch.as_tensor(np.asarray(value), device=self.device).unsqueeze(0)
                 for key, value in observation.items()}
        return self.act(batch, deterministic, grasp_epsilon)[0].cpu().numpy()

    # --- learning ----------------------------------------------------------------------------
    def update(self, sample_batch: Callable[[], Batch]) -> Metrics:
        """Run one learner step: its critic updates, actor updates as scheduled."""
        metrics: Metrics = {}
        for _ in range(self.config.critic_updates_per_learner_step):
            batch = sample_batch()
            critic_metrics, features = self.update_critic(batch)
            metrics.update(critic_metrics)
            if self.num_critic_updates % self.config.policy_update_freq == 0:
                metrics.update(self.update_actor(features, batch))
        return metrics

    def update_critic(self, batch: Batch) -> Tuple[Metrics, Tensor]:
        """
        Update critic ensemble, encoder and grasp critic on one batch; step the targets.

        Returns metrics and the batch's detached (pre-update) features, reused by the actor.
        """
        config = self.config
        observations = self.preprocess(batch.observations, augment=True)
        next_observations = self.preprocess(batch.next_observations, augment=True)
        actions = batch.actions[:, :config.action_dim].clamp(-1.0, 1.0)
        with torch.no_grad(), self._autocast():
            next_features = self.encoder(next_observations)
            target_features = self.target_encoder(next_observations)
            next_actions, next_log_probs = self.actor.sample(next_features)
            target_qs = self.target_critic(target_features, next_actions)
            if config.critic_subsample_size is not None:
                subset = torch.randperm(config.critic_ensemble_size, device=self.device)
                target_qs = target_qs[subset[:config.critic_subsample_size]]
            targets = sac_critic_target(
                batch.rewards, batch.terminated, target_qs, config.discount,
                next_log_probs if config.backup_entropy else None, self.log_alpha.exp(),
                (config.td_target_min, config.td_target_max))
        with self._autocast():
            features = self.encoder(observations)
            qs = self.critic(features, actions)
        loss = critic_loss(qs, targets)
        self._optimize(loss, 'critic', self._critic_params)
        metrics = {'critic_loss': loss.item(), 'q_mean': qs.mean().item()}
        features = features.detach()
        if self.grasp_critic is not None:
            metrics.update(self._update_grasp_critic(batch, features, next_features,
                                                     target_features))
        polyak_update(self._target_params, self._online_params, config.tau)
        self.num_critic_updates += 1
        return metrics, features

    def _update_grasp_critic(self, batch: Batch, features: Tensor, next_features: Tensor,
                             target_features: Tensor) -> Metrics:
        """Take one double-DQN step of the grasp critic (features are all detached)."""
        config = self.config
        grasp_actions = command_to_index(batch.actions[:, config.action_dim],
                                         config.gripper_deadband)
        with torch.no_grad(), self._autocast():
            penalties = toggle_penalty(batch.gripper_toggled, config.grasp_penalty)
            targets = grasp_critic_target(
                batch.rewards, penalties, batch.terminated, self.grasp_critic(next_features),
                self.target_grasp_critic(target_features), config.discount)
        with self._autocast():
            q_values = self.grasp_critic(features)
        loss = grasp_critic_loss(q_values, grasp_actions, targets)
        metrics = {'grasp_critic_loss': loss.item()}
        if config.grasp_margin > 0.0:
            margin = grasp_margin_loss(q_values, grasp_actions, batch.interventions,
                                       config.grasp_margin)
            loss = loss + margin
            metrics['grasp_margin_loss'] = margin.item()
        self._optimize(loss, 'grasp_critic', list(self.grasp_critic.parameters()))
        return metrics

    def update_actor(self, features: Tensor, batch: Optional[Batch] = None) -> Metrics:
        """
        Update the actor on detached features, then the temperature.

        With ``bc_weight`` and the features' ``batch``, the human's steps in it add the
        imitation term: L = L_pi + bc_weight * L_bc.
        """
        with self._autocast():
            mean, log_std = self.actor(features)   # one pass serves both terms
            actions, log_probs = self.actor.sample_from(mean, log_std)
            qs = self.critic(features, actions)
        loss = actor_loss(log_probs, qs, self.log_alpha.detach().exp())
        metrics = {'actor_loss': loss.item()}
        if self.config.bc_weight > 0.0 and batch is not None:
            taken = batch.actions[:, :self.config.action_dim].clamp(-1.0, 1.0)
            imitation = behaviour_cloning_loss(torch.tanh(mean), taken, batch.interventions)
            loss = loss + self.config.bc_weight * imitation
            metrics['bc_loss'] = imitation.item()
        # Gradients for the actor only: the critic's weights get none (and cost nothing).
        grads = torch.autograd.grad(loss, self._actor_params)
        for param, grad in zip(self._actor_params, grads):
            param.grad = grad
        self._clip_and_step('actor', self._actor_params)
        log_probs = log_probs.detach()
        alpha_loss = temperature_loss(self.log_alpha, log_probs,
                                      self.config.resolved_target_entropy)
        self._optimize(alpha_loss, 'temperature', [self.log_alpha])
        self.num_actor_updates += 1
        metrics.update(entropy=-log_probs.mean().item(), temperature=self.temperature)
        return metrics

    def _optimize(self, loss: Tensor, name: str, params: List[Tensor]) -> None:
        """Backpropagate `loss` into `params` and step optimizer `name`."""
        self.optimizers[name].zero_grad(set_to_none=True)
        loss.backward()
        self._clip_and_step(name, params)

    def _clip_and_step(self, name: str, params: List[Tensor]) -> None:
        """Clip the gradient norm (if configured) and step optimizer `name`."""
        if self.config.max_grad_norm is not None:
            clip_grad_norm(params, self.config.max_grad_norm)
        self.optimizers[name].step()


@torch.no_grad()
def clip_grad_norm(params: List[Tensor], max_norm: float) -> Tensor:
    """
    Scale gradients so their global L2 norm is at most max_norm; return the norm before.

    g <- g * min(1, max_norm / (||g||_2 + 1e-6)), ||g||_2 over all params jointly. Same rule
    as ``nn.utils.clip_grad_norm_``, in four fused list ops (it is called 3x per update).
    """
    grads = [p.grad for p in params if p.grad is not None]
    total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, (max_norm / (total_norm + 1e-6)).clamp_(max=1.0))
    return total_norm
