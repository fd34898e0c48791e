"""What the explorer remembers: one `AppContext` per running app, one `UserSession` per browser tab.

The context is shared (library, loaded models, a private work folder); a session holds only one
person's takes and DNA slots, so two people using the same app never see each other's work.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sda.app.presets import PresetStore
from sda.audio.io import AudioFileError, load_audio_with_rate, write_audio
from sda.dna.codes import Codes
from sda.dna.take import Take


class ModelCache:
    """Bundles loaded once and shared by every session (read-only at inference), least recent out."""

    def __init__(self, library: Any, *, device: str = "cpu", capacity: int = 3) -> None:
        self.library = library
        self.device = device
        self.capacity = capacity
        self._bundles: OrderedDict[str, Any] = OrderedDict()
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """The loaded `Bundle` for a library name (never a path: the browser must not pick files)."""
        from sda.library.library import UnknownBundleError

        if not name or not self.library.has(name):
            raise UnknownBundleError(
                f"no model named {name!r} in the library at {self.library.root}; "
                "refresh the model list"
            )
        with self._lock:
            if name in self._bundles:
                self._bundles.move_to_end(name)
                return self._bundles[name]
            bundle = self.library.load(name, device=self.device)
            bundle.codec.eval()
            if bundle.prior is not None:
                bundle.prior.eval()
            self._bundles[name] = bundle
            while len(self._bundles) > self.capacity:
                self._bundles.popitem(last=False)
            return bundle

    def key(self, name: str) -> str:
        """A stable id of the whole model (codec + prior), e.g. for its presets.

        The codec id alone is not enough: one codec can carry several priors.
        """
        bundle = self.get(name)
        with self._lock:
            if name not in self._keys:
                self._keys[name] = bundle.id + "-" + _weights_digest(bundle.prior)
            return self._keys[name]

    def forget(self, name: str | None = None) -> None:
        """Drop one model (after rename/delete) or all of them."""
        with self._lock:
            if name is None:
                self._bundles.clear()
                self._keys.clear()
            else:
                self._bundles.pop(name, None)
                self._keys.pop(name, None)


def _weights_digest(module: Any) -> str:
    """8 hex chars of sha256 over a module's weights ("codec" when there is no module)."""
    if module is None:
        return "codec"
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:8]


@dataclass
class AppContext:
    """Everything the callbacks of one app share."""

    library: Any  # sda.library.Library
    work_dir: Path  # takes, decodes and exports of every session live below this (a temp folder)
    models: ModelCache
    presets: PresetStore
    max_seconds: float = 60.0
    max_count: int = 8
    # Float audio a session keeps in memory (two takes of 60 s, six of 20 s); older takes are
    # read back from their files, so memory stays flat however many takes a session makes.
    take_memory_bytes: int = 24 * 2**20
    runs_dir: Path = field(default_factory=lambda: Path("outputs").resolve())  # Train tab runs
    training: Any = None  # the app's one background training run (train_callbacks.TrainingJob)
    training_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(
        cls,
        library: Any,
        *,
        work_dir: str | Path | None = None,
        device: str = "cpu",
        runs_dir: str | Path | None = None,
    ) -> AppContext:
        if work_dir is None:
            work_dir = tempfile.mkdtemp(prefix="sda-explore-")
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            library=library,
            work_dir=work_dir,
            models=ModelCache(library, device=device),
            presets=PresetStore(root=library.root),
            runs_dir=Path(runs_dir or "outputs").resolve(),
        )


# Players get the decoder's samples as they are (browsers play float WAV); exports are made from
# the float audio in memory, at the depth the person asks for.
PREVIEW_SUBTYPE = "FLOAT"


