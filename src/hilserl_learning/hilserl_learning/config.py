"""Configuration of the HIL-SERL agent, one dataclass with documented defaults."""

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Optional, Tuple

IMAGE_ENCODERS = ('cnn', 'frozen')
IMAGE_POOLINGS = ('encoder', 'spatial_embedding')
PRECISIONS = ('fp32', 'bf16', 'auto')
# Fields renamed since earlier releases: old name -> new name.
RENAMED_FIELDS = {'utd_ratio': 'critic_updates_per_learner_step'}


@dataclass
class AgentConfig:
    """
    Hyperparameters of the SAC agent, its grasp critic and its observation encoder.

    Defaults follow HIL-SERL (Luo et al. 2024) where the paper or its code gives one.
    """

    # --- observation and action spaces -------------------------------------------------------
    state_dim: int = 20
    """Length of the proprioceptive state vector (normalised with demonstration statistics)."""
    action_dim: int = 3
    """Continuous action dimensions (end-effector xyz deltas in [-1, 1])."""
    use_grasp_critic: bool = True
    """Append one gripper command to the action and learn it with a discrete grasp critic."""
    num_cameras: int = 0
    """Number of camera images in each observation (0 = state only)."""
    image_channels: int = 3
    """Channels of each uint8 [C, H, W] camera image."""
    image_size: int = 128
    """Height and width of each (square) camera image."""

    # --- image encoder -------------------------------------------------------------------------
    image_encoder: str = 'frozen'
    """'cnn': small CNN trained end to end with DrQ shifts; 'frozen': cached frozen ResNet."""
    frozen_weights_path: Optional[str] = None
    """Encoder card with the frozen encoder's pretrained weights, written by `hilserl encoder
    import` (None: seeded random weights)."""
    frozen_architecture: Optional[str] = None
    """The frozen encoder's architecture (resnet10, resnet18, resnet34, hilserl_resnet10).
    None: the card's with frozen_weights_path, else resnet10; a card of another one is
    refused."""
    frozen_seed: int = 0
    """Seed of the frozen encoder's random weights when no file is given: the actor and the
    learner build their encoders apart and must get the same network."""
    allow_random_encoder: bool = False
    """Let a learner start an image policy on the frozen encoder's seeded random weights (no
    frozen_weights_path): a control for experiments. Random features may locate a cube in a
    clean simulated scene, but not in a real camera image."""
    image_pooling: str = 'encoder'
    """How each camera's frozen feature map becomes the vector the trainable projection takes:
    'encoder' caches the frozen encoder's own pooled features (a ResNet's global average, a
    small_cnn card's classifier pooling); 'spatial_embedding' caches the whole map [C, h, w]
    (float16) and learns HIL-SERL's spatial embeddings on it (spatial_embeddings kernels per
    channel, trained by the critic loss)."""
    spatial_embeddings: int = 8
    """Learned spatial kernels per channel with image_pooling 'spatial_embedding' (HIL-SERL's
    num_spatial_blocks)."""
    feature_augmentation_copies: int = 0
    """Frozen encoder only: cache the features of this many copies of each frame, each shifted
    at random by up to drq_pad pixels, beside the unshifted one; every sampled observation reads
    one of them at random (DrQ where features are cached). 0: off. The buffers' features take
    (copies + 1) times the memory and each stored frame is encoded copies + 1 times."""
    image_bottleneck_dim: int = 128
    """Per-camera feature size after the trainable projection (Linear, LayerNorm, tanh)."""
    cnn_channels: Tuple[int, int, int] = (16, 32, 32)
    """Channels of the three conv layers of the end-to-end CNN (8x8/4, 4x4/2, 3x3/1)."""
    drq_pad: int = 4
    """Maximum random shift in pixels for DrQ augmentation (end-to-end CNN, and the frozen
    encoder's feature_augmentation_copies)."""

    # --- networks ------------------------------------------------------------------------------
    hidden_dims: Tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the actor and of every critic in the ensemble."""
    critic_ensemble_size: int = 2
    """Number of Q-functions, evaluated together in one batched pass."""
    critic_subsample_size: Optional[int] = None
    """Take the target min over a random subset of this many critics (None: all, as SAC)."""
    layer_norm: bool = True
    """Use LayerNorm after every hidden layer of actor and critics (HIL-SERL default)."""
    log_std_min: float = -5.0
    """Lower clamp of the actor's log standard deviation."""
    log_std_max: float = 2.0
    """Upper clamp of the actor's log standard deviation."""
    grasp_hidden_dims: Tuple[int, ...] = (128, 128)
    """Hidden layer sizes of the discrete grasp critic."""

    # --- optimisation --------------------------------------------------------------------------
    discount: float = 0.97
    """Discount factor gamma."""
    tau: float = 0.005
    """Polyak rate of the target networks: target <- (1 - tau) target + tau online."""
    actor_lr: float = 3e-4
    """Adam learning rate of the actor."""
    critic_lr: float = 3e-4
    """Adam learning rate of the critic ensemble and the (trainable) encoder."""
    temperature_lr: float = 3e-4
    """Adam learning rate of log(alpha)."""
    grasp_critic_lr: float = 3e-4
    """Adam learning rate of the grasp critic."""
    temperature_init: float = 0.01
    """Initial entropy temperature alpha."""
    target_entropy: Optional[float] = None
    """Entropy the temperature steers towards (None: -action_dim / 2)."""
    backup_entropy: bool = False
    """Subtract alpha * log pi(a'|s') in the critic target (HIL-SERL: off)."""
    td_target_min: Optional[float] = None
    """Clip the critic's TD target to at least this: the smallest discounted return the
    reward allows (None: no bound). A 0/1 success reward that ends the episode: 0."""
    td_target_max: Optional[float] = None
    """Clip the critic's TD target to at most this: the largest discounted return the reward
    allows (None: no bound). A 0/1 success reward that ends the episode: 1. Without it the
    bootstrapped targets can feed on the critics' own overestimates and climb past anything
    the data returns."""
    critic_updates_per_learner_step: int = 1
    """Critic updates, each on its own batch, in one learner step (``SACAgent.update``).
    Gradient updates per environment step are this times the learner's
    ``updates_per_step`` (the learner steps per step of data)."""
    policy_update_freq: int = 1
    """Update actor and temperature once every this many critic updates."""
    max_grad_norm: Optional[float] = 10.0
    """Clip each network's gradient to this global norm (None: no clipping)."""
    precision: str = 'fp32'
    """Arithmetic of the networks' forward and backward passes in an update: 'fp32', 'bf16'
    (matrix products in bfloat16 under autocast; weights, optimizer state, TD targets,
    log-probabilities and losses stay float32) or 'auto' (bf16 where the hardware computes
    it natively: a CPU with AMX or AVX-512 BF16, a GPU that supports it; else fp32)."""
    bc_weight: float = 0.0
    """Weight of an imitation term in the actor loss on the human's steps (demonstrations and
    interventions): their actions pull the policy's mean (0: HIL-SERL, the critic alone)."""
    grasp_margin: float = 0.0
    """DQfD large margin for the grasp critic on the human's steps: their gripper command
    must beat the others by this much (0: HIL-SERL, no margin term)."""

    # --- gripper -------------------------------------------------------------------------------
    grasp_penalty: float = -0.02
    """Reward added for the grasp critic on steps where the gripper command toggles its state."""
    gripper_deadband: float = 0.5
    """A continuous gripper command within +-deadband means 'stay'."""

    def __post_init__(self) -> None:
        """Check values that would otherwise fail deep inside the networks."""
        if self.num_cameras > 0 and self.image_encoder not in IMAGE_ENCODERS:
            raise ValueError(f'image_encoder must be one of {IMAGE_ENCODERS}, '
                             f'got {self.image_encoder!r}')
        if self.image_pooling not in IMAGE_POOLINGS:
            raise ValueError(f'image_pooling must be one of {IMAGE_POOLINGS}, '
                             f'got {self.image_pooling!r}')
        if self.spatial_embeddings < 1 or self.feature_augmentation_copies < 0:
            raise ValueError('spatial_embeddings must be >= 1 and feature_augmentation_copies '
                             '>= 0')
        if self.num_cameras > 0 and self.image_encoder == 'cnn' and (
                self.image_pooling != 'encoder' or self.feature_augmentation_copies):
            raise ValueError("image_pooling and feature_augmentation_copies apply to the frozen "
                             "encoder's cached features, not to image_encoder 'cnn'")
        if self.critic_subsample_size is not None and not (
                1 <= self.critic_subsample_size <= self.critic_ensemble_size):
            raise ValueError('critic_subsample_size must lie in [1, critic_ensemble_size]')
        if (self.td_target_min is not None and self.td_target_max is not None
                and self.td_target_min >= self.td_target_max):
            raise ValueError('td_target_min must be below td_target_max')
        if not (self.bc_weight >= 0.0 and self.grasp_margin >= 0.0):
            raise ValueError('bc_weight and grasp_margin must be >= 0')
        if self.precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {self.precision!r}')
        if self.critic_updates_per_learner_step < 1 or self.policy_update_freq < 1:
            raise ValueError('critic_updates_per_learner_step and policy_update_freq must be '
                             '>= 1')
        self.hidden_dims = tuple(self.hidden_dims)
        self.grasp_hidden_dims = tuple(self.grasp_hidden_dims)
        self.cnn_channels = tuple(self.cnn_channels)

    @property
    def uses_random_encoder(self) -> bool:
        """Say whether images go through the frozen encoder with random weights."""
        return (self.num_cameras > 0 and self.image_encoder == 'frozen'
                and not self.frozen_weights_path)

    @property
    def resolved_target_entropy(self) -> float:
        """Return the target entropy, defaulting to -action_dim / 2 as in HIL-SERL."""
        if self.target_entropy is None:
            return -self.action_dim / 2.0
        return self.target_entropy

    @property
    def full_action_dim(self) -> int:
        """Return the length of the action vector sent to the robot (xyz [+ gripper])."""
        return self.action_dim + int(self.use_grasp_critic)

    def to_dict(self) -> Dict[str, Any]:
        """Return a JSON-friendly dict (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> 'AgentConfig':
        """
        Build a config from `to_dict` output, rejecting unknown keys.

        Checkpoints and policy blobs written before a field was renamed
        (:data:`RENAMED_FIELDS`) load under the new name.
        """
        values = {RENAMED_FIELDS.get(key, key): value for key, value in values.items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f'unknown AgentConfig keys: {unknown}')
        return cls(**values)
