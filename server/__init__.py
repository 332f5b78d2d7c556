"""The fnplane gRPC server, its backends and the processes it supervises."""
