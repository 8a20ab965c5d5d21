"""The gateway service's configuration: a TOML file, validated field by field.

Every key has a default, so no file at all is a valid configuration; the defaults serve a
simulated setup (`wearable sim radio` on 127.0.0.1:7000) with the store under the working
directory. ``examples/config/gateway.toml`` lists every key with its default.

Each section is a declarative schema (:class:`wearable_core.schema.Schema`, on msgspec;
``docs/config.md``): a field's type and limits are written in its annotation and checked on
construction, so a configuration built in code gets the same checks as one read from a
file. Time spans (``*_s``) are :data:`~wearable_core.schema.Duration` (``30``, ``"90s"``,
``"15min"``) and byte budgets :data:`~wearable_core.schema.ByteSize` (``"512MiB"``). Every
failure is a :class:`ConfigError` whose message names the field path
(``ble.backoff_max_s``), the value, what is wrong and what would be accepted; unknown keys
are errors too (a typo would otherwise silently fall back to the default), with a
did-you-mean suggestion.

Relative paths (``store.path``, ``log.file``) are relative to the service's working
directory, not to the configuration file; ``~`` is expanded.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Final, Literal

from msgspec import Meta

from bumble_radio.address import radio_address_parse
from wearable_core.contracts.features import WINDOW_S
from wearable_core.schema import (
    ByteSize,
    Check,
    Duration,
    Schema,
    SchemaError,
    WholeSeconds,
    field_convert,
    schema_from_mapping,
)

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
    "config_load",
    "config_parse",
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
_MAC_ADDRESS: Final = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


class ConfigError(SchemaError):
    """A configuration value is missing its mark (``field``, ``value``, ``problem``, ``source``).

    ``field`` is a dotted key path (``"ble.backoff_max_s"``), or ``"(file)"`` / ``"(syntax)"``
    when the file itself cannot be read or parsed; ``source`` is a file name,
    ``"<string>"`` or ``"command line"`` (:class:`wearable_core.schema.SchemaError`).
    """


class _Section(Schema):
    """A configuration section: its errors are :class:`ConfigError`."""

    error: ClassVar[type[SchemaError]] = ConfigError


#: Default assessment hop: a 60 s window ends every 15 s, so an alert can open within the
#: minute its definition needs (``docs/detection.md``, "Latency").
DEFAULT_HOP_S: Final = 15


# --- checks of fields no type and limits describe ------------------------------------------


def _number(value: float) -> str:
    """``60`` and ``2592000`` rather than ``60.0`` and ``2.592e+06`` in messages."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _choice(choices: tuple[str, ...], *, upper: bool) -> Check:
    """One of ``choices``, in any case and with spaces around it."""

    def check(path: str, value: object) -> str:
        if isinstance(value, str):
            normal = value.strip().upper() if upper else value.strip().lower()
            if normal in choices:
                return normal
        raise ConfigError(path, value, f"must be one of {', '.join(choices)}; got {value!r}")

    return Check(check)


def _path(*, optional: bool = False) -> Check:
    """A file path (``~`` expanded); with ``optional``, ``None`` or ``""`` for none."""

    def check(path: str, value: object) -> Path | None:
        if isinstance(value, str | Path) and str(value).strip():
            return Path(str(value).strip()).expanduser()
        if optional and (value is None or value == ""):
            return None
        raise ConfigError(path, value, f"must be a non-empty file path string, got {value!r}")

    return Check(check)


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


def _service_uuids(path: str, value: object) -> tuple[str, ...]:
    """Full lowercase 128-bit UUIDs from 16-bit (``"180d"``, ``"0x180D"``) or 128-bit ones."""
    services: dict[str, None] = {}
    for index, text in enumerate(_string_list(path, value)):
        short = text.lower().removeprefix("0x")
        if re.fullmatch(r"[0-9a-f]{4}", short):
            services[f"0000{short}{_BLUETOOTH_BASE_SUFFIX}"] = None
            continue
        try:
            services[str(uuid.UUID(short))] = None
        except ValueError:
            raise ConfigError(
                f"{path}[{index}]",
                text,
                'is not a UUID; use a 16-bit SIG number ("180d") or a 128-bit UUID '
                '("0000180d-0000-1000-8000-00805f9b34fb")',
            ) from None
    return tuple(services)


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
        radio_address_parse(text)
    except ValueError:
        raise ConfigError(
            path,
            value,
            f'must be "" (the system\'s Bluetooth adapter) or "HOST:PORT" of a `wearable sim '
            f'radio` hub with a port in 1..65535 (e.g. "{DEFAULT_RADIO}"); got {value!r}',
        ) from None
    return text