@dataclass
class SessionTake:
    """One generated sound in a person's history: its number, model, settings and preview file.

    (`sda.dna.take.Take` is what generation returns; this is how the app keeps it.) `audio` is the
    decoder's float output, what exports are made from, while the take is recent; `release()`
    moves an older take's audio to a float WAV on disk (None in memory) and `load_audio()`
    reads it back, sample for sample. `path` is only the players' preview."""

    number: int
    model: str  # library name of the bundle
    path: Path  # float WAV preview in the session folder
    audio: np.ndarray | None  # (samples,) or stereo (2, samples) float32; None once released
    sample_rate: int
    settings: dict[str, Any]
    codes: Codes | None = None
    # a seamless loop's exact length (bars x beats x 60 / bpm for a tempo-fitted one); None: a
    # plain take. Exports of a loop are resampled as a loop and carry loop points.
    loop_seconds: float | None = None
    samples: int = field(init=False, default=0)
    channels: int = field(init=False, default=1)  # 2: a stereo model's take (left, right)
    audio_file: Path | None = field(init=False, default=None)  # where a released take's audio is

    def __post_init__(self) -> None:
        if self.audio is not None:
            self.samples = int(np.shape(self.audio)[-1])
            self.channels = 2 if np.ndim(self.audio) == 2 else 1

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    @property
    def in_memory(self) -> bool:
        return self.audio is not None

    def release(self) -> None:
        """Free the float audio; it stays on disk (the preview itself when it holds the same
        samples, a float WAV beside it when the preview is spread to stereo)."""
        if self.audio is None:
            return
        if not _preview_holds(self):
            spill = self.path.with_name(self.path.stem + "-mono.wav")
            write_audio(spill, self.audio, self.sample_rate, subtype=PREVIEW_SUBTYPE)
            self.audio_file = spill
        else:
            self.audio_file = self.path
        self.audio = None

    def load_audio(self) -> np.ndarray:
        """The take's float audio, (samples,) or stereo (2, samples), from memory or read back
        from its file."""
        if self.audio is not None:
            return self.audio
        from sda.app.errors import AppError

        try:
            audio, _ = load_audio_with_rate(self.audio_file or self.path)  # (1, samples)
        except AudioFileError:  # the session folder was cleaned meanwhile
            raise AppError(
                f"take {self.number} is no longer on disk; "
                "generate it again (its seed is in the history)"
            ) from None
        return np.ascontiguousarray(audio if self.channels == 2 else audio[0], dtype=np.float32)

    @property
    def label(self) -> str:
        seed = self.settings.get("seed")
        seed_text = f" · seed {seed}" if seed is not None else ""
        loop_text = " · loop" if self.loop_seconds is not None else ""
        return f"#{self.number} · {self.model}{seed_text} · {self.seconds:.1f} s{loop_text}"


def _preview_holds(take: SessionTake) -> bool:
    """Whether the take's preview file holds its audio exactly (mono, not spread to stereo)."""
    return not (take.settings.get("width") or take.settings.get("movement"))


@dataclass
class Editor:
    """The DNA editor of one session: an `sda.dna.session.Session` whose sources are slots "A" and
    "B"; its current grid is the working copy that operations change (A, edited)."""

    session: Any = None  # sda.dna.session.Session, created when the first slot is filled
    model: str | None = None  # library name of the bundle every grid in the editor comes from
    labels: dict[str, str] = field(default_factory=dict)  # slot -> "take #2", "kick.wav"
    anchor: tuple[int, int] | None = None  # (level, frame) of a first click on the grid

    def slot(self, name: str) -> Codes | None:
        if self.session is None:
            return None
        if name == "A":
            return self.session.current
        return self.session.sources.get(name)


@dataclass
class UserSession:
    """One browser session's work; the folder is removed when Gradio drops the session."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    takes: list[SessionTake] = field(default_factory=list)
    editor: Editor = field(default_factory=Editor)
    decoded: Path | None = None  # the preview file of the last DNA decode
    decoded_take: Take | None = None  # that decode's float audio: the "editor result"
    descriptor_cache: dict[str, Any] = field(default_factory=dict)  # grid hash -> (frames, 6)
    counter: int = 0

    def folder(self, ctx: AppContext) -> Path:
        path = ctx.work_dir / self.id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def new_file(self, ctx: AppContext, stem: str, suffix: str = ".wav") -> Path:
        self.counter += 1
        return self.folder(ctx) / f"{stem}-{self.counter:03d}{suffix}"

    def add_take(self, take: SessionTake, *, memory_bytes: int) -> None:
        """Append a take; the newest takes keep their audio in memory up to `memory_bytes`
        (the newest always), older ones are released to disk."""
        self.takes.append(take)
        held = 0
        for older in reversed(self.takes):
            if not older.in_memory:
                continue
            held += older.audio.nbytes
            if older is not take and held > memory_bytes:
                older.release()

    def take(self, number: int | str | None) -> SessionTake | None:
        for take in self.takes:
            if str(take.number) == str(number):
                return take
        return None


def new_session() -> UserSession:
    return UserSession()


def remove_session_files(work_dir: Path, session: UserSession | None) -> None:
    """Delete a finished session's folder (called by Gradio when the session expires)."""
    if isinstance(session, UserSession):
        shutil.rmtree(work_dir / session.id, ignore_errors=True)
