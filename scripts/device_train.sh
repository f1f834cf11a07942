#!/usr/bin/env bash
# One prepared base-model training run on a lent GPU machine (the device tool), within its
# 10-minute command limit. Run from the repository root there, with the pack made here first:
#
#   uv run scripts/pack_photos.py ../shared/data/photos .pack/photos   # once, here (git-ignored)
#   uv run scripts/pack_photos.py ../shared/data/val .pack/val --side 256 --budget-mib 8   # optional
#   device run, carry [".pack"]:  bash scripts/device_train.sh
#
# The machine has python3 with torch, Pillow, numpy, OpenCV and safetensors; REVIVE_HOME is set so
# nothing else (platformdirs) is needed. Settings come from the environment so a run can be sized
# without editing: STEPS, BATCH, SIZE (the crop side: revive-base v2.3 gained from crops as large as
# its render size, 192, which want a pack made with --side 240), WIDTHS, BLOCKS, MINUTES (the
# training's wall-clock cap), and
# DEVICE/PYTHON for a smoke test on a CPU (DEVICE=cpu PYTHON="uv run python" STEPS=2 ...). Whatever
# happens, the log and one model file with its card come back in $OUT: the installed model when the
# run finished, else its best-scoring averaged snapshot (the newest when none is scored). With
# .pack/val there, every snapshot is scored on those photos (never trained on) and the best one is
# installed (training.base.snapshot_choice); without it, on the held-out share of the photos. The device tool returns files of at most 16 MiB
# (8 files, 64 MiB in all) and the default U-Net's file is 47 MB, so the file comes back in 15 MiB
# parts with its SHA-256; join them here with
#   cat OUT/NAME.safetensors.part* > NAME.safetensors && sha256sum -c OUT/NAME.safetensors.sha256
# (run in the folder NAME.safetensors is written to). Decoding is then chosen here on val with
# tune_decoding.py.
set -u
STEPS=${STEPS:-6000}
BATCH=${BATCH:-64}
SIZE=${SIZE:-128}
WIDTHS=${WIDTHS:-48,96,192,384}
BLOCKS=${BLOCKS:-6}
MINUTES=${MINUTES:-8}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
OUT=${OUT:-/tmp/revive-device-out}
export REVIVE_HOME=/tmp/revive-home PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$REVIVE_HOME"
if [ "$DEVICE" = cuda ]; then
    $PYTHON -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print(torch.cuda.get_device_name())" || exit 3
fi
# SIGINT is the trainer's Ctrl+C: it saves a resumable state; a minute later it is killed.
TUNE=()
[ -d .pack/val ] && TUNE=(--tune .pack/val)
timeout --signal=INT --kill-after=60 "$((MINUTES * 60))" $PYTHON main.py train-base --photos .pack/photos --out revive-gpu \
    --device "$DEVICE" --steps "$STEPS" --batch-size "$BATCH" --size "$SIZE" --widths "$WIDTHS" --blocks "$BLOCKS" \
    ${TUNE[@]+"${TUNE[@]}"} 2>&1 \
    | tee "$OUT/train.log"
chosen="$REVIVE_HOME"/models/revive-gpu.safetensors
[ -f "$chosen" ] || chosen=$($PYTHON -c "import sys; from training.base.snapshot_choice import best_snapshot_file as best
print(best(sys.argv[1]) or '')" "$REVIVE_HOME"/runs/base-revive-gpu/snapshots)
if [ -n "$chosen" ]; then
    name=$(basename "$chosen")
    (cd "$(dirname "$chosen")" && sha256sum "$name") > "$OUT/$name.sha256"
    split -b 15M -d -a 2 "$chosen" "$OUT/$name.part"
    cp "${chosen%.safetensors}.json" "$OUT/" 2>/dev/null
fi
ls -la "$OUT"
