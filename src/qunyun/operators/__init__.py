"""Operators: who may see and run which community (per-community roles) and the audit log."""
