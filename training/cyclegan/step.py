"""One CycleGAN training step (Zhu et al. 2017), with the colorizer as G.

Code names -> paper names: ``g`` = G: A -> B, ``f`` = F: B -> A, ``d_a`` / ``d_b`` = D_A / D_B;
``cycle_a`` = ||F(G(a)) - a||_1 (forward cycle), ``cycle_b`` = ||G(F(b)) - b||_1 (backward cycle),
``G_adv`` / ``F_adv`` = the generators' least-squares GAN losses, ``D_A`` / ``D_B`` the discriminators'.

Two kinds of G (``ColorizerG`` and ``RGBGenerator``):
- The colorizer sees only L*. G's output image is Lab(L* of the input, predicted a*b*) -> RGB, so it
  keeps the photo's lightness by construction. Its identity term G(b) ~ b *is* a paired colorization
  loss (G only sees b's L*), logged as ``paired``: for a ``UNetColorizer`` it is the base model's own
  colour-class loss (rebalanced soft cross-entropy, Zhang et al. 2016), which keeps colours saturated
  where an L1 on a*b* would pull them towards brown-gray; for a regressing G it is L1 on a*b*/110
  scaled by the cycle weight. ``identity`` is then F(a) ~ a only (F is RGB -> RGB: an old photo fed
  to F should come back unchanged), weighted 0.5 x cycle as in the paper.
- A plain RGB -> RGB ``ResnetGenerator`` (the Monet example): identity is the paper's
  (G(b) ~ b and F(a) ~ a, averaged) and there is no paired term.

Non-finite gradients: a finite loss can still give NaN or infinite gradients (see
``parts.training_precision`` for the case a small run met); such an update is left out, weights
and Adam moments unchanged, and ``skipped`` says which (the trainer counts them and stops a run
that keeps doing it), rather than let one NaN into every weight, the checkpoint and the install.

Mode-collapse guard (``diversity``): the spread (standard deviation across the batch) of each fake
colour photo's mean a*b* should not fall under ``diversity_margin`` Lab units; the penalty is
relu(margin - spread) / margin, 0 for batches of one. It fires when G paints every photo with the
same cast (a common GAN collapse for colorizers) and is silent otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ReviveError
from engine.models.architectures import PredictsAB
from engine.models.architectures.resnet_generator import AB_SCALE
from engine.models.architectures.unet_colorizer import UNetColorizer
from training.colour_classes import colour_class_loss, mean_ab_l1
from training.cyclegan.parts import (
    ImagePool,
    freeze_batch_norm,
    lab_from_rgb11,
    lightness_input,
    lsgan_loss,
    rgb11_from_lab,
    set_requires_grad,
)

LOSS_NAMES = ("G_adv", "F_adv", "cycle_A", "cycle_B", "identity", "paired", "D_A", "D_B", "diversity")


class ColorizerG:
    """G as an L* -> a*b* colorizer (any module with ``predict_ab(L, temperature)``)."""

    colorizer = True

    def __init__(
        self,
        module: nn.Module,
        temperature: float,
        class_weights: torch.Tensor | None,
        freeze_bn: bool,
        prior_correction: float = 0.0,
    ):
        self.module, self.temperature, self.class_weights, self.freeze_bn = (
            module,
            temperature,
            class_weights,
            freeze_bn,
        )
        self.prior_correction = prior_correction

    def translate(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB ``(N, 3, H, W)`` in [-1, 1] -> (coloured RGB ``(N, 3, H, W)`` in [-1, 1], a*b* ``(N, 2, h, w)``)."""
        lightness = lab_from_rgb11(rgb)[:, :1]
        module = cast(PredictsAB, self.module)
        ab = module.predict_ab(lightness_input(lightness), self.temperature, self.prior_correction).float()
        return rgb11_from_lab(lightness, ab), ab

    def paired_loss(self, lab_b: torch.Tensor, cycle_weight: float, regression_weight: float = 0.0) -> torch.Tensor:
        """G(L* of b) against b's a*b*; ``lab_b`` ``(N, 3, H, W)`` Lab. For a ``UNetColorizer``, the
        base recipe's loss: the rebalanced colour-class loss plus ``regression_weight`` times the L1
        of the distribution's mean a*b* (``colour_classes.mean_ab_l1``: uncertain colour goes toward
        neutral, not toward the prior's favourite blue). A colorizer with hint channels is given
        zeros there ("no hints"), as ``predict_ab`` does."""
        x = lightness_input(lab_b[:, :1])
        if isinstance(self.module, UNetColorizer) and self.class_weights is not None:
            logits = self.module(self.module.network_input(x))
            centers = self.module.bin_centers
            loss = colour_class_loss(logits, lab_b[:, 1:], centers, self.class_weights)
            if regression_weight:
                loss = loss + regression_weight * mean_ab_l1(logits, lab_b[:, 1:], centers)
            return loss
        ab = cast(PredictsAB, self.module).predict_ab(x, self.temperature, self.prior_correction).float()
        if ab.shape[-2:] != lab_b.shape[-2:]:
            ab = F.interpolate(ab, size=lab_b.shape[-2:], mode="bilinear", align_corners=False)
        return cycle_weight * F.l1_loss(ab / AB_SCALE, lab_b[:, 1:] / AB_SCALE)

    def train(self) -> None:
        self.module.train()
        if self.freeze_bn:
            freeze_batch_norm(self.module)


