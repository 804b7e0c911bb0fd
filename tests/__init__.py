"""The test suite; its support modules are imported as `tests.<module>`."""
