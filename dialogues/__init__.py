"""Guides as data: flow definitions in YAML and the pure engine that advances them."""
