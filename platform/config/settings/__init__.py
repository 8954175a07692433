"""Settings split by environment: base (shared), development, test, production.

Everything that differs between deployments is read from the environment through `env`.
"""
