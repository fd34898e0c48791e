"""The residual vector quantizer: shapes, the side-effect-free lookup, k-means warm-up, dead codes."""

from __future__ import annotations

import pytest
import torch

from sda.models.quantizer import Quantizer

CORNERS = torch.tensor([[4.0, 4.0], [-4.0, 4.0], [4.0, -4.0], [-4.0, -4.0]])


def clustered_latents(batch: int = 2, frames: int = 200, seed: int = 0) -> torch.Tensor:
    """(batch, 2, frames) latents scattered tightly around the four CORNERS."""
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(0, len(CORNERS), (batch, frames), generator=generator)
    noise = 0.1 * torch.randn(batch, frames, 2, generator=generator)
    return (CORNERS[which] + noise).transpose(1, 2)


@pytest.fixture
def quantizer() -> Quantizer:
    torch.manual_seed(0)
    q = Quantizer(dim=2, num_levels=3, codebook_size=4, decay=0.5)
    q.warm_up(clustered_latents(), vectors_per_batch=64)
    return q


def test_warm_up_runs_k_means_once_until_reinitialized() -> None:
    torch.manual_seed(0)
    q = Quantizer(dim=2, num_levels=3, codebook_size=4)
    latents = clustered_latents()
    assert not q.initialized
    assert q.warm_up(latents) is True and q.initialized
    first = q.codebooks.clone()
    assert q.warm_up(latents * 100) is False  # already done: the codebooks stay
    assert torch.equal(q.codebooks, first)
    q.reinitialize()
    assert not q.initialized
    assert q.warm_up(latents * 100) is True
    assert not torch.allclose(q.codebooks, first)


def test_warm_up_fits_the_data_and_keeps_the_mode() -> None:
    torch.manual_seed(0)
    q = Quantizer(dim=2, num_levels=3, codebook_size=4).eval()
    latents = clustered_latents()
    untrained_error = (latents - q.codes_to_latents(q.latents_to_codes(latents), 1)).norm()
    q.warm_up(latents, vectors_per_batch=64)
    assert not q.training and not q.rvq.training  # warm-up trains internally, then restores eval
    codes = q.latents_to_codes(latents)
    coarse_error = (latents - q.codes_to_latents(codes, 1)).norm()
    full_error = (latents - q.codes_to_latents(codes)).norm()
    assert coarse_error < 0.6 * untrained_error
    assert full_error < 0.05 * latents.norm()
    # the EMA statistics are rescaled to one batch of `vectors_per_batch` vectors, per level
    for layer in q.rvq.layers:
        assert float(layer._codebook.cluster_size.sum()) == pytest.approx(64.0, rel=1e-3)
    assert q.pop_stats().vectors == 0  # warm-up is not counted as training usage


def test_training_forward_shapes_and_gradients(quantizer: Quantizer) -> None:
    quantizer.train()
    latents = clustered_latents(batch=3, frames=50, seed=1).requires_grad_(True)
    out = quantizer(latents)
    assert out.quantized.shape == (3, 2, 50)
    assert out.codes.shape == (3, 3, 50) and out.codes.dtype == torch.long
    assert out.codes.min() >= 0 and out.codes.max() < 4
    assert out.commit_loss.ndim == 0 and out.commit_loss > 0
    out.quantized.sum().backward()  # straight-through: the encoder learns through the codes
    assert latents.grad is not None and latents.grad.abs().sum() > 0


def test_lookup_matches_the_library_and_round_trips(quantizer: Quantizer) -> None:
    quantizer.eval()
    latents = clustered_latents(seed=2)
    codes = quantizer.latents_to_codes(latents)  # (batch, levels, frames)
    assert codes.shape == (2, 3, 200) and codes.min() >= 0 and codes.max() < 4
    quantized, library_codes, _ = quantizer.rvq(latents.transpose(1, 2))
    assert torch.equal(library_codes.transpose(1, 2), codes)
    torch.testing.assert_close(quantizer.codes_to_latents(codes), quantized.transpose(1, 2))
    out = quantizer(latents)  # eval forward: the same greedy lookup, no commitment loss
    assert torch.equal(out.codes, codes) and float(out.commit_loss) == 0.0
    torch.testing.assert_close(out.quantized, quantizer.codes_to_latents(codes))


def test_eval_lookup_has_no_side_effects(quantizer: Quantizer) -> None:
    quantizer.eval()
    before = quantizer.codebooks.clone()
    quantizer(clustered_latents(seed=3) + 5.0)
    quantizer.latents_to_codes(clustered_latents(seed=4) - 5.0)
    assert torch.equal(quantizer.codebooks, before)
    assert quantizer.pop_stats().vectors == 0


def test_level_truncation_and_dropped_levels(quantizer: Quantizer) -> None:
    codes = quantizer.latents_to_codes(clustered_latents(seed=5))
    books = quantizer.codebooks
    coarse = books[0][codes[:, 0]].transpose(1, 2)  # (batch, dim, frames)
    two = coarse + books[1][codes[:, 1]].transpose(1, 2)
    torch.testing.assert_close(quantizer.codes_to_latents(codes, levels=1), coarse)
    torch.testing.assert_close(quantizer.codes_to_latents(codes, levels=2), two)
    torch.testing.assert_close(quantizer.codes_to_latents(codes[:, :2]), two)  # a coarse prefix
    torch.testing.assert_close(quantizer.codes_to_latents(codes[:, :2], levels=9), two)
    dropped = codes.clone()
    dropped[:, 2] = -1  # -1 adds nothing
    torch.testing.assert_close(quantizer.codes_to_latents(dropped), two)


