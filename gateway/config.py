"""The gateway service's configuration: a TOML file, validated field by field.

Every key has a default, so no file at all is a valid configuration; the defaults serve a
simulated setup (`wearable sim radio` on 127.0.0.1:7000) with the store under the working
directory. ``examples/config/gateway.toml`` lists every key with its default.

Validation lives in the dataclasses' ``__post_init__``, so a configuration built in code
gets the same checks as one read from a file. Every failure is a :class:`ConfigError`
whose message names the field path (``ble.backoff_max_s``), what is wrong and what would be
accepted; unknown keys are errors too (a typo would otherwise silently fall back to the
default), with a did-you-mean suggestion.

Relative paths (``store.path``, ``log.file``) are relative to the service's working
directory, not to the configuration file; ``~`` is expanded.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from bumble_radio.address import parse_radio_address
from wearable_core.contracts.features import WINDOW_S

__all__ = [
    "DEFAULT_HOP_S",
    "DEFAULT_RADIO",
    "DEFAULT_STORE_PATH",
    "BleConfig",
    "ConfigError",
    "DetectionConfig",
    "GatewayConfig",
    "LogConfig",
    "ModelsConfig",
    "PrivacyConfig",
    "StoreConfig",
    "SyncConfig",
    "load_config",
    "parse_config",
    "with_overrides",
]

MIB: Final = 1024 * 1024
#: Where the store goes by default: under the working directory.
DEFAULT_STORE_PATH: Final = Path("gateway-store/gateway.sqlite")
#: Default radio: a `wearable sim radio` hub on this machine.
DEFAULT_RADIO: Final = "127.0.0.1:7000"
#: The Heart Rate service: how the gateway discovers any heart-rate strap or watch.
_HEART_RATE_SERVICE: Final = "0000180d-0000-1000-8000-00805f9b34fb"
_BLUETOOTH_BASE_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOG_FORMATS: Final = ("json", "text")
_MAC_ADDRESS: Final = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_SIZE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS: Final = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


class ConfigError(ValueError):
    """A configuration value is missing its mark.

    Attributes
    ----------
    field
        Dotted path of the offending key (``"ble.backoff_max_s"``), or ``"(file)"`` /
        ``"(syntax)"`` when the file itself cannot be read or parsed.
    value
        The offending value as given (``None`` when there is none).
    problem
        What is wrong and what would be accepted, without the location prefix.
    source
        Where the value came from: a file name, ``"<string>"``, ``"command line"``.
    """

    def __init__(self, field: str, value: object, problem: str, *, source: str = "") -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {problem}")

    def with_source(self, source: str) -> ConfigError:
        """The same error, attributed to ``source``."""
        return ConfigError(self.field, self.value, self.problem, source=source)


#: Default assessment hop: a 60 s window ends every 15 s, so an alert can open within the
#: minute its definition needs (``docs/detection.md``, "Latency").
DEFAULT_HOP_S: Final = 15


# --- field checks (shared by the dataclasses) --------------------------------------------


def _int_in(path: str, value: object, low: int, high: int, unit: str = "") -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(path, value, f"must be an integer in {low}..{high}{unit}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(path, value, f"{value} is out of range; use {low}..{high}{unit}")
    return value


def _float_in(
    path: str, value: object, low: float, high: float, *, low_open: bool = False
) -> float:
    accepted = f"{'(' if low_open else '['}{_number(low)}, {_number(high)}]"
    # bool is an int subclass, but `watchdog_s = true` is a mistake, not a value.
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(path, value, f"must be a number in {accepted}, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if not math.isfinite(number) or too_low or number > high:
        raise ConfigError(path, value, f"{value} is out of range; use a number in {accepted}")
    return number


def _number(value: float) -> str:
    """``60`` and ``2592000`` rather than ``60.0`` and ``2.592e+06`` in messages."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _size_text(size: int) -> str:
    """The largest binary unit that divides ``size`` exactly, e.g. ``"16TiB"``."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        factor = _SIZE_UNITS[unit.upper()]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def _bool(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, value, f"must be true or false, got {value!r}")
    return value


def _choice(path: str, value: object, choices: tuple[str, ...], *, upper: bool) -> str:
    if isinstance(value, str):
        normal = value.strip().upper() if upper else value.strip().lower()
        if normal in choices:
            return normal
    raise ConfigError(path, value, f"must be one of {', '.join(choices)}; got {value!r}")


def _path(path: str, value: object, *, optional: bool = False) -> Path | None:
    if isinstance(value, str | Path) and str(value).strip():
        return Path(str(value).strip()).expanduser()
    if optional and (value is None or value == ""):
        return None
    raise ConfigError(path, value, f"must be a non-empty file path string, got {value!r}")


def _string_list(path: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(path, value, f'must be a list of strings, e.g. ["a", "b"]; got {value!r}')
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{path}[{index}]", item, f"must be a non-empty string, got {item!r}")
        if item.strip() not in items:  # duplicates are harmless; keep the first
            items.append(item.strip())
    return tuple(items)


def _size(path: str, value: object, low: int, high: int) -> int:
    """A byte count: an integer, or a string such as ``"512MiB"`` or ``"2GB"``."""
    accepted = (
        f'an integer number of bytes or a size such as "512MiB" or "2GB", '
        f"{_size_text(low)}..{_size_text(high)}"
    )
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match is None:
            raise ConfigError(path, value, f"{value!r} is not a size; use {accepted}")
        unit = (match.group(2) or "B").upper()
        value = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(path, value, f"must be {accepted}; got {value!r}")
    if not low <= value <= high:
        raise ConfigError(path, value, f"{value} bytes is out of range; use {accepted}")
    return value


def _service_uuid(path: str, value: str) -> str:
    """Full lowercase 128-bit form of a 16-bit (``"180d"``, ``"0x180D"``) or 128-bit UUID."""
    text = value.strip().lower().removeprefix("0x")
    if re.fullmatch(r"[0-9a-f]{4}", text):
        return f"0000{text}{_BLUETOOTH_BASE_SUFFIX}"
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ConfigError(
            path,
            value,
            'is not a UUID; use a 16-bit SIG number ("180d") or a 128-bit UUID '
            '("0000180d-0000-1000-8000-00805f9b34fb")',
        ) from None


def _radio(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, value, f'must be a string ("" or "HOST:PORT"), got {value!r}')
    text = value.strip()
    if text == "":
        return text
    if text == "local":
        raise ConfigError(
            path,
            value,
            '"local" is the in-process radio of `wearable demo` and cannot reach watches from '
            'a separate service; run `wearable sim radio` and use "HOST:PORT" (e.g. '
            f'"{DEFAULT_RADIO}"), or "" for the system\'s Bluetooth adapter',
        )
    try:
        parse_radio_address(text)
    except ValueError:
        raise ConfigError(
            path,
            value,
            f'must be "" (the system\'s Bluetooth adapter) or "HOST:PORT" of a `wearable sim '
            f'radio` hub with a port in 1..65535 (e.g. "{DEFAULT_RADIO}"); got {value!r}',
        ) from None
    return text


def _passkeys(path: str, value: object) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            path,
            value,
            f'must be a table of address = passkey, e.g. "F0:..:05" = 123456; got {value!r}',
        )
    table: dict[str, int] = {}
    for key, passkey in value.items():
        address = str(key).strip()
        entry = f"{path}.{address}"
        if not address:
            raise ConfigError(entry, key, "the device address must not be empty")
        if _MAC_ADDRESS.match(address):
            address = address.upper()  # bleak reports addresses in upper case
        # A passkey is six digits, 000000..999999. TOML integers cannot have leading zeros,
        # so "012345" is accepted as a string as well as 12345 as an integer.
        if isinstance(passkey, str) and re.fullmatch(r"\d{6}", passkey.strip()):
            passkey = int(passkey)
        table[address] = _int_in(entry, passkey, 0, 999_999, ' (or a 6-digit string "012345")')
    return MappingProxyType(table)


# --- the sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreConfig:
    """``[store]``: the local SQLite store.

    Attributes
    ----------
    path
        The database file; relative paths are relative to the working directory.
    budget_bytes
        Disk budget of the store; an integer or a size string (``"512MiB"``, ``"2GB"``).
    flush_interval_s
        Longest time a received record waits in memory before it is committed.
    batch_max
        Most records committed in one transaction.
    """

    path: Path = DEFAULT_STORE_PATH
    budget_bytes: int = 512 * MIB
    flush_interval_s: float = 0.5
    batch_max: int = 500

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("path", _path("store.path", self.path))
        set_("budget_bytes", _size("store.budget_bytes", self.budget_bytes, MIB, 1024**4 * 16))
        set_(
            "flush_interval_s",
            _float_in("store.flush_interval_s", self.flush_interval_s, 0.0, 60.0, low_open=True),
        )
        set_("batch_max", _int_in("store.batch_max", self.batch_max, 1, 100_000))


@dataclass(frozen=True)
class BleConfig:
    """``[ble]``: radio, discovery, connections and their supervision.

    Attributes
    ----------
    radio
        ``""``: the system's Bluetooth adapter through bleak's default backend;
        ``"HOST:PORT"``: attach to a `wearable sim radio` hub (the default, 127.0.0.1:7000,
        serves a simulated setup). ``"local"`` (the demo's in-process radio) is refused.
    service_uuids
        Advertised services that make a device a candidate (default: Heart Rate). May be
        empty only with an allow-list of ``devices``.
    devices
        Allow-list of addresses or names; empty accepts any device with those services.
    max_devices
        Most watches connected at once.
    connect_timeout_s
        Give up a connection attempt after this long.
    pair
        Pair (LE Secure Connections) and bond before subscribing.
    passkeys
        Address to 6-digit passkey, for watches that pair with one.
    mtu
        ATT MTU to request (23..517).
    backoff_initial_s, backoff_max_s, backoff_jitter
        Reconnect backoff: doubles from the initial to the maximum delay, each delay
        varied by up to ±jitter (a fraction) so watches do not reconnect in lockstep.
    watchdog_s
        A connected watch that sends nothing for this long is disconnected and reconnected
        (a dead link is not always reported).
    set_clock
        Write Current Time to each watch on connect and every ``clock_resync_s``.
    clock_resync_s
        Interval between Current Time writes while connected.
    subscribe_standard
        Also subscribe to the standard measurement characteristics of watches that have
        our record service (normally only the record characteristics, which carry
        sequence numbers); standard devices always use their standard characteristics.
    """

    radio: str = DEFAULT_RADIO
    service_uuids: tuple[str, ...] = (_HEART_RATE_SERVICE,)
    devices: tuple[str, ...] = ()
    max_devices: int = 100
    connect_timeout_s: float = 20.0
    pair: bool = True
    passkeys: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    mtu: int = 247
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    backoff_jitter: float = 0.2
    watchdog_s: float = 15.0
    set_clock: bool = True
    clock_resync_s: float = 3600.0
    subscribe_standard: bool = False

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("radio", _radio("ble.radio", self.radio))
        services = _string_list("ble.service_uuids", self.service_uuids)
        set_(
            "service_uuids",
            tuple(
                dict.fromkeys(
                    _service_uuid(f"ble.service_uuids[{i}]", s) for i, s in enumerate(services)
                )
            ),
        )
        set_("devices", _string_list("ble.devices", self.devices))
        if not self.service_uuids and not self.devices:
            raise ConfigError(
                "ble.service_uuids",
                [],
                "is empty and so is ble.devices: the gateway would connect to any device in "
                f'range; list service UUIDs (e.g. ["{_HEART_RATE_SERVICE[4:8]}"]) or devices',
            )
        set_("max_devices", _int_in("ble.max_devices", self.max_devices, 1, 1000))
        set_(
            "connect_timeout_s",
            _float_in("ble.connect_timeout_s", self.connect_timeout_s, 0.0, 600.0, low_open=True),
        )
        set_("pair", _bool("ble.pair", self.pair))
        set_("passkeys", _passkeys("ble.passkeys", self.passkeys))
        set_("mtu", _int_in("ble.mtu", self.mtu, 23, 517, " (the ATT MTU range)"))
        initial = _float_in(
            "ble.backoff_initial_s", self.backoff_initial_s, 0.0, 3600.0, low_open=True
        )
        maximum = _float_in("ble.backoff_max_s", self.backoff_max_s, 0.0, 86400.0, low_open=True)
        if initial > maximum:
            raise ConfigError(
                "ble.backoff_initial_s",
                self.backoff_initial_s,
                f"{initial:g} is above ble.backoff_max_s ({maximum:g}); the first reconnect "
                "delay must not exceed the longest one: lower it or raise backoff_max_s",
            )
        set_("backoff_initial_s", initial)
        set_("backoff_max_s", maximum)
        set_("backoff_jitter", _float_in("ble.backoff_jitter", self.backoff_jitter, 0.0, 1.0))
        # Records come every second; below 2 s the watchdog would fire on ordinary jitter.
        set_("watchdog_s", _float_in("ble.watchdog_s", self.watchdog_s, 2.0, 3600.0))
        set_("set_clock", _bool("ble.set_clock", self.set_clock))
        set_(
            "clock_resync_s",
            _float_in("ble.clock_resync_s", self.clock_resync_s, 60.0, 30 * 86400.0),
        )
        set_("subscribe_standard", _bool("ble.subscribe_standard", self.subscribe_standard))


@dataclass(frozen=True)
class LogConfig:
    """``[log]``: where the service's logs go and how they look.

    Attributes
    ----------
    level
        ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL`` (any case).
    format
        ``"json"``: one JSON object per line (for journald and log shippers); ``"text"``:
        for people.
    file
        Log to this file instead of stderr; ``None`` (the key left out, or ``""``) logs to
        stderr, which systemd sends to the journal.
    redact
        ``true`` (the default): every device address in a log line is replaced by the
        device's pseudonym (the one sync uploads, keyed by ``privacy.key_file``), so a
        log shipper never carries an address off the gateway. ``false`` logs addresses
        as they are (debugging on a bench).
    """

    level: str = "INFO"
    format: Literal["json", "text"] = "json"
    file: Path | None = None
    redact: bool = True

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("level", _choice("log.level", self.level, _LOG_LEVELS, upper=True))
        set_("format", _choice("log.format", self.format, _LOG_FORMATS, upper=False))
        set_("file", _path("log.file", self.file, optional=True))
        set_("redact", _bool("log.redact", self.redact))


def _webhook_url(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, value, f'must be a URL string or "", got {value!r}')
    url = value.strip()
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(path, value, 'must start with http:// or https:// (or be "" for none)')
    return url


def _policies(path: str, value: object) -> Mapping[str, Mapping[str, Any]]:
    # Imported here: the policy module is pure, but config parsing should not pull the
    # alert package into every CLI command that reads a configuration.
    from wearable_core.assessment.policy import load_policies

    if not isinstance(value, Mapping):
        raise ConfigError(path, value, "must be a table of [detection.policies.<type>] tables")
    checked: dict[str, Mapping[str, Any]] = {}
    for kind, fields_ in value.items():
        where = f"{path}.{kind}"
        if not isinstance(fields_, Mapping):
            raise ConfigError(where, fields_, "must be a table, e.g. min_duration_s = 3600")
        try:
            load_policies({kind: fields_})
        except (ValueError, TypeError) as exc:
            raise ConfigError(where, dict(fields_), str(exc)) from None
        checked[str(kind)] = MappingProxyType(dict(fields_))
    return MappingProxyType(checked)


def _hop_s(path: str, value: object) -> int:
    hop = _int_in(path, value, 1, WINDOW_S, " seconds")
    if WINDOW_S % hop:
        divisors = ", ".join(str(d) for d in range(1, WINDOW_S + 1) if WINDOW_S % d == 0)
        raise ConfigError(path, value, f"must divide the {WINDOW_S} s window: one of {divisors}")
    return hop


@dataclass(frozen=True)
class DetectionConfig:
    """``[detection]``: on-gateway anomaly detection and where alerts go.

    Attributes
    ----------
    enabled
        Assess every device's data in 60 s windows (features, model, safety rules,
        alerts). ``false`` only stores data.
    hop_s
        How often an assessment runs: every ``hop_s`` seconds a 60 s window ends
        (overlapping windows; a divisor of 60). 60 assesses each minute once, with up to
        a minute more alert latency.
    model
        A TFLite anomaly model with its manifest next to it (same name, ``.json``);
        ``None`` (the key left out, or ``""``): the baseline model shipped with the
        gateway. A model that cannot be loaded is refused with an error in the log and
        the shipped baseline serves instead.
    max_wait_s
        A window is assessed once every stream has delivered it, or at the latest this
        long after newer data arrived on some stream (a stalled stream must not stall
        alerts).
    webhook_url
        POST every alert event as JSON to this URL (``""``: no webhook; alerts are
        always logged and stored).
    webhook_timeout_s
        Timeout of one webhook POST.
    policies
        Per-type overrides of the alert policies, e.g. ``[detection.policies.fever]
        min_duration_s = 3600`` (fields: on_threshold, off_threshold, min_duration_s,
        cooldown_s, severity).
    """

    enabled: bool = True
    hop_s: int = DEFAULT_HOP_S
    model: Path | None = None
    max_wait_s: float = 120.0
    webhook_url: str = ""
    webhook_timeout_s: float = 5.0
    policies: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("enabled", _bool("detection.enabled", self.enabled))
        set_("hop_s", _hop_s("detection.hop_s", self.hop_s))
        set_("model", _path("detection.model", self.model, optional=True))
        set_("max_wait_s", _float_in("detection.max_wait_s", self.max_wait_s, 0.0, 3600.0))
        set_("webhook_url", _webhook_url("detection.webhook_url", self.webhook_url))
        set_(
            "webhook_timeout_s",
            _float_in(
                "detection.webhook_timeout_s", self.webhook_timeout_s, 0.0, 60.0, low_open=True
            ),
        )
        set_("policies", _policies("detection.policies", self.policies))


_NETWORKS: Final = ("offline", "metered", "unmetered")


def _bucket_url(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, value, f'must be a bucket URL string or "", got {value!r}')
    url = value.strip()
    if not url:
        return ""
    # Imported here: the base config parse should not pull in bucket code it rarely needs.
    from wearable_core.buckets import BucketConfigError, bucket_url_parse

    try:
        bucket_url_parse(url)  # checks the URL; opening it (credentials) is the service's job
    except BucketConfigError as exc:
        raise ConfigError(
            path,
            value,
            f"{exc}; for a GCS bucket write gs://<bucket-name>[/prefix], e.g. gs://bucket/prefix",
        ) from None
    return url


@dataclass(frozen=True)
class SyncConfig:
    """``[sync]``: anonymized aggregates to a bucket (``docs/sync.md``).

    Attributes
    ----------
    bucket
        ``gs://bucket/prefix``, ``file:///dir`` or a directory path; ``""``: no sync
        (nothing is queued, nothing leaves the gateway).
    interval_s
        Seconds between sync cycles.
    network
        ``unmetered`` (everything), ``metered`` (alerts and aggregates only, no model
        downloads) or ``offline`` (queue only).
    batch_interval_s
        Longest time an assessed window waits before it is batched.
    sample_every
        One in this many unremarkable windows is uploaded (with that weight); every
        notable window is.
    outbox_budget_bytes
        Bytes the outbox may hold before it is compacted (``"20MB"``).
    backoff_base_s, backoff_cap_s
        Retry delays after a failed upload: exponential from base to cap, jittered.
    retry_deadline_s
        How long the storage client itself retries one idempotent request.
    """

    bucket: str = ""
    interval_s: float = 300.0
    network: str = "unmetered"
    batch_interval_s: float = 43200.0
    sample_every: int = 10
    outbox_budget_bytes: int = 20 * 1000**2
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 900.0
    retry_deadline_s: float = 60.0

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("bucket", _bucket_url("sync.bucket", self.bucket))
        set_("interval_s", _float_in("sync.interval_s", self.interval_s, 1.0, 86400.0))
        set_("network", _choice("sync.network", self.network, _NETWORKS, upper=False))
        set_(
            "batch_interval_s",
            _float_in("sync.batch_interval_s", self.batch_interval_s, 0.0, 7 * 86400.0),
        )
        set_("sample_every", _int_in("sync.sample_every", self.sample_every, 1, 1440))
        set_(
            "outbox_budget_bytes",
            _size("sync.outbox_budget_bytes", self.outbox_budget_bytes, 100_000, 1024**4),
        )
        set_(
            "backoff_base_s",
            _float_in("sync.backoff_base_s", self.backoff_base_s, 0.0, 3600.0, low_open=True),
        )
        set_(
            "backoff_cap_s",
            _float_in("sync.backoff_cap_s", self.backoff_cap_s, self.backoff_base_s, 86400.0),
        )
        set_(
            "retry_deadline_s",
            _float_in("sync.retry_deadline_s", self.retry_deadline_s, 0.0, 600.0, low_open=True),
        )


@dataclass(frozen=True)
class PrivacyConfig:
    """``[privacy]``: pseudonym key and optional differential privacy (``docs/privacy.md``).

    Attributes
    ----------
    key_file
        The per-install pseudonym secret (created on first use, mode 0600); ``None``:
        ``pseudonym.key`` next to the store. It never leaves the gateway.
    dp_epsilon
        ``0``: no noise. Otherwise the epsilon of each release of hourly summaries
        (discrete Laplace via OpenDP); per-window rows are then not uploaded.
    dp_budget_per_day
        Total epsilon a person's day may spend; releases beyond it are withheld.
    """

    key_file: Path | None = None
    dp_epsilon: float = 0.0
    dp_budget_per_day: float = 1.0

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("key_file", _path("privacy.key_file", self.key_file, optional=True))
        set_("dp_epsilon", _float_in("privacy.dp_epsilon", self.dp_epsilon, 0.0, 100.0))
        set_(
            "dp_budget_per_day",
            _float_in(
                "privacy.dp_budget_per_day", self.dp_budget_per_day, 0.0, 1000.0, low_open=True
            ),
        )
        if self.dp_epsilon > self.dp_budget_per_day:
            raise ConfigError(
                "privacy.dp_epsilon",
                self.dp_epsilon,
                f"exceeds dp_budget_per_day ({_number(self.dp_budget_per_day)}): no release "
                "would ever fit; lower dp_epsilon or raise the budget",
            )


def _public_key(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, value, f'must be a base64 Ed25519 public key or "", got {value!r}')
    text = value.strip()
    if not text:
        return ""
    from wearable_core.contracts.model_release import public_key_parse

    try:
        public_key_parse(text)
    except ValueError as exc:
        raise ConfigError(
            path, value, f"{exc}; use the line `wearable keys generate` printed"
        ) from None
    return text


@dataclass(frozen=True)
class ModelsConfig:
    """``[models]``: signed model delivery from the sync bucket (``docs/formats/model_release.md``).

    Attributes
    ----------
    public_key
        Base64 Ed25519 public key that release manifests must be signed with; ``""``:
        no model delivery (the configured or shipped model serves).
    dir
        Where delivered models are installed (current and previous); ``None``:
        ``models/`` next to the store.
    """

    public_key: str = ""
    dir: Path | None = None

    def __post_init__(self) -> None:
        set_ = _setter(self)
        set_("public_key", _public_key("models.public_key", self.public_key))
        set_("dir", _path("models.dir", self.dir, optional=True))


@dataclass(frozen=True)
class GatewayConfig:
    """The whole configuration: one field per section (``[store]``, ``[ble]``, ...)."""

    store: StoreConfig = field(default_factory=StoreConfig)
    ble: BleConfig = field(default_factory=BleConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    log: LogConfig = field(default_factory=LogConfig)

    @property
    def key_file(self) -> Path:
        """The pseudonym key file (``privacy.key_file``, or next to the store)."""
        return self.privacy.key_file or self.store.path.parent / "pseudonym.key"

    @property
    def models_dir(self) -> Path:
        """Where delivered models are installed (``models.dir``, or next to the store)."""
        return self.models.dir or self.store.path.parent / "models"


def _setter(instance: object) -> Callable[[str, object], None]:
    """Assign a normalised value to a field of a frozen dataclass, from ``__post_init__``."""

    def set_(name: str, value: object) -> None:
        object.__setattr__(instance, name, value)

    return set_


_SECTIONS: Final[dict[str, type[Any]]] = {
    "store": StoreConfig,
    "ble": BleConfig,
    "detection": DetectionConfig,
    "sync": SyncConfig,
    "privacy": PrivacyConfig,
    "models": ModelsConfig,
    "log": LogConfig,
}
_KEYS: Final[dict[str, tuple[str, ...]]] = {
    name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in _SECTIONS.items()
}


def _unknown_key(path: str, key: str, known: tuple[str, ...], section: str | None) -> ConfigError:
    hints: list[str] = []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        hints.append(f"did you mean {close[0]!r}?")
    elsewhere = [name for name, keys in _KEYS.items() if name != section and key in keys]
    if section is not None and elsewhere:
        hints.append(f"{key!r} belongs in [{elsewhere[0]}].")
    listing = f"(known keys: {', '.join(known)})"
    return ConfigError(path, key, " ".join(["unknown key;", *hints, listing]))


def _build(document: Mapping[str, Any]) -> GatewayConfig:
    for key in document:
        if key not in _SECTIONS:
            raise _unknown_key(key, key, tuple(_SECTIONS), None)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = document.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(name, table, f"must be a table ([{name}]), got {table!r}")
        for key in table:
            if key not in _KEYS[name]:
                raise _unknown_key(f"{name}.{key}", key, _KEYS[name], name)
        sections[name] = cls(**table)
    return GatewayConfig(**sections)


def parse_config(text: str, source: str = "<string>") -> GatewayConfig:
    """Parse and validate a configuration from TOML text.

    Parameters
    ----------
    text
        The TOML document; missing sections and keys take their defaults.
    source
        Where the text came from, for error messages.

    Returns
    -------
    GatewayConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        On a TOML syntax error, an unknown key, or a value of the wrong type or range.

    Examples
    --------
    >>> config = parse_config('[ble]\\nradio = "127.0.0.1:7001"\\nbackoff_max_s = 30')
    >>> config.ble.radio, config.ble.backoff_max_s, config.store.batch_max
    ('127.0.0.1:7001', 30.0, 500)
    >>> try:
    ...     parse_config('[ble]\\nbackof_max_s = 30')
    ... except ConfigError as error:
    ...     print(error.field, "->", error.problem.split(" (known")[0])
    ble.backof_max_s -> unknown key; did you mean 'backoff_max_s'?
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", None, f"not valid TOML: {exc}", source=source) from None
    try:
        return _build(document)
    except ConfigError as exc:
        raise exc.with_source(source) from None


