"""Refresh recordings/ from a LocalStack checkout: keep, for every registered sequence, the AWS-validated
snapshot it was recorded with (and nothing else), with its source.

    .venv/bin/python tests/conformance/extract.py /path/to/localstack [git-ref]

Only tests listed in LocalStack's `*.validation.json` (recorded against real AWS) are taken.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.harness import RECORDINGS, REGISTRY
from conformance.third_party import sequences_apigateway, sequences_lambda  # noqa: F401 - registration

REPOSITORY = "https://github.com/localstack/localstack"


def _folder(stem: str) -> str:
    return "tests/aws/services/apigateway" if stem.startswith("test_apigateway") else "tests/aws/services/lambda_"


def _show(checkout: str, ref: str, path: str) -> dict:
    text = subprocess.run(["git", "-C", checkout, "show", f"{ref}:{path}"], check=True, capture_output=True,
                          text=True).stdout
    return json.loads(text)


def main(checkout: str, ref: str = "HEAD") -> None:
    commit = subprocess.run(["git", "-C", checkout, "rev-parse", ref], check=True, capture_output=True,
                            text=True).stdout.strip()
    wanted: dict[str, set[str]] = defaultdict(set)
    for case in REGISTRY:
        if not case.file.startswith("assertions_"):  # written from a test's assertions, not a snapshot
            wanted[case.file].add(case.test)
    for stem, tests in sorted(wanted.items()):
        folder = _folder(stem)
        snapshot = _show(checkout, commit, f"{folder}/{stem}.snapshot.json")
        validation = _show(checkout, commit, f"{folder}/{stem}.validation.json")
        out: dict[str, dict] = {}
        for test in sorted(tests):
            node = f"{folder}/{stem}.py::{test}"
            if node not in snapshot:
                raise SystemExit(f"{node} has no snapshot at {commit}")
            validated = validation.get(node)
            if validated is None:
                raise SystemExit(f"{node} is not AWS-validated at {commit}")
            out[test] = {"recorded-date": snapshot[node]["recorded-date"],
                         "last-validated-date": validated.get("last_validated_date"),
                         "recorded-content": snapshot[node]["recorded-content"]}
        document = {"source": {"repository": REPOSITORY, "commit": commit, "path": f"{folder}/{stem}.snapshot.json",
                               "license": "Apache-2.0",
                               "note": "AWS-validated snapshots; LocalStack's transformers already applied"},
                    "tests": out}
        (RECORDINGS / f"{stem}.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        print(f"{stem}: {len(out)} tests, {sum(len(t['recorded-content']) for t in out.values())} responses")


if __name__ == "__main__":
    main(*sys.argv[1:])
