"""The ``[detection]`` section: defaults, the example file, policy checks, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.config import ConfigError, DetectionConfig, GatewayConfig, config_load, config_parse
from wearable_core.assessment.policy import DEFAULT_POLICIES, policies_load
from wearable_core.assessment.types import AlertType, Severity

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config" / "gateway.toml"


def test_defaults() -> None:
    detection = config_parse("").detection
    assert detection == DetectionConfig() == GatewayConfig().detection
    assert (detection.enabled, detection.model, detection.max_wait_s) == (True, None, 120.0)
    assert detection.hop_s == 15
    assert (detection.webhook_url, detection.webhook_timeout_s) == ("", 5.0)
    assert dict(detection.policies) == {}
    assert policies_load(detection.policies) == dict(DEFAULT_POLICIES)


def test_the_example_file_parses_to_the_defaults() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "[detection]" in text and "[detection.policies]" in text
    config = config_load(EXAMPLE)
    assert config.detection == DetectionConfig()
    for f in dataclasses.fields(DetectionConfig):
        if f.name != "policies":
            assert f"\n{f.name} = " in text, f.name


def test_every_field_parses() -> None:
    config = config_parse(
        """
        [detection]
        enabled = false
        hop_s = 30
        model = "models/anomaly.tflite"
        max_wait_s = 30
        webhook_url = " https://alerts.example.org/hook "
        webhook_timeout_s = 2.5

        [detection.policies.fever]
        min_duration_s = 3600
        severity = "critical"

        [detection.policies.af]
        on_threshold = 0.9
        off_threshold = 0.7
        """
    )
    d = config.detection
    assert d.enabled is False and d.model == Path("models/anomaly.tflite") and d.hop_s == 30
    assert (d.max_wait_s, d.webhook_timeout_s) == (30.0, 2.5)
    assert d.webhook_url == "https://alerts.example.org/hook"
    policies = policies_load(d.policies)
    assert policies[AlertType.FEVER].min_duration_s == 3600
    assert policies[AlertType.FEVER].severity is Severity.CRITICAL
    assert (policies[AlertType.AF].on_threshold, policies[AlertType.AF].off_threshold) == (0.9, 0.7)
    assert policies[AlertType.FALL] == DEFAULT_POLICIES[AlertType.FALL]


def test_an_empty_model_is_the_shipped_baseline() -> None:
    assert config_parse('[detection]\nmodel = ""').detection.model is None


BAD_INPUTS = [
    ("[detection.policies.fevr]\nmin_duration_s = 1", "detection.policies.fevr", "fevr"),
    ("[detection.policies.fever]\nmin_duration = 1", "detection.policies.fever", "min_duration"),
    (
        "[detection.policies.af]\non_threshold = 0.5\noff_threshold = 0.6",
        "detection.policies.af",
        "off_threshold",
    ),
    ("[detection.policies.fall]\ncooldown_s = -1", "detection.policies.fall", ">= 0"),
    ("[detection.policies.fall]\nseverity = 'loud'", "detection.policies.fall", "loud"),
    ("[detection.policies]\nfever = 3", "detection.policies.fever", "must be a table"),
    ("[detection]\npolicies = 3", "detection.policies", "must be a table"),
    ("[detection]\nwebhook_url = 'ftp://x.org'", "detection.webhook_url", "http://"),
    ("[detection]\nwebhook_url = 'alerts.example.org'", "detection.webhook_url", "https://"),
    ("[detection]\nwebhook_url = 5", "detection.webhook_url", "URL"),
    ("[detection]\nmax_wait_s = 3601", "detection.max_wait_s", "3600"),
    ("[detection]\nmax_wait_s = -1", "detection.max_wait_s", ""),
    ("[detection]\nwebhook_timeout_s = 0", "detection.webhook_timeout_s", ""),
    ("[detection]\nwebhook_timeout_s = 61", "detection.webhook_timeout_s", "60"),
    ("[detection]\nenabled = 'yes'", "detection.enabled", ""),
    ("[detection]\nhop_s = 7", "detection.hop_s", "one of 1, 2, 3, 4, 5, 6, 10, 12, 15"),
    ("[detection]\nhop_s = 0", "detection.hop_s", "1..60"),
    ("[detection]\nhop_s = 15.0", "detection.hop_s", "integer"),
    ("[detection]\nmodel = 3", "detection.model", ""),
]


@pytest.mark.parametrize(("text", "field", "fragment"), BAD_INPUTS)
def test_bad_inputs_name_the_field(text: str, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_parse(text, source="test.toml")
    error = caught.value
    assert error.field == field
    assert str(error).startswith(f"test.toml: {field}: ")
    assert fragment in str(error)


def test_an_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as caught:
        config_parse("[detection]\nmax_wait = 3")
    assert caught.value.field == "detection.max_wait"
    assert "max_wait_s" in str(caught.value)


def test_constructing_in_code_gets_the_same_checks() -> None:
    with pytest.raises(ConfigError, match=r"^detection\.policies\.fevr: "):
        DetectionConfig(policies={"fevr": {"min_duration_s": 1}})
    with pytest.raises(ConfigError, match=r"^detection\.max_wait_s: "):
        DetectionConfig(max_wait_s=5000)


def test_the_config_stays_frozen_and_hashable() -> None:
    text = "[detection]\nmax_wait_s = 60\n[detection.policies.fever]\nmin_duration_s = 3600"
    config = config_parse(text)
    assert hash(config) == hash(config_parse(text))
    assert config == config_parse(text)
    assert config != config_parse("[detection]\nmax_wait_s = 60")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.detection.max_wait_s = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.detection.policies["af"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        config.detection.policies["fever"]["min_duration_s"] = 1  # type: ignore[index]
