"""
docs/parameters.md is what the nodes declare, and `hilserl docs parameters --check` says so.

Each check runs the real command, which starts the real node classes in its own
process (discovery off) and reads back their parameters. The failing cases check a
hand-edited copy of the page, and the committed page against a copy of the hilserl
package whose node changed a description.
"""

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / 'docs' / 'parameters.md'
PACKAGE = ROOT / 'src' / 'hilserl' / 'hilserl'
OLD_DESCRIPTION = "'Seconds between summaries.'"
NEW_DESCRIPTION = "'Seconds between two summary lines.'"


def _docs(*arguments, env=None, timeout=240):
    command = [sys.executable, '-m', 'hilserl', 'docs', 'parameters', *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)


def test_the_committed_page_is_what_the_nodes_declare():
    result = _docs('--check')
    assert result.returncode == 0, (
        f'{result.stderr[-3000:]}\ndocs/parameters.md is stale: run '
        '`hilserl docs parameters` and commit it')
    assert 'is up to date' in result.stdout


def test_writing_the_page_again_gives_the_committed_page(tmp_path):
    page = tmp_path / 'parameters.md'
    result = _docs('--output', str(page))
    assert result.returncode == 0, result.stderr[-3000:]
    assert page.read_text(encoding='utf-8') == PAGE.read_text(encoding='utf-8')
    # Every node of both packages has its section, with parameters in it.
    text = page.read_text(encoding='utf-8')
    for executable in ('actor', 'learner', 'sim_arm', 'keyboard_teleop', 'so100_follower'):
        assert f'\n## {executable}\n' in text
    assert '| `agent.discount` | double |' in text


def test_a_page_edited_by_hand_fails_the_check(tmp_path):
    edited = tmp_path / 'parameters.md'
    text = PAGE.read_text(encoding='utf-8')
    assert '| Seconds between summaries. |' in text
    edited.write_text(text.replace('| Seconds between summaries. |',
                                   '| Seconds between reports. |'), encoding='utf-8')
    result = _docs('--check', '--output', str(edited), '--node', 'image_monitor')
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("image_monitor: parameter report_period_s: description is 'Seconds between "
            "reports.' in the page, 'Seconds between summaries.' declared") in result.stderr


def test_a_description_changed_in_the_code_fails_the_check(tmp_path):
    copy = tmp_path / 'hilserl'
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns('__pycache__'))
    node = copy / 'nodes' / 'image_monitor.py'
    source = node.read_text(encoding='utf-8')
    assert OLD_DESCRIPTION in source
    node.write_text(source.replace(OLD_DESCRIPTION, NEW_DESCRIPTION), encoding='utf-8')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), os.environ.get('PYTHONPATH', '')]))
    result = _docs('--check', '--output', str(PAGE), '--node', 'image_monitor', env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("image_monitor: parameter report_period_s: description is 'Seconds between "
            "summaries.' in the page, 'Seconds between two summary lines.' declared"
            ) in result.stderr
    # The same check on the unchanged code passes: it was the edit that made it fail.
    assert _docs('--check', '--node', 'image_monitor').returncode == 0


def test_bad_use_is_one_line():
    result = _docs('--node', 'image_monitor')
    assert result.returncode == 2
    assert result.stderr.strip() == ('hilserl docs: error: --node needs --check (the page '
                                     'holds every node)')
    result = _docs('--check', '--node', 'no_such_node', timeout=60)
    assert result.returncode == 2
    assert 'no node executable no_such_node' in result.stderr
    assert 'Traceback' not in result.stderr