def load_config(path: Path | None) -> GatewayConfig:
    """Read and validate the configuration file at ``path``; ``None`` gives the defaults.

    Parameters
    ----------
    path
        The TOML file, or ``None`` for the built-in defaults.

    Returns
    -------
    GatewayConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        If the file cannot be read or is invalid (see :func:`parse_config`).

    Examples
    --------
    >>> load_config(None).store.path.as_posix()
    'gateway-store/gateway.sqlite'
    """
    if path is None:
        return GatewayConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "(file)", str(path), f"cannot read the configuration: {exc}", source=str(path)
        ) from None
    return parse_config(text, source=str(path))


def with_overrides(
    config: GatewayConfig,
    *,
    store: Path | None = None,
    radio: str | None = None,
    bucket: str | None = None,
) -> GatewayConfig:
    """Apply the command line's ``--store``, ``--radio`` and ``--bucket`` on top of ``config``.

    Parameters
    ----------
    config
        The configuration from the file (or the defaults).
    store
        Replaces ``store.path`` when given.
    radio
        Replaces ``ble.radio`` when given (``""`` selects the system's adapter).
    bucket
        Replaces ``sync.bucket`` when given.

    Returns
    -------
    GatewayConfig
        A new, validated configuration; ``config`` is unchanged.

    Raises
    ------
    ConfigError
        If an override is invalid; its source is ``"command line"``.

    Examples
    --------
    >>> config = with_overrides(GatewayConfig(), radio="10.0.0.5:7000")
    >>> config.ble.radio, config.store.path.as_posix()
    ('10.0.0.5:7000', 'gateway-store/gateway.sqlite')
    """
    try:
        if store is not None:
            config = dataclasses.replace(
                config, store=dataclasses.replace(config.store, path=store)
            )
        if radio is not None:
            config = dataclasses.replace(config, ble=dataclasses.replace(config.ble, radio=radio))
        if bucket is not None:
            config = dataclasses.replace(
                config, sync=dataclasses.replace(config.sync, bucket=bucket)
            )
    except ConfigError as exc:
        raise exc.with_source("command line") from None
    return config
