"""Safe YAML for registry files and card files, and strict validation of what it parses.

YAML is read with PyYAML's safe loader (no ``!!python/...`` tags, so no code runs), with
two more refusals: duplicate keys (YAML would keep the last one silently) and aliases
(``*name``: a registry needs none, and they let a small file expand without bound).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from . import _errors as errors

__all__ = ["dump_yaml", "safe_yaml", "validate_strict"]

M = TypeVar("M", bound=BaseModel)


def safe_yaml(data: bytes | str, where: str) -> Any:
    """Parse YAML with the safe loader, refusing duplicate keys and aliases."""
    try:
        return yaml.load(data, Loader=_StrictSafeLoader)
    except yaml.YAMLError as err:
        raise errors.RegistryFileError(
            f"{where}: refused as YAML (safe loading only: no tags such as !!python/..., "
            f"no aliases, no duplicate keys): {' '.join(str(err).split())}"
        ) from None


def validate_strict(model: type[M], document: Any) -> M:
    """Validate parsed YAML strictly, as the JSON it could be written as (no "3" for 3).

    Raises pydantic's ``ValidationError``.
    """
    return model.model_validate_json(json.dumps(document, default=str), strict=True)


def dump_yaml(document: Any) -> str:
    """The YAML text the registry writes (safe dumper, keys in order, no aliases).

    >>> print(dump_yaml({"b": 1, "a": ["x"]}), end="")
    b: 1
    a:
    - x
    """
    return yaml.dump(
        document, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100
    )


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


class _StrictSafeLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a registry file", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)
