"""
A visually harder scene: per-episode lighting, surfaces, distractors and camera jitter.

With ``visual_variation='randomized'`` the scene gets, at build time
(``add_variation_elements``), a bank of small procedurally generated textures
(``TEXTURE_SIZE`` square: checkers, smooth noise, grain, tiles, speckle), one
material each for the table, the floor and two backdrop walls, a second (fill)
light and ``DISTRACTOR_SLOTS`` distractor slots, each one visual-only geom per shape
in ``DISTRACTOR_SHAPES``. At every reset ``VisualRandomizer.apply`` then draws from
its own generator:

- lighting: the headlight's ambient and diffuse intensity; the top light's direction
  (up to ``MAX_LIGHT_TILT`` off vertical), intensity and colour temperature; the fill
  light's position, intensity and colour;
- surfaces: which bank texture each surface shows, its tint and its repeat (scale);
- distractors: per slot a shape, size, colour (never the cube's red hue), pose and
  place on the table, clear of the cube, the target and the path between them;
- cameras: the front camera moved by up to ``FRONT_JITTER`` (m, per axis) and turned
  by up to ``FRONT_TURN`` (rad); the wrist camera by ``WRIST_JITTER``/``WRIST_TURN``.

Only model fields the renderer reads are changed (material texture ids, geom and
light parameters, camera poses), so nothing is re-uploaded to OpenGL. Distractors
collide with nothing (contype and conaffinity 0): they cannot block the task or
change its success test. The cube keeps its colour; lighting changes how it looks.
"""

import colorsys
from typing import Callable, List, Optional, Sequence

import mujoco
import numpy as np

from hilserl.sim.robots import RobotDescription

VISUAL_VARIATIONS = ('none', 'randomized')
PREFIX = 'hilserl_vv_'
TEXTURE_SIZE = 64
BANK_SEED = 2024  # the texture bank is part of the model: the same on every build
SURFACES = ('table', 'floor', 'back_wall', 'side_wall')
DISTRACTOR_SLOTS = 3
DISTRACTOR_SHAPES = ('box', 'cylinder', 'sphere', 'capsule')
DISTRACTOR_CLEARANCE = 0.06  # m between a distractor's footprint and the cube or target
MAX_LIGHT_TILT = np.radians(50.0)
FRONT_JITTER, FRONT_TURN = 0.005, np.radians(1.5)
WRIST_JITTER, WRIST_TURN = 0.002, np.radians(1.0)
CUBE_HUE = 0.01  # the cube's red; distractors and textures keep CUBE_HUE_GAP away
CUBE_HUE_GAP = 0.08
WALL_GAP = 0.3  # m between the table's edge and a backdrop wall
_DRAWN_GROUP, _HIDDEN_GROUP = 2, 5  # scene.RENDER_GROUP, scene.HIDDEN_GROUP
# An independent stream of the episode seed: the task layout draws are not disturbed.
_STREAM = 0x5EED_0F_1A6E


def visual_generator(seed: int) -> np.random.Generator:
    """Return the generator of episode ``seed``'s visuals (independent of its layout)."""
    return np.random.default_rng([_STREAM, int(seed) & 0xFFFFFFFFFFFFFFFF])


# ----- texture bank ----------------------------------------------------------------------

def _colour(rng: np.random.Generator, saturation=(0.1, 0.55), value=(0.25, 0.95),
            hue: Optional[float] = None) -> np.ndarray:
    """
    Return a random RGB colour in [0, 1] whose hue stays clear of the cube's.

    ``hue`` in [0, 1) picks the place in the allowed hues (random if None).
    """
    place = rng.random() if hue is None else hue % 1.0
    hue = CUBE_HUE + CUBE_HUE_GAP + place * (1.0 - 2.0 * CUBE_HUE_GAP)
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, rng.uniform(*saturation), rng.uniform(*value)))


