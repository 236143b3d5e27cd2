"""``hilserl crop``: choose the image processor's crop rectangles on recorded or live frames."""

import argparse

from hilserl.commands import CommandError

DESCRIPTION = """\
Take the first raw frame of each camera from a bag (an episode, a dataset, or any
`ros2 bag record` of /<camera>/image_raw topics), or with --live the newest frame on
each running camera's /<camera>/image_raw topic, choose a crop rectangle per camera
and write it as <camera>.crop [top, left, height, width] into the image processor's
parameter file, keeping the file's other settings and comments. Rectangles come from
--camera, or, without --camera and with a display, from dragging them in a window
per camera that shows the processed result beside the frame (Enter keeps, Esc skips).
Previews <camera>_crop.png show each crop resized to the file's
resize_size, as the processor will publish it."""


def register(subparsers) -> None:
    """Add the ``crop`` command."""
    parser = subparsers.add_parser(
        'crop', help="choose the image processor's crop rectangles from a bag or live cameras",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('bag', metavar='BAG_OR_DATASET', nargs='?',
                        help='a bag directory or a dataset (its first episode is used)')
    parser.add_argument('--live', action='store_true',
                        help='take the frames from the running cameras instead of a bag')
    parser.add_argument('--wait', type=float, default=10.0, metavar='S',
                        help='with --live: seconds to wait for every camera (default 10)')
    parser.add_argument('--params', required=True, metavar='FILE',
                        help='the image processor parameter file to update, '
                             'e.g. config/image_processor.yaml')
    parser.add_argument('--camera', action='append', default=[],
                        metavar='NAME=TOP,LEFT,HEIGHT,WIDTH',
                        help='the crop of one camera in raw-frame pixels (repeat per camera); '
                             'skips the interactive selection')
    parser.add_argument('--preview-dir', default='.', metavar='DIR',
                        help='where to write <camera>_crop.png (default: the current '
                             'directory)')
    parser.set_defaults(run=run)


def recorded_frames(bag_or_dataset: str):
    """Return the first raw frame per camera of a bag (a dataset's first episode)."""
    from hilserl.dataset.bag_reading import DatasetError, first_frames
    from hilserl.dataset.reader import episode_paths
    bag = episode_paths([bag_or_dataset])[0]
    try:
        return first_frames(bag, 'raw')[1]
    except DatasetError as error:
        raise CommandError(f'{error}; the processor crops raw frames, so record them '
                           '(e.g. ros2 bag record -s mcap /front/image_raw)') from None


def live_frames(cameras, wait_s: float):
    """Return the newest frame of each camera's raw topic."""
    from hilserl.ros.frame_grabber import FrameGrabError, grab_frames
    if not cameras:
        raise CommandError('--live needs the cameras: name them in --camera or in the '
                           "file's camera_names")
    if not wait_s > 0:
        raise CommandError(f'--wait must be positive, got {wait_s:g}')
    try:
        return grab_frames(cameras, wait_s)
    except FrameGrabError as error:
        raise CommandError(str(error)) from None


def run(options) -> int:
    """Choose, check and write the crops."""
    from hilserl.dataset.bag_reading import DatasetError
    from hilserl.vision import crop_roi
    if options.live == (options.bag is not None):
        raise CommandError('give either a bag (or dataset) or --live')
    try:
        parameters = crop_roi.ProcessorParameters(options.params)
        given = dict(crop_roi.parse_camera_rectangle(text) for text in options.camera)
        if not given and not crop_roi.display_available():
            raise CommandError('no display for the interactive selection: pass each crop '
                               'with --camera NAME=top,left,height,width')
        if options.live:
            source = 'the live cameras'
            frames = live_frames(list(given) or parameters.camera_names, options.wait)
        else:
            source = options.bag
            frames = recorded_frames(options.bag)
        for camera in given:
            if camera not in frames:
                raise CommandError(f"camera '{camera}' has no raw frames in {source} "
                                   f"(cameras: {', '.join(frames)})")
        cameras = list(given) or [c for c in frames
                                  if not parameters.camera_names or c in parameters.camera_names]
        for camera in cameras:
            parameters.check_camera(camera)
        crops = given or crop_roi.select_interactively(frames, cameras, parameters)
        for camera, box in crops.items():
            crop_roi.check_inside(camera, box, frames[camera])
        for camera, box in crops.items():
            parameters.set_crop(camera, box)
            height, width = frames[camera].shape[:2]
            print(f'{camera}: {box.as_list()}  (of the {height}x{width} raw frame)')
        if not crops:
            print('no crop chosen; nothing written')
            return 0
        previews = crop_roi.save_previews(frames, crops, parameters.resize_size,
                                          options.preview_dir)
        parameters.save()
    except (crop_roi.CropToolError, DatasetError) as error:
        raise CommandError(str(error)) from None
    print(f'wrote {options.params}')
    for path in previews:
        print(f'preview {path}')
    return 0
