"""
Judge task success from camera frames with a trained reward classifier.

Subscribes ``<camera>/<image_topic>`` (sensor data QoS) for every camera the
classifier reads, groups the frames into synchronised sets
(:class:`hilserl.vision.frame_sync.FrameSynchronizer`) and publishes per set
``reward_classifier/probability`` (std_msgs/Float32) and
``reward_classifier/success`` (std_msgs/Bool: the probability at or above the threshold
for ``success_frames`` consecutive sets, :mod:`hilserl.vision.success_decision`). For people it
publishes ``reward_classifier/marker`` (visualization_msgs/Marker, the probability as
text above the TCP of ``tcp_pose``, for rviz) and, with ``report_period_s``, logs a
summary line per period (:mod:`hilserl.vision.classifier_display`). With
``terminate_on_success`` it also raises SUCCESS on ``episode_events`` once per
episode; an EPISODE_START there re-arms it, and any event that ends the episode
(SUCCESS from anyone, FAILURE, RERECORD, EPISODE_END) disarms it.
"""

import math

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EpisodeEvent
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, qos_profile_sensor_data, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float32
from visualization_msgs.msg import Marker

from hilserl.ros.image_conversion import image_to_array
from hilserl_common.log_throttle import LogThrottle
from hilserl_common.node_support import declare, run_node, valid_camera_name
from hilserl.vision import classifier_display
from hilserl.vision.frame_sync import FrameSet, FrameSynchronizer
from hilserl.vision.image_processing import ImageProcessingError
from hilserl.vision.success_decision import DEFAULT_SUCCESS_FRAMES, SuccessDecision

EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
EPISODE_OVER = (EpisodeEvent.SUCCESS, EpisodeEvent.FAILURE, EpisodeEvent.RERECORD,
                EpisodeEvent.EPISODE_END)


