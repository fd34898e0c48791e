"""Magnitudes and powers of complex spectra: abs's values and gradients, faster."""

from __future__ import annotations

import torch

from sda.audio.magnitude import cross_power, magnitude, power


def _spectrum() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    audio = torch.randn(3, 4096, generator=generator)
    audio[0, :2048] = 0.0  # silent frames: bins of exactly 0, where abs's gradient is 0
    return torch.stft(audio, 512, 128, window=torch.hann_window(512), return_complex=True)


def test_magnitude_and_its_gradient_are_abs():
    spectrum = _spectrum()
    assert bool((spectrum == 0).any())
    weights = torch.randn(spectrum.shape, generator=torch.Generator().manual_seed(1))
    ours, theirs = spectrum.clone().requires_grad_(), spectrum.clone().requires_grad_()
    (magnitude(ours) * weights).sum().backward()
    (theirs.abs() * weights).sum().backward()
    torch.testing.assert_close(magnitude(spectrum), spectrum.abs())
    torch.testing.assert_close(ours.grad, theirs.grad)
    assert bool(torch.isfinite(torch.view_as_real(ours.grad)).all())
    assert bool((ours.grad[spectrum == 0] == 0).all())


def test_magnitude_passes_gradcheck_in_double_precision():
    generator = torch.Generator().manual_seed(2)
    spectrum = torch.randn(4, 6, dtype=torch.complex128, generator=generator).requires_grad_()
    assert torch.autograd.gradcheck(magnitude, (spectrum,))


def test_power_and_its_gradient_are_abs_squared():
    spectrum = _spectrum()
    ours, theirs = spectrum.clone().requires_grad_(), spectrum.clone().requires_grad_()
    power(ours).sum().backward()
    theirs.abs().square().sum().backward()
    torch.testing.assert_close(power(spectrum), spectrum.abs().square())
    torch.testing.assert_close(ours.grad, theirs.grad)


def test_cross_power_and_its_gradients_are_the_real_part_of_the_conjugate_product():
    spectrum = _spectrum()
    other = torch.roll(spectrum, 1, dims=-1) * (0.5 - 0.25j)
    pairs = [
        (t.clone().requires_grad_(), u.clone().requires_grad_()) for t, u in [(spectrum, other)] * 2
    ]
    (ours_a, ours_b), (theirs_a, theirs_b) = pairs
    cross_power(ours_a, ours_b).sum().backward()
    (theirs_a * theirs_b.conj()).real.sum().backward()
    torch.testing.assert_close(cross_power(spectrum, other), (spectrum * other.conj()).real)
    torch.testing.assert_close(ours_a.grad, theirs_a.grad)
    torch.testing.assert_close(ours_b.grad, theirs_b.grad)


def test_a_real_tensor_gets_its_absolute_value():
    values = torch.tensor([-2.0, 0.0, 3.0])
    assert torch.equal(magnitude(values), values.abs())


def test_a_silent_bin_takes_no_gradient_however_large_the_gradient_above():
    spectrum = torch.zeros(2, 5, dtype=torch.complex64, requires_grad=True)
    (magnitude(spectrum) * 1e20).sum().backward()  # a loss that weighs silence enormously
    assert bool((spectrum.grad == 0).all())
