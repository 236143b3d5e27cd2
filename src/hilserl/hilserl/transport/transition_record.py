"""
A transition as the learner receives it, as plain data (no ROS).

An observation dict is what the agent and the replay buffers take: ``state`` float32
``[S]`` and, with cameras, ``pixels`` uint8 ``[N, 3, H, W]`` (RGB, cameras in
``camera_names`` order) and, when the sender computed them, the frozen encoder's
``features`` float32 ``[N, F]``. :mod:`hilserl.ros.transition_messages` turns
Transition messages into :class:`ReceivedTransition` records; the learner's logic
(:mod:`hilserl.learner`) works on the records and takes the decoding as an argument.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

ObservationDict = Dict[str, np.ndarray]


class TransitionFormatError(ValueError):
    """A Transition or Observation message whose content cannot be used."""


@dataclass
class ReceivedTransition:
    """One decoded Transition message (see Transition.msg for the meaning of each field)."""

    actor_id: str
    sequence: int
    episode_index: int
    step_index: int
    observation: ObservationDict
    action: np.ndarray                  # float32 [A]
    reward: float
    terminated: bool
    truncated: bool
    intervention: bool
    final_observation: Optional[ObservationDict] = None
    state_names: List[str] = field(default_factory=list)
    camera_names: List[str] = field(default_factory=list)
    features_encoder: str = ''          # fingerprint of the encoder behind any 'features'

    @property
    def ends_episode(self) -> bool:
        """Return whether this is the last step of its episode."""
        return self.terminated or self.truncated or self.final_observation is not None
