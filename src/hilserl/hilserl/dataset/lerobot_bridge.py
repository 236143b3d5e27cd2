"""
LeRobotDataset v3 export and import from the workspace, through LeRobot's own library.

LeRobot does not install beside the workspace (see scripts/peers_venv.sh: its releases
for Python 3.11 pin an older torch, newer ones need Python 3.12), so it lives in a venv
of its own, ``.venv-peers`` (``make lerobot-env``). The workspace side writes or reads the
plain ``hilserl dataset export`` file (:mod:`hilserl.dataset.export_file`, safetensors +
JSON) in a temporary folder and runs :mod:`hilserl.dataset.lerobot_convert` with that
venv's python, which converts with LeRobot's ``LeRobotDataset``. Nothing is pickled on
either side.

The LeRobot python is ``$HILSERL_LEROBOT_PYTHON`` when set, else ``.venv-peers/bin/python``
of this checkout.
"""

import os
import subprocess
import tempfile
from typing import List, Optional, Sequence

from hilserl.dataset.export_file import episodes_of, read_export, write_export

PYTHON_VARIABLE = 'HILSERL_LEROBOT_PYTHON'
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
CHECKOUT = os.path.dirname(os.path.dirname(PACKAGE_PARENT))   # src/hilserl -> the repository
CONVERTER = 'hilserl.dataset.lerobot_convert'
BUILT_STAMP = '.hilserl-peers'   # scripts/peers_venv.sh's record of a finished build


class LeRobotBridgeError(Exception):
    """No LeRobot venv, or the conversion failed; the message is one line."""


def lerobot_python() -> str:
    """Return the LeRobot venv's python, or raise saying how to make one."""
    given = os.environ.get(PYTHON_VARIABLE)
    venv = os.path.join(CHECKOUT, '.venv-peers')
    python = given or os.path.join(venv, 'bin', 'python')
    # scripts/peers_venv.sh writes its stamp last: a venv without it is a build cut short.
    complete = given or os.path.exists(os.path.join(venv, BUILT_STAMP))
    if not os.access(python, os.X_OK) or not complete:
        state = 'is missing' if not os.access(python, os.X_OK) else 'is not finished'
        raise LeRobotBridgeError(
            f'no LeRobot venv ({python} {state}): LeRobotDataset export/import runs '
            "LeRobot's own library in a venv apart; build it with `make lerobot-env` "
            f'(a few minutes, once) or set {PYTHON_VARIABLE} to a python with lerobot 0.4.4')
    return python


def run_converter(arguments: Sequence[str], timeout_s: Optional[float] = None) -> str:
    """Run the converter with the LeRobot python; return its stdout or raise its error line."""
    environment = dict(os.environ, PYTHONPATH=PACKAGE_PARENT, HF_HUB_OFFLINE='1',
                       HF_DATASETS_OFFLINE='1', PYTHONNOUSERSITE='1')
    try:
        done = subprocess.run([lerobot_python(), '-m', CONVERTER, *arguments],
                              env=environment, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise LeRobotBridgeError(f'the LeRobot converter took over {timeout_s:.0f} s') from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        ours = [line for line in lines if line.startswith('lerobot_convert: ')]
        last = ours[-1][len('lerobot_convert: '):] if ours else (lines[-1] if lines else '')
        raise LeRobotBridgeError(last or f'the LeRobot converter exited with {done.returncode}')
    return done.stdout


def export_lerobot(episodes, out_dir: str, fps: int, task: str,
                   robot_type: Optional[str] = None) -> int:
    """Write the episodes as a new LeRobotDataset at ``out_dir``; return its frame count."""
    if os.path.exists(out_dir):
        raise LeRobotBridgeError(f'{out_dir} exists already; a LeRobotDataset is written to a '
                                 'new directory')
    parent = os.path.dirname(os.path.abspath(out_dir))
    if not os.path.isdir(parent):
        raise LeRobotBridgeError(f'cannot write {out_dir}: {parent} is not a directory')
    lerobot_python()  # say that the venv is missing before reading any episode
    with tempfile.TemporaryDirectory(prefix='hilserl-lerobot-') as folder:
        export = os.path.join(folder, 'export.safetensors')
        write_export(export, episodes)
        arguments = ['to-lerobot', export, os.path.abspath(out_dir), '--fps', str(int(fps)),
                     '--task', task]
        output = run_converter(arguments + (['--robot-type', robot_type] if robot_type else []))
    return int(output.split('frames:')[-1])


def import_lerobot(root: str) -> List:
    """Read a local LeRobotDataset with LeRobot's class; return its episodes (``Episode``-like)."""
    with tempfile.TemporaryDirectory(prefix='hilserl-lerobot-') as folder:
        export = os.path.join(folder, 'import.safetensors')
        run_converter(['from-lerobot', os.path.abspath(root), export])
        arrays, sidecar = read_export(export)
        episodes = episodes_of(arrays, sidecar)
    fps = sidecar.get('lerobot', {}).get('fps')
    for episode in episodes:
        episode.fps = fps
    return episodes
