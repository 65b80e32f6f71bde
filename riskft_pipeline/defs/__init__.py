"""Dagster definitions: thin assets over core/, training/ and tracking/."""
