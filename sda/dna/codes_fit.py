"""Do these codes fit this model: the one check before a grid is decoded, continued, edited or
blended. Codes from another model would decode to a different sound, so they are refused.

`model` arguments take a loaded `Bundle` (preferred: its id is computed once) or a bare `Codec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sda.dna.codes import Codes
from sda.dna.errors import CodesError

if TYPE_CHECKING:
    from sda.library import Bundle
    from sda.models.codec import Codec


def model_parts(model: Bundle | Codec | Any) -> tuple[Codec, str, str]:
    """(codec, model id, display name) of a bundle (or anything with `.codec`) or a bare codec."""
    codec = model.codec if hasattr(model, "codec") else model
    model_id = str(getattr(model, "id", None) or codec.fingerprint())
    return codec, model_id, str(getattr(model, "name", None) or model_id)


def check_codes(
    model: Bundle | Codec | Any,
    codes: Codes,
    *,
    what: str = "these codes",
    all_levels: bool = False,
) -> None:
    """Refuse codes that `model` did not make, or whose levels and codebook it does not have.

    `what` names the codes in the message ("the codes in kick.sdacodes"); `all_levels` asks for
    every level of the model (the prior continues full grids), otherwise fewer levels are fine.
    """
    codec, model_id, name = model_parts(model)
    if codes.bundle_id != model_id:
        stereo = codes.channels == 2 and getattr(model, "channels", 1) != 2
        raise CodesError(
            f"{what} were made by model {codes.bundle_id}, not by {name} ({model_id}); "
            + (
                f"they are stereo (a mid and a side grid) and {name} is mono: use the stereo "
                "model that made them, or re-encode the audio with this one"
                if stereo
                else "use the model that made them, or re-encode the audio with this one"
            )
        )
    config = codec.config
    too_few = all_levels and codes.levels != config.num_levels
    if codes.codebook_size != config.codebook_size or codes.levels > config.num_levels or too_few:
        need = "needs all of them" if all_levels else "can use at most that many"
        raise CodesError(
            f"{what} have {codes.levels} levels of {codes.codebook_size} codes; "
            f"{name} has {config.num_levels} levels of {config.codebook_size} and {need}"
        )
    if codes.channels == 2 and getattr(model, "channels", 1) != 2:  # see sda.dna.stereo_bridge
        raise CodesError(
            f"{what} are stereo (a mid and a side grid) but {name} is a mono model: use a stereo "
            "model (channels 2, e.g. StereoCodec) of the same codec, or take the mid alone "
            "(codes.mid, the mono downmix) to use this one"
        )