def test_every_added_level_shrinks_the_error(quantizer: Quantizer) -> None:
    latents = clustered_latents(seed=6)
    codes = quantizer.latents_to_codes(latents)
    errors = [(latents - quantizer.codes_to_latents(codes, k)).norm() for k in (1, 2, 3)]
    assert errors[0] > errors[1] > errors[2]


def test_quantizer_dropout_drops_fine_levels_never_the_coarse_one(quantizer: Quantizer) -> None:
    quantizer.train()
    torch.manual_seed(0)
    kept = torch.zeros(3)  # steps in which each level was kept
    for _ in range(12):
        codes = quantizer(clustered_latents(seed=7), dropout=True).codes
        assert (codes[:, 0] >= 0).all()
        kept += (codes >= 0).all(dim=2).all(dim=0).float()
    assert kept[0] == 12 and kept[2] < 12  # some step stopped early
    # a dropped level is not counted as usage: each level counts 400 vectors per kept step
    torch.testing.assert_close(quantizer.usage.sum(dim=1), 400 * kept)
    assert quantizer.pop_stats().vectors == 12 * 400
    for _ in range(3):
        assert (quantizer(clustered_latents(seed=7)).codes >= 0).all()  # dropout=False keeps all


def _train_on_one_spot(quantizer: Quantizer, steps: int = 20) -> None:
    """Training steps whose batches all sit near (10, 10): every other code falls silent."""
    quantizer.train()
    generator = torch.Generator().manual_seed(8)
    for _ in range(steps):
        batch = torch.tensor([10.0, 10.0]) + 0.1 * torch.randn(64, 2, generator=generator)
        quantizer(batch.T.unsqueeze(0))


def _spread_out_quantizer() -> Quantizer:
    torch.manual_seed(0)
    q = Quantizer(dim=2, num_levels=1, codebook_size=8, decay=0.5)
    q.warm_up(
        4.0 * torch.randn(1, 2, 400, generator=torch.Generator().manual_seed(9)),
        vectors_per_batch=64,
    )
    return q


def test_dead_codes_are_reseeded_from_the_batch_when_enabled() -> None:
    q = _spread_out_quantizer()
    # the threshold is relative: half the average hits per code per batch (64 / 8 / 2)
    assert q.configure_dead_codes(vectors_per_batch=64, fraction=0.5) == pytest.approx(4.0)
    _train_on_one_spot(q)
    stats = q.pop_stats()
    assert stats.dead_code_resets[0] > 0 and stats.vectors == 20 * 64
    assert stats.used_fraction[0] == 1.0 and stats.perplexity[0] > 4
    distance = (q.codebooks[0] - torch.tensor([10.0, 10.0])).norm(dim=-1)
    assert (distance < 1.0).all()  # every code moved to where the sound now is
    assert q.pop_stats() == type(stats)([0.0], [0.0], [0], 0)  # counters were reset


def test_dead_codes_stay_put_by_default_and_with_zero_fraction() -> None:
    for fraction in (None, 0.0):
        q = _spread_out_quantizer()
        if fraction is not None:
            assert q.configure_dead_codes(vectors_per_batch=64, fraction=fraction) == 0.0
        _train_on_one_spot(q)
        stats = q.pop_stats()
        assert stats.dead_code_resets == [0]
        assert stats.used_fraction == [1 / 8] and stats.perplexity[0] == pytest.approx(1.0)
        distance = (q.codebooks[0] - torch.tensor([10.0, 10.0])).norm(dim=-1)
        assert int((distance < 1.0).sum()) == 1  # only the code that wins the batch moves there


def test_stats_match_the_codes_that_were_used(quantizer: Quantizer) -> None:
    quantizer.train()
    used = [quantizer(clustered_latents(seed=s)).codes for s in (10, 11)]
    counts = torch.bincount(torch.cat([c[:, 0].reshape(-1) for c in used]), minlength=4).float()
    p = counts[counts > 0] / counts.sum()
    stats = quantizer.pop_stats()
    assert stats.vectors == 800
    assert stats.perplexity[0] == pytest.approx(float(torch.exp(-(p * p.log()).sum())), rel=1e-5)
    assert stats.used_fraction[0] == float((counts > 0).float().mean())
    assert len(stats.perplexity) == len(stats.used_fraction) == len(stats.dead_code_resets) == 3
    assert all(1.0 <= value <= 4.0 for value in stats.perplexity)


def test_lean_kmeans_matches_the_library_kmeans() -> None:
    """Same start, same iterations: the same means and counts as the library's k-means."""
    from vector_quantize_pytorch.vector_quantize_pytorch import kmeans as library_kmeans

    from sda.models.kmeans import kmeans, nearest_codes

    generator = torch.Generator().manual_seed(0)
    centres = 3 * torch.randn(40, 16, generator=generator)
    vectors = centres[torch.randint(0, 40, (5000,), generator=generator)]
    vectors = vectors + 0.5 * torch.randn(5000, 16, generator=generator)
    first = vectors[torch.randperm(5000, generator=generator)[:64]]
    means, counts = kmeans(vectors, 64, iterations=6, first_means=first)
    expected_means, expected_counts = library_kmeans(
        vectors.unsqueeze(0), 64, 6, sample_fn=lambda samples, num: first.unsqueeze(0)
    )
    torch.testing.assert_close(means, expected_means[0], rtol=1e-4, atol=1e-4)
    assert torch.equal(counts.long(), expected_counts[0].long())
    assert counts.sum() == 5000
    brute_force = torch.cdist(vectors, means).argmin(dim=-1)
    assert torch.equal(nearest_codes(vectors, means), brute_force)
