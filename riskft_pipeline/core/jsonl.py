"""Old name of :mod:`riskft_pipeline.core.files` (the module holds atomic files and folders, locks and hashes, not only
JSONL): a re-export for the callers not moved yet. New code imports from ``riskft_pipeline.core.files``."""

from riskft_pipeline.core.files import (  # noqa: F401
    atomic_dir,
    atomic_write,
    dumps,
    iter_jsonl,
    read_jsonl,
    sha256_bytes,
    sha256_file,
    write_json,
    write_jsonl,
)
