"""
Read triangle meshes and make cheap render copies of them by vertex clustering.

The CAD meshes shipped with the arms have hundreds of thousands of faces; under a
software OpenGL (llvmpipe) a 128x128 image of them costs tens of milliseconds.
Vertex clustering snaps every vertex to a cubic grid cell, merges the vertices of
a cell into their mean, and drops the faces that collapse (two corners in one
cell) or repeat. Features smaller than a cell disappear, silhouettes larger than
a few cells survive, which is what a 128-pixel camera can see anyway.

Only STL (binary and ASCII) and Wavefront OBJ (``v`` and ``f`` records) are read,
the formats of the supported robots' assets. No MuJoCo import here.
"""

import functools
import os

import numpy as np

_STL_HEADER_BYTES = 80
_STL_RECORD = np.dtype([('normal', '<f4', 3), ('corners', '<f4', (3, 3)), ('attr', '<u2')])


def load_mesh(path: str, scale=1.0) -> tuple:
    """
    Return ``(vertices, faces)`` of an STL or OBJ file, vertices multiplied by ``scale``.

    ``vertices`` is an (N, 3) float64 array, ``faces`` an (M, 3) int64 array of
    vertex indices (polygons of an OBJ are split into triangle fans).
    """
    extension = os.path.splitext(path)[1].lower()
    if extension == '.stl':
        vertices, faces = _load_stl(path)
    elif extension == '.obj':
        vertices, faces = _load_obj(path)
    else:
        raise ValueError(f'cannot read mesh {path!r}: only .stl and .obj are supported')
    return vertices * np.asarray(scale, dtype=np.float64), faces


def _load_stl(path: str) -> tuple:
    """Read a binary or ASCII STL; each facet gets its own three vertices."""
    with open(path, 'rb') as stream:
        blob = stream.read()
    if len(blob) >= _STL_HEADER_BYTES + 4:
        count = int(np.frombuffer(blob, '<u4', 1, _STL_HEADER_BYTES)[0])
        if len(blob) == _STL_HEADER_BYTES + 4 + count * _STL_RECORD.itemsize:
            records = np.frombuffer(blob, _STL_RECORD, count, _STL_HEADER_BYTES + 4)
            vertices = records['corners'].reshape(-1, 3).astype(np.float64)
            return vertices, np.arange(len(vertices), dtype=np.int64).reshape(-1, 3)
    words = blob.decode('ascii', errors='replace').split()
    values = []
    for index, word in enumerate(words):
        if word == 'vertex':
            values.extend(float(value) for value in words[index + 1:index + 4])
    if not values or len(values) % 9:
        raise ValueError(f'{path!r} is neither a binary nor an ASCII STL file')
    vertices = np.asarray(values, dtype=np.float64).reshape(-1, 3)
    return vertices, np.arange(len(vertices), dtype=np.int64).reshape(-1, 3)


def _numbers(records: list) -> np.ndarray:
    """Parse whitespace-separated numbers from a list of ASCII byte strings, fast."""
    return np.array(b' '.join(records).split(), dtype=np.float64)


def _load_obj(path: str) -> tuple:
    """Read the vertex and face records of an OBJ file; other records are ignored."""
    with open(path, 'rb') as stream:
        lines = stream.read().splitlines()
    vertex_records = [line[2:] for line in lines if line.startswith(b'v ')]
    face_records = [line[2:].split() for line in lines if line.startswith(b'f ')]
    if not vertex_records or not face_records:
        raise ValueError(f'{path!r} holds no vertices or faces')
    coordinates = [record.split()[:3] for record in vertex_records]
    vertices = np.array(coordinates, dtype=np.float64).reshape(-1, 3)
    if all(len(record) == 3 for record in face_records):
        corners = [corner.split(b'/', 1)[0] for record in face_records for corner in record]
        faces = _numbers(corners).astype(np.int64).reshape(-1, 3)
    else:  # polygons: split each into a triangle fan
        fan = []
        for record in face_records:
            corners = [int(corner.split(b'/', 1)[0]) for corner in record]
            fan.extend((corners[0], corners[k], corners[k + 1])
                       for k in range(1, len(corners) - 1))
        faces = np.asarray(fan, dtype=np.int64).reshape(-1, 3)
    # OBJ indices are 1-based; negative ones count back from the end of the vertex list.
    faces = np.where(faces > 0, faces - 1, faces + len(vertices))
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError(f'{path!r} has a face index outside its vertex list')
    return vertices, faces


def cluster_decimate(vertices: np.ndarray, faces: np.ndarray, cell: float) -> tuple:
    """
    Simplify a triangle mesh by merging the vertices that share a grid cell.

    ``cell`` is the grid pitch in the vertices' units. Returns ``(vertices, faces)``:
    only the vertices that faces still use, each the mean of the originals merged
    into it; faces that lost a corner to a merge or repeat another face (in any
    winding) are dropped. The orientation of the kept faces is unchanged.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if cell <= 0:
        raise ValueError(f'cluster cell size must be positive, got {cell}')
    if len(faces) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    cells = np.floor(vertices / cell).astype(np.int64)
    cells -= cells.min(axis=0)
    extent = cells.max(axis=0) + 1
    keys = (cells[:, 0] * extent[1] + cells[:, 1]) * extent[2] + cells[:, 2]
    _, cluster, counts = np.unique(keys, return_inverse=True, return_counts=True)
    cluster = cluster.reshape(-1)
    sums = np.zeros((len(counts), 3))
    np.add.at(sums, cluster, vertices)
    merged = sums / counts[:, None]
    new_faces = cluster[faces]
    keep = ((new_faces[:, 0] != new_faces[:, 1]) & (new_faces[:, 1] != new_faces[:, 2])
            & (new_faces[:, 0] != new_faces[:, 2]))
    new_faces = new_faces[keep]
    ordered = np.sort(new_faces, axis=1)
    count = len(counts)
    if count ** 3 < 2 ** 62:
        face_keys = (ordered[:, 0] * count + ordered[:, 1]) * count + ordered[:, 2]
        _, first = np.unique(face_keys, return_index=True)
    else:  # pragma: no cover - needs more than two million clusters
        _, first = np.unique(ordered, axis=0, return_index=True)
    new_faces = new_faces[np.sort(first)]
    used, compact = np.unique(new_faces, return_inverse=True)
    return merged[used], compact.reshape(-1, 3).astype(np.int64)


@functools.lru_cache(maxsize=256)
def simplified_mesh(path: str, scale: tuple, cell: float) -> tuple:
    """
    Return the clustered ``(vertices, faces)`` of a mesh file, cached per process.

    ``scale`` is a 3-tuple applied before clustering, so ``cell`` is in model units
    (metres). The arrays are shared between callers: treat them as read-only.
    """
    vertices, faces = load_mesh(path, scale)
    vertices, faces = cluster_decimate(vertices, faces, cell)
    vertices.flags.writeable = False
    faces.flags.writeable = False
    return vertices, faces
