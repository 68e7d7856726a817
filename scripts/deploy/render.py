#!/usr/bin/env python3
"""Renders deploy/helm/avatarcast with a values file, offline, as `helm template` does:
Helm v4's own engine (PyPI helm-python-sdk binds its Go library), no cluster needed.

    models/deploy-venv/bin/python scripts/deploy/render.py VALUES.yaml OUT_DIR [--release NAME] [--namespace NS]

Writes OUT_DIR/manifests.yaml (every object, `kubectl apply -f` ready) and
OUT_DIR/manifests.json (the same objects as a JSON list, for tests)."""

import argparse
import json
import pathlib
import sys

import helm_python
import yaml

class _Dumper(yaml.SafeDumper):
    """Multi-line strings (configs, show files) as readable blocks."""


_Dumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)
)

CHART = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "helm" / "avatarcast"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("values", type=pathlib.Path)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--release", default="shop")
    ap.add_argument("--namespace", default="default")
    args = ap.parse_args()
    try:
        values = yaml.safe_load(args.values.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        print(f"render: cannot read values file {args.values}: {e}", file=sys.stderr)
        return 2
    helm_python.disable_logging()
    try:
        chart = helm_python.Chart.load(CHART)
        rendered = chart.render(values, name=args.release, namespace=args.namespace, is_install=True)
    except helm_python.HelmError as e:
        print(f"render: the chart refused {args.values}: {e}", file=sys.stderr)
        return 1
    objects = []
    texts = []
    for template in sorted(rendered):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(rendered[template]):
            if doc:
                objects.append(doc)
                texts.append(f"# Source: {template}\n" + yaml.dump(doc, Dumper=_Dumper, sort_keys=False))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "manifests.yaml").write_text("---\n".join(texts))
    (args.out / "manifests.json").write_text(json.dumps(objects, indent=1))
    kinds = {}
    for o in objects:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    print(f"render: {len(objects)} objects ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) in {args.out}/manifests.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