class RewardClassifierNode(Node):
    """Publish the classifier's success probability and decision per frame set."""

    def __init__(self, **kwargs):
        """Declare parameters, load the classifier and subscribe its cameras."""
        super().__init__('reward_classifier', **kwargs)
        model_path = declare(self, 'model_path', '',
                             'Directory of a saved reward classifier (classifier.json and '
                             'classifier.safetensors, as `hilserl classifier train` writes).')
        camera_names = declare(self, 'camera_names', ['front'],
                               'Cameras available on the graph; the classifier must read a '
                               'subset of them (it is refused otherwise).')
        image_topic = declare(self, 'image_topic', 'image_processed',
                              'Image topic under each camera namespace: frames come from '
                              '<camera>/<image_topic>.')
        threshold = declare(self, 'success_threshold', Parameter.Type.DOUBLE,
                            'Probability at or above which a frame set is a success; unset '
                            'uses the threshold saved with the classifier.')
        success_frames = declare(self, 'success_frames', DEFAULT_SUCCESS_FRAMES,
                                 'Consecutive frame sets at or above the threshold that make '
                                 'a success (1: each set on its own); counted afresh at '
                                 'each EPISODE_START.')
        self._terminate = declare(self, 'terminate_on_success', False,
                                  'Also publish a SUCCESS event on episode_events, once per '
                                  'episode, when a frame set is a success.')
        tolerance = declare(self, 'sync_tolerance_s', 0.02,
                            'Frames of different cameras whose stamps differ by at most this '
                            '(seconds) form one set.')
        report_period_s = declare(self, 'report_period_s', 0.0,
                                  'Log one line per this many seconds with the newest '
                                  'probability and the range since the last line (0: none).')
        if not model_path:
            raise ValueError('model_path is not set (a saved reward classifier directory)')
        for name in camera_names:
            if not valid_camera_name(name):
                raise ValueError(f"camera name '{name}' must be snake_case "
                                 '(letters, digits, underscores)')
        if not image_topic or image_topic.startswith('/'):
            raise ValueError(f"image_topic must be a relative topic name, not '{image_topic}'")
        if not tolerance >= 0.0:
            raise ValueError(f'sync_tolerance_s must be >= 0, got {tolerance}')
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f'success_threshold must be in [0, 1], got {threshold}')
        if success_frames < 1:
            raise ValueError(f'success_frames must be 1 or more, got {success_frames}')

        # Imported here: torch takes a while to load and is not needed to refuse a bad config.
        import torch
        from hilserl_learning.reward_classifier import ClassifierError, load_classifier
        torch.set_num_threads(1)  # one core per node; the policy needs the others
        self._classifier_error = ClassifierError
        try:
            self._model = load_classifier(model_path, cameras=camera_names)
        except ClassifierError as error:
            raise ValueError(str(error)) from error
        self.threshold = self._model.threshold if threshold is None else float(threshold)
        self._decision = SuccessDecision(self.threshold, success_frames)
        self._report_line = classifier_display.ProbabilityReport(report_period_s, self.threshold)

        cameras = self._model.camera_names
        self._sync = FrameSynchronizer(cameras, tolerance)
        self._throttle = LogThrottle(5.0)
        self._probability_publisher = self.create_publisher(
            Float32, 'reward_classifier/probability', 10)
        self._success_publisher = self.create_publisher(Bool, 'reward_classifier/success', 10)
        self._marker_publisher = self.create_publisher(Marker, 'reward_classifier/marker', 10)
        self._tcp = None  # the newest tcp_pose: the rviz text goes above it
        self.create_subscription(PoseStamped, 'tcp_pose', self._on_tcp, 10)
        self._event_publisher = self.create_publisher(EpisodeEvent, 'episode_events',
                                                      EVENTS_QOS)
        self.create_subscription(EpisodeEvent, 'episode_events', self._on_event, EVENTS_QOS)
        for name in cameras:
            self.create_subscription(Image, f'{name}/{image_topic}',
                                     lambda msg, camera=name: self._on_image(camera, msg),
                                     qos_profile_sensor_data)
        self._armed = True  # the node may start in the middle of an episode
        self.episode_index = 0
        self.sets_classified = 0
        self.get_logger().info(
            f'classifying {", ".join(f"{c}/{image_topic}" for c in cameras)} with '
            f'{model_path}, success at p >= {self.threshold:.3f}'
            + (f' over {success_frames} consecutive sets' if success_frames > 1 else '')
            + (', raising SUCCESS events' if self._terminate else ''))

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EPISODE_START:
            self._armed = True
            self._decision.reset()
            self.episode_index = msg.episode_index
        elif msg.event in EPISODE_OVER:
            self._armed = False

    def _on_tcp(self, msg: PoseStamped) -> None:
        self._tcp = msg

    def _on_image(self, camera: str, msg: Image) -> None:
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        if stamp == 0.0:  # an unstamped stream: arrival time is the best there is
            stamp = self.get_clock().now().nanoseconds * 1e-9
        frame_set = self._sync.add(camera, stamp, msg)
        if frame_set is not None:
            self._classify(frame_set)

    def _classify(self, frame_set: FrameSet) -> None:
        try:
            frames = {name: rgb_pixels(msg) for name, msg in frame_set.frames.items()}
            probability = float(self._model.predict_proba(frames))
        except (ImageProcessingError, self._classifier_error) as error:
            self._report(str(error))
            return
        if not math.isfinite(probability):
            self._report('the classifier returned a non-finite probability')
            return
        success = self._decision.add(probability)
        self.sets_classified += 1
        self._probability_publisher.publish(Float32(data=probability))
        self._success_publisher.publish(Bool(data=success))
        self._show(probability, success)
        if success and self._terminate and self._armed:
            self._armed = False
            event = EpisodeEvent(event=EpisodeEvent.SUCCESS, source=self.get_name(),
                                 episode_index=self.episode_index)
            event.header.stamp = self.get_clock().now().to_msg()
            self._event_publisher.publish(event)
            self.get_logger().info(f'episode {self.episode_index}: success '
                                   f'(p = {probability:.3f})')

    def _show(self, probability: float, success: bool) -> None:
        """Put the decision in rviz (above the TCP, once it is known) and the terminal."""
        if self._tcp is not None:
            self._marker_publisher.publish(text_marker(self._tcp, probability, success))
        line = self._report_line.add(self.get_clock().now().nanoseconds * 1e-9,
                                     probability, success)
        if line is not None:
            self.get_logger().info(line)

    def _report(self, problem: str) -> None:
        suppressed = self._throttle.check(problem)
        if suppressed is None:
            return
        more = f' ({suppressed} more since the last report)' if suppressed else ''
        self.get_logger().error(f'dropping a frame set: {problem}{more}')


def text_marker(tcp: PoseStamped, probability: float, success: bool) -> Marker:
    """Return the rviz text showing ``probability`` above the TCP."""
    marker = Marker(type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, ns='reward_classifier',
                    id=0, text=classifier_display.probability_text(probability, success))
    marker.header = tcp.header
    marker.pose.position.x = tcp.pose.position.x
    marker.pose.position.y = tcp.pose.position.y
    marker.pose.position.z = tcp.pose.position.z + classifier_display.TEXT_ABOVE_TCP_M
    marker.pose.orientation.w = 1.0
    marker.scale.z = classifier_display.TEXT_HEIGHT_M
    (marker.color.r, marker.color.g, marker.color.b,
     marker.color.a) = classifier_display.text_colour(success)
    return marker


def rgb_pixels(msg: Image):
    """Return the frame as H×W×C uint8 with colour channels in RGB order."""
    pixels = image_to_array(msg)
    if msg.encoding in ('bgr8', 'bgra8'):
        return pixels[:, :, [2, 1, 0]]  # the classifier learns on RGB frames
    if msg.encoding == 'rgba8':
        return pixels[:, :, :3]
    return pixels


def main(args=None):
    """Run the reward classifier node until shut down."""
    run_node(RewardClassifierNode, args)


if __name__ == '__main__':
    main()