#: A passkey: six digits. TOML integers cannot have leading zeros, so "012345" is accepted
#: as a string as well as 12345 as an integer.
_Passkey = Annotated[int, Meta(ge=0, le=999_999, extra={"hint": ' (or a 6-digit string "012345")'})]


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
        if isinstance(passkey, str) and re.fullmatch(r"\d{6}", passkey.strip()):
            passkey = int(passkey)
        table[address] = field_convert(entry, passkey, _Passkey, ConfigError)
    return MappingProxyType(table)


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
    from wearable_core.assessment.policy import policies_load

    if not isinstance(value, Mapping):
        raise ConfigError(path, value, "must be a table of [detection.policies.<type>] tables")
    checked: dict[str, Mapping[str, Any]] = {}
    for kind, fields_ in value.items():
        where = f"{path}.{kind}"
        if not isinstance(fields_, Mapping):
            raise ConfigError(where, fields_, "must be a table, e.g. min_duration_s = 3600")
        try:
            policies_load({kind: fields_})
        except (ValueError, TypeError) as exc:
            raise ConfigError(where, dict(fields_), str(exc)) from None
        checked[str(kind)] = MappingProxyType(dict(fields_))
    return MappingProxyType(checked)


def _text_read_by(what: str, read: Callable[[str], object], fix: str) -> Check:
    """A string ``read`` accepts (``read``'s error and ``fix`` otherwise), or ``""`` for none."""

    def check(path: str, value: object) -> str:
        if not isinstance(value, str):
            raise ConfigError(path, value, f'must be {what} or "", got {value!r}')
        text = value.strip()
        if text:
            try:
                read(text)
            except ValueError as exc:
                raise ConfigError(path, value, f"{exc}; {fix}") from None
        return text

    return Check(check)


def _bucket_url_read(url: str) -> object:
    # Imported here: the base config parse should not pull in bucket code it rarely needs.
    from wearable_core.buckets import bucket_url_parse

    # checks the URL; opening it (credentials) is the service's job
    return bucket_url_parse(url)


def _public_key_read(text: str) -> object:
    from wearable_core.contracts.model_release import public_key_parse

    return public_key_parse(text)


# --- the sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreConfig(_Section):
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

    path_prefix: ClassVar[str] = "store"

    path: Annotated[Path, _path()] = DEFAULT_STORE_PATH
    budget_bytes: Annotated[ByteSize, Meta(ge=MIB, le=16 * 1024**4)] = 512 * MIB
    flush_interval_s: Annotated[Duration, Meta(gt=0, le=60)] = 0.5
    batch_max: Annotated[int, Meta(ge=1, le=100_000)] = 500


@dataclass(frozen=True)
class BleConfig(_Section):
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

    path_prefix: ClassVar[str] = "ble"

    radio: Annotated[str, Check(_radio)] = DEFAULT_RADIO
    service_uuids: Annotated[tuple[str, ...], Check(_service_uuids)] = (_HEART_RATE_SERVICE,)
    devices: Annotated[tuple[str, ...], Check(_string_list)] = ()
    max_devices: Annotated[int, Meta(ge=1, le=1000)] = 100
    connect_timeout_s: Annotated[Duration, Meta(gt=0, le=600)] = 20.0
    pair: bool = True
    passkeys: Annotated[Mapping[str, int], Check(_passkeys)] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    mtu: Annotated[int, Meta(ge=23, le=517, extra={"hint": " (the ATT MTU range)"})] = 247
    backoff_initial_s: Annotated[Duration, Meta(gt=0, le=3600)] = 1.0
    backoff_max_s: Annotated[Duration, Meta(gt=0, le=86400)] = 60.0
    backoff_jitter: Annotated[float, Meta(ge=0, le=1)] = 0.2
    # Records come every second; below 2 s the watchdog would fire on ordinary jitter.
    watchdog_s: Annotated[Duration, Meta(ge=2, le=3600)] = 15.0
    set_clock: bool = True
    clock_resync_s: Annotated[Duration, Meta(ge=60, le=30 * 86400)] = 3600.0
    subscribe_standard: bool = False

    def check_fields(self) -> None:
        """Some device must be selected, and the backoff must grow from initial to max."""
        if not self.service_uuids and not self.devices:
            raise ConfigError(
                "ble.service_uuids",
                [],
                "is empty and so is ble.devices: the gateway would connect to any device in "
                f'range; list service UUIDs (e.g. ["{_HEART_RATE_SERVICE[4:8]}"]) or devices',
            )
        if self.backoff_initial_s > self.backoff_max_s:
            raise ConfigError(
                "ble.backoff_initial_s",
                self.backoff_initial_s,
                f"{self.backoff_initial_s:g} is above ble.backoff_max_s "
                f"({self.backoff_max_s:g}); the first reconnect delay must not exceed the "
                "longest one: lower it or raise backoff_max_s",
            )


@dataclass(frozen=True)
class LogConfig(_Section):
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

    path_prefix: ClassVar[str] = "log"

    level: Annotated[
        str, _choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), upper=True)
    ] = "INFO"
    format: Annotated[Literal["json", "text"], _choice(("json", "text"), upper=False)] = "json"
    file: Annotated[Path | None, _path(optional=True)] = None
    redact: bool = True


