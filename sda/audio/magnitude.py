"""Magnitudes and powers of complex spectra, computed on their real and imaginary parts.

`Tensor.abs()` of a complex tensor is slow on a CPU: on a training step's spectra (8 crops,
189 frames x 1,025 bins) it took 4.9 ms where the square root of real^2 + imag^2 took 1.2 ms, and
its backward another pass through `sgn`. The spectral losses take ~20 magnitudes per codec
training step, the encoder one more (experiments/RESULTS.md, Codec, 2026-12-07 "magnitudes").
The values are the same to rounding, and so is the gradient (torch's own for `abs`).
"""

from __future__ import annotations

import torch
from torch import Tensor

# The backward divides by at least this: where |z| is 0 the gradient is 0, as abs's, and the
# quotient stays finite for any gradient below 1e26 (with 1e-30, a gradient of 1e9 at a silent bin
# would make inf, and 0 * inf a NaN); bins under it lie 240 dB and more below full scale.
_TINY = 1e-12


class _Magnitude(torch.autograd.Function):
    """|z| with abs's gradient, grad * z / |z| (0 where z = 0)."""

    @staticmethod
    def forward(ctx, spectrum: Tensor) -> Tensor:
        magnitude = power(spectrum).sqrt_()
        ctx.save_for_backward(spectrum, magnitude)
        return magnitude

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        spectrum, magnitude = ctx.saved_tensors
        # where |z| is 0, z is too and the clamped quotient finite: the product is 0.
        # On the real and imaginary parts: a complex tensor times a real one is a complex product.
        scale = (grad / magnitude.clamp_min(_TINY)).unsqueeze(-1)
        return torch.view_as_complex(torch.view_as_real(spectrum) * scale)


def magnitude(spectrum: Tensor) -> Tensor:
    """|spectrum| of a complex tensor (a real one: its absolute value), differentiable."""
    if not spectrum.is_complex():
        return spectrum.abs()
    return _Magnitude.apply(spectrum)


def power(spectrum: Tensor) -> Tensor:
    """|spectrum|^2 of a complex tensor, real^2 + imag^2, differentiable."""
    parts = torch.view_as_real(spectrum)
    real, imag = parts[..., 0], parts[..., 1]
    return torch.addcmul(real * real, imag, imag)


def cross_power(first: Tensor, second: Tensor) -> Tensor:
    """Re(first * conj(second)) of two complex tensors of one shape, differentiable: the sum of
    the products of their real parts and of their imaginary parts."""
    return (torch.view_as_real(first) * torch.view_as_real(second)).sum(-1)
