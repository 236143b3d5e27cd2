"""
Convert between ``hilserl dataset export`` files and LeRobotDataset v3, with LeRobot's classes.

Run with the LeRobot venv's python (``make lerobot-env``), not the workspace's:
``python -m hilserl.dataset.lerobot_convert to-lerobot EXPORT.safetensors OUT_DIR --fps N``
or ``... from-lerobot LEROBOT_DIR EXPORT.safetensors``. :mod:`hilserl.dataset.lerobot_bridge`
starts it; it imports only numpy, safetensors, LeRobot, :mod:`hilserl.dataset.export_file`
and :mod:`hilserl.dataset.torchvision_ops`. Nothing is downloaded and nothing unpickled.

The export file (format ``hilserl-dataset-export/1``, see ``hilserl dataset export --help``)
has one row per step and one more per episode for its final observation. Each row becomes
one LeRobot frame, in LeRobot's names:

- ``observation.state`` float32 [S] (``names``: the state names), ``action`` float32 [A];
- ``observation.images.<camera>``: video [H, W, 3] (h264 by default);
- ``next.reward`` float32 [1], ``next.done`` bool [1] (terminated or truncated),
  ``next.truncated`` bool [1], ``complementary_info.is_intervention`` bool [1] (the
  human's action was executed);
- ``complementary_info.final_observation`` bool [1]: LeRobot keeps no next observation,
  so each episode ends with a frame holding the observation after its last step (action
  zeros, reward 0, done true) for a truncated episode to bootstrap from.

Reading goes the other way with ``LeRobotDataset(repo_id, root=...)`` (offline, videos
decoded with pyav). A dataset without ``final_observation`` (one LeRobot recorded) gets
its last frame repeated as the final observation, as LeRobot's replay buffer does at done;
without ``next.truncated`` every done is a termination; without an intervention feature no
step is one. Errors are one line on stderr and exit status 2.
"""

import argparse
import os
import shutil
import sys

from types import SimpleNamespace

import numpy as np

from hilserl.dataset.export_file import ExportFileError, read_export, write_export

STATE = 'observation.state'
IMAGE_PREFIX = 'observation.images.'
ACTION = 'action'
REWARD = 'next.reward'
DONE = 'next.done'
TRUNCATED = 'next.truncated'
INTERVENTION = 'complementary_info.is_intervention'
FINAL = 'complementary_info.final_observation'
FLAGS = (DONE, TRUNCATED, INTERVENTION, FINAL)


class ConvertError(Exception):
    """Bad input; the message is one line."""


def _lerobot_dataset():
    """Return LeRobot's LeRobotDataset class, imported offline."""
    for name in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE'):
        os.environ[name] = '1'
    from hilserl.dataset.torchvision_ops import allow_torchvision_without_ops
    allow_torchvision_without_ops()
    import torchvision.io
    # What LeRobot 0.4.4's dataset class needs (scripts/peers_venv.sh says why).
    if np.lib.NumpyVersion(np.__version__) >= '2.4.0' or \
            not hasattr(torchvision.io, 'VideoReader'):
        raise ConvertError(f'the LeRobot venv {sys.prefix} is out of date (numpy '
                           f'{np.__version__}, torchvision {torchvision.__version__}; LeRobot '
                           '0.4.4 needs numpy < 2.4 and torchvision < 0.26): run make lerobot-env')
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    return LeRobotDataset


def features_of(arrays: dict, sidecar: dict) -> dict:
    """Return the LeRobot features of an export file's rows."""
    scalar = {'shape': (1,), 'names': None}
    features = {
        STATE: {'dtype': 'float32', 'shape': (arrays['states'].shape[1],),
                'names': list(sidecar['state_names'])},
        ACTION: {'dtype': 'float32', 'shape': (arrays['actions'].shape[1],), 'names': None},
        REWARD: {'dtype': 'float32', **scalar},
        **{flag: {'dtype': 'bool', **scalar} for flag in FLAGS},
    }
    for camera in sidecar['camera_names']:
        features[IMAGE_PREFIX + camera] = {
            'dtype': 'video', 'shape': tuple(arrays[f'images_{camera}'].shape[1:]),
            'names': ['height', 'width', 'channels']}
    return features


