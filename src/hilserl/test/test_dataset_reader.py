"""The dataset reader on synthetic bags: round trip, alignment, every rejection, transitions."""

import os
import shutil

import numpy as np
import pytest
import yaml

from hilserl.dataset import bag_format
from hilserl.dataset.reader import (DatasetError, episode_paths, iter_transitions,
                                    read_dataset, read_episode, summarize)
from hilserl_testing import bags

STEPS = 5


def assert_matches(episode, expected, images=None):
    """Check every array of a read episode against the synthetic one."""
    assert episode.index == expected.episode_index
    assert episode.length == expected.length
    assert episode.state_names == expected.state_names
    assert episode.camera_names == expected.camera_names
    np.testing.assert_array_equal(episode.states, expected.states)
    np.testing.assert_array_equal(episode.actions, expected.actions)
    np.testing.assert_array_equal(episode.rewards, expected.rewards)
    np.testing.assert_array_equal(episode.terminated, expected.terminated)
    np.testing.assert_array_equal(episode.truncated, expected.truncated)
    np.testing.assert_array_equal(episode.interventions, expected.interventions)
    assert episode.events == expected.events
    for camera, frames in (images if images is not None else expected.images).items():
        assert episode.images[camera].dtype == np.uint8
        np.testing.assert_array_equal(episode.images[camera], frames)


def write_records(path, episode, change=None, storage='mcap'):
    """Write an episode's records after ``change`` edited the list; return the bag path."""
    records = bags.episode_records(episode)
    if change is not None:
        records = change(records) or records
    bags.write_bag(str(path), records, storage)
    return str(path)


def step_records(records):
    return [r for r in records if r.topic == bag_format.EPISODE_STEP_TOPIC]


def test_round_trip_of_a_dataset(tmp_path):
    expected = bags.write_dataset(str(tmp_path), num_episodes=3, steps=STEPS)
    episodes = read_dataset([str(tmp_path)])
    assert [e.path for e in episodes] == bag_format.episode_directories(str(tmp_path))
    for episode, synthetic in zip(episodes, expected):
        assert_matches(episode, synthetic)
        assert episode.image_kind == 'processed'
        assert episode.images['front'].shape == (STEPS + 1, 8, 8, 3)
        assert episode.image_shapes == {'front': (8, 8, 3), 'wrist': (8, 8, 3)}
    assert [e.success for e in episodes] == [True, False, True]
    assert episodes[0].events == [(0, 'episode_start'), (STEPS - 1, 'success'),
                                  (STEPS, 'episode_end')]


def test_one_episode_bag_and_kept_numbers_with_gaps(tmp_path):
    bags.write_dataset(str(tmp_path), num_episodes=3, steps=3)
    shutil.rmtree(bag_format.episode_directory(str(tmp_path), 1))   # a rerecorded episode
    assert [e.index for e in read_dataset([str(tmp_path)])] == [0, 2]
    single = bag_format.episode_directory(str(tmp_path), 2)
    assert episode_paths([single, str(tmp_path)]) == [
        single, bag_format.episode_directory(str(tmp_path), 0), single]


def test_summary(tmp_path):
    bags.write_dataset(str(tmp_path / 'a'), num_episodes=2, steps=4)
    bags.write_dataset(str(tmp_path / 'b'), num_episodes=1, steps=6, interventions=())
    summary = summarize(read_dataset([str(tmp_path / 'a'), str(tmp_path / 'b')],
                                     load_images=False))
    assert summary['episodes'] == 3 and summary['steps'] == 14
    assert summary['lengths'] == {'min': 4, 'max': 6, 'mean': pytest.approx(14 / 3)}
    assert summary['successes'] == 2
    assert summary['interventions'] == 4 and summary['episodes_with_interventions'] == 2
    assert summary['cameras'] == ['front', 'wrist']
    assert summary['image_shapes'] == {'front': [8, 8, 3], 'wrist': [8, 8, 3]}


def test_without_images_only_alignment_and_shapes(tmp_path):
    bags.write_dataset(str(tmp_path), num_episodes=1, steps=3)
    episode = read_episode(bag_format.episode_directory(str(tmp_path), 0), load_images=False)
    assert episode.images == {} and episode.camera_names == ['front', 'wrist']
    assert episode.image_shapes['wrist'] == (8, 8, 3)


def test_image_kinds(tmp_path):
    both = bags.synthetic_episode(steps=3, raw_size=(12, 16))
    bags.write_episode(str(tmp_path / 'both'), both)
    assert read_episode(str(tmp_path / 'both')).image_kind == 'processed'
    raw = read_episode(str(tmp_path / 'both'), image_kind='raw')
    assert_matches(raw, both, images=both.raw_images)
    assert raw.images['front'].shape == (4, 12, 16, 3)
    only_raw = bags.synthetic_episode(steps=3, image_size=(12, 16))
    only_raw.raw_images, only_raw.images = only_raw.images, {}
    bags.write_episode(str(tmp_path / 'raw'), only_raw)
    assert read_episode(str(tmp_path / 'raw')).image_kind == 'raw'
    with pytest.raises(DatasetError, match=r'raw.* has no image_processed frames'):
        read_episode(str(tmp_path / 'raw'), image_kind='processed')
    with pytest.raises(DatasetError, match='image kind must be one of'):
        read_episode(str(tmp_path / 'raw'), image_kind='depth')


