"""How well a name-masking tag bundle finds what ``--mask-names`` masks: persons and places.

Train the bundle first (``bizlm train recipes/names-en.yaml --output runs/names-en``), then::

    python -m bench.names runs/names-en

reads the bundle's test metrics and writes, per masked entity type, precision, recall and
support on the catalog test split, with the training time, to ``bench/results/NAME.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.machine import describe_machine
from bizlm.bundle import read_bundle_info
from bizlm.pii.names import entity_kind


def masked_type_scores(bundle: Path) -> dict:
    """Test precision, recall and support of the entity types the name masker masks."""
    metrics = json.loads((bundle / "metrics.json").read_text())
    per_type = metrics["per_type"]
    return {
        label: {**scores, "masked_as": entity_kind(label)}
        for label, scores in sorted(per_type.items())
        if entity_kind(label) is not None
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    info = read_bundle_info(args.bundle)
    result = {
        "benchmark": "names",
        "bundle": str(args.bundle),
        "catalog_set": info.recipe.get("data", {}).get("catalog"),
        "masked_types": masked_type_scores(args.bundle),
        "train_seconds": (info.training or {}).get("train_seconds"),
        "machine": describe_machine(),
    }
    output = args.results or Path("bench/results") / f"{args.bundle.name}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["masked_types"], indent=2))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
