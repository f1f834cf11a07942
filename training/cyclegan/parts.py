"""Building blocks of CycleGAN training (Zhu et al. 2017), shared by the colorizer fine-tuning and the
plain RGB <-> RGB example: the image pool, the least-squares GAN loss, the learning-rate schedule,
the adversarial warm-up, network builders, and differentiable colour plumbing between "RGB in [-1, 1]" and L*/a*b*.

Tensor conventions here: images are ``(N, 3, H, W)`` float sRGB scaled to [-1, 1] (what the
generators and discriminators see); L* enters a colorizer as L*/50 - 1 in [-1, 1]; a*b* are in Lab
units (about +-110). Colour conversions run in float32 outside autocast.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

from engine.color import lab_to_rgb, rgb_to_lab
from engine.device import DeviceChoice, select_device
from engine.models.architectures.patchgan import PatchDiscriminator
from engine.models.architectures.resnet_generator import ResnetGenerator

# Below this crop side G's global branch (a UNetColorizer's two stride-2 convolutions after its
# x16 down-sampling) runs a strided convolution over a 1x1 map.
MIN_BF16_CPU_CROP = 48


def training_precision(device: str, precision: str, size: int) -> DeviceChoice:
    """The device and precision to train on (``engine.device.select_device``), except that "auto"
    on the CPU trains ``size`` crops under MIN_BF16_CPU_CROP in fp32: there bf16 gave NaN
    gradients. Measured (torch 2.15, oneDNN): the weight gradient of a stride-2 3x3 convolution
    over a 1x1 map in CPU bf16 autocast holds NaN at the taps that fall on the padding (4 of 30
    random cases, every step of the tiny preset), so after one step G's weights were NaN; fp32,
    and 2x2 or larger maps, were clean. At such sizes fp32 costs next to nothing."""
    choice = select_device(device, precision)
    if precision == "auto" and choice.device.type == "cpu" and choice.dtype == torch.bfloat16:
        if size < MIN_BF16_CPU_CROP:
            return select_device(device, "fp32")
    return choice


def non_finite_weight(named: dict[str, dict[str, torch.Tensor]]) -> str | None:
    """The first ``network.tensor`` of ``{network: state dict}`` holding NaN or infinity (None when
    all are finite): what must never be saved or installed."""
    for network, weights in named.items():
        for name, tensor in weights.items():
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
                return f"{network}.{name}"
    return None


class ImagePool:
    """The history of generated images (Shrivastava et al. 2017, as in CycleGAN): the discriminator
    sees, half of the time, a fake from an earlier step instead of the newest one, which damps
    oscillation. ``size`` 0 disables it. Pools are not part of the resumable state: they refill
    within ``size`` images after a resume."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self._images: list[torch.Tensor] = []
        self._random = random.Random(seed)

    def __len__(self) -> int:
        return len(self._images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` fakes (detached) -> ``(N, C, H, W)``, each the new one or a stored one."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image[None]
            if len(self._images) < self.size:
                self._images.append(image)
                out.append(image)
            elif self._random.random() < 0.5:
                index = self._random.randrange(self.size)
                out.append(self._images[index].clone())
                self._images[index] = image
            else:
                out.append(image)
        return torch.cat(out, dim=0)


def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017): mean (D(x) - 1)^2 for real, D(x)^2 for fake."""
    scores = scores.float()
    return F.mse_loss(scores, torch.ones_like(scores) if real else torch.zeros_like(scores))


def learning_rate_factor(step: int, total: int, decay_start: int) -> float:
    """Constant until ``decay_start``, then linear to 0 at ``total`` (the paper: 100 + 100 epochs)."""
    if step < decay_start:
        return 1.0
    return max(0.0, 1.0 - (step - decay_start) / max(1, total - decay_start))


def adversarial_factor(step: int, warmup: int) -> float:
    """The share of the adversarial weight at ``step``: a linear ramp from 0 at step 0 to 1 at
    ``warmup`` (and after); 1 throughout when ``warmup`` is 0. The discriminators train from step 0,
    so they already tell real from fake when the generators start to listen to them."""
    if warmup <= 0:
        return 1.0
    return min(1.0, step / warmup)


def set_requires_grad(modules: list[nn.Module], flag: bool) -> None:
    for module in modules:
        for parameter in module.parameters():
            parameter.requires_grad_(flag)


def build_resnet(config, in_channels: int, out_channels: int) -> ResnetGenerator:
    """A ``ResnetGenerator`` with the config's options (blocks, norm, activation, downsampling)."""
    return ResnetGenerator(
        in_channels=in_channels,
        out_channels=out_channels,
        filters=config.f_filters,
        n_blocks=config.f_blocks,
        norm=config.norm,
        activation_name=config.activation,
        downsampling=config.downsampling,
        norm_first=config.norm_first,
        norm_last=config.norm_last,
    )


def build_discriminator(config, in_channels: int = 3) -> PatchDiscriminator:
    """A PatchGAN (no norm in its first layer, as in the paper) with the config's norm and size."""
    return PatchDiscriminator(
        in_channels=in_channels, filters=config.d_filters, n_layers=config.d_layers, norm=config.norm
    )


def freeze_batch_norm(module: nn.Module) -> None:
    """Put every BatchNorm of ``module`` in eval mode: its running statistics stay as loaded while its
    affine weights still train. Call after every ``module.train()``."""
    for child in module.modules():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            child.eval()


def lab_from_rgb11(rgb: torch.Tensor) -> torch.Tensor:
    """RGB ``(N, 3, H, W)`` in [-1, 1] -> Lab ``(N, 3, H, W)`` (L in [0, 100]); differentiable, float32."""
    with torch.autocast(rgb.device.type, enabled=False):
        return rgb_to_lab((rgb.float() + 1.0) / 2.0)


def rgb11_from_lab(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """L* ``(N, 1, H, W)`` in [0, 100] and a*b* ``(N, 2, h, w)`` (upsampled to H, W when smaller) ->
    RGB ``(N, 3, H, W)`` in [-1, 1]; differentiable, float32 (out-of-gamut colours are clipped)."""
    with torch.autocast(lightness.device.type, enabled=False):
        ab = ab.float()
        if ab.shape[-2:] != lightness.shape[-2:]:
            ab = F.interpolate(ab, size=lightness.shape[-2:], mode="bilinear", align_corners=False)
        return lab_to_rgb(torch.cat((lightness.float(), ab), dim=1)) * 2.0 - 1.0


def lightness_input(lightness: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] -> the colorizer's input L*/50 - 1 in [-1, 1]."""
    return lightness / 50.0 - 1.0


def uint8_to_rgb11(images: torch.Tensor) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 sRGB -> ``(N, 3, H, W)`` float32 in [-1, 1]."""
    return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def rgb11_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> ``(N, H, W, 3)`` uint8 sRGB on the CPU."""
    scaled = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5 + 0.5).to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).cpu()
