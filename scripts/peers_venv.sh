#!/usr/bin/env bash
# Create (once) .venv-peers, a virtualenv apart from the workspace's .venv that holds LeRobot
# 0.4.4 beside the workspace's own CPU torch, then run bench/peers.py in it (arguments are
# passed on). `make bench-peers` calls this; `make lerobot-env` calls it with --venv-only (make
# the venv, run nothing: `hilserl dataset export --format lerobot` / `import` use its python);
# make setup / make test never do. HILSERL_LEROBOT_VENV puts the venv elsewhere.
#
# Why not simply `pip install lerobot`:
# - LeRobot 0.6.x needs Python >= 3.12, and the only CPU torch on this machine is a cp311
#   wheel (a cp312 torch from the index is the CUDA build, GBs of NVIDIA libraries). 0.4.4 is
#   the newest LeRobot for Python 3.11.
# - 0.4.4 pins torch<2.11 and torchvision<0.26; the point of the benchmark is the same torch on
#   both sides, so LeRobot goes in with --no-deps next to the workspace's torch, and its other
#   requirements are listed below with versions inside LeRobot's own ranges.
# - Only the packages that `import lerobot.policies.sac.modeling_sac` and `lerobot.rl.buffer`
#   really reach are installed (LeRobot's policies/__init__ imports every policy's config, its
#   optimizer module imports its dataset utilities, which import datasets, torchvision,
#   diffusers, av, ...). Hardware, logging and transport packages (wandb, rerun, grpc, pynput,
#   cmake, torchcodec) are left out: neither the SAC update nor LeRobotDataset touches them.
# - transformers (LeRobot's `transformers-dep` extra) builds the ResNet-10 frozen encoder.
# - torchvision 0.25 (inside LeRobot's range), not 0.28 (the release for torch 2.13): 0.28
#   dropped torchvision.io.VideoReader, which LeRobot 0.4.4 decodes dataset videos with when
#   torchcodec is absent (backend pyav). Either is a CUDA build whose compiled ops cannot load
#   beside a CPU torch; the Python half (what LeRobot imports) works once the two operator
#   names its import registers exist (src/hilserl/hilserl/dataset/torchvision_ops.py, used
#   by bench/peers.py and the LeRobotDataset converter). torchcodec is left out: it needs
#   FFmpeg's shared libraries from the system.
# - numpy 2.3, not the workspace's 2.4: LeRobot 0.4.4's dataset writer hands each row of a
#   shape-(1,) feature (reward, done, ...) to `float()`, which numpy 2.4 refuses for 1-element
#   arrays. Our side of bench/peers.py runs in the same process, so both sides share it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${HILSERL_LEROBOT_VENV:-$ROOT/.venv-peers}"
LEROBOT_VERSION=0.4.4
STAMP="$PEERS/.hilserl-peers"  # what the venv was made with; made again when this changes

if [ ! -x "$ROOT/.venv/bin/python" ]; then
    echo "peers_venv: $ROOT/.venv is missing; run make setup first (its torch is the one used)" >&2
    exit 1
fi
# The workspace's torch: the same build on both sides of the comparison.
TORCH_VERSION="$("$ROOT/.venv/bin/python" -c 'import torch; print(torch.__version__)')"
NUMPY_VERSION=2.3.5
NO_DEPS=("lerobot==$LEROBOT_VERSION" 'torchvision==0.25.0')
REQUIREMENTS=("torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION"
    'draccus==0.10.0' 'huggingface-hub==0.35.3' 'einops==0.8.1' 'datasets==4.8.5'
    'accelerate==1.16.0' 'imageio==2.37.2' 'diffusers==0.35.2' 'pyserial==3.5'
    'deepdiff==8.6.1' 'av==15.1.0' 'packaging==25.0' 'pillow==11.3.0' 'safetensors==0.8.0'
    'transformers==4.57.6' 'tqdm==4.70.1')
WANTED="${NO_DEPS[*]} ${REQUIREMENTS[*]}"

if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANTED" ]; then
    command -v python3.11 >/dev/null || { echo 'peers_venv: python3.11 not found' >&2; exit 1; }
    echo "peers_venv: creating $PEERS (lerobot $LEROBOT_VERSION, torch $TORCH_VERSION)"
    rm -rf "$PEERS"
    python3.11 -m venv "$PEERS"
    pip_install() {  # pip's complaints about LeRobot's unmet pins (expected, see above) dropped
        "$PEERS/bin/pip" install --quiet --disable-pip-version-check "$@" 2>&1 \
            | { grep -v -e "^WARNING: Location '" -e '^\(lerobot\|torchvision\) .* requires ' \
                        -e "^ERROR: pip's dependency resolver" \
                        -e '^This behaviour is the source' || true; }
    }
    pip_install "torch==$TORCH_VERSION"
    pip_install --no-deps "${NO_DEPS[@]}"
    pip_install "${REQUIREMENTS[@]}"
    echo "$WANTED" > "$STAMP"
fi

[ "${1:-}" = '--venv-only' ] && { echo "peers_venv: $PEERS ready"; exit 0; }
echo "peers_venv: $PEERS, python $("$PEERS/bin/python" -c 'import sys; print(sys.version.split()[0])')"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "$PEERS/bin/python" "$ROOT/bench/peers.py" "$@"
