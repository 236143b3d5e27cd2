"""Crop/resize arithmetic on images whose every pixel is known."""

import re

import numpy as np
import pytest

from hilserl.vision.image_processing import (CropBox, ImageProcessingError, crop_and_resize,
                                             parse_size)


def quadrants(height=200, width=300):
    """Return an RGB image with four uniformly coloured quadrants."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:height // 2, :width // 2] = (255, 0, 0)
    image[:height // 2, width // 2:] = (0, 255, 0)
    image[height // 2:, :width // 2] = (0, 0, 255)
    image[height // 2:, width // 2:] = (255, 255, 255)
    return image


def test_crop_selects_the_requested_rectangle_before_resizing():
    crop = CropBox.from_sequence([100, 150, 100, 150])  # bottom-right quadrant
    out = crop_and_resize(quadrants(), crop, (128, 128))
    assert out.shape == (128, 128, 3)
    assert (out == 255).all()


def test_crop_offsets_are_top_then_left():
    out = crop_and_resize(quadrants(), CropBox(0, 150, 100, 150), (10, 10))
    assert (out == (0, 255, 0)).all()
    out = crop_and_resize(quadrants(), CropBox(100, 0, 100, 150), (10, 10))
    assert (out == (0, 0, 255)).all()


def test_shrinking_averages_areas():
    image = np.zeros((4, 4, 1), np.uint8)
    image[0, 0] = 200  # one bright pixel in the top-left 2x2 block
    out = crop_and_resize(image, None, (2, 2))
    assert out.shape == (2, 2, 1)
    assert out[0, 0, 0] == 50 and out[1, 1, 0] == 0


def test_exact_pixel_values_survive_an_identity_resize():
    image = np.arange(128 * 128 * 3, dtype=np.uint32).reshape(128, 128, 3).astype(np.uint8)
    out = crop_and_resize(image, None, (128, 128))
    np.testing.assert_array_equal(out, image)


def test_no_crop_keeps_the_whole_frame():
    out = crop_and_resize(quadrants(), None, (2, 2))
    np.testing.assert_array_equal(out[0, 0], (255, 0, 0))
    np.testing.assert_array_equal(out[1, 1], (255, 255, 255))


def test_enlarging_and_non_square_sizes():
    out = crop_and_resize(quadrants(20, 30), CropBox(0, 0, 10, 15), (64, 96))
    assert out.shape == (64, 96, 3)
    assert (out == (255, 0, 0)).all()


def test_mono_and_four_channel_images_keep_their_channels():
    assert crop_and_resize(np.zeros((50, 60, 1), np.uint8), None, (8, 8)).shape == (8, 8, 1)
    assert crop_and_resize(np.zeros((50, 60, 4), np.uint8), None, (8, 8)).shape == (8, 8, 4)


def test_crop_outside_the_image_is_an_error():
    with pytest.raises(ImageProcessingError, match='outside'):
        crop_and_resize(quadrants(), CropBox(150, 0, 100, 100), (8, 8))
    with pytest.raises(ImageProcessingError, match='outside'):
        crop_and_resize(quadrants(), CropBox(0, 250, 10, 100), (8, 8))


@pytest.mark.parametrize('values, problem', [
    ([0, 0, 10], 'got 3 values'),
    ([0, 0, 0, 10], '> 0'),
    ([0, 0, 10, -1], '> 0'),
    ([-1, 0, 10, 10], '>= 0'),
    ([0, 0, 1.5, 10], 'integers'),
])
def test_bad_crops_are_rejected_with_a_reason(values, problem):
    with pytest.raises(ImageProcessingError, match=re.escape(problem)):
        CropBox.from_sequence(values)


def test_empty_image_is_an_error():
    with pytest.raises(ImageProcessingError, match='non-empty'):
        crop_and_resize(np.zeros((0, 10, 3), np.uint8), None, (8, 8))


@pytest.mark.parametrize('values', [[128], [0, 128], [128, -5], [1.0, 2.0, 3.0]])
def test_bad_sizes_are_rejected(values):
    with pytest.raises(ImageProcessingError):
        parse_size(values)
