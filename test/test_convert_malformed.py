"""Malformed TF.js model files: one GraphError (a ConfigError) naming the file, never a crash."""
from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import threading
import time

from posenet_ros.convert import graph_convert, tfjs_graph, tfjs_reader
from posenet_ros.convert.graph_error import GraphError
from posenet_ros.core import paths
from posenet_ros.core.config import ConfigError
import pytest

GOOD_WEIGHT = {"name": "w", "shape": [2], "dtype": "float32"}
CASES = {
    "no paths": ({"modelTopology": {"node": []}, "weightsManifest": [{}]}, b"", "paths"),
    "node without name": ({"modelTopology": {"node": [{"op": "Foo"}]}, "weightsManifest": []},
                          b"", "no name"),
    "node without op": ({"modelTopology": {"node": [{"name": "x"}]}, "weightsManifest": []},
                        b"", "no op"),
    "wrong dtype": ({"modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["w.bin"], "weights": [dict(GOOD_WEIGHT, dtype="complex64")]}]},
        bytes(8), "dtype"),
    "missing shard": ({"modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["absent.bin"], "weights": [GOOD_WEIGHT]}]}, None, "absent.bin"),
    "truncated shard": ({"modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["w.bin"], "weights": [GOOD_WEIGHT]}]}, bytes(5), "hold 5 bytes, the manifest "
        "describes 8"),
    "bad shape": ({"modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["w.bin"], "weights": [dict(GOOD_WEIGHT, shape="2")]}]}, bytes(8), "shape"),
    "nodes not a list": ({"modelTopology": {"node": {}}, "weightsManifest": []}, b"", "list"),
    "unknown quantization": ({"modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["w.bin"], "weights": [dict(GOOD_WEIGHT, quantization={"dtype": "int4"})]}]},
        bytes(8), "quantization"),
    "shard escapes the folder": ({"modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["../w.bin"], "weights": [GOOD_WEIGHT]}]}, bytes(8), "bad shard"),
    "unsupported op": ({"modelTopology": {"node": [
        {"name": "input", "op": "Placeholder"}, {"name": "y", "op": "Foo", "input": ["input"]}]},
        "weightsManifest": []}, b"", "unsupported op Foo"),
}


def _write(folder: Path, spec: dict, blob: bytes | None) -> Path:
    path = folder / "model.json"
    path.write_text(json.dumps(spec))
    if blob is not None:
        (folder / "w.bin").write_bytes(blob)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_model_json_raises_one_error_naming_file_and_problem(tmp_path, case):
    spec, blob, problem = CASES[case]
    path = _write(tmp_path, spec, blob)
    for load in (graph_convert.convert, tfjs_graph.load):
        args = (path, tmp_path / "out.onnx") if load is graph_convert.convert else (path,)
        with pytest.raises(GraphError) as caught:
            load(*args)
        assert str(path) in str(caught.value)
        assert problem in str(caught.value)
        assert isinstance(caught.value, ConfigError)
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe", b"[1, 2]", b"null"])
def test_non_json_or_non_object_is_refused(tmp_path, content):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(GraphError, match=str(path)):
        tfjs_reader.read(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(GraphError, match="does not exist"):
        tfjs_reader.read(tmp_path / "absent.json")


def _real_movenet(tmp_path: Path) -> Path:
    source = paths.weights_dir() / "movenet-lightning.json"
    if not source.is_file():
        pytest.skip(f"{source} missing: run `make setup`")
    for ext in (".json", ".bin"):
        shutil.copy(source.with_suffix(ext), tmp_path / source.with_suffix(ext).name)
    return tmp_path / source.name


def test_truncated_real_shard_is_refused(tmp_path):
    path = _real_movenet(tmp_path)
    shard = path.with_suffix(".bin")
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(GraphError, match="hold .* bytes, the manifest describes"):
        graph_convert.convert(path, tmp_path / "out.onnx")


def test_graph_with_a_missing_weight_is_refused(tmp_path):
    path = _real_movenet(tmp_path)
    spec = json.loads(path.read_text())
    group = spec["weightsManifest"][0]
    dropped = group["weights"].pop()    # the bytes stay: the manifest no longer matches them
    path.write_text(json.dumps(spec))
    with pytest.raises(GraphError, match="hold .* bytes|no weight data|must be a constant"):
        graph_convert.convert(path, tmp_path / "out.onnx")
    assert dropped["name"]


def test_a_rewritten_source_makes_the_cached_model_stale(tmp_path):
    path = _real_movenet(tmp_path)
    target = graph_convert.convert(path, tmp_path / "m.onnx")
    assert graph_convert.is_current(target, path)
    spec = json.loads(path.read_text())
    spec["generatedBy"] = "someone else"
    path.write_text(json.dumps(spec))
    assert not graph_convert.is_current(target, path)
    assert not graph_convert.is_current(tmp_path / "absent.onnx", path)


def _with_shard(tmp_path: Path, make) -> Path:
    """Copy the real MoveNet Lightning model.json; its shard is what ``make`` makes."""
    path = _real_movenet(tmp_path)
    shard = path.with_suffix(".bin")
    shard.unlink()
    make(shard)
    return path


HOSTILE_SHARDS = {
    "fifo": (os.mkfifo, "is a FIFO, not a regular file"),
    "link to /dev/zero": (lambda p: p.symlink_to("/dev/zero"),
                          "is a character device, not a regular file"),
    "directory": (lambda p: p.mkdir(), "is a directory, not a regular file"),
    "sparse 2 GB": (lambda p: os.truncate(p.open("wb").name, 2 * 2**30),
                    "more than the 512 MB"),
}


@pytest.mark.engine        # the real MoveNet model.json
@pytest.mark.parametrize("case", sorted(HOSTILE_SHARDS))
def test_shards_that_hang_or_fill_memory_are_refused_without_reading(tmp_path, case):
    """A FIFO shard blocked the reader forever, /dev/zero ran it out of memory (issue 22)."""
    make, problem = HOSTILE_SHARDS[case]
    path = _with_shard(tmp_path, make)
    result: dict = {}

    def load() -> None:
        try:
            tfjs_reader.read(path)
        except GraphError as exc:
            result["error"] = str(exc)
    # A thread, so a regression hangs one test, not the run (a FIFO with no writer blocks).
    worker = threading.Thread(target=load, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(10)
    if worker.is_alive():
        if case == "fifo":      # unblock the reader: a writer that closes at once
            os.close(os.open(path.with_suffix(".bin"), os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"reading a model with a {case} shard did not return in 10 s")
    assert time.monotonic() - started < 1.0
    assert problem in result.get("error", ""), result
    assert "weight shard" in result["error"] and path.with_suffix(".bin").name in result["error"]
    with pytest.raises(GraphError, match=problem):
        tfjs_reader.weight_files(path)      # hashing the source reads them too


@pytest.mark.parametrize("case", ["fifo", "link to /dev/zero"])
def test_model_json_itself_that_hangs_is_refused(tmp_path, case):
    make, problem = HOSTILE_SHARDS[case]
    path = tmp_path / "model.json"
    make(path)
    with pytest.raises(GraphError, match=problem):
        tfjs_reader.read(path)
