"""Content-quality signals: SimHash near-duplicates with banding (linear, never all pairs), post kinds."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

BITS = 64
BANDS = 4  # 4 bands of 16 bits: two hashes within Hamming 3 share at least one band exactly
MAX_CHARS = 200  # the hash reads the first 200 characters: at most 198 grams vote
_LANE = 8  # each bit's votes are summed in its own byte of one big integer (198 votes fit in a byte)
# _MAJORITY[n]: a bytes.translate table turning a bit's votes into b"1" when more than half of n grams
# voted for it, b"0" otherwise: the 64 bytes of votes become the hash's binary digits at once.
_MAJORITY = [bytes(0x31 if 2 * votes > n else 0x30 for votes in range(256)) for n in range(MAX_CHARS + 1)]


def _spread(gram: str) -> int:
    """The gram's 64-bit hash with bit i moved to lane i, so summing grams sums every bit's votes at once."""
    h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
    out = 0
    for i in range(BITS):
        if h >> i & 1:
            out |= 1 << (i * _LANE)
    return out


# Each gram's spread hash, once: a plain dict's own lookup (``map(_SPREADS.__getitem__, ...)``) costs
# half of an ``lru_cache`` call, and a text's grams are mostly known (10 % off each SimHash). Emptied
# when it reaches _SPREADS_MAX grams (about 100 MiB).
_SPREADS: dict[str, int] = {}
_SPREADS_MAX = 500_000


def _known_spreads(grams: set[str]) -> None:
    missing = grams.difference(_SPREADS)
    if len(_SPREADS) + len(missing) > _SPREADS_MAX:
        _SPREADS.clear()
        missing = grams
    for gram in missing:
        _SPREADS[gram] = _spread(gram)


def simhash(text: str) -> int:
    """64-bit SimHash over character 3-grams (Chinese has no spaces) of the first 200 characters: bit i
    is set when more than half of the distinct grams' hashes have it set."""
    text = "".join(text.split())[:MAX_CHARS]  # str.split's whitespace is \s's: a text without any is kept
    grams = {text[i : i + 3] for i in range(max(len(text) - 2, 1))}
    try:
        total = sum(map(_SPREADS.__getitem__, grams))
    except KeyError:
        _known_spreads(grams)
        total = sum(map(_SPREADS.__getitem__, grams))
    votes = total.to_bytes(BITS * _LANE // 8, "little")
    return int(votes.translate(_MAJORITY[len(grams)])[::-1], 2)


_FULL = (1 << BITS) - 1


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes, stored signed (SQLite) or unsigned alike."""
    return ((a ^ b) & _FULL).bit_count()


def cluster_near_duplicates(hashes: Iterable[tuple[int, int]], max_hamming: int = 3) -> dict[int, int]:
    """Union-find over (key, simhash): keys with equal hashes, and keys whose hashes share a band and
    lie within ``max_hamming``.

    Equal hashes (the same text posted again, the commonest duplicate) are joined first; then, in each
    band, every distinct hash is compared with the smallest distinct hash having the same band value
    (linear in the posts; chains through other bands join the rest). Decided by hash values, never by
    the order given, the clusters depend on the posts alone: two crawls write the same posts in
    different orders. Returns key -> cluster representative, for clustered keys only. Hashes may be
    signed or unsigned 64-bit integers.
    """
    keys_of: dict[int, list[int]] = defaultdict(list)
    for key, h in hashes:
        keys_of[h & _FULL].append(key)
    values = sorted(keys_of)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    width = BITS // BANDS
    mask = (1 << width) - 1
    for band in range(BANDS):
        shift = band * width
        bucket = [h >> shift & mask for h in values]
        # band value -> smallest hash having it (the reversed pass leaves the earliest; values are sorted)
        first = dict(zip(reversed(bucket), reversed(values), strict=True))
        near = [
            (f, h)
            for h, f in zip(values, map(first.__getitem__, bucket), strict=True)
            if f != h and (f ^ h).bit_count() <= max_hamming
        ]
        for f, h in near:
            ra, rb = find(f), find(h)
            if ra != rb:
                parent[rb] = ra
    groups: dict[int, list[int]] = defaultdict(list)
    for h in values:
        groups[find(h)].extend(keys_of[h])
    return {k: members[0] for members in groups.values() if len(members) > 1 for k in members}


def is_poster(text_length: int | None, image_count: int | None, max_text_length: int) -> bool:
    """Almost no text and exactly one image: a poster posted as an article."""
    return (text_length or 0) <= max_text_length and image_count == 1


def is_meeting_title(title: str | None, words: Iterable[str]) -> bool:
    return bool(title) and any(w in title for w in words)  # type: ignore[operator]
