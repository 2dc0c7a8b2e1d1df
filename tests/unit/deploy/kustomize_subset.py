"""A small Kustomize renderer for exactly the subset deploy/k8s uses, so the suite renders manifests offline.

Supported: `resources` (files and directories holding a kustomization.yaml), `namespace`, `images`
(newName/newTag/digest), `replicas` and `patches` whose patch is a JSON 6902 operation list with a
`target` of kind and/or name. Anything else in a kustomization is refused rather than silently ignored, and
`test_the_subset_renderer_agrees_with_kustomize` compares the output with the real `kubectl kustomize`
wherever one is installed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
# Kinds that live outside namespaces (the namespace transformer leaves them alone).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
}
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}


class UnsupportedKustomization(ValueError):
    """The kustomization uses a feature this renderer does not implement."""


def render(directory: Path) -> list[Manifest]:
    """Render the kustomization in `directory` (base first, then this layer's transformations)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    manifests = _resources(kustomization, directory)
    for patch in kustomization.get("patches", []):
        _apply_patch(manifests, patch, directory)
    if "namespace" in kustomization:
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED:
                manifest.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    for replica in kustomization.get("replicas", []):
        _set_replicas(manifests, name=replica["name"], count=replica["count"])
    for image in kustomization.get("images", []):
        for manifest in manifests:
            _set_images(manifest, image)
    return manifests


def _resources(kustomization: dict[str, Any], directory: Path) -> list[Manifest]:
    """The manifests the kustomization lists: files as they are, directories rendered first."""
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            manifests.extend(render(path))
        else:
            manifests.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return manifests


def _apply_patch(manifests: list[Manifest], patch: dict[str, Any], directory: Path) -> None:
    unknown = set(patch) - {"target", "patch", "path"}
    if unknown or "target" not in patch:
        raise UnsupportedKustomization(f"patch needs a target and a patch or path; got {sorted(patch)}")
    text = patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text()
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise UnsupportedKustomization("only JSON 6902 patches (a list of operations) are supported")
    target = patch["target"]
    if set(target) - {"kind", "name"}:
        raise UnsupportedKustomization(f"patch targets select by kind and name only; got {sorted(target)}")
    matched = [
        index
        for index, m in enumerate(manifests)
        if target.get("kind", m["kind"]) == m["kind"]
        and target.get("name", m["metadata"]["name"]) == m["metadata"]["name"]
    ]
    if not matched:
        raise UnsupportedKustomization(f"patch target {target} matches no resource")
    for index in matched:
        manifests[index] = apply_json_patch(manifests[index], operations)


def apply_json_patch(document: Manifest, operations: list[dict[str, Any]]) -> Manifest:
    """RFC 6902 `add`, `remove` and `replace` (the operations the overlays use)."""
    result = copy.deepcopy(document)
    for operation in operations:
        op, pointer = operation["op"], operation["path"]
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("/").split("/")]
        parent: Any = result
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if op == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif op == "replace":
            if isinstance(parent, list):
                parent[int(last)] = copy.deepcopy(operation["value"])
            else:
                if last not in parent:
                    raise KeyError(f"replace: {pointer} does not exist")
                parent[last] = copy.deepcopy(operation["value"])
        elif op == "add":
            value = copy.deepcopy(operation["value"])
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), value)
            else:
                parent[last] = value
        else:
            raise UnsupportedKustomization(f"JSON patch operation {op!r} is not supported")
    return result


def _set_replicas(manifests: list[Manifest], *, name: str, count: int) -> None:
    targets = [m for m in manifests if m["kind"] in SCALABLE and m["metadata"]["name"] == name]
    if not targets:
        raise UnsupportedKustomization(f"replicas: no workload named {name}")
    for manifest in targets:
        manifest["spec"]["replicas"] = count


def _set_images(node: Any, image: dict[str, str]) -> None:
    """Rewrite `image` of every container and init container whose image name matches (as kustomize does)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    container["image"] = _rewrite_image(container["image"], image)
            else:
                _set_images(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_images(item, image)


def _rewrite_image(current: str, image: dict[str, str]) -> str:
    name, tag = _split_image(current)
    if name != image["name"]:
        return current
    new_name = image.get("newName", name)
    if "digest" in image:
        return f"{new_name}@{image['digest']}"
    new_tag = image.get("newTag", tag)
    return f"{new_name}{new_tag}" if new_tag.startswith("@") else (f"{new_name}:{new_tag}" if new_tag else new_name)


def _split_image(reference: str) -> tuple[str, str]:
    if "@" in reference:
        name, digest = reference.split("@", 1)
        return name, f"@{digest}"
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, ""
