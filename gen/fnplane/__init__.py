"""fnplane: a control plane for serverless functions on Kubernetes."""

__version__ = "0.1.0"
