"""Labelled cohorts in the bucket: round trip, determinism, idempotence, privacy, the CLI."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cloud_training.dataset import dataset_from_export
from cloud_training.labelled_cohorts import (
    CohortConflict,
    CohortCorrupt,
    CohortInfo,
    CohortLeak,
    CohortMissing,
    cohort_decode,
    cohort_load,
)
from firmware_sim.export import scenario_export
from firmware_sim.scenario import scenario_load
from firmware_sim.watch_assembly import identity_of
from wearable import cohort_simulation as cohort_mod
from wearable.cli import parser_build
from wearable.cli.errors import duration_arg
from wearable.cohort_simulation import cohort_write
from wearable_core.buckets import bucket_open
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION

#: Watch 0: a severe desaturation from 5 to 10 min (positive windows). Watch 1: off the
#: wrist from 8 to 12 min (fault windows). Minutes of data keep every simulation ~1 s.
SCENARIO = """
[scenario]
name = "tiny"
seed = 3
watches = 2
duration = "15min"

[[episode]]
watch = 0
kind = "desaturation"
at = "5min"
duration = "5min"
severity = 1.0

[[episode]]
watch = 1
kind = "off_wrist"
at = "8min"
duration = "4min"
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def written(
    tmp_path_factory: pytest.TempPathFactory, scenario_file: Path
) -> tuple[Path, CohortInfo]:
    """A bucket holding one validation cohort (seed 3). Tests that change it copy it first."""
    root = tmp_path_factory.mktemp("written") / "bucket"
    info = cohort_write(bucket_open(str(root)), "validation", scenario_file)
    return root, info


def _copy(root: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)  # copy2 keeps mtimes: the local bucket's generations
    return copy


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_round_trip_equals_the_dataset_of_an_export(
    written: tuple[Path, CohortInfo], scenario_file: Path, tmp_path: Path
) -> None:
    root, info = written
    scenario_export(scenario_load(scenario_file), tmp_path / "export")
    expected = dataset_from_export(tmp_path / "export")

    cohort = cohort_load(bucket_open(str(root)), "validation")

    np.testing.assert_array_equal(cohort.X, expected.X)  # nan == nan here
    np.testing.assert_array_equal(cohort.Y, expected.Y)
    np.testing.assert_array_equal(cohort.fault, expected.fault)
    np.testing.assert_array_equal(cohort.start_s, expected.start_s)
    devices = list(dict.fromkeys(expected.device.tolist()))  # first-seen = watch order
    np.testing.assert_array_equal(
        cohort.device_index, [devices.index(d) for d in expected.device.tolist()]
    )
    assert cohort.X.dtype == np.float32 and cohort.Y.dtype == np.float32
    assert cohort.fault.dtype == np.bool_ and cohort.start_s.dtype == np.float64
    assert cohort.infos == [info]
    assert list(cohort.infos[0].positives) == list(ANOMALY_TYPES)  # not JSON key order
    assert info.name.startswith("cohorts/validation/tiny-seed3-15min-")
    assert info.name.endswith(f"-{info.sha256[:16]}.npz")
    assert info.windows == len(expected.X) and info.watches == 2
    assert info.positives["desaturation"] > 0 and info.fault_windows > 0
    assert list(info.positives) == list(ANOMALY_TYPES)


