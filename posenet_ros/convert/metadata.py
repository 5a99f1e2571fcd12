"""String metadata of an ONNX model file: what built it, from what, and how it was judged."""
from __future__ import annotations

from pathlib import Path


def read_metadata(path: str | Path) -> dict[str, str]:
    """Return the file's metadata properties (raises OSError or DecodeError if unreadable)."""
    import onnx

    return {p.key: p.value
            for p in onnx.load(str(path), load_external_data=False).metadata_props}


def add_metadata(path: str | Path, props: dict[str, str]) -> None:
    """Add string metadata properties to an ONNX file in place."""
    import onnx

    model = onnx.load(str(path))
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
