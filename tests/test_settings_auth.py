"""The settings added for authentication and limits: environment variables
and validation."""

from __future__ import annotations

import pytest

from eventjobs import Settings
from eventjobs.errors import ConfigError


def test_auth_settings_come_from_the_environment():
    """EVENTJOBS_USERS, _JWT_*, _REDACT_HEADERS, _MAX_RESULTS_PER_USER, _MAX_HEADER_* are read."""
    settings = Settings.from_env(
        {
            "EVENTJOBS_USERS": "/etc/users.json",
            "EVENTJOBS_JWT_SECRET_FILE": "/etc/secret",
            "EVENTJOBS_JWT_LIFETIME": "60",
            "EVENTJOBS_REDACT_HEADERS": "X-Api-Key, x-token",
            "EVENTJOBS_MAX_RESULTS_PER_USER": "7",
            "EVENTJOBS_MAX_HEADER_COUNT": "10",
            "EVENTJOBS_MAX_HEADER_BYTES": "2048",
        }
    )
    assert (
        settings.users,
        settings.jwt_secret_file,
        settings.jwt_lifetime,
        settings.redact_headers,
        settings.max_results_per_user,
        settings.max_header_count,
        settings.max_header_bytes,
    ) == ("/etc/users.json", "/etc/secret", 60.0, ("x-api-key", "x-token"), 7, 10, 2048)


def test_authentication_is_off_by_default():
    """No users file, no quota: the behaviour before authentication existed."""
    settings = Settings()
    assert settings.users is None and settings.max_results_per_user is None


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"max_results_per_user": 0},
            "max_results_per_user must be a whole number of at least 1",
        ),
        (
            {"max_header_count": 0},
            "max_header_count must be a whole number of at least 1",
        ),
        ({"jwt_lifetime": -1}, "jwt_lifetime must be a number of seconds"),
        ({"jwt_lifetime": 0}, "jwt_lifetime must be a number of seconds above 0"),
        ({"redact_headers": ("bad name",)}, "is not an HTTP header name"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(values, message):
    """Each invalid value raises ConfigError naming the setting."""
    with pytest.raises(ConfigError, match=message):
        Settings(**values)


def test_a_non_number_quota_in_the_environment_is_refused():
    """EVENTJOBS_MAX_RESULTS_PER_USER=abc is a ConfigError naming the variable."""
    with pytest.raises(
        ConfigError, match="EVENTJOBS_MAX_RESULTS_PER_USER must be a whole number"
    ):
        Settings.from_env({"EVENTJOBS_MAX_RESULTS_PER_USER": "abc"})
