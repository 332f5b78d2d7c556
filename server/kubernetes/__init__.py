"""Functions run as Kubernetes Deployments, read from a watch cache."""
