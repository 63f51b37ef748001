"""Alerts: what detection opened or resolved, and runs whose health failed, sent to where offices work."""
