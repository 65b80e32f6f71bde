"""``torchrun ... -m riskft_pipeline_tests.ops.ddp_probe <sft args>``: the real ``riskft_pipeline.training.sft`` main,
plus what only the running processes can tell: whether the trainer ran data-parallel (DDP) and whether every rank
ended with the same LoRA weights (gradients synchronised). Each rank writes ``OUT/ddp_probe-rank<r>.json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _instrument(out_dir: Path) -> None:
    import torch
    import torch.distributed as dist
    import trl

    original = trl.SFTTrainer.train

    def train(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        lora = torch.cat([p.detach().flatten() for n, p in sorted(self.model.named_parameters()) if "lora_" in n])
        world = dist.get_world_size() if dist.is_initialized() else 1
        gathered = [torch.zeros_like(lora) for _ in range(world)]
        if world > 1:
            dist.all_gather(gathered, lora)
        else:
            gathered = [lora]
        rank = dist.get_rank() if dist.is_initialized() else 0
        probe = {"rank": rank, "world_size": world, "distributed_type": str(self.accelerator.distributed_type),
                 "model_wrapper": type(self.model_wrapped).__name__,
                 "ranks_agree": all(torch.equal(gathered[0], g) for g in gathered)}
        (out_dir / f"ddp_probe-rank{rank}.json").write_text(json.dumps(probe), encoding="utf-8")
        return result

    trl.SFTTrainer.train = train


def main(argv: list[str]) -> int:
    from riskft_pipeline.training import sft

    out = Path(argv[argv.index("--out") + 1])
    out.mkdir(parents=True, exist_ok=True)
    _instrument(out)
    return sft.main(argv)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main(sys.argv[1:]))