def to_lerobot(export: str, out_dir: str, fps: int, task: str, robot_type, vcodec: str) -> int:
    """Write an export file as a new LeRobotDataset at ``out_dir``; return the frame count."""
    arrays, sidecar = read_export(export)
    if not sidecar['episodes']:
        raise ConvertError(f'{export} holds no episodes')
    if os.path.exists(out_dir):
        raise ConvertError(f'{out_dir} exists already; a LeRobotDataset goes to a new directory')
    try:
        frames = _write(arrays, sidecar, out_dir, fps, task, robot_type, vcodec)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)  # no half-written dataset stays
        raise
    images = os.path.join(out_dir, 'images')  # LeRobot's frame folders, empty once encoded
    if not any(files for _, _, files in os.walk(images)):
        shutil.rmtree(images, ignore_errors=True)
    return frames


def _write(arrays, sidecar, out_dir, fps, task, robot_type, vcodec) -> int:
    dataset = _lerobot_dataset().create(
        repo_id=f'local/{os.path.basename(os.path.normpath(out_dir))}', fps=fps,
        features=features_of(arrays, sidecar), root=out_dir, robot_type=robot_type,
        use_videos=True, vcodec=vcodec)
    done = arrays['terminated'] | arrays['truncated'] | arrays['final_observation']
    for episode in sidecar['episodes']:
        for row in range(episode['first_row'], episode['first_row'] + episode['steps'] + 1):
            frame = {STATE: arrays['states'][row], ACTION: arrays['actions'][row],
                     REWARD: arrays['rewards'][row:row + 1],
                     DONE: done[row:row + 1], TRUNCATED: arrays['truncated'][row:row + 1],
                     INTERVENTION: arrays['interventions'][row:row + 1],
                     FINAL: arrays['final_observation'][row:row + 1], 'task': task}
            for camera in sidecar['camera_names']:
                frame[IMAGE_PREFIX + camera] = arrays[f'images_{camera}'][row]
            dataset.add_frame(frame)
        dataset.save_episode()
    dataset.finalize()
    return int(dataset.meta.total_frames)


def _flat(value) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, 'numpy') else value).reshape(-1)


def _pixels(value) -> np.ndarray:
    """Return LeRobot's float [3, H, W] frame in [0, 1] as uint8 [H, W, 3]."""
    frame = np.asarray(value.numpy() if hasattr(value, 'numpy') else value, dtype=np.float32)
    return np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def load_lerobot(root: str):
    """Open a local LeRobotDataset v3 with LeRobot's class (offline, pyav decoding)."""
    if not os.path.isfile(os.path.join(root, 'meta', 'info.json')):
        raise ConvertError(f'{root} has no meta/info.json: not a local LeRobotDataset')
    dataset_class = _lerobot_dataset()
    try:
        return dataset_class(f'local/{os.path.basename(os.path.normpath(root))}', root=root,
                             video_backend='pyav')
    except Exception as error:  # LeRobot raises assorted errors for what it cannot read
        raise ConvertError(f'LeRobot cannot open {root}: {type(error).__name__}: {error}')


def _frames_by_episode(dataset, features: dict, cameras):
    """Return ``{episode index: [frame dict, ...]}`` in frame order."""
    episodes: dict = {}
    for index in range(len(dataset)):
        item = dataset[index]
        frame = {key: _flat(item[key]) for key in (STATE, ACTION, REWARD)}
        frame.update({flag: bool(_flat(item[flag])[0]) if flag in features else False
                      for flag in FLAGS})
        frame['images'] = {camera: _pixels(item[IMAGE_PREFIX + camera]) for camera in cameras}
        frame['order'] = int(_flat(item['frame_index'])[0])
        episodes.setdefault(int(_flat(item['episode_index'])[0]), []).append(frame)
    return {index: sorted(frames, key=lambda f: f['order'])
            for index, frames in sorted(episodes.items())}


