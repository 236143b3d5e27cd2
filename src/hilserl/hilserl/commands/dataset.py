"""``hilserl dataset``: inspect recorded datasets, export them, import LeRobotDatasets."""

import argparse
import json
import os

import numpy as np

from hilserl.commands import CommandError

EXPORT_DESCRIPTION = """\
Write every record of the episodes, aligned, to one safetensors file: one row per step
and one more per episode for its final observation (final_observation true, action
zeros, reward 0, flags false), so a truncated episode can bootstrap. Arrays: states
[N,S], actions [N,A], rewards, terminated, truncated, interventions, final_observation
[N], episode_index and step_index [N], and images_<camera> [N,H,W,3] uint8 RGB. A JSON
sidecar (the output name with .json) lists the state and camera names and, per
episode, its path, first row, steps, success and events.

--format lerobot writes a LeRobotDataset v3 directory instead, with LeRobot's own
library (LeRobot 0.4.4 in the venv `make lerobot-env` builds; HILSERL_LEROBOT_PYTHON
names another python): one frame per row, observation.state, observation.images.<camera>
(video), action, next.reward, next.done, next.truncated,
complementary_info.is_intervention and complementary_info.final_observation (the frame
after an episode's last step), the --task text and --fps."""
IMPORT_DESCRIPTION = """\
Read a local LeRobotDataset v3 with LeRobot's own class (offline, videos decoded with
pyav; in the venv `make lerobot-env` builds) and write its episodes as recorded
episode bags under --out, which demos:= and `hilserl dataset` read. The state, action,
next.reward and next.done features are needed; next.truncated,
complementary_info.is_intervention and complementary_info.final_observation are used
when present (a dataset without final_observation frames repeats each episode's last
observation as its final one). --robot checks the state and cameras against a robot
file: a mismatch is an error naming the feature."""


