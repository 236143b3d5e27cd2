"""
ROS-free learning core of hilserl (HIL-SERL, Luo et al. 2024).

Modules: ``config`` (AgentConfig), ``losses`` (every RL equation), ``networks``,
``encoders``, ``agent`` (SACAgent), ``gripper`` (discrete grasp actions),
``normalizer``, ``batch``, ``replay_buffer`` (frame-once ring, RLPD mixing), ``checkpoint`` and
``serialization`` (safetensors + JSON, no pickle), ``training`` (offline / online loops),
``runtime`` (threads and allocator of a CPU learner process), ``reward_classifier`` and
``classifier_training`` (success classifier over camera frames: model, files, training, report).
Nothing here imports rclpy.
"""

from .agent import SACAgent
from .batch import Batch
from .checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint
from .classifier_training import train_classifier, TrainingConfig
from .config import AgentConfig
from .feature_cache import buffer_feature_layout, features_to_cache
from .replay_buffer import add_transition, ReplayBuffer, sample_mixed
from .reward_classifier import (ClassifierConfig, ClassifierError, load_classifier,
                                RewardClassifier, save_classifier)
from .runtime import configure_torch
from .serialization import CheckpointError
from .training import fit_normalizer, online_step, pretrain_offline

__version__ = '0.1.0'

__all__ = [
    'AgentConfig', 'Batch', 'CheckpointError', 'ClassifierConfig', 'ClassifierError',
    'ReplayBuffer', 'RewardClassifier', 'SACAgent', 'TrainingConfig', 'add_transition',
    'buffer_feature_layout', 'configure_torch', 'features_to_cache', 'fit_normalizer',
    'load_checkpoint', 'load_classifier', 'online_step', 'pretrain_offline',
    'restore_checkpoint', 'sample_mixed', 'save_checkpoint', 'save_classifier',
    'train_classifier',
]
