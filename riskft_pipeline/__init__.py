"""riskft_pipeline: IT-operations history to fine-tuned LoRA models (tickets and change risk)."""

__version__ = "0.1.0"