@dataclass(frozen=True)
class DetectionConfig(_Section):
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

    path_prefix: ClassVar[str] = "detection"

    enabled: bool = True
    # A whole number of seconds ("15s" or 15) that divides the window (check_fields).
    hop_s: Annotated[WholeSeconds, Meta(ge=1, le=WINDOW_S)] = DEFAULT_HOP_S
    model: Annotated[Path | None, _path(optional=True)] = None
    max_wait_s: Annotated[Duration, Meta(ge=0, le=3600)] = 120.0
    webhook_url: Annotated[str, Check(_webhook_url)] = ""
    webhook_timeout_s: Annotated[Duration, Meta(gt=0, le=60)] = 5.0
    policies: Annotated[Mapping[str, Mapping[str, Any]], Check(_policies)] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def check_fields(self) -> None:
        """The hop divides the 60 s window, so windows end on whole hops."""
        if WINDOW_S % self.hop_s:
            divisors = ", ".join(str(d) for d in range(1, WINDOW_S + 1) if WINDOW_S % d == 0)
            raise ConfigError(
                "detection.hop_s",
                self.hop_s,
                f"must divide the {WINDOW_S} s window: one of {divisors}",
            )


@dataclass(frozen=True)
class SyncConfig(_Section):
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

    path_prefix: ClassVar[str] = "sync"

    bucket: Annotated[
        str,
        _text_read_by(
            "a bucket URL string",
            _bucket_url_read,
            "for a GCS bucket write gs://<bucket-name>[/prefix], e.g. gs://bucket/prefix",
        ),
    ] = ""
    interval_s: Annotated[Duration, Meta(ge=1, le=86400)] = 300.0
    network: Annotated[str, _choice(("offline", "metered", "unmetered"), upper=False)] = "unmetered"
    batch_interval_s: Annotated[Duration, Meta(ge=0, le=7 * 86400)] = 43200.0
    sample_every: Annotated[int, Meta(ge=1, le=1440)] = 10
    outbox_budget_bytes: Annotated[ByteSize, Meta(ge=100_000, le=1024**4)] = 20 * 1000**2
    backoff_base_s: Annotated[Duration, Meta(gt=0, le=3600)] = 30.0
    backoff_cap_s: Annotated[Duration, Meta(ge=0, le=86400)] = 900.0
    retry_deadline_s: Annotated[Duration, Meta(gt=0, le=600)] = 60.0

    def check_fields(self) -> None:
        """The retry delay grows from its base to its cap."""
        if self.backoff_cap_s < self.backoff_base_s:
            raise ConfigError(
                "sync.backoff_cap_s",
                self.backoff_cap_s,
                f"{_number(self.backoff_cap_s)} is below sync.backoff_base_s "
                f"({_number(self.backoff_base_s)}); the longest retry delay must not be "
                "shorter than the first: raise it or lower backoff_base_s",
            )


@dataclass(frozen=True)
class PrivacyConfig(_Section):
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

    path_prefix: ClassVar[str] = "privacy"

    key_file: Annotated[Path | None, _path(optional=True)] = None
    dp_epsilon: Annotated[float, Meta(ge=0, le=100)] = 0.0
    dp_budget_per_day: Annotated[float, Meta(gt=0, le=1000)] = 1.0

    def check_fields(self) -> None:
        """A single release must fit in the day's budget."""
        if self.dp_epsilon > self.dp_budget_per_day:
            raise ConfigError(
                "privacy.dp_epsilon",
                self.dp_epsilon,
                f"exceeds dp_budget_per_day ({_number(self.dp_budget_per_day)}): no release "
                "would ever fit; lower dp_epsilon or raise the budget",
            )


@dataclass(frozen=True)
class ModelsConfig(_Section):
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

    path_prefix: ClassVar[str] = "models"

    public_key: Annotated[
        str,
        _text_read_by(
            "a base64 Ed25519 public key",
            _public_key_read,
            "use the line `wearable keys generate` printed",
        ),
    ] = ""
    dir: Annotated[Path | None, _path(optional=True)] = None


@dataclass(frozen=True)
class GatewayConfig(_Section):
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


def config_parse(text: str, source: str = "<string>") -> GatewayConfig:
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
    >>> config = config_parse('[ble]\\nradio = "127.0.0.1:7001"\\nbackoff_max_s = 30')
    >>> config.ble.radio, config.ble.backoff_max_s, config.store.batch_max
    ('127.0.0.1:7001', 30.0, 500)
    >>> try:
    ...     config_parse('[ble]\\nbackof_max_s = 30')
    ... except ConfigError as error:
    ...     print(error.field, "->", error.problem.split(" (known")[0])
    ble.backof_max_s -> unknown key; did you mean 'backoff_max_s'?
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", None, f"not valid TOML: {exc}", source=source) from None
    try:
        return schema_from_mapping(GatewayConfig, document)
    except ConfigError as exc:
        raise exc.with_source(source) from None


def config_load(path: Path | None) -> GatewayConfig:
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
        If the file cannot be read or is invalid (see :func:`config_parse`).

    Examples
    --------
    >>> config_load(None).store.path.as_posix()
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
    return config_parse(text, source=str(path))


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
