"""Folders of recordings: scanning with verdicts per file, the decoded-audio cache, demo data."""

from sda.dataset.cache import AudioCache, default_cache_dir
from sda.dataset.scan import (
    FRAME_RATE,
    AvailableAudio,
    DatasetError,
    DatasetReport,
    FileReport,
    load_available_audio,
    load_usable_audio,
    scan_folder,
)

__all__ = [
    "FRAME_RATE",
    "AudioCache",
    "AvailableAudio",
    "DatasetError",
    "DatasetReport",
    "FileReport",
    "default_cache_dir",
    "load_available_audio",
    "load_usable_audio",
    "scan_folder",
]
