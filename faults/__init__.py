"""The fault campaign (`make faults`): hostile servers, killed and concurrent runs, fuzzed parsers and
registry files, run against the real entry points; see docs/robustness.md."""
