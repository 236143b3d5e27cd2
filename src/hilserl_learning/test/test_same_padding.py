"""JAX-style 'SAME' padding of the HIL-SERL ResNet-10 (resnets.py), checked by hand."""

import math

from hilserl_learning.resnets import conv_same, max_pool_same, same_padding
import numpy as np
import torch


def test_same_padding_matches_hand_computed_values():
    """JAX 'SAME': ceil(n/s) outputs, the odd extra pixel of padding after (bottom/right)."""
    assert same_padding(4, 3, 2) == (0, 1)
    assert same_padding(64, 3, 2) == (0, 1)     # HIL-SERL's max-pool on a 128x128 image
    assert same_padding(5, 3, 2) == (1, 1)
    assert same_padding(32, 3, 1) == (1, 1)
    assert same_padding(32, 1, 2) == (0, 0)
    assert same_padding(7, 7, 2) == (3, 3)
    assert same_padding(2, 5, 1) == (2, 2)


def test_max_pool_same_pads_bottom_right_with_minus_infinity():
    """3x3/2 pool of a 4x4 map: windows rows/cols {0,1,2} and {2,3,pad}; pad never wins."""
    x = -torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)   # x[r, c] = -(4r + c)
    assert max_pool_same(x, 3, 2).view(2, 2).tolist() == [[0.0, -2.0], [-8.0, -10.0]]
    assert max_pool_same(-x, 3, 2).view(2, 2).tolist() == [[10.0, 11.0], [14.0, 15.0]]


def test_conv_same_matches_hand_computed_sums_and_a_loop_reference():
    """A ones-kernel on ones sums each window: 9, 6, 6, 4 (torch's padding=1 gives 4, 6, 6, 9)."""
    ones = torch.ones(1, 1, 4, 4)
    window_sums = conv_same(ones, torch.ones(1, 1, 3, 3), 2).view(2, 2).tolist()
    assert window_sums == [[9.0, 6.0], [6.0, 4.0]]
    rng = np.random.default_rng(0)
    for size, kernel, stride in (((5, 6), 3, 2), ((6, 5), 3, 1), ((6, 7), 1, 2),
                                 ((7, 7), 7, 2)):
        x = rng.normal(size=(2, *size)).astype(np.float32)
        w = rng.normal(size=(3, 2, kernel, kernel)).astype(np.float32)
        out_h, out_w = (math.ceil(n / stride) for n in size)
        top = max((out_h - 1) * stride + kernel - size[0], 0) // 2
        left = max((out_w - 1) * stride + kernel - size[1], 0) // 2
        expected = np.zeros((3, out_h, out_w), dtype=np.float64)
        for i in range(out_h):
            for j in range(out_w):
                for di in range(kernel):
                    for dj in range(kernel):
                        r, c = i * stride + di - top, j * stride + dj - left
                        if 0 <= r < size[0] and 0 <= c < size[1]:
                            expected[:, i, j] += w[:, :, di, dj] @ x[:, r, c]
        got = conv_same(torch.from_numpy(x)[None], torch.from_numpy(w), stride)[0]
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-4)
