"""What the tests share: ports, waiting for readiness, processes they start and stop."""