@pytest.mark.parametrize('encoding', ['bgr8', 'mono8'])
def test_encodings_read_as_rgb(tmp_path, encoding):
    episode = bags.synthetic_episode(steps=2, mono=encoding == 'mono8')
    bags.write_episode(str(tmp_path / 'bag'), episode, encoding=encoding)
    assert_matches(read_episode(str(tmp_path / 'bag')), episode)


def test_episode_without_cameras(tmp_path):
    episode = bags.synthetic_episode(steps=3, cameras=())
    bags.write_episode(str(tmp_path / 'bag'), episode)
    read = read_episode(str(tmp_path / 'bag'))
    assert read.camera_names == [] and read.images == {}
    assert_matches(read, episode)


def drop_frame(step, camera):
    """Return a change removing one camera frame of one step."""
    def change(records):
        time_ns = step_records(records)[step].time_ns
        return [r for r in records if not (
            r.topic == bag_format.camera_topic(camera) and r.time_ns == time_ns)]
    return change


def shift_frame(step, camera):
    def change(records):
        time_ns = step_records(records)[step].time_ns
        for record in records:
            if record.topic == bag_format.camera_topic(camera) and record.time_ns == time_ns:
                record.time_ns += 1
    return change


def duplicate_frame(step, camera):
    def change(records):
        time_ns = step_records(records)[step].time_ns
        return records + [r for r in records if r.topic == bag_format.camera_topic(camera)
                          and r.time_ns == time_ns]
    return change


@pytest.mark.parametrize('change, problem', [
    (drop_frame(2, 'wrist'), r"step 2 \(log time \d+\) has no frame from camera 'wrist'"),
    (shift_frame(1, 'front'), r"step 1 .* has no frame from camera 'front'"),
    (drop_frame(STEPS, 'front'), r"the final observation .* no frame from camera 'front'"),
    (duplicate_frame(3, 'front'), r"step 3 .* has 2 frames from camera 'front'"),
])
def test_every_step_needs_one_frame_per_camera(tmp_path, change, problem):
    bag = write_records(tmp_path / 'bag', bags.synthetic_episode(steps=STEPS), change)
    with pytest.raises(DatasetError, match=problem) as error:
        read_episode(bag)
    assert str(error.value).startswith(bag)


def edit_step(step, **fields):
    def change(records):
        message = step_records(records)[step].message
        for name, value in fields.items():
            setattr(message, name, value)
    return change


def without_final(records):
    final_time = step_records(records)[-1].time_ns
    return [r for r in records if r.time_ns != final_time]


def without_steps(records):
    return [r for r in records if r.topic != bag_format.EPISODE_STEP_TOPIC]


@pytest.mark.parametrize('change, problem', [
    (without_steps, 'has no /episode_step topic'),
    (edit_step(2, step_index=3), r'step indices are not 0..4 .* record 2 has step_index 3'),
    (without_final, 'no final observation'),
    (edit_step(1, final_observation=True), 'step 1 is marked final_observation'),
    (edit_step(1, state=[0.0, 1.0]), 'step 1 has 2 state values, step 0 has 4'),
    (edit_step(2, action=[0.0, 1.0]), 'step 2 has an action of 2 values, step 0 of 4'),
    (edit_step(2, state_names=['a', 'b', 'c', 'd']), r"step 2 names its state \['a'"),
    (edit_step(3, episode_index=7), r'records of several episodes \[0, 7\]'),
])
def test_malformed_episodes_are_rejected(tmp_path, change, problem):
    bag = write_records(tmp_path / 'bag', bags.synthetic_episode(steps=STEPS), change)
    with pytest.raises(DatasetError, match=problem) as error:
        read_episode(bag)
    assert bag in str(error.value)


