"""Several takes steered in one batch (`sda.generate.particle_groups`): choices and feedback stay
within each group of rows, each group measured against its own stretch of the controls."""

import pytest
import torch

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.generate import particles
from sda.generate.particle_groups import ParticleGroups
from sda.generate.particles import ParticleSteering

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def groups_for(bundle, controls, rows=3, frames=200, starts=(0, 100)):
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    steerings = [ParticleSteering(bundle.codec, stats, controls, frames) for _ in starts]
    return ParticleGroups(steerings, starts=starts, rows=rows)


def test_a_choice_copies_rows_only_within_their_group(tiny_prior_bundle, monkeypatch):
    """Each group continues from its own closest row; which frames of the curve each group is
    measured against follows its start in the take."""
    asked: list[tuple[int, int]] = []

    def closest(self, grid, start, end, take_offset=0):
        asked.append((take_offset + start, take_offset + end))
        return int(grid[:, :, start:end].sum(dim=(1, 2)).argmax())  # the loudest codes

    monkeypatch.setattr(ParticleSteering, "closest", closest)
    groups = groups_for(tiny_prior_bundle, {"brightness": 0.7})
    levels = tiny_prior_bundle.codec.config.num_levels
    delayed = torch.zeros(6, levels, groups.chunk + levels - 1, dtype=torch.long)
    delayed[1] += 1  # the first group's closest: its second row
    delayed[5] += 1  # the second group's: its third
    selection = groups.selection(0)
    assert groups.lineage(6) is None  # before the window's first choice: each row its own
    lineage = selection.choose(delayed)
    assert lineage.tolist() == [1, 1, 1, 5, 5, 5]
    assert groups.lineage(6).tolist() == [1, 1, 1, 5, 5, 5]
    assert asked == [(0, groups.chunk), (100, 100 + groups.chunk)]
    length = groups.chunk + 10  # the final choice: each group's last chunk
    grids = torch.zeros(6, levels, length, dtype=torch.long)
    grids[0] += 1
    grids[4] += 1
    assert groups.closest(grids, ends=(length, length - 1)) == [0, 1]
    assert asked[-2:] == [(10, length), (109, 99 + length)]


def test_each_group_keeps_its_own_feedback(tiny_prior_bundle, monkeypatch):
    """Tension fed back per group: a half that played calm is asked for more, the other not."""
    readings = iter([0.2, 0.9])
    monkeypatch.setattr(
        particles,
        "measured_controls",
        lambda audio, rate, names, stats: {"tension": next(readings)},
    )
    groups = groups_for(tiny_prior_bundle, {"tension": 0.6}, rows=1)
    grids = torch.randint(0, 4, (2, tiny_prior_bundle.codec.config.num_levels, 60))
    groups.closest(grids, ends=(60, 60))
    asked = torch.full((2, len(CONTROL_NAMES)), 0.6)
    given = groups.selection(0).condition(asked)[:, CONTROL_NAMES.index("tension")]
    gain = particles.FEEDBACK_GAIN
    assert given.tolist() == pytest.approx([0.6 + gain * 0.4, 0.6 - gain * 0.3])


def test_groups_measured_side_by_side_choose_as_one_after_another(tiny_prior_bundle):
    """On two threads the groups' chunks are decoded and measured at once (the real codec and
    descriptors): the same choices and the same feedback as in turn, torch's threads restored."""
    levels = tiny_prior_bundle.codec.config.num_levels
    codebook = tiny_prior_bundle.codec.config.codebook_size
    grids = torch.randint(0, codebook, (6, levels, 90), generator=torch.Generator().manual_seed(3))
    controls = {"tension": 0.8, "brightness": 0.3}
    made = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        groups = groups_for(tiny_prior_bundle, controls, frames=180, starts=(0, 90))
        assert groups.workers == threads
        chosen = groups.closest(grids, ends=(90, 90))
        made.append((chosen, [group.offsets for group in groups.groups],
                     [group.distances for group in groups.groups]))  # fmt: skip
        assert torch.get_num_threads() == threads
    torch.set_num_threads(1)
    assert made[0] == made[1]
    assert any(offsets["tension"] != 0.0 for offsets in made[0][1])  # measured, not skipped
