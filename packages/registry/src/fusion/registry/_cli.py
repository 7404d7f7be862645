"""Command line: ``fusion-pull``, and the verbs ``fusion pull``, ``fusion registry
list|check|schema`` and ``fusion cache verify|prune`` (entry-point group ``fusion.commands``).

Each action parses, calls one library function, prints, and returns an exit code: 0 ok,
1 invalid (bad reference, hash mismatch, failed check), 2 unreadable (network, offline, file
missing). ``fusion-pull`` prints the verified path as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from fusion.base import human_bytes
from fusion.cli import progress_factory, worded
from fusion.schema.cli_options import add_storage_option, storage_options_from

from ._cache import Cache
from ._check import check_registry
from ._config import ENV_CACHE, ENV_OFFLINE, ENV_REGISTRY
from ._hashing import label
from ._jsonschema import write_json_schemas
from ._load import load_registry
from ._pull import pull
from ._resolve import latest_version

__all__ = ["pull_main", "register_cache", "register_pull", "register_registry"]

Subparsers = argparse._SubParsersAction


def pull_main(argv: Sequence[str] | None = None) -> int:
    """The ``fusion-pull`` program."""
    parser = argparse.ArgumentParser(
        prog="fusion-pull",
        description="Download (or find in the cache) a registered model or dataset, verify its "
        "SHA-256 and print its local path as the last line.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_pull_arguments(parser)
    args = parser.parse_args(argv)
    args.progress = progress_factory(quiet=args.quiet)
    try:
        return run_pull(args)
    except KeyboardInterrupt:
        print("fusion-pull: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if os.environ.get("FUSION_DEBUG"):
            raise
        text = " ".join(worded(err, parser).split()) or type(err).__name__
        print(f"fusion-pull: error: {text}", file=sys.stderr)
        return 2 if isinstance(err, OSError) else 1


def register_pull(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="download and verify a registered model or dataset",
        description="Same as fusion-pull: print the verified local path as the last line.",
    )
    _add_pull_arguments(parser)
    parser.set_defaults(run=run_pull)


def _add_pull_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ref", metavar="KIND:NAME[@VERSION]", help="e.g. model:slicegan-nmc, dataset:nmc-demo@0.1.0"
    )
    _add_registry(parser)
    _add_cache(parser)
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help=f"touch no network: serve from the cache or fail (also {ENV_OFFLINE}=1)",
    )
    add_storage_option(parser)


def run_pull(args: argparse.Namespace) -> int:
    with args.progress(f"pulling {args.ref}") as progress:
        path = pull(
            args.ref,
            registry=args.registry,
            cache=args.cache,
            offline=args.offline,
            storage_options=storage_options_from(args),
            progress=progress,
        )
    print(path)
    return 0


def register_registry(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "registry",
        help="list or check the model and dataset registry",
        description="The registry file (fusion-registry/1).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every entry: version, size, digest, cached or not")
    _add_registry(listing)
    _add_cache(listing)
    listing.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="use the cached copy of a URL's registry",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_list)
    check = actions.add_parser(
        "check",
        help="check every entry (for contributors and CI)",
        description="Hashes and sizes, ONNX checker and onnxruntime, cards, test tensors, "
        "runtime output, datasets against the format. Exit 1 if any entry fails.",
    )
    _add_registry(check)
    _add_cache(check)
    add_storage_option(check)
    check.add_argument(
        "--level",
        choices=("metadata", "data"),
        default="data",
        help="how deeply datasets are validated",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=run_check)
    schema = actions.add_parser(
        "schema", help="write the JSON Schema of the registry file and cards"
    )
    schema.add_argument(
        "--out",
        default="spec/schema",
        help="folder (default: spec/schema); files go to OUT/registry/",
    )
    schema.set_defaults(run=run_schema)


def run_list(args: argparse.Namespace) -> int:
    cache = Cache(args.cache)
    loaded = load_registry(args.registry, cache=cache, offline=args.offline)
    rows = []
    for ref, item in loaded.entries():
        resolved = loaded.resolve(ref)
        section = loaded.registry.section(ref.kind)[ref.name]
        try:
            cached = bool(item.sha256 and cache.cached(item.sha256, resolved.suffix))
        except OSError:
            cached = False
        rows.append(
            {
                "ref": str(ref),
                "latest": ref.version == latest_version(section),
                "size": item.size,
                "sha256": item.sha256,
                "cached": cached,
                "url": resolved.url,
                "description": item.card.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        digest = label(r["sha256"])[:19] if r["sha256"] else "(unpinned)"
        print(
            f"{r['ref']:<32} {'latest' if r['latest'] else '':<6} {_size(r['size']):>9}  {digest}  "
            f"{'cached' if r['cached'] else '-':<6}  {r['description'].splitlines()[0][:60]}"
        )
    print(f"{loaded.location}: {len(rows)} entries")
    return 0


def run_check(args: argparse.Namespace) -> int:
    report = check_registry(
        args.registry,
        cache=Cache(args.cache),
        dataset_level=args.level,
        storage_options=storage_options_from(args),
    )
    print(report.to_json() if args.json else report)
    return report.exit_code


def run_schema(args: argparse.Namespace) -> int:
    for path in write_json_schemas(args.out):
        print(path)
    return 0


def register_cache(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="verify or prune the download cache",
        description=f"The content-addressed cache ({ENV_CACHE}).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="re-hash every blob; exit 1 if one is corrupted")
    _add_cache(verify)
    verify.add_argument(
        "--delete",
        action="store_true",
        help="delete corrupted blobs (else they are re-downloaded on the next pull)",
    )
    verify.set_defaults(run=run_verify)
    prune = actions.add_parser("prune", help="remove blobs the registry does not reference")
    _add_registry(prune)
    _add_cache(prune)
    prune.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="use the cached copy of a URL's registry",
    )
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed")
    prune.set_defaults(run=run_prune)


def run_verify(args: argparse.Namespace) -> int:
    cache = Cache(args.cache)
    with args.progress("verifying the cache") as progress:
        results = cache.verify(progress=progress, delete=args.delete)
    bad = [r for r in results if r.status != "ok"]
    for r in bad:
        detail = (
            f": expected {label(r.sha256)}, got {label(r.got)}"
            if r.got
            else " (a link; not followed)"
        )
        action = "deleted" if args.delete and r.status == "corrupted" else "will be re-downloaded"
        print(f"{r.status} {r.path}{detail}; {action if r.got else 'delete it'}")
    print(f"{cache.root}: {len(results)} blob(s) verified, {len(bad)} bad")
    return 1 if bad else 0


def run_prune(args: argparse.Namespace) -> int:
    cache = Cache(args.cache)
    keep = load_registry(args.registry, cache=cache, offline=args.offline).digests()
    result = cache.prune(keep, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in result.removed:
        print(f"{verb} {path}")
    print(f"{cache.root}: {verb} {len(result.removed)} file(s), {_size(result.freed_bytes)}")
    return 0


# -- shared arguments and output ------------------------------------------------------------


def _add_registry(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        metavar="PATH|URL",
        help=f"registry file (default: {ENV_REGISTRY}, else the checkout's registry.yaml)",
    )


def _add_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help=f"cache folder (default: {ENV_CACHE}, else the user cache folder)",
    )


def _size(n: int | None) -> str:
    return "?" if n is None else human_bytes(n)
