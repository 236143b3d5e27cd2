"""
A stand-in for a ros2_control arm: what an external arm's stack offers hilserl.

Publishes ``/joint_states`` at 50 Hz, takes joint targets (std_msgs/Float64MultiArray,
arm joints then gripper) on ``/forward_position_controller/commands`` and moves there at
once, and offers ``/arm/reset_to_home`` (std_srvs/Trigger), which moves to the home
pose. Prints ``reset_to_home called`` and ``commanded`` lines for the test to read.

    python ros2_control_standin.py JOINT,JOINT,... HOME,HOME,...
"""

import sys

import rclpy
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger


class StandIn(Node):
    """Joint states out, position commands in, a homing service."""

    def __init__(self, joints, home):
        """Start at ``home``."""
        super().__init__('ros2_control_standin')
        self.joints, self.home, self.position = joints, home, list(home)
        self.commands = 0
        self.state = self.create_publisher(JointState, '/joint_states', 10)
        self.create_subscription(Float64MultiArray, '/forward_position_controller/commands',
                                 self.on_command, 10)
        self.create_service(Trigger, '/arm/reset_to_home', self.on_reset)
        self.create_timer(0.02, self.publish)

    def publish(self):
        """Report the present joint positions."""
        msg = JointState(name=self.joints, position=self.position)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.state.publish(msg)

    def on_command(self, msg):
        """Move to the commanded positions."""
        if len(msg.data) == len(self.joints):
            self.position = [float(value) for value in msg.data]
            self.commands += 1
            if self.commands in (1, 10, 100):
                print(f'commanded {self.commands}', flush=True)

    def on_reset(self, request, response):
        """Home at once."""
        self.position = list(self.home)
        print('reset_to_home called', flush=True)
        response.success = True
        return response


def main():
    """Run until interrupted."""
    joints = sys.argv[1].split(',')
    home = [float(value) for value in sys.argv[2].split(',')]
    rclpy.init()
    node = StandIn(joints, home)
    print('stand-in ready', flush=True)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
