"""Train (or go on training) the base codec on the corpus; judge and export it as package data.

    python scripts/base_corpus.py                          # once: builds ~/.cache/sda-corpus/audio
    python scripts/train_base_codec.py --hours 1           # trains; re-run to continue (resumes)
    python scripts/train_base_codec.py --hours 3 --recipe cuda   # on a GPU: more steps per hour
    python scripts/train_base_codec.py --hours 1.5 --from-shipped   # go on from the shipped weights
    python experiments/bench_base_gate.py outputs/codec/base*/checkpoints/step*.ckpt --export
    python scripts/train_base_codec.py --export-only       # ship the run's best.ckpt, unjudged

`--from-shipped` is for a machine without the run's checkpoints: a new run (outputs/codec/
base-continued) starts from the shipped encoder and decoder, trains both (fresh optimizer and
codebooks, a learning rate where the first run's decay had reached; `--override
training.freeze_encoder=true` trains the decoder alone), and the export counts the shipped steps
and the new ones together.

Training does not ship anything. The run keeps a checkpoint every 1,000 steps, and
`experiments/bench_base_gate.py` judges them by what users get: it fine-tunes each candidate on
sets the corpus kept out, against the shipped base, and with `--export` ships a candidate only
when it is better on average and worse on no set (a longer run once specialised in the corpus
and lost on drums: experiments/RESULTS.md, "the base codec trained on").

`--hours` is the run's total budget, counted across resumes (trainer.max_time), so a session with
spare time re-runs the same command with a larger number. The run lives in outputs/codec/base.
An export keeps the encoder and decoder (the codebooks are seeded again on each user's audio) as
fp16 safetensors with the config, step count and corpus manifest hash; then update the numbers in
sda/assets/BASE_CODEC.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sda.library.checkpoints import read_checkpoint  # noqa: E402
from sda.models.base_codec import base_codec_path, load_base_codec, save_base_codec  # noqa: E402
from sda.models.codec import Codec, CodecConfig  # noqa: E402
from sda.training.train_codec import compose_config, train  # noqa: E402

MANIFEST = REPO / "sda/assets/base_corpus.json"
CARD = REPO / "sda/assets/BASE_CODEC.md"


def run_name(args: argparse.Namespace) -> str:
    """The run's folder under outputs/codec: a run going on from the shipped weights is new."""
    return "base-continued" if args.from_shipped else "base"


def overrides(args: argparse.Namespace) -> list[str]:
    seconds = int(args.hours * 3600)
    start = ["init_from=none"]
    if args.from_shipped:  # both halves learn; 1e-3 is about where 5,000 steps of decay stood
        start = ["init_from=base", "training.freeze_encoder=false", "training.learning_rate=1.0e-3"]
    return [
        f"recipe={args.recipe}",
        f"data.dir={args.corpus}",
        f"paths.output_dir={args.output_dir}",
        f"name={run_name(args)}",
        *start,
        "data.augment=true",  # gain, polarity, varispeed and mixing: a more varied corpus
        f"trainer.max_time=00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:00",
        "trainer.max_steps=10000000",
        "training.lr_half_life_steps=6000",  # a long run: a slower decay than the laptop's
        "training.weight_average_decay=0",  # the shipped base was trained and kept without one
        "data.file_balance=0",  # and on crops drawn by duration (a corpus, not one musician's set)
        # a checkpoint every 1,000 steps, all kept (not only the newest): the gate chooses
        "callbacks.model_checkpoint.save_top_k=-1",
        "callbacks.model_checkpoint.every_n_train_steps=1000",
        *args.override,
    ]


def export(run_dir: Path) -> Path:
    """The run's best weights (else its last) -> fp16 encoder + decoder safetensors in sda/assets/."""
    target = export_checkpoint(run_dir, base_codec_path())
    print(f"{target}: {target.stat().st_size / 1e6:.1f} MB")
    return target


def export_checkpoint(source: Path, target: Path) -> Path:
    """A run folder's best weights, or one .ckpt file of it -> a base codec file at `target`
    (what shipping it writes). Read as `sda export` reads runs: a damaged file is named."""
    run = read_checkpoint(source)
    codec = Codec(CodecConfig.from_dict(run.hparams["codec"]))
    codec.load_state_dict(run.state, strict=False)  # EMA bookkeeping may be absent: unused here
    corpus = hashlib.sha256(MANIFEST.read_bytes()).hexdigest()[:16] if MANIFEST.is_file() else ""
    return save_base_codec(
        codec,
        target,
        steps=str(steps_in_all({"hyper_parameters": run.hparams, **run.training})),
        checkpoint=run.checkpoint.name,
        corpus_manifest_sha256=corpus,
    )


def steps_in_all(ckpt: dict) -> int:
    """The checkpoint's steps, plus the shipped base's when the run went on from it."""
    lineage = ckpt.get("hyper_parameters", {}).get("init_from") or {}
    earlier = int(lineage.get("steps") or 0) if lineage.get("source") == "base" else 0
    return earlier + int(ckpt.get("global_step", 0))


def describe(run_dir: Path) -> dict:
    base, metadata = load_base_codec()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.is_file() else {}
    bench = run_dir / "checkpoints" / "best.ckpt"
    mel = None
    if bench.is_file():
        callbacks = torch.load(bench, map_location="cpu", weights_only=True).get("callbacks", {})
        scores = (
            v.get("best_model_score") for k, v in callbacks.items() if "val/mel_distance" in k
        )
        mel = next((score for score in scores if score is not None), None)
    return {
        "steps": metadata["steps"],
        "fingerprint": base.fingerprint(),
        "corpus_hours": round(manifest.get("seconds", 0) / 3600, 2),
        "corpus_files": manifest.get("files"),
        "held_out_mel": float(mel) if mel is not None else None,
        "parameters": sum(p.numel() for p in Codec(base.config).parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path.home() / ".cache/sda-corpus/audio")
    parser.add_argument("--hours", type=float, default=1.0, help="total budget across resumes")
    parser.add_argument("--recipe", default="cpu", help="cpu, cuda or mps")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs")
    parser.add_argument("--override", action="append", default=[], help="extra Hydra overrides")
    parser.add_argument("--export-only", action="store_true")
    parser.add_argument(
        "--from-shipped", action="store_true", help="go on from the shipped weights (a new run)"
    )
    args = parser.parse_args()
    run_dir = args.output_dir / "codec" / run_name(args)
    if not args.export_only:
        run_dir = train(compose_config(overrides(args)))
        print(
            f"trained {run_dir}; judge its checkpoints before shipping one: python "
            f"experiments/bench_base_gate.py {run_dir}/checkpoints/step*.ckpt [--export]"
        )
        return
    export(run_dir)
    print(json.dumps(describe(run_dir), indent=2))


if __name__ == "__main__":
    main()