def _smooth_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Return tileable value noise in [0, 1]: a ``cells``-square grid, bilinearly sampled."""
    grid = rng.random((cells, cells))
    coords = np.arange(TEXTURE_SIZE) * cells / TEXTURE_SIZE
    low = np.floor(coords).astype(int)
    frac = coords - low
    high = (low + 1) % cells
    rows = grid[low] * (1 - frac)[:, None] + grid[high] * frac[:, None]
    return rows[:, low] * (1 - frac)[None, :] + rows[:, high] * frac[None, :]


def _blend(weight: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Mix two colours per pixel: ``weight`` 0 gives ``first``, 1 gives ``second``."""
    return first * (1 - weight[..., None]) + second * weight[..., None]


def _checker(rng, colour):
    """Alternate two colours in squares, 4 to 16 across."""
    cells = int(rng.choice([4, 8, 16]))
    index = np.arange(TEXTURE_SIZE) * cells // TEXTURE_SIZE
    return _blend(((index[:, None] + index[None, :]) % 2).astype(float),
                  colour(), colour())


def _noise(rng, colour):
    """Mix two colours by coarse plus fine smooth noise (stone, fabric)."""
    weight = 0.7 * _smooth_noise(rng, 4) + 0.3 * _smooth_noise(rng, 16)
    return _blend(weight, colour(), colour())


def _grain(rng, colour):
    """Stripe two colours along warped lines (wood grain)."""
    u = np.arange(TEXTURE_SIZE) / TEXTURE_SIZE
    warp = _smooth_noise(rng, 4)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (int(rng.integers(3, 9)) * u[None, :] + 1.5 * warp))
    return _blend(stripes, colour(), colour())


def _tiles(rng, colour):
    """Lay tiles of one colour, each shaded slightly differently, with grout lines."""
    cells = int(rng.choice([2, 4, 8]))
    pitch = TEXTURE_SIZE // cells
    shade = np.kron(rng.uniform(0.75, 1.0, (cells, cells)), np.ones((pitch, pitch)))
    image = colour()[None, None, :] * shade[..., None]
    grout = (np.arange(TEXTURE_SIZE) % pitch) < 2
    image[grout, :, :] = image[:, grout, :] = colour(value=(0.2, 0.6))
    return image


def _speckle(rng, colour):
    """Dot one colour randomly over another (speckled laminate)."""
    image = np.tile(colour(), (TEXTURE_SIZE, TEXTURE_SIZE, 1))
    dots = rng.random((TEXTURE_SIZE, TEXTURE_SIZE)) < 0.12
    image[dots] = colour()
    return image * (0.85 + 0.15 * _smooth_noise(rng, 8))[..., None]


_PATTERNS: Sequence[Callable[..., np.ndarray]] = (_checker, _noise, _grain, _tiles, _speckle)
BANK_SIZE = 3 * len(_PATTERNS)


def texture_bank() -> List[np.ndarray]:
    """
    Return the ``BANK_SIZE`` textures as (size, size, 3) uint8 arrays, the same every call.

    Texture ``i`` draws its colours from one family of hues, the families spread evenly
    over the allowed hues, so that the bank is not dominated by a few colours.
    """
    rng = np.random.default_rng(BANK_SEED)
    images = []
    for index in range(BANK_SIZE):
        family = (index + 0.5) / BANK_SIZE

        def colour(**options):
            return _colour(rng, hue=family + rng.uniform(-0.04, 0.04), **options)

        images.append(_PATTERNS[index % len(_PATTERNS)](rng, colour))
    return [np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8) for image in images]


# ----- build time --------------------------------------------------------------------------

def _visual_geom(parent, name: str, geom_type, size, rgba=(1.0, 1.0, 1.0, 1.0)):
    """Add a geom that is drawn but collides with nothing and weighs nothing."""
    geom = parent.add_geom()
    geom.name = name
    geom.type = geom_type
    geom.size = list(size)
    geom.rgba = list(rgba)
    geom.contype = 0
    geom.conaffinity = 0
    geom.mass = 0.0
    geom.group = _DRAWN_GROUP
    return geom


