"""The local API Gateway (REST, v1): one small module per stage of a request."""
