"""Countersign process entry points, configuration and infrastructure."""
