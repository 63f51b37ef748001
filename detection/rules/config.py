"""The rules file: labels, severities, indicators and thresholds, resolved per target profile."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RULES = Path(__file__).with_name("indicators.yaml")
SEVERITIES = ("veto", "deduction", "info")


class RulesError(ValueError):
    """The rules file is not usable; the message says where."""


@dataclass
class RuleSet:
    rules: dict[str, dict[str, Any]]
    profiles: dict[str, dict[str, dict[str, Any]]]
    default_profile: str = "national"
    regions: dict[str, str] = field(default_factory=dict)
    scoring: dict[str, float] = field(default_factory=lambda: {"full_marks": 100.0, "pass_mark": 60.0})
    _cache: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, repr=False)

    def profile_for(self, target: dict[str, Any], override: str | None = None) -> str:
        if override:
            return override
        if target.get("profile"):
            return str(target["profile"])
        code = str(target.get("region_code") or "")
        for prefix in sorted(self.regions, key=len, reverse=True):
            if code.startswith(prefix):
                return self.regions[prefix]
        return self.default_profile

    def resolved(self, profile: str) -> dict[str, dict[str, Any]]:
        """Every rule's settings with the profile's overrides applied."""
        if profile not in self._cache:
            if profile not in self.profiles:
                raise RulesError(f"unknown profile {profile!r}; known: {', '.join(self.profiles)}")
            merged = copy.deepcopy(self.rules)
            for rule_id, overrides in (self.profiles[profile] or {}).items():
                merged[rule_id].update(overrides)
            self._cache[profile] = merged
        return self._cache[profile]

    def meta(self, rule_id: str) -> dict[str, Any]:
        return self.rules[rule_id]


def read_default_rules() -> str:
    """The built-in rules file, read as package data (also from a zipped egg, as Scrapyd runs it)."""
    return resources.files("detection.rules").joinpath("indicators.yaml").read_text(encoding="utf-8")


def load_rules(path: str | Path | None = None) -> RuleSet:
    path = Path(path) if path else DEFAULT_RULES
    try:
        text = path.read_text(encoding="utf-8") if path != DEFAULT_RULES else read_default_rules()
        # libyaml's safe loader where PyYAML was built with it (five times faster), else the pure-Python one
        data = yaml.load(text, Loader=yaml.CSafeLoader) if yaml.__with_libyaml__ else yaml.safe_load(text)
    except OSError as exc:
        raise RulesError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        raise RulesError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise RulesError(
            f"{path}: expected a mapping with rules: (and profiles:), found {type(data).__name__}"
        )
    rules = data.get("rules") or {}
    for rule_id, rule in rules.items():
        for key in ("label", "severity", "indicator"):
            if not rule.get(key):
                raise RulesError(f"{path}: rule {rule_id} has no {key}")
        if rule["severity"] not in SEVERITIES:
            raise RulesError(f"{path}: rule {rule_id}: severity must be one of {SEVERITIES}")
    profiles = data.get("profiles") or {}
    for name, overrides in profiles.items():
        for rule_id in overrides or {}:
            if rule_id not in rules:
                raise RulesError(f"{path}: profile {name} overrides unknown rule {rule_id}")
    default = data.get("default_profile", "national")
    profiles.setdefault(default, {})
    regions = {str(k): v for k, v in (data.get("regions") or {}).items()}
    for prefix, name in regions.items():
        if name not in profiles:
            raise RulesError(f"{path}: region {prefix} names unknown profile {name}")
    scoring = {k: float(v) for k, v in (data.get("scoring") or {}).items()}
    for key in ("full_marks", "pass_mark"):
        if key not in scoring:
            raise RulesError(f"{path}: scoring needs {key}")
    return RuleSet(rules, profiles, default, regions, scoring)