def add_variation_elements(spec: mujoco.MjSpec, robot: RobotDescription,
                           floor_z: float) -> None:
    """Add the texture bank, surface materials, walls, fill light and distractor slots."""
    for index, image in enumerate(texture_bank()):
        texture = spec.add_texture()
        texture.name = f'{PREFIX}tex{index}'
        texture.type = mujoco.mjtTexture.mjTEXTURE_2D
        texture.width = texture.height = TEXTURE_SIZE
        texture.nchannel = 3
        texture.data = image.tobytes()
    for surface in SURFACES:
        material = spec.add_material()
        material.name = f'{PREFIX}{surface}'
        textures = [''] * len(material.textures)
        textures[int(mujoco.mjtTextureRole.mjTEXROLE_RGB)] = f'{PREFIX}tex0'
        material.textures = textures
        material.texuniform = True
        material.specular = 0.1
        material.shininess = 0.1
    world = spec.worldbody
    spec.geom('table').material = f'{PREFIX}table'
    spec.geom('floor').material = f'{PREFIX}floor'
    (cx, cy), (hx, hy) = robot.table_center, robot.table_half_size
    height = 2.0
    z = floor_z + height
    back = _visual_geom(world, f'{PREFIX}back_wall', mujoco.mjtGeom.mjGEOM_BOX,
                        (0.01, 3.0, height))
    back.pos = [cx - hx - WALL_GAP, 0.0, z]
    side = _visual_geom(world, f'{PREFIX}side_wall', mujoco.mjtGeom.mjGEOM_BOX,
                        (3.0, 0.01, height))
    side.pos = [0.0, cy - hy - WALL_GAP, z]
    for wall, surface in ((back, 'back_wall'), (side, 'side_wall')):
        wall.material = f'{PREFIX}{surface}'
    fill = world.add_light()
    fill.name = f'{PREFIX}fill'
    fill.type = mujoco.mjtLightType.mjLIGHT_SPOT
    fill.pos = [cx, cy, 1.0]
    fill.dir = [0.0, 0.0, -1.0]
    fill.cutoff = 60.0
    fill.exponent = 2.0
    fill.castshadow = False
    shapes = {'box': (mujoco.mjtGeom.mjGEOM_BOX, (0.02, 0.02, 0.02)),
              'cylinder': (mujoco.mjtGeom.mjGEOM_CYLINDER, (0.02, 0.02, 0.0)),
              'sphere': (mujoco.mjtGeom.mjGEOM_SPHERE, (0.02, 0.0, 0.0)),
              'capsule': (mujoco.mjtGeom.mjGEOM_CAPSULE, (0.015, 0.03, 0.0))}
    for slot in range(DISTRACTOR_SLOTS):
        for shape in DISTRACTOR_SHAPES:
            geom_type, size = shapes[shape]
            geom = _visual_geom(world, f'{PREFIX}distractor{slot}_{shape}', geom_type, size)
            geom.pos = [cx, cy, -1.0]
            geom.group = _HIDDEN_GROUP


# ----- per episode ---------------------------------------------------------------------------

