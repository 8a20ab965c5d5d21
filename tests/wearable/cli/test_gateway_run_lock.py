"""``wearable gateway run`` on a store another gateway is running on exits 2, naming its PID."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import lock_path
from tests.support.cli_processes import cli_spawn, cli_terminate, radio_hub
from wearable.cli import main


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    """A ``wearable sim radio`` hub on a free port; yields HOST:PORT."""
    with radio_hub(tmp_path) as (address, _):
        yield address


@pytest.mark.integration
def test_a_second_gateway_on_the_same_store_exits_2_naming_the_first(
    hub: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store" / "gateway.sqlite"
    first = cli_spawn(
        "gateway", "run", "--store", str(store), "--radio", hub, log=tmp_path / "first.log"
    )
    try:
        deadline = time.monotonic() + 60
        while not store.exists():
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the first gateway did not start"
            time.sleep(0.2)
        assert lock_path(store).read_text(encoding="ascii") == f"{first.pid}\n"
        capsys.readouterr()
        with pytest.raises(SystemExit) as stop:
            main(["gateway", "run", "--store", str(store), "--radio", hub])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"in use by another gateway (PID {first.pid}" in err
        assert first.poll() is None  # the first one runs on, undisturbed
    finally:
        assert cli_terminate(first) == 0, (tmp_path / "first.log").read_text()
    # Stopped: the next gateway may take the store.
    assert lock_path(store).read_text(encoding="ascii") == ""
