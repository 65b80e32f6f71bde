"""``riskft risk mine|label|prepare|study``: change-risk data and the side-by-side study."""

from __future__ import annotations

from riskft_pipeline.cli.common import print_json
from riskft_pipeline.core.tasks import RISK


def cmd_risk_mine(args) -> int:
    from datetime import datetime
    from pathlib import Path

    from riskft_pipeline.core.risk.mining import mine, read_mined_csv, write_changes_csv
    from riskft_pipeline.core.risk.tracker import read_issue_export

    previous = read_mined_csv(args.out) if args.incremental and Path(args.out).is_file() else None
    tracker = read_issue_export(args.issues) if args.issues else None
    since = datetime.fromisoformat(args.since) if args.since else None
    result = mine(args.repo, incident_id_pattern=args.incident_pattern, since=since, progress=not args.quiet,
                  workers=args.workers, maturity_days=args.maturity_days, tracker=tracker, previous=previous,
                  commit_graph=not args.no_commit_graph)
    n = write_changes_csv(result.changes, args.out)
    print_json({"rows": n, "out": str(args.out), **result.stats.as_dict()})
    return 0


def cmd_risk_label(args) -> int:
    from riskft_pipeline.core.risk.features import MALFORMED_COLUMN, read_changes_csv
    from riskft_pipeline.core.risk.labels import label_from_incidents, read_incidents_csv
    from riskft_pipeline.core.risk.mining import write_changes_csv

    changes = read_changes_csv(args.changes)
    incidents = read_incidents_csv(args.incidents, change_id_col=args.change_id_col)
    labelled, summary = label_from_incidents(changes, incidents, change_id_col=args.change_id_col,
                                             keep_szz=not args.incidents_only)
    write_changes_csv(labelled.drop(columns=[MALFORMED_COLUMN], errors="ignore"), args.out)
    print_json(summary)
    return 0


def cmd_risk_prepare(args) -> int:
    from riskft_pipeline import workflows
    from riskft_pipeline.core.config import load_recipe

    recipe = load_recipe(workflows.resolve_recipe(args.recipe, RISK.name))
    summary = workflows.prepare(RISK.name, args.input, args.out, recipe)
    print_json({k: summary[k] for k in ("raw_rows", "clean_rows", "quarantined_rows", "quarantine_reasons",
                                         "splits", "examples", "input_sha256") if k in summary})
    return 0


def cmd_risk_study(args) -> int:
    from riskft_pipeline import workflows

    result = workflows.risk_study(args.input, workflows.resolve_recipe(args.recipe, RISK.name), args.out,
                                  max_train_examples=args.max_train_examples, metrics_only=args.metrics_only,
                                  track=args.track, progress=not args.quiet)
    print_json(result)
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("risk", help="change risk: mine a git repo, label from incidents, prepare, evaluate")
    rsub = r.add_subparsers(dest="risk_command", required=True)
    s = rsub.add_parser("mine", help="mine a local git repository into the 14 change metrics + SZZ labels")
    s.add_argument("--repo", required=True, help="path to a local git repository (bare or with a work tree)")
    s.add_argument("--out", required=True, help="changes CSV to write")
    s.add_argument("--since", help="only rows from this date, ISO 8601 (history metrics still use the whole history)")
    s.add_argument("--incident-pattern", help=r"regex of incident/issue ids that mark a fix, e.g. 'INC\d{7}'")
    s.add_argument("--workers", type=int, help="threads running SZZ blames (default: the CPU count)")
    s.add_argument("--maturity-days", type=float,
                   help="leave changes this recent (days before the newest) unlabelled when nothing blames them yet: "
                        "their fix may not exist yet, so they are never trained on as clean")
    s.add_argument("--issues", help="issue-tracker export CSV (key, type, created): commits citing a bug's key are "
                                    "the fixes SZZ blames from (inducing commits after the report are discarded)")
    s.add_argument("--incremental", action="store_true",
                   help="when --out exists, mine only the commits after its rows and relabel what new fixes blame")
    s.add_argument("--no-commit-graph", action="store_true",
                   help="do not write git's commit-graph (changed-path Bloom filters) into the repository first; "
                        "leaves it untouched, but SZZ's blames run ~4x slower on long histories")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_risk_mine)
    s = rsub.add_parser("label", help="label changes from incidents that name the change that caused them")
    s.add_argument("--changes", required=True, help="changes CSV (e.g. from `riskft risk mine`)")
    s.add_argument("--incidents", required=True, help="incidents CSV naming the change that caused each")
    s.add_argument("--out", required=True, help="labelled changes CSV to write")
    s.add_argument("--change-id-col", default="caused_by_change",
                   help="incidents column holding the causing change id (default caused_by_change)")
    s.add_argument("--incidents-only", action="store_true", help="ignore SZZ labels already in the changes file")
    s.set_defaults(func=cmd_risk_label)

    s = rsub.add_parser("prepare", help="change-metrics CSV -> validated rows, quarantine, time-ordered chat splits")
    s.add_argument("--input", required=True, help="change-metrics CSV (_id, date, bug + the 14 metrics)")
    s.add_argument("--out", required=True, help="folder for the prepared files")
    s.add_argument("--recipe", help=f"recipe YAML (default configs/{RISK.default_recipe}): tiers, balancing, "
                                    "example cap")
    s.set_defaults(func=cmd_risk_prepare)

    s = rsub.add_parser("study", aliases=["evaluate"],
                        help="split one CSV by time, train the recipe, report model vs baselines in OUT "
                             "(`evaluate` is the old name)")
    s.add_argument("--input", required=True, help="change-metrics CSV (e.g. an ISSTA'21 *_k_feature.csv)")
    s.add_argument("--out", required=True, help="folder for data/, train/, report.json, report.md, roc.png")
    s.add_argument("--recipe", help=f"recipe YAML (default configs/{RISK.default_recipe})")
    s.add_argument("--max-train-examples", type=int, help="override the recipe's training example cap")
    s.add_argument("--metrics-only", action="store_true",
                   help="leave commit message and diff summary out of the prompt (to compare with metrics + text)")
    s.add_argument("--track", action="store_true", help="also log the run to MLflow (not registered)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_risk_study)
