"""Transition and Observation messages to and from the learner's observation dicts."""

from hilserl_interfaces.msg import Observation
import numpy as np
import pytest

from hilserl.ros.image_conversion import array_to_image
from hilserl.ros.transition_messages import (observation_from_message, observation_to_message,
                                             set_image_features, transition_from_bytes,
                                             transition_from_message,
                                             transition_message_from_bytes, transition_to_bytes,
                                             transition_to_message, TransitionFormatError)

CAMERAS = ['front', 'wrist']
STATE_NAMES = ['a', 'b', 'c']


def observation(seed, cameras=2, size=(6, 8)):
    rng = np.random.default_rng(seed)
    found = {'state': rng.normal(size=3).astype(np.float32)}
    if cameras:
        found['pixels'] = rng.integers(0, 256, (cameras, 3, *size), dtype=np.uint8)
    return found


def test_an_observation_survives_the_message_and_frames_are_rgb8_in_camera_order():
    original = observation(0)
    message = observation_to_message(original, STATE_NAMES, CAMERAS)
    assert [image.encoding for image in message.images] == ['rgb8', 'rgb8']
    assert (message.images[1].height, message.images[1].width) == (6, 8)
    first_pixel = bytes(message.images[1].data[:3])
    assert first_pixel == bytes(original['pixels'][1, :, 0, 0])
    decoded = observation_from_message(message)
    assert decoded['state'].dtype == np.float32 and decoded['pixels'].dtype == np.uint8
    np.testing.assert_array_equal(decoded['state'], original['state'])
    np.testing.assert_array_equal(decoded['pixels'], original['pixels'])


def test_a_state_only_observation_has_no_pixels():
    message = observation_to_message(observation(1, cameras=0), STATE_NAMES)
    assert list(message.images) == [] and 'pixels' not in observation_from_message(message)


def test_bgr8_frames_are_swapped_to_rgb():
    rgb = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    message = Observation(state=[0.0], camera_names=['front'],
                          images=[array_to_image(np.ascontiguousarray(rgb[..., ::-1]), 'bgr8')])
    np.testing.assert_array_equal(observation_from_message(message)['pixels'][0],
                                  rgb.transpose(2, 0, 1))


@pytest.mark.parametrize('change, reason', [
    (lambda m: m.images.pop(), '1 images for cameras'),
    (lambda m: setattr(m.images[0], 'encoding', 'mono8'), "encoding 'mono8'"),
    (lambda m: m.images.__setitem__(1, array_to_image(np.zeros((2, 2, 3), np.uint8),
                                                      'rgb8')), "'wrist' frame is"),
])
def test_malformed_observations_are_refused_with_a_reason(change, reason):
    message = observation_to_message(observation(2), STATE_NAMES, CAMERAS)
    change(message)
    with pytest.raises(TransitionFormatError, match=reason):
        observation_from_message(message)


def test_pixels_of_the_wrong_layout_are_refused_when_sending():
    wrong = observation(3)
    wrong['pixels'] = wrong['pixels'].transpose(0, 2, 3, 1)
    with pytest.raises(TransitionFormatError, match='uint8'):
        observation_to_message(wrong, STATE_NAMES, CAMERAS)


def test_a_transition_survives_serialization_with_its_final_observation():
    first, final = observation(4), observation(5)
    message = transition_to_message(
        'actor_a', 17, episode_index=3, step_index=9, observation=first,
        action=[0.1, -0.2, 0.3, 1.0], reward=1.0, terminated=True, intervention=True,
        final_observation=final, state_names=STATE_NAMES, camera_names=CAMERAS)
    payload = transition_to_bytes(message)
    assert isinstance(payload, bytes)
    received = transition_from_bytes(payload)
    assert (received.actor_id, received.sequence, received.episode_index,
            received.step_index) == ('actor_a', 17, 3, 9)
    assert received.terminated and not received.truncated and received.intervention
    assert received.ends_episode and received.reward == 1.0
    assert received.state_names == STATE_NAMES and received.camera_names == CAMERAS
    np.testing.assert_allclose(received.action, [0.1, -0.2, 0.3, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(received.final_observation['pixels'], final['pixels'])
    np.testing.assert_array_equal(received.observation['state'], first['state'])


def test_a_middle_step_has_no_final_observation():
    message = transition_to_message('a', 0, 0, 0, observation(6, cameras=0), [0, 0, 0, 0],
                                    0.0, state_names=STATE_NAMES)
    received = transition_from_message(message)
    assert received.final_observation is None and not received.ends_episode


def test_bytes_that_are_not_a_transition_are_refused():
    with pytest.raises(TransitionFormatError, match='not a serialized Transition'):
        transition_message_from_bytes(b'\x00\x01garbage')


def test_an_observation_message_travels_as_it_is():
    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    held = observation_to_message({'state': np.ones(2, np.float32),
                                   'pixels': frame.transpose(2, 0, 1)[None]},
                                  ['a', 'b'], ['front'])
    message = transition_to_message('actor', 0, 0, 0, held, [0, 0, 0, 0], 0.0,
                                    terminated=True, final_observation=held)
    assert message.observation is held and message.final_observation[0] is held
    received = transition_from_bytes(transition_to_bytes(message))
    np.testing.assert_array_equal(received.observation['pixels'][0].transpose(1, 2, 0), frame)


def test_image_features_travel_with_their_encoder_fingerprint():
    held = observation_to_message(observation(7), STATE_NAMES, CAMERAS)
    features = np.arange(2 * 5, dtype=np.float32).reshape(2, 5) / 7
    set_image_features(held, features, 'abc123')
    received = transition_from_bytes(transition_to_bytes(
        transition_to_message('actor', 0, 0, 0, held, [0, 0, 0, 0], 0.0)))
    np.testing.assert_array_equal(received.observation['features'], features)
    assert received.features_encoder == 'abc123'
    plain = transition_from_message(transition_to_message(
        'actor', 0, 0, 0, observation(7), [0, 0, 0, 0], 0.0, camera_names=CAMERAS))
    assert 'features' not in plain.observation and plain.features_encoder == ''
    held.image_features = held.image_features[:-1]
    with pytest.raises(TransitionFormatError, match='do not split into 2 cameras'):
        observation_from_message(held)
