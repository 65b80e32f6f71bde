"""`riskft evaluate` / `register` accept a run folder where an adapter folder is expected."""

from __future__ import annotations

from riskft_pipeline.cli.model import adapter_folder
from riskft_pipeline.core.adapter_files import ADAPTER_META


def test_adapter_folder_finds_the_adapter_inside_a_run_folder(tmp_path):
    run = tmp_path / "run1"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / ADAPTER_META).write_text("{}")
    assert adapter_folder(str(run)) == run / "adapter"
    assert adapter_folder(str(run / "adapter")) == run / "adapter"
    assert adapter_folder(str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"  # left for the reader to refuse
