"""Ticket enrichment data chain (pure: pandas/numpy/pandera): read → clean + quarantine → redact → split → JSONL.

Modules: :mod:`.io` (robust CSV reading), :mod:`.clean` (normalise, quarantine, invariant), :mod:`.redact` (PII),
:mod:`.schema` (pandera contract), :mod:`.split` (grouped deterministic splits), :mod:`.prompts` (chat format),
:mod:`.prepare` (the steps the Dagster assets and the CLI call), :mod:`.generate` (seeded synthetic exports).
"""