class RGBGenerator:
    """G as a plain RGB -> RGB generator (the paper's setting)."""

    colorizer = False

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def translate(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.module(rgb).float()
        return out, lab_from_rgb11(out)[:, 1:]

    def train(self) -> None:
        self.module.train()


def diversity_penalty(ab: torch.Tensor, margin: float) -> torch.Tensor:
    """relu(margin - spread) / margin, spread = std across the batch of each image's mean a*b* ``(N, 2, h, w)``."""
    if ab.shape[0] < 2 or margin <= 0:
        return ab.new_zeros(())
    means = ab.float().mean(dim=(2, 3))  # (N, 2)
    spread = torch.sqrt(means.var(dim=0, unbiased=False).sum() + 1e-6)
    return F.relu(margin - spread) / margin


@dataclass
class CycleGANNetworks:
    """The four networks, their two optimizers (G+F, D_A+D_B, as in the reference code) and the pools.

    ``opt_g`` has two parameter groups, G's and F's, each with its own ``initial_lr`` (G's is
    ``config.g_lr``: the pretrained colorizer moves slower than F, which starts from scratch)."""

    g: ColorizerG | RGBGenerator
    f: nn.Module
    d_a: nn.Module
    d_b: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    pool_a: ImagePool
    pool_b: ImagePool
    # The updates the last step left out: "G" (G and F, opt_g), "D" (D_A and D_B, opt_d).
    skipped: tuple[str, ...] = field(default=())

    @classmethod
    def create(cls, g, f, d_a, d_b, config, device: torch.device) -> "CycleGANNetworks":
        for module in (g.module, f, d_a, d_b):
            module.to(device)
        betas = (config.beta1, 0.999)
        groups = [
            {"params": list(g.module.parameters()), "lr": config.g_lr, "initial_lr": config.g_lr},
            {"params": list(f.parameters()), "lr": config.learning_rate, "initial_lr": config.learning_rate},
        ]
        opt_g = torch.optim.Adam(groups, betas=betas)
        opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=config.learning_rate, betas=betas)
        for group in opt_d.param_groups:
            group["initial_lr"] = config.learning_rate
        return cls(
            g,
            f,
            d_a,
            d_b,
            opt_g,
            opt_d,
            ImagePool(config.pool_size, config.seed),
            ImagePool(config.pool_size, config.seed + 1),
        )

    def train(self) -> None:
        self.g.train()
        for module in (self.f, self.d_a, self.d_b):
            module.train()

    def state_dict(self) -> dict:
        """Tensors only (loadable with ``torch.load(weights_only=True)``); pools are not saved."""
        state: dict[str, Any] = {
            "G": self.g.module.state_dict(),
            "F": self.f.state_dict(),
            "D_A": self.d_a.state_dict(),
            "D_B": self.d_b.state_dict(),
            "opt_G": self.opt_g.state_dict(),
            "opt_D": self.opt_d.state_dict(),
        }
        if isinstance(self.g, ColorizerG) and self.g.class_weights is not None:
            state["class_weights"] = self.g.class_weights
        return state

    def load_state_dict(self, state: dict) -> None:
        try:
            self.g.module.load_state_dict(state["G"])
            self.f.load_state_dict(state["F"])
            self.d_a.load_state_dict(state["D_A"])
            self.d_b.load_state_dict(state["D_B"])
            self.opt_g.load_state_dict(state["opt_G"])
            self.opt_d.load_state_dict(state["opt_D"])
        except (KeyError, RuntimeError, ValueError) as error:
            first = str(error).splitlines()[0]
            raise ReviveError(
                f"the saved training state does not match these options ({first}); resume with the run's"
                " own options (its config.json) or start a new run"
            ) from None
        if isinstance(self.g, ColorizerG) and "class_weights" in state:
            self.g.class_weights = state["class_weights"]

    def step(
        self,
        real_a: torch.Tensor,
        real_b: torch.Tensor,
        config,
        lr_factor: float,
        dtype: torch.dtype,
        adversarial_factor: float = 1.0,
    ) -> dict[str, float]:
        """One update of G and F, then of D_A and D_B. ``real_a``, ``real_b``: ``(N, 3, S, S)`` RGB in
        [-1, 1] on the networks' device; ``lr_factor`` scales every group's ``initial_lr`` (the
        schedule), ``adversarial_factor`` the generators' GAN losses (the warm-up; D always trains).
        Returns the unweighted losses (``LOSS_NAMES``); ``skipped`` then names the updates left out
        for non-finite gradients. ReviveError when a loss is not finite (diverged)."""
        device = real_a.device
        for optimizer in (self.opt_g, self.opt_d):
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * lr_factor
        autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)
        lab_b = lab_from_rgb11(real_b)
        set_requires_grad([self.d_a, self.d_b], False)
        with autocast:
            fake_b, fake_b_ab = self.g.translate(real_a)  # G(a)
            rec_a = self.f(fake_b).float()  # F(G(a))
            fake_a = self.f(real_b).float()  # F(b)
            rec_b, _ = self.g.translate(fake_a)  # G(F(b))
            g_adv = lsgan_loss(self.d_b(fake_b), real=True)
            f_adv = lsgan_loss(self.d_a(fake_a), real=True)
            zero = real_a.new_zeros(())
            identity = F.l1_loss(self.f(real_a).float(), real_a) if config.identity_weight > 0 else zero
            if isinstance(self.g, ColorizerG):
                paired = (
                    self.g.paired_loss(lab_b, config.cycle_weight, config.regression_weight)
                    if config.paired_weight > 0
                    else zero
                )
            else:
                paired = zero
                if config.identity_weight > 0:
                    identity = 0.5 * (identity + F.l1_loss(self.g.translate(real_b)[0], real_b))
        cycle_a = F.l1_loss(rec_a, real_a)
        cycle_b = F.l1_loss(rec_b, real_b)
        diversity = diversity_penalty(fake_b_ab, config.diversity_margin)
        total = (
            config.adversarial_weight * adversarial_factor * (g_adv + f_adv)
            + config.cycle_weight * (cycle_a + cycle_b)
            + config.identity_weight * config.cycle_weight * identity
            + config.paired_weight * paired
            + config.diversity_weight * diversity
        )
        if not torch.isfinite(total):
            raise ReviveError(
                f"training diverged (generator loss is {total.item()}); try a lower learning rate or fp32"
            )
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        skipped = () if step_if_finite(self.opt_g) else ("G",)

        set_requires_grad([self.d_a, self.d_b], True)
        with autocast:
            d_a = 0.5 * (lsgan_loss(self.d_a(real_a), True) + lsgan_loss(self.d_a(self.pool_a.query(fake_a)), False))
            d_b = 0.5 * (lsgan_loss(self.d_b(real_b), True) + lsgan_loss(self.d_b(self.pool_b.query(fake_b)), False))
        d_total = d_a + d_b
        if not torch.isfinite(d_total):
            raise ReviveError(f"training diverged (discriminator loss is {d_total.item()}); try a lower learning rate")
        self.opt_d.zero_grad(set_to_none=True)
        d_total.backward()
        self.skipped = skipped if step_if_finite(self.opt_d) else (*skipped, "D")
        values = (g_adv, f_adv, cycle_a, cycle_b, identity, paired, d_a, d_b, diversity)
        return {name: float(value.detach()) for name, value in zip(LOSS_NAMES, values)}


def step_if_finite(optimizer: torch.optim.Optimizer) -> bool:
    """``optimizer.step()`` unless one of its gradients is NaN or infinite (then nothing changes:
    weights and moments stay as they were). True when it stepped."""
    gradients = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if gradients and not math.isfinite(float(torch.nn.utils.get_total_norm(gradients))):
        return False
    optimizer.step()
    return True
