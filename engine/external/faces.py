"""Face restoration with an external model (GFPGAN, CodeFormer, RestoreFormer).

Contract of ``FaceRestorer.apply_faces``: ``(H, W, 3)`` sRGB uint8 or uint16, gamma-encoded ->
the same shape and dtype, changed only around the faces found. For each face:

1. detection: OpenCV's bundled Haar cascades (frontal face, then the eyes inside it);
2. alignment: a similarity transform (rotation, scale, shift) puts the eye centres where the FFHQ
   template has them at 512 px, the crop the three models were trained on (the eyes are estimated
   from the face box when the eye cascade finds no plausible pair);
3. restoration at 512 x 512: input and output in [-1, 1] for GFPGAN and CodeFormer, as in their
   authors' inference scripts (spandrel's call API would feed them [0, 1]); RestoreFormer through
   spandrel, which normalises as its authors do;
4. blending back: the restored square is warped back and mixed in through a feathered mask, so no
   edge of the square shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.errors import ModelFileError
from engine.external.runtime import LoadedModel, check_image, load_external, require_finite, running

log = logging.getLogger(__name__)

FACE_SIZE = 512  # GFPGAN, CodeFormer and RestoreFormer restore FFHQ-aligned 512 px faces
# Eye centres (image left, image right) of the FFHQ alignment template at 512 px.
TEMPLATE_EYES = ((192.98, 239.95), (318.90, 240.19))
# Where a Haar frontal-face box has the eyes, as fractions of its width and height (measured on
# the cascade's typical boxes: eyes at about 38 % of the height, 30 % and 70 % of the width).
BOX_EYES = ((0.30, 0.38), (0.70, 0.38))
PAD_GRAY = (135 / 255, 133 / 255, 132 / 255)  # the neutral gray the FFHQ crops are padded with
FEATHER = 32  # pixels (at 512) over which the restored square fades into the photo
DETECT_LONG_SIDE = 1280  # faces are looked for on a copy at most this large (the cascade's cost is per pixel)
DEFAULT_FIDELITY = 0.5  # CodeFormer's w: 0 = most restored, 1 = most faithful; its authors' default


@dataclass(frozen=True)
class Face:
    """A face found in a photo: its box ``(x, y, w, h)`` and eye centres (image left, image right)."""

    box: tuple[int, int, int, int]
    eyes: tuple[tuple[float, float], tuple[float, float]]
    eyes_found: bool


Detector = Callable[[np.ndarray], list[Face]]


class HaarFaceDetector:
    """Frontal faces and their eyes with OpenCV's bundled Haar cascades. ``__call__``: ``(H, W, 3)``
    uint8 sRGB -> faces, largest first."""

    def __init__(self, min_face: int = 24):
        import cv2

        self._cv2 = cv2
        folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]  # bundled with the wheel, not in its stubs
        self._faces = cv2.CascadeClassifier(str(folder / "haarcascade_frontalface_default.xml"))
        self._eyes = cv2.CascadeClassifier(str(folder / "haarcascade_eye.xml"))
        if self._faces.empty() or self._eyes.empty():
            raise ModelFileError(f"OpenCV's face cascades are missing from {folder} (reinstall opencv-python-headless)")
        self.min_face = min_face

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        cv2 = self._cv2
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        factor = min(1.0, DETECT_LONG_SIDE / max(gray.shape))
        small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else gray
        small = cv2.equalizeHist(small)
        minimum = max(12, round(self.min_face * factor))
        boxes = self._faces.detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(minimum, minimum))
        faces = []
        for bx, by, bw, bh in sorted((tuple(int(v) for v in b) for b in boxes), key=lambda b: -b[2] * b[3]):
            box = (round(bx / factor), round(by / factor), round(bw / factor), round(bh / factor))
            eyes = self._find_eyes(small[by : by + bh, bx : bx + bw])
            if eyes is None:
                faces.append(Face(box, box_eyes(box), False))
            else:
                (lx, ly), (rx, ry) = eyes
                faces.append(
                    Face(
                        box, (((bx + lx) / factor, (by + ly) / factor), ((bx + rx) / factor, (by + ry) / factor)), True
                    )
                )
        return faces

    def _find_eyes(self, face: np.ndarray):
        """The eye centres inside a face crop, or None when no plausible pair is found."""
        h, w = face.shape
        upper = face[: int(h * 0.62)]
        found = self._eyes.detectMultiScale(upper, scaleFactor=1.1, minNeighbors=4, minSize=(max(4, w // 10),) * 2)
        centres = [(x + ew / 2, y + eh / 2, ew * eh) for x, y, ew, eh in found]
        left = max((c for c in centres if c[0] < w / 2), key=lambda c: c[2], default=None)
        right = max((c for c in centres if c[0] >= w / 2), key=lambda c: c[2], default=None)
        if left is None or right is None:
            return None
        dx, dy = right[0] - left[0], right[1] - left[1]
        if not 0.2 * w <= dx <= 0.7 * w or abs(dy) > 0.6 * dx:  # too close, too far, or tilted past ~30 degrees
            return None
        return (left[0], left[1]), (right[0], right[1])


def box_eyes(box: tuple[int, int, int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where a face box's eyes are expected (``BOX_EYES``)."""
    x, y, w, h = box
    (lx, ly), (rx, ry) = BOX_EYES
    return (x + lx * w, y + ly * h), (x + rx * w, y + ry * h)


