"""HTTP server tests: health, metrics, the JSON API and its OpenAPI document."""