def register(subparsers) -> None:
    """Add the ``dataset`` command and its ``info`` and ``export`` actions."""
    parser = subparsers.add_parser(
        'dataset', help='inspect, export and import datasets',
        description='Inspect recorded datasets (one MCAP bag per episode), export them '
                    '(safetensors or LeRobotDataset v3) and import LeRobotDatasets. '
                    'PATH is a dataset directory (episode_NNNN bags) or one episode bag.')
    actions = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    info = actions.add_parser(
        'info', help='print each episode and the totals',
        description='Check the episodes and print one line per episode (steps, success, '
                    'intervention steps, cameras, events), then the totals.')
    export = actions.add_parser(
        'export', help='write the aligned samples to one safetensors file or a LeRobotDataset',
        description=EXPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    imported = actions.add_parser(
        'import', help='write a LeRobotDataset v3 as recorded episodes for demos:=',
        description=IMPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    for action in (info, export):
        action.add_argument('paths', nargs='+', metavar='PATH',
                            help='dataset directories or episode bag directories')
        action.add_argument('--image-kind', choices=('processed', 'raw'),
                            help='which frames to use (default: processed when recorded)')
    info.add_argument('--json', action='store_true', help='print the totals as JSON')
    info.set_defaults(run=run_info)
    export.add_argument('--out', required=True, metavar='FILE_OR_DIR',
                        help='the .safetensors file (or, --format lerobot, the new directory)')
    export.add_argument('--format', choices=('safetensors', 'lerobot'), default='safetensors',
                        help='safetensors (default): one file; lerobot: a LeRobotDataset v3')
    export.add_argument('--task', help='lerobot: the task text of every frame (default: the '
                                       "first PATH's directory name)")
    export.add_argument('--fps', type=int, help='lerobot: frames per second (default: from '
                                                "the first episode's step log times)")
    export.add_argument('--robot-type', help='lerobot: robot_type in meta/info.json')
    export.set_defaults(run=run_export)
    imported.add_argument('path', metavar='LEROBOT_DIR', help='a local LeRobotDataset v3')
    imported.add_argument('--out', required=True, metavar='DATASET_DIR',
                          help='where to write the episode bags (a new or empty directory)')
    imported.add_argument('--robot', metavar='NAME_OR_FILE',
                          help="check the features against this robot file's state and "
                               'cameras (and keep only its cameras)')
    imported.add_argument('--fps', type=float, help="the steps' log rate (default: the "
                                                    "dataset's fps)")
    imported.set_defaults(run=run_import)


def _read(paths, image_kind, load_images):
    """Yield each episode with a progress bar; bad input becomes a CommandError."""
    from tqdm import tqdm
    from hilserl.dataset.reader import DatasetError, episode_paths, read_episode
    try:
        bags = episode_paths(paths)
        for bag in tqdm(bags, desc='reading', unit='episode', disable=None, leave=False):
            yield read_episode(bag, image_kind, load_images)
    except DatasetError as error:
        raise CommandError(str(error)) from None


def _describe_cameras(episode) -> str:
    if not episode.camera_names:
        return 'no cameras'
    shapes = ', '.join(f'{camera} {shape[1]}x{shape[0]}'
                       for camera, shape in episode.image_shapes.items())
    return f'{shapes} ({episode.image_kind})'


def run_info(options) -> int:
    """Print the episodes and the totals."""
    from hilserl.dataset.reader import summarize
    episodes = []
    for episode in _read(options.paths, options.image_kind, load_images=False):
        episodes.append(episode)
        events = ' '.join(f'{name}@{step}' for step, name in episode.events) or '-'
        if not options.json:
            print(f'{os.path.basename(os.path.normpath(episode.path))}: index {episode.index}, '
                  f"{episode.length} steps, success {'yes' if episode.success else 'no'}, "
                  f'{int(episode.interventions.sum())} intervention steps, '
                  f'{_describe_cameras(episode)}, events {events}')
    summary = summarize(episodes)
    if options.json:
        print(json.dumps(summary, indent=2))
        return 0
    lengths = summary['lengths']
    print(f"episodes: {summary['episodes']}, steps: {summary['steps']} (length min "
          f"{lengths['min']}, mean {lengths['mean']:.1f}, max {lengths['max']})")
    print(f"successes: {summary['successes']}, intervention steps: "
          f"{summary['interventions']} (in {summary['episodes_with_interventions']} episodes)")
    shapes = ', '.join(f"{camera} {'x'.join(map(str, shape))}"
                       for camera, shape in summary['image_shapes'].items())
    print(f"cameras: {shapes or 'none'}; state: {', '.join(episodes[0].state_names)}")
    return 0


def _fps_of(bag_dir: str) -> int:
    """Return an episode's control rate from the median interval of its step log times."""
    from hilserl.dataset import bag_format
    from hilserl.dataset.bag_reading import bag_messages, DatasetError
    try:
        with bag_messages(bag_dir) as (_, records):
            times = sorted(time_ns for topic, time_ns, _ in records
                           if topic == bag_format.EPISODE_STEP_TOPIC)
    except DatasetError as error:
        raise CommandError(str(error)) from None
    intervals = np.diff(np.asarray(times, dtype=np.int64))
    fps = round(1e9 / float(np.median(intervals))) if len(intervals) else 0
    if fps < 1:
        raise CommandError(f'{bag_dir}: cannot tell the control rate from its log times; '
                           'pass --fps')
    return int(fps)


def run_export(options) -> int:
    """Write the safetensors file and its JSON sidecar, or a LeRobotDataset."""
    from hilserl.dataset.export_file import ExportFileError, write_export
    if options.format == 'lerobot':
        return _export_lerobot(options)
    if options.task or options.fps or options.robot_type:
        raise CommandError('--task, --fps and --robot-type are options of --format lerobot')
    if not options.out.endswith('.safetensors'):
        raise CommandError(f'--out {options.out}: the file name must end with .safetensors')
    directory = os.path.dirname(os.path.abspath(options.out))
    if not os.path.isdir(directory):
        raise CommandError(f'cannot write {options.out}: {directory} is not a directory')
    try:
        rows, count = write_export(
            options.out, _read(options.paths, options.image_kind, load_images=True))
    except ExportFileError as error:
        raise CommandError(str(error)) from None
    sidecar = options.out[:-len('.safetensors')] + '.json'
    print(f'wrote {options.out} ({rows} rows from {count} episodes) and {sidecar}')
    return 0


def _export_lerobot(options) -> int:
    """Write a LeRobotDataset v3 with LeRobot's library (in its own venv)."""
    from hilserl.dataset.export_file import ExportFileError
    from hilserl.dataset.lerobot_bridge import export_lerobot, LeRobotBridgeError
    from hilserl.dataset.reader import DatasetError, episode_paths
    if options.fps is not None and options.fps < 1:
        raise CommandError(f'--fps {options.fps}: must be at least 1')
    try:
        first_bag = episode_paths(options.paths)[0]
    except DatasetError as error:
        raise CommandError(str(error)) from None
    fps = options.fps or _fps_of(first_bag)
    task = options.task or os.path.basename(os.path.normpath(options.paths[0]))
    try:
        frames = export_lerobot(_read(options.paths, options.image_kind, load_images=True),
                                options.out, fps, task, options.robot_type)
    except (LeRobotBridgeError, ExportFileError) as error:
        raise CommandError(str(error)) from None
    print(f'wrote {options.out}: LeRobotDataset v3.0, {frames} frames at {fps} fps, '
          f'task {task!r}')
    return 0


def _check_robot(episodes, robot_name: str) -> list:
    """Return the episodes with the robot's state entries and cameras, or say what differs."""
    from hilserl.actor.observation_state import ACTION_NAMES, state_names
    from hilserl.arm.robot_file_fields import RobotFileError
    from hilserl.arm.robot_registry import load_robot
    try:
        robot = load_robot(robot_name)
    except RobotFileError as error:
        raise CommandError(str(error)) from None
    first = episodes[0]
    missing = [name for name in state_names(robot.arm.joints) if name not in first.state_names]
    if missing:
        raise CommandError(f'{first.path}: observation.state lacks {", ".join(missing)} of '
                           f'robot {robot.name} (it names {", ".join(first.state_names)})')
    if first.actions.shape[1] != len(ACTION_NAMES):
        raise CommandError(f'{first.path}: action has {first.actions.shape[1]} values, robot '
                           f'{robot.name} acts with {len(ACTION_NAMES)} '
                           f'({", ".join(ACTION_NAMES)})')
    absent = [camera for camera in robot.cameras.names if camera not in first.camera_names]
    if absent:
        raise CommandError(f'{first.path}: no observation.images.{absent[0]} feature for '
                           f'camera {absent[0]!r} of robot {robot.name} (cameras: '
                           f'{", ".join(first.camera_names) or "none"})')
    for episode in episodes:
        episode.images = {camera: episode.images[camera] for camera in robot.cameras.names}
        episode.camera_names = list(robot.cameras.names)
    return episodes


def run_import(options) -> int:
    """Write a LeRobotDataset's episodes as recorded episode bags."""
    from hilserl.dataset import bag_format
    from hilserl.dataset.episode_bags import write_episode_bag
    from hilserl.dataset.lerobot_bridge import import_lerobot, LeRobotBridgeError
    if bag_format.episode_directories(options.out):
        raise CommandError(f'--out {options.out} holds episodes already; choose a new '
                           'directory')
    try:
        episodes = import_lerobot(options.path)
    except LeRobotBridgeError as error:
        raise CommandError(str(error)) from None
    if options.robot:
        episodes = _check_robot(episodes, options.robot)
    fps = options.fps or episodes[0].fps
    if not fps or fps <= 0:
        raise CommandError(f'{options.path}: no fps in its metadata; pass --fps')
    for episode in episodes:
        write_episode_bag(options.out, episode, fps)
    steps = sum(len(episode.actions) for episode in episodes)
    print(f'wrote {len(episodes)} episodes ({steps} steps) to {options.out}; train on them '
          f'with demos:={options.out}')
    return 0
