"""Detection: pure rules (detection.rules), the service that collects, evaluates and syncs findings."""
