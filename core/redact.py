"""Credentials out of anything that is stored, logged or sent on: URLs without session parameters, and
known secret values masked in any text, also when a redirect has percent-encoded them into another URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

# Query parameters that carry a session or a credential wherever they appear (WeChat MP's token,
# pass_ticket, appmsg_token; OAuth tokens and CAS tickets; passwords in a GET form). Names a government
# site also uses for ordinary things (code, key, sid) are left to the platform's own ``redact``.
SESSION_PARAMS = frozenset(
    {
        "token",
        "pass_ticket",
        "appmsg_token",
        "access_token",
        "refresh_token",
        "ticket",
        "sessionid",
        "session_id",
        "password",
        "passwd",
        "secret",
    }
)
MASK = "***"
# How deep a URL nested in another URL's query (an SSO ?service=, a ?redirect_uri=) is cleaned.
MAX_NESTING = 3


def has_credentials(url: str) -> bool:
    """Whether a URL carries a session parameter (at any depth of nested URLs)."""
    return redact_url(url) != url


def redact_url(url: str, params: Iterable[str] = SESSION_PARAMS, *, depth: int = 0) -> str:
    """``url`` without its session parameters, in its query and in the URLs its query carries."""
    names = params if isinstance(params, frozenset) else frozenset(params)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept, changed = [], False
    for k, v in pairs:
        if k.lower() in names:
            changed = True
            continue
        if depth < MAX_NESTING and "://" in v:
            clean = redact_url(v, names, depth=depth + 1)
            changed |= clean != v
            v = clean
        kept.append((k, v))
    if not changed:
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def mask_secrets(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` with every secret value replaced, as written and as a URL would encode it."""
    if not text:
        return text
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret), quote(quote(secret)))):
            text = text.replace(form, MASK)
    return text


def _origin(url: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"
    return parts.scheme, netloc


def safe_referer(referer: str, url: str, secrets: Iterable[str] = ()) -> str | None:
    """The Referer a request to ``url`` may carry: strict-origin-when-cross-origin (the browsers'
    default), and only the origin of a page whose URL carries a credential. None: send none."""
    source, target = _origin(referer), _origin(url)
    if source is None or target is None:
        return None
    if source[0] == "https" and target[0] != "https":
        return None  # never from a secure page to an insecure one
    origin = f"{source[0]}://{source[1]}/"
    if source != target:
        return origin
    clean = referer.split("#", 1)[0]
    if redact_url(clean) != clean or mask_secrets(clean, secrets) != clean:
        return origin
    return clean
