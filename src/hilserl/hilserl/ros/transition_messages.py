"""
Transition and Observation messages to and from the NumPy dicts of ``hilserl_learning``.

Observation dicts and :class:`ReceivedTransition` are described in
:mod:`hilserl.transport.transition_record`. On the wire (hilserl_interfaces/Observation)
each camera is one ``sensor_msgs/Image`` rgb8 frame ``[H, W, 3]``; bgr8 frames are
accepted and swapped.

Actor side: :func:`observation_to_message`, :func:`transition_to_message`, then
:func:`transition_to_bytes` (the serialized message is the payload the actor numbers and
keeps until acknowledged). Learner side: :func:`transition_from_bytes` or
:func:`transition_from_message` give a :class:`ReceivedTransition`. Malformed content
raises :class:`TransitionFormatError` (a ValueError) with a one-line reason.
"""

import array
from typing import Optional, Sequence

from hilserl_interfaces.msg import Observation, Transition
import numpy as np

from hilserl.ros.image_conversion import array_to_image
from hilserl.transport.transition_record import (ObservationDict, ReceivedTransition,
                                                 TransitionFormatError)
from hilserl.vision.image_decoding import rgb_pixels
from hilserl.vision.image_processing import ImageProcessingError


def observation_to_message(observation: ObservationDict, state_names: Sequence[str] = (),
                           camera_names: Sequence[str] = ()) -> Observation:
    """
    Return an Observation message for an observation dict.

    ``observation['pixels']`` (uint8 ``[N, 3, H, W]``) is needed when ``camera_names``
    names N > 0 cameras; each frame becomes an rgb8 Image.
    """
    message = Observation()
    state = np.asarray(observation['state'], dtype=np.float32).reshape(-1)
    message.state = state.tolist()
    message.state_names = list(state_names)
    message.camera_names = list(camera_names)
    if camera_names:
        pixels = np.asarray(observation.get('pixels'))
        if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[:2] != (
                len(camera_names), 3):
            raise TransitionFormatError(
                f'pixels must be uint8 [{len(camera_names)}, 3, H, W] for cameras '
                f'{list(camera_names)}, got {pixels.dtype} {tuple(pixels.shape)}')
        message.images = [array_to_image(np.ascontiguousarray(frame.transpose(1, 2, 0)),
                                         'rgb8') for frame in pixels]
    return message


def observation_from_message(message: Observation,
                             camera_names: Optional[Sequence[str]] = None) -> ObservationDict:
    """
    Return the observation dict of an Observation message ('pixels' only with cameras).

    ``camera_names`` stands in for a message that does not name its cameras (a final
    observation, whose cameras are those of its step).
    """
    observation = {'state': np.asarray(message.state, dtype=np.float32).reshape(-1)}
    cameras = list(message.camera_names) or list(camera_names or [])
    if len(message.images) != len(cameras):
        raise TransitionFormatError(f'{len(message.images)} images for cameras {cameras}')
    if not message.images:
        return observation
    frames = []
    for camera, image in zip(cameras, message.images):
        if image.encoding not in ('rgb8', 'bgr8'):
            raise TransitionFormatError(f"camera '{camera}': encoding '{image.encoding}' "
                                        'is not rgb8 or bgr8')
        try:
            pixels = rgb_pixels(image)
        except ImageProcessingError as error:
            raise TransitionFormatError(f"camera '{camera}': {error}") from None
        if frames and pixels.shape != frames[0].shape:
            raise TransitionFormatError(f"camera '{camera}' frame is {pixels.shape[:2]}, "
                                        f"'{cameras[0]}' is "
                                        f'{frames[0].shape[:2]}')
        frames.append(pixels)
    observation['pixels'] = np.ascontiguousarray(np.stack(frames).transpose(0, 3, 1, 2))
    features = np.asarray(message.image_features, dtype=np.float32)
    if features.size:
        if features.size % len(cameras):
            raise TransitionFormatError(f'{features.size} image features do not split into '
                                        f'{len(cameras)} cameras')
        observation['features'] = features.reshape(len(cameras), -1)
    return observation


def set_image_features(message: Observation, features: np.ndarray, encoder: str) -> None:
    """Attach the frozen encoder's ``features`` [N, F] and its fingerprint to ``message``."""
    flat = np.ascontiguousarray(features, dtype=np.float32).reshape(-1)
    message.image_features = array.array('f', flat.tobytes())
    message.image_features_encoder = encoder


def transition_to_message(actor_id: str, sequence: int, episode_index: int, step_index: int,
                          observation: ObservationDict, action: Sequence[float], reward: float,
                          terminated: bool = False, truncated: bool = False,
                          intervention: bool = False,
                          final_observation: Optional[ObservationDict] = None,
                          state_names: Sequence[str] = (), camera_names: Sequence[str] = (),
                          stamp=None, actor_session: str = '') -> Transition:
    """
    Return the Transition message of one control step.

    Pass ``final_observation`` (the observation after the step) on the episode's last
    step only; ``stamp`` (builtin_interfaces/Time) goes into the header. Either
    observation may be an Observation message already, which is used as it is.
    """
    message = Transition()
    if stamp is not None:
        message.header.stamp = stamp
    message.actor_id = actor_id
    message.actor_session = actor_session
    message.sequence = int(sequence)
    message.episode_index = int(episode_index)
    message.step_index = int(step_index)
    message.observation = _as_message(observation, state_names, camera_names)
    message.action = np.asarray(action, dtype=np.float32).reshape(-1).tolist()
    message.reward = float(reward)
    message.terminated = bool(terminated)
    message.truncated = bool(truncated)
    message.intervention = bool(intervention)
    if final_observation is not None:
        message.final_observation = [_as_message(final_observation, state_names,
                                                 camera_names)]
    return message


def _as_message(observation, state_names, camera_names) -> Observation:
    # An actor already holds the frames as received Image messages: sending those avoids
    # converting every frame to an array and back on each control step.
    if isinstance(observation, Observation):
        return observation
    return observation_to_message(observation, state_names, camera_names)


def transition_from_message(message: Transition) -> ReceivedTransition:
    """Decode a Transition message; raise TransitionFormatError for unusable content."""
    observation = observation_from_message(message.observation)
    final = None
    if message.final_observation:
        final = observation_from_message(message.final_observation[0],
                                         message.observation.camera_names)
        if final['state'].shape != observation['state'].shape or (
                final.get('pixels') is not None and observation.get('pixels') is not None
                and final['pixels'].shape != observation['pixels'].shape):
            raise TransitionFormatError('final_observation does not have the shape of the '
                                        'observation')
    return ReceivedTransition(
        actor_id=message.actor_id, sequence=int(message.sequence),
        episode_index=int(message.episode_index), step_index=int(message.step_index),
        observation=observation, action=np.asarray(message.action, dtype=np.float32),
        reward=float(message.reward), terminated=bool(message.terminated),
        truncated=bool(message.truncated), intervention=bool(message.intervention),
        final_observation=final, state_names=list(message.observation.state_names),
        camera_names=list(message.observation.camera_names),
        features_encoder=message.observation.image_features_encoder)


def transition_to_bytes(message: Transition) -> bytes:
    """Serialize a Transition message (CDR, as it travels over DDS)."""
    from rclpy.serialization import serialize_message
    return serialize_message(message)


def transition_message_from_bytes(payload: bytes) -> Transition:
    """Deserialize a Transition message; raise TransitionFormatError when it is not one."""
    from rclpy.serialization import deserialize_message
    try:
        return deserialize_message(bytes(payload), Transition)
    except Exception as error:  # rclpy raises several types for bad CDR
        raise TransitionFormatError(f'not a serialized Transition: {error}') from None


def transition_from_bytes(payload: bytes) -> ReceivedTransition:
    """Decode a serialized Transition message (the payload an actor sends and resends)."""
    return transition_from_message(transition_message_from_bytes(payload))
