"""HTTP routes, one module per API area; what they share: request parsing (params.py)
and the OpenAPI document (openapi.py)."""
