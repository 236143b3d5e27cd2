"""Custom hilserl_interfaces messages between two separate processes over DDS."""

import hashlib
import json
import os
import sys

import numpy as np

HELPER = os.path.join(os.path.dirname(__file__), 'helpers', 'transition_peer.py')


def expected_image_sha(step):
    pixels = np.full((16, 16, 3), step * 10, np.uint8)
    pixels[0, 0] = (1, 2, 3)
    return hashlib.sha256(pixels.tobytes()).hexdigest()


def test_transitions_arrive_whole_and_in_order(processes, tmp_path):
    out = tmp_path / 'received.json'
    listener = processes.start([sys.executable, HELPER, 'listen', '--count', '5',
                                '--out', str(out)], 'listener')
    talker = processes.start([sys.executable, HELPER, 'talk', '--count', '5'], 'talker')
    assert talker.wait(timeout=60) == 0, talker.output()
    assert listener.wait(timeout=60) == 0, listener.output()

    received = json.loads(out.read_text())
    assert [t['sequence'] for t in received] == [0, 1, 2, 3, 4]
    for step, transition in enumerate(received):
        assert transition['actor_id'] == 'actor_0'
        assert transition['episode'] == 3 and transition['step'] == step
        assert transition['state'] == [float(step), -0.5]
        assert transition['state_names'] == ['x', 'y']
        assert transition['camera_names'] == ['front']
        assert transition['pixel_00'] == [1, 2, 3]
        assert transition['pixel_11'] == [step * 10] * 3
        assert transition['image_sha256'] == expected_image_sha(step)
        assert transition['action'] == [round(0.1 * step, 5), 0.0, -1.0]
        assert transition['intervention'] == (step % 2 == 1)
        assert not transition['truncated']
    assert [t['terminated'] for t in received] == [False] * 4 + [True]
    assert [t['reward'] for t in received] == [0.0] * 4 + [1.0]
    # Only the episode's last step carries the next observation.
    assert [t['final_state'] for t in received] == [[]] * 4 + [[[5.0, -0.5]]]
