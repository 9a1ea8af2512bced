"""API platform shared by every app: problem details, rendering, parsing, pagination,
throttling and the OpenAPI schema."""