def test_object_is_a_plain_npz_with_metadata(written: tuple[Path, CohortInfo]) -> None:
    root, info = written
    data = (root / info.name).read_bytes()
    with np.load(root / info.name, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["X", "Y", "device_index", "fault", "meta.json", "start_s"]
        assert npz["X"].shape == (info.windows, len(FEATURE_NAMES))
    _, meta = cohort_decode(data)
    assert meta["scenario"] == "tiny" and meta["seed"] == 3 and meta["duration_s"] == 900
    assert meta["watches"] == 2 and meta["windows"] == info.windows
    assert (
        meta["positives"] == info.positives
        and meta["feature_schema_version"] == FEATURE_SCHEMA_VERSION
    )
    assert meta["episodes"] == {"desaturation": 1, "off_wrist": 1}
    assert meta["created_by"] == (
        "wearable train cohort --split validation --scenario tiny.toml --seed 3 --duration 15min"
    )


def test_same_inputs_give_identical_bytes_in_a_fresh_bucket(
    written: tuple[Path, CohortInfo], scenario_file: Path, tmp_path: Path
) -> None:
    root, info = written
    again = cohort_write(bucket_open(str(tmp_path / "bucket")), "validation", scenario_file)
    assert again == info and not again.already_present
    assert (tmp_path / "bucket" / info.name).read_bytes() == (root / info.name).read_bytes()
    index = "cohorts/validation/index.json"
    assert (tmp_path / "bucket" / index).read_bytes() == (root / index).read_bytes()


def test_progress_moves_forward_and_changes_no_byte(
    written: tuple[Path, CohortInfo], scenario_file: Path, tmp_path: Path
) -> None:
    root, info = written
    told: list[tuple[str, float, float]] = []
    again = cohort_write(
        bucket_open(str(tmp_path / "bucket")),
        "validation",
        scenario_file,
        progress=lambda phase, done, total: told.append((phase, done, total)),
    )
    assert (tmp_path / "bucket" / info.name).read_bytes() == (root / info.name).read_bytes()
    assert again == info
    done = [d for _, d, _ in told]
    assert done == sorted(done) and done[0] == 0 and {t for *_, t in told} == {done[-1]}
    phases = list(dict.fromkeys(phase for phase, *_ in told))
    assert phases == [
        "simulating watch 1/2",
        "simulating watch 2/2",
        "cutting windows, watch 1/2",
        "cutting windows, watch 2/2",
        "storing the cohort",
    ]


def test_rerun_is_a_no_op_without_simulating(
    written: tuple[Path, CohortInfo], scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, info = written
    bucket = bucket_open(str(root))
    before = bucket.list()

    def no_simulation(*_: object) -> None:
        raise AssertionError("a listed cohort must not be simulated again")

    monkeypatch.setattr(cohort_mod, "_simulate", no_simulation)
    again = cohort_write(bucket, "validation", scenario_file, seed=3, duration_s=900)
    assert again.already_present and again == info
    assert bucket.list() == before  # same names, sizes and generations


def test_two_cohorts_in_a_split_concatenate(
    written: tuple[Path, CohortInfo], scenario_file: Path, tmp_path: Path
) -> None:
    root, first = written
    bucket = bucket_open(str(_copy(root, tmp_path)))
    second = cohort_write(bucket, "validation", scenario_file, seed=4, duration_s=600)
    assert second.seed == 4 and second.duration_s == 600 and "-seed4-10min-" in second.name

    cohort = cohort_load(bucket, "validation")

    by_name = sorted([first, second], key=lambda i: i.name)
    assert cohort.infos == by_name
    assert len(cohort.X) == first.windows + second.windows
    for position, info in enumerate(cohort.infos):
        rows = cohort.source == position
        assert rows.sum() == info.windows
        offset = 2 * position  # each cohort has 2 watches
        assert set(cohort.device_index[rows].tolist()) == {offset, offset + 1}
    single = cohort_load(bucket_open(str(root)), "validation")
    rows = cohort.source == cohort.infos.index(first)
    np.testing.assert_array_equal(cohort.X[rows], single.X)


def test_bad_split_is_a_value_error(scenario_file: Path, tmp_path: Path) -> None:
    bucket = bucket_open(str(tmp_path / "bucket"))
    with pytest.raises(ValueError, match=r"'train'.*'validation'"):
        cohort_write(bucket, "test", scenario_file)
    with pytest.raises(ValueError, match="unknown cohort split 'valid'"):
        cohort_load(bucket, "valid")


def test_missing_index_names_the_command(tmp_path: Path) -> None:
    bucket = bucket_open(str(tmp_path / "bucket"))
    with pytest.raises(CohortMissing) as caught:
        cohort_load(bucket, "validation")
    assert (
        "wearable train cohort --bucket URL --split validation --scenario examples/eval.toml "
        "--seed N"
    ) in str(caught.value)


def test_no_device_identifier_anywhere_in_the_bucket(
    written: tuple[Path, CohortInfo], scenario_file: Path
) -> None:
    root, _ = written
    everything = _all_bytes(root)
    plans = scenario_load(scenario_file).plan()
    assert len(plans) == 2
    for plan in plans:
        address = identity_of(plan).address
        for form in (address, address.replace(":", ""), plan.serial):
            for text in (form.upper(), form.lower()):
                assert text.encode() not in everything, f"{text} found in the bucket"


def test_the_other_splits_seed_is_refused(
    written: tuple[Path, CohortInfo], scenario_file: Path
) -> None:
    root, _ = written
    with pytest.raises(CohortLeak, match=r"seed 3 is already used by .* 'validation' split"):
        cohort_write(bucket_open(str(root)), "train", scenario_file)


def test_same_scenario_and_seed_twice_in_a_split_is_refused(
    written: tuple[Path, CohortInfo], scenario_file: Path
) -> None:
    root, _ = written
    with pytest.raises(CohortConflict, match="count the same people twice"):
        cohort_write(bucket_open(str(root)), "validation", scenario_file, duration_s=600)


def test_an_altered_object_is_refused(written: tuple[Path, CohortInfo], tmp_path: Path) -> None:
    root, info = written
    copy = _copy(root, tmp_path)
    path = copy / info.name
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CohortCorrupt, match="does not match its index entry"):
        cohort_load(bucket_open(str(copy)), "validation")


def test_duration_argument() -> None:
    assert duration_arg("1d") == 86_400
    assert duration_arg("6h") == 21_600
    assert duration_arg("90") == 120  # whole minutes, like scenario durations
    for bad in ("soon", "0", "400d"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration_arg(bad)


def test_cli_writes_then_reports_already_present(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = parser_build()
    url = str(tmp_path / "bucket")
    argv = ["train", "cohort", "--bucket", url, "--split", "train"]
    argv += ["--scenario", str(scenario_file), "--seed", "5", "--duration", "10min", "--json"]

    args = parser.parse_args(argv)
    started = time.monotonic()
    assert args.handler(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["status"] == "created" and first["split"] == "train"
    assert first["seed"] == 5 and first["duration_s"] == 600 and first["watches"] == 2
    # The report rounds to milliseconds: allow that much over the measured time.
    assert 0 <= first["seconds"] <= time.monotonic() - started + 0.001
    assert first["name"].startswith("cohorts/train/tiny-seed5-10min-")
    assert cohort_load(bucket_open(url), "train").X.shape == (first["windows"], len(FEATURE_NAMES))

    args = parser.parse_args(argv[:-1])  # human output this time
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert f"{first['name']}: already present" in out and "positive windows:" in out


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr on a console does."""

    def isatty(self) -> bool:
        return True


def test_cli_shows_progress_on_a_terminal_only_and_prints_the_same(
    written: tuple[Path, CohortInfo],
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, info = written
    parser = parser_build()
    printed: dict[str, dict[str, object]] = {}
    for where in ("pipe", "terminal"):
        url = str(tmp_path / where)
        argv = ["train", "cohort", "--bucket", url, "--split", "validation"]
        args = parser.parse_args([*argv, "--scenario", str(scenario_file), "--json"])
        terminal = Terminal()
        if where == "terminal":
            monkeypatch.setattr(sys, "stderr", terminal)
        assert args.handler(args) == 0
        out, err = capsys.readouterr()
        printed[where] = json.loads(out)  # stdout is the one JSON object either way
        assert (tmp_path / where / info.name).read_bytes() == (root / info.name).read_bytes()
        if where == "pipe":
            assert err == ""  # nothing on stderr but errors, as before
        else:
            assert "storing the cohort" in terminal.getvalue() and "100%" in terminal.getvalue()
    for report in printed.values():
        del report["seconds"]
    assert printed["terminal"] == printed["pipe"]


def test_cli_on_a_pipe_does_not_load_rich(scenario_file: Path, tmp_path: Path) -> None:
    # The progress display's library is imported for a terminal only.
    code = (
        "import atexit, sys\n"
        "from wearable.cli import main\n"
        "atexit.register(lambda: print(' '.join(sys.modules), flush=True))\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = ["train", "cohort", "--bucket", str(tmp_path / "b"), "--split", "train"]
    argv += ["--scenario", str(scenario_file), "--duration", "2min"]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    modules = done.stdout.split()
    assert "wearable.progress" in modules
    assert not [m for m in modules if m == "rich" or m.startswith("rich.")]


def test_cli_usage_errors_exit_2(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = parser_build()
    args = parser.parse_args(
        ["train", "cohort", "--bucket", str(tmp_path / "b"), "--split", "train", "--scenario",
         str(tmp_path / "absent.toml")]
    )  # fmt: skip
    assert args.handler(args) == 2
    assert "cannot read scenario file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "cohort", "--bucket", "x", "--split", "test"])
