"""
Every benchmark answers --help and runs without arguments, as `make bench` runs it.

`make bench` and `make bench-learning` call each script bare; a required argument would
stop the whole run at that script (bench/final_save.py once did).
"""

import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / 'bench'
SCRIPTS = sorted(BENCH.glob('*.py'))


def test_every_benchmark_is_found():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize('script', SCRIPTS, ids=lambda path: path.name)
def test_a_benchmark_needs_no_argument(script):
    result = subprocess.run([sys.executable, str(script), '--help'], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    usage = ' '.join(result.stdout.split('\n\n')[0].split())
    assert usage.startswith('usage: '), result.stdout[:500]
    words = usage.split()[2:]   # after 'usage: <prog>'
    depth, required = 0, []
    for word in words:
        if depth == 0 and not word.startswith('['):
            required.append(word)
        depth += word.count('[') - word.count(']')
    assert required == [], f'{script.name} requires {required}'
