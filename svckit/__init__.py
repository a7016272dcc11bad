"""Shared plumbing for the three services: config, server bootstrap, interceptors, errors, Redis."""