def _small_turn(rng: np.random.Generator, max_angle: float) -> np.ndarray:
    """Return a quaternion turning by at most ``max_angle`` about a random axis."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    quat = np.zeros(4)
    mujoco.mju_axisAngle2Quat(quat, axis, rng.uniform(0.0, max_angle))
    return quat


def _distractor_size(shape: str, rng: np.random.Generator):
    """
    Draw a distractor's size; return its geom size, centre height and footprint radius.

    The footprint radius bounds the distractor's extent on the table from its centre.
    """
    radius = rng.uniform(0.012, 0.03)
    if shape == 'box':
        half = np.array([radius, rng.uniform(0.5, 1.0) * radius, rng.uniform(0.3, 1.5) * radius])
        return half, half[2], float(np.hypot(half[0], half[1]))
    if shape == 'cylinder':
        half_height = rng.uniform(0.3, 2.0) * radius
        return np.array([radius, half_height, 0.0]), half_height, radius
    if shape == 'sphere':
        return np.array([radius, 0.0, 0.0]), radius, radius
    thickness = 0.5 * radius  # a capsule lying down: radius thickness, half-length radius
    return np.array([thickness, radius, 0.0]), thickness, radius + thickness


def _segment_distance(point: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    """Return the distance from ``point`` to the segment ``start``-``end`` (2-D)."""
    span = end - start
    length2 = float(span @ span)
    t = 0.0 if length2 < 1e-12 else float(np.clip((point - start) @ span / length2, 0, 1))
    return float(np.linalg.norm(point - (start + t * span)))


class VisualRandomizer:
    """Redraws the randomized scene's appearance; see the module docstring."""

    def __init__(self, model: mujoco.MjModel, robot: RobotDescription):
        """Index the elements ``add_variation_elements`` added; remember camera poses."""
        self.model = model
        self._textures = [model.texture(f'{PREFIX}tex{i}').id for i in range(BANK_SIZE)]
        self._surfaces = {}
        for surface, geom in zip(SURFACES, ('table', 'floor', f'{PREFIX}back_wall',
                                            f'{PREFIX}side_wall')):
            self._surfaces[surface] = (model.material(f'{PREFIX}{surface}').id,
                                       model.geom(geom).id)
        self._top = model.light('top').id
        self._fill = model.light(f'{PREFIX}fill').id
        self._slots = [[model.geom(f'{PREFIX}distractor{slot}_{shape}').id
                        for shape in DISTRACTOR_SHAPES] for slot in range(DISTRACTOR_SLOTS)]
        self._cameras = {}
        for name, jitter, turn in (('front', FRONT_JITTER, FRONT_TURN),
                                   ('wrist', WRIST_JITTER, WRIST_TURN)):
            camera = model.camera(name).id
            self._cameras[camera] = (model.cam_pos[camera].copy(),
                                     model.cam_quat[camera].copy(), jitter, turn)
        (cx, cy), (hx, hy) = robot.table_center, robot.table_half_size
        regions = np.array([robot.cube_region, robot.goal_region], dtype=float)
        margin = 0.1
        self._table_centre = np.array([cx, cy])
        # Distractors stand around the task regions, 3 cm inside the table's edges.
        self._low = np.maximum(regions[:, 0].min(axis=0) - margin,
                               [cx - hx + 0.03, cy - hy + 0.03])
        self._high = np.minimum(regions[:, 1].max(axis=0) + margin,
                                [cx + hx - 0.03, cy + hy - 0.03])

    def apply(self, rng: np.random.Generator, cube_xy: Sequence[float],
              target_xy: Sequence[float]) -> None:
        """Draw this episode's appearance from ``rng``; call before ``mj_forward``."""
        self._lights(rng)
        self._surfaces_look(rng)
        self._distractors(rng, np.asarray(cube_xy, float)[:2], np.asarray(target_xy, float)[:2])
        self._jitter_cameras(rng)

    def _lights(self, rng: np.random.Generator) -> None:
        model = self.model
        headlight = model.vis.headlight
        headlight.ambient = np.full(3, rng.uniform(0.1, 0.4))
        headlight.diffuse = np.full(3, rng.uniform(0.15, 0.5))
        tilt, azimuth = rng.uniform(0.0, MAX_LIGHT_TILT), rng.uniform(0.0, 2 * np.pi)
        model.light_dir[self._top] = [np.sin(tilt) * np.cos(azimuth),
                                      np.sin(tilt) * np.sin(azimuth), -np.cos(tilt)]
        warmth = rng.uniform(-1.0, 1.0)  # colour temperature: warm (+) or cool (-)
        temperature = np.array([1.0 + 0.2 * warmth, 1.0, 1.0 - 0.2 * warmth])
        model.light_diffuse[self._top] = rng.uniform(0.25, 0.8) * temperature
        model.light_ambient[self._top] = rng.uniform(0.0, 0.15) * temperature
        model.light_specular[self._top] = rng.uniform(0.0, 0.3)
        azimuth, distance = rng.uniform(0.0, 2 * np.pi), rng.uniform(0.5, 1.2)
        position = np.array([*(self._table_centre + distance * np.array(
            [np.cos(azimuth), np.sin(azimuth)])), rng.uniform(0.3, 1.0)])
        aim = np.array([*self._table_centre, 0.0]) - position
        model.light_pos[self._fill] = position
        model.light_dir[self._fill] = aim / np.linalg.norm(aim)
        fill_colour = _colour(rng, saturation=(0.0, 0.4), value=(1.0, 1.0))
        model.light_diffuse[self._fill] = rng.uniform(0.0, 0.6) * fill_colour
        model.light_specular[self._fill] = 0.0

    def _surfaces_look(self, rng: np.random.Generator) -> None:
        model = self.model
        rgb_role = int(mujoco.mjtTextureRole.mjTEXROLE_RGB)
        for material, geom in self._surfaces.values():
            model.mat_texid[material, rgb_role] = self._textures[rng.integers(BANK_SIZE)]
            model.mat_texrepeat[material] = rng.uniform(1.0, 8.0, size=2)
            model.geom_rgba[geom] = [*rng.uniform(0.65, 1.0, size=3), 1.0]

    def _distractors(self, rng: np.random.Generator, cube_xy: np.ndarray,
                     target_xy: np.ndarray) -> None:
        model = self.model
        placed: List[np.ndarray] = []
        for geoms in self._slots:
            shape = int(rng.integers(len(DISTRACTOR_SHAPES)))
            size, height, footprint = _distractor_size(DISTRACTOR_SHAPES[shape], rng)
            yaw = rng.uniform(-np.pi, np.pi)
            colour = _colour(rng, saturation=(0.3, 0.9), value=(0.3, 0.95))
            candidates = self._low + rng.random((32, 2)) * (self._high - self._low)
            spot = None
            for xy in candidates:
                clear = footprint + DISTRACTOR_CLEARANCE
                # Clear of the cube, the target, the path between them, the arm's base (at
                # the origin) and the other distractors.
                if (_segment_distance(xy, cube_xy, target_xy) > clear
                        and np.linalg.norm(xy) > 0.1 + footprint
                        and all(np.linalg.norm(xy - other) > footprint + 0.05
                                for other in placed)):
                    spot = xy
                    break
            for index, geom in enumerate(geoms):
                model.geom_group[geom] = (_DRAWN_GROUP if index == shape and spot is not None
                                          else _HIDDEN_GROUP)
            if spot is None:
                continue
            placed.append(spot)
            geom = geoms[shape]
            model.geom_size[geom] = size
            model.geom_rgba[geom] = [*colour, 1.0]
            model.geom_pos[geom] = [spot[0], spot[1], height]
            yaw_quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
            if DISTRACTOR_SHAPES[shape] == 'capsule':  # lying on its side
                lying = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])
                mujoco.mju_mulQuat(yaw_quat, yaw_quat.copy(), lying)
            model.geom_quat[geom] = yaw_quat

    def _jitter_cameras(self, rng: np.random.Generator) -> None:
        model = self.model
        for camera, (position, quat, jitter, turn) in self._cameras.items():
            model.cam_pos[camera] = position + rng.uniform(-jitter, jitter, size=3)
            turned = np.zeros(4)
            mujoco.mju_mulQuat(turned, _small_turn(rng, turn), quat)
            model.cam_quat[camera] = turned