def alignment(eyes, size: int = FACE_SIZE) -> np.ndarray:
    """The 2x3 similarity transform taking the photo's eye centres to the template's at ``size``.

    Written with complex numbers: z' = a z + b, where a holds the rotation and scale."""
    (lx, ly), (rx, ry) = eyes
    factor = size / 512.0
    (tlx, tly), (trx, try_) = ((x * factor, y * factor) for x, y in TEMPLATE_EYES)
    source = complex(rx - lx, ry - ly)
    if abs(source) < 1e-6:
        raise ValueError("the eyes must be apart")
    a = complex(trx - tlx, try_ - tly) / source
    b = complex(tlx, tly) - a * complex(lx, ly)
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]], np.float64)


def feather_mask(size: int = FACE_SIZE) -> np.ndarray:
    """``(size, size)`` float32 in [0, 1]: 1 inside, fading to 0 over ``FEATHER`` px at the edges."""
    import cv2

    margin = max(2, FEATHER * size // 512)
    mask = np.zeros((size, size), np.float32)
    mask[margin:-margin, margin:-margin] = 1.0
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=margin / 2)


class FaceRestorer:
    """A loaded face restoration model with a face detector. Not thread-safe: one thread calls it."""

    def __init__(self, loaded: LoadedModel, detector: Detector | None = None, fidelity: float = DEFAULT_FIDELITY):
        if not 0.0 <= fidelity <= 1.0:
            raise ValueError(f"fidelity must be from 0 to 1, got {fidelity}")
        self.loaded = loaded
        self.card = loaded.card
        self.device = loaded.device
        self.path: Path = loaded.path
        self.warnings = loaded.warnings
        self.detector = detector if detector is not None else HaarFaceDetector()
        self.fidelity = fidelity

    @classmethod
    def load(
        cls, name_or_path: str | Path, device: str = "cpu", precision: str = "auto", fidelity: float = DEFAULT_FIDELITY
    ) -> FaceRestorer:
        """Load an added face restoration model by name, or a model file by path."""
        loaded = load_external(name_or_path, ("face restoration",), "a face restoration model", device, precision)
        return cls(loaded, fidelity=fidelity)

    @torch.inference_mode()
    def restore_face(self, face: np.ndarray) -> np.ndarray:
        """One aligned face: ``(512, 512, 3)`` float32 sRGB in [0, 1] -> the same, restored."""
        loaded = self.loaded
        x = torch.from_numpy(np.ascontiguousarray(face.transpose(2, 0, 1)))[None]
        x = x.to(loaded.device.device, torch.float32)
        model = loaded.descriptor.model
        with running(loaded, "a 512 px face"):
            if self.card.architecture == "GFPGAN":
                # Fixed noise (the buffers in the file) instead of fresh noise: the same photo gives the same face.
                y = (model(x * 2 - 1, return_rgb=False, randomize_noise=False)[0] + 1) / 2
            elif self.card.architecture == "CodeFormer":
                y = (model(x * 2 - 1, weight=self.fidelity)[0] + 1) / 2
            else:
                y = loaded.descriptor(x)
        return require_finite(y.float(), "the face model").clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()

    def apply_faces(self, rgb: np.ndarray, faces: list[Face] | None = None) -> np.ndarray:
        """``rgb`` with every face (found by the detector unless ``faces`` are given) restored and
        blended back (see the module's contract)."""
        import cv2

        check_image(rgb, "photo", gray_ok=False)
        scale = 255.0 if rgb.dtype == np.uint8 else 65535.0
        if faces is None:
            faces = self.detector(rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8))
        if not faces:
            return rgb.copy()
        out = rgb.astype(np.float32) / scale
        height, width = rgb.shape[:2]
        mask = feather_mask()
        corners = np.array([[0, 0, 1], [FACE_SIZE, 0, 1], [0, FACE_SIZE, 1], [FACE_SIZE, FACE_SIZE, 1]], np.float64)
        for face in faces:
            forward = alignment(face.eyes)
            crop = cv2.warpAffine(
                out,
                forward,
                (FACE_SIZE, FACE_SIZE),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=PAD_GRAY,
            )
            restored = self.restore_face(crop)
            inverse = cv2.invertAffineTransform(forward)
            # Only the photo's rectangle under the restored square is touched (not a full-size warp per face).
            spots = corners @ inverse.T
            x0, y0 = (max(0, int(np.floor(v))) for v in spots.min(axis=0))
            x1, y1 = min(width, int(np.ceil(spots[:, 0].max())) + 1), min(height, int(np.ceil(spots[:, 1].max())) + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            local = inverse.copy()
            local[:, 2] -= (x0, y0)
            size = (x1 - x0, y1 - y0)
            back = cv2.warpAffine(restored, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            weight = cv2.warpAffine(
                mask, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )[..., None]
            region = out[y0:y1, x0:x1]
            region += (back - region) * weight
        return (out * scale + 0.5).clip(0, scale).astype(rgb.dtype)
