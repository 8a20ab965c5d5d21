"""The [sync], [privacy] and [models] sections: defaults, errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, GatewayConfig, config_parse, with_overrides
from wearable_core.contracts.model_release import keypair_generate


def test_defaults_sync_nothing_and_keep_keys_next_to_the_store() -> None:
    config = GatewayConfig()
    assert config.sync.bucket == "" and config.sync.network == "unmetered"
    assert config.privacy.dp_epsilon == 0.0 and config.models.public_key == ""
    assert config.key_file == Path("gateway-store/pseudonym.key")
    assert config.models_dir == Path("gateway-store/models")


def test_a_full_section_parses() -> None:
    _, public = keypair_generate()
    config = config_parse(
        f'[sync]\nbucket = "gs://ward-7/gateways/a"\nnetwork = "Metered"\n'
        f'outbox_budget_bytes = "5MB"\nsample_every = 5\n'
        f"[privacy]\ndp_epsilon = 0.5\ndp_budget_per_day = 2\n"
        f'[models]\npublic_key = "{public}"\ndir = "m"\n'
    )
    assert config.sync.bucket == "gs://ward-7/gateways/a" and config.sync.network == "metered"
    assert config.sync.outbox_budget_bytes == 5_000_000 and config.sync.sample_every == 5
    assert config.privacy.dp_epsilon == 0.5 and config.models_dir == Path("m")


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        ('[sync]\nbucket = "s3://x"', "sync.bucket", "gs://bucket/prefix"),
        ('[sync]\nbucket = "gs://"', "sync.bucket", "gs://<bucket-name>"),
        ('[sync]\nnetwork = "wifi"', "sync.network", "unmetered"),
        ("[sync]\nsample_every = 0", "sync.sample_every", "1"),
        ("[sync]\nbackoff_base_s = 60\nbackoff_cap_s = 10", "sync.backoff_cap_s", "60"),
        ("[privacy]\ndp_epsilon = 2\ndp_budget_per_day = 1", "privacy.dp_epsilon", "budget"),
        ('[models]\npublic_key = "not-a-key"', "models.public_key", "keys generate"),
        ("[sync]\nbuckett = 'x'", "sync.buckett", "did you mean 'bucket'"),
    ],
)
def test_bad_values_name_the_field_and_the_fix(text: str, field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_parse(text)
    assert info.value.field == field
    assert hint in str(info.value)


def test_bucket_override_from_the_command_line() -> None:
    config = with_overrides(GatewayConfig(), bucket="file:///srv/bucket")
    assert config.sync.bucket == "file:///srv/bucket"
    with pytest.raises(ConfigError, match="command line"):
        with_overrides(GatewayConfig(), bucket="ftp://x")
