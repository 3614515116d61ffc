"""lambda-canary: a local API Gateway (REST) and Lambda emulator for Node runtime-migration canaries."""

__version__ = "0.1.0"
