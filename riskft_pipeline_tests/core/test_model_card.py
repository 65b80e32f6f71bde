"""The adapter's model card: Hugging Face front matter, no machine paths, and the evaluation's verdict in words."""

from riskft_pipeline.core.model_card import base_model_id, card_metadata, render_card, write_card

META = {
    "task": "risk",
    "base_model": {"identity": {"name": "offline:smollm2-135m-instruct", "weights_sha256": "ab" * 32,
                                "sha256": "cd" * 32, "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}},
    "recipe": {"name": "risk-cpu", "lora": {"r": 16, "alpha": 32, "target_modules": "all-linear"},
               "train": {"learning_rate": 8e-4, "seed": 42}},
    "recipe_hash": "ef" * 32,
    "train": {"n_train_examples": 192, "epochs": 1.0, "steps": 24, "train_file_sha256": "12" * 32,
              "final_loss": 0.11, "tokens_per_s": 130.0, "library_versions": {"torch": "2.13.0", "peft": "0.21.2"}},
}
REPORT = {
    "shipped": "fused", "n_test": 761, "primary_metric": {"name": "test_auc", "value": 0.70},
    "methods": {"model": {"auc": 0.62}, "fused": {"auc": 0.70}, "lapredict": {"auc": 0.66}, "logreg": {"auc": 0.71}},
    "lm_contribution": "The language model does not clearly add ranking power over logistic regression.",
    "data": {"train": "aa" * 32, "val": "bb" * 32, "test": "cc" * 32},
}


def test_card_before_evaluation_has_front_matter_and_provenance():
    card = render_card(META)
    meta = card_metadata(card)
    assert meta["library_name"] == "peft" and meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "riskft-risk" in meta["tags"] and "lora" in meta["tags"]
    assert "ab" * 32 in card and "12" * 32 in card and "ef" * 32 in card  # weights, training split, recipe
    assert "Not evaluated yet" in card and "## Limitations" in card and "## Intended use" in card


def test_card_after_evaluation_says_in_words_which_baseline_wins():
    card = render_card(META, REPORT, model_name="change-risk")
    assert card.splitlines()[card.splitlines().index("---", 1) + 2] == "# change-risk"
    assert "| **fused** (shipped) | 0.7000 |" in card and "| model (adapter alone) | 0.6200 |" in card
    assert "**The shipped predictor loses to logreg on test_auc.**" in card
    assert "does not clearly add" in card and "cc" * 32 in card
    won = render_card(META, {**REPORT, "methods": {**REPORT["methods"], "logreg": {"auc": 0.69}}})
    assert "beats or ties every baseline" in won and "loses to" not in won


def test_local_base_models_do_not_leak_paths():
    for local in ("/home/me/models/qwen", "./weights", "C:\\models\\x", "models/a/b"):
        assert base_model_id({"name": local}) is None
        card = render_card({**META, "base_model": {"identity": {"name": local, "weights_sha256": "x"}}})
        assert "base_model:" not in card.split("---")[1] and local not in card and "local folder" in card
    assert base_model_id({"name": "Qwen/Qwen2.5-3B-Instruct"}) == "Qwen/Qwen2.5-3B-Instruct"


def test_write_card_replaces_the_readme(tmp_path):
    (tmp_path / "README.md").write_text("peft's empty template with base_model: /tmp/somewhere\n")
    path = write_card(tmp_path, META, REPORT)
    assert path == tmp_path / "README.md" and "/tmp/somewhere" not in path.read_text()