def test_files_that_are_not_datasets_are_rejected(tmp_path):
    with pytest.raises(DatasetError, match='does not exist'):
        read_episode(str(tmp_path / 'missing'))
    (tmp_path / 'file.mcap').write_bytes(b'not a bag')
    with pytest.raises(DatasetError, match='file.mcap is not a bag: .* is a directory'):
        read_episode(str(tmp_path / 'file.mcap'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DatasetError, match='empty is neither an episode bag .* nor a dataset'):
        read_dataset([str(tmp_path / 'empty')])
    bag = write_records(tmp_path / 'bag', bags.synthetic_episode(steps=2))
    os.remove(os.path.join(bag, 'metadata.yaml'))
    with pytest.raises(DatasetError, match='bag is not a bag: it has no metadata.yaml'):
        read_episode(bag)
    with open(os.path.join(bag, 'metadata.yaml'), 'w') as stream:
        stream.write('just: [text\n')
    with pytest.raises(DatasetError, match='metadata.yaml is not rosbag2 metadata'):
        read_episode(bag)


def test_sqlite_storage_is_rejected(tmp_path):
    bag = write_records(tmp_path / 'bag', bags.synthetic_episode(steps=2), storage='sqlite3')
    with pytest.raises(DatasetError, match="uses 'sqlite3' storage; datasets are MCAP"):
        read_episode(bag)


def test_a_cut_short_mcap_file_is_rejected(tmp_path):
    bag = write_records(tmp_path / 'bag', bags.synthetic_episode(steps=STEPS))
    mcap = os.path.join(bag, 'bag.mcap')
    with open(mcap, 'r+b') as stream:
        stream.truncate(os.path.getsize(mcap) * 2 // 3)
    with pytest.raises(DatasetError, match='bag.mcap: .*cut short') as error:
        read_episode(bag)
    assert mcap in str(error.value)


def test_a_message_count_mismatch_is_rejected(tmp_path):
    bag = write_records(tmp_path / 'bag', bags.synthetic_episode(steps=2))
    path = os.path.join(bag, 'metadata.yaml')
    with open(path) as stream:
        metadata = yaml.safe_load(stream)
    metadata['rosbag2_bagfile_information']['message_count'] += 3
    with open(path, 'w') as stream:
        yaml.safe_dump(metadata, stream)
    with pytest.raises(DatasetError, match=r'metadata.yaml counts \d+ messages but the file'):
        read_episode(bag)


def test_transitions_pair_each_step_with_the_next_observation(tmp_path):
    expected = bags.write_dataset(str(tmp_path), num_episodes=2, steps=STEPS)
    success, truncated = read_dataset([str(tmp_path)])
    transitions = list(iter_transitions(truncated))
    assert len(transitions) == STEPS
    for step, transition in enumerate(transitions):
        assert transition['observation']['pixels'].shape == (2, 3, 8, 8)
        assert transition['observation']['pixels'].dtype == np.uint8
        np.testing.assert_array_equal(transition['observation']['state'],
                                      expected[1].states[step])
        np.testing.assert_array_equal(transition['next_observation']['state'],
                                      expected[1].states[step + 1])
        np.testing.assert_array_equal(  # camera 1 (wrist), channels first
            transition['next_observation']['pixels'][1],
            expected[1].images['wrist'][step + 1].transpose(2, 0, 1))
        assert transition['episode_id'] == 1
        assert transition['intervention'] == (step in (1, 2))
    # The time limit ends the truncated episode: it bootstraps from the final observation.
    assert [t['truncated'] for t in transitions] == [False] * (STEPS - 1) + [True]
    assert not any(t['terminated'] for t in transitions)
    ended = list(iter_transitions(success))
    assert [t['terminated'] for t in ended] == [False] * (STEPS - 1) + [True]
    assert ended[-1]['reward'] == 1.0 and not any(t['truncated'] for t in ended)
    # OPEN on an open gripper is no toggle; CLOSE at STEPS // 2 is one.
    assert [t['gripper_toggled'] for t in ended] == [s == STEPS // 2 for s in range(STEPS)]
    closed = list(iter_transitions(success, gripper_closed_at_start=True))
    # Starting closed, OPEN at step 0 toggles too.
    assert [t['gripper_toggled'] for t in closed] == [s in (0, STEPS // 2)
                                                      for s in range(STEPS)]


def test_transitions_end_at_the_first_success(tmp_path):
    bags.write_dataset(str(tmp_path), num_episodes=1, steps=STEPS, successes=[True])
    (episode,) = read_dataset([str(tmp_path)])
    # As record mode keeps them: two rewarded steps after the success, the last one ends.
    episode.rewards[-3:] = 1.0
    episode.terminated[:] = False
    episode.terminated[-1] = True
    ended = list(iter_transitions(episode))
    assert len(ended) == STEPS - 2
    assert [t['terminated'] for t in ended] == [False] * (STEPS - 3) + [True]
    assert [t['reward'] for t in ended] == [0.0] * (STEPS - 3) + [1.0]
    assert len(list(iter_transitions(episode, end_at_success=False))) == STEPS


def test_transitions_fill_the_learners_buffers(tmp_path):
    from hilserl_learning import add_transition, ReplayBuffer
    bags.write_dataset(str(tmp_path), num_episodes=2, steps=STEPS)
    online = ReplayBuffer(64, 4, 4, image_shape=(2, 3, 8, 8))
    demos = ReplayBuffer(64, 4, 4, image_shape=(2, 3, 8, 8))
    for episode in read_dataset([str(tmp_path)]):
        for transition in iter_transitions(episode):
            add_transition(online, demos, **transition)
    assert len(online) == 2 * STEPS
    assert len(demos) == 2 * 2   # the intervention steps 1 and 2 of each episode
    assert online.sample(4).actions.shape == (4, 4)
