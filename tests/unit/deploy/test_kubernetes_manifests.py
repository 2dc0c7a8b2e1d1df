"""The Kubernetes manifests (deploy/k8s), rendered offline, against the Kubernetes schemas and our own rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from contracts.config import Settings as ContractsSettings
from license_distributor.config import Settings as LicenseDistributorSettings
from provisioning.config import Settings as ProvisioningSettings
from shared.config import ServiceSettings
from tests.unit.deploy.custom_resources import CUSTOM_RESOURCE_SCHEMAS
from tests.unit.deploy.kustomize_subset import Manifest, UnsupportedKustomization, apply_json_patch, render
from wallet.config import Settings as WalletSettings
from web_bff.config import BffSettings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
LAYERS = {"base": K8S / "base", "small": K8S / "overlays" / "small", "production": K8S / "overlays" / "production"}
# The oldest Kubernetes release we claim to run on (HPA autoscaling/v2, PDB policy/v1 and `kubernetes.io/metadata.name`
# namespace labels all exist there); the schemas of that release are what the manifests must satisfy.
KUBERNETES_VERSION = "1.27.0"
# (deployment name, python package, settings class)
SERVICES: list[tuple[str, str, type[ServiceSettings]]] = [
    ("wallet", "wallet", WalletSettings),
    ("contracts", "contracts", ContractsSettings),
    ("provisioning", "provisioning", ProvisioningSettings),
    ("license-distributor", "license_distributor", LicenseDistributorSettings),
]
NAMES_AND_SETTINGS = [(name, settings_cls) for name, _package, settings_cls in SERVICES]
POSTGRES_PORT, RABBITMQ_PORT = 5432, 5672


def rendered(layer: str) -> list[Manifest]:
    return render(LAYERS[layer])


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_rendered_manifest_validates_against_the_kubernetes_schemas(layer: str) -> None:
    manifests = rendered(layer)
    builtin = [m for m in manifests if m["kind"] not in CUSTOM_RESOURCE_SCHEMAS]
    assert len(builtin) >= 20
    for manifest in builtin:
        # strict: an unknown or misspelt field is an error, not silently dropped by the API server.
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_custom_resource_has_its_operators_api_version_kind_and_required_fields(layer: str) -> None:
    custom = [m for m in rendered(layer) if m["kind"] in CUSTOM_RESOURCE_SCHEMAS]
    kinds = {m["kind"] for m in custom}
    assert {"RabbitmqCluster", "Cluster"} <= kinds
    for manifest in custom:
        jsonschema.validate(manifest, CUSTOM_RESOURCE_SCHEMAS[manifest["kind"]])


def test_a_schema_check_catches_a_misspelt_field() -> None:
    deployment = find(rendered("base"), "Deployment", "wallet")
    broken = apply_json_patch(deployment, [{"op": "add", "path": "/spec/template/spec/replica", "value": 2}])
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    rabbit = find(rendered("base"), "RabbitmqCluster", "rental-rabbitmq")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            apply_json_patch(rabbit, [{"op": "replace", "path": "/apiVersion", "value": "rabbitmq.com/v1"}]),
            CUSTOM_RESOURCE_SCHEMAS["RabbitmqCluster"],
        )


@pytest.mark.parametrize(("name", "package", "settings_cls"), SERVICES)
@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_service_migrates_first_then_serves_with_readiness_and_liveness_probes(
    layer: str, name: str, package: str, settings_cls: type[ServiceSettings]
) -> None:
    settings = settings_cls()
    prefix = str(settings_cls.model_config.get("env_prefix"))
    pod = find(rendered(layer), "Deployment", name)["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    (server,) = pod["containers"]
    assert migrate["command"] == ["python", "-m", package, "migrate"]
    assert server["command"] == ["python", "-m", package]
    assert migrate["image"] == server["image"]
    assert server["ports"] == [{"name": "http", "containerPort": settings.http_port, "protocol": "TCP"}]
    assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    for container in (migrate, server):
        env = env_of(container)
        # The names the service reads: its own prefix, its own role on its own schema, the port it serves.
        assert env[f"{prefix}DATABASE_URL"]["value"] == (
            f"postgresql://{settings.database_schema}:$(DATABASE_PASSWORD)@rental-postgres-rw:{POSTGRES_PORT}/rental"
        )
        assert env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"rental-db-{settings.database_schema}"
        # A heartbeat, so a node that stops answering without closing its sockets is left within 33 s, not 183 s.
        assert env[f"{prefix}AMQP_URL"]["value"].endswith(f"@rental-rabbitmq:{RABBITMQ_PORT}/?heartbeat=10")
        assert env[f"{prefix}HTTP_PORT"]["value"] == str(settings.http_port)
        # The init container migrated; replicas must not race to do it again on every start.
        assert env[f"{prefix}MIGRATE_ON_START"]["value"] == "false"
        names = list(env)
        assert names.index("DATABASE_PASSWORD") < names.index(f"{prefix}DATABASE_URL"), "$(VAR) needs VAR first"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind])
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize(("name", "settings_cls"), NAMES_AND_SETTINGS)
def test_every_service_has_a_disruption_budget_an_autoscaler_and_a_service(
    name: str, settings_cls: type[ServiceSettings]
) -> None:
    for layer in LAYERS:
        manifests = rendered(layer)
        deployment = find(manifests, "Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budget = find(manifests, "PodDisruptionBudget", name)
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
        autoscaler = find(manifests, "HorizontalPodAutoscaler", name)["spec"]
        assert autoscaler["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= autoscaler["minReplicas"] < autoscaler["maxReplicas"]
        # The autoscaler owns the count: a replica count in the Deployment would be reset by every apply.
        assert "replicas" not in deployment["spec"]
        service = find(manifests, "Service", name)["spec"]
        assert service["selector"].items() <= labels.items()
        assert service["ports"][0]["port"] == settings_cls().http_port


def test_production_runs_several_replicas_of_every_service_and_a_three_node_broker() -> None:
    manifests = rendered("production")
    for name, _package, _settings in SERVICES:
        assert find(manifests, "HorizontalPodAutoscaler", name)["spec"]["minReplicas"] >= 2
    assert find(manifests, "Deployment", "web")["spec"]["replicas"] >= 2
    assert find(manifests, "RabbitmqCluster", "rental-rabbitmq")["spec"]["replicas"] == 3
    assert find(manifests, "Cluster", "rental-postgres")["spec"]["instances"] == 3
    assert "backup" in find(manifests, "Cluster", "rental-postgres")["spec"]
    assert {m["metadata"].get("namespace") for m in manifests} == {"rental"}
    images = {c["image"] for m in manifests if m["kind"] == "Deployment" for c in _containers(m)}
    assert all(re.fullmatch(r"registry\.example\.com/rental-platform/[a-z-]+:\d+\.\d+\.\d+", i) for i in images), images


@pytest.mark.parametrize(("name", "settings_cls"), NAMES_AND_SETTINGS)
def test_each_service_reaches_only_postgres_rabbitmq_and_dns_and_accepts_only_its_own_port(
    name: str, settings_cls: type[ServiceSettings]
) -> None:
    manifests = rendered("production")
    policy = find(manifests, "NetworkPolicy", name)["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    egress = {(peer_key(rule), port["port"], port["protocol"]) for rule in policy["egress"] for port in rule["ports"]}
    # The wallet also sends webhooks and e-mail: out to public addresses only, on the web and SMTP ports.
    outbound = {("ipBlock:public", port, "TCP") for port in (443, 80, 25, 465, 587)} if name == "wallet" else set()
    assert egress == {
        ("podSelector:cnpg.io/cluster=rental-postgres", POSTGRES_PORT, "TCP"),
        ("podSelector:app.kubernetes.io/name=rental-rabbitmq", RABBITMQ_PORT, "TCP"),
        ("namespaceSelector:kubernetes.io/metadata.name=kube-system+podSelector:k8s-app=kube-dns", 53, "UDP"),
        ("namespaceSelector:kubernetes.io/metadata.name=kube-system+podSelector:k8s-app=kube-dns", 53, "TCP"),
        *outbound,
    }
    # What it serves: its own port, to the ingress controller (the distributor's gateways come through it),
    # the web app and the metrics scraper.
    ingress_ports = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert ingress_ports == {settings_cls().http_port}
    sources = {_selector(peer) for rule in policy["ingress"] for peer in rule["from"]}
    assert sources == {
        "namespaceSelector:kubernetes.io/metadata.name=ingress-nginx",
        "podSelector:app.kubernetes.io/name=web",
        "namespaceSelector:kubernetes.io/metadata.name=monitoring",
    }
    # The selectors point at pods that exist with those labels (the operators label theirs by cluster name).
    assert find(manifests, "Cluster", "rental-postgres")["metadata"]["name"] == "rental-postgres"
    assert find(manifests, "RabbitmqCluster", "rental-rabbitmq")["metadata"]["name"] == "rental-rabbitmq"


def test_the_ingresses_expose_the_apis_the_jwks_and_the_web_app_but_not_metrics_or_probes() -> None:
    manifests = rendered("production")
    ingresses = [m["spec"] for m in manifests if m["kind"] == "Ingress"]
    routes = {
        (rule["host"], path["path"], path["backend"]["service"]["name"])
        for ingress in ingresses
        for rule in ingress["rules"]
        for path in rule["http"]["paths"]
    }
    served = {backend for _host, _path, backend in routes}
    assert served == {"web", *(name for name, _p, _s in SERVICES)}
    assert ("licences.rental.example.com", "/.well-known", "license-distributor") in routes
    for host, path, backend in routes:
        if backend != "web":
            assert path in ("/v1", "/.well-known"), (host, path)
        find(manifests, "Service", backend)
    tls_hosts = {h for ingress in ingresses for rule in ingress["tls"] for h in rule["hosts"]}
    assert tls_hosts == {host for host, _p, _b in routes}
    # The web app keeps sessions in a replica's memory: its browsers must come back to the same replica.
    web = find(manifests, "Ingress", "rental-web")
    assert web["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"


def test_the_web_app_is_configured_with_settings_it_reads_and_services_that_exist() -> None:
    manifests = rendered("production")
    (container,) = find(manifests, "Deployment", "web")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    fields = {f"WEB_{name.upper()}" for name in BffSettings.model_fields}
    assert set(env) <= fields, set(env) - fields
    settings = BffSettings(services=json.loads(env["WEB_SERVICES"]))
    assert set(settings.services) == set(BffSettings().services)
    for url in settings.services.values():
        host, port = url.removeprefix("http://").split(":")
        service = find(manifests, "Service", host)
        assert service["spec"]["ports"][0]["port"] == int(port)
    assert container["ports"][0]["containerPort"] == int(env["WEB_HTTP_PORT"])


def test_no_secret_value_is_committed_and_every_referenced_secret_and_config_map_is_documented() -> None:
    manifests = [m for layer in LAYERS for m in rendered(layer)]
    assert not [m for m in manifests if m["kind"] == "Secret"]
    defined_config_maps = {m["metadata"]["name"] for m in manifests if m["kind"] == "ConfigMap"}
    secrets, config_maps = set(), set()
    for manifest in manifests:
        for key, value in _walk(manifest):
            if key in ("secretKeyRef", "secretRef", "passwordSecret") or (key == "secret" and "secretName" in value):
                secrets.add(value.get("name") or value["secretName"])
            if key in ("accessKeyId", "secretAccessKey"):
                secrets.add(value["name"])
            if key in ("configMapRef", "configMapKeyRef", "configMap"):
                config_maps.add(value["name"])
        for rule in manifest.get("spec", {}).get("tls", []) if manifest["kind"] == "Ingress" else []:
            secrets.add(rule["secretName"])
        for item in _env_values(manifest):
            assert "$(" in item or "@" not in item or item.startswith("http"), f"literal credentials? {item}"
    operations = (ROOT / "docs" / "operations.md").read_text()
    expected = secrets | (config_maps - defined_config_maps)
    assert {"rental-db-wallet", "rental-rabbitmq-default-user", "rental-auth-jwks", "rental-tls"} <= expected
    missing = sorted(name for name in expected if name not in operations)
    assert not missing, f"not documented in docs/operations.md: {missing}"


def test_the_postgres_bootstrap_creates_the_schemas_and_roles_that_local_runs_create() -> None:
    cluster = find(rendered("base"), "Cluster", "rental-postgres")["spec"]
    local_sql = (ROOT / "deploy" / "postgres" / "10-schemas-and-roles.sql").read_text()
    cluster_sql = "\n".join(cluster["bootstrap"]["initdb"]["postInitApplicationSQL"])
    local_roles = re.search(r"ARRAY\[([^\]]+)\]", local_sql)
    cluster_roles = re.search(r"ARRAY\[([^\]]+)\]", cluster_sql)
    assert local_roles
    assert cluster_roles
    assert cluster_roles.group(1) == local_roles.group(1)
    assert "PASSWORD" not in cluster_sql  # passwords come from the managed roles' Secrets
    managed = {role["name"]: role["passwordSecret"]["name"] for role in cluster["managed"]["roles"]}
    assert managed == {s().database_schema: f"rental-db-{s().database_schema}" for _n, _p, s in SERVICES}
    for statement in ("REVOKE ALL ON SCHEMA", "ALTER ROLE %I SET search_path", "REVOKE CREATE ON SCHEMA public"):
        assert statement in local_sql
        assert statement in cluster_sql


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
@pytest.mark.parametrize("layer", list(LAYERS))
def test_the_subset_renderer_agrees_with_kustomize(layer: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own paths
        ["kubectl", "kustomize", str(LAYERS[layer])],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    by_kustomize = {_identity(m): m for m in yaml.safe_load_all(result.stdout) if m}
    ours = {_identity(m): m for m in rendered(layer)}
    assert by_kustomize.keys() == ours.keys()
    for identity, manifest in ours.items():
        assert manifest == by_kustomize[identity], identity


def test_the_subset_renderer_refuses_kustomize_features_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {team: rental}\n")
    with pytest.raises(UnsupportedKustomization, match="commonLabels"):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\npatches:\n  - target: {kind: Deployment}\n    patch: 'spec: {replicas: 2}'\n"
    )
    with pytest.raises(UnsupportedKustomization, match="JSON 6902"):
        render(tmp_path)


def peer_key(rule: dict[str, Any]) -> str:
    (peer,) = rule["to"]
    return _selector(peer)


def _selector(peer: dict[str, Any]) -> str:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"}
        return "ipBlock:public" if block["cidr"] == "0.0.0.0/0" and private <= set(block["except"]) else "ipBlock:any"
    parts = []
    for key in ("namespaceSelector", "podSelector"):
        if key in peer:
            labels = ",".join(f"{k}={v}" for k, v in sorted(peer[key]["matchLabels"].items()))
            parts.append(f"{key}:{labels}")
    return "+".join(parts)


def _containers(manifest: Manifest) -> list[dict[str, Any]]:
    pod = manifest["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _env_values(manifest: Manifest) -> Iterator[str]:
    if manifest["kind"] != "Deployment":
        return
    for container in _containers(manifest):
        for item in container.get("env", []):
            if "value" in item:
                yield str(item["value"])


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict):
                yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _identity(manifest: Manifest) -> tuple[str, str, str, str]:
    metadata = manifest["metadata"]
    return manifest["apiVersion"], manifest["kind"], metadata.get("namespace", ""), metadata["name"]


@pytest.mark.parametrize("layer", list(LAYERS))
def test_the_distributor_serves_with_its_key_encryption_key_from_a_secret_and_migrates_without_it(layer: str) -> None:
    pod = find(rendered(layer), "Deployment", "license-distributor")["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    (server,) = pod["containers"]
    name = "LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY"
    assert env_of(server)[name]["valueFrom"]["secretKeyRef"] == {
        "name": "rental-license-distributor-kek",
        "key": "key-encryption-key",
    }
    # Never a literal value in the manifests, and the migration step has no use for it.
    assert "value" not in env_of(server)[name]
    assert name not in env_of(migrate)
    # Otherwise the two containers see the same settings.
    assert {k: v for k, v in env_of(server).items() if k != name} == env_of(migrate)
