"""
What the learner checks of each transition an actor sends, before storing it; no ROS.

:class:`TransitionIntake` decodes a payload, checks it against the learner's data
layout (state names, cameras, frame size), keeps the actor's frozen-encoder features
only when they are the ones this learner would compute, turns an observation into
what the buffers store, and warns once per actor of a reward the TD clip would cut.
A problem that makes a transition unusable is a ``ValueError`` for the caller to
count; the others are warnings, logged once each.
"""

from typing import Callable, Optional, Sequence

from hilserl_learning import AgentConfig, features_to_cache, SACAgent
import torch

from hilserl.learner.step_assembly import check_layout
from hilserl.transport.transition_record import ObservationDict, ReceivedTransition


class TransitionIntake:
    """Decode and check actors' transitions for one learner; warn once per cause."""

    def __init__(self, decode: Callable[[bytes], ReceivedTransition],
                 log: Callable[[str], None]) -> None:
        """Decode payloads with ``decode``; report warnings through ``log``."""
        self.decode = decode
        self._log = log
        self._foreign_encoders: set = set()       # fingerprints already reported
        self._rewards_out_of_bounds: set = set()  # actors already warned about

    def checked(self, payload: bytes, agent: Optional[SACAgent], state_names: Sequence[str],
                camera_names: Optional[Sequence[str]],
                transition: Optional[ReceivedTransition] = None) -> ReceivedTransition:
        """
        Decode ``payload`` (unless ``transition`` is given) and check it.

        Without an agent yet there is no layout to check against. Raises ValueError
        when the transition cannot be used.
        """
        transition = transition or self.decode(payload)
        if agent is not None:
            check_layout(transition, agent.config, state_names, camera_names)
            self._keep_matching_features(transition, agent, camera_names)
        return transition

    def _keep_matching_features(self, transition: ReceivedTransition, agent: SACAgent,
                                camera_names: Optional[Sequence[str]]) -> None:
        """Drop the actor's image features unless our frozen encoder would compute them."""
        carrying = [observation for observation in (transition.observation,
                                                    transition.final_observation)
                    if observation is not None and 'features' in observation]
        if not carrying:
            return
        encoder = agent.frozen_encoder
        ours = encoder.fingerprint() if encoder is not None else ''
        shape = (len(camera_names or ()), agent.cached_feature_dim)
        if ours and transition.features_encoder == ours and all(
                observation['features'].shape == shape for observation in carrying):
            return
        for observation in carrying:
            del observation['features']
        if transition.features_encoder not in self._foreign_encoders:
            self._foreign_encoders.add(transition.features_encoder)
            self._log(f"actor '{transition.actor_id}' acts on image features of another "
                      f"frozen encoder ({transition.features_encoder or 'unnamed'}, ours "
                      f"{ours or 'none'}): its policy sees other features than it was "
                      'trained on; check frozen_weights_path and frozen_seed on both sides. '
                      'Its frames are encoded here instead.')

    @staticmethod
    def stored_observation(observation: ObservationDict, agent: SACAgent) -> ObservationDict:
        """
        Return the observation as the buffers store it (frozen features computed once).

        The actor's features (checked by _keep_matching_features) are kept; with
        ``feature_augmentation_copies`` those of shifted copies of the frames go beside them.
        """
        stored = {'state': observation['state']}
        if 'features' in observation and not agent.config.feature_augmentation_copies:
            stored['features'] = observation['features']
        elif 'pixels' in observation and agent.frozen_encoder is not None:
            stored['features'] = features_to_cache(
                agent, torch.from_numpy(observation['pixels']),
                observation.get('features')).cpu().numpy()
        elif 'pixels' in observation:
            stored['pixels'] = observation['pixels']
        return stored

    def check_reward_bounds(self, actor_id: str, reward: float, config: AgentConfig) -> None:
        """Warn once per actor of a reward outside the TD clip: its signal would be cut."""
        low, high = config.td_target_min, config.td_target_max
        if actor_id in self._rewards_out_of_bounds or (
                (low is None or reward >= low) and (high is None or reward <= high)):
            return
        self._rewards_out_of_bounds.add(actor_id)
        self._log(f"actor '{actor_id}' sent reward {reward:g}, outside agent.td_target_min/"
                  f'max [{low}, {high}]: TD targets are clipped to them, so the critics '
                  'cannot learn it (an actor with intervention_penalty needs '
                  'agent.td_target_min: -1.0)')
