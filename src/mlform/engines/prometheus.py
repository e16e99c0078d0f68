"""Talking to Prometheus (reloading rules, reading firing alerts): http(s) only, no
redirects, a timeout, and the hosts the reconciler host's operator allows.

``Project.spec.monitoring.prometheus_url`` comes from a pull request, and apply and
`retrain check` run on a CI runner or the serving host, inside the team's network. So the
spec can only name an http(s) URL, and the operator, not the spec, has the last word:

- ``MLFORM_PROMETHEUS_URL`` pins the URL: it is used whatever the spec says;
- ``MLFORM_PROMETHEUS_HOSTS`` (``host`` or ``host:port``, comma-separated) lists the only
  hosts a spec's URL may name; any other is refused before a request is made.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlform.errors import UserError

if TYPE_CHECKING:
    import urllib.request

PIN = "MLFORM_PROMETHEUS_URL"
ALLOW = "MLFORM_PROMETHEUS_HOSTS"
TIMEOUT = 10.0


def _opener() -> urllib.request.OpenerDirector:
    """http and https only: no file://, ftp:// or data:, no proxies from the environment."""
    # urllib.request (http.client, ssl, email) only when Prometheus is contacted: plan,
    # compile and status import this module and most runs never talk to Prometheus.
    import urllib.request

    class _NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a 3xx is an HTTPError: a URL we checked never leads to one we did not

    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _NoRedirects(),
    ):
        opener.add_handler(handler)
    return opener


@dataclass(frozen=True)
class Prometheus:
    url: str

    @classmethod
    def of(cls, spec_url: str | None, environ: Mapping[str, str] = os.environ) -> Prometheus | None:
        """The Prometheus to talk to: the operator's pin, else the spec's URL if allowed."""
        pinned = environ.get(PIN, "").strip()
        url = pinned or (spec_url or "")
        if not url:
            return None
        parts = urlsplit(url)
        source = f"${PIN}" if pinned else "Project.spec.monitoring.prometheus_url"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"{source} must be an http(s) URL with a host, not {url!r}")
        allowed = {h.strip().lower() for h in environ.get(ALLOW, "").split(",") if h.strip()}
        host = parts.hostname.lower()
        netloc = f"{host}:{parts.port}" if parts.port else host
        if not pinned and allowed and host not in allowed and netloc not in allowed:
            raise UserError(
                f"Prometheus at {url} is not among the hosts this machine may contact"
                f" (${ALLOW}={environ[ALLOW]})",
                hint=f"Add {netloc} to ${ALLOW}, or pin the URL with ${PIN}.",
            )
        return cls(url.rstrip("/"))

    def reload(self) -> str:
        """Ask Prometheus to reload its rules (it needs --web.enable-lifecycle)."""
        import urllib.error
        import urllib.request

        url = f"{self.url}/-/reload"
        try:
            with _opener().open(urllib.request.Request(url, method="POST"), timeout=TIMEOUT):
                pass
        except urllib.error.HTTPError as error:
            hint = (
                " (start Prometheus with --web.enable-lifecycle)"
                if error.code in (403, 405)
                else ""
            )
            raise UserError(
                f"Prometheus refused to reload its rules: POST {url}: HTTP {error.code}{hint}"
            ) from None
        except OSError as error:
            raise UserError(
                f"could not ask Prometheus to reload its rules: POST {url}: {error}"
            ) from None
        return f"Prometheus reloaded its rules ({url})"

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus's active alerts; none when it cannot be reached or answers garbage."""
        try:
            with _opener().open(f"{self.url}/api/v1/alerts", timeout=TIMEOUT / 2) as response:
                data = json.loads(response.read(8 << 20))
        except (OSError, ValueError):
            return []
        alerts = data.get("data", {}).get("alerts", []) if isinstance(data, dict) else []
        return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []
