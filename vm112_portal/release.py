"""The Portal's release: its package's version (``onboard-funnel`` in pyproject.toml, read
from the installed metadata), sent in onboarding.started so Ops can split the funnel by
release (docs/webhook-funnel-events.md, "Breakdowns").

The default of PORTAL_RELEASE (vm112_portal/settings.py, ``Settings.release``), which
names a build in its place. None when the metadata is missing (a checkout run without
installing) or the version is not one the contract accepts
(``servicekit.contract.RELEASE``: 1-32 characters, a digit first): the event then
carries no release and Ops counts the session as unknown.
"""

from __future__ import annotations

from importlib import metadata

from servicekit.contract import RELEASE as RELEASE_PATTERN

PACKAGE = "onboard-funnel"


def release_of(package: str = PACKAGE) -> str | None:
    """The installed version of ``package`` when the contract accepts it, else None."""
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
    return version if RELEASE_PATTERN.match(version) else None


RELEASE = release_of()
