"""Per-community analytics settings: layer thresholds and alert levels, with documented defaults.

Stored in ``Community.settings["analytics"]`` as ``{"layers": {...}, "health": {...}}``; a key
that is missing takes its default (docs/metrics.md "Layers" and "Health").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

SETTINGS_KEY = "analytics"


@dataclass(frozen=True)
class LayerThresholds:
    """How members are sorted into core / active / occasional / lurker / churned."""

    window_days: int = 30
    core_min_active_days: int = 12
    core_min_messages: int = 30
    core_min_replies: int = 10
    active_min_active_days: int = 4


@dataclass(frozen=True)
class HealthThresholds:
    """When health alerts fire."""

    silent_core_days: int = 14
    water_alert_share: float = 0.5
    link_alert_share: float = 0.2
    deleted_alert_share: float = 0.2
    share_rise: float = 0.10
    dying_last_to_first: float = 0.6
    dying_min_first_week: int = 20


class SettingsError(ValueError):
    """A threshold an operator typed that cannot be used."""


def _load(cls, stored: dict | None):
    stored = stored or {}
    values = {}
    for f in fields(cls):
        if f.name in stored and stored[f.name] not in (None, ""):
            caster = type(f.default)
            try:
                values[f.name] = caster(stored[f.name])
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{f.name}: {stored[f.name]!r} is not a number") from exc
    return cls(**values)


def layer_thresholds(community) -> LayerThresholds:
    """The community's layer thresholds (defaults for missing keys)."""
    return _load(LayerThresholds, (community.settings or {}).get(SETTINGS_KEY, {}).get("layers"))


def health_thresholds(community) -> HealthThresholds:
    """The community's health-alert thresholds (defaults for missing keys)."""
    return _load(HealthThresholds, (community.settings or {}).get(SETTINGS_KEY, {}).get("health"))


def layer_thresholds_set(*, community, values: dict) -> LayerThresholds:
    """Validate and store new layer thresholds for ``community``; returns what is now in force."""
    thresholds = _load(LayerThresholds, values)
    for name, value in asdict(thresholds).items():
        if value < 0:
            raise SettingsError(f"{name} cannot be negative")
    if thresholds.window_days < 1:
        raise SettingsError("window_days must be at least 1")
    if thresholds.core_min_active_days > thresholds.window_days or thresholds.active_min_active_days > thresholds.window_days:
        raise SettingsError("a minimum of active days cannot exceed window_days")
    settings = dict(community.settings or {})
    section = dict(settings.get(SETTINGS_KEY) or {})
    section["layers"] = asdict(thresholds)
    settings[SETTINGS_KEY] = section
    community.settings = settings
    community.save(update_fields=["settings"])
    return thresholds
