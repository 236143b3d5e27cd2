"""A URDF exported from the Panda MJCF agrees with MuJoCo and loads in pinocchio."""

import os

import mujoco
import numpy as np
import pinocchio as pin
import pytest

from hilserl.arm.robot_descriptions import asset_dir
from hilserl.arm.urdf_export import export_urdf, write_binary_stl


@pytest.fixture(scope='module')
def panda(tmp_path_factory):
    model = mujoco.MjModel.from_xml_path(os.path.join(asset_dir('gym_hil'), 'panda.xml'))
    mesh_dir = tmp_path_factory.mktemp('meshes')
    path = mesh_dir / 'panda.urdf'
    path.write_text(export_urdf(model, 'link0', 'panda', str(mesh_dir)))
    return model, str(path), mesh_dir


def test_binary_stl_layout(tmp_path):
    path = str(tmp_path / 'tri.stl')
    write_binary_stl(path, np.eye(3), np.array([[0, 1, 2]]))
    data = open(path, 'rb').read()
    assert len(data) == 80 + 4 + 50 and int.from_bytes(data[80:84], 'little') == 1
    normal = np.frombuffer(data[84:96], '<f4')
    np.testing.assert_allclose(normal, np.ones(3) / np.sqrt(3), atol=1e-6)


def test_joints_and_forward_kinematics_match_mujoco(panda):
    model, urdf, _ = panda
    robot = pin.buildModelFromUrdf(urdf)
    names = list(robot.names[1:])
    assert names[:7] == [f'joint{i}' for i in range(1, 8)]
    data, mj_data = robot.createData(), mujoco.MjData(model)
    rng = np.random.default_rng(3)
    q = pin.neutral(robot)
    for index, name in enumerate(names, start=1):
        joint = model.joint(name).id
        value = rng.uniform(*model.jnt_range[joint])
        q[robot.joints[index].idx_q] = value
        mj_data.qpos[model.jnt_qposadr[joint]] = value
    pin.forwardKinematics(robot, data, q)
    mujoco.mj_kinematics(model, mj_data)
    for name in ('joint4', 'joint7', 'right_driver_joint'):
        body = model.jnt_bodyid[model.joint(name).id]
        np.testing.assert_allclose(data.oMi[robot.getJointId(name)].translation,
                                   mj_data.xpos[body], atol=1e-5)


def test_meshes_are_written_once_and_referenced_by_absolute_uri(panda):
    _, urdf, mesh_dir = panda
    text = open(urdf).read()
    files = sorted(os.listdir(mesh_dir))
    assert sum(name.endswith('.stl') for name in files) > 10
    assert f'file://{mesh_dir}' in text
    with pytest.raises(ValueError, match="body 'nope' is not in the model"):
        export_urdf(mujoco.MjModel.from_xml_string('<mujoco/>'), 'nope', 'x', str(mesh_dir))
