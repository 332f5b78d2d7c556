"""The Envoy proxy that serves the REST routes and gRPC on one port."""
