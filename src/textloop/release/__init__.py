"""Releasing a model: validate it in a fresh process, move the production alias, roll back.

A service above the registry: it decides whether a version may serve (blessed, unchanged since
registered, infra-validated), moves the alias through ``registry.aliases`` and announces it.
"""