def _episode(root: str, index: int, frames, state_names, cameras, has_final: bool):
    """Build one episode (the attributes of ``Episode``) from its frames."""
    where = f'{root} episode {index}'
    if has_final:
        marked = [number for number, frame in enumerate(frames) if frame[FINAL]]
        if marked != [len(frames) - 1]:
            raise ConvertError(f'{where}: {FINAL} marks frames {marked}, not only the last '
                               f'({len(frames) - 1})')
        steps, final = frames[:-1], frames[-1]
    else:
        steps, final = frames, frames[-1]
    if not steps:
        raise ConvertError(f'{where} has no steps')
    observed = steps + [final]
    truncated = np.array([frame[TRUNCATED] for frame in steps], dtype=bool)
    return SimpleNamespace(
        path=where, index=index, camera_names=list(cameras), image_kind='processed',
        state_names=list(state_names), events=[],
        states=np.stack([frame[STATE] for frame in observed]).astype(np.float32),
        images={camera: np.stack([frame['images'][camera] for frame in observed])
                for camera in cameras},
        actions=np.stack([frame[ACTION] for frame in steps]).astype(np.float32),
        rewards=np.array([frame[REWARD][0] for frame in steps], dtype=np.float32),
        terminated=np.array([frame[DONE] for frame in steps], dtype=bool) & ~truncated,
        truncated=truncated,
        interventions=np.array([frame[INTERVENTION] for frame in steps], dtype=bool))


def _state_names(feature: dict):
    """Return a vector feature's entry names (a list, or a dict of one list), or None."""
    names = feature.get('names')
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    return [str(name) for name in names] if isinstance(names, list) else None


def from_lerobot(root: str, export: str) -> int:
    """Write a local LeRobotDataset as an export file; return its number of episodes."""
    dataset = load_lerobot(root)
    features = dataset.meta.features
    missing = [key for key in (STATE, ACTION, REWARD, DONE) if key not in features]
    if missing:
        raise ConvertError(f'{root} has no {missing[0]} feature (it has '
                           f"{', '.join(sorted(features))})")
    size = int(np.prod(features[STATE]['shape']))
    state_names = _state_names(features[STATE]) or [f'state_{i}' for i in range(size)]
    cameras = sorted(key[len(IMAGE_PREFIX):] for key, feature in features.items()
                     if key.startswith(IMAGE_PREFIX) and feature['dtype'] in ('video', 'image'))
    episodes = [_episode(root, index, frames, state_names, cameras, FINAL in features)
                for index, frames in _frames_by_episode(dataset, features, cameras).items()]
    if not episodes:
        raise ConvertError(f'{root} has no frames')
    write_export(export, episodes, {'lerobot': {'root': os.path.abspath(root),
                                                'fps': dataset.meta.fps,
                                                'robot_type': dataset.meta.robot_type}})
    return len(episodes)


def main(argv=None) -> int:
    """Run one conversion; bad input is one line on stderr and exit status 2."""
    parser = argparse.ArgumentParser(
        prog='python -m hilserl.dataset.lerobot_convert',
        description='Convert between hilserl export files and LeRobotDataset v3 with '
                    "LeRobot's own classes (run with the LeRobot venv's python).")
    actions = parser.add_subparsers(dest='action', required=True)
    to = actions.add_parser('to-lerobot', help='export file -> new LeRobotDataset directory')
    to.add_argument('export', help='the .safetensors export file')
    to.add_argument('out', help='the LeRobotDataset directory to create')
    to.add_argument('--fps', type=int, required=True, help='frames per second')
    to.add_argument('--task', required=True, help='the task text of every frame')
    to.add_argument('--robot-type', help='robot_type in meta/info.json')
    to.add_argument('--vcodec', default='h264', help="LeRobot's video codec (default h264)")
    back = actions.add_parser('from-lerobot', help='LeRobotDataset directory -> export file')
    back.add_argument('root', help='a local LeRobotDataset v3 directory')
    back.add_argument('export', help='the .safetensors export file to write')
    options = parser.parse_args(argv)
    try:
        if options.action == 'to-lerobot':
            frames = to_lerobot(options.export, options.out, options.fps, options.task,
                                options.robot_type, options.vcodec)
            print(f'frames: {frames}')
        else:
            print(f'episodes: {from_lerobot(options.root, options.export)}')
    except (ConvertError, ExportFileError) as error:
        print(f'lerobot_convert: {error}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
