"""The fuzz stage: every parser of faults/parsers.py on mutated saved pages, counting what escapes."""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from faults.mutate import mutate_bytes, mutate_json, mutate_text, random_ops
from faults.parsers import PARSERS, Parser, call_safely


@dataclass
class FuzzResult:
    calls: int = 0
    escaped: int = 0
    slowest_s: float = 0.0
    by_parser: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # one traceback tail per distinct place


def mutated(parser: Parser, rng: random.Random) -> Any:
    seed = rng.choice(parser.seeds)
    ops = random_ops(rng, rng.randint(1, 4))
    if parser.kind == "bytes":
        return mutate_bytes(seed, ops)
    if parser.kind == "json":
        return mutate_json(seed, ops)
    return mutate_text(seed, ops)


def fuzz(calls_per_parser: int, *, seed: int = 11) -> FuzzResult:
    rng = random.Random(seed)
    result = FuzzResult()
    places: set[str] = set()
    for parser in PARSERS:
        for _ in range(calls_per_parser):
            value = mutated(parser, rng)
            started = time.perf_counter()
            exc = call_safely(parser, value)
            result.slowest_s = max(result.slowest_s, time.perf_counter() - started)
            result.calls += 1
            if exc is None:
                continue
            result.escaped += 1
            result.by_parser[parser.name] += 1
            tail = "".join(traceback.format_tb(exc.__traceback__)[-1:]).strip()
            if tail not in places:
                places.add(tail)
                result.examples.append(f"{parser.name}: {type(exc).__name__}: {str(exc)[:120]}\n{tail}")
    return result


if __name__ == "__main__":
    import sys

    res = fuzz(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    print(f"fuzz calls: {res.calls}  exceptions escaped: {res.escaped}  slowest: {res.slowest_s:.2f}s")
    for example in res.examples:
        print(example, "\n")
